#include "redis/cluster.hpp"

#include "ports/errors.hpp"
#include "redis/errors.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

namespace tracker::redis {

namespace {

constexpr auto kPoll = std::chrono::milliseconds(5);
// Until the map has been read once, ask again soon rather than after refresh_interval.
constexpr auto kFirstReadRetry = std::chrono::milliseconds(200);
constexpr auto kTryAgainPause = std::chrono::milliseconds(10);

milliseconds left(std::chrono::steady_clock::time_point deadline) {
  return std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
}

asio::awaitable<void> pause(const asio::any_io_executor& executor, milliseconds duration) {
  asio::steady_timer timer(executor, duration);
  co_await timer.async_wait(asio::use_awaitable);
}

}  // namespace

std::shared_ptr<ClusterClient> ClusterClient::create(asio::any_io_executor executor, ClusterOptions options,
                                                     metrics::Registry& metrics) {
  if (options.seeds.empty()) throw std::invalid_argument("a Redis Cluster client needs at least one seed node");
  for (const auto& seed : options.seeds) {
    if (!cluster::parse_endpoint(seed)) throw std::invalid_argument("not host:port: '" + seed + "'");
  }
  return std::shared_ptr<ClusterClient>(new ClusterClient(std::move(executor), std::move(options), metrics));
}

ClusterClient::ClusterClient(asio::any_io_executor executor, ClusterOptions options, metrics::Registry& metrics)
    : executor_(executor),
      options_(std::move(options)),
      metrics_(metrics),
      map_(options_.seeds.front()),
      refresh_timer_(executor),
      moved_(metrics.counter("tracker_redis_cluster_redirects_total", "Redis Cluster redirects followed",
                             "kind=\"moved\"")),
      asked_(metrics.counter("tracker_redis_cluster_redirects_total", "Redis Cluster redirects followed",
                             "kind=\"ask\"")),
      tries_again_(metrics.counter("tracker_redis_cluster_try_again_total",
                                   "Redis Cluster commands sent again after TRYAGAIN (keys mid-migration)")),
      refreshes_(metrics.counter("tracker_redis_cluster_slot_map_reads_total",
                                 "Redis Cluster slot maps read (CLUSTER SLOTS)")),
      refresh_failures_(metrics.counter("tracker_redis_cluster_slot_map_failures_total",
                                        "Redis Cluster slot map reads that no node answered")) {}

void ClusterClient::start() {
  for (const auto& seed : options_.seeds) node(seed);
  asio::co_spawn(executor_, keep_map_fresh(), asio::detached);
}

void ClusterClient::stop() {
  asio::post(executor_, [self = shared_from_this()] {
    self->stopped_ = true;
    self->refresh_timer_.cancel();
    for (auto& [endpoint, node] : self->nodes_) node.connection->stop();
  });
}

bool ClusterClient::connected() const {
  if (!map_read_ || stopped_) return false;
  for (const auto& master : map_.masters()) {
    auto it = nodes_.find(master);
    if (it == nodes_.end() || !it->second.connection->connected()) return false;
  }
  return true;
}

asio::awaitable<void> ClusterClient::wait_connected(milliseconds limit) {
  auto deadline = Clock::now() + limit;
  while (!connected() && Clock::now() < deadline) {
    // A master first seen in the map gets its connection when a command needs it; make
    // it now so that a start-up waits for every master.
    for (const auto& master : map_.masters()) node(master);
    co_await pause(executor_, std::chrono::milliseconds(10));
  }
}

ClusterClient::Node& ClusterClient::node(const std::string& endpoint) {
  auto it = nodes_.find(endpoint);
  if (it != nodes_.end()) return it->second;
  auto address = cluster::parse_endpoint(endpoint);
  if (!address) throw ports::StoreRejected("redis cluster: a node address that is not host:port: " + endpoint);
  ConnectionOptions options = options_.connection;
  options.host = address->host;
  options.port = address->port;
  auto connection = Connection::create(executor_, options, metrics_);
  connection->start();
  if (stopped_) connection->stop();
  return nodes_.emplace(endpoint, Node{std::move(connection), Clock::now()}).first->second;
}

asio::awaitable<std::shared_ptr<Connection>> ClusterClient::ready_connection(const std::string& endpoint,
                                                                             Clock::time_point deadline) {
  Node& found = node(endpoint);
  auto connection = found.connection;
  // A connection made moments ago (a node first named by a redirect or a new map) is
  // worth a short wait; one that was up before and is down now is not.
  auto settle = std::min(deadline, found.created + options_.connection.connect_timeout);
  if (!connection->connected() && Clock::now() < settle) co_await connection->wait_connected(left(settle));
  co_return connection;
}

std::string ClusterClient::target_of(std::optional<int> slot) const {
  if (slot) {
    if (const std::string* master = map_.master(*slot)) return *master;
    throw ports::StoreUnavailable("redis cluster: no master serves slot " + std::to_string(*slot));
  }
  auto masters = map_.masters();
  for (const auto& master : masters) {
    auto it = nodes_.find(master);
    if (it != nodes_.end() && it->second.connection->connected()) return master;
  }
  if (masters.empty()) throw ports::StoreUnavailable("redis cluster: no master known");
  return masters.front();
}

std::optional<std::string> ClusterClient::master_of(std::string_view key) const {
  const std::string* master = map_.master(cluster::key_slot(key));
  return master ? std::optional<std::string>(*master) : std::nullopt;
}

// Not coroutines themselves: send's frame is the only one a command adds to the
// connection's (the routing is a few tens of nanoseconds; a frame costs more).
asio::awaitable<Reply> ClusterClient::execute(std::span<const std::string_view> args, milliseconds timeout) {
  auto key = cluster::routing_key(args);
  std::optional<int> slot;
  if (key) slot = cluster::key_slot(*key);
  return send(slot, args, Clock::now() + timeout);
}

asio::awaitable<Reply> ClusterClient::execute_at(std::string_view key, std::span<const std::string_view> args,
                                                 milliseconds timeout) {
  return send(cluster::key_slot(key), args, Clock::now() + timeout);
}

asio::awaitable<std::vector<Reply>> ClusterClient::execute_on_all_masters(std::span<const std::string_view> args,
                                                                          milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  std::vector<Reply> replies;
  std::exception_ptr first_error;
  for (const auto& master : map_.masters()) {
    try {
      auto connection = co_await ready_connection(master, deadline);
      replies.push_back(co_await connection->execute(args, std::max(left(deadline), milliseconds{1})));
    } catch (const ports::StoreError&) {
      if (!first_error) first_error = std::current_exception();
    }
  }
  if (first_error) std::rethrow_exception(first_error);
  co_return replies;
}

asio::awaitable<Reply> ClusterClient::send(std::optional<int> slot, std::span<const std::string_view> args,
                                           Clock::time_point deadline) {
  std::string target = target_of(slot);
  bool asking = false;
  bool moved_once = false;
  bool asked_once = false;
  bool retried_unreachable = false;
  bool try_again = false;
  std::exception_ptr last_try_again;  // what the caller sees if TRYAGAIN lasts to the deadline
  for (;;) {
    if (try_again) {
      // Not run anywhere, so it may be sent again; the keys' migration takes milliseconds.
      try_again = false;
      co_await pause(executor_, std::min(kTryAgainPause, std::max(left(deadline), milliseconds{0})));
    }
    if (left(deadline) <= milliseconds{0}) {
      if (last_try_again) std::rethrow_exception(last_try_again);
      throw ports::StoreTimeout("redis cluster: command timed out while following the cluster to " + target);
    }
    std::shared_ptr<Connection> connection;
    if (auto known = nodes_.find(target); known != nodes_.end() && known->second.connection->connected()) {
      connection = known->second.connection;  // the usual case, without a coroutine of its own
    } else {
      connection = co_await ready_connection(target, deadline);
    }
    if (!connection->connected()) {
      if (!retried_unreachable && left(deadline) > milliseconds{0}) {
        // Nothing was sent, so trying again cannot apply the command twice. The master
        // may be gone (a replica about to take over): ask the cluster where the slot is.
        retried_unreachable = true;
        co_await refresh_until(deadline);
        if (!asking) target = target_of(slot);
        continue;
      }
      throw ports::StoreUnavailable("redis cluster: no connection to " + target);
    }
    std::string redirect_to;
    long redirect_slot = -1;
    bool redirect_ask = false;
    Reply reply;
    try {
      auto timeout = left(deadline);
      // Two statements, not one co_await of a conditional: GCC 12 miscompiles that (a crash).
      if (asking) {
        reply = co_await connection->execute_asking(args, timeout);
      } else {
        reply = co_await connection->execute(args, timeout);
      }
      co_return reply;
    } catch (const Redirected& redirect) {
      if (redirect.ask() ? asked_once : moved_once) throw;  // a second one of a kind: the map is in flux
      redirect_to = redirect.endpoint();
      redirect_slot = redirect.slot();
      redirect_ask = redirect.ask();
    } catch (const TryAgain&) {
      try_again = true;
      last_try_again = std::current_exception();
      tries_again_.inc();
    } catch (const ports::StoreBusy&) {
      throw;  // CLUSTERDOWN, LOADING...: the node is reachable and says so itself
    } catch (const ports::StoreUnavailable&) {
      // Timed out or lost after it was written: maybe applied, so not retried here. The
      // node may be failing over; the commands after this one should find its successor.
      refresh_soon();
      throw;
    }
    if (try_again) continue;
    if (!cluster::parse_endpoint(redirect_to)) {
      throw ports::StoreRejected("redis cluster: a redirect to an address that is not host:port: " + redirect_to);
    }
    if (redirect_ask) {
      asked_once = true;
      asked_.inc();
      asking = true;
    } else {
      moved_once = true;
      moved_.inc();
      asking = false;
      map_.assign(static_cast<int>(redirect_slot), redirect_to);
      // One slot moved is often a reshard or a failover moving many: read the whole map.
      refresh_soon();
    }
    target = redirect_to;
  }
}

asio::awaitable<bool> ClusterClient::refresh(milliseconds timeout) {
  co_return co_await refresh_until(Clock::now() + timeout);
}

asio::awaitable<bool> ClusterClient::refresh_until(Clock::time_point deadline) {
  if (!refreshing_) co_return co_await read_slot_map(deadline);
  // One read at a time: commands that meet a lost master together wait for the same one.
  auto seen = refreshes_done_;
  while (refreshes_done_ == seen && Clock::now() < deadline) co_await pause(executor_, kPoll);
  co_return refreshes_done_ != seen;
}

asio::awaitable<bool> ClusterClient::read_slot_map(Clock::time_point deadline) {
  refreshing_ = true;
  // Ask the masters we know first, then the seeds, then every other node seen (a
  // replica of a lost master knows the new map as well as anyone).
  std::vector<std::string> candidates = map_.masters();
  for (const auto& seed : options_.seeds) candidates.push_back(seed);
  for (const auto& [endpoint, node] : nodes_) candidates.push_back(endpoint);
  std::vector<std::string> asked;
  bool read = false;
  for (const auto& candidate : candidates) {
    if (stopped_ || Clock::now() >= deadline) break;
    if (std::find(asked.begin(), asked.end(), candidate) != asked.end()) continue;
    asked.push_back(candidate);
    try {
      auto connection = co_await ready_connection(candidate, deadline);
      if (!connection->connected()) continue;
      auto timeout = std::min(left(deadline), options_.connection.command_timeout);
      if (timeout <= milliseconds{0}) break;
      const std::string_view slots[] = {"CLUSTER", "SLOTS"};
      Reply reply = co_await connection->execute(slots, timeout);
      auto map = cluster::SlotMap::from_cluster_slots(reply, cluster::parse_endpoint(candidate)->host);
      if (map.empty()) continue;  // a node not yet part of a cluster with slots
      map_ = std::move(map);
      map_read_ = true;
      read = true;
      break;
    } catch (const std::exception& error) {
      spdlog::debug("redis cluster: CLUSTER SLOTS from {} failed: {}", candidate, error.what());
    }
  }
  (read ? refreshes_ : refresh_failures_).inc();
  if (!read) spdlog::warn("redis cluster: no node answered CLUSTER SLOTS; keeping the old slot map");
  refreshing_ = false;
  ++refreshes_done_;
  co_return read;
}

void ClusterClient::refresh_soon() {
  if (refreshing_ || stopped_) return;
  auto deadline = Clock::now() + options_.connection.connect_timeout + options_.connection.command_timeout;
  asio::co_spawn(
      executor_,
      [self = shared_from_this(), deadline]() -> asio::awaitable<void> { co_await self->refresh_until(deadline); },
      asio::detached);
}

asio::awaitable<void> ClusterClient::keep_map_fresh() {
  auto self = shared_from_this();
  while (!stopped_) {
    if (!refreshing_) {
      co_await read_slot_map(Clock::now() + options_.connection.connect_timeout +
                             options_.connection.command_timeout);
    }
    if (stopped_) break;
    refresh_timer_.expires_after(map_read_ ? options_.refresh_interval : kFirstReadRetry);
    boost::system::error_code ignored;
    co_await refresh_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
}

std::shared_ptr<Client> make_client(asio::any_io_executor executor, const ConnectionOptions& options,
                                    const std::vector<std::string>& cluster_seeds, metrics::Registry& metrics) {
  if (cluster_seeds.empty()) return Connection::create(std::move(executor), options, metrics);
  ClusterOptions cluster_options;
  cluster_options.seeds = cluster_seeds;
  cluster_options.connection = options;
  return ClusterClient::create(std::move(executor), std::move(cluster_options), metrics);
}

}  // namespace tracker::redis
