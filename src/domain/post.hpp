#pragma once
#include "domain/event_validation.hpp"
#include "domain/statistics_query.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tracker::domain {

// Limits of POST /api/posts and GET /api/search. Lengths of texts count characters
// (Unicode code points), not bytes.
inline constexpr std::size_t kMaxContentChars = 5000;
inline constexpr std::size_t kMaxImageUrls = 10;
inline constexpr std::size_t kMaxImageUrlChars = 2048;
inline constexpr std::size_t kMaxHashtags = 10;
inline constexpr std::size_t kMaxHashtagChars = 50;
inline constexpr std::size_t kDefaultSearchLimit = 10;
inline constexpr std::size_t kMaxSearchLimit = 50;

// The component ids the original front end used for these events (API.md).
inline constexpr std::int64_t kSearchComponentId = 1001;
inline constexpr std::int64_t kLikeComponentId = 1003;

enum class Visibility { Public, Private };
std::string_view to_string(Visibility visibility);
std::optional<Visibility> parse_visibility(std::string_view text);  // case-insensitive

// A post as POST /api/posts creates it: validated, hashtags normalised and distinct.
struct NewPost {
  std::int64_t user_id = 0;
  std::string content;
  std::vector<std::string> image_urls;
  std::vector<std::string> hashtags;
  Visibility visibility = Visibility::Public;
};

struct Post {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  std::string content;
  std::vector<std::string> image_urls;
  std::vector<std::string> hashtags;
  Visibility visibility = Visibility::Public;
  std::int64_t like_count = 0;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};

struct LikeToggle {
  std::int64_t user_id = 0;
  std::int64_t post_id = 0;
};

// After a toggle: whether the user now likes the post, and its like count.
struct LikeState {
  bool liked = false;
  std::int64_t like_count = 0;
};

struct SearchQuery {
  std::optional<std::int64_t> user_id;  // anonymous searches have none
  std::string keyword;                  // normalised (normalize_hashtag)
  std::size_t limit = kDefaultSearchLimit;
};

// {userId, content, imageUrls?, hashtags?, visibility?}: userId an integer >= 1; content
// 1..5000 characters, not blank, no control characters but line breaks and tabs; at
// most 10 absolute http(s) image URLs; at most 10 hashtags (see normalize_hashtag);
// visibility PUBLIC (default) or PRIVATE. Unknown fields are rejected.
std::variant<NewPost, FieldError> validate_new_post(const boost::json::value& body);

// {userId, postId}, both integers >= 1.
std::variant<LikeToggle, FieldError> validate_like_toggle(const boost::json::value& body);

// GET /api/search: keyword (required), userId (optional), limit (1..50, default 10).
std::variant<SearchQuery, FieldError> parse_search_query(const QueryParams& params);

// The form hashtags are stored and searched in: the keyword rule (normalize_keyword:
// surrounding white space and one leading '#' removed, ASCII letters in lower case).
// Rejected when the result is empty, longer than 50 characters, or holds white space or
// control characters.
struct HashtagRejection {
  std::string reason;  // "must not be empty", ...
};
std::variant<std::string, HashtagRejection> normalize_hashtag(std::string_view text);

// A path segment holding an id: an integer >= 1 in int64 range.
std::optional<std::int64_t> parse_id(std::string_view text);

// Characters (code points) of a valid UTF-8 text.
std::size_t utf8_length(std::string_view text);

// The JSON of a post in answers: id, userId, content, imageUrls, hashtags, likeCount,
// createdAt; with `detailed` also visibility and updatedAt.
boost::json::object post_json(const Post& post, bool detailed = false);

// The posts of a search answer, already rendered: their JSON array (each element what
// post_json(post) gives) and where each element ends, so that the answer for its first
// n posts is a prefix of it. Search answers are cached and served in this form.
struct RenderedPosts {
  std::string json = "[]";
  std::vector<std::size_t> ends;  // ends[i]: just past the '}' of post i
  std::size_t size() const { return ends.size(); }
  bool empty() const { return ends.empty(); }
  // Keeps the first `count` posts.
  void truncate(std::size_t count);
  // Whether `json` and `ends` fit together: an array whose elements are objects ending at
  // `ends`. (A check of the framing, for texts read back from a store; no JSON parser.)
  bool well_framed() const { return well_framed(json, ends); }
  static bool well_framed(std::string_view json, const std::vector<std::size_t>& ends);
};
RenderedPosts render_posts(const std::vector<Post>& posts);
// Appends `text` as a JSON string literal (quoted, escaped; UTF-8 passes through).
void append_json_string(std::string& out, std::string_view text);

}  // namespace tracker::domain
