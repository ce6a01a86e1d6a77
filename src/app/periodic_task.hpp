#pragma once
#include "metrics/metrics.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace tracker::app {

// Runs a round every interval until stop() (called on the same executor). A round that
// fails is counted in `failures` and tried again at the next interval. The log gets the
// first failure of a run of them, then at most one line per kFailureLogInterval while
// they go on (a store that is down for an hour must not fill the log with a line every
// round), and a line when a round succeeds again.
class PeriodicTask {
 public:
  static constexpr std::chrono::seconds kFailureLogInterval{30};

  PeriodicTask(std::string name, std::chrono::milliseconds interval, metrics::Counter& failures);

  boost::asio::awaitable<void> run(std::function<boost::asio::awaitable<void>()> round);
  void stop();
  bool stopped() const { return stopped_; }

 private:
  std::string name_;  // what the log calls a round, e.g. "rankings: refresh"
  std::chrono::milliseconds interval_;
  metrics::Counter& failures_;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  bool stopped_ = false;
  std::uint64_t failures_in_a_row_ = 0;
  std::uint64_t failures_not_logged_ = 0;
  std::chrono::steady_clock::time_point last_logged_{};
};

}  // namespace tracker::app
