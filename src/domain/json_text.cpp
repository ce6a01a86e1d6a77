#include "domain/json_text.hpp"

#include <boost/json/parse.hpp>

#include <cmath>
#include <cstdlib>
#include <string>

namespace tracker::domain::json_text {

namespace {

// numeric's dscale field holds at most 16383; an exponent that large is refused first.
constexpr long kMaxScale = 16383;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  bool at_end() const { return at_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[at_]; }
  void skip_space() {
    while (!at_end() && is_space(text_[at_])) ++at_;
  }
  bool take(char c) {
    skip_space();
    if (peek() != c) return false;
    ++at_;
    return true;
  }

  // A string, quotes included.
  std::string_view string() {
    const std::size_t start = at_;
    ++at_;  // the opening quote
    while (!at_end() && text_[at_] != '"') at_ += text_[at_] == '\\' ? 2 : 1;
    at_ = std::min(at_ + 1, text_.size());
    return text_.substr(start, at_ - start);
  }

  // One value, whatever it is, skipped without recursion.
  std::string_view value() {
    skip_space();
    const std::size_t start = at_;
    if (peek() == '"') {
      string();
    } else if (peek() == '{' || peek() == '[') {
      std::size_t depth = 0;
      while (!at_end()) {
        const char c = text_[at_];
        if (c == '"') {
          string();
          continue;
        }
        ++at_;
        if (c == '{' || c == '[') {
          ++depth;
        } else if ((c == '}' || c == ']') && --depth == 0) {
          break;
        }
      }
    } else {
      while (!at_end() && !is_space(peek()) && peek() != ',' && peek() != '}' && peek() != ']') ++at_;
    }
    return text_.substr(start, at_ - start);
  }

 private:
  std::string_view text_;
  std::size_t at_ = 0;
};

bool key_equals(std::string_view quoted, std::string_view key) {
  if (quoted.size() < 2) return false;
  std::string_view raw = quoted.substr(1, quoted.size() - 2);
  if (raw.find('\\') == std::string_view::npos) return raw == key;
  boost::system::error_code ec;
  boost::json::value decoded = boost::json::parse(quoted, ec);
  return !ec && decoded.is_string() && decoded.get_string() == key;
}

// A number as JSON writes it (-?int(.frac)?([eE][+-]?exp)?), checked against what jsonb
// keeps exactly and what a double holds.
bool storable(std::string_view number) {
  std::size_t at = 0;
  auto digits = [&] {
    const std::size_t start = at;
    while (at < number.size() && number[at] >= '0' && number[at] <= '9') ++at;
    return at - start;
  };
  if (at < number.size() && number[at] == '-') ++at;
  if (digits() == 0) return false;
  long fraction = 0;
  if (at < number.size() && number[at] == '.') {
    ++at;
    fraction = static_cast<long>(digits());
    if (fraction == 0) return false;
  }
  long exponent = 0;
  if (at < number.size() && (number[at] == 'e' || number[at] == 'E')) {
    ++at;
    bool negative = false;
    if (at < number.size() && (number[at] == '+' || number[at] == '-')) negative = number[at++] == '-';
    const std::size_t start = at;
    if (digits() == 0) return false;
    for (std::size_t i = start; i < at; ++i) {
      exponent = exponent * 10 + (number[i] - '0');
      if (exponent > kMaxScale) return false;
    }
    if (negative) exponent = -exponent;
  }
  if (at != number.size()) return false;
  if (fraction - exponent > kMaxScale) return false;
  return std::isfinite(std::strtod(std::string(number).c_str(), nullptr));
}

}  // namespace

std::optional<std::string_view> member(std::string_view object, std::string_view key) {
  Cursor cursor(object);
  if (!cursor.take('{')) return std::nullopt;
  std::optional<std::string_view> found;
  if (cursor.take('}')) return found;
  do {
    cursor.skip_space();
    if (cursor.peek() != '"') return std::nullopt;
    std::string_view name = cursor.string();
    if (!cursor.take(':')) return std::nullopt;
    std::string_view value = cursor.value();
    if (key_equals(name, key)) found = value;
  } while (cursor.take(','));
  return found;
}

std::vector<std::string_view> elements(std::string_view array) {
  Cursor cursor(array);
  std::vector<std::string_view> out;
  if (!cursor.take('[') || cursor.take(']')) return out;
  do {
    out.push_back(cursor.value());
  } while (cursor.take(','));
  return out;
}

std::optional<std::string_view> unstorable(std::string_view value) {
  std::size_t at = 0;
  while (at < value.size()) {
    const char c = value[at];
    if (c == '"') {
      const std::size_t start = at++;
      while (at < value.size() && value[at] != '"') {
        if (value[at] != '\\') {
          ++at;
          continue;
        }
        if (value.substr(at, 6) == "\\u0000") return value.substr(start, at + 6 - start);
        at += 2;
      }
      ++at;
      continue;
    }
    if (is_space(c) || c == '{' || c == '}' || c == '[' || c == ']' || c == ',' || c == ':') {
      ++at;
      continue;
    }
    const std::size_t start = at;
    while (at < value.size() && !is_space(value[at]) && value[at] != ',' && value[at] != '}' &&
           value[at] != ']' && value[at] != ':' && value[at] != '"') {
      ++at;
    }
    std::string_view word = value.substr(start, at - start);
    if (word == "true" || word == "false" || word == "null") continue;
    if (!storable(word)) return word;
  }
  return std::nullopt;
}

}  // namespace tracker::domain::json_text
