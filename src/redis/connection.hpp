#pragma once
#include "metrics/metrics.hpp"
#include "redis/commands.hpp"
#include "redis/reply.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <deque>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <string_view>

struct redisReader;

namespace tracker::redis {

namespace asio = boost::asio;
using std::chrono::milliseconds;

struct ConnectionOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  milliseconds connect_timeout{1000};
  milliseconds command_timeout{1000};
  std::size_t max_pending = 20000;  // commands written but not yet answered
  milliseconds reconnect_min_delay{50};
  milliseconds reconnect_max_delay{2000};
};

// One non-blocking connection to Redis, owned by one I/O thread (not thread-safe).
// Commands issued by concurrent coroutines are queued and written together in one
// write (automatic pipelining); replies are matched to them in order. A command that
// times out breaks the connection: every command still waiting fails, and the
// connection is re-established in the background with exponential back-off.
//
// Errors are thrown as ports::StoreError subclasses (see errors.hpp): Unavailable while
// disconnected, Timeout, Overloaded when max_pending is reached. An error reply is thrown
// as what error_from_reply() (redis/errors.hpp) makes of it, so no caller reads error
// text itself; only errors nested in an array reply stay Reply::Type::Error.
class Connection final : public Client, public std::enable_shared_from_this<Connection> {
 public:
  static std::shared_ptr<Connection> create(asio::any_io_executor executor,
                                            ConnectionOptions options,
                                            metrics::Registry& metrics);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start() override;
  void stop() override;
  bool connected() const override { return state_ == State::Connected; }
  // Returns once connected or after `limit`, whichever comes first (start-up: requests
  // wait a moment for the connection rather than meet a 503 from a server just started).
  asio::awaitable<void> wait_connected(milliseconds limit) override;
  const asio::any_io_executor& executor() const override { return executor_; }
  milliseconds default_timeout() const override { return options_.command_timeout; }

  using Commands::execute;
  asio::awaitable<Reply> execute(std::span<const std::string_view> args,
                                 milliseconds timeout) override;
  // ASKING and then the command, written together so that no other coroutine's command
  // comes between them and takes the one-command permission ASKING gives (a cluster
  // client following an ASK redirect). ASKING's own reply is dropped.
  asio::awaitable<Reply> execute_asking(std::span<const std::string_view> args, milliseconds timeout);

 private:
  using Handler = asio::any_completion_handler<void(std::exception_ptr, Reply)>;
  struct Pending {
    Handler handler;
    std::chrono::steady_clock::time_point deadline;
  };
  enum class State { Disconnected, Connecting, Connected, Stopped };

  Connection(asio::any_io_executor executor, ConnectionOptions options,
             metrics::Registry& metrics);

  void enqueue(std::string command, milliseconds timeout, Handler handler, bool asking = false);
  void flush_writes();
  asio::awaitable<void> run();  // connect, read, reconnect; until stopped
  asio::awaitable<void> read_replies();
  asio::awaitable<void> watch_deadlines();
  void fail_all(std::exception_ptr error);
  void complete(Handler handler, std::exception_ptr error, Reply reply);

  asio::any_io_executor executor_;
  ConnectionOptions options_;
  metrics::Registry& metrics_;
  asio::ip::tcp::socket socket_;
  asio::steady_timer deadline_timer_;
  asio::steady_timer reconnect_timer_;
  State state_ = State::Disconnected;
  std::string queued_;   // formatted commands not yet handed to the socket
  std::string writing_;  // the bytes of the write in flight
  bool write_in_flight_ = false;
  bool flush_posted_ = false;
  std::uint64_t generation_ = 0;  // one per established connection; stale callbacks check it
  std::deque<Pending> pending_;
  redisReader* reader_ = nullptr;
  metrics::Counter& connects_;
  metrics::Counter& disconnects_;
  metrics::Counter& timeouts_;
  metrics::Counter& rejected_disconnected_;
  metrics::Counter& rejected_queue_full_;
};

}  // namespace tracker::redis
