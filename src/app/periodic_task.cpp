#include "app/periodic_task.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace tracker::app {

namespace asio = boost::asio;

PeriodicTask::PeriodicTask(std::string name, std::chrono::milliseconds interval, metrics::Counter& failures)
    : name_(std::move(name)), interval_(interval), failures_(failures) {}

asio::awaitable<void> PeriodicTask::run(std::function<asio::awaitable<void>()> round) {
  timer_ = std::make_unique<asio::steady_timer>(co_await asio::this_coro::executor);
  while (!stopped_) {
    std::exception_ptr failure;
    try {
      co_await round();
    } catch (...) {
      failure = std::current_exception();
    }
    if (failure) {
      failures_.inc();
      ++failures_in_a_row_;
      auto now = std::chrono::steady_clock::now();
      if (failures_in_a_row_ == 1 || now - last_logged_ >= kFailureLogInterval) {
        std::string what = "unknown error";
        try {
          std::rethrow_exception(failure);
        } catch (const std::exception& error) {
          what = error.what();
        } catch (...) {
        }
        if (failures_not_logged_ == 0) {
          spdlog::warn("{} failed ({}); trying again every {} ms", name_, what, interval_.count());
        } else {
          spdlog::warn("{} failed ({}); {} more failures since the last line; trying again every {} ms", name_,
                       what, failures_not_logged_, interval_.count());
        }
        last_logged_ = now;
        failures_not_logged_ = 0;
      } else {
        ++failures_not_logged_;
      }
    } else if (failures_in_a_row_ > 0) {
      spdlog::info("{} works again after {} failed rounds", name_, failures_in_a_row_);
      failures_in_a_row_ = 0;
      failures_not_logged_ = 0;
    }
    if (stopped_) break;
    timer_->expires_after(interval_);
    boost::system::error_code ignored;
    co_await timer_->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
}

void PeriodicTask::stop() {
  stopped_ = true;
  if (timer_) timer_->cancel();
}

}  // namespace tracker::app
