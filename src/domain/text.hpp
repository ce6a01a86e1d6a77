#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

// Rules for client texts shared by bodies, query parameters and keywords. Texts are UTF-8.
namespace tracker::domain {

// Whether the text is only Unicode white space (U+0020, tabs and line breaks, U+00A0,
// U+3000, the U+2000 spaces and the rest of the White_Space property), or empty.
bool is_blank(std::string_view text);
// Whether the text holds a Unicode white-space character anywhere.
bool has_white_space(std::string_view text);
// The text without Unicode white space at either end.
std::string_view trim(std::string_view text);

bool is_valid_utf8(std::string_view text);
// The longest prefix of at most `max_bytes` that does not cut a character in two (to
// quote a client's text in an error message).
std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes);
// C0 controls, DEL and the C1 controls U+0080..U+009F. `allowed` lists C0 characters let
// through (line breaks and tabs in a post's content).
bool has_control_characters(std::string_view text, std::string_view allowed = {});

// The one form keywords take wherever they arrive (SEARCH events, the statistics
// filter, hashtag search, hashtags): white space at either end removed, then one leading
// '#' and the white space after it, ASCII letters in lower case. Rejected when the result
// is empty (blank), holds control characters, or is longer than `max_bytes`. Since the
// result is never empty, no keyword can be mistaken for "any keyword" (query_shape.hpp).
struct KeywordRejection {
  std::string reason;  // "must not be blank", ...
  bool blank = false;  // nothing was left
};
std::variant<std::string, KeywordRejection> normalize_keyword(std::string_view text, std::size_t max_bytes);

}  // namespace tracker::domain
