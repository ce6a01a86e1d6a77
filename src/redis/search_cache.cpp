#include "redis/search_cache.hpp"

#include "ports/errors.hpp"
#include "redis/keys.hpp"
#include "redis/lua_scripts.hpp"

#include <boost/json.hpp>

#include <cstdio>

namespace tracker::redis {

namespace json = boost::json;

namespace {

void check(const Reply& reply, std::string_view what) {
  if (reply.is_error()) throw ports::StoreRejected(std::string(what) + ": " + reply.text);
}

json::array string_array(const std::vector<std::string>& items) {
  json::array out;
  for (const auto& item : items) out.emplace_back(item);
  return out;
}

std::optional<std::vector<std::string>> strings_of(const json::value& value) {
  if (!value.is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& item : value.get_array()) {
    if (!item.is_string()) return std::nullopt;
    out.emplace_back(item.get_string());
  }
  return out;
}

std::optional<std::int64_t> integer_of(const json::value& value) {
  if (value.is_int64()) return value.get_int64();
  if (value.is_uint64()) return static_cast<std::int64_t>(value.get_uint64());
  return std::nullopt;
}

}  // namespace

// {"v":1,"fresh":<unix ms>,"took":<ms>,"posts":[[id, userId, content, imageUrls, hashtags,
//  visibility, likeCount, createdAtMs, updatedAtMs], ...]}
std::string encode_cached_search(const ports::CachedSearch& entry) {
  json::array posts;
  for (const auto& post : entry.posts) {
    posts.push_back(json::array{post.id, post.user_id, post.content, string_array(post.image_urls),
                                string_array(post.hashtags), domain::to_string(post.visibility), post.like_count,
                                post.created_at_ms, post.updated_at_ms});
  }
  return json::serialize(json::object{
      {"v", 1}, {"fresh", entry.fresh_until_ms}, {"took", entry.rebuild_ms}, {"posts", std::move(posts)}});
}

std::optional<ports::CachedSearch> decode_cached_search(std::string_view text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) return std::nullopt;
  const json::object& root = value.get_object();
  const json::value* version = root.if_contains("v");
  const json::value* fresh = root.if_contains("fresh");
  const json::value* took = root.if_contains("took");
  const json::value* posts = root.if_contains("posts");
  if (!version || integer_of(*version) != 1 || !fresh || !took || !posts || !posts->is_array()) return std::nullopt;
  ports::CachedSearch entry;
  auto fresh_ms = integer_of(*fresh);
  auto took_ms = integer_of(*took);
  if (!fresh_ms || !took_ms) return std::nullopt;
  entry.fresh_until_ms = *fresh_ms;
  entry.rebuild_ms = *took_ms;
  for (const auto& item : posts->get_array()) {
    if (!item.is_array() || item.get_array().size() != 9) return std::nullopt;
    const json::array& fields = item.get_array();
    domain::Post post;
    auto id = integer_of(fields[0]);
    auto user = integer_of(fields[1]);
    auto urls = strings_of(fields[3]);
    auto tags = strings_of(fields[4]);
    auto likes = integer_of(fields[6]);
    auto created = integer_of(fields[7]);
    auto updated = integer_of(fields[8]);
    if (!id || !user || !fields[2].is_string() || !urls || !tags || !fields[5].is_string() || !likes || !created ||
        !updated) {
      return std::nullopt;
    }
    post.id = *id;
    post.user_id = *user;
    post.content = std::string(fields[2].get_string());
    post.image_urls = std::move(*urls);
    post.hashtags = std::move(*tags);
    post.visibility = domain::parse_visibility(fields[5].get_string()).value_or(domain::Visibility::Public);
    post.like_count = *likes;
    post.created_at_ms = *created;
    post.updated_at_ms = *updated;
    entry.posts.push_back(std::move(post));
  }
  return entry;
}

SearchCache::SearchCache(std::shared_ptr<Connection> connection, milliseconds timeout)
    : connection_(std::move(connection)),
      timeout_(timeout),
      store_script_(lua::store_search),
      release_script_(lua::release_lock) {}

asio::awaitable<std::optional<ports::CachedSearch>> SearchCache::get(const std::string& keyword, std::size_t limit) {
  std::string key = keys::search_result(limit, keyword);
  const std::string_view command[] = {"GET", key};
  Reply reply = co_await connection_->execute(command, timeout_);
  check(reply, "reading a cached search");
  if (reply.is_nil()) co_return std::nullopt;
  co_return decode_cached_search(reply.text);
}

asio::awaitable<std::optional<std::string>> SearchCache::try_lock(const std::string& keyword, std::size_t limit,
                                                                  milliseconds hold) {
  char token[17];
  std::snprintf(token, sizeof token, "%016llx", static_cast<unsigned long long>(random_()));
  std::string key = keys::search_lock(limit, keyword);
  std::string hold_ms = std::to_string(std::max<std::int64_t>(hold.count(), 1));
  const std::string_view command[] = {"SET", key, token, "NX", "PX", hold_ms};
  Reply reply = co_await connection_->execute(command, timeout_);
  check(reply, "taking a search rebuild lock");
  if (reply.is_nil()) co_return std::nullopt;
  co_return std::string(token);
}

asio::awaitable<void> SearchCache::store(const std::string& keyword, std::size_t limit,
                                         const ports::CachedSearch& entry, milliseconds keep,
                                         const std::string& token) {
  std::string result_key = keys::search_result(limit, keyword);
  std::string lock_key = keys::search_lock(limit, keyword);
  std::string value = encode_cached_search(entry);
  std::string keep_ms = std::to_string(std::max<std::int64_t>(keep.count(), 1));
  const std::string_view script_keys[] = {result_key, lock_key};
  const std::string_view args[] = {value, keep_ms, token};
  Reply reply = co_await store_script_.run(*connection_, script_keys, args, timeout_);
  check(reply, "storing a search result");
}

asio::awaitable<void> SearchCache::unlock(const std::string& keyword, std::size_t limit, const std::string& token) {
  std::string lock_key = keys::search_lock(limit, keyword);
  const std::string_view script_keys[] = {lock_key};
  const std::string_view args[] = {token};
  Reply reply = co_await release_script_.run(*connection_, script_keys, args, timeout_);
  check(reply, "releasing a search rebuild lock");
}

asio::awaitable<std::vector<std::string>> SearchCache::recent_keywords(std::int64_t user_id) {
  std::string key = keys::recent_keywords(user_id);
  const std::string_view command[] = {"LRANGE", key, "0", "9"};
  Reply reply = co_await connection_->execute(command, timeout_);
  check(reply, "reading recent keywords");
  std::vector<std::string> keywords;
  for (const Reply& element : reply.elements) keywords.push_back(element.text);
  co_return keywords;
}

}  // namespace tracker::redis
