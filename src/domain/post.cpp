#include "domain/post.hpp"

#include "domain/text.hpp"
#include "domain/time_format.hpp"

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/scheme.hpp>

#include <algorithm>
#include <charconv>
#include <limits>

namespace tracker::domain {

namespace json = boost::json;

namespace {

FieldError missing(const std::string& field) { return {"MISSING_FIELD", field + " is required", field}; }
FieldError wrong_type(const std::string& field, std::string_view expected) {
  return {"INVALID_TYPE", field + " must be " + std::string(expected), field};
}
FieldError invalid(const std::string& field, std::string message) {
  return {"INVALID_VALUE", std::move(message), field};
}

const json::value* find_present(const json::object& object, std::string_view key) {
  auto it = object.find(key);
  if (it == object.end() || it->value().is_null()) return nullptr;
  return &it->value();
}

std::optional<FieldError> unknown_field(const json::object& object,
                                        std::initializer_list<std::string_view> known) {
  for (const auto& entry : object) {
    if (std::find(known.begin(), known.end(), entry.key()) == known.end()) {
      std::string name(utf8_prefix(entry.key(), 64));
      return FieldError{"UNKNOWN_FIELD", "unknown field '" + name + "'", name};
    }
  }
  return std::nullopt;
}

// A required JSON integer >= 1 (42 yes; 42.0, "42", 0 no).
std::variant<std::int64_t, FieldError> required_id(const json::object& object, std::string_view key) {
  std::string field(key);
  const json::value* value = find_present(object, key);
  if (!value) return missing(field);
  std::optional<std::int64_t> number;
  if (value->is_int64()) number = value->get_int64();
  else if (value->is_uint64() &&
           value->get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    number = static_cast<std::int64_t>(value->get_uint64());
  }
  if (!number) {
    if (value->is_number()) return invalid(field, field + " must be an integer in int64 range");
    return wrong_type(field, "an integer");
  }
  if (*number < 1) return invalid(field, field + " must be >= 1");
  return *number;
}

std::optional<std::string> image_url_problem(std::string_view url) {
  if (url.empty()) return "must not be empty";
  if (utf8_length(url) > kMaxImageUrlChars) {
    return "is longer than " + std::to_string(kMaxImageUrlChars) + " characters";
  }
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return "must be an absolute http or https URL";
  auto scheme = parsed->scheme_id();
  if (scheme != boost::urls::scheme::http && scheme != boost::urls::scheme::https) {
    return "must be an http or https URL";
  }
  if (!parsed->has_authority() || parsed->encoded_host().empty()) return "must name a host";
  return std::nullopt;
}

// An optional array of strings: absent and null are empty.
std::variant<const json::array*, FieldError> optional_string_array(const json::object& object, std::string_view key,
                                                                   std::size_t max_items) {
  std::string field(key);
  const json::value* value = find_present(object, key);
  if (!value) return static_cast<const json::array*>(nullptr);
  if (!value->is_array()) return wrong_type(field, "an array of strings");
  const json::array& items = value->get_array();
  if (items.size() > max_items) {
    return invalid(field, field + " holds at most " + std::to_string(max_items) + " items");
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!items[i].is_string()) {
      return wrong_type(field + "[" + std::to_string(i) + "]", "a string");
    }
  }
  return &items;
}

}  // namespace

std::string_view to_string(Visibility visibility) {
  return visibility == Visibility::Private ? "PRIVATE" : "PUBLIC";
}

std::optional<Visibility> parse_visibility(std::string_view text) {
  std::string upper(text);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper == "PUBLIC") return Visibility::Public;
  if (upper == "PRIVATE") return Visibility::Private;
  return std::nullopt;
}

std::size_t utf8_length(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::variant<std::string, HashtagRejection> normalize_hashtag(std::string_view text) {
  // The keyword rule, then what a hashtag may not hold. The byte limit is checked by
  // characters below.
  auto keyword = normalize_keyword(text, text.size());
  if (auto* rejection = std::get_if<KeywordRejection>(&keyword)) {
    return HashtagRejection{rejection->blank ? "must not be empty" : rejection->reason};
  }
  std::string& normalized = std::get<std::string>(keyword);
  if (has_white_space(normalized)) return HashtagRejection{"must not contain white space"};
  if (utf8_length(normalized) > kMaxHashtagChars) {
    return HashtagRejection{"is longer than " + std::to_string(kMaxHashtagChars) + " characters"};
  }
  return std::move(normalized);
}

std::optional<std::int64_t> parse_id(std::string_view text) {
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc{} || end != text.data() + text.size() || value < 1) return std::nullopt;
  return value;
}

std::variant<NewPost, FieldError> validate_new_post(const json::value& body) {
  if (!body.is_object()) return FieldError{"INVALID_BODY", "the post must be a JSON object", ""};
  const json::object& root = body.get_object();
  if (auto error = unknown_field(root, {"userId", "content", "imageUrls", "hashtags", "visibility"})) return *error;

  NewPost post;
  auto user = required_id(root, "userId");
  if (auto* error = std::get_if<FieldError>(&user)) return *error;
  post.user_id = std::get<std::int64_t>(user);

  const json::value* content = find_present(root, "content");
  if (!content) return missing("content");
  if (!content->is_string()) return wrong_type("content", "a string");
  std::string_view text = content->get_string();
  if (is_blank(text)) return invalid("content", "content must not be blank");
  if (utf8_length(text) > kMaxContentChars) {
    return invalid("content", "content is longer than " + std::to_string(kMaxContentChars) + " characters");
  }
  if (has_control_characters(text, "\n\r\t")) {
    return invalid("content", "content must not contain control characters other than line breaks and tabs");
  }
  post.content = std::string(text);

  auto urls = optional_string_array(root, "imageUrls", kMaxImageUrls);
  if (auto* error = std::get_if<FieldError>(&urls)) return *error;
  if (const json::array* items = std::get<const json::array*>(urls)) {
    for (std::size_t i = 0; i < items->size(); ++i) {
      std::string_view url = (*items)[i].get_string();
      if (has_control_characters(url) || has_white_space(url)) {
        return invalid("imageUrls[" + std::to_string(i) + "]",
                       "imageUrls[" + std::to_string(i) + "] must not contain white space or control characters");
      }
      if (auto problem = image_url_problem(url)) {
        return invalid("imageUrls[" + std::to_string(i) + "]", "imageUrls[" + std::to_string(i) + "] " + *problem);
      }
      post.image_urls.emplace_back(url);
    }
  }

  auto tags = optional_string_array(root, "hashtags", kMaxHashtags);
  if (auto* error = std::get_if<FieldError>(&tags)) return *error;
  if (const json::array* items = std::get<const json::array*>(tags)) {
    for (std::size_t i = 0; i < items->size(); ++i) {
      auto normalized = normalize_hashtag((*items)[i].get_string());
      std::string field = "hashtags[" + std::to_string(i) + "]";
      if (auto* rejection = std::get_if<HashtagRejection>(&normalized)) {
        return invalid(field, field + " " + rejection->reason);
      }
      std::string& tag = std::get<std::string>(normalized);
      if (std::find(post.hashtags.begin(), post.hashtags.end(), tag) == post.hashtags.end()) {
        post.hashtags.push_back(std::move(tag));
      }
    }
  }

  if (const json::value* visibility = find_present(root, "visibility")) {
    if (!visibility->is_string()) return wrong_type("visibility", "a string");
    auto parsed = parse_visibility(visibility->get_string());
    if (!parsed) return invalid("visibility", "visibility must be PUBLIC or PRIVATE");
    post.visibility = *parsed;
  }
  return post;
}

std::variant<LikeToggle, FieldError> validate_like_toggle(const json::value& body) {
  if (!body.is_object()) return FieldError{"INVALID_BODY", "the body must be a JSON object", ""};
  const json::object& root = body.get_object();
  if (auto error = unknown_field(root, {"userId", "postId"})) return *error;
  LikeToggle toggle;
  auto user = required_id(root, "userId");
  if (auto* error = std::get_if<FieldError>(&user)) return *error;
  toggle.user_id = std::get<std::int64_t>(user);
  auto post = required_id(root, "postId");
  if (auto* error = std::get_if<FieldError>(&post)) return *error;
  toggle.post_id = std::get<std::int64_t>(post);
  return toggle;
}

std::variant<SearchQuery, FieldError> parse_search_query(const QueryParams& params) {
  if (auto error = reject_unknown(params, {"userId", "keyword", "limit"})) return *error;
  SearchQuery query;
  auto keyword = params.find("keyword");
  if (keyword == params.end()) return missing("keyword");
  auto normalized = normalize_hashtag(keyword->second);
  if (auto* rejection = std::get_if<HashtagRejection>(&normalized)) {
    return invalid("keyword", "keyword " + rejection->reason);
  }
  query.keyword = std::move(std::get<std::string>(normalized));
  if (auto user = params.find("userId"); user != params.end()) {
    auto id = parse_id(user->second);
    if (!id) return invalid("userId", "userId must be an integer >= 1");
    query.user_id = *id;
  }
  auto limit = parse_limit(params, kDefaultSearchLimit, kMaxSearchLimit);
  if (auto* error = std::get_if<FieldError>(&limit)) return *error;
  query.limit = std::get<std::size_t>(limit);
  return query;
}

json::object post_json(const Post& post, bool detailed) {
  json::array urls, tags;
  for (const auto& url : post.image_urls) urls.emplace_back(url);
  for (const auto& tag : post.hashtags) tags.emplace_back(tag);
  json::object out{{"id", post.id},
                   {"userId", post.user_id},
                   {"content", post.content},
                   {"imageUrls", std::move(urls)},
                   {"hashtags", std::move(tags)},
                   {"likeCount", post.like_count},
                   {"createdAt", format_rfc3339_ms(post.created_at_ms)}};
  if (detailed) {
    out["visibility"] = to_string(post.visibility);
    out["updatedAt"] = format_rfc3339_ms(post.updated_at_ms);
  }
  return out;
}

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;  // start of the characters not yet copied
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
    out.push_back('\\');
    switch (c) {
      case '"': out.push_back('"'); break;
      case '\\': out.push_back('\\'); break;
      case '\b': out.push_back('b'); break;
      case '\f': out.push_back('f'); break;
      case '\n': out.push_back('n'); break;
      case '\r': out.push_back('r'); break;
      case '\t': out.push_back('t'); break;
      default:
        out += "u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xF]);
    }
  }
  out.append(text.data() + run, text.size() - run);
  out.push_back('"');
}

namespace {
void append_string_array(std::string& out, const std::vector<std::string>& items) {
  out.push_back('[');
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back(',');
    append_json_string(out, items[i]);
  }
  out.push_back(']');
}

void append_int(std::string& out, std::int64_t value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, end);
}
}  // namespace

RenderedPosts render_posts(const std::vector<Post>& posts) {
  RenderedPosts rendered;
  std::string& out = rendered.json;
  out.clear();
  out.reserve(64 + posts.size() * 256);
  out.push_back('[');
  rendered.ends.reserve(posts.size());
  for (const Post& post : posts) {
    if (!rendered.ends.empty()) out.push_back(',');
    // The fields and order of post_json(post).
    out += "{\"id\":";
    append_int(out, post.id);
    out += ",\"userId\":";
    append_int(out, post.user_id);
    out += ",\"content\":";
    append_json_string(out, post.content);
    out += ",\"imageUrls\":";
    append_string_array(out, post.image_urls);
    out += ",\"hashtags\":";
    append_string_array(out, post.hashtags);
    out += ",\"likeCount\":";
    append_int(out, post.like_count);
    out += ",\"createdAt\":\"";
    append_rfc3339_ms(out, post.created_at_ms);
    out += "\"}";
    rendered.ends.push_back(out.size());
  }
  out.push_back(']');
  return rendered;
}

void RenderedPosts::truncate(std::size_t count) {
  if (count >= ends.size()) return;
  ends.resize(count);
  json.resize(count == 0 ? 1 : ends.back());
  json.push_back(']');
}

bool RenderedPosts::well_framed(std::string_view json, const std::vector<std::size_t>& ends) {
  if (json.size() < 2 || json.front() != '[' || json.back() != ']') return false;
  std::size_t start = 1;
  for (std::size_t i = 0; i < ends.size(); ++i) {
    std::size_t end = ends[i];
    // Each element is an object, followed by ',' (or by the closing ']' for the last).
    if (end <= start + 1 || end > json.size() - 1 || json[start] != '{' || json[end - 1] != '}') return false;
    if (json[end] != (i + 1 == ends.size() ? ']' : ',')) return false;
    start = end + 1;
  }
  return ends.empty() ? json.size() == 2 : ends.back() == json.size() - 1;
}

}  // namespace tracker::domain
