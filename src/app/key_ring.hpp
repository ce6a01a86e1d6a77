#pragma once
#include "app/periodic_task.hpp"
#include "domain/api_key.hpp"
#include "metrics/metrics.hpp"
#include "ports/key_store.hpp"

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace tracker::app {

struct KeyHashHasher {
  // The hash is SHA-256: any 8 of its bytes are as good as a hash of the whole.
  std::size_t operator()(const domain::KeyHash& hash) const {
    std::size_t value;
    std::memcpy(&value, hash.data(), sizeof value);
    return value;
  }
};

// The active keys by the SHA-256 of the key.
using KeySet = std::unordered_map<domain::KeyHash, domain::ApiKey, KeyHashHasher>;

struct KeyRingOptions {
  // A revoked key is refused at most this long (plus one load) after the revocation.
  std::chrono::milliseconds refresh_interval{2000};
};

// The process's copy of the active API keys, so that no request reads the database. One
// task (on a thread of its own) loads them again every refresh_interval and publishes the
// set when it changed; readers on the I/O threads keep their own reference to the latest
// set and look at one atomic generation number per request.
//
// When a load fails, the last set loaded stays in use (a database outage must not lock
// every client out); tracker_api_keys_refresh_failures_total counts the failures and
// tracker_api_keys_loaded_timestamp_seconds says when keys were last loaded (the alert
// EventTrackerApiKeysStale watches it). Before the first load there is no set at all:
// the auth gate then answers 503 KEYS_UNAVAILABLE.
class KeyRing {
 public:
  KeyRing(ports::KeyStore& store, KeyRingOptions options, metrics::Registry& metrics);

  // Loads every refresh_interval until stop() (called on the same executor).
  boost::asio::awaitable<void> run();
  void stop();
  // One load; throws what the store throws (the published set stays as it was).
  boost::asio::awaitable<void> refresh();

  // Waits (from another thread) until the first load has succeeded or failed, at most
  // `timeout`; true if keys are loaded. The server waits so before it serves requests, so
  // that a client does not meet 503 KEYS_UNAVAILABLE just because it came first.
  bool wait_first_attempt(std::chrono::milliseconds timeout) const;

  // The latest set; null until a load has succeeded. Safe from any thread.
  std::shared_ptr<const KeySet> current() const;

 private:
  void publish(std::shared_ptr<const KeySet> keys);
  void note_attempt();

  ports::KeyStore& store_;
  metrics::Gauge& loaded_at_;
  metrics::Gauge& active_;
  PeriodicTask task_;
  const std::uint64_t id_;  // tells the rings of one process apart in the readers' caches

  mutable std::mutex mutex_;
  std::shared_ptr<const KeySet> published_;
  std::atomic<std::uint64_t> generation_{0};
  mutable std::condition_variable attempted_;
  bool attempted_once_ = false;  // under mutex_
};

}  // namespace tracker::app
