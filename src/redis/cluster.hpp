#pragma once
#include "metrics/metrics.hpp"
#include "redis/cluster_slots.hpp"
#include "redis/commands.hpp"
#include "redis/connection.hpp"

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tracker::redis {

struct ClusterOptions {
  // host:port of nodes to ask for the slot map first; any node of the cluster will do,
  // several so that one being down does not stop a start.
  std::vector<std::string> seeds;
  // Used for the connection to each node (host and port are replaced).
  ConnectionOptions connection;
  // How often the slot map is read again while nothing goes wrong: a failover or a
  // reshard is also noticed at once by the errors it causes (MOVED, a lost node).
  milliseconds refresh_interval{5000};
};

// A client of a Redis Cluster, owned by one I/O thread like a Connection (not
// thread-safe). It keeps one pipelining Connection per node it has talked to and sends
// each command to the master of the slot of the command's key (cluster::routing_key);
// keyless commands go to any master.
//
// Redirects are followed within the command's own deadline, at most one MOVED and one
// ASK per command, as client libraries do (redis-plus-plus RedisCluster::_command): MOVED
// means the slot has a new owner, so the map takes it at once and is read again in the
// background; ASK means one key is half-way through a migration, so the command goes
// once to the named node behind ASKING and the map stays as it is.
//
// TRYAGAIN (a multi-key command on a slot whose keys are half migrated; nothing ran) is
// sent again after a short pause until the deadline.
//
// When the target master has no connection the slot map is read again (CLUSTER SLOTS,
// from any node that answers) and the command tried once more if its deadline allows:
// nothing was sent, so a retry cannot apply it twice. A command lost with its connection
// or timed out after it was written is not retried, since it may have been applied; it
// fails with the usual StoreUnavailable/StoreTimeout and the map is refreshed for the
// commands after it.
class ClusterClient final : public Client, public std::enable_shared_from_this<ClusterClient> {
 public:
  static std::shared_ptr<ClusterClient> create(asio::any_io_executor executor, ClusterOptions options,
                                               metrics::Registry& metrics);
  ClusterClient(const ClusterClient&) = delete;
  ClusterClient& operator=(const ClusterClient&) = delete;

  void start() override;
  void stop() override;
  // The slot map has been read from the cluster and every master in it is connected.
  bool connected() const override;
  asio::awaitable<void> wait_connected(milliseconds limit) override;
  const asio::any_io_executor& executor() const override { return executor_; }
  milliseconds default_timeout() const override { return options_.connection.command_timeout; }

  using Commands::execute;
  asio::awaitable<Reply> execute(std::span<const std::string_view> args, milliseconds timeout) override;
  // The command goes where `key` lives, whatever its arguments: WAIT after a write must
  // reach the master (and the connection) that took the write.
  asio::awaitable<Reply> execute_at(std::string_view key, std::span<const std::string_view> args,
                                    milliseconds timeout) override;
  // The command on every master, one reply each (SCRIPT LOAD, FUNCTION LOAD, FLUSHALL).
  // Throws the first error, after trying them all.
  asio::awaitable<std::vector<Reply>> execute_on_all_masters(std::span<const std::string_view> args,
                                                             milliseconds timeout);

  // Reads the slot map again now (what a MOVED or a lost master also cause). False when
  // no node answered in time; the old map then stays.
  asio::awaitable<bool> refresh(milliseconds timeout);
  // host:port of each master, as the map has them now.
  std::vector<std::string> masters() const { return map_.masters(); }
  // host:port of the master the map gives `key`'s slot now, if any.
  std::optional<std::string> master_of(std::string_view key) const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Node {
    std::shared_ptr<Connection> connection;
    Clock::time_point created;
  };

  ClusterClient(asio::any_io_executor executor, ClusterOptions options, metrics::Registry& metrics);

  Node& node(const std::string& endpoint);
  asio::awaitable<std::shared_ptr<Connection>> ready_connection(const std::string& endpoint,
                                                                Clock::time_point deadline);
  std::string target_of(std::optional<int> slot) const;
  asio::awaitable<Reply> send(std::optional<int> slot, std::span<const std::string_view> args,
                              Clock::time_point deadline);
  asio::awaitable<bool> refresh_until(Clock::time_point deadline);
  asio::awaitable<bool> read_slot_map(Clock::time_point deadline);
  void refresh_soon();
  asio::awaitable<void> keep_map_fresh();

  asio::any_io_executor executor_;
  ClusterOptions options_;
  metrics::Registry& metrics_;
  cluster::SlotMap map_;
  bool map_read_ = false;  // map_ came from the cluster, not from the seed guess
  std::map<std::string, Node> nodes_;
  bool refreshing_ = false;
  std::uint64_t refreshes_done_ = 0;  // waiters for a refresh in progress watch it change
  bool stopped_ = false;
  asio::steady_timer refresh_timer_;
  metrics::Counter& moved_;
  metrics::Counter& asked_;
  metrics::Counter& tries_again_;
  metrics::Counter& refreshes_;
  metrics::Counter& refresh_failures_;
};

// One Redis (seeds empty) or a Redis Cluster (seeds: host:port of some of its nodes),
// the one place that chooses. `options` are the single Redis's address and the
// per-connection settings of both.
std::shared_ptr<Client> make_client(asio::any_io_executor executor, const ConnectionOptions& options,
                                    const std::vector<std::string>& cluster_seeds, metrics::Registry& metrics);

}  // namespace tracker::redis
