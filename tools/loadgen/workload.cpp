#include "workload.hpp"

#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace loadgen {

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::Event: return "event";
    case Kind::Batch: return "batch";
    case Kind::Like: return "like";
    case Kind::Search: return "search";
    case Kind::Stats: return "statistics";
    case Kind::Summary: return "summary";
    case Kind::Post: return "post";
    case Kind::Count: break;
  }
  return "?";
}

std::string mix_event(std::uint64_t i, const std::string& session_prefix) {
  static const char* const types[] = {"CLICK", "PAGE_VIEW", "SEARCH", "LIKE"};
  const char* type = types[i % 4];
  std::uint64_t user = (i * 7919) % 100 + 1;
  std::uint64_t component = 1000 + (i * 104729) % 1001;
  std::string keyword = "null", post = "null";
  if (i % 4 == 2) keyword = "\"keyword-" + std::to_string(i % 10 + 1) + "\"";
  if (i % 4 == 3) post = std::to_string(i % 10 + 1);
  char buffer[512];
  std::snprintf(buffer, sizeof buffer,
                "{\"eventType\":\"%s\",\"userId\":%llu,\"sessionId\":\"%s%llu\",\"metadata\":{\"componentId\":%llu,"
                "\"elementId\":\"element-%llu\",\"keyword\":%s,\"postId\":%s,\"page\":\"/posts/%llu\"}}",
                type, static_cast<unsigned long long>(user), session_prefix.c_str(),
                static_cast<unsigned long long>((i * 31) % 5000), static_cast<unsigned long long>(component),
                static_cast<unsigned long long>(i % 50 + 1), keyword.c_str(), post.c_str(),
                static_cast<unsigned long long>(i % 100 + 1));
  return buffer;
}

std::string http_request(const std::string& method, const std::string& target, const WorkloadOptions& options,
                         const std::string& body) {
  std::string out;
  out.reserve(220 + body.size());
  out += method;
  out += ' ';
  out += target;
  out += " HTTP/1.1\r\nHost: ";
  out += options.host_header;
  out += "\r\n";
  // Statistics and the explorer (GET /api/statistics..., GET /api/events) take a read key.
  const bool reads = method == "GET" && (target.starts_with("/api/statistics") || target.starts_with("/api/events"));
  const std::string& key = reads ? options.read_key : options.write_key;
  if (!key.empty()) {
    out += reads ? "Authorization: Bearer " : "X-Api-Key: ";
    out += key;
    out += "\r\n";
  }
  if (!body.empty() || method == "POST") {
    out += "Content-Type: application/json\r\nContent-Length: ";
    out += std::to_string(body.size());
    out += "\r\n";
  }
  out += "\r\n";
  out += body;
  return out;
}

namespace {

constexpr std::size_t kPool = 997;  // bodies in a pool, as many as bench/lib/events.lua builds

std::uint64_t uniform(std::mt19937_64& rng, std::uint64_t lo, std::uint64_t hi) {
  return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng);
}

// A fixed pool of requests sent round-robin.
class PoolWorkload : public Workload {
 public:
  PoolWorkload(std::vector<Request> pool, std::string what) : pool_(std::move(pool)), what_(std::move(what)) {}
  const Request& next(std::mt19937_64&, std::uint64_t& seq, Request&) const override {
    return pool_[seq++ % pool_.size()];
  }
  std::string describe() const override { return what_; }

 private:
  std::vector<Request> pool_;
  std::string what_;
};

std::unique_ptr<Workload> events_workload(const WorkloadOptions& o) {
  std::vector<Request> pool;
  for (std::uint64_t i = 1; i <= kPool; ++i) {
    pool.push_back({http_request("POST", o.event_path, o, mix_event(i, o.session_prefix)), Kind::Event, 1});
  }
  return std::make_unique<PoolWorkload>(std::move(pool), "single events (POST " + o.event_path + ")");
}

std::unique_ptr<Workload> batch_workload(const WorkloadOptions& o) {
  if (o.batch < 1 || o.batch > 1000) throw std::invalid_argument("--batch must be 1..1000");
  std::vector<Request> pool;
  for (std::uint64_t i = 1; i <= kPool; ++i) {
    std::string body = "{\"events\":[";
    for (std::uint64_t j = 1; j <= o.batch; ++j) {
      if (j > 1) body += ',';
      body += mix_event(i * o.batch + j, o.session_prefix);
    }
    body += "]}";
    pool.push_back({http_request("POST", "/api/events/batch", o, body), Kind::Batch, o.batch});
  }
  return std::make_unique<PoolWorkload>(std::move(pool),
                                        "batches of " + std::to_string(o.batch) + " (POST /api/events/batch)");
}

// The user-facing service's traffic: like toggles, hashtag searches, and clicks and page
// views forwarded on /api/users/events, with ids drawn at random.
class UsersWorkload : public Workload {
 public:
  explicit UsersWorkload(WorkloadOptions o) : o_(std::move(o)) {
    if (o_.post_max < o_.post_min || o_.users < 1 || o_.keywords < 1) {
      throw std::invalid_argument("users scenario: need users >= 1, keywords >= 1, post ids min <= max");
    }
  }
  const Request& next(std::mt19937_64& rng, std::uint64_t& seq, Request& out) const override {
    ++seq;
    std::uint64_t user = uniform(rng, 1, o_.users);
    std::uint64_t post = uniform(rng, o_.post_min, o_.post_max);
    std::uint64_t pick = uniform(rng, 0, 99);
    char body[384];
    if (pick < 30) {
      std::snprintf(body, sizeof body, "{\"userId\":%llu,\"postId\":%llu}", ull(user), ull(post));
      out.bytes = http_request("POST", "/api/posts/like", o_, body);
      out.kind = Kind::Like;
      out.events = 0;
    } else if (pick < 60) {
      std::snprintf(body, sizeof body, "/api/search?userId=%llu&keyword=tag%llu", ull(user),
                    ull(uniform(rng, 1, o_.keywords)));
      out.bytes = http_request("GET", body, o_, "");
      out.kind = Kind::Search;
      out.events = 0;
    } else {
      bool click = pick < 80;
      std::snprintf(body, sizeof body,
                    "{\"eventType\":\"%s\",\"userId\":%llu,\"sessionId\":\"%s%llu\",\"metadata\":{\"componentId\":%d,"
                    "\"elementId\":\"element-%llu\",\"postId\":%llu}}",
                    click ? "CLICK" : "PAGE_VIEW", ull(user), o_.session_prefix.c_str(), ull(user),
                    click ? 1002 : 1000, ull(uniform(rng, 1, 50)), ull(post));
      out.bytes = http_request("POST", "/api/users/events", o_, body);
      out.kind = Kind::Event;
      out.events = 1;
    }
    return out;
  }
  std::string describe() const override {
    return "user service: 30% like toggles, 30% hashtag searches, 20% CLICK, 20% PAGE_VIEW (users 1.." +
           std::to_string(o_.users) + ", posts " + std::to_string(o_.post_min) + ".." + std::to_string(o_.post_max) + ")";
  }

 private:
  static unsigned long long ull(std::uint64_t v) { return static_cast<unsigned long long>(v); }
  WorkloadOptions o_;
};

// Statistics reads over the keys the event mix writes, with an occasional summary.
class StatsWorkload : public Workload {
 public:
  explicit StatsWorkload(WorkloadOptions o) : o_(std::move(o)) {}
  const Request& next(std::mt19937_64& rng, std::uint64_t& seq, Request& out) const override {
    ++seq;
    std::uint64_t pick = uniform(rng, 0, 99);
    std::uint64_t component = uniform(rng, 1000, 2000);
    char target[256];
    out.kind = Kind::Stats;
    if (pick < 5) {
      out.kind = Kind::Summary;
      std::snprintf(target, sizeof target, "/api/statistics/summary");
    } else if (pick < 35) {
      std::snprintf(target, sizeof target, "/api/statistics?eventType=CLICK&componentId=%llu",
                    static_cast<unsigned long long>(component));
    } else if (pick < 60) {
      std::snprintf(target, sizeof target, "/api/statistics?eventType=PAGE_VIEW&componentId=%llu",
                    static_cast<unsigned long long>(component));
    } else if (pick < 80) {
      std::snprintf(target, sizeof target, "/api/statistics?eventType=SEARCH&componentId=%llu&keyword=keyword-%llu",
                    static_cast<unsigned long long>(component), static_cast<unsigned long long>(uniform(rng, 1, 10)));
    } else {
      std::snprintf(target, sizeof target, "/api/statistics?eventType=LIKE&componentId=%llu&postId=%llu",
                    static_cast<unsigned long long>(component), static_cast<unsigned long long>(uniform(rng, 1, 10)));
    }
    out.bytes = http_request("GET", target, o_, "");
    out.events = 0;
    return out;
  }
  std::string describe() const override {
    return "statistics reads: counts by type/component (+keyword, +post) over the event mix's keys, 5% summaries";
  }

 private:
  WorkloadOptions o_;
};

// Post creation, to seed the user-service scenarios.
class PostsWorkload : public Workload {
 public:
  explicit PostsWorkload(WorkloadOptions o) : o_(std::move(o)) {}
  const Request& next(std::mt19937_64& rng, std::uint64_t& seq, Request& out) const override {
    std::uint64_t n = ++seq;
    char body[384];
    std::snprintf(body, sizeof body,
                  "{\"userId\":%llu,\"content\":\"load test post %llu\",\"hashtags\":[\"tag%llu\",\"tag%llu\"]}",
                  static_cast<unsigned long long>(uniform(rng, 1, o_.users)), static_cast<unsigned long long>(n),
                  static_cast<unsigned long long>(uniform(rng, 1, o_.keywords)),
                  static_cast<unsigned long long>(uniform(rng, 1, o_.keywords)));
    out.bytes = http_request("POST", "/api/posts", o_, body);
    out.kind = Kind::Post;
    out.events = 0;
    return out;
  }
  std::string describe() const override { return "post creation (POST /api/posts) with hashtags tag1..tagN"; }

 private:
  WorkloadOptions o_;
};

// GET requests for the paths of a file (one per line), picked at random: any read endpoint
// with a realistic spread of keys, e.g. the statistics benchmark's targets.
class TargetsWorkload : public Workload {
 public:
  explicit TargetsWorkload(const WorkloadOptions& o) {
    std::ifstream in(o.targets_file);
    if (!in) throw std::invalid_argument("cannot read --targets file '" + o.targets_file + "'");
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line.front() != '/') continue;
      pool_.push_back({http_request("GET", line, o, ""), Kind::Stats, 0});
    }
    if (pool_.empty()) throw std::invalid_argument("no request paths in '" + o.targets_file + "'");
  }
  const Request& next(std::mt19937_64& rng, std::uint64_t& seq, Request&) const override {
    ++seq;
    return pool_[uniform(rng, 0, pool_.size() - 1)];
  }
  std::string describe() const override {
    return "GET of " + std::to_string(pool_.size()) + " paths from a targets file, at random";
  }

 private:
  std::vector<Request> pool_;
};

}  // namespace

std::unique_ptr<Workload> make_workload(const WorkloadOptions& options) {
  if (options.scenario == "events") return events_workload(options);
  if (options.scenario == "batch") return batch_workload(options);
  if (options.scenario == "users") return std::make_unique<UsersWorkload>(options);
  if (options.scenario == "stats") return std::make_unique<StatsWorkload>(options);
  if (options.scenario == "posts") return std::make_unique<PostsWorkload>(options);
  if (options.scenario == "targets") return std::make_unique<TargetsWorkload>(options);
  throw std::invalid_argument("unknown scenario '" + options.scenario + "' (events, batch, users, stats, posts, targets)");
}

}  // namespace loadgen
