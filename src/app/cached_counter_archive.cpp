#include "app/cached_counter_archive.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace tracker::app {

namespace asio = boost::asio;

namespace {

// Unambiguous cache keys: the keyword (free text) goes last with its length before it.
void append_key(std::string& out, const ports::CounterKey& key) {
  out += key.event_type;
  out += '\x1f';
  out += std::to_string(key.component_id);
  out += '\x1f';
  out += std::to_string(key.post_id);
  out += '\x1f';
  out += std::to_string(key.keyword.size());
  out += ':';
  out += key.keyword;
}

metrics::Counter& archive_cache_counter(metrics::Registry& metrics, std::string_view kind, std::string_view result) {
  return metrics.counter("tracker_statistics_archive_cache_total",
                         "PostgreSQL readings of the statistics API: reused, read, or joined to a read under way",
                         "kind=\"" + std::string(kind) + "\",result=\"" + std::string(result) + "\"");
}

}  // namespace

CachedCounterArchive::CachedCounterArchive(ports::CounterArchive& inner, metrics::Registry& metrics,
                                           ArchiveCacheOptions options, SteadyClock clock)
    : inner_(inner),
      options_(options),
      clock_(std::move(clock)),
      reading_hits_(archive_cache_counter(metrics, "reading", "hit")),
      reading_misses_(archive_cache_counter(metrics, "reading", "miss")),
      reading_joins_(archive_cache_counter(metrics, "reading", "joined")),
      ledger_hits_(archive_cache_counter(metrics, "ledger", "hit")),
      ledger_misses_(archive_cache_counter(metrics, "ledger", "miss")) {}

const CachedCounterArchive::Held* CachedCounterArchive::fresh(const std::string& key, TimePoint now) const {
  auto it = readings_.find(key);
  if (it == readings_.end() || now - it->second.read_started >= options_.max_age) return nullptr;
  return &it->second;
}

void CachedCounterArchive::keep(std::string key, ports::ArchiveReading reading, TimePoint read_started) {
  auto [it, inserted] = readings_.try_emplace(key);
  // Reads of the same key can overlap: keep the one started last.
  if (!inserted && it->second.read_started > read_started) return;
  it->second = Held{std::move(reading), read_started};
  reading_order_.emplace_back(std::move(key), read_started);
  // All readings live equally long, so the oldest insertion expires first. An entry
  // replaced since its insertion is left alone (its newer insertion comes later).
  TimePoint now = clock_();
  while (!reading_order_.empty() &&
         (now - reading_order_.front().second >= options_.max_age || readings_.size() > options_.max_readings)) {
    auto& [old_key, started] = reading_order_.front();
    auto held = readings_.find(old_key);
    if (held != readings_.end() && held->second.read_started == started) readings_.erase(held);
    reading_order_.pop_front();
  }
}

void CachedCounterArchive::remember_applied(const std::string& snapshot, const std::string& flush_id, bool applied) {
  std::string key = snapshot + '\n' + flush_id;
  if (!ledger_.emplace(key, applied).second) return;
  if (applied) applied_by_snapshot_[snapshot].push_back(flush_id);
  ledger_order_.push_back(std::move(key));
  while (ledger_.size() > options_.max_ledger_answers) {
    const std::string& oldest = ledger_order_.front();
    auto held = ledger_.find(oldest);
    if (held != ledger_.end() && held->second) {
      auto split = oldest.find('\n');  // pg_snapshot text has no newline
      auto listed = applied_by_snapshot_.find(oldest.substr(0, split));
      if (listed != applied_by_snapshot_.end()) {
        std::erase(listed->second, oldest.substr(split + 1));
        if (listed->second.empty()) applied_by_snapshot_.erase(listed);
      }
    }
    if (held != ledger_.end()) ledger_.erase(held);
    ledger_order_.pop_front();
  }
}

std::vector<std::string> CachedCounterArchive::known_applied(const std::string& snapshot) const {
  auto listed = applied_by_snapshot_.find(snapshot);
  return listed == applied_by_snapshot_.end() ? std::vector<std::string>{} : listed->second;
}

asio::awaitable<ports::ArchiveReading> CachedCounterArchive::read_through(std::string key,
                                                                          asio::awaitable<ports::ArchiveReading> read) {
  if (const Held* held = fresh(key, clock_())) {
    reading_hits_.inc();
    ports::ArchiveReading reading = held->reading;
    reading.read_started = held->read_started;
    co_return reading;
  }
  if (auto under_way = flights_.find(key); under_way != flights_.end()) {
    reading_joins_.inc();
    std::shared_ptr<Flight> flight = under_way->second;
    co_await flight->done.async_wait(asio::as_tuple(asio::use_awaitable));  // ends by cancel()
    if (flight->failure) std::rethrow_exception(flight->failure);
    co_return *flight->reading;
  }
  reading_misses_.inc();
  auto flight = std::make_shared<Flight>(co_await asio::this_coro::executor);
  flight->done.expires_at(asio::steady_timer::time_point::max());
  flights_.emplace(key, flight);
  TimePoint started = clock_();
  try {
    ports::ArchiveReading reading = co_await std::move(read);
    // A batched read may have started after this request asked: its start is the later, tighter one.
    if (!reading.read_started) reading.read_started = started;
    flight->reading = reading;
  } catch (...) {
    flight->failure = std::current_exception();
  }
  flights_.erase(key);
  flight->done.cancel();
  if (flight->failure) std::rethrow_exception(flight->failure);
  keep(std::move(key), *flight->reading, *flight->reading->read_started);
  co_return *flight->reading;  // a copy: the waiters, resumed later, read it too
}

asio::awaitable<ports::ArchiveReading> CachedCounterArchive::totals(std::span<const ports::CounterKey> keys) {
  if (options_.max_age.count() <= 0) co_return co_await inner_.totals(keys);
  std::string key = "t";
  for (const auto& counter : keys) {
    key += '\x1e';
    append_key(key, counter);
  }
  co_return co_await read_through(std::move(key), inner_.totals(keys));
}

asio::awaitable<ports::ArchiveReading> CachedCounterArchive::buckets(const ports::CounterKey& counter,
                                                                     std::int64_t from_ms, std::int64_t to_ms,
                                                                     std::int64_t width_ms) {
  if (options_.max_age.count() <= 0) co_return co_await inner_.buckets(counter, from_ms, to_ms, width_ms);
  std::string key = "b";
  for (std::int64_t part : {from_ms, to_ms, width_ms}) {
    key += std::to_string(part);
    key += '/';
  }
  append_key(key, counter);
  co_return co_await read_through(std::move(key), inner_.buckets(counter, from_ms, to_ms, width_ms));
}

asio::awaitable<std::vector<std::string>> CachedCounterArchive::applied_in(const std::string& snapshot,
                                                                           std::span<const std::string> flush_ids) {
  if (options_.max_age.count() <= 0) co_return co_await inner_.applied_in(snapshot, flush_ids);
  std::vector<std::string> applied;
  std::vector<std::string> unknown;
  auto key_of = [&](const std::string& flush_id) { return snapshot + '\n' + flush_id; };
  for (const auto& flush_id : flush_ids) {
    auto it = ledger_.find(key_of(flush_id));
    if (it == ledger_.end()) {
      unknown.push_back(flush_id);
    } else if (it->second) {
      applied.push_back(flush_id);
    }
  }
  ledger_hits_.inc(flush_ids.size() - unknown.size());
  if (unknown.empty()) co_return applied;
  ledger_misses_.inc(unknown.size());
  std::vector<std::string> found = co_await inner_.applied_in(snapshot, unknown);
  for (auto& flush_id : unknown) {
    bool yes = std::find(found.begin(), found.end(), flush_id) != found.end();
    remember_applied(snapshot, flush_id, yes);
    if (yes) applied.push_back(std::move(flush_id));
  }
  co_return applied;
}

}  // namespace tracker::app
