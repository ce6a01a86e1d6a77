#include "redis/event_store.hpp"

#include "domain/event_record.hpp"
#include "domain/query_shape.hpp"
#include "domain/time_format.hpp"
#include "ports/errors.hpp"
#include "redis/errors.hpp"
#include "redis/ingest_layout.hpp"
#include "redis/keys.hpp"
#include "redis/lua_scripts.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <iterator>

namespace tracker::redis {

namespace {

std::string optional_number(const std::optional<std::int64_t>& value) {
  return value ? std::to_string(*value) : std::string();
}

// The Redis fields of the shapes an event adds to (domain/query_shape.hpp).
std::vector<std::string> shape_fields(std::string_view type, const domain::Event& event) {
  std::vector<std::string> fields;
  for (const auto& shape : domain::event_shapes(type, event.component_id, event.post_id, event.keyword)) {
    fields.push_back(domain::shape_field(shape));
  }
  return fields;
}

constexpr std::int64_t kMinuteCountTtl = 7200;
constexpr std::int64_t kRankingTtl = 8 * 86400;  // a week's windows and one more day
constexpr std::int64_t kUniqueUsersTtl = 40 * 86400;
constexpr auto kExpiryRefresh = std::chrono::seconds(60);

// The keys and names an event's effects touch ('' = none), made here, where string work
// is cheap, rather than in Redis's single thread.
struct EventKeys {
  std::string type, minute;
  std::int64_t hour_ms;
  std::string minute_key, users_key, keywords_key, recent_key, top_key, likes_key;
  std::string like_top_key;  // an UNLIKE's: the LIKE ranking it takes back from
  std::vector<std::string> shapes;

  static bool ranked(const domain::Event& event, domain::EventType type) {
    using domain::EventType;
    return event.post_id && (type == EventType::Like || type == EventType::PageView || type == EventType::Click);
  }

  // `tag`: the event's shard's (every key an event touches is in its shard).
  EventKeys(const domain::Event& event, std::string_view tag)
      : type(domain::to_string(event.type)),
        minute(std::to_string(domain::bucket_start(event.event_time_ms, domain::kMinuteMs))),
        hour_ms(domain::bucket_start(event.event_time_ms, domain::kHourMs)),
        minute_key(keys::minute_count(tag, type, domain::bucket_start(event.event_time_ms, domain::kMinuteMs))),
        shapes(shape_fields(type, event)) {
    const bool searching = event.type == domain::EventType::Search;
    if (event.user_id) {
      users_key = keys::unique_users(tag, type, domain::format_rfc3339_ms(event.event_time_ms).substr(0, 10));
    }
    if (searching) keywords_key = keys::ranking_hour(tag, keys::kKeywordRanking, hour_ms);
    if (searching && event.user_id) recent_key = keys::recent_keywords(tag, *event.user_id);
    if (ranked(event, event.type)) top_key = keys::ranking_hour(tag, type, hour_ms);
    if (liking(event)) likes_key = likes_key_of(event, tag);
    if (event.type == domain::EventType::Unlike && ranked(event, domain::EventType::Like)) {
      like_top_key = keys::ranking_hour(tag, domain::to_string(domain::EventType::Like), hour_ms);
    }
  }

  static bool liking(const domain::Event& event) {
    return event.type == domain::EventType::Like || event.type == domain::EventType::Unlike;
  }
  // A post's standing likes in the shard: LIKE and UNLIKE carry a user, so a user's like
  // and its undoing meet in the user's shard.
  static std::string likes_key_of(const domain::Event& event, std::string_view tag) {
    return keys::standing_likes(tag, event.component_id, optional_number(event.post_id));
  }
};
}  // namespace

std::uint32_t EventStore::append_event(Group& group, const domain::Event& event, std::string_view tag) {
  // A summed LIKE's standing like is added before every checked event of the call, so it
  // may be summed only while no checked event on the same post has come before it.
  const bool checked =
      event.client_event_id || event.type == domain::EventType::Unlike ||
      (event.type == domain::EventType::Like && group.checked_like_keys.contains(EventKeys::likes_key_of(event, tag)));
  if (checked) {
    append_checked(group, event, tag);
    return static_cast<std::uint32_t>(group.checked_events);
  }
  append_summed(group, event, tag);
  return 0;
}

// The arguments lua/ingest.lua reads for one checked event.
void EventStore::append_checked(Group& group, const domain::Event& event, std::string_view tag) {
  const EventKeys keys(event, tag);
  std::vector<std::string>& values = group.checked;
  ++group.checked_events;
  if (!keys.likes_key.empty()) group.checked_like_keys.insert(keys.likes_key);
  namespace layout = ingest_layout;
  std::array<std::string, layout::kCheckedFields> fields;
  fields[layout::kCheckedId] = event.id;
  fields[layout::kCheckedDedupId] = event.client_event_id.value_or("");
  fields[layout::kCheckedType] = keys.type;
  fields[layout::kCheckedUserId] = optional_number(event.user_id);
  fields[layout::kCheckedPostId] = optional_number(event.post_id);
  fields[layout::kCheckedKeyword] = event.keyword.value_or("");
  fields[layout::kCheckedCopyRow] = domain::to_copy_row(event);
  fields[layout::kCheckedLikesKey] = keys.likes_key;
  fields[layout::kCheckedMinuteKey] = keys.minute_key;
  expire(group, keys.minute_key, kMinuteCountTtl);
  fields[layout::kCheckedUsersKey] = keys.users_key;
  if (!keys.users_key.empty()) expire(group, keys.users_key, kUniqueUsersTtl);
  fields[layout::kCheckedKeywordsKey] = keys.keywords_key;
  if (!keys.keywords_key.empty()) expire(group, keys.keywords_key, kRankingTtl);
  fields[layout::kCheckedTopKey] = keys.top_key;
  if (!keys.top_key.empty()) expire(group, keys.top_key, kRankingTtl);
  fields[layout::kCheckedMinute] = keys.minute;
  fields[layout::kCheckedShapeCount] = std::to_string(keys.shapes.size());
  std::move(fields.begin(), fields.end(), std::back_inserter(values));
  for (const std::string& shape : keys.shapes) {
    std::array<std::string, layout::kShapeWidth> pair;
    pair[layout::kShapeTotalField] = shape;
    pair[layout::kShapeMinuteField] = domain::minute_field(shape, keys.minute);
    std::move(pair.begin(), pair.end(), std::back_inserter(values));
  }
  if (event.type == domain::EventType::Unlike) {
    // What an UNLIKE takes back from the post's LIKE counters, when it undoes a like. The
    // script adds the minute: the one of the like it takes back, known only there.
    const auto like_shapes = shape_fields("LIKE", event);
    std::array<std::string, layout::kUnlikeFields> unlike;
    unlike[layout::kUnlikeTopKey] = keys.like_top_key;
    if (!keys.like_top_key.empty()) expire(group, keys.like_top_key, kRankingTtl);
    unlike[layout::kUnlikeShapeCount] = std::to_string(like_shapes.size());
    std::move(unlike.begin(), unlike.end(), std::back_inserter(values));
    values.insert(values.end(), like_shapes.begin(), like_shapes.end());
  }
  if (!keys.recent_key.empty()) {
    group.recent.push_back({static_cast<std::uint32_t>(group.checked_events), keys.recent_key, *event.keyword});
  }
}

// A summed event's effects are added to the group's sums: Redis then writes each counter
// once per call, however many events of the call it counts.
void EventStore::append_summed(Group& group, const domain::Event& event, std::string_view tag) {
  const EventKeys keys(event, tag);
  ++group.summed_events;
  group.summed_rows += domain::to_copy_row(event);
  group.summed_rows.push_back('\n');
  for (const std::string& shape : keys.shapes) {
    ++group.totals[shape];
    ++group.minutes[domain::minute_field(shape, keys.minute)];
  }
  group.minute_list.insert(keys.minute);
  if (!keys.likes_key.empty()) group.standing_likes.emplace_back(keys.likes_key, keys.minute);
  ++group.counters[keys.minute_key];
  expire(group, keys.minute_key, kMinuteCountTtl);
  if (!keys.users_key.empty()) {
    group.unique_users[keys.users_key].insert(*event.user_id);
    expire(group, keys.users_key, kUniqueUsersTtl);
  }
  if (!keys.keywords_key.empty()) {
    ++group.rankings[keys.keywords_key][*event.keyword];
    expire(group, keys.keywords_key, kRankingTtl);
  }
  if (!keys.top_key.empty()) {
    ++group.rankings[keys.top_key][std::to_string(*event.post_id)];
    expire(group, keys.top_key, kRankingTtl);
  }
  if (!keys.recent_key.empty()) group.recent.push_back({0, keys.recent_key, *event.keyword});
}

// The whole argument list of the script call (lua/ingest.lua), consuming the group's parts.
std::vector<std::string> EventStore::script_arguments(Group& group, const EventStoreOptions& options,
                                                      std::size_t high_water) {
  std::vector<std::string> values;
  values.reserve(ingest_layout::kHeadCount + group.checked.size() + 2 * (group.totals.size() + group.minutes.size()) +
                 group.minute_list.size() + 3 * group.recent.size() + 2 * group.expiring.size() + 64);
  namespace layout = ingest_layout;
  values.resize(layout::kHeadCount);
  auto head = [&values](std::size_t place) -> std::string& { return values[place - 1]; };  // 1-based
  head(layout::kHeadRecentTtl) = std::to_string(options.recent_keywords_ttl.count());
  head(layout::kHeadHighWater) = std::to_string(high_water);
  head(layout::kHeadCheckedCount) = std::to_string(group.checked_events);
  head(layout::kHeadSummedCount) = std::to_string(group.summed_events);
  if (!group.summed_rows.empty()) group.summed_rows.pop_back();  // the last line's '\n'
  head(layout::kHeadSummedRows) = std::move(group.summed_rows);
  auto push_pairs = [&values](const Sums& sums) {  // n, then n (name, increment) pairs
    values.push_back(std::to_string(sums.size()));
    for (const auto& [name, n] : sums) {
      values.push_back(name);
      values.push_back(std::to_string(n));
    }
  };
  auto push_columns = [&values](const Sums& sums) {  // n, then the n names, then their increments
    values.push_back(std::to_string(sums.size()));
    for (const auto& entry : sums) values.push_back(entry.first);
    for (const auto& entry : sums) values.push_back(std::to_string(entry.second));
  };
  values.push_back(std::to_string(group.standing_likes.size()));
  for (auto& [key, minute] : group.standing_likes) {
    values.push_back(std::move(key));
    values.push_back(std::move(minute));
  }
  for (std::string& value : group.checked) values.push_back(std::move(value));
  push_columns(group.totals);
  push_columns(group.minutes);
  values.push_back(std::to_string(group.minute_list.size()));
  for (const std::string& minute : group.minute_list) values.push_back(minute);
  push_pairs(group.counters);
  values.push_back(std::to_string(group.rankings.size()));
  for (auto& [key, members] : group.rankings) {
    values.push_back(key);
    push_pairs(members);
  }
  values.push_back(std::to_string(group.unique_users.size()));
  for (auto& [key, users] : group.unique_users) {
    values.push_back(key);
    values.push_back(std::to_string(users.size()));
    for (std::int64_t user : users) values.push_back(std::to_string(user));
  }
  values.push_back(std::to_string(group.recent.size()));
  for (RecentSearch& search : group.recent) {
    values.push_back(std::to_string(search.checked_at));
    values.push_back(std::move(search.key));
    values.push_back(std::move(search.keyword));
  }
  values.push_back(std::to_string(group.expiring.size()));
  for (auto& [key, ttl] : group.expiring) {
    values.push_back(std::move(key));
    values.push_back(std::to_string(ttl));
  }
  return values;
}

void EventStore::expire(Group& group, std::string key, std::int64_t ttl_seconds) {
  auto now = std::chrono::steady_clock::now();
  auto [at, inserted] = expiry_set_.try_emplace(key, now);
  if (!inserted) {
    if (now - at->second < kExpiryRefresh) return;
    at->second = now;
  }
  // Keys are per minute, hour or day: the map is emptied now and then instead of pruned.
  if (expiry_set_.size() > 50'000) expiry_set_.clear();
  group.expiring.emplace_back(std::move(key), ttl_seconds);
}

EventStore::EventStore(std::shared_ptr<Commands> connection, EventStoreOptions options,
                       metrics::Registry& metrics, Shards shards)
    : connection_(std::move(connection)),
      options_(options),
      shards_(std::move(shards)),
      shard_high_water_(options.backlog_high_water == 0
                            ? 0
                            : std::max<std::size_t>(1, options.backlog_high_water / shards_.count())),
      script_(lua::ingest),
      queues_(shards_.count()),
      backlog_rejections_(metrics.counter(
          "tracker_ingest_rejected_total", "Events refused to protect the system",
          "reason=\"backlog_high_water\"")),
      duplicates_(metrics.counter("tracker_ingest_duplicates_total",
                                  "Events acknowledged as repeats of a known client eventId")),
      script_calls_(metrics.counter("tracker_ingest_script_calls_total",
                                    "Ingest script calls (each stores a group of events)")),
      not_replicated_(metrics.counter("tracker_ingest_not_replicated_total",
                                      "Events stored but answered 503: fewer replicas than "
                                      "--redis-wait-replicas acknowledged them in time")) {}

asio::awaitable<std::vector<ports::StoredEvent>> EventStore::append(
    std::span<const domain::Event> events) {
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>,
                                          void(std::exception_ptr, std::vector<ports::StoredEvent>)>(
      [this, events](Handler handler) { add(events, std::move(handler)); }, asio::use_awaitable);
}

void EventStore::add(std::span<const domain::Event> events, Handler handler) {
  auto request = std::make_shared<Request>(std::move(handler));
  request->stored.resize(events.size());
  if (events.empty()) {
    asio::post(connection_->executor(), [request] {
      std::move(request->handler)(std::exception_ptr{}, std::vector<ports::StoredEvent>{});
    });
    return;
  }
  // The events' places per shard, in order (one shard: all of them).
  std::vector<std::vector<std::uint32_t>> by_shard(shards_.count());
  for (std::uint32_t i = 0; i < events.size(); ++i) by_shard[shards_.of_event(events[i])].push_back(i);
  for (const auto& positions : by_shard) request->pending += positions.empty() ? 0 : 1;
  for (std::uint32_t shard = 0; shard < shards_.count(); ++shard) {
    std::vector<std::uint32_t>& positions = by_shard[shard];
    if (positions.empty()) continue;
    Queue& queue = queues_[shard];
    if (queue.open.events() > 0 && queue.open.events() + positions.size() > options_.max_group) {
      queue.full.push_back(std::exchange(queue.open, Group{}));
    }
    std::vector<std::string> ids;
    std::vector<std::uint32_t> checked_at;
    ids.reserve(positions.size());
    checked_at.reserve(positions.size());
    for (std::uint32_t position : positions) {
      checked_at.push_back(append_event(queue.open, events[position], shards_.tag(shard)));
      ids.push_back(events[position].id);
    }
    queue.open.waiters.push_back(Waiter{request, std::move(positions), std::move(ids), std::move(checked_at)});
    schedule(shard);
  }
}

// Sends the shard's waiting groups at the end of this turn of the event loop (so that
// every event arriving in it joins them), as far as calls may be on their way.
void EventStore::schedule(std::uint32_t shard) {
  Queue& queue = queues_[shard];
  const std::size_t most = std::max<std::size_t>(options_.max_groups_in_flight, 1);
  if (queue.send_posted || queue.in_flight >= most) return;
  if (queue.full.empty() && queue.open.events() == 0) return;
  queue.send_posted = true;
  asio::post(connection_->executor(), [this, shard, most] {
    Queue& queue = queues_[shard];
    queue.send_posted = false;
    while (queue.in_flight < most) {
      Group group;
      if (!queue.full.empty()) {
        group = std::move(queue.full.front());
        queue.full.pop_front();
      } else if (queue.open.events() > 0) {
        group = std::exchange(queue.open, Group{});
      } else {
        break;
      }
      ++queue.in_flight;
      asio::co_spawn(connection_->executor(), send(shard, std::move(group)), asio::detached);
    }
  });
}

// WAIT counts the replicas that have every write of the connection it is sent on, so it
// goes where the script went: the shard's master, on the same connection. Its own
// deadline is the WAIT timeout plus the usual command timeout, so that a WAIT that
// Redis ends on time is never taken for a lost connection (which would fail every
// command in flight on it).
asio::awaitable<void> EventStore::wait_for_replicas(const std::string& shard_key, std::size_t events) {
  const std::string replicas = std::to_string(options_.wait_replicas);
  const std::string wait_ms = std::to_string(options_.wait_timeout.count());
  const std::string_view command[] = {"WAIT", replicas, wait_ms};
  Reply reply = co_await connection_->execute_at(shard_key, command, options_.wait_timeout + options_.timeout);
  if (reply.type != Reply::Type::Integer) throw ports::StoreRejected("unexpected reply to WAIT");
  if (reply.integer < static_cast<std::int64_t>(options_.wait_replicas)) {
    not_replicated_.inc(events);
    throw ports::NotReplicated("stored, but " + std::to_string(reply.integer) + " of " + replicas +
                               " replicas acknowledged within " + wait_ms + " ms");
  }
}

asio::awaitable<Reply> EventStore::ingest(std::span<const std::string_view> keys,
                                          std::span<const std::string_view> args) {
  if (options_.engine == IngestEngine::Lua) co_return co_await script_.run(*connection_, keys, args, options_.timeout);
  const std::string key_count = std::to_string(keys.size());
  std::vector<std::string_view> command;
  command.reserve(2 + keys.size() + args.size());
  command.push_back(kIngestCommand);
  command.push_back(key_count);
  command.insert(command.end(), keys.begin(), keys.end());
  command.insert(command.end(), args.begin(), args.end());
  try {
    co_return co_await connection_->execute(command, options_.timeout);
  } catch (const ReplyError& error) {
    if (std::string_view(error.what()).find("unknown command") == std::string_view::npos) throw;
  }
  throw IngestModuleMissing();
}

asio::awaitable<void> EventStore::send(std::uint32_t shard, Group group) {
  const std::vector<std::string> values = script_arguments(group, options_, shard_high_water_);
  script_calls_.inc();
  const std::string& tag = shards_.tag(shard);
  const std::string script_keys[] = {keys::stream(tag),           keys::backlog(tag),
                                     keys::live_totals(tag),      keys::live_minutes(tag),
                                     keys::live_minute_index(tag), keys::ranking_versions(tag),
                                     keys::dedup_prefix(tag)};
  const std::vector<std::string_view> key_views(std::begin(script_keys), std::end(script_keys));
  std::vector<std::string_view> args(values.begin(), values.end());
  std::exception_ptr failure;
  Reply reply;
  try {
    try {
      reply = co_await ingest(key_views, args);
    } catch (const ReplyError& error) {
      if (error.prefix() != "BACKLOG") throw;
      backlog_rejections_.inc(group.events());
      throw ports::Overloaded("backlog_high_water", "too many events are waiting to be persisted; retry later");
    }
    if (reply.type != Reply::Type::Array || reply.elements.size() != group.checked_events) {
      throw ports::StoreRejected("unexpected reply from the ingest script");
    }
    if (options_.wait_replicas > 0) co_await wait_for_replicas(keys::stream(tag), group.events());
  } catch (...) {
    failure = std::current_exception();
  }
  for (Waiter& waiter : group.waiters) {
    Request& request = *waiter.request;
    if (failure) {
      if (!request.failure) request.failure = failure;
    } else {
      for (std::size_t i = 0; i < waiter.ids.size(); ++i) {
        ports::StoredEvent& stored = request.stored[waiter.positions[i]];
        if (waiter.checked_at[i] == 0) {
          stored = {std::move(waiter.ids[i]), false};
          continue;
        }
        std::string& answer = reply.elements[waiter.checked_at[i] - 1].text;
        bool duplicate = answer != waiter.ids[i];
        if (duplicate) duplicates_.inc();
        stored = {std::move(answer), duplicate};
      }
    }
    if (--request.pending > 0) continue;
    // Posted, so that each waiting request resumes from the event loop, not from here.
    asio::post(connection_->executor(), [request = std::move(waiter.request)]() mutable {
      std::vector<ports::StoredEvent> stored;
      if (!request->failure) stored = std::move(request->stored);
      std::move(request->handler)(request->failure, std::move(stored));
    });
  }
  --queues_[shard].in_flight;
  schedule(shard);
}

}  // namespace tracker::redis
