#pragma once
#include "http/router.hpp"
#include "metrics/metrics.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <list>
#include <memory>

namespace tracker::http {

namespace asio = boost::asio;
using std::chrono::milliseconds;

struct ServerOptions {
  std::string address = "0.0.0.0";
  std::uint16_t port = 8080;
  std::size_t max_connections = 10'000;
  milliseconds idle_timeout{60'000};  // waiting for the next request on a kept-alive connection
  milliseconds read_timeout{10'000};  // from a request's first byte to its last
  milliseconds write_timeout{10'000};
  std::size_t header_limit = 16 * 1024;
  // Body limit for a request target; past it the answer is 413.
  std::function<std::size_t(std::string_view target)> body_limit = [](std::string_view) {
    return std::size_t{64 * 1024};
  };
};

// Shared by the listeners of all I/O threads.
struct ServerState {
  std::atomic<std::size_t> connections{0};
  std::atomic<bool> draining{false};
};

// Accepts and serves HTTP/1.1 connections on one I/O thread. Every thread has its own
// listener bound to the same port (SO_REUSEPORT), so the kernel spreads connections and
// a connection never leaves its thread. One coroutine per connection; requests on a
// connection are answered one at a time, in order.
class Listener {
 public:
  Listener(asio::io_context& io, const ServerOptions& options, const Router& router,
           ServerState& state, metrics::Registry& metrics);
  ~Listener();
  // Binds; throws on failure (port in use). Connections are accepted once `ready` (if
  // given) has completed on the listener's thread; until then they wait in the backlog.
  void start(std::function<asio::awaitable<void>()> ready = {});
  // Stops accepting and closes idle connections; busy ones close after their answer.
  void begin_shutdown();
  std::size_t open_sessions() const { return sessions_.size(); }

 private:
  struct Session;
  asio::awaitable<void> accept_loop(std::function<asio::awaitable<void>()> ready);
  asio::awaitable<void> serve(std::shared_ptr<Session> session);

  asio::io_context& io_;
  const ServerOptions& options_;
  const Router& router_;
  ServerState& state_;
  asio::ip::tcp::acceptor acceptor_;
  std::list<std::shared_ptr<Session>> sessions_;
  metrics::Counter& requests_;
  metrics::Counter& refused_connections_;
  metrics::Gauge& open_connections_;
  metrics::Histogram& latency_;
};

}  // namespace tracker::http
