#pragma once
#include "domain/api_key.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace tracker::ports {

// A key as `keys list` shows it.
struct KeyListing {
  std::string name;
  domain::KeyScope scope = domain::KeyScope::write;
  std::string prefix;
  std::vector<std::string> allowed_origins;
  std::string created_at;                 // ISO 8601, UTC
  std::optional<std::string> revoked_at;  // ISO 8601, UTC; none while active
};

// Refusals of key management that the caller can put right.
class KeyRefused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where API keys live (their hashes; never a key itself). Errors are ports::StoreError
// (errors.hpp) and KeyRefused.
class KeyStore {
 public:
  virtual ~KeyStore() = default;
  // Every key that is not revoked.
  virtual boost::asio::awaitable<std::vector<domain::ApiKey>> load_active() = 0;
  // KeyRefused when the name is taken (by an active or a revoked key).
  virtual boost::asio::awaitable<void> create(const domain::ApiKey& key) = 0;
  virtual boost::asio::awaitable<std::vector<KeyListing>> list() = 0;
  // Revokes the active key whose name or display prefix is `name_or_prefix` and returns
  // its listing; KeyRefused when none or more than one active key answers to it.
  virtual boost::asio::awaitable<KeyListing> revoke(const std::string& name_or_prefix) = 0;
};

}  // namespace tracker::ports
