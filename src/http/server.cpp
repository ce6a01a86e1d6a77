#include "http/server.hpp"

#include "http/body_decoding.hpp"
#include "http/response_compression.hpp"
#include "metrics/logging.hpp"

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

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <random>
#include <limits>

namespace tracker::http {

namespace beast = boost::beast;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

struct Listener::Session {
  Session(asio::ip::tcp::socket socket, asio::ip::address peer)
      : stream(std::move(socket)), peer(std::move(peer)) {}
  beast::tcp_stream stream;
  beast::flat_buffer buffer;  // bytes read ahead of the current request
  asio::ip::address peer;
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
      refused_over_max_(metrics.counter("tracker_http_connections_refused_total",
                                        "Connections closed at once, by the cap they were over",
                                        "reason=\"max_connections\"")),
      refused_per_address_(metrics.counter("tracker_http_connections_refused_total",
                                           "Connections closed at once, by the cap they were over",
                                           "reason=\"per_ip\"")),
      refused_memory_budget_(metrics.counter("tracker_http_requests_refused_total",
                                             "Requests answered 503 before their body was read, by reason",
                                             "reason=\"memory_budget\"")),
      open_connections_(metrics.gauge("tracker_http_connections", "Open HTTP connections")),
      latency_(metrics.histogram("tracker_http_request_duration_seconds",
                                 "Time from a complete request to its answer being written")),
      metrics_(metrics) {
  // The answers alerts divide by exist from the start, so that their rates are 0, not absent.
  for (unsigned code : {200u, 202u, 400u, 404u, 500u, 503u}) answers_with(code);
}

namespace {

// The client's X-Request-Id when it is short and plain, otherwise a new one: a process-wide
// counter after a random prefix (unique across restarts and servers in practice).
std::string request_id(const Request& request) {
  std::string_view given = request["X-Request-Id"];
  bool usable = !given.empty() && given.size() <= 64 &&
                std::all_of(given.begin(), given.end(), [](unsigned char c) {
                  return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':';
                });
  if (usable) return std::string(given);
  static const std::uint64_t prefix = std::random_device{}() ^ (std::uint64_t{std::random_device{}()} << 32);
  static std::atomic<std::uint64_t> next{0};
  char id[40];
  int n = std::snprintf(id, sizeof id, "%016llx-%llx", static_cast<unsigned long long>(prefix),
                        static_cast<unsigned long long>(next.fetch_add(1, std::memory_order_relaxed)));
  return std::string(id, static_cast<std::size_t>(n));
}

// A target as printable ASCII for the log (other bytes as %XX), at most 256 characters.
std::string printable_target(std::string_view target) {
  std::string out;
  for (unsigned char c : target.substr(0, 256)) {
    if (c > 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

}  // namespace

bool Listener::sampled() {
  return options_.access_log_every != 0 && requests_seen_++ % options_.access_log_every == 0;
}

void Listener::log_access(const Session& session, const Request& request, const Response& response,
                          std::chrono::steady_clock::duration took) {
  char millis[32];
  std::snprintf(millis, sizeof millis, "%.3f", std::chrono::duration<double, std::milli>(took).count());
  // The client as the rate limits see it (X-Forwarded-For from a trusted proxy), and the
  // proxy itself when there is one.
  const asio::ip::address client = client_address(request, session.peer, options_.trusted_proxies);
  std::vector<metrics::LogField> fields{
      {"requestId", std::string(response["X-Request-Id"])},
      {"method", std::string(request.method_string())},
      {"target", printable_target(request.target())},
      {"status", std::to_string(response.result_int()), true},
      {"durationMs", millis, true},
      {"bytes", std::to_string(response.body().size()), true},
      {"client", client.to_string()},
  };
  if (client != session.peer) fields.push_back({"peer", session.peer.to_string()});
  metrics::log_with_fields("access", fields);
}

metrics::Counter& Listener::answers_with(unsigned code) {
  if (code >= responses_by_code_.size()) code = 0;
  metrics::Counter*& counter = responses_by_code_[code];
  if (!counter) {
    counter = &metrics_.counter("tracker_http_responses_total", "HTTP answers written, by status code",
                                "code=\"" + std::to_string(code) + "\"");
  }
  return *counter;
}

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
    auto peer = admit(socket);
    if (!peer) {
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    socket.set_option(asio::ip::tcp::no_delay(true));
    auto session = std::make_shared<Session>(std::move(socket), *peer);
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
      state_.per_address.close((*it)->peer);
      sessions_.erase(it);
      open_connections_.add(-1);
      state_.connections.fetch_sub(1);
    });
  }
}

// Counts a new connection against both caps and returns its client's address; on
// refusal nothing stays counted.
std::optional<asio::ip::address> Listener::admit(const asio::ip::tcp::socket& socket) {
  boost::system::error_code ec;
  auto peer = socket.remote_endpoint(ec).address();
  if (ec) return std::nullopt;  // already gone
  if (state_.connections.fetch_add(1) >= options_.max_connections) {
    state_.connections.fetch_sub(1);
    refused_over_max_.inc();
    return std::nullopt;
  }
  if (!state_.per_address.try_open(peer)) {
    state_.connections.fetch_sub(1);
    refused_per_address_.inc();
    return std::nullopt;
  }
  return peer;
}

namespace {

// The peer went away or was too slow: there is nobody to answer.
bool is_disconnect(const boost::system::error_code& ec) {
  return ec == beast::error::timeout || ec == beast_http::error::end_of_stream ||
         ec == beast_http::error::partial_message || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::operation_aborted;
}

// Set by the chunk callback when a chunk does not fit into the memory budget.
const boost::system::error_code kBudgetSpent = make_error_code(boost::system::errc::not_enough_memory);

// What a connection's read buffer may hold outside the memory budget: the whole of an
// ordinary request's header. A longer header takes header_limit bytes from the budget
// first; max_connections times this is part of the server's memory bound.
constexpr std::size_t kConnectionBufferBytes = 4096;

}  // namespace

// Each step either carries the request on or ends the connection, after an answer when
// the client can still read one (Close).
asio::awaitable<void> Listener::serve(std::shared_ptr<Session> session) {
  while (co_await await_request(*session)) {
    Reservation reservation(state_.request_memory);  // held until the answer is written
    auto read = co_await read_request(*session, reservation);
    if (auto* close = std::get_if<Close>(&read)) {
      co_await close_with(*session, std::move(*close));
      break;
    }
    const Request& request = std::get<Request>(read);
    auto started = std::chrono::steady_clock::now();
    Response response = co_await dispatch(request, session->peer);
    const bool logged = sampled();
    if (logged) response.set("X-Request-Id", request_id(request));
    bool keep_alive = co_await write_response(*session, request, response);
    requests_.inc();
    answers_with(response.result_int()).inc();
    if (logged) log_access(*session, request, response, std::chrono::steady_clock::now() - started);
    latency_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (!keep_alive) break;
  }
  boost::system::error_code ignored;
  session->stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  session->stream.close();
}

// Waits for the first byte of the next request; false when the connection is to end.
asio::awaitable<bool> Listener::await_request(Session& session) {
  session.busy = false;
  if (state_.draining.load()) co_return false;
  if (session.buffer.size() == 0) {
    // A buffer grown by a long header is given back once the connection is idle.
    if (session.buffer.capacity() > kConnectionBufferBytes) session.buffer.shrink_to_fit();
    // Idle: a kept-alive connection may wait long for its next request...
    session.stream.expires_after(options_.idle_timeout);
    auto [ec, n] = co_await session.stream.async_read_some(session.buffer.prepare(kConnectionBufferBytes), kNoThrow);
    if (ec) co_return false;
    session.buffer.commit(n);
  }
  session.busy = true;
  co_return true;
}

asio::awaitable<std::variant<Request, Listener::Close>> Listener::read_request(Session& session,
                                                                               Reservation& reservation) {
  Parser parser;
  // ...but once a request has begun, all of it must arrive within the read timeout.
  session.stream.expires_after(options_.read_timeout);
  parser.header_limit(static_cast<std::uint32_t>(options_.header_limit));
  // The route's limit is known once the header is in; until then the largest of any route,
  // since Beast reserves a declared Content-Length as soon as the header ends (a huge one
  // would otherwise be a failed allocation instead of a 413).
  parser.body_limit(router_.largest_body_limit());
  // The header is read into the connection's own buffer; a longer one takes header_limit
  // bytes from the budget before the buffer may grow to hold it.
  session.buffer.max_size(std::max(kConnectionBufferBytes, session.buffer.size()));
  auto [header_ec, header_bytes] =
      co_await beast_http::async_read_header(session.stream, session.buffer, parser, kNoThrow);
  if (header_ec == beast_http::error::buffer_overflow) {
    if (!reservation.grow_to(options_.header_limit)) co_return memory_budget_spent();
    session.buffer.max_size(session.buffer.max_size() + options_.header_limit);
    auto [rest_ec, rest_bytes] =
        co_await beast_http::async_read_header(session.stream, session.buffer, parser, kNoThrow);
    header_ec = rest_ec;
    header_bytes += rest_bytes;  // the first read may have taken the leading fields already
  }
  if (header_ec) co_return closing_for(header_ec, parser);
  // Beast checks header_limit per read; a header that arrived in pieces is checked whole here.
  if (header_bytes > options_.header_limit) co_return closing_for(beast_http::error::header_limit, parser);
  // From here the request's route is known: a page on another origin must be able to read
  // the answer, refusals included (CORS).
  auto answered = [&](Close close) {
    if (close.answer) router_.add_cors_headers(parser.get(), *close.answer);
    return close;
  };
  std::size_t for_header = reservation.bytes();
  if (auto refusal = check_limits(parser, reservation)) co_return answered(std::move(*refusal));

  // A chunked body takes its budget chunk by chunk, before each chunk is read.
  auto reserve_chunk = [&](std::uint64_t size, beast::string_view, boost::system::error_code& ec) {
    if (!reservation.grow_to(for_header + request_memory(parser.get().body().size() + size))) ec = kBudgetSpent;
  };
  if (parser.chunked()) parser.on_chunk_header(reserve_chunk);
  if (beast::iequals(parser.get()[beast_http::field::expect], "100-continue")) {
    beast_http::response<beast_http::empty_body> go_on{Status::continue_, 11};
    co_await beast_http::async_write(session.stream, go_on, kNoThrow);
  }
  auto [body_ec, body_bytes] = co_await beast_http::async_read(session.stream, session.buffer, parser, kNoThrow);
  if (body_ec) co_return answered(closing_for(body_ec, parser));
  if (auto refusal = decode_body(parser.get(), reservation, for_header)) co_return answered(std::move(*refusal));
  co_return parser.release();
}

// A compressed body (check_limits let only write routes have one) is inflated in place,
// within the route's body limit and the memory budget: the inflated body, its JSON arena
// and the compressed body, until the request ends.
std::optional<Listener::Close> Listener::decode_body(Request& request, Reservation& reservation,
                                                     std::size_t for_header) {
  auto coding = parse_content_encoding(request[beast_http::field::content_encoding]);
  if (!coding || *coding == ContentCoding::identity || request.body().empty()) return std::nullopt;
  const std::size_t limit = router_.body_limit(request.target());
  const std::size_t compressed = request.body().size();
  std::string inflated;
  auto failure = inflate_body(request.body(), *coding, limit, inflated, [&](std::size_t bytes) {
    return reservation.grow_to(for_header + compressed + request_memory(bytes));
  });
  if (!failure) {
    request.body() = std::move(inflated);
    request.erase(beast_http::field::content_encoding);
    return std::nullopt;
  }
  switch (*failure) {
    case InflateFailure::too_large:
      return Close{error_response(Status::payload_too_large, "BODY_TOO_LARGE",
                                  "the body inflates to more than " + std::to_string(limit) + " bytes")};
    case InflateFailure::corrupt:
      return Close{error_response(Status::bad_request, "MALFORMED_BODY",
                                  "the body is not a complete " +
                                      std::string(*coding == ContentCoding::gzip ? "gzip" : "deflate") +
                                      " stream")};
    case InflateFailure::no_memory: break;
  }
  return memory_budget_spent();
}

// What the header alone decides: framing, the body limit of the path, and whether the
// body fits into the memory budget. Sets the body limit.
std::optional<Listener::Close> Listener::check_limits(Parser& parser, Reservation& reservation) {
  if (!parser.get()[beast_http::field::transfer_encoding].empty() && !parser.chunked()) {
    return Close{error_response(Status::bad_request, "BAD_REQUEST",
                                "Transfer-Encoding without chunked cannot be framed")};
  }
  std::string_view encoding = parser.get()[beast_http::field::content_encoding];
  if (!encoding.empty()) {
    auto coding = parse_content_encoding(encoding);
    if (!coding) {
      return Close{error_response(Status::unsupported_media_type, "UNSUPPORTED_ENCODING",
                                  "Content-Encoding must be gzip, deflate or identity")};
    }
    if (*coding != ContentCoding::identity && router_.access_of(parser.get()) != Access::write) {
      return Close{error_response(Status::unsupported_media_type, "UNSUPPORTED_ENCODING",
                                  "only the ingestion routes take compressed bodies")};
    }
  }
  std::size_t limit = router_.body_limit(parser.get().target());
  parser.body_limit(limit);
  std::uint64_t length = parser.content_length().value_or(0);
  if (length > limit) return closing_for(beast_http::error::body_limit, parser);
  // On top of what a long header took.
  if (!reservation.grow_to(reservation.bytes() + request_memory(static_cast<std::size_t>(length)))) {
    return memory_budget_spent();
  }
  return std::nullopt;
}

// The router answers everything it is given; a throw here is a defect, still answered.
asio::awaitable<Response> Listener::dispatch(const Request& request, const asio::ip::address& peer) const {
  try {
    // A named local: GCC 12 frees a braced temporary argument of a coroutine call twice.
    Caller caller{peer, client_address(request, peer, options_.trusted_proxies), {}};
    co_return co_await router_.handle(request, caller);
  } catch (const std::exception& error) {
    spdlog::error("http: {} {} failed: {}", std::string(request.method_string()),
                  std::string(request.target()), error.what());
  }
  co_return error_response(Status::internal_server_error, "INTERNAL", "the server failed to answer this request");
}

// Writes the answer; true when the connection carries on to the next request.
asio::awaitable<bool> Listener::write_response(Session& session, const Request& request, Response& response) {
  bool keep_alive = request.keep_alive() && !state_.draining.load();
  response.keep_alive(keep_alive);
  // Before HEAD drops the body: a HEAD answer carries the headers GET's would.
  compress_answer(request, response);
  if (request.method() == beast_http::verb::head) response.body().clear();
  response.prepare_payload();
  session.stream.expires_after(options_.write_timeout);
  auto [ec, written] = co_await beast_http::async_write(session.stream, response, kNoThrow);
  co_return keep_alive && !ec;
}

// The request stream can no longer be trusted (or the client is gone): answer if there
// is an answer, then the connection ends.
asio::awaitable<void> Listener::close_with(Session& session, Close close) {
  if (!close.answer) co_return;
  answers_with(close.answer->result_int()).inc();
  close.answer->keep_alive(false);
  session.stream.expires_after(options_.write_timeout);
  co_await beast_http::async_write(session.stream, *close.answer, kNoThrow);
}

Listener::Close Listener::closing_for(const boost::system::error_code& ec, const Parser& parser) {
  if (ec == beast_http::error::header_limit) {
    return {error_response(Status::request_header_fields_too_large, "HEADERS_TOO_LARGE",
                           "request headers are too large")};
  }
  if (ec == beast_http::error::body_limit) {
    return {error_response(Status::payload_too_large, "BODY_TOO_LARGE",
                           "the body is larger than " + std::to_string(router_.body_limit(parser.get().target())) +
                               " bytes")};
  }
  if (ec == kBudgetSpent) return memory_budget_spent();
  if (is_disconnect(ec)) return {};
  return {error_response(Status::bad_request, "BAD_REQUEST", "the request is not valid HTTP/1.1: " + ec.message())};
}

Listener::Close Listener::memory_budget_spent() {
  refused_memory_budget_.inc();
  Response answer = error_response(Status::service_unavailable, "OVERLOADED",
                                   "the server holds as many requests as its memory allows; retry later");
  answer.set(beast_http::field::retry_after, "1");
  return {std::move(answer)};
}

}  // namespace tracker::http
