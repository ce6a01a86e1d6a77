#pragma once
#include "ports/health_probe.hpp"
#include "postgres/pool.hpp"

namespace tracker::postgres {

class HealthProbe final : public ports::HealthProbe {
 public:
  explicit HealthProbe(Pool& pool) : pool_(pool) {}
  std::string_view name() const override { return "postgres"; }
  asio::awaitable<bool> ready() override {
    try {
      Lease db = co_await pool_.acquire(milliseconds{1000});
      Result result = co_await db->execute("select 1", {}, milliseconds{1000});
      co_return result.rows() == 1;
    } catch (const std::exception&) {
      co_return false;
    }
  }

 private:
  Pool& pool_;
};

}  // namespace tracker::postgres
