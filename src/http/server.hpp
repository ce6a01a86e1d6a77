#pragma once
#include "http/client_address.hpp"
#include "http/limits.hpp"
#include "http/router.hpp"
#include "metrics/metrics.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/parser.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <variant>

namespace tracker::http {

namespace asio = boost::asio;
using std::chrono::milliseconds;

struct ServerOptions {
  std::string address = "0.0.0.0";
  std::uint16_t port = 8080;
  std::size_t max_connections = 10'000;
  std::size_t max_connections_per_address = 256;
  // Bytes requests in flight may hold (see MemoryBudget); a request that does not fit gets 503.
  std::size_t request_memory_budget = 32 * 1024 * 1024;
  milliseconds idle_timeout{60'000};  // waiting for the next request on a kept-alive connection
  milliseconds read_timeout{10'000};  // from a request's first byte to its last
  milliseconds write_timeout{10'000};
  std::size_t header_limit = 16 * 1024;
  std::size_t access_log_every = 0;  // one request in N is logged (0: none)
  // Peers whose X-Forwarded-For tells the client's address (Caller::client).
  TrustedProxies trusted_proxies;
};

// Shared by the listeners of all I/O threads.
struct ServerState {
  explicit ServerState(const ServerOptions& options)
      : request_memory(options.request_memory_budget), per_address(options.max_connections_per_address) {}
  std::atomic<std::size_t> connections{0};
  std::atomic<bool> draining{false};
  MemoryBudget request_memory;
  ConnectionsPerAddress per_address;
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
  // How a connection ends: after an answer when the client can still read one.
  struct Close {
    std::optional<Response> answer;
  };
  using Parser = beast_http::request_parser<beast_http::string_body>;

  asio::awaitable<void> accept_loop(std::function<asio::awaitable<void>()> ready);
  std::optional<asio::ip::address> admit(const asio::ip::tcp::socket& socket);
  // One connection: requests are read, checked, dispatched and answered in turn.
  asio::awaitable<void> serve(std::shared_ptr<Session> session);
  asio::awaitable<bool> await_request(Session& session);
  asio::awaitable<std::variant<Request, Close>> read_request(Session& session, Reservation& reservation);
  std::optional<Close> check_limits(Parser& parser, Reservation& reservation);
  std::optional<Close> decode_body(Request& request, Reservation& reservation, std::size_t for_header);
  asio::awaitable<Response> dispatch(const Request& request, const asio::ip::address& peer) const;
  asio::awaitable<bool> write_response(Session& session, const Request& request, Response& response);
  asio::awaitable<void> close_with(Session& session, Close close);
  Close closing_for(const boost::system::error_code& ec, const Parser& parser);
  Close memory_budget_spent();
  metrics::Counter& answers_with(unsigned status_code);
  // The access log: one request in options_.access_log_every, with a request id (the
  // client's X-Request-Id when it sent a usable one), which the answer carries too.
  bool sampled();
  void log_access(const Session& session, const Request& request, const Response& response,
                  std::chrono::steady_clock::duration took);

  asio::io_context& io_;
  const ServerOptions& options_;
  const Router& router_;
  ServerState& state_;
  asio::ip::tcp::acceptor acceptor_;
  std::list<std::shared_ptr<Session>> sessions_;
  metrics::Counter& requests_;
  metrics::Counter& refused_over_max_;
  metrics::Counter& refused_per_address_;
  metrics::Counter& refused_memory_budget_;
  metrics::Gauge& open_connections_;
  metrics::Histogram& latency_;
  metrics::Registry& metrics_;
  // tracker_http_responses_total by status code, registered on a code's first answer.
  std::array<metrics::Counter*, 600> responses_by_code_{};
  std::uint64_t requests_seen_ = 0;  // on this thread, for access log sampling
};

}  // namespace tracker::http
