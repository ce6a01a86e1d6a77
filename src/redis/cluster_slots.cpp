#include "redis/cluster_slots.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>

namespace tracker::redis::cluster {

namespace {

constexpr std::array<std::uint16_t, 256> make_crc16_table() {
  std::array<std::uint16_t, 256> table{};
  for (unsigned byte = 0; byte < 256; ++byte) {
    std::uint16_t crc = static_cast<std::uint16_t>(byte << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    table[byte] = crc;
  }
  return table;
}
constexpr auto kCrc16Table = make_crc16_table();

bool same_word(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);  // ASCII letters only: command names
         });
}

std::optional<long> parse_long(std::string_view text) {
  long value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::uint16_t crc16(std::string_view bytes) {
  std::uint16_t crc = 0;
  for (unsigned char byte : bytes) {
    crc = static_cast<std::uint16_t>((crc << 8) ^ kCrc16Table[((crc >> 8) ^ byte) & 0xff]);
  }
  return crc;
}

int key_slot(std::string_view key) {
  auto open = key.find('{');
  if (open != std::string_view::npos) {
    auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
  }
  return crc16(key) & (kSlots - 1);
}

std::optional<std::string_view> routing_key(std::span<const std::string_view> args) {
  if (args.size() < 2) return std::nullopt;
  std::string_view name = args[0];
  for (std::string_view scripted : {"EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"}) {
    if (same_word(name, scripted)) {
      auto keys = args.size() > 2 ? parse_long(args[2]) : std::nullopt;
      if (!keys || *keys < 1 || args.size() < 4) return std::nullopt;
      return args[3];
    }
  }
  if (same_word(name, "TRACKER.INGEST")) {  // the module command (src/redis/module): numkeys, keys
    auto keys = parse_long(args[1]);
    if (!keys || *keys < 1 || args.size() < 3) return std::nullopt;
    return args[2];
  }
  if (same_word(name, "XREAD") || same_word(name, "XREADGROUP")) {
    for (std::size_t i = 1; i + 1 < args.size(); ++i) {
      if (same_word(args[i], "STREAMS")) return args[i + 1];
    }
    return std::nullopt;
  }
  for (std::string_view with_subcommand : {"XGROUP", "XINFO", "OBJECT", "MEMORY"}) {
    if (same_word(name, with_subcommand)) {
      if (args.size() < 3) return std::nullopt;
      return args[2];
    }
  }
  for (std::string_view keyless : {"PING", "INFO", "SCRIPT", "FUNCTION", "CLUSTER", "CONFIG", "CLIENT",
                                   "ECHO", "TIME", "DBSIZE", "FLUSHALL", "FLUSHDB", "WAIT", "COMMAND",
                                   "DEBUG", "ASKING", "READONLY", "READWRITE", "SHUTDOWN", "LASTSAVE"}) {
    if (same_word(name, keyless)) return std::nullopt;
  }
  return args[1];
}

std::string Endpoint::text() const { return host + ":" + std::to_string(port); }

std::optional<Endpoint> parse_endpoint(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  auto port = parse_long(text.substr(colon + 1));
  if (!port || *port < 1 || *port > 65535) return std::nullopt;
  return Endpoint{std::string(text.substr(0, colon)), static_cast<std::uint16_t>(*port)};
}

std::vector<std::string> parse_seeds(std::string_view list) {
  std::vector<std::string> seeds;
  for (;;) {
    auto comma = list.find(',');
    std::string_view entry = list.substr(0, comma);
    if (!parse_endpoint(entry)) {
      throw std::invalid_argument("not host:port: '" + std::string(entry) + "'");
    }
    seeds.emplace_back(entry);
    if (comma == std::string_view::npos) return seeds;
    list.remove_prefix(comma + 1);
  }
}

SlotMap::SlotMap(std::string endpoint) { ranges_.push_back({0, kSlots - 1, std::move(endpoint)}); }

SlotMap SlotMap::from_cluster_slots(const Reply& reply, std::string_view asked_host) {
  if (reply.type != Reply::Type::Array) throw std::invalid_argument("CLUSTER SLOTS: not an array");
  SlotMap map;
  for (const Reply& entry : reply.elements) {
    if (entry.type != Reply::Type::Array || entry.elements.size() < 3 ||
        entry.elements[0].type != Reply::Type::Integer || entry.elements[1].type != Reply::Type::Integer ||
        entry.elements[2].type != Reply::Type::Array || entry.elements[2].elements.size() < 2) {
      throw std::invalid_argument("CLUSTER SLOTS: an entry of unexpected shape");
    }
    auto first = entry.elements[0].integer;
    auto last = entry.elements[1].integer;
    if (first < 0 || last >= kSlots || first > last) throw std::invalid_argument("CLUSTER SLOTS: a bad range");
    const Reply& node = entry.elements[2];
    std::string host = node.elements[0].text;
    if (host.empty() || host == "?") host = asked_host;  // the node does not know its own address
    map.ranges_.push_back({static_cast<int>(first), static_cast<int>(last),
                           host + ":" + std::to_string(node.elements[1].integer)});
  }
  std::sort(map.ranges_.begin(), map.ranges_.end(),
            [](const Range& a, const Range& b) { return a.first < b.first; });
  for (std::size_t i = 1; i < map.ranges_.size(); ++i) {
    if (map.ranges_[i].first <= map.ranges_[i - 1].last) {
      throw std::invalid_argument("CLUSTER SLOTS: overlapping ranges");
    }
  }
  return map;
}

const std::string* SlotMap::master(int slot) const {
  auto after = std::upper_bound(ranges_.begin(), ranges_.end(), slot,
                                [](int value, const Range& range) { return value < range.first; });
  if (after == ranges_.begin()) return nullptr;
  const Range& range = *std::prev(after);
  return slot <= range.last ? &range.master : nullptr;
}

void SlotMap::assign(int slot, const std::string& endpoint) {
  if (slot < 0 || slot >= kSlots) return;
  auto after = std::upper_bound(ranges_.begin(), ranges_.end(), slot,
                                [](int value, const Range& range) { return value < range.first; });
  if (after != ranges_.begin() && slot <= std::prev(after)->last) {
    // Split the range that held the slot around it: [first, slot-1] [slot] [slot+1, last].
    auto at = std::prev(after);
    Range old = *at;
    at = ranges_.erase(at);
    std::vector<Range> parts;
    if (old.first < slot) parts.push_back({old.first, slot - 1, old.master});
    parts.push_back({slot, slot, endpoint});
    if (slot < old.last) parts.push_back({slot + 1, old.last, old.master});
    ranges_.insert(at, parts.begin(), parts.end());
  } else {
    ranges_.insert(after, Range{slot, slot, endpoint});
  }
}

std::vector<std::string> SlotMap::masters() const {
  std::vector<std::string> out;
  for (const Range& range : ranges_) {
    if (std::find(out.begin(), out.end(), range.master) == out.end()) out.push_back(range.master);
  }
  return out;
}

}  // namespace tracker::redis::cluster
