// The client's address: the peer, or, behind trusted proxies, X-Forwarded-For read from the
// right; CIDR lists; X-Forwarded-For entries with ports; the /64 grouping of IPv6 clients.
#include "http/client_address.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace ip = boost::asio::ip;
using tracker::http::address_group;
using tracker::http::client_address;
using tracker::http::forwarded_address;
using tracker::http::Request;
using tracker::http::TrustedProxies;
using tracker::http::beast_http::verb;

Request with_forwarded(std::vector<std::string> fields) {
  Request request{verb::post, "/api/events", 11};
  for (const std::string& value : fields) request.insert("X-Forwarded-For", value);
  return request;
}

std::string client_of(const std::string& peer, std::vector<std::string> forwarded, const std::string& trusted) {
  Request request = with_forwarded(std::move(forwarded));
  return client_address(request, ip::make_address(peer), TrustedProxies::parse(trusted)).to_string();
}

TEST(TrustedProxies, AddressesAndRanges) {
  TrustedProxies trusted = TrustedProxies::parse(" 10.0.0.0/8, 192.168.1.7 ,2001:db8::/32,,::1");
  EXPECT_TRUE(trusted.contains(ip::make_address("10.255.1.2")));
  EXPECT_FALSE(trusted.contains(ip::make_address("11.0.0.1")));
  EXPECT_TRUE(trusted.contains(ip::make_address("192.168.1.7")));
  EXPECT_FALSE(trusted.contains(ip::make_address("192.168.1.8")));
  EXPECT_TRUE(trusted.contains(ip::make_address("2001:db8:ffff::1")));
  EXPECT_FALSE(trusted.contains(ip::make_address("2001:db9::1")));
  EXPECT_TRUE(trusted.contains(ip::make_address("::1")));
  EXPECT_TRUE(trusted.contains(ip::make_address("::ffff:10.1.2.3"))) << "IPv4-mapped is IPv4";
  EXPECT_TRUE(TrustedProxies::parse("10.1.2.3/8").contains(ip::make_address("10.9.9.9"))) << "host bits cleared";
  EXPECT_TRUE(TrustedProxies::parse("0.0.0.0/0").contains(ip::make_address("8.8.8.8")));
  EXPECT_TRUE(TrustedProxies::parse("").empty());
}

TEST(TrustedProxies, RefusesWhatIsNotARange) {
  for (const char* bad : {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "2001:db8::/129", "example.com", "10.0.0",
                          "10.0.0.0/8/8", "10.0.0.0/-1"}) {
    EXPECT_THROW(TrustedProxies::parse(bad), std::invalid_argument) << bad;
  }
}

TEST(ClientAddress, AnUntrustedPeerIsTheClientWhateverItSends) {
  EXPECT_EQ(client_of("198.51.100.9", {"203.0.113.7"}, ""), "198.51.100.9");
  EXPECT_EQ(client_of("198.51.100.9", {"203.0.113.7"}, "10.0.0.0/8"), "198.51.100.9");
  EXPECT_EQ(client_of("::ffff:198.51.100.9", {}, ""), "198.51.100.9");
}

TEST(ClientAddress, BehindTrustedProxiesTheFirstUntrustedFromTheRight) {
  // The client put a spoofed entry first; the proxy appended what it saw.
  EXPECT_EQ(client_of("10.0.0.2", {"1.1.1.1, 203.0.113.7"}, "10.0.0.0/8"), "203.0.113.7");
  // Two proxies of ours: the inner one's entry is skipped.
  EXPECT_EQ(client_of("10.0.0.2", {"1.1.1.1, 203.0.113.7, 10.0.0.1"}, "10.0.0.0/8"), "203.0.113.7");
  // Several fields are one list, in order.
  EXPECT_EQ(client_of("10.0.0.2", {"1.1.1.1", "203.0.113.7", "10.0.0.1"}, "10.0.0.0/8"), "203.0.113.7");
  // With ports, IPv6 in brackets, spaces.
  EXPECT_EQ(client_of("10.0.0.2", {" 203.0.113.7:4711 "}, "10.0.0.0/8"), "203.0.113.7");
  EXPECT_EQ(client_of("10.0.0.2", {"[2001:db8::5]:443"}, "10.0.0.0/8"), "2001:db8::5");
  EXPECT_EQ(client_of("10.0.0.2", {"2001:db8::5"}, "10.0.0.0/8"), "2001:db8::5");
  // Every entry trusted: the leftmost.
  EXPECT_EQ(client_of("10.0.0.2", {"10.0.0.9, 10.0.0.1"}, "10.0.0.0/8"), "10.0.0.9");
  // No X-Forwarded-For, or only empty entries: the proxy itself.
  EXPECT_EQ(client_of("10.0.0.2", {}, "10.0.0.0/8"), "10.0.0.2");
  EXPECT_EQ(client_of("10.0.0.2", {" , "}, "10.0.0.0/8"), "10.0.0.2");
}

TEST(ClientAddress, GarbageEndsTheWalkAtTheProxyThatPassedItOn) {
  EXPECT_EQ(client_of("10.0.0.2", {"1.1.1.1, unknown"}, "10.0.0.0/8"), "10.0.0.2");
  EXPECT_EQ(client_of("10.0.0.2", {"evil, 10.0.0.1"}, "10.0.0.0/8"), "10.0.0.1");
  EXPECT_EQ(client_of("10.0.0.2", {"1.1.1.1, 203.0.113.7:port"}, "10.0.0.0/8"), "10.0.0.2");
  EXPECT_EQ(client_of("10.0.0.2", {"fe80::1%eth0"}, "10.0.0.0/8"), "10.0.0.2");
}

TEST(ForwardedAddress, Forms) {
  EXPECT_EQ(forwarded_address("203.0.113.7")->to_string(), "203.0.113.7");
  EXPECT_EQ(forwarded_address("203.0.113.7:80")->to_string(), "203.0.113.7");
  EXPECT_EQ(forwarded_address("[::1]")->to_string(), "::1");
  EXPECT_EQ(forwarded_address("[::1]:8080")->to_string(), "::1");
  for (const char* bad : {"", "[::1", "[::1]x", "[::1]:", "[1.2.3.4]", "1.2.3.4:", "1.2.3.4:x", "::1:x:", "host",
                          "1.2.3"}) {
    EXPECT_FALSE(forwarded_address(bad)) << bad;
  }
}

TEST(AddressGroup, IPv4AloneIPv6ByItsSlash64) {
  EXPECT_EQ(address_group(ip::make_address("203.0.113.7")), "203.0.113.7");
  EXPECT_EQ(address_group(ip::make_address("::ffff:203.0.113.7")), "203.0.113.7");
  EXPECT_EQ(address_group(ip::make_address("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
  EXPECT_EQ(address_group(ip::make_address("2001:db8:1:2:ffff::9")), "2001:db8:1:2::/64");
  EXPECT_NE(address_group(ip::make_address("2001:db8:1:3::1")), "2001:db8:1:2::/64");
}

}  // namespace
