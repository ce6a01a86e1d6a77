#pragma once
// What the load generator sends: complete HTTP/1.1 requests, built once into a pool where
// the scenario allows it (so sending costs no formatting) or per request where ids are
// drawn at random.
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace loadgen {

enum class Kind : std::uint8_t { Event, Batch, Like, Search, Stats, Summary, Post, Count };
const char* kind_name(Kind kind);
constexpr std::size_t kKinds = static_cast<std::size_t>(Kind::Count);

struct Request {
  std::string bytes;     // the whole request: request line, headers, body
  Kind kind = Kind::Event;
  std::uint32_t events = 0;  // events the request carries when acknowledged
};

struct WorkloadOptions {
  std::string scenario = "events";  // events | batch | users | stats | posts | targets
  std::string host_header = "127.0.0.1";
  std::string event_path = "/api/events";
  std::string session_prefix = "session-";
  unsigned batch = 100;
  std::uint64_t users = 100;        // user ids 1..users
  std::uint64_t post_min = 1;       // post ids post_min..post_max
  std::uint64_t post_max = 1000;
  unsigned keywords = 10;           // hashtag / keyword vocabulary size
  std::string targets_file;         // targets: request paths, one per line
  // API keys (from TRACKER_WRITE_KEY / TRACKER_READ_KEY): the write key in X-Api-Key on
  // writes, the read key as Bearer on statistics and the explorer; none when empty.
  std::string write_key;
  std::string read_key;
};

// The event of the clients' load tests, numbered i: CLICK / PAGE_VIEW / SEARCH / LIKE in
// turn, users 1..100, components 1000..2000, elements 1..50, keywords 1..10, posts 1..10.
// The same formula as bench/lib/events.lua, so wrk and the load generator send identical
// bodies (with the default session prefix "session-").
std::string mix_event(std::uint64_t i, const std::string& session_prefix);

std::string http_request(const std::string& method, const std::string& target, const WorkloadOptions& options,
                         const std::string& body);

class Workload {
 public:
  virtual ~Workload() = default;
  // The next request of one connection. `seq` is that connection's counter; requests made
  // on the fly are written into `scratch` and returned from there.
  virtual const Request& next(std::mt19937_64& rng, std::uint64_t& seq, Request& scratch) const = 0;
  // Requests per event-producing kind, for the summary.
  virtual std::string describe() const = 0;
};

// Throws std::invalid_argument for an unknown scenario or an unreadable / empty targets file.
std::unique_ptr<Workload> make_workload(const WorkloadOptions& options);

}  // namespace loadgen
