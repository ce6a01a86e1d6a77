#include "http/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

#include <sys/socket.h>

#include <limits>

namespace tracker::http {

namespace beast = boost::beast;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

struct Listener::Session {
  explicit Session(asio::ip::tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  bool busy = false;  // between the first byte of a request and the end of its answer
};

Listener::Listener(asio::io_context& io, const ServerOptions& options, const Router& router,
                   ServerState& state, metrics::Registry& metrics)
    : io_(io),
      options_(options),
      router_(router),
      state_(state),
      acceptor_(io),
      requests_(metrics.counter("tracker_http_requests_total", "HTTP requests answered")),
      refused_connections_(metrics.counter("tracker_http_connections_refused_total",
                                           "Connections closed at once: over the connection cap")),
      open_connections_(metrics.gauge("tracker_http_connections", "Open HTTP connections")),
      latency_(metrics.histogram("tracker_http_request_duration_seconds",
                                 "Time from a complete request to its answer being written")) {}

Listener::~Listener() = default;

void Listener::start(std::function<asio::awaitable<void>()> ready) {
  asio::ip::tcp::endpoint endpoint(asio::ip::make_address(options_.address), options_.port);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  int one = 1;
  if (::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    throw std::runtime_error("cannot set SO_REUSEPORT");
  }
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  asio::co_spawn(io_, accept_loop(std::move(ready)), asio::detached);
}

void Listener::begin_shutdown() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  for (auto& session : sessions_) {
    if (!session->busy) session->stream.socket().close(ignored);
  }
}

asio::awaitable<void> Listener::accept_loop(std::function<asio::awaitable<void>()> ready) {
  if (ready) co_await ready();
  while (acceptor_.is_open()) {
    auto [ec, socket] = co_await acceptor_.async_accept(kNoThrow);
    if (ec) {
      if (!acceptor_.is_open()) break;
      spdlog::warn("http: accept failed: {}", ec.message());
      continue;
    }
    if (state_.draining.load()) break;
    if (state_.connections.fetch_add(1) >= options_.max_connections) {
      state_.connections.fetch_sub(1);
      refused_connections_.inc();
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    socket.set_option(asio::ip::tcp::no_delay(true));
    auto session = std::make_shared<Session>(std::move(socket));
    sessions_.push_front(session);
    open_connections_.add(1);
    asio::co_spawn(io_, serve(session), [this, it = sessions_.begin()](std::exception_ptr error) {
      if (error) {
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          spdlog::error("http: session ended by an exception: {}", e.what());
        }
      }
      sessions_.erase(it);
      open_connections_.add(-1);
      state_.connections.fetch_sub(1);
    });
  }
}

namespace {
// Answers that end the connection: the request stream can no longer be trusted.
asio::awaitable<void> answer_and_close(beast::tcp_stream& stream, Response response,
                                       milliseconds timeout) {
  response.keep_alive(false);
  stream.expires_after(timeout);
  co_await beast_http::async_write(stream, response, kNoThrow);
}
}  // namespace

asio::awaitable<void> Listener::serve(std::shared_ptr<Session> session) {
  beast::tcp_stream& stream = session->stream;
  beast::flat_buffer buffer;
  for (;;) {
    session->busy = false;
    if (state_.draining.load()) break;
    if (buffer.size() == 0) {
      // Idle: a kept-alive connection may wait long for its next request...
      stream.expires_after(options_.idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(8192), kNoThrow);
      if (ec) break;
      buffer.commit(n);
    }
    // ...but once a request has begun, all of it must arrive within the read timeout.
    session->busy = true;
    stream.expires_after(options_.read_timeout);
    beast_http::request_parser<beast_http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options_.header_limit));
    // The limit depends on the path, known only once the header is in: no limit until then.
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    auto [header_ec, header_bytes] = co_await beast_http::async_read_header(stream, buffer, parser, kNoThrow);
    if (header_ec) {
      if (header_ec == beast_http::error::header_limit) {
        co_await answer_and_close(stream,
                                  error_response(Status::request_header_fields_too_large,
                                                 "HEADERS_TOO_LARGE", "request headers are too large"),
                                  options_.write_timeout);
      } else if (header_ec != beast::error::timeout && header_ec != beast_http::error::end_of_stream &&
                 header_ec != asio::error::eof && header_ec != asio::error::connection_reset &&
                 header_ec != asio::error::operation_aborted) {
        co_await answer_and_close(stream,
                                  error_response(Status::bad_request, "BAD_REQUEST",
                                                 "the request is not valid HTTP/1.1: " + header_ec.message()),
                                  options_.write_timeout);
      }
      break;
    }
    // Beast checks header_limit per read; a header that arrived in pieces is checked whole here.
    if (header_bytes > options_.header_limit) {
      co_await answer_and_close(stream,
                                error_response(Status::request_header_fields_too_large,
                                               "HEADERS_TOO_LARGE", "request headers are too large"),
                                options_.write_timeout);
      break;
    }
    if (!parser.get()[beast_http::field::transfer_encoding].empty() && !parser.chunked()) {
      co_await answer_and_close(stream,
                                error_response(Status::bad_request, "BAD_REQUEST",
                                               "Transfer-Encoding without chunked cannot be framed"),
                                options_.write_timeout);
      break;
    }
    std::size_t limit = options_.body_limit(parser.get().target());
    parser.body_limit(limit);
    if (parser.content_length() && *parser.content_length() > limit) {
      co_await answer_and_close(stream,
                                error_response(Status::payload_too_large, "BODY_TOO_LARGE",
                                               "the body is larger than " + std::to_string(limit) + " bytes"),
                                options_.write_timeout);
      break;
    }
    if (beast::iequals(parser.get()[beast_http::field::expect], "100-continue")) {
      beast_http::response<beast_http::empty_body> go_on{Status::continue_, 11};
      co_await beast_http::async_write(stream, go_on, kNoThrow);
    }
    auto [body_ec, body_bytes] = co_await beast_http::async_read(stream, buffer, parser, kNoThrow);
    if (body_ec) {
      if (body_ec == beast_http::error::body_limit) {
        co_await answer_and_close(stream,
                                  error_response(Status::payload_too_large, "BODY_TOO_LARGE",
                                                 "the body is larger than " + std::to_string(limit) + " bytes"),
                                  options_.write_timeout);
      } else if (body_ec != beast::error::timeout && body_ec != asio::error::eof &&
                 body_ec != beast_http::error::partial_message &&
                 body_ec != asio::error::operation_aborted) {
        co_await answer_and_close(stream,
                                  error_response(Status::bad_request, "BAD_REQUEST",
                                                 "the request is not valid HTTP/1.1: " + body_ec.message()),
                                  options_.write_timeout);
      }
      break;
    }
    Request request = parser.release();
    auto started = std::chrono::steady_clock::now();
    Response response;
    try {
      response = co_await router_.handle(request);
    } catch (const std::exception& error) {
      spdlog::error("http: {} {} failed: {}", std::string(request.method_string()),
                    std::string(request.target()), error.what());
      response = error_response(Status::internal_server_error, "INTERNAL",
                                "the server failed to answer this request");
    }
    bool keep_alive = request.keep_alive() && !state_.draining.load();
    response.keep_alive(keep_alive);
    if (request.method() == beast_http::verb::head) response.body().clear();
    response.prepare_payload();
    stream.expires_after(options_.write_timeout);
    auto [write_ec, written] = co_await beast_http::async_write(stream, response, kNoThrow);
    requests_.inc();
    latency_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (write_ec || !keep_alive) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  stream.close();
}

}  // namespace tracker::http
