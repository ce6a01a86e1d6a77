#include "postgres/event_reader.hpp"

#include <string>
#include <vector>

namespace tracker::postgres {

namespace {

constexpr std::string_view kColumns =
    "select id::text, event_type, user_id, session_id, component_id, element_id, post_id, keyword, metadata::text,"
    " (extract(epoch from client_time) * 1000)::bigint, (extract(epoch from server_time) * 1000000)::bigint"
    " from events";

// Microseconds since the epoch as a timestamptz, exactly (no floating point on the way).
std::string timestamp_at(const std::string& placeholder) {
  return "('epoch'::timestamptz + " + placeholder + "::bigint * interval '1 microsecond')";
}

// "$n" (built in steps: GCC 12 warns falsely about "$" + std::to_string(n)).
std::string placeholder_of(std::size_t n) {
  std::string out(1, '$');
  out += std::to_string(n);
  return out;
}

struct Listing {
  std::string name, sql;
  std::vector<std::optional<std::string>> params;
};

// The statement for the filters `query` uses: its name says which, so that each shape is
// prepared once per connection and its SQL never changes under a name.
Listing listing_for(const domain::EventQuery& query) {
  Listing out{"events.list.", std::string(kColumns), {}};
  std::string where;
  auto add = [&](char flag, const std::string& condition, std::string value) {
    out.name += flag;
    out.params.push_back(std::move(value));
    std::string placeholder = placeholder_of(out.params.size());
    std::string clause = condition;
    for (auto at = clause.find('?'); at != std::string::npos; at = clause.find('?', at + placeholder.size())) {
      clause.replace(at, 1, placeholder);
    }
    where += where.empty() ? " where " : " and ";
    where += clause;
  };
  if (query.type) add('t', "event_type = ?", std::string(domain::to_string(*query.type)));
  if (query.user_id) add('u', "user_id = ?::bigint", std::to_string(*query.user_id));
  if (query.session_id) add('s', "session_id = ?", *query.session_id);
  if (query.component_id) add('c', "component_id = ?::bigint", std::to_string(*query.component_id));
  if (query.post_id) add('p', "post_id = ?::bigint", std::to_string(*query.post_id));
  if (query.keyword) add('k', "keyword = ?", *query.keyword);
  if (query.from_ms) add('f', "server_time >= " + timestamp_at("?"), std::to_string(*query.from_ms * 1000));
  if (query.to_ms) add('e', "server_time < " + timestamp_at("?"), std::to_string(*query.to_ms * 1000));
  if (query.after) {
    // The plain bound on server_time lets the (x, server_time) indexes stop early; the
    // row comparison then breaks ties of equal times by id.
    add('a', "server_time <= " + timestamp_at("?"), std::to_string(query.after->server_time_us));
    std::string time = placeholder_of(out.params.size());
    out.params.push_back(query.after->id);
    std::string id = placeholder_of(out.params.size()) + "::uuid";
    where += " and (server_time, id) < (" + timestamp_at(time) + ", " + id + ")";
  }
  // One row more than the page shows whether another page follows.
  out.params.push_back(std::to_string(query.limit + 1));
  out.sql += where + " order by server_time desc, id desc limit " + placeholder_of(out.params.size()) + "::bigint";
  return out;
}

std::optional<std::int64_t> optional_int(const Result& result, int row, int column) {
  if (result.is_null(row, column)) return std::nullopt;
  return result.as_int64(row, column);
}

std::optional<std::string> optional_text(const Result& result, int row, int column) {
  if (result.is_null(row, column)) return std::nullopt;
  return std::string(result.text(row, column));
}

}  // namespace

asio::awaitable<domain::EventPage> EventReader::list(const domain::EventQuery& query) {
  Listing statement = listing_for(query);
  Lease db = co_await pool_.acquire(timeout_);
  Result result = co_await db->execute_prepared(statement.name, statement.sql, statement.params, timeout_);
  domain::EventPage page;
  int rows = std::min(result.rows(), static_cast<int>(query.limit));
  page.events.reserve(static_cast<std::size_t>(rows));
  for (int row = 0; row < rows; ++row) {
    domain::StoredEvent& event = page.events.emplace_back();
    event.id = std::string(result.text(row, 0));
    event.type = std::string(result.text(row, 1));
    event.user_id = optional_int(result, row, 2);
    event.session_id = std::string(result.text(row, 3));
    event.component_id = result.as_int64(row, 4);
    event.element_id = optional_text(result, row, 5);
    event.post_id = optional_int(result, row, 6);
    event.keyword = optional_text(result, row, 7);
    event.metadata_json = std::string(result.text(row, 8));
    event.client_time_ms = optional_int(result, row, 9);
    event.server_time_us = result.as_int64(row, 10);
  }
  if (result.rows() > rows && !page.events.empty()) {
    page.next = domain::EventCursor{page.events.back().server_time_us, page.events.back().id};
  }
  co_return page;
}

}  // namespace tracker::postgres
