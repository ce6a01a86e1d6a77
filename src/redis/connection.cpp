#include "redis/connection.hpp"

#include "ports/errors.hpp"
#include "redis/errors.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <hiredis/hiredis.h>

#include <charconv>
#include <spdlog/spdlog.h>

namespace tracker::redis {

std::int64_t Reply::as_int() const {
  if (type == Type::Integer) return integer;
  if (type != Type::String || text.empty()) return 0;
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) {
    throw ports::StoreRejected("redis: expected an integer, got '" + text.substr(0, 64) + "'");
  }
  return value;
}

namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr auto kDeadlineCheckInterval = std::chrono::milliseconds(20);

Reply convert(const redisReply* raw) {
  Reply reply;
  switch (raw->type) {
    case REDIS_REPLY_STRING: reply.type = Reply::Type::String; break;
    case REDIS_REPLY_STATUS: reply.type = Reply::Type::Status; break;
    case REDIS_REPLY_ERROR: reply.type = Reply::Type::Error; break;
    case REDIS_REPLY_INTEGER: reply.type = Reply::Type::Integer; break;
    case REDIS_REPLY_NIL: reply.type = Reply::Type::Nil; break;
    case REDIS_REPLY_ARRAY: reply.type = Reply::Type::Array; break;
    default: reply.type = Reply::Type::Nil;
  }
  if (raw->type == REDIS_REPLY_STRING || raw->type == REDIS_REPLY_STATUS ||
      raw->type == REDIS_REPLY_ERROR) {
    reply.text.assign(raw->str, raw->len);
  }
  reply.integer = raw->integer;
  if (raw->type == REDIS_REPLY_ARRAY) {
    reply.elements.reserve(raw->elements);
    for (std::size_t i = 0; i < raw->elements; ++i) reply.elements.push_back(convert(raw->element[i]));
  }
  return reply;
}

void append_length(std::string& out, char kind, std::size_t length) {
  char digits[24];
  digits[0] = kind;
  auto [end, ec] = std::to_chars(digits + 1, digits + sizeof digits - 2, length);
  *end++ = '\r';
  *end++ = '\n';
  out.append(digits, end);
}

// RESP, written directly: an ingest group is hundreds of arguments, and hiredis's
// formatter prints each length with sprintf into a buffer of its own, copied again here.
std::string format_command(std::span<const std::string_view> args) {
  std::size_t size = 16;
  for (auto arg : args) size += arg.size() + 16;
  std::string command;
  command.reserve(size);
  append_length(command, '*', args.size());
  for (auto arg : args) {
    append_length(command, '$', arg.size());
    command.append(arg);
    command += "\r\n";
  }
  return command;
}

}  // namespace

std::shared_ptr<Connection> Connection::create(asio::any_io_executor executor,
                                               ConnectionOptions options,
                                               metrics::Registry& metrics) {
  return std::shared_ptr<Connection>(new Connection(std::move(executor), std::move(options), metrics));
}

Connection::Connection(asio::any_io_executor executor, ConnectionOptions options,
                       metrics::Registry& metrics)
    : executor_(executor),
      options_(std::move(options)),
      metrics_(metrics),
      socket_(executor),
      deadline_timer_(executor),
      reconnect_timer_(executor),
      connects_(metrics.counter("tracker_redis_connects_total", "Redis connections established")),
      disconnects_(metrics.counter("tracker_redis_disconnects_total", "Redis connections lost")),
      timeouts_(metrics.counter("tracker_redis_timeouts_total", "Redis commands that timed out")),
      rejected_disconnected_(metrics.counter("tracker_redis_commands_rejected_total",
                                             "Redis commands refused before being sent",
                                             "reason=\"disconnected\"")),
      rejected_queue_full_(metrics.counter("tracker_redis_commands_rejected_total",
                                           "Redis commands refused before being sent",
                                           "reason=\"queue_full\"")) {}

Connection::~Connection() {
  if (reader_) redisReaderFree(reader_);
}

void Connection::start() {
  asio::co_spawn(executor_, run(), asio::detached);
  asio::co_spawn(executor_, watch_deadlines(), asio::detached);
}

void Connection::stop() {
  asio::post(executor_, [self = shared_from_this()] {
    self->state_ = State::Stopped;
    boost::system::error_code ignored;
    self->socket_.close(ignored);
    self->reconnect_timer_.cancel();
    self->deadline_timer_.cancel();
    self->fail_all(std::make_exception_ptr(ports::StoreUnavailable("redis connection stopped")));
  });
}

asio::awaitable<void> Connection::wait_connected(milliseconds limit) {
  asio::steady_timer pause(executor_);
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!connected() && std::chrono::steady_clock::now() < deadline) {
    pause.expires_after(std::chrono::milliseconds(10));
    co_await pause.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<Reply> Connection::execute(std::span<const std::string_view> args,
                                           milliseconds timeout) {
  std::string command = format_command(args);
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>,
                                          void(std::exception_ptr, Reply)>(
      [this, &command, timeout](Handler handler) {
        enqueue(std::move(command), timeout, std::move(handler));
      },
      asio::use_awaitable);
}

asio::awaitable<Reply> Connection::execute_asking(std::span<const std::string_view> args,
                                                  milliseconds timeout) {
  std::string command = format_command(args);
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>,
                                          void(std::exception_ptr, Reply)>(
      [this, &command, timeout](Handler handler) {
        enqueue(std::move(command), timeout, std::move(handler), true);
      },
      asio::use_awaitable);
}

void Connection::enqueue(std::string command, milliseconds timeout, Handler handler, bool asking) {
  if (state_ != State::Connected) {
    rejected_disconnected_.inc();
    complete(std::move(handler),
             std::make_exception_ptr(ports::StoreUnavailable("redis is not connected")), {});
    return;
  }
  if (pending_.size() >= options_.max_pending) {
    rejected_queue_full_.inc();
    complete(std::move(handler),
             std::make_exception_ptr(ports::Overloaded(
                 "redis_queue_full", "too many redis commands waiting for replies")),
             {});
    return;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  if (asking) {
    queued_ += "*1\r\n$6\r\nASKING\r\n";
    // Its +OK matters to nobody; an error would show again on the command itself.
    pending_.push_back({Handler([](std::exception_ptr, Reply) {}), deadline});
  }
  queued_ += command;
  pending_.push_back({std::move(handler), deadline});
  if (!write_in_flight_ && !flush_posted_) {
    // Deferring the write to the end of this turn of the event loop lets every command
    // issued meanwhile share one write: automatic pipelining.
    flush_posted_ = true;
    asio::post(executor_, [self = shared_from_this()] {
      self->flush_posted_ = false;
      self->flush_writes();
    });
  }
}

void Connection::flush_writes() {
  if (write_in_flight_ || queued_.empty() || state_ != State::Connected) return;
  write_in_flight_ = true;
  writing_.swap(queued_);
  queued_.clear();
  asio::async_write(socket_, asio::buffer(writing_),
                    [self = shared_from_this(), generation = generation_](
                        boost::system::error_code ec, std::size_t) {
                      if (generation != self->generation_) return;  // an earlier connection's
                      self->write_in_flight_ = false;
                      self->writing_.clear();
                      if (ec) {
                        boost::system::error_code ignored;
                        self->socket_.close(ignored);  // the reader sees it and reconnects
                        return;
                      }
                      self->flush_writes();
                    });
}

void Connection::complete(Handler handler, std::exception_ptr error, Reply reply) {
  // Never resume the waiting coroutine from inside the reader's loop: post it. Every
  // caller runs on this connection's thread, so its executor is ours.
  asio::post(executor_, [handler = std::move(handler), error,
                                reply = std::move(reply)]() mutable {
    std::move(handler)(error, std::move(reply));
  });
}

void Connection::fail_all(std::exception_ptr error) {
  queued_.clear();
  while (!pending_.empty()) {
    Pending pending = std::move(pending_.front());
    pending_.pop_front();
    complete(std::move(pending.handler), error, {});
  }
}

asio::awaitable<void> Connection::run() {
  auto self = shared_from_this();
  milliseconds delay = options_.reconnect_min_delay;
  bool was_connected = true;
  while (state_ != State::Stopped) {
    state_ = State::Connecting;
    try {
      asio::ip::tcp::resolver resolver(executor_);
      auto endpoints = co_await resolver.async_resolve(options_.host, std::to_string(options_.port),
                                                       asio::use_awaitable);
      socket_ = asio::ip::tcp::socket(executor_);
      asio::steady_timer connect_timer(executor_, options_.connect_timeout);
      connect_timer.async_wait([this](boost::system::error_code ec) {
        if (!ec && state_ == State::Connecting) {
          boost::system::error_code ignored;
          socket_.close(ignored);
        }
      });
      co_await asio::async_connect(socket_, endpoints, asio::use_awaitable);
      connect_timer.cancel();
      socket_.set_option(asio::ip::tcp::no_delay(true));
      if (reader_) redisReaderFree(reader_);
      reader_ = redisReaderCreate();
      if (state_ == State::Stopped) break;
      ++generation_;
      write_in_flight_ = false;
      writing_.clear();
      queued_.clear();
      state_ = State::Connected;
      connects_.inc();
      spdlog::info("redis: connected to {}:{}", options_.host, options_.port);
      was_connected = true;
      delay = options_.reconnect_min_delay;
      co_await read_replies();
    } catch (const std::exception& error) {
      if (state_ == State::Connected) disconnects_.inc();
      if (was_connected && state_ != State::Stopped) {
        spdlog::warn("redis: connection to {}:{} lost or refused: {}", options_.host,
                     options_.port, error.what());
      }
      was_connected = state_ == State::Connected;
    }
    if (state_ == State::Stopped) break;
    state_ = State::Disconnected;
    boost::system::error_code ignored;
    socket_.close(ignored);
    fail_all(std::make_exception_ptr(ports::StoreUnavailable("redis connection lost")));
    reconnect_timer_.expires_after(delay);
    boost::system::error_code wait_error;
    co_await reconnect_timer_.async_wait(asio::redirect_error(asio::use_awaitable, wait_error));
    delay = std::min(delay * 2, options_.reconnect_max_delay);
  }
}

asio::awaitable<void> Connection::read_replies() {
  std::vector<char> buffer(kReadChunk);
  for (;;) {
    std::size_t n = co_await socket_.async_read_some(asio::buffer(buffer), asio::use_awaitable);
    if (redisReaderFeed(reader_, buffer.data(), n) != REDIS_OK) {
      throw ports::StoreRejected("redis protocol error");
    }
    for (;;) {
      void* raw = nullptr;
      if (redisReaderGetReply(reader_, &raw) != REDIS_OK) {
        throw ports::StoreRejected("redis protocol error");
      }
      if (raw == nullptr) break;
      Reply reply = convert(static_cast<redisReply*>(raw));
      freeReplyObject(raw);
      if (pending_.empty()) throw ports::StoreRejected("redis sent a reply nobody asked for");
      Pending pending = std::move(pending_.front());
      pending_.pop_front();
      if (reply.is_error()) {
        complete(std::move(pending.handler), error_from_reply(reply.text), {});
      } else {
        complete(std::move(pending.handler), nullptr, std::move(reply));
      }
    }
  }
}

asio::awaitable<void> Connection::watch_deadlines() {
  auto self = shared_from_this();
  while (state_ != State::Stopped) {
    deadline_timer_.expires_after(kDeadlineCheckInterval);
    boost::system::error_code ec;
    co_await deadline_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (state_ == State::Stopped) break;
    // Replies arrive in order, so the oldest command is the first to be late. Once one
    // is late the reply stream can no longer be trusted to line up: start over.
    if (!pending_.empty() && pending_.front().deadline <= std::chrono::steady_clock::now()) {
      timeouts_.inc();
      spdlog::warn("redis: command timed out; resetting the connection");
      fail_all(std::make_exception_ptr(ports::StoreTimeout("redis command timed out")));
      boost::system::error_code ignored;
      socket_.close(ignored);
    }
  }
}

}  // namespace tracker::redis
