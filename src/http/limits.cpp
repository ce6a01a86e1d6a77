#include "http/limits.hpp"

namespace tracker::http {

bool MemoryBudget::try_take(std::size_t bytes) {
  std::size_t used = in_use_.load(std::memory_order_relaxed);
  do {
    if (bytes > (capacity_ - used) / 2) return false;
  } while (!in_use_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
  return true;
}

void MemoryBudget::give_back(std::size_t bytes) { in_use_.fetch_sub(bytes, std::memory_order_relaxed); }

bool Reservation::grow_to(std::size_t total) {
  if (total <= bytes_) return true;
  if (!budget_.try_take(total - bytes_)) return false;
  bytes_ = total;
  return true;
}

bool ConnectionsPerAddress::try_open(const boost::asio::ip::address& address) {
  std::lock_guard lock(mutex_);
  std::size_t& open = open_[address];
  if (open >= cap_) {
    if (open == 0) open_.erase(address);
    return false;
  }
  ++open;
  return true;
}

void ConnectionsPerAddress::close(const boost::asio::ip::address& address) {
  std::lock_guard lock(mutex_);
  auto it = open_.find(address);
  if (it != open_.end() && --it->second == 0) open_.erase(it);
}

}  // namespace tracker::http
