#pragma once
#include "ports/key_store.hpp"
#include "postgres/pool.hpp"

namespace tracker::postgres {

// API keys in the api_keys table (sql/011_api_keys.sql). Owned by one thread, like its pool.
class KeyStore final : public ports::KeyStore {
 public:
  KeyStore(Pool& pool, milliseconds timeout) : pool_(pool), timeout_(timeout) {}
  asio::awaitable<std::vector<domain::ApiKey>> load_active() override;
  asio::awaitable<void> create(const domain::ApiKey& key) override;
  asio::awaitable<std::vector<ports::KeyListing>> list() override;
  asio::awaitable<ports::KeyListing> revoke(const std::string& name_or_prefix) override;

 private:
  Pool& pool_;
  milliseconds timeout_;
};

}  // namespace tracker::postgres
