#include "redis/statistics_reader.hpp"

#include "ports/errors.hpp"
#include "redis/counter_source.hpp"
#include "redis/keys.hpp"
#include "redis/lua_scripts.hpp"

namespace tracker::redis {

namespace {

std::vector<std::int64_t> numbers(const Reply& reply) {
  std::vector<std::int64_t> values;
  values.reserve(reply.elements.size());
  for (const Reply& element : reply.elements) values.push_back(element.as_int());
  return values;
}

std::string field_of(const ports::CounterKey& key) {
  return shape_field(key.event_type, key.component_id,
                     key.post_id ? std::optional<std::int64_t>(key.post_id) : std::nullopt,
                     key.keyword.empty() ? std::nullopt : std::optional<std::string>(key.keyword));
}

void check(const Reply& reply, std::string_view what) {
  if (reply.is_error()) throw ports::StoreRejected(std::string(what) + ": " + reply.text);
}

}  // namespace

StatisticsReader::StatisticsReader(std::shared_ptr<Connection> connection, milliseconds timeout)
    : connection_(std::move(connection)),
      timeout_(timeout),
      read_counts_(lua::read_counts) {}

asio::awaitable<ports::LiveReading> StatisticsReader::read(std::string_view kind,
                                                           std::vector<std::string> fields) {
  std::vector<std::string_view> args;
  args.reserve(fields.size() + 1);
  args.push_back(kind);
  args.insert(args.end(), fields.begin(), fields.end());
  Reply reply = co_await read_counts_.run(*connection_, {}, args, timeout_);
  check(reply, "reading counters");
  ports::LiveReading reading;
  if (reply.elements.empty()) throw ports::StoreRejected("reading counters: empty reply");
  reading.live = numbers(reply.elements[0]);
  for (std::size_t i = 1; i + 1 < reply.elements.size(); i += 2) {
    reading.snapshots.push_back({reply.elements[i].text, numbers(reply.elements[i + 1])});
  }
  co_return reading;
}

asio::awaitable<ports::LiveReading> StatisticsReader::totals(std::span<const ports::CounterKey> keys) {
  std::vector<std::string> fields;
  for (const auto& key : keys) fields.push_back(field_of(key));
  co_return co_await read("totals", std::move(fields));
}

asio::awaitable<ports::LiveReading> StatisticsReader::minutes(const ports::CounterKey& key,
                                                              std::span<const std::int64_t> minute_starts) {
  std::string prefix = field_of(key) + "|";
  std::vector<std::string> fields;
  fields.reserve(minute_starts.size());
  for (std::int64_t minute : minute_starts) fields.push_back(prefix + std::to_string(minute));
  co_return co_await read("minutes", std::move(fields));
}

asio::awaitable<std::int64_t> StatisticsReader::unique_users(const std::string& event_type,
                                                             const std::string& day) {
  std::string key = "et:uu:" + event_type + ":" + day;
  const std::string_view command[] = {"PFCOUNT", key};
  Reply reply = co_await connection_->execute(command, timeout_);
  check(reply, "PFCOUNT");
  co_return reply.as_int();
}

asio::awaitable<std::vector<std::int64_t>> StatisticsReader::events_in_minute(
    const std::vector<std::string>& event_types, std::int64_t minute_start) {
  std::vector<std::string> keys;
  for (const auto& type : event_types) keys.push_back("et:rt:" + type + ":" + std::to_string(minute_start));
  std::vector<std::string_view> command{"MGET"};
  command.insert(command.end(), keys.begin(), keys.end());
  Reply reply = co_await connection_->execute(command, timeout_);
  check(reply, "MGET");
  co_return numbers(reply);
}

asio::awaitable<std::int64_t> StatisticsReader::backlog() {
  const std::string_view command[] = {"GET", keys::kBacklog};
  Reply reply = co_await connection_->execute(command, timeout_);
  check(reply, "GET");
  co_return std::max<std::int64_t>(0, reply.as_int());
}

}  // namespace tracker::redis
