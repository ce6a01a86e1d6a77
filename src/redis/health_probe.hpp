#pragma once
#include "ports/health_probe.hpp"
#include "redis/commands.hpp"

namespace tracker::redis {

class HealthProbe final : public ports::HealthProbe {
 public:
  explicit HealthProbe(std::shared_ptr<Commands> connection) : connection_(std::move(connection)) {}
  std::string_view name() const override { return "redis"; }
  asio::awaitable<bool> ready() override {
    if (!connection_->connected()) co_return false;
    try {
      const std::string_view ping[] = {"PING"};
      Reply reply = co_await connection_->execute(ping, milliseconds{500});
      co_return reply.is_string() && reply.text == "PONG";
    } catch (const std::exception&) {
      co_return false;
    }
  }

 private:
  std::shared_ptr<Commands> connection_;
};

}  // namespace tracker::redis
