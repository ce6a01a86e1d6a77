#include "app/key_ring.hpp"

#include <spdlog/spdlog.h>

namespace tracker::app {

namespace {

std::atomic<std::uint64_t> next_ring_id{1};

bool same(const KeySet& a, const KeySet& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [hash, key] : a) {
    auto other = b.find(hash);
    if (other == b.end()) return false;
    const domain::ApiKey& o = other->second;
    if (o.name != key.name || o.scope != key.scope || o.allowed_origins != key.allowed_origins) return false;
  }
  return true;
}

}  // namespace

KeyRing::KeyRing(ports::KeyStore& store, KeyRingOptions options, metrics::Registry& metrics)
    : store_(store),
      loaded_at_(metrics.gauge("tracker_api_keys_loaded_timestamp_seconds",
                               "When the API keys were last loaded from PostgreSQL (Unix time; 0: never)")),
      active_(metrics.gauge("tracker_api_keys_active", "Active API keys in the server's copy")),
      task_("api keys: refresh", options.refresh_interval,
            metrics.counter("tracker_api_keys_refresh_failures_total",
                            "Loads of the API keys that failed (the last keys loaded stay in use)")),
      id_(next_ring_id.fetch_add(1)) {}

boost::asio::awaitable<void> KeyRing::run() {
  co_await task_.run([this]() -> boost::asio::awaitable<void> {
    std::exception_ptr failure;
    try {
      co_await refresh();
    } catch (...) {
      failure = std::current_exception();
    }
    note_attempt();
    if (failure) std::rethrow_exception(failure);
  });
}

void KeyRing::note_attempt() {
  {
    std::lock_guard lock(mutex_);
    if (attempted_once_) return;
    attempted_once_ = true;
  }
  attempted_.notify_all();
}

bool KeyRing::wait_first_attempt(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  attempted_.wait_for(lock, timeout, [this] { return attempted_once_; });
  return published_ != nullptr;
}

void KeyRing::stop() { task_.stop(); }

boost::asio::awaitable<void> KeyRing::refresh() {
  std::vector<domain::ApiKey> loaded = co_await store_.load_active();
  auto keys = std::make_shared<KeySet>();
  for (domain::ApiKey& key : loaded) {
    domain::KeyHash hash = key.hash;
    keys->emplace(hash, std::move(key));
  }
  std::shared_ptr<const KeySet> before;
  {
    std::lock_guard lock(mutex_);
    before = published_;
  }
  if (!before) spdlog::info("api keys: {} active keys loaded", keys->size());
  active_.set(static_cast<std::int64_t>(keys->size()));
  if (!before || !same(*before, *keys)) publish(std::move(keys));
  loaded_at_.set(std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch()).count());
}

void KeyRing::publish(std::shared_ptr<const KeySet> keys) {
  std::lock_guard lock(mutex_);
  published_ = std::move(keys);
  generation_.fetch_add(1, std::memory_order_release);
}

std::shared_ptr<const KeySet> KeyRing::current() const {
  // Each thread keeps the set it last took: the lock is taken only after a change.
  thread_local struct {
    std::uint64_t ring = 0;
    std::uint64_t generation = 0;
    std::shared_ptr<const KeySet> keys;
  } cache;
  std::uint64_t generation = generation_.load(std::memory_order_acquire);
  if (cache.ring != id_ || cache.generation != generation) {
    std::lock_guard lock(mutex_);
    cache.keys = published_;
    cache.generation = generation_.load(std::memory_order_relaxed);
    cache.ring = id_;
  }
  return cache.keys;
}

}  // namespace tracker::app
