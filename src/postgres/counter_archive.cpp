#include "postgres/counter_archive.hpp"

#include "postgres/statistics_sql.hpp"

#include <charconv>
#include <stdexcept>

namespace tracker::postgres {

namespace {
constexpr std::int64_t kMinuteMs = 60'000;
}  // namespace

std::string text_array(std::span<const std::string> items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

namespace {

std::vector<std::int64_t> parse_int_array(std::string_view text) {  // "{1,2,3}"
  std::vector<std::int64_t> values;
  if (text.size() < 2) return values;
  text = text.substr(1, text.size() - 2);
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    std::int64_t value = 0;
    std::from_chars(item.data(), item.data() + item.size(), value);
    values.push_back(value);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return values;
}

}  // namespace

CounterArchive::CounterArchive(Pool& pool, milliseconds timeout) : pool_(pool), timeout_(timeout) {}

asio::awaitable<ports::ArchiveReading> CounterArchive::totals(std::span<const ports::CounterKey> keys) {
  std::vector<std::string> types, components, posts, keywords;
  for (const auto& key : keys) {
    types.push_back(key.event_type);
    components.push_back(std::to_string(key.component_id));
    posts.push_back(std::to_string(key.post_id));
    keywords.push_back(key.keyword);
  }
  const std::optional<std::string> params[] = {text_array(types), text_array(components),
                                               text_array(posts), text_array(keywords)};
  Lease db = co_await pool_.acquire(timeout_);
  Result result = co_await db->execute_prepared("statistics_totals", statistics_sql::kTotals, params, timeout_);
  ports::ArchiveReading reading;
  reading.values = parse_int_array(result.text(0, 1));
  reading.snapshot = std::string(result.text(0, 0));
  co_return reading;
}

asio::awaitable<ports::ArchiveReading> CounterArchive::buckets(const ports::CounterKey& key, std::int64_t from_ms,
                                                               std::int64_t to_ms, std::int64_t width_ms) {
  // Callers ask for at least one bucket (app::StatisticsService checks); a width of 0
  // would divide by zero below.
  if (width_ms <= 0 || to_ms <= from_ms) throw std::invalid_argument("counter buckets: empty range or width");
  // Rows are query shapes (0 / '' = any), so the key is matched exactly.
  const std::optional<std::string> params[] = {key.event_type, std::to_string(from_ms), std::to_string(to_ms),
                                               std::to_string(width_ms), std::to_string(key.component_id),
                                               std::to_string(key.post_id), key.keyword};
  const bool per_minute = width_ms <= kMinuteMs;
  Lease db = co_await pool_.acquire(timeout_);
  Result result = co_await db->execute_prepared(per_minute ? "statistics_bucket_rows" : "statistics_buckets",
                                                per_minute ? statistics_sql::kBucketRows : statistics_sql::kBuckets,
                                                params, timeout_);
  ports::ArchiveReading reading;
  reading.snapshot = std::string(result.text(0, 0));
  reading.values.assign(static_cast<std::size_t>((to_ms - from_ms + width_ms - 1) / width_ms), 0);
  std::vector<std::int64_t> buckets = parse_int_array(result.text(0, 1));
  std::vector<std::int64_t> counts = parse_int_array(result.text(0, 2));
  for (std::size_t i = 0; i < buckets.size() && i < counts.size(); ++i) {
    if (buckets[i] >= 0 && static_cast<std::size_t>(buckets[i]) < reading.values.size()) {
      reading.values[static_cast<std::size_t>(buckets[i])] += counts[i];
    }
  }
  co_return reading;
}

asio::awaitable<std::vector<std::string>> CounterArchive::applied_in(const std::string& snapshot,
                                                                     std::span<const std::string> flush_ids) {
  std::vector<std::string> applied;
  if (flush_ids.empty()) co_return applied;
  const std::optional<std::string> params[] = {text_array(flush_ids), snapshot};
  Lease db = co_await pool_.acquire(timeout_);
  Result result = co_await db->execute_prepared("statistics_applied_in", statistics_sql::kAppliedIn, params, timeout_);
  for (int row = 0; row < result.rows(); ++row) applied.emplace_back(result.text(row, 0));
  co_return applied;
}

}  // namespace tracker::postgres
