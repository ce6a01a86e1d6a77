// The server's CPU cost of what browsers and apps add to one single-event request: CORS
// (an Origin to check and echo), a gzip body to inflate, an API key to check and rate
// limits (per address and per key, in memory: the Redis store's cost is Redis's, see
// bench/edge_total_cost.sh). Each case serves the same event through the real ingest
// route (parse, validate, id, an in-memory store) as the router does after the listener
// has read it; the baseline is a router without CORS, keys or limits, as before.
// bench/edge_cost.sh runs the cases interleaved and prints medians and ratios.
#include "app/ingest_service.hpp"
#include "app/key_ring.hpp"
#include "app/local_rate_limiter.hpp"
#include "http/auth.hpp"
#include "http/body_decoding.hpp"
#include "http/cors.hpp"
#include "http/ingest_routes.hpp"
#include "http/rate_limit.hpp"

#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <zlib.h>

#include <optional>
#include <string>

namespace {

namespace asio = boost::asio;
using namespace tracker;
using http::beast_http::field;
using http::beast_http::verb;

class MemoryEventStore : public ports::EventStore {
 public:
  asio::awaitable<std::vector<ports::StoredEvent>> append(std::span<const domain::Event> events) override {
    std::vector<ports::StoredEvent> stored;
    for (const auto& event : events) stored.push_back({event.id, false});
    co_return stored;
  }
};

// The one write key the key ring loads.
class OneKeyStore final : public ports::KeyStore {
 public:
  OneKeyStore() : secret(domain::generate_key(domain::KeyScope::write)) {}
  asio::awaitable<std::vector<domain::ApiKey>> load_active() override {
    co_return std::vector<domain::ApiKey>{{"bench", domain::KeyScope::write, domain::hash_key(secret),
                                           domain::display_prefix(secret), {}}};
  }
  asio::awaitable<void> create(const domain::ApiKey&) override { co_return; }
  asio::awaitable<std::vector<ports::KeyListing>> list() override { co_return std::vector<ports::KeyListing>{}; }
  asio::awaitable<ports::KeyListing> revoke(const std::string&) override { co_return ports::KeyListing{}; }
  const std::string secret;
};

const std::string kEvent =
    R"({"eventType":"CLICK","userId":42,"sessionId":"session-3f1c","metadata":{"componentId":1002,"elementId":"element-7","keyword":null,"postId":null}})";

std::string gzip(std::string_view text) {
  z_stream stream{};
  deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&stream, text.size()) + 32, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  stream.avail_in = static_cast<uInt>(text.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

enum class Case { before, plain, origin, gzip_body, key, key_limits };

struct Stack {
  metrics::Registry metrics;
  MemoryEventStore store;
  app::IngestService ingest{store, metrics};
  http::Cors cors{http::CorsPolicy{}};
  OneKeyStore keys;
  app::KeyRing ring{keys, {}, metrics};
  http::AuthGate auth{ring, metrics};
  app::LocalRateLimiter limiter;
  // High enough never to refuse: the case measures the checking.
  http::RateLimitGate limits{limiter,
                             {domain::rate_limit(1e6, 1'000'000), domain::rate_limit(1e6, 1'000'000), false},
                             metrics};
  http::Router router;
  asio::io_context io{1};

  explicit Stack(Case which) {
    http::add_ingest_routes(router, ingest);
    if (which == Case::before) return;
    router.set_cors(cors);
    if (which == Case::key || which == Case::key_limits) {
      asio::co_spawn(io, ring.refresh(), asio::detached);
      io.run();
      router.add_gate(auth);
    }
    if (which == Case::key_limits) router.add_gate(limits);
  }

  http::Response serve(const http::Request& request) {
    std::optional<http::Response> answer;
    asio::co_spawn(io, router.handle(request, http::Caller{}),
                   [&](std::exception_ptr, http::Response response) { answer = std::move(response); });
    io.restart();
    io.run();
    return std::move(*answer);
  }
};

void single_event(benchmark::State& state, Case which) {
  spdlog::set_level(spdlog::level::warn);  // the key ring's "keys loaded" once per run
  Stack stack(which);
  http::Request prototype{verb::post, "/api/events", 11};
  prototype.set(field::host, "tracker.example");
  prototype.set(field::content_type, "application/json");
  if (which != Case::before && which != Case::plain) prototype.set(field::origin, "https://shop.example");
  if (which == Case::key || which == Case::key_limits) prototype.set("X-Api-Key", stack.keys.secret);
  if (which == Case::gzip_body) {
    prototype.set(field::content_encoding, "gzip");
    prototype.body() = gzip(kEvent);
  } else {
    prototype.body() = kEvent;
  }
  prototype.prepare_payload();
  for (auto _ : state) {
    http::Request request = prototype;  // the listener makes a new one per request
    if (which == Case::gzip_body) {
      auto coding = http::parse_content_encoding(request[field::content_encoding]);
      std::string inflated;
      if (http::inflate_body(request.body(), *coding, 64 * 1024, inflated, [](std::size_t) { return true; })) {
        state.SkipWithError("did not inflate");
        break;
      }
      request.body() = std::move(inflated);
      request.erase(field::content_encoding);
    }
    http::Response response = stack.serve(request);
    if (response.result() != http::Status::accepted) {
      state.SkipWithError("not accepted");
      break;
    }
    benchmark::DoNotOptimize(response);
  }
}

BENCHMARK_CAPTURE(single_event, before, Case::before);
BENCHMARK_CAPTURE(single_event, plain, Case::plain);
BENCHMARK_CAPTURE(single_event, origin, Case::origin);
BENCHMARK_CAPTURE(single_event, gzip_body, Case::gzip_body);
BENCHMARK_CAPTURE(single_event, key, Case::key);
BENCHMARK_CAPTURE(single_event, key_limits, Case::key_limits);

}  // namespace
