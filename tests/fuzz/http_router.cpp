// The HTTP layer: raw bytes through Beast's request parser (one or more pipelined
// requests, read as the server reads them) and the Router with every route of the
// server, over in-memory ports that always work. Whatever arrives, every answer is a
// 2xx/3xx/4xx with a JSON body in the contract's shape: nothing a client sends may
// give a 5xx (with stores that never fail) or an exception (the server's 500).
#include "app/event_explorer.hpp"
#include "app/ingest_service.hpp"
#include "app/post_service.hpp"
#include "app/ranking_board.hpp"
#include "app/search_service.hpp"
#include "app/statistics_service.hpp"
#include "app/user_data.hpp"
#include "domain/time_format.hpp"
#include "fuzz_check.hpp"
#include "http/body_decoding.hpp"
#include "http/cors.hpp"
#include "http/explorer_routes.hpp"
#include "http/ingest_routes.hpp"
#include "http/ops_routes.hpp"
#include "http/post_routes.hpp"
#include "http/server.hpp"
#include "http/statistics_routes.hpp"
#include "http/user_data_routes.hpp"
#include "http/query.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <map>
#include <optional>
#include <set>

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
namespace beast_http = tracker::http::beast_http;
using asio::awaitable;
using namespace tracker;
using fuzz::kNowMs;

// --- In-memory ports ------------------------------------------------------------------

class MemoryEventStore : public ports::EventStore {
 public:
  awaitable<std::vector<ports::StoredEvent>> append(std::span<const domain::Event> events) override {
    std::vector<ports::StoredEvent> stored;
    for (const auto& event : events) stored.push_back({event.id, false});
    co_return stored;
  }
};

std::size_t buckets(std::int64_t from_ms, std::int64_t to_ms, std::int64_t width_ms) {
  FUZZ_CHECK(width_ms > 0 && from_ms <= to_ms);
  return static_cast<std::size_t>((to_ms - from_ms + width_ms - 1) / width_ms);
}

class ZeroCounters : public ports::CounterArchive, public ports::LiveCounters, public ports::Trends {
 public:
  awaitable<ports::ArchiveReading> totals(std::span<const ports::CounterKey> keys) override {
    co_return ports::ArchiveReading{std::vector<std::int64_t>(keys.size()), "snapshot", std::nullopt};
  }
  awaitable<ports::ArchiveReading> buckets(const ports::CounterKey&, std::int64_t from_ms, std::int64_t to_ms,
                                           std::int64_t width_ms) override {
    co_return ports::ArchiveReading{std::vector<std::int64_t>(::buckets(from_ms, to_ms, width_ms)), "snapshot",
                                    std::nullopt};
  }
  awaitable<std::vector<std::string>> applied_in(const std::string&, std::span<const std::string>) override {
    co_return std::vector<std::string>{};
  }
  awaitable<ports::LiveReading> totals(std::span<const ports::CounterKey> keys,
                                       std::span<const std::string>) override {
    co_return ports::LiveReading{std::vector<std::int64_t>(keys.size()), {}};
  }
  awaitable<ports::LiveReading> buckets(const ports::CounterKey&, std::int64_t from_ms, std::int64_t to_ms,
                                        std::int64_t width_ms, std::span<const std::string>) override {
    FUZZ_CHECK(from_ms % domain::kMinuteMs == 0 && width_ms % domain::kMinuteMs == 0);
    co_return ports::LiveReading{std::vector<std::int64_t>(::buckets(from_ms, to_ms, width_ms)), {}};
  }
  awaitable<std::int64_t> unique_users(const std::string&, const std::string&) override { co_return 0; }
  awaitable<std::vector<std::int64_t>> events_in_minute(const std::vector<std::string>& types,
                                                        std::int64_t) override {
    co_return std::vector<std::int64_t>(types.size());
  }
  awaitable<std::int64_t> backlog() override { co_return 0; }
};

class NoRankings : public ports::HourlyRankings {
 public:
  awaitable<std::vector<ports::RankingHourVersion>> versions() override { co_return std::vector<ports::RankingHourVersion>{}; }
  awaitable<std::vector<std::vector<domain::Ranked>>> members(std::span<const ports::RankingHour> hours) override {
    co_return std::vector<std::vector<domain::Ranked>>(hours.size());
  }
  awaitable<void> forget(std::span<const ports::RankingHour>) override { co_return; }
};

class MemoryPosts : public ports::PostRepository {
 public:
  awaitable<std::int64_t> create(const domain::NewPost& post) override {
    std::int64_t id = static_cast<std::int64_t>(posts_.size()) + 1;
    posts_[id] = {id, post.user_id, post.content, post.image_urls, post.hashtags, post.visibility, 0, kNowMs, kNowMs};
    co_return id;
  }
  awaitable<std::optional<domain::Post>> get(std::int64_t post_id) override {
    auto it = posts_.find(post_id);
    if (it == posts_.end()) co_return std::nullopt;
    co_return it->second;
  }
  awaitable<std::optional<domain::LikeState>> toggle_like(std::int64_t user_id, std::int64_t post_id) override {
    auto it = posts_.find(post_id);
    if (it == posts_.end()) co_return std::nullopt;
    bool liked = likes_[{user_id, post_id}] = !likes_[{user_id, post_id}];
    it->second.like_count += liked ? 1 : -1;
    co_return domain::LikeState{liked, it->second.like_count};
  }
  awaitable<std::vector<domain::Post>> search_by_hashtag(const std::string& hashtag, std::size_t limit) override {
    std::vector<domain::Post> found;
    for (const auto& [id, post] : posts_) {
      if (found.size() < limit && post.visibility == domain::Visibility::Public &&
          std::find(post.hashtags.begin(), post.hashtags.end(), hashtag) != post.hashtags.end()) {
        found.push_back(post);
      }
    }
    co_return found;
  }

 private:
  std::map<std::int64_t, domain::Post> posts_;
  std::map<std::pair<std::int64_t, std::int64_t>, bool> likes_;
};

class MemorySearchCache : public ports::SearchCache, public ports::RecentKeywords {
 public:
  awaitable<std::optional<ports::CachedSearch>> get(const std::string& keyword, std::size_t limit) override {
    auto it = entries_.find({keyword, limit});
    if (it == entries_.end()) co_return std::nullopt;
    co_return it->second;
  }
  awaitable<std::optional<std::string>> try_lock(const std::string& keyword, std::size_t limit,
                                                 std::chrono::milliseconds) override {
    if (!locks_.emplace(keyword, limit).second) co_return std::nullopt;
    co_return "token";
  }
  awaitable<void> store(const std::string& keyword, std::size_t limit, const ports::CachedSearch& entry,
                        std::chrono::milliseconds, const std::string&) override {
    entries_[{keyword, limit}] = entry;
    locks_.erase({keyword, limit});
    co_return;
  }
  awaitable<void> unlock(const std::string& keyword, std::size_t limit, const std::string&) override {
    locks_.erase({keyword, limit});
    co_return;
  }
  awaitable<std::vector<std::string>> recent_keywords(std::int64_t) override { co_return std::vector<std::string>{}; }

 private:
  std::map<std::pair<std::string, std::size_t>, ports::CachedSearch> entries_;
  std::set<std::pair<std::string, std::size_t>> locks_;
};

// One stored event shaped by the query (its strings are the client's, so the answer's
// escaping is exercised), and a next cursor whenever the page is full.
class EchoEventReader : public ports::EventReader {
 public:
  awaitable<domain::EventPage> list(const domain::EventQuery& query) override {
    FUZZ_CHECK(query.limit >= 1);
    FUZZ_CHECK(!query.from_ms || !query.to_ms || *query.from_ms <= *query.to_ms);
    domain::StoredEvent event;
    event.id = "01a214b7-42a2-71a8-88c7-3ced60dda791";
    event.type = query.type ? std::string(domain::to_string(*query.type)) : "CLICK";
    event.user_id = query.user_id;
    event.session_id = query.session_id.value_or("s-1");
    event.component_id = query.component_id.value_or(1);
    event.post_id = query.post_id;
    event.keyword = query.keyword;
    event.metadata_json = R"({"componentId":1})";
    event.server_time_us = kNowMs * 1000;
    domain::EventPage page;
    page.events.push_back(event);
    if (query.limit == 1) page.next = domain::EventCursor{event.server_time_us, event.id};
    co_return page;
  }
};

// Erasure that always succeeds and finds nothing to erase.
class NoUserData : public ports::UserDataArchive, public ports::UnflushedUserData {
 public:
  class Erasure : public ports::ArchiveErasure {
   public:
    ports::BacklogPosition stored_up_to() const override { return {}; }
    awaitable<void> erase_stored(ports::UserErasure& erasure) override {
      FUZZ_CHECK(erasure.user_id > 0);
      co_return;
    }
    awaitable<void> commit(const ports::UserErasure&) override { co_return; }
  };
  awaitable<std::unique_ptr<ports::ArchiveErasure>> begin_erasure(const std::string&, std::uint32_t) override {
    co_return std::make_unique<Erasure>();
  }
  awaitable<std::string> backlog_source() override { co_return "memory"; }
  std::uint32_t shard_of(std::int64_t) const override { return 0; }
  awaitable<ports::UnflushedErasure> erase_user(std::int64_t user_id, ports::BacklogPosition) override {
    FUZZ_CHECK(user_id > 0);
    co_return ports::UnflushedErasure{};
  }
};

class ReadyProbe : public ports::HealthProbe {
 public:
  std::string_view name() const override { return "memory"; }
  awaitable<bool> ready() override { co_return true; }
};

template <class T>
T run(asio::io_context& io, awaitable<T> task) {
  std::optional<T> result;
  std::exception_ptr failure;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr error, T value) {
    failure = error;
    result = std::move(value);
  });
  io.restart();
  io.run();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "exception out of the router (the server answers 500): %s\n", e.what());
    }
    std::abort();
  }
  FUZZ_CHECK(result.has_value());
  return std::move(*result);
}

// The whole server's routes over the ports above, built afresh for each input so that
// an input replays alone exactly as it ran.
struct Server {
  static std::int64_t now() { return kNowMs; }

  asio::io_context io{1};
  metrics::Registry metrics;
  MemoryEventStore events;
  ZeroCounters counters;
  NoRankings hours;
  MemoryPosts post_store;
  MemorySearchCache search_cache;
  EchoEventReader event_reader;
  NoUserData user_data_store;
  ReadyProbe probe;
  app::IngestService ingest{events, metrics, {}, now};
  app::RankingBoard rankings{hours, {}, metrics, now};
  app::StatisticsService statistics{counters, counters, counters, rankings, {}, now};
  app::PostService posts{post_store, ingest, metrics};
  app::SearchService search{post_store, search_cache, search_cache, ingest, metrics, {}, [] { return 0.5; }};
  app::EventExplorer explorer{event_reader};
  app::UserDataService user_data{user_data_store, user_data_store};
  http::Cors cors{cors_policy()};
  http::Router router;

  static http::CorsPolicy cors_policy() {
    http::CorsPolicy policy;
    policy.read_origins = http::OriginList::parse("https://dash.example");
    return policy;
  }

  Server() {
    http::add_ingest_routes(router, ingest);
    http::add_statistics_routes(router, statistics);
    http::add_post_routes(router, posts, search);
    http::add_explorer_routes(router, explorer);
    http::add_user_data_routes(router, user_data);
    http::add_ops_routes(router, {&probe}, metrics);
    router.limit_body("/api/events/batch", 4 * 1024 * 1024);
    router.set_cors(cors);
    asio::co_spawn(io, rankings.refresh(), asio::detached);
    io.run();
  }
};

void check_answer(const http::Response& response) {
  unsigned status = response.result_int();
  FUZZ_CHECK(status >= 200 && status < 500);
  // Only GET /metrics answers in Prometheus' text format; everything else is JSON.
  if (response[beast_http::field::content_type] != "application/json") {
    FUZZ_CHECK(status == 200 && response[beast_http::field::content_type].starts_with("text/plain"));
    return;
  }
  boost::system::error_code ec;
  json::value body = json::parse(response.body(), ec);
  FUZZ_CHECK(!ec);
  if (status >= 400) {
    FUZZ_CHECK(body.is_object() && body.as_object().contains("error") && body.at("error").is_object());
    const json::object* error = &body.at("error").as_object();
    FUZZ_CHECK(error->contains("code") && error->at("code").is_string());
    FUZZ_CHECK(error->contains("message") && error->at("message").is_string());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest = fuzz::as_text(data, size);
  const http::ServerOptions options;
  Server server;
  // A few pipelined requests, as one connection may send them.
  for (int served = 0; served < 4 && !rest.empty(); ++served) {
    beast_http::request_parser<beast_http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
    // As the server: the largest route limit until the header is in, then the route's.
    parser.body_limit(server.router.largest_body_limit());
    boost::system::error_code ec;
    auto feed = [&] {
      for (;;) {
        std::size_t used = parser.put(asio::buffer(rest.data(), rest.size()), ec);
        rest.remove_prefix(used);
        if (ec == beast_http::error::need_more) {
          ec = {};
          if (used == 0) {
            parser.put_eof(ec);
            return;
          }
          continue;
        }
        if (ec || parser.is_done() || used == 0) return;
      }
    };
    feed();  // the header (the parser stops after it)
    if (ec || !parser.is_header_done()) return 0;  // the server answers 400 or 431
    if (!parser.get()[beast_http::field::transfer_encoding].empty() && !parser.chunked()) return 0;
    // As the server: a coding it does not know, or on a route that is not a write route, is
    // a 415 from the header alone.
    auto coding = http::parse_content_encoding(parser.get()[beast_http::field::content_encoding]);
    if (!coding) return 0;
    if (*coding != http::ContentCoding::identity &&
        server.router.access_of(parser.get()) != http::Access::write) {
      return 0;
    }
    std::size_t limit = server.router.body_limit(parser.get().target());
    if (parser.content_length() && *parser.content_length() > limit) return 0;  // 413 before the body
    parser.body_limit(limit);
    if (!parser.is_done()) feed();
    if (ec || !parser.is_done()) return 0;  // 400 or 413
    http::Request request = parser.release();
    if (*coding != http::ContentCoding::identity && !request.body().empty()) {
      std::string inflated;
      auto failure = http::inflate_body(request.body(), *coding, limit, inflated, [](std::size_t) { return true; });
      if (failure) return 0;  // 400 or 413, answered by the server
      FUZZ_CHECK(inflated.size() <= limit);
      request.body() = std::move(inflated);
      request.erase(beast_http::field::content_encoding);
    }
    check_answer(run(server.io, server.router.handle(request, tracker::http::Caller{})));
  }
  return 0;
}
