#include "http/client_address.hpp"

#include <stdexcept>

namespace tracker::http {

namespace ip = boost::asio::ip;

namespace {

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// ::ffff:a.b.c.d is a.b.c.d (a dual-stack socket reports IPv4 peers so).
ip::address unmapped(const ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return ip::make_address_v4(ip::v4_mapped, address.to_v6());
  }
  return address;
}

std::optional<ip::address> parse_address(std::string_view text) {
  boost::system::error_code ec;
  ip::address address = ip::make_address(text, ec);
  if (ec) return std::nullopt;
  return unmapped(address);
}

}  // namespace

TrustedProxies TrustedProxies::parse(std::string_view list) {
  TrustedProxies trusted;
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    std::string_view entry = trimmed(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (entry.empty()) continue;
    std::size_t slash = entry.find('/');
    std::optional<ip::address> address = parse_address(entry.substr(0, slash));
    if (!address) throw std::invalid_argument("'" + std::string(entry) + "' is not an address or CIDR range");
    int prefix = address->is_v4() ? 32 : 128;
    if (slash != std::string_view::npos) {
      std::string_view digits = entry.substr(slash + 1);
      prefix = -1;
      if (!digits.empty() && digits.size() <= 3 && digits.find_first_not_of("0123456789") == std::string_view::npos) {
        prefix = std::stoi(std::string(digits));
      }
      if (prefix < 0 || prefix > (address->is_v4() ? 32 : 128)) {
        throw std::invalid_argument("'" + std::string(entry) + "' has no valid prefix length");
      }
    }
    // The range of the given address, host bits cleared (10.1.2.3/8 is 10.0.0.0/8).
    if (address->is_v4()) {
      trusted.v4_.push_back(ip::network_v4(address->to_v4(), static_cast<unsigned short>(prefix)).canonical());
    } else {
      trusted.v6_.push_back(ip::network_v6(address->to_v6(), static_cast<unsigned short>(prefix)).canonical());
    }
  }
  return trusted;
}

bool TrustedProxies::contains(const ip::address& given) const {
  ip::address address = unmapped(given);
  if (address.is_v4()) {
    for (const ip::network_v4& network : v4_) {
      if (ip::network_v4(address.to_v4(), network.prefix_length()).canonical() == network) return true;
    }
    return false;
  }
  for (const ip::network_v6& network : v6_) {
    if (ip::network_v6(address.to_v6(), network.prefix_length()).canonical() == network) return true;
  }
  return false;
}

std::optional<ip::address> forwarded_address(std::string_view entry) {
  entry = trimmed(entry);
  if (entry.size() > 2 && entry.front() == '[') {  // [v6] or [v6]:port
    std::size_t close = entry.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view rest = entry.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || rest.size() < 2 ||
                          rest.substr(1).find_first_not_of("0123456789") != std::string_view::npos)) {
      return std::nullopt;
    }
    auto address = parse_address(entry.substr(1, close - 1));
    if (!address || !address->is_v6()) return std::nullopt;
    return address;
  }
  std::size_t colon = entry.find(':');
  if (colon != std::string_view::npos && entry.find(':', colon + 1) == std::string_view::npos) {
    // One colon: IPv4 with a port.
    std::string_view port = entry.substr(colon + 1);
    if (port.empty() || port.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
    auto address = parse_address(entry.substr(0, colon));
    if (!address || !address->is_v4()) return std::nullopt;
    return address;
  }
  if (entry.find('%') != std::string_view::npos) return std::nullopt;  // no scope ids from afar
  return parse_address(entry);
}

ip::address client_address(const Request& request, const ip::address& peer, const TrustedProxies& trusted) {
  ip::address client = unmapped(peer);
  if (trusted.empty() || !trusted.contains(client)) return client;
  // All X-Forwarded-For fields joined, as if one comma-separated list; read right to left.
  std::vector<std::string_view> entries;
  auto [first, last] = request.equal_range("X-Forwarded-For");
  for (auto field = first; field != last; ++field) {
    std::string_view value = field->value();
    std::size_t start = 0;
    while (start <= value.size()) {
      std::size_t comma = value.find(',', start);
      if (comma == std::string_view::npos) comma = value.size();
      entries.push_back(value.substr(start, comma - start));
      start = comma + 1;
    }
  }
  for (auto entry = entries.rbegin(); entry != entries.rend(); ++entry) {
    if (trimmed(*entry).empty()) continue;
    std::optional<ip::address> hop = forwarded_address(*entry);
    if (!hop) return client;  // the proxy in `client` passed on something that is not an address
    client = *hop;
    if (!trusted.contains(client)) return client;
  }
  return client;
}

std::string address_group(const ip::address& given) {
  ip::address address = unmapped(given);
  if (address.is_v4()) return address.to_string();
  return ip::network_v6(address.to_v6(), 64).canonical().to_string();
}

}  // namespace tracker::http
