#pragma once
#include "redis/reply.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// The arithmetic of Redis Cluster, without I/O: which slot a key hashes to, which key of
// a command decides where it goes, and which master serves a slot.
namespace tracker::redis::cluster {

inline constexpr int kSlots = 16384;

// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), the checksum the cluster
// spec hashes keys with.
std::uint16_t crc16(std::string_view bytes);

// The slot of a key: CRC16 mod 16384 of the whole key, or of its hash tag, the part
// between the first '{' and the first '}' after it when that part is not empty. Keys
// that share a tag share a slot, so one script or MGET may touch them all.
int key_slot(std::string_view key);

// The key whose slot decides where a command goes, or nothing for a keyless command
// (PING, INFO, SCRIPT LOAD, an EVAL with no keys), which any master may answer.
// EVAL/EVALSHA/FCALL name their keys after numkeys, TRACKER.INGEST after its numkeys (args[1]); XREAD/XREADGROUP after STREAMS;
// XGROUP/XINFO/OBJECT/MEMORY after a subcommand; anything else at args[1].
std::optional<std::string_view> routing_key(std::span<const std::string_view> args);

// host and port of "host:port". The port is after the last colon, so an IPv6 host
// ("::1:7000", as a MOVED error names one) keeps its own colons.
struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  std::string text() const;
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};
std::optional<Endpoint> parse_endpoint(std::string_view text);
// "host:port[,host:port...]" (--redis-cluster) as a list; throws std::invalid_argument
// naming the first entry that is not host:port. Empty entries are refused too.
std::vector<std::string> parse_seeds(std::string_view list);

// Slot ranges and the master serving each (host:port), from CLUSTER SLOTS.
class SlotMap {
 public:
  SlotMap() = default;
  // Every slot on one node: the map a client starts from, before it has asked the
  // cluster; a wrong guess costs one MOVED.
  explicit SlotMap(std::string endpoint);

  // Parses a CLUSTER SLOTS reply: [[start, end, [host, port, id, ...], replicas...], ...].
  // An empty host means "the node you asked" (`asked_host`). Throws std::invalid_argument
  // on a reply of another shape.
  static SlotMap from_cluster_slots(const Reply& reply, std::string_view asked_host);

  // The master of `slot`, or null when no range covers it (a cluster missing a master).
  const std::string* master(int slot) const;
  // After MOVED: one slot now lives at `endpoint`, until the next full refresh.
  void assign(int slot, const std::string& endpoint);
  // Each master once, in range order.
  std::vector<std::string> masters() const;
  bool empty() const { return ranges_.empty(); }

 private:
  struct Range {
    int first;
    int last;
    std::string master;
  };
  std::vector<Range> ranges_;  // sorted by first, not overlapping
};

}  // namespace tracker::redis::cluster
