#include "domain/time_format.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace tracker::domain {

namespace {
bool read_digits(std::string_view text, std::size_t pos, std::size_t count, int& out) {
  if (pos + count > text.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}
}  // namespace

std::optional<std::int64_t> parse_rfc3339_ms(std::string_view text) {
  using namespace std::chrono;
  int year, month, day, hour, minute, second;
  if (!read_digits(text, 0, 4, year) || text.size() < 20 || text[4] != '-' ||
      !read_digits(text, 5, 2, month) || text[7] != '-' || !read_digits(text, 8, 2, day) ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') ||
      !read_digits(text, 11, 2, hour) || text[13] != ':' || !read_digits(text, 14, 2, minute) ||
      text[16] != ':' || !read_digits(text, 17, 2, second)) {
    return std::nullopt;
  }
  if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
  year_month_day date{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                      std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) return std::nullopt;

  std::size_t pos = 19;
  std::int64_t millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    std::size_t digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 3) millis = millis * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (std::size_t i = digits; i < 3; ++i) millis *= 10;
  }
  std::int64_t offset_minutes = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int oh, om;
    if (!read_digits(text, pos + 1, 2, oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !read_digits(text, pos + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_minutes = (oh * 60 + om) * (text[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;

  std::int64_t days = sys_days{date}.time_since_epoch().count();
  std::int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + std::min(second, 59);
  return (seconds - offset_minutes * 60) * 1000 + millis;
}

namespace {
void put_digits(char* at, int value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    at[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

constexpr auto kTwoDigits = [] {
  std::array<char, 200> pairs{};
  for (int i = 0; i < 100; ++i) {
    pairs[2 * i] = static_cast<char>('0' + i / 10);
    pairs[2 * i + 1] = static_cast<char>('0' + i % 10);
  }
  return pairs;
}();

void put_two_digits(char* at, int value) { std::memcpy(at, &kTwoDigits[2 * value], 2); }
}  // namespace

// Digits written by hand, and the date part kept while the day stays the same: snprintf()
// and the calendar arithmetic were most of the cost of a 1,441-point series.
char* TimestampWriter::write(char* at, std::int64_t unix_ms) {
  using namespace std::chrono;
  std::int64_t day_start = bucket_start(unix_ms, kDayMs);
  if (day_start != day_start_ || year_ < 0) {
    year_month_day date{sys_days{days{day_start / kDayMs}}};
    day_start_ = day_start;
    year_ = static_cast<int>(date.year());
    month_ = static_cast<unsigned>(date.month());
    day_ = static_cast<unsigned>(date.day());
    if (year_ >= 0 && year_ <= 9999) {
      put_digits(date_, year_, 4);
      date_[4] = '-';
      put_two_digits(date_ + 5, static_cast<int>(month_));
      date_[7] = '-';
      put_two_digits(date_ + 8, static_cast<int>(day_));
      date_[10] = 'T';
    }
  }
  auto in_day = static_cast<int>(unix_ms - day_start);
  int hour = in_day / static_cast<int>(kHourMs), minute = in_day % static_cast<int>(kHourMs) / static_cast<int>(kMinuteMs);
  int second = in_day % static_cast<int>(kMinuteMs) / 1000, millis = in_day % 1000;
  if (year_ < 0 || year_ > 9999) {
    char buffer[kMaxLength + 8];
    int n = std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", year_, month_, day_, hour,
                          minute, second, millis);
    std::size_t length = std::min(static_cast<std::size_t>(n), kMaxLength);
    std::memcpy(at, buffer, length);
    return at + length;
  }
  std::memcpy(at, date_, sizeof date_);
  at += sizeof date_;
  put_two_digits(at, hour);
  at[2] = ':';
  put_two_digits(at + 3, minute);
  at[5] = ':';
  put_two_digits(at + 6, second);
  at[8] = '.';
  put_two_digits(at + 9, millis / 10);
  at[11] = static_cast<char>('0' + millis % 10);
  at[12] = 'Z';
  return at + 13;
}

void TimestampWriter::append(std::string& out, std::int64_t unix_ms) {
  char text[kMaxLength];
  out.append(text, write(text, unix_ms));
}

void append_rfc3339_ms(std::string& out, std::int64_t unix_ms) { TimestampWriter().append(out, unix_ms); }

std::string format_rfc3339_ms(std::int64_t unix_ms) {
  std::string out;
  out.reserve(24);
  append_rfc3339_ms(out, unix_ms);
  return out;
}

}  // namespace tracker::domain
