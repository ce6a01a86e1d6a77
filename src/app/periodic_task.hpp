#pragma once
#include "metrics/metrics.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace tracker::app {

// Runs a round every interval until stop() (called on the same executor). A round that
// fails is counted in `failures`, logged, and tried again at the next interval.
class PeriodicTask {
 public:
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
};

}  // namespace tracker::app
