#include "domain/event_id.hpp"

#include <array>
#include <random>

namespace tracker::domain {

namespace {
constexpr char kHex[] = "0123456789abcdef";

void put_hex(std::string& out, std::uint64_t value, int nibbles) {
  for (int i = nibbles - 1; i >= 0; --i) out.push_back(kHex[(value >> (i * 4)) & 0xF]);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

EventIdGenerator::EventIdGenerator() {
  std::random_device device;
  state_ = (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

// splitmix64: fast, and the ids only need to be unique, not secret.
std::uint64_t EventIdGenerator::random64() {
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::string EventIdGenerator::next(std::int64_t unix_ms) {
  if (unix_ms <= last_ms_) {
    // Same millisecond (or a clock step back): keep order by counting on from the last id.
    if (++sequence_ > 0x0FFF) {
      sequence_ = 0;
      ++last_ms_;
    }
    unix_ms = last_ms_;
  } else {
    last_ms_ = unix_ms;
    sequence_ = static_cast<std::uint16_t>(random64() & 0x01FF);  // leave room to count up
  }
  std::uint64_t random = random64();
  std::string out;
  out.reserve(36);
  auto ms = static_cast<std::uint64_t>(unix_ms) & 0xFFFFFFFFFFFFULL;
  put_hex(out, ms >> 16, 8);
  out.push_back('-');
  put_hex(out, ms & 0xFFFF, 4);
  out.push_back('-');
  put_hex(out, 0x7000 | sequence_, 4);
  out.push_back('-');
  put_hex(out, 0x8000 | ((random >> 48) & 0x3FFF), 4);
  out.push_back('-');
  put_hex(out, random & 0xFFFFFFFFFFFFULL, 12);
  return out;
}

bool is_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_position ? text[i] != '-' : hex_value(text[i]) < 0) return false;
  }
  return true;
}

std::int64_t uuid_v7_unix_ms(std::string_view text) {
  if (!is_uuid(text) || text[14] != '7') return -1;
  std::int64_t ms = 0;
  for (std::size_t i = 0; i < 13; ++i) {
    if (i == 8) continue;
    ms = ms * 16 + hex_value(text[i]);
  }
  return ms;
}

}  // namespace tracker::domain
