#pragma once
#include <boost/asio/ip/address.hpp>

#include <atomic>
#include <cstddef>
#include <mutex>
#include <unordered_map>

namespace tracker::http {

// Bytes that requests in flight may hold, over all I/O threads: their bodies and the JSON
// arenas sized for them. A request takes its share before its body is read and keeps it
// until its answer is written.
class MemoryBudget {
 public:
  explicit MemoryBudget(std::size_t capacity) : capacity_(capacity) {}
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  // Takes `bytes` only if as much again stays free: a request gets at most half of what is
  // left, so a few large, slow requests never take the last of it and small ones still pass.
  bool try_take(std::size_t bytes);
  void give_back(std::size_t bytes);
  std::size_t in_use() const { return in_use_.load(std::memory_order_relaxed); }
  std::size_t capacity() const { return capacity_; }

 private:
  const std::size_t capacity_;
  std::atomic<std::size_t> in_use_{0};
};

// One request's share of a MemoryBudget, given back when the share is destroyed.
class Reservation {
 public:
  explicit Reservation(MemoryBudget& budget) : budget_(budget) {}
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;
  ~Reservation() { budget_.give_back(bytes_); }

  // Grows the share to `total` bytes; false, with the share unchanged, if the budget
  // cannot give the difference.
  bool grow_to(std::size_t total);
  std::size_t bytes() const { return bytes_; }

 private:
  MemoryBudget& budget_;
  std::size_t bytes_ = 0;
};

// Open connections per client address, over all I/O threads, so that a few clients
// cannot hold every connection the server allows.
class ConnectionsPerAddress {
 public:
  explicit ConnectionsPerAddress(std::size_t cap) : cap_(cap) {}
  // Counts a new connection from `address`; false (nothing counted) at the cap.
  bool try_open(const boost::asio::ip::address& address);
  void close(const boost::asio::ip::address& address);

 private:
  const std::size_t cap_;
  std::mutex mutex_;
  std::unordered_map<boost::asio::ip::address, std::size_t> open_;
};

}  // namespace tracker::http
