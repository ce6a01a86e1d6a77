#include "redis/search_cache.hpp"

#include "ports/errors.hpp"
#include "redis/keys.hpp"
#include "redis/lua_scripts.hpp"

#include <boost/json.hpp>

#include <charconv>
#include <cstdio>

namespace tracker::redis {

namespace json = boost::json;

namespace {

std::optional<std::int64_t> integer_of(const json::value& value) {
  if (value.is_int64()) return value.get_int64();
  if (value.is_uint64()) return static_cast<std::int64_t>(value.get_uint64());
  return std::nullopt;
}

void append_number(std::string& out, std::int64_t value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, end);
}

// Reads `literal` at `pos` and moves past it.
bool skip(std::string_view text, std::size_t& pos, std::string_view literal) {
  if (text.substr(pos, literal.size()) != literal) return false;
  pos += literal.size();
  return true;
}

template <class Number>
bool read_number(std::string_view text, std::size_t& pos, Number& out) {
  const char* first = text.data() + pos;
  auto [end, ec] = std::from_chars(first, text.data() + text.size(), out);
  if (ec != std::errc{}) return false;
  pos += static_cast<std::size_t>(end - first);
  return true;
}

constexpr std::string_view kHead = R"({"v":2,"fresh":)";

// The entry as encode_cached_search() writes it, read by its framing alone.
std::optional<ports::CachedSearch> decode_framed(std::string& text) {
  std::string_view view = text;
  std::size_t pos = 0;
  ports::CachedSearch entry;
  if (!skip(view, pos, kHead) || !read_number(view, pos, entry.fresh_until_ms) || !skip(view, pos, R"(,"took":)") ||
      !read_number(view, pos, entry.rebuild_ms) || !skip(view, pos, R"(,"ends":[)")) {
    return std::nullopt;
  }
  std::vector<std::size_t>& ends = entry.posts.ends;
  if (!skip(view, pos, "]")) {
    for (;;) {
      std::size_t end = 0;
      if (!read_number(view, pos, end)) return std::nullopt;
      ends.push_back(end);
      if (skip(view, pos, "]")) break;
      if (!skip(view, pos, ",")) return std::nullopt;
    }
  }
  if (!skip(view, pos, R"(,"posts":)") || view.size() < pos + 1 || view.back() != '}') return std::nullopt;
  if (!domain::RenderedPosts::well_framed(view.substr(pos, view.size() - pos - 1), ends)) return std::nullopt;
  text.pop_back();
  text.erase(0, pos);
  entry.posts.json = std::move(text);
  return entry;
}

// Any other JSON spelling of an entry: parsed in full, the posts written out again.
std::optional<ports::CachedSearch> decode_parsed(std::string_view text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) return std::nullopt;
  const json::object& root = value.get_object();
  const json::value* version = root.if_contains("v");
  const json::value* fresh = root.if_contains("fresh");
  const json::value* took = root.if_contains("took");
  const json::value* posts = root.if_contains("posts");
  if (!version || integer_of(*version) != 2 || !fresh || !took || !posts || !posts->is_array()) return std::nullopt;
  auto fresh_ms = integer_of(*fresh);
  auto took_ms = integer_of(*took);
  if (!fresh_ms || !took_ms) return std::nullopt;
  ports::CachedSearch entry;
  entry.fresh_until_ms = *fresh_ms;
  entry.rebuild_ms = *took_ms;
  std::string& out = entry.posts.json;
  out = "[";
  for (const json::value& post : posts->get_array()) {
    if (!post.is_object()) return std::nullopt;
    if (!entry.posts.ends.empty()) out.push_back(',');
    out += json::serialize(post);
    entry.posts.ends.push_back(out.size());
  }
  out.push_back(']');
  return entry;
}

}  // namespace

// {"v":2,"fresh":<unix ms>,"took":<ms>,"ends":[<end of post 1>, ...],"posts":[<post>, ...]}:
// the posts as answers show them (domain::render_posts), and where each one ends in that
// array. Entries this server wrote are read by that framing, without parsing the posts.
std::string encode_cached_search(const ports::CachedSearch& entry) {
  std::string out;
  out.reserve(entry.posts.json.size() + 64 + entry.posts.ends.size() * 6);
  out += kHead;
  append_number(out, entry.fresh_until_ms);
  out += R"(,"took":)";
  append_number(out, entry.rebuild_ms);
  out += R"(,"ends":[)";
  for (std::size_t i = 0; i < entry.posts.ends.size(); ++i) {
    if (i) out.push_back(',');
    append_number(out, static_cast<std::int64_t>(entry.posts.ends[i]));
  }
  out += R"(],"posts":)";
  out += entry.posts.json;
  out.push_back('}');
  return out;
}

std::optional<ports::CachedSearch> decode_cached_search(std::string text) {
  if (auto entry = decode_framed(text)) return entry;
  return decode_parsed(text);
}

SearchCache::SearchCache(std::shared_ptr<Commands> connection, milliseconds timeout, Shards shards)
    : connection_(std::move(connection)),
      timeout_(timeout),
      shards_(std::move(shards)),
      store_script_(lua::store_search),
      release_script_(lua::release_lock) {}

asio::awaitable<std::optional<ports::CachedSearch>> SearchCache::get(const std::string& keyword, std::size_t limit) {
  std::string key = keys::search_result(limit, keyword);
  const std::string_view command[] = {"GET", key};
  Reply reply = co_await connection_->execute(command, timeout_);
  if (reply.is_nil()) co_return std::nullopt;
  co_return decode_cached_search(std::move(reply.text));
}

asio::awaitable<std::optional<std::string>> SearchCache::try_lock(const std::string& keyword, std::size_t limit,
                                                                  milliseconds hold) {
  char token[17];
  std::snprintf(token, sizeof token, "%016llx", static_cast<unsigned long long>(random_()));
  std::string key = keys::search_lock(limit, keyword);
  std::string hold_ms = std::to_string(std::max<std::int64_t>(hold.count(), 1));
  const std::string_view command[] = {"SET", key, token, "NX", "PX", hold_ms};
  Reply reply = co_await connection_->execute(command, timeout_);
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
  co_await store_script_.run(*connection_, script_keys, args, timeout_);
}

asio::awaitable<void> SearchCache::unlock(const std::string& keyword, std::size_t limit, const std::string& token) {
  std::string lock_key = keys::search_lock(limit, keyword);
  const std::string_view script_keys[] = {lock_key};
  const std::string_view args[] = {token};
  co_await release_script_.run(*connection_, script_keys, args, timeout_);
}

asio::awaitable<std::vector<std::string>> SearchCache::recent_keywords(std::int64_t user_id) {
  std::string key = keys::recent_keywords(shards_.tag(shards_.of_user(user_id)), user_id);
  const std::string_view command[] = {"LRANGE", key, "0", "9"};
  Reply reply = co_await connection_->execute(command, timeout_);
  std::vector<std::string> keywords;
  for (const Reply& element : reply.elements) keywords.push_back(element.text);
  co_return keywords;
}

}  // namespace tracker::redis
