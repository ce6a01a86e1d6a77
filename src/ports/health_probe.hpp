#pragma once
#include <boost/asio/awaitable.hpp>

#include <string_view>

namespace tracker::ports {

// Answers whether one backing store is reachable right now (bounded by its own timeout).
class HealthProbe {
 public:
  virtual ~HealthProbe() = default;
  virtual std::string_view name() const = 0;
  virtual boost::asio::awaitable<bool> ready() = 0;
};

}  // namespace tracker::ports
