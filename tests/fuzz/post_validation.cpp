// Post validation (POST /api/posts, POST /api/posts/like) and the rendering of posts
// in answers: any JSON body gives a FieldError or a post that keeps the contract's
// rules, and an accepted post renders as the JSON that post_json() describes.
#include "domain/post.hpp"
#include "fuzz_check.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value_from.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace {

namespace json = boost::json;
using namespace tracker::domain;
using tracker::fuzz::normal_form;

void check_error(const FieldError& error) {
  FUZZ_CHECK(!error.code.empty());
  FUZZ_CHECK(!error.message.empty());
  // Errors are shown in JSON answers; the body they came from was valid UTF-8.
  FUZZ_CHECK(tracker::fuzz::valid_utf8(error.message) && tracker::fuzz::valid_utf8(error.field));
}

void check_post(const NewPost& post) {
  FUZZ_CHECK(post.user_id >= 1);
  std::size_t length = utf8_length(post.content);
  FUZZ_CHECK(length >= 1 && length <= kMaxContentChars);
  FUZZ_CHECK(post.image_urls.size() <= kMaxImageUrls);
  FUZZ_CHECK(post.hashtags.size() <= kMaxHashtags);
  for (const std::string& tag : post.hashtags) {
    FUZZ_CHECK(normal_form(tag));
    FUZZ_CHECK(std::count(post.hashtags.begin(), post.hashtags.end(), tag) == 1);
  }

  Post stored{7, post.user_id, post.content, post.image_urls, post.hashtags, post.visibility, 3,
              tracker::fuzz::kNowMs, tracker::fuzz::kNowMs};
  RenderedPosts rendered = render_posts({stored, stored});
  FUZZ_CHECK(rendered.size() == 2 && rendered.well_framed());
  FUZZ_CHECK(json::parse(rendered.json) == json::value(json::array{post_json(stored), post_json(stored)}));
  rendered.truncate(1);
  FUZZ_CHECK(rendered.well_framed());
  FUZZ_CHECK(json::parse(rendered.json) == json::value(json::array{post_json(stored)}));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  boost::system::error_code ec;
  json::value body = json::parse(tracker::fuzz::as_text(data, size), ec);
  if (ec) return -1;

  auto post = validate_new_post(body);
  if (const auto* accepted = std::get_if<NewPost>(&post)) check_post(*accepted);
  else check_error(std::get<FieldError>(post));

  auto toggle = validate_like_toggle(body);
  if (const auto* accepted = std::get_if<LikeToggle>(&toggle)) {
    FUZZ_CHECK(accepted->user_id >= 1 && accepted->post_id >= 1);
  } else {
    check_error(std::get<FieldError>(toggle));
  }

  // Any JSON string, rendered by hand, reads back as itself.
  if (body.is_string()) {
    std::string out;
    append_json_string(out, body.get_string());
    FUZZ_CHECK(json::parse(out) == body);
  }
  return 0;
}
