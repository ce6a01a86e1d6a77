// The input rules of POST /api/posts, POST /api/posts/like and GET /api/search
// (domain/post.hpp), and the JSON of a post.
#include "domain/post.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <string>

namespace {

namespace json = boost::json;
using namespace tracker::domain;

json::value parse(std::string_view text) { return json::parse(text); }

NewPost accepted(std::string_view body) {
  auto result = validate_new_post(parse(body));
  if (auto* error = std::get_if<FieldError>(&result)) {
    ADD_FAILURE() << "rejected " << body << ": " << error->code << " on '" << error->field << "': " << error->message;
    return {};
  }
  return std::get<NewPost>(std::move(result));
}

FieldError rejected_value(const json::value& body) {
  auto result = validate_new_post(body);
  if (!std::holds_alternative<FieldError>(result)) {
    ADD_FAILURE() << "accepted " << json::serialize(body);
    return {};
  }
  return std::get<FieldError>(result);
}
FieldError rejected(std::string_view body) { return rejected_value(parse(body)); }
FieldError rejected(const json::object& body) { return rejected_value(body); }

json::object minimal() { return parse(R"({"userId": 7, "content": "hello"})").as_object(); }

TEST(NewPost, MinimalAndFull) {
  NewPost post = accepted(R"({"userId": 7, "content": "hello"})");
  EXPECT_EQ(post.user_id, 7);
  EXPECT_EQ(post.content, "hello");
  EXPECT_TRUE(post.image_urls.empty());
  EXPECT_TRUE(post.hashtags.empty());
  EXPECT_EQ(post.visibility, Visibility::Public);

  post = accepted(R"({"userId": 7, "content": "line one\nline two\ttab",
      "imageUrls": ["https://img.example.com/a.jpg", "http://cdn.example.org/b.png?size=2"],
      "hashtags": ["Food", "#travel", "  seoul  "], "visibility": "private"})");
  EXPECT_EQ(post.content, "line one\nline two\ttab");
  EXPECT_EQ(post.image_urls.size(), 2u);
  EXPECT_EQ(post.hashtags, (std::vector<std::string>{"food", "travel", "seoul"}));
  EXPECT_EQ(post.visibility, Visibility::Private);
}

TEST(NewPost, NullOptionalsAreAbsent) {
  NewPost post = accepted(R"({"userId": 7, "content": "x", "imageUrls": null, "hashtags": null, "visibility": null})");
  EXPECT_TRUE(post.image_urls.empty());
  EXPECT_TRUE(post.hashtags.empty());
}

TEST(NewPost, HashtagsAreNormalisedAndDistinct) {
  NewPost post = accepted(R"({"userId": 1, "content": "x", "hashtags": ["Java", "#java", "JAVA ", "kotlin"]})");
  EXPECT_EQ(post.hashtags, (std::vector<std::string>{"java", "kotlin"}));
}

TEST(NewPost, BodyMustBeAnObjectWithoutUnknownFields) {
  EXPECT_EQ(rejected("[]").code, "INVALID_BODY");
  EXPECT_EQ(rejected("\"text\"").code, "INVALID_BODY");
  FieldError error = rejected(R"({"userId": 7, "content": "x", "title": "no"})");
  EXPECT_EQ(error.code, "UNKNOWN_FIELD");
  EXPECT_EQ(error.field, "title");
}

// Found by tests/fuzz/post_validation: the name was cut inside a character.
TEST(NewPost, UnknownFieldNameIsCutBetweenCharacters) {
  json::object body = minimal();
  body[std::string(63, 'x') + "\u00e9"] = 1;
  FieldError error = rejected(body);
  EXPECT_EQ(error.code, "UNKNOWN_FIELD");
  EXPECT_EQ(error.field, std::string(63, 'x'));
}

TEST(NewPost, UserId) {
  EXPECT_EQ(rejected(R"({"content": "x"})").field, "userId");
  EXPECT_EQ(rejected(R"({"content": "x"})").code, "MISSING_FIELD");
  EXPECT_EQ(rejected(R"({"userId": null, "content": "x"})").code, "MISSING_FIELD");
  EXPECT_EQ(rejected(R"({"userId": "7", "content": "x"})").code, "INVALID_TYPE");
  EXPECT_EQ(rejected(R"({"userId": 7.5, "content": "x"})").code, "INVALID_VALUE");
  EXPECT_EQ(rejected(R"({"userId": 0, "content": "x"})").code, "INVALID_VALUE");
  EXPECT_EQ(rejected(R"({"userId": -3, "content": "x"})").code, "INVALID_VALUE");
  EXPECT_EQ(rejected(R"({"userId": 9223372036854775808, "content": "x"})").code, "INVALID_VALUE");
  EXPECT_EQ(accepted(R"({"userId": 9223372036854775807, "content": "x"})").user_id, 9223372036854775807);
}

TEST(NewPost, Content) {
  EXPECT_EQ(rejected(R"({"userId": 7})").field, "content");
  EXPECT_EQ(rejected(R"({"userId": 7, "content": 5})").code, "INVALID_TYPE");
  EXPECT_EQ(rejected(R"({"userId": 7, "content": ""})").code, "INVALID_VALUE");
  EXPECT_EQ(rejected(R"({"userId": 7, "content": " \n\t "})").code, "INVALID_VALUE");
  EXPECT_EQ(rejected(R"({"userId": 7, "content": "bell\u0007"})").field, "content");
  EXPECT_EQ(rejected(R"({"userId": 7, "content": "nul\u0000"})").field, "content");
  EXPECT_EQ(rejected(R"({"userId": 7, "content": "c1\u0085"})").field, "content");
  EXPECT_EQ(rejected(R"({"userId": 7, "content": "del\u007f"})").field, "content");

  json::object body = minimal();
  body["content"] = std::string(kMaxContentChars, 'a');
  EXPECT_EQ(accepted(json::serialize(body)).content.size(), kMaxContentChars);
  body["content"] = std::string(kMaxContentChars + 1, 'a');
  EXPECT_EQ(rejected(body).field, "content");
  // Characters, not bytes: 5000 Hangul syllables are 15000 bytes.
  std::string hangul;
  for (std::size_t i = 0; i < kMaxContentChars; ++i) hangul += "\xEA\xB0\x80";
  body["content"] = hangul;
  EXPECT_EQ(accepted(json::serialize(body)).content, hangul);
  body["content"] = hangul + "\xEA\xB0\x80";
  EXPECT_EQ(rejected(body).field, "content");
}

TEST(NewPost, ImageUrls) {
  EXPECT_EQ(rejected(R"({"userId": 7, "content": "x", "imageUrls": "https://a.example/x.jpg"})").code, "INVALID_TYPE");
  EXPECT_EQ(rejected(R"({"userId": 7, "content": "x", "imageUrls": [3]})").field, "imageUrls[0]");
  for (const char* url : {"", "ftp://a.example/x.jpg", "/relative/x.jpg", "https://", "javascript:alert(1)",
                          "https://a.example/x y.jpg", "https://a.example/\u0001", "mailto:a@example.com",
                          "https:///no-host.jpg"}) {
    json::object body = minimal();
    body["imageUrls"] = json::array{"https://ok.example/1.jpg", url};
    EXPECT_EQ(rejected(body).field, "imageUrls[1]") << url;
  }
  json::object body = minimal();
  json::array urls;
  for (std::size_t i = 0; i < kMaxImageUrls; ++i) urls.emplace_back("https://img.example.com/" + std::to_string(i));
  body["imageUrls"] = urls;
  EXPECT_EQ(accepted(json::serialize(body)).image_urls.size(), kMaxImageUrls);
  urls.emplace_back("https://img.example.com/one-too-many");
  body["imageUrls"] = urls;
  EXPECT_EQ(rejected(body).field, "imageUrls");
  body["imageUrls"] = json::array{"https://img.example.com/" + std::string(kMaxImageUrlChars, 'a')};
  EXPECT_EQ(rejected(body).field, "imageUrls[0]");
}

TEST(NewPost, Hashtags) {
  EXPECT_EQ(rejected(R"({"userId": 7, "content": "x", "hashtags": "food"})").code, "INVALID_TYPE");
  EXPECT_EQ(rejected(R"({"userId": 7, "content": "x", "hashtags": ["ok", null]})").field, "hashtags[1]");
  for (const char* tag : {"", "   ", "#", "two words", "tab\there", "ctl\u0002"}) {
    json::object body = minimal();
    body["hashtags"] = json::array{"fine", tag};
    EXPECT_EQ(rejected(body).field, "hashtags[1]") << tag;
  }
  json::object body = minimal();
  body["hashtags"] = json::array{std::string(kMaxHashtagChars, 'x')};
  EXPECT_EQ(accepted(json::serialize(body)).hashtags.front().size(), kMaxHashtagChars);
  body["hashtags"] = json::array{std::string(1, '#').append(kMaxHashtagChars, 'x')};  // '#' is not counted
  EXPECT_EQ(accepted(json::serialize(body)).hashtags.size(), 1u);
  body["hashtags"] = json::array{std::string(kMaxHashtagChars + 1, 'x')};
  EXPECT_EQ(rejected(body).field, "hashtags[0]");
  json::array tags;
  for (std::size_t i = 0; i <= kMaxHashtags; ++i) tags.emplace_back(std::string("t").append(std::to_string(i)));
  body["hashtags"] = tags;
  EXPECT_EQ(rejected(body).field, "hashtags");
}

TEST(NewPost, Visibility) {
  EXPECT_EQ(accepted(R"({"userId": 7, "content": "x", "visibility": "Public"})").visibility, Visibility::Public);
  EXPECT_EQ(rejected(R"({"userId": 7, "content": "x", "visibility": "friends"})").field, "visibility");
  EXPECT_EQ(rejected(R"({"userId": 7, "content": "x", "visibility": 1})").code, "INVALID_TYPE");
}

TEST(NormalizeHashtag, Rules) {
  auto ok = [](std::string_view text) {
    auto result = normalize_hashtag(text);
    return std::holds_alternative<std::string>(result) ? std::get<std::string>(result) : std::string("<rejected>");
  };
  EXPECT_EQ(ok("Java"), "java");
  EXPECT_EQ(ok("  #Seoul_Food "), "seoul_food");
  EXPECT_EQ(ok("##double"), "#double");  // only one '#' is dropped
  EXPECT_EQ(ok("C++"), "c++");
  EXPECT_EQ(ok("\xEC\x84\x9C\xEC\x9A\xB8"), "\xEC\x84\x9C\xEC\x9A\xB8");  // non-ASCII kept as is
  EXPECT_EQ(ok(""), "<rejected>");
  EXPECT_EQ(ok("#"), "<rejected>");
  EXPECT_EQ(ok("a b"), "<rejected>");
  EXPECT_EQ(ok(std::string(kMaxHashtagChars + 1, 'a')), "<rejected>");
}

TEST(LikeToggle, Rules) {
  auto ok = validate_like_toggle(parse(R"({"userId": 3, "postId": 9})"));
  ASSERT_TRUE(std::holds_alternative<LikeToggle>(ok));
  EXPECT_EQ(std::get<LikeToggle>(ok).user_id, 3);
  EXPECT_EQ(std::get<LikeToggle>(ok).post_id, 9);
  auto field_of = [](std::string_view body) {
    auto result = validate_like_toggle(parse(body));
    return std::holds_alternative<FieldError>(result) ? std::get<FieldError>(result).field : std::string("<accepted>");
  };
  EXPECT_EQ(field_of(R"({"postId": 9})"), "userId");
  EXPECT_EQ(field_of(R"({"userId": 3})"), "postId");
  EXPECT_EQ(field_of(R"({"userId": 3, "postId": "9"})"), "postId");
  EXPECT_EQ(field_of(R"({"userId": 3, "postId": 0})"), "postId");
  EXPECT_EQ(field_of(R"({"userId": 3, "postId": 9, "liked": true})"), "liked");
  EXPECT_EQ(field_of("[]"), "");
}

TEST(SearchQuery, Rules) {
  auto parsed = parse_search_query({{"keyword", " #Food "}, {"userId", "12"}});
  ASSERT_TRUE(std::holds_alternative<SearchQuery>(parsed));
  EXPECT_EQ(std::get<SearchQuery>(parsed).keyword, "food");
  EXPECT_EQ(std::get<SearchQuery>(parsed).user_id, 12);
  EXPECT_EQ(std::get<SearchQuery>(parsed).limit, kDefaultSearchLimit);

  parsed = parse_search_query({{"keyword", "food"}, {"limit", "50"}});
  ASSERT_TRUE(std::holds_alternative<SearchQuery>(parsed));
  EXPECT_FALSE(std::get<SearchQuery>(parsed).user_id);
  EXPECT_EQ(std::get<SearchQuery>(parsed).limit, 50u);

  auto field_of = [](QueryParams params) {
    auto result = parse_search_query(params);
    return std::holds_alternative<FieldError>(result) ? std::get<FieldError>(result).field : std::string("<accepted>");
  };
  EXPECT_EQ(field_of({}), "keyword");
  EXPECT_EQ(field_of({{"keyword", ""}}), "keyword");
  EXPECT_EQ(field_of({{"keyword", "two words"}}), "keyword");
  EXPECT_EQ(field_of({{"keyword", std::string(kMaxHashtagChars + 1, 'k')}}), "keyword");
  EXPECT_EQ(field_of({{"keyword", "k"}, {"userId", "0"}}), "userId");
  EXPECT_EQ(field_of({{"keyword", "k"}, {"userId", "abc"}}), "userId");
  EXPECT_EQ(field_of({{"keyword", "k"}, {"limit", "0"}}), "limit");
  EXPECT_EQ(field_of({{"keyword", "k"}, {"limit", "51"}}), "limit");
  EXPECT_EQ(field_of({{"keyword", "k"}, {"limit", "ten"}}), "limit");
  EXPECT_EQ(field_of({{"keyword", "k"}, {"page", "2"}}), "page");
}

TEST(ParseId, Rules) {
  EXPECT_EQ(parse_id("1"), 1);
  EXPECT_EQ(parse_id("9223372036854775807"), 9223372036854775807);
  EXPECT_FALSE(parse_id(""));
  EXPECT_FALSE(parse_id("0"));
  EXPECT_FALSE(parse_id("-1"));
  EXPECT_FALSE(parse_id("12a"));
  EXPECT_FALSE(parse_id("9223372036854775808"));
}

TEST(PostJson, Shape) {
  Post post{41, 7, "hi", {"https://a.example/1.jpg"}, {"food"}, Visibility::Private, 3, 1795610760123, 1795610761000};
  json::object brief = post_json(post);
  EXPECT_EQ(json::serialize(brief),
            R"({"id":41,"userId":7,"content":"hi","imageUrls":["https://a.example/1.jpg"],"hashtags":["food"],)"
            R"("likeCount":3,"createdAt":"2026-11-25T12:46:00.123Z"})");
  json::object detailed = post_json(post, true);
  EXPECT_EQ(detailed.at("visibility"), "PRIVATE");
  EXPECT_EQ(detailed.at("updatedAt"), "2026-11-25T12:46:01.000Z");
}

// Search answers are rendered straight to text: the same JSON as post_json gives, for
// texts that need every kind of escape too.
TEST(RenderedPosts, SameJsonAsPostJson) {
  std::string awkward = "quote \" backslash \\ slash / tab \t newline \n cr \r bell \x07 del \x7f ";
  awkward += std::string("nul \0 unit \x1f", 12);
  awkward += " h\xC3\xA9llo \xF0\x9F\x98\x80";
  std::vector<Post> posts{
      {41, 7, awkward, {"https://a.example/1.jpg", "https://b.example/\"x\".jpg"}, {"food", "\xEC\x84\x9C"},
       Visibility::Public, 3, 1795610760123, 0},
      {-5, 9223372036854775807, "", {}, {}, Visibility::Public, 0, -62135596800000, 0},
      {1, 2, "x", {}, {"a"}, Visibility::Public, 1, 253402300800000, 0}};  // year 10000
  RenderedPosts rendered = render_posts(posts);
  json::array expected;
  for (const Post& post : posts) expected.push_back(post_json(post));
  EXPECT_EQ(json::parse(rendered.json), json::value(expected)) << rendered.json;
  EXPECT_EQ(json::serialize(json::parse(rendered.json).as_array()[1]),
            json::serialize(post_json(posts[1])));  // the same field order
  ASSERT_EQ(rendered.size(), 3u);
  EXPECT_TRUE(rendered.well_framed());
  EXPECT_EQ(render_posts({}).json, "[]");
  EXPECT_TRUE(render_posts({}).well_framed());
}

TEST(RenderedPosts, TruncateKeepsAPrefix) {
  std::vector<Post> posts;
  for (int i = 1; i <= 4; ++i) posts.push_back({i, i, "post " + std::to_string(i), {}, {"t"}, Visibility::Public, i, 0, 0});
  for (std::size_t keep : {5u, 4u, 2u, 1u, 0u}) {
    RenderedPosts rendered = render_posts(posts);
    rendered.truncate(keep);
    std::size_t expected = std::min<std::size_t>(keep, 4);
    ASSERT_EQ(rendered.size(), expected);
    EXPECT_TRUE(rendered.well_framed()) << rendered.json;
    json::array ids;
    json::value parsed = json::parse(rendered.json);
    for (const auto& post : parsed.as_array()) ids.push_back(post.at("id"));
    json::array wanted;
    for (std::size_t i = 1; i <= expected; ++i) wanted.push_back(static_cast<std::int64_t>(i));
    EXPECT_EQ(ids, wanted);
  }
}

TEST(RenderedPosts, FramingCheck) {
  EXPECT_TRUE(RenderedPosts::well_framed("[]", {}));
  EXPECT_TRUE(RenderedPosts::well_framed(R"([{"a":1},{"b":2}])", {8, 16}));
  EXPECT_FALSE(RenderedPosts::well_framed(R"([{"a":1},{"b":2}])", {8}));      // one element short
  EXPECT_FALSE(RenderedPosts::well_framed(R"([{"a":1},{"b":2}])", {7, 16}));  // not at a '}'
  EXPECT_FALSE(RenderedPosts::well_framed(R"([{"a":1},{"b":2}])", {16, 8}));
  EXPECT_FALSE(RenderedPosts::well_framed(R"([{"a":1},{"b":2}])", {8, 17}));
  EXPECT_FALSE(RenderedPosts::well_framed("[1]", {2}));
  EXPECT_FALSE(RenderedPosts::well_framed("[]x", {}));
  EXPECT_FALSE(RenderedPosts::well_framed("[ ]", {}));
  EXPECT_FALSE(RenderedPosts::well_framed("", {}));
}

TEST(NewPost, BlankTextsSeeUnicodeWhiteSpace) {
  for (const char* blank : {"\u3000", "\u00a0", " \u2003\u200a"}) {
    json::object body = minimal();
    body["content"] = blank;
    EXPECT_EQ(rejected(body).field, "content") << blank;
    body = minimal();
    body["hashtags"] = json::array{blank};
    EXPECT_EQ(rejected(body).field, "hashtags[0]") << blank;
    body["hashtags"] = json::array{std::string("a") + blank + "b"};
    EXPECT_EQ(rejected(body).field, "hashtags[0]") << "white space inside";
  }
}

}  // namespace
