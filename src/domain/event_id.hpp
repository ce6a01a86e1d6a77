#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace tracker::domain {

// UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then a 12-bit sequence that keeps ids
// minted by one generator in the same millisecond ordered, then 62 random bits.
// One generator per thread; not thread-safe.
class EventIdGenerator {
 public:
  EventIdGenerator();
  std::string next(std::int64_t unix_ms);

 private:
  std::uint64_t random64();
  std::int64_t last_ms_ = -1;
  std::uint16_t sequence_ = 0;
  std::uint64_t state_;
};

bool is_uuid(std::string_view text);
// Milliseconds embedded in a UUIDv7, or -1 when the text is not one.
std::int64_t uuid_v7_unix_ms(std::string_view text);

}  // namespace tracker::domain
