#pragma once
#include "http/message.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tracker::http {

// The proxies whose X-Forwarded-For is believed (--trusted-proxies): a list of addresses
// and CIDR ranges separated by commas, e.g. "10.0.0.0/8, 2001:db8::/32, 127.0.0.1".
// An IPv4-mapped IPv6 address (::ffff:10.1.2.3) counts as its IPv4 address.
class TrustedProxies {
 public:
  TrustedProxies() = default;
  // Throws std::invalid_argument naming the entry that is not an address or range.
  static TrustedProxies parse(std::string_view list);
  bool contains(const boost::asio::ip::address& address) const;
  bool empty() const { return v4_.empty() && v6_.empty(); }

 private:
  std::vector<boost::asio::ip::network_v4> v4_;
  std::vector<boost::asio::ip::network_v6> v6_;
};

// The address a request is from: the connection's peer, unless the peer is a trusted
// proxy; then X-Forwarded-For (all of its fields, in order) is walked from the right,
// past trusted proxies, to the first address that is not one. An entry that is not an
// address ends the walk at the proxy that added it; when every entry is trusted, the
// leftmost is the client. A peer that is not trusted is the client whatever it sends.
boost::asio::ip::address client_address(const Request& request, const boost::asio::ip::address& peer,
                                        const TrustedProxies& trusted);

// An X-Forwarded-For entry as an address: "203.0.113.7", "2001:db8::1", and with a port
// "203.0.113.7:4711" or "[2001:db8::1]:4711"; nullopt otherwise.
std::optional<boost::asio::ip::address> forwarded_address(std::string_view entry);

// The group of addresses one rate limit bucket covers: an IPv4 address alone, an IPv6
// address by its /64 (what one subscriber usually gets), e.g. "2001:db8:1:2::/64".
std::string address_group(const boost::asio::ip::address& address);

}  // namespace tracker::http
