#pragma once
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace tracker::ports {

struct Ranked {
  std::string member;
  std::int64_t score = 0;
};

// Approximate, Redis-only views that expire with their keys: hourly rankings, unique
// users per day (HyperLogLog), the events of one minute, and the unpersisted backlog.
class Trends {
 public:
  virtual ~Trends() = default;
  // Most frequent posts for an event type (LIKE, PAGE_VIEW, CLICK) over whole UTC hours.
  virtual boost::asio::awaitable<std::vector<Ranked>> top_posts(const std::string& event_type,
                                                                std::vector<std::int64_t> hour_starts,
                                                                std::size_t limit) = 0;
  virtual boost::asio::awaitable<std::vector<Ranked>> top_keywords(std::vector<std::int64_t> hour_starts,
                                                                   std::size_t limit) = 0;
  virtual boost::asio::awaitable<std::int64_t> unique_users(const std::string& event_type,
                                                            const std::string& day) = 0;
  virtual boost::asio::awaitable<std::vector<std::int64_t>> events_in_minute(
      const std::vector<std::string>& event_types, std::int64_t minute_start) = 0;
  virtual boost::asio::awaitable<std::int64_t> backlog() = 0;
};

}  // namespace tracker::ports
