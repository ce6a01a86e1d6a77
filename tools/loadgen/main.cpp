// loadgen: HTTP/1.1 load generator for the event tracker (Asio coroutines, Beast's
// response parser). Keep-alive connections spread over a few threads, each thread with
// its own io_context.
//
//   closed loop (default): every connection sends its next request as soon as the
//     previous answer is in -- the most the server (and this machine) can do;
//   open loop (--rate R): R requests/s in total on a fixed schedule, each connection
//     taking every C-th slot; latency is measured from the slot's scheduled time, not from
//     when the request actually went out, so a server that stalls is charged for every
//     request it held up (no coordinated omission).
//
// Periodic lines (--interval S) go to stderr, one JSON object each; the final summary is
// one JSON object on stdout. Every run ends by itself: --duration seconds and at most
// --max-requests requests, whichever comes first (and on SIGINT/SIGTERM).
#include "histogram.hpp"
#include "workload.hpp"

#include <cstdlib>
#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstring>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

namespace loadgen {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

std::atomic<bool> g_interrupted{false};
extern "C" void on_signal(int) { g_interrupted.store(true); }

// ---------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  WorkloadOptions workload;
  unsigned connections = 64;
  unsigned threads = 0;        // 0: one per core
  double duration_s = 10;
  double rate = 0;             // 0: closed loop
  std::uint64_t max_requests = 100'000'000;
  double interval_s = 0;       // 0: no periodic lines
  std::int64_t timeout_ms = 10'000;
  std::uint64_t seed = 1;
};

const char* const kUsage = R"(usage: loadgen --url http://127.0.0.1:PORT [options]
  --scenario NAME      events | batch | users | stats | posts | targets   (default events)
                         events: single events, the clients' realistic mix (CLICK / PAGE_VIEW /
                                 SEARCH / LIKE; same bodies as bench/lib/events.lua)
                         batch:  POST /api/events/batch with --batch N events per body
                         users:  user service: like toggles, hashtag searches, CLICK and
                                 PAGE_VIEW on /api/users/events, random users and posts
                         stats:  GET /api/statistics over the mix's keys (+5% summaries)
                         posts:  POST /api/posts with hashtags (seeding for users)
                         targets: GET the paths of --targets FILE (one per line), at random
  --connections N      keep-alive connections (default 64)
  --threads N          threads, each with its own event loop (default: cores)
  --duration S         seconds to send (default 10)
  --rate R             open loop: R requests/s in total, latency from the scheduled time
                       (default 0 = closed loop, as fast as the server answers)
  --max-requests N     stop after N requests (default 100000000)
  --batch N            events per batch body (batch scenario, default 100)
  --event-path PATH    path of single events (default /api/events; /api/users/events)
  --session-prefix P   sessionId prefix of the events sent (default "session-"), to find a
                       run's events in PostgreSQL afterwards
  --users N            user ids 1..N (users, posts; default 100)
  --posts A..B         post ids A..B (users; default 1..1000)
  --targets FILE       request paths for the targets scenario
  --keywords N         hashtag keywords tag1..tagN (users, posts; default 10)
  --interval S         print a JSON line with the last S seconds to stderr (default off)
  --timeout-ms T       a request unanswered after T ms counts as a timeout (default 10000)
  --seed N             random seed (default 1)
API keys come from the environment: TRACKER_WRITE_KEY (X-Api-Key on writes) and
TRACKER_READ_KEY (Bearer on statistics and the explorer), as bench/lib/stack.sh exports them.
)";

[[noreturn]] void usage_error(const std::string& message) {
  std::cerr << "loadgen: " << message << "\n" << kUsage;
  std::exit(2);
}

template <class T>
T number(const std::string& flag, const std::string& text) {
  T value{};
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) usage_error(flag + ": not a number: " + text);
  return value;
}

double real_number(const std::string& flag, const std::string& text) {
  try {
    std::size_t used = 0;
    double value = std::stod(text, &used);
    if (used == text.size() && value >= 0) return value;
  } catch (const std::exception&) {
  }
  usage_error(flag + ": not a non-negative number: " + text);
}

Options parse_options(int argc, char** argv) {
  Options o;
  bool have_url = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << kUsage;
      std::exit(0);
    }
    std::string value;
    auto eq = arg.find('=');
    if (arg.starts_with("--") && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      usage_error(arg + " needs a value");
    }
    if (arg == "--url") {
      // http://host:port[/...]; only plain HTTP to a numeric address or localhost.
      std::string rest = value;
      if (rest.starts_with("http://")) rest = rest.substr(7);
      else usage_error("--url must start with http://");
      rest = rest.substr(0, rest.find('/'));
      auto colon = rest.rfind(':');
      if (colon == std::string::npos) usage_error("--url needs a port");
      o.host = rest.substr(0, colon);
      if (o.host == "localhost") o.host = "127.0.0.1";
      o.port = number<std::uint16_t>("--url", rest.substr(colon + 1));
      have_url = true;
    } else if (arg == "--scenario") {
      o.workload.scenario = value;
    } else if (arg == "--connections") {
      o.connections = number<unsigned>(arg, value);
    } else if (arg == "--threads") {
      o.threads = number<unsigned>(arg, value);
    } else if (arg == "--duration") {
      o.duration_s = real_number(arg, value);
    } else if (arg == "--rate") {
      o.rate = real_number(arg, value);
    } else if (arg == "--max-requests") {
      o.max_requests = number<std::uint64_t>(arg, value);
    } else if (arg == "--batch") {
      o.workload.batch = number<unsigned>(arg, value);
    } else if (arg == "--event-path") {
      o.workload.event_path = value;
    } else if (arg == "--session-prefix") {
      o.workload.session_prefix = value;
    } else if (arg == "--users") {
      o.workload.users = number<std::uint64_t>(arg, value);
    } else if (arg == "--posts") {
      auto dots = value.find("..");
      if (dots == std::string::npos) usage_error("--posts wants A..B");
      o.workload.post_min = number<std::uint64_t>(arg, value.substr(0, dots));
      o.workload.post_max = number<std::uint64_t>(arg, value.substr(dots + 2));
    } else if (arg == "--targets") {
      o.workload.targets_file = value;
    } else if (arg == "--keywords") {
      o.workload.keywords = number<unsigned>(arg, value);
    } else if (arg == "--interval") {
      o.interval_s = real_number(arg, value);
    } else if (arg == "--timeout-ms") {
      o.timeout_ms = number<std::int64_t>(arg, value);
    } else if (arg == "--seed") {
      o.seed = number<std::uint64_t>(arg, value);
    } else {
      usage_error("unknown option " + arg);
    }
  }
  if (!have_url) usage_error("--url is required");
  if (o.connections < 1) usage_error("--connections must be at least 1");
  if (o.threads == 0) o.threads = std::max(1u, std::thread::hardware_concurrency());
  o.threads = std::min(o.threads, o.connections);
  if (o.duration_s <= 0) usage_error("--duration must be positive");
  if (o.timeout_ms < 1) usage_error("--timeout-ms must be positive");
  o.workload.host_header = o.host + ":" + std::to_string(o.port);
  // The keys as bench/lib/stack.sh exports them (none against a server with --auth=off).
  if (const char* key = std::getenv("TRACKER_WRITE_KEY")) o.workload.write_key = key;
  if (const char* key = std::getenv("TRACKER_READ_KEY")) o.workload.read_key = key;
  return o;
}

// ---------------------------------------------------------------------------------------
// Response parsing: Beast's HTTP/1.1 parser, keeping only the status and (on request)
// the body; headers are not stored, so a response costs no allocation.
// ---------------------------------------------------------------------------------------

class ResponseParser : public beast::http::basic_parser<false> {
 public:
  explicit ResponseParser(std::string* body) : body_(body) {
    eager(true);
    body_limit(64 * 1024 * 1024);
  }
  int status = 0;

 private:
  void on_request_impl(beast::http::verb, beast::string_view, beast::string_view, int, error_code& ec) override {
    ec = beast::http::error::bad_method;
  }
  void on_response_impl(int code, beast::string_view, int, error_code&) override { status = code; }
  void on_field_impl(beast::http::field, beast::string_view, beast::string_view, error_code&) override {}
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(beast::string_view body, error_code&) override {
    if (body_) body_->append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, error_code&) override {
    if (body_) body_->append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  std::string* body_;
};

// The integer after "name": in a JSON text, if any (enough for the flat answers read here).
std::optional<std::int64_t> json_integer(const std::string& text, std::string_view name) {
  std::string key = "\"" + std::string(name) + "\":";
  auto at = text.find(key);
  if (at == std::string::npos) return std::nullopt;
  at += key.size();
  while (at < text.size() && text[at] == ' ') ++at;
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(text.data() + at, text.data() + text.size(), value);
  if (error != std::errc{}) return std::nullopt;
  return value;
}

// ---------------------------------------------------------------------------------------
// Statistics, per thread; the reporting thread reads them under the mutex.
// ---------------------------------------------------------------------------------------

enum class Failure { Connect, Write, Read, Timeout, Closed, Parse, Count };
const char* failure_name(Failure f) {
  switch (f) {
    case Failure::Connect: return "connect";
    case Failure::Write: return "write";
    case Failure::Read: return "read";
    case Failure::Timeout: return "timeout";
    case Failure::Closed: return "closed";
    case Failure::Parse: return "parse";
    case Failure::Count: break;
  }
  return "?";
}
constexpr std::size_t kFailures = static_cast<std::size_t>(Failure::Count);

struct KindStats {
  std::uint64_t requests = 0;     // answered or failed
  std::uint64_t ok = 0;           // 2xx
  std::uint64_t non2xx = 0;
  std::uint64_t failed = 0;       // no answer (connection errors, timeouts)
  std::uint64_t events_acked = 0; // events in 2xx answers
  std::uint64_t events_unknown = 0;  // events sent without an answer: stored or not, unknown
  void add(const KindStats& o) {
    requests += o.requests; ok += o.ok; non2xx += o.non2xx; failed += o.failed;
    events_acked += o.events_acked; events_unknown += o.events_unknown;
  }
};

struct Counters {
  std::uint64_t requests = 0, ok = 0, non2xx = 0, failed = 0;
  void add(const Counters& o) { requests += o.requests; ok += o.ok; non2xx += o.non2xx; failed += o.failed; }
};

struct Stats {
  Histogram latency;                       // all answered requests
  std::array<std::uint64_t, 600> status{}; // answers by status code
  std::array<std::uint64_t, kFailures> failures{};
  std::array<KindStats, kKinds> kinds{};
  Counters totals;
  std::int64_t post_id_min = INT64_MAX, post_id_max = INT64_MIN;
  // Since the last periodic line:
  Histogram interval_latency;
  Counters interval;

  void add(const Stats& o) {
    latency.add(o.latency);
    for (std::size_t i = 0; i < status.size(); ++i) status[i] += o.status[i];
    for (std::size_t i = 0; i < kFailures; ++i) failures[i] += o.failures[i];
    for (std::size_t i = 0; i < kKinds; ++i) kinds[i].add(o.kinds[i]);
    totals.add(o.totals);
    post_id_min = std::min(post_id_min, o.post_id_min);
    post_id_max = std::max(post_id_max, o.post_id_max);
  }
};

// ---------------------------------------------------------------------------------------
// The engine
// ---------------------------------------------------------------------------------------

struct Shared {
  Options options;
  std::unique_ptr<Workload> workload;
  tcp::endpoint endpoint;
  Clock::time_point start, end;
  std::atomic<std::int64_t> tickets{0};
  bool open_loop = false;

  bool take_ticket() { return tickets.fetch_sub(1, std::memory_order_relaxed) > 0; }
  bool stopping(Clock::time_point now) const { return now >= end || g_interrupted.load(std::memory_order_relaxed); }
};

struct Worker;

struct Connection {
  Connection(Worker& w, unsigned i, asio::io_context& ioc, std::uint64_t seed)
      : worker(w), index(i), socket(ioc), timer(ioc), rng(seed), buffer(64 * 1024) {}
  Worker& worker;
  unsigned index;
  tcp::socket socket;
  asio::steady_timer timer;
  std::mt19937_64 rng;
  std::uint64_t seq = 0;
  Request scratch;
  std::vector<char> buffer;
  std::size_t begin = 0, end = 0;   // unparsed bytes in buffer
  std::string body;
  Clock::time_point next_slot;
  Clock::duration period{};
  bool in_flight = false;
  bool timed_out = false;
  Clock::time_point sent_at;
};

struct Worker {
  asio::io_context ioc{1};
  std::mutex mutex;
  Stats stats;
  std::vector<std::unique_ptr<Connection>> connections;
  int running = 0;
  std::thread thread;

  void record_answer(const Request& r, int status, Clock::duration latency, const std::string& body) {
    auto ns = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(latency).count());
    bool ok = status >= 200 && status < 300;
    std::uint64_t acked = 0;
    std::optional<std::int64_t> post_id;
    if (ok) {
      acked = r.events;
      if (r.kind == Kind::Batch) acked = static_cast<std::uint64_t>(json_integer(body, "accepted").value_or(0));
      if (r.kind == Kind::Post) {
        post_id = json_integer(body, "postId");
        if (!post_id) post_id = json_integer(body, "id");
      }
    }
    std::lock_guard lock(mutex);
    stats.latency.record(ns);
    stats.interval_latency.record(ns);
    if (status >= 0 && status < 600) ++stats.status[static_cast<std::size_t>(status)];
    KindStats& k = stats.kinds[static_cast<std::size_t>(r.kind)];
    ++k.requests;
    ++stats.totals.requests;
    ++stats.interval.requests;
    if (ok) {
      ++k.ok;
      k.events_acked += acked;
      ++stats.totals.ok;
      ++stats.interval.ok;
    } else {
      ++k.non2xx;
      ++stats.totals.non2xx;
      ++stats.interval.non2xx;
    }
    if (post_id) {
      stats.post_id_min = std::min(stats.post_id_min, *post_id);
      stats.post_id_max = std::max(stats.post_id_max, *post_id);
    }
  }

  // `sent`: the request went out whole, so the server may have stored it.
  void record_failure(const Request& r, Failure f, bool sent) {
    std::lock_guard lock(mutex);
    ++stats.failures[static_cast<std::size_t>(f)];
    KindStats& k = stats.kinds[static_cast<std::size_t>(r.kind)];
    ++k.requests;
    ++k.failed;
    if (sent) k.events_unknown += r.events;
    ++stats.totals.requests;
    ++stats.totals.failed;
    ++stats.interval.requests;
    ++stats.interval.failed;
  }
};

asio::awaitable<bool> connect(Connection& c, Shared& s) {
  error_code ignored;
  c.socket.close(ignored);
  c.begin = c.end = 0;
  auto [ec] = co_await c.socket.async_connect(s.endpoint, tuple_awaitable);
  if (ec) {
    c.socket.close(ignored);
    co_return false;
  }
  c.socket.set_option(tcp::no_delay(true), ignored);
  c.socket.non_blocking(true, ignored);
  co_return true;
}

asio::awaitable<void> pause(Connection& c, Clock::duration d) {
  c.timer.expires_after(d);
  co_await c.timer.async_wait(tuple_awaitable);
}

// One request on an open connection. Returns false when the connection is unusable now.
asio::awaitable<bool> exchange(Connection& c, const Request& r, Clock::time_point scheduled) {
  Worker& w = c.worker;
  c.timed_out = false;
  c.sent_at = Clock::now();
  c.in_flight = true;
  // The socket is non-blocking: try the write at once (a request nearly always fits in
  // the send buffer) and wait for the socket only for what is left.
  error_code wec;
  std::size_t written = c.socket.write_some(asio::buffer(r.bytes), wec);
  if (wec == asio::error::would_block) wec = {};
  if (!wec && written < r.bytes.size()) {
    auto [rest_ec, rest] = co_await asio::async_write(c.socket, asio::buffer(r.bytes.data() + written, r.bytes.size() - written),
                                                      tuple_awaitable);
    wec = rest_ec;
    written += rest;
  }
  if (wec) {
    c.in_flight = false;
    // A write cut short may still have delivered the whole request before the error.
    w.record_failure(r, c.timed_out ? Failure::Timeout : Failure::Write, written == r.bytes.size());
    co_return false;
  }
  bool capture = r.kind == Kind::Batch || r.kind == Kind::Post;
  c.body.clear();
  ResponseParser parser(capture ? &c.body : nullptr);
  error_code ec;
  for (;;) {
    if (c.end > c.begin) {
      std::size_t used = parser.put(asio::buffer(c.buffer.data() + c.begin, c.end - c.begin), ec);
      c.begin += used;
      if (c.begin == c.end) c.begin = c.end = 0;
      if (ec == beast::http::error::need_more) ec = {};
      if (ec || parser.is_done()) break;
      if (used > 0) continue;
    }
    if (c.begin > 0) {  // make room at the end
      std::memmove(c.buffer.data(), c.buffer.data() + c.begin, c.end - c.begin);
      c.end -= c.begin;
      c.begin = 0;
    }
    if (c.end == c.buffer.size()) c.buffer.resize(c.buffer.size() * 2);
    // Let the other connections of this thread run first, then try to read: under load
    // the answer is usually there by then and costs one recv and no epoll call. Otherwise
    // wait for readability and read (an async_read_some would add a recv that finds
    // nothing).
    error_code rec;
    std::size_t n = 0;
    bool try_first = true;
    for (;;) {
      if (try_first) {
        co_await asio::post(c.socket.get_executor(), asio::use_awaitable);
        try_first = false;
      } else {
        auto [wait_ec] = co_await c.socket.async_wait(tcp::socket::wait_read, tuple_awaitable);
        if (wait_ec) {
          rec = wait_ec;
          break;
        }
      }
      if (!c.socket.is_open()) {
        rec = asio::error::operation_aborted;
        break;
      }
      n = c.socket.read_some(asio::buffer(c.buffer.data() + c.end, c.buffer.size() - c.end), rec);
      if (rec != asio::error::would_block) break;
    }
    if (rec) {
      if (rec == asio::error::eof && parser.is_header_done() && parser.need_eof()) {
        parser.put_eof(ec);
        if (!ec) break;
      }
      c.in_flight = false;
      Failure f = c.timed_out ? Failure::Timeout : rec == asio::error::eof ? Failure::Closed : Failure::Read;
      w.record_failure(r, f, true);
      co_return false;
    }
    c.end += n;
  }
  c.in_flight = false;
  if (ec || !parser.is_done()) {
    w.record_failure(r, Failure::Parse, true);
    co_return false;
  }
  w.record_answer(r, parser.status, Clock::now() - scheduled, c.body);
  co_return parser.keep_alive();
}

asio::awaitable<void> run_connection(Connection& c, Shared& s) {
  error_code ignored;
  bool connected = co_await connect(c, s);
  if (Clock::now() < s.start) co_await pause(c, s.start - Clock::now());
  for (;;) {
    Clock::time_point scheduled;
    if (s.open_loop) {
      scheduled = c.next_slot;
      if (s.stopping(scheduled) || s.stopping(Clock::now())) break;
      if (scheduled > Clock::now()) co_await pause(c, scheduled - Clock::now());
      c.next_slot += c.period;
    } else {
      scheduled = Clock::now();
      if (s.stopping(scheduled)) break;
    }
    if (!s.take_ticket()) break;
    const Request& r = s.workload->next(c.rng, c.seq, c.scratch);
    if (!connected) {
      connected = co_await connect(c, s);
      if (!connected) {
        c.worker.record_failure(r, Failure::Connect, false);
        if (!s.open_loop) co_await pause(c, std::chrono::milliseconds(10));  // no busy loop on refusals
        continue;
      }
    }
    connected = co_await exchange(c, r, scheduled);
    if (!connected) c.socket.close(ignored);
  }
  c.socket.close(ignored);
  --c.worker.running;
}

// Closes connections whose request has waited longer than the timeout.
asio::awaitable<void> watchdog(Worker& w, Shared& s) {
  asio::steady_timer timer(w.ioc);
  auto timeout = std::chrono::milliseconds(s.options.timeout_ms);
  while (w.running > 0) {
    timer.expires_after(std::chrono::milliseconds(50));
    co_await timer.async_wait(tuple_awaitable);
    auto now = Clock::now();
    for (auto& c : w.connections) {
      if (c->in_flight && now - c->sent_at > timeout) {
        c->timed_out = true;
        error_code ignored;
        c->socket.close(ignored);
      }
    }
  }
}

// JSON text with plain decimals (Boost.JSON 1.81 writes doubles as 4.97E-1).
void write_json(std::ostream& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::object: {
      out << '{';
      bool first = true;
      for (const auto& [key, value] : v.get_object()) {
        if (!first) out << ',';
        first = false;
        out << json::serialize(json::string(key)) << ':';
        write_json(out, value);
      }
      out << '}';
      break;
    }
    case json::kind::array: {
      out << '[';
      bool first = true;
      for (const auto& value : v.get_array()) {
        if (!first) out << ',';
        first = false;
        write_json(out, value);
      }
      out << ']';
      break;
    }
    case json::kind::double_: {
      char text[64];
      double d = v.get_double();
      if (d == static_cast<double>(static_cast<std::int64_t>(d)) && std::abs(d) < 1e15) {
        std::snprintf(text, sizeof text, "%lld", static_cast<long long>(d));
      } else {
        std::snprintf(text, sizeof text, "%.3f", d);
      }
      out << text;
      break;
    }
    default:
      out << json::serialize(v);
  }
}

std::string to_json(const json::value& v) {
  std::ostringstream out;
  write_json(out, v);
  return out.str();
}

double ms(std::uint64_t ns) { return static_cast<double>(ns / 1000) / 1000.0; }

json::object latency_json(const Histogram& h) {
  return {{"p50", ms(h.percentile(50))},     {"p90", ms(h.percentile(90))},
          {"p99", ms(h.percentile(99))},     {"p99.9", ms(h.percentile(99.9))},
          {"max", ms(h.max())},              {"mean", ms(static_cast<std::uint64_t>(h.mean()))}};
}

Stats collect(std::vector<std::unique_ptr<Worker>>& workers, Histogram& interval, Counters& interval_counts) {
  Stats total;
  for (auto& w : workers) {
    std::lock_guard lock(w->mutex);
    total.add(w->stats);
    interval.add(w->stats.interval_latency);
    interval_counts.add(w->stats.interval);
    w->stats.interval_latency.reset();
    w->stats.interval = {};
  }
  return total;
}

int run(const Options& options) {
  Shared s;
  s.options = options;
  s.workload = make_workload(options.workload);
  s.endpoint = tcp::endpoint(asio::ip::make_address(options.host), options.port);
  s.tickets = static_cast<std::int64_t>(std::min<std::uint64_t>(options.max_requests, INT64_MAX / 2));
  s.open_loop = options.rate > 0;
  s.start = Clock::now() + std::chrono::milliseconds(200);  // connections are opened before
  s.end = s.start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.duration_s));

  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned t = 0; t < options.threads; ++t) workers.push_back(std::make_unique<Worker>());
  Clock::duration period{};
  if (s.open_loop) {
    period = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.connections / options.rate));
  }
  for (unsigned i = 0; i < options.connections; ++i) {
    Worker& w = *workers[i % options.threads];
    auto c = std::make_unique<Connection>(w, i, w.ioc, options.seed * 1'000'003 + i);
    c->seq = i * 7919;  // connections start at different places of a pool
    c->period = period;
    if (s.open_loop) {
      c->next_slot = s.start + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(static_cast<double>(i) / options.rate));
    }
    w.connections.push_back(std::move(c));
  }
  for (auto& w : workers) {
    w->running = static_cast<int>(w->connections.size());
    for (auto& c : w->connections) asio::co_spawn(w->ioc, run_connection(*c, s), asio::detached);
    asio::co_spawn(w->ioc, watchdog(*w, s), asio::detached);
    Worker* raw = w.get();
    w->thread = std::thread([raw] { raw->ioc.run(); });
  }

  // Periodic lines while the workers run.
  auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.interval_s));
  auto next_line = s.start + interval;
  auto last_line = s.start;
  std::uint64_t previous_requests = 0;
  for (;;) {
    bool done = true;
    for (auto& w : workers) done = done && w->ioc.stopped();
    if (done) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto now = Clock::now();
    if (options.interval_s > 0 && now >= next_line) {
      Histogram h;
      Counters counts;
      Stats total = collect(workers, h, counts);
      double seconds = std::chrono::duration<double>(now - last_line).count();
      json::object line{{"t", std::chrono::duration<double>(now - s.start).count()},
                        {"requests", counts.requests},
                        {"rate", static_cast<double>(counts.requests) / seconds},
                        {"ok", counts.ok},
                        {"non2xx", counts.non2xx},
                        {"failed", counts.failed},
                        {"total_requests", total.totals.requests},
                        {"latency_ms", latency_json(h)}};
      std::cerr << to_json(line) << std::endl;
      previous_requests = total.totals.requests;
      last_line = now;
      next_line += interval;
    }
  }
  (void)previous_requests;
  for (auto& w : workers) w->thread.join();
  auto finished = Clock::now();

  Histogram ignored_h;
  Counters ignored_c;
  Stats total = collect(workers, ignored_h, ignored_c);
  double elapsed = std::chrono::duration<double>(finished - s.start).count();
  double sending = std::chrono::duration<double>(std::min(finished, s.end) - s.start).count();

  json::object status;
  for (std::size_t code = 0; code < total.status.size(); ++code) {
    if (total.status[code]) status[std::to_string(code)] = total.status[code];
  }
  json::object failures;
  for (std::size_t f = 0; f < kFailures; ++f) failures[failure_name(static_cast<Failure>(f))] = total.failures[f];
  json::object kinds;
  std::uint64_t events_acked = 0, events_unknown = 0;
  for (std::size_t k = 0; k < kKinds; ++k) {
    const KindStats& ks = total.kinds[k];
    events_acked += ks.events_acked;
    events_unknown += ks.events_unknown;
    if (!ks.requests) continue;
    kinds[kind_name(static_cast<Kind>(k))] = json::object{{"requests", ks.requests},
                                                          {"ok", ks.ok},
                                                          {"non2xx", ks.non2xx},
                                                          {"failed", ks.failed},
                                                          {"events_acked", ks.events_acked},
                                                          {"events_unknown", ks.events_unknown}};
  }
  json::object summary{
      {"scenario", options.workload.scenario},
      {"workload", s.workload->describe()},
      {"target", "http://" + options.workload.host_header},
      {"mode", s.open_loop ? "open-loop" : "closed-loop"},
      {"target_rate", options.rate},
      {"connections", options.connections},
      {"threads", options.threads},
      {"duration_s", elapsed},
      {"sending_s", sending},
      {"requests", total.totals.requests},
      {"rate", elapsed > 0 ? static_cast<double>(total.totals.requests) / elapsed : 0.0},
      {"ok", total.totals.ok},
      {"non2xx", total.totals.non2xx},
      {"failed", total.totals.failed},
      {"errors", total.totals.non2xx + total.totals.failed},
      {"events_acked", events_acked},
      {"events_unknown", events_unknown},
      {"session_prefix", options.workload.session_prefix},
      {"latency_ms", latency_json(total.latency)},
      {"latency_from", s.open_loop ? "scheduled send time" : "actual send time"},
      {"status", std::move(status)},
      {"failures", std::move(failures)},
      {"kinds", std::move(kinds)},
      {"interrupted", g_interrupted.load()}};
  if (total.post_id_min <= total.post_id_max) {
    summary["post_ids"] = json::object{{"min", total.post_id_min}, {"max", total.post_id_max}};
  }
  std::cout << to_json(summary) << std::endl;
  return 0;
}

}  // namespace
}  // namespace loadgen

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGINT, loadgen::on_signal);
  std::signal(SIGTERM, loadgen::on_signal);
  try {
    return loadgen::run(loadgen::parse_options(argc, argv));
  } catch (const std::exception& error) {
    std::cerr << "loadgen: " << error.what() << "\n";
    return 2;
  }
}
