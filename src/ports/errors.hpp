#pragma once
#include <chrono>
#include <stdexcept>
#include <string>

namespace tracker::ports {

// The small set of failures a backing store can report to the use cases. Adapters
// translate their library's errors into these in one place each.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The store cannot be reached (down, refused, connection lost). Retrying later may work.
class StoreUnavailable : public StoreError {
 public:
  using StoreError::StoreError;
};

// The store is up but refuses for now: it is loading its data, busy with a script, failing
// over, read-only, out of memory or connections, or a transaction lost a race with another.
// Retrying later may work.
class StoreBusy : public StoreUnavailable {
 public:
  using StoreUnavailable::StoreUnavailable;
};

// The store did not answer in time.
class StoreTimeout : public StoreUnavailable {
 public:
  using StoreUnavailable::StoreUnavailable;
};

// The write was applied, but fewer copies of it than asked for acknowledged it in time
// (Redis WAIT): the master that has it may still lose it. A retry that the store
// recognises as a repeat (a client eventId) is counted once.
class NotReplicated : public StoreTimeout {
 public:
  using StoreTimeout::StoreTimeout;
};

// Refused on purpose to protect the system: a bounded queue is full or the backlog of
// unpersisted events is past its high-water mark.
class Overloaded : public StoreError {
 public:
  Overloaded(std::string reason, std::string message)
      : StoreError(std::move(message)), reason_(std::move(reason)) {}
  const std::string& reason() const { return reason_; }

 private:
  std::string reason_;
};

// The store answered with an error that retrying will not fix (a bug, a bad script, data it
// refuses). Its text may carry the store's internals (SQL, Redis error text): for logs only.
class StoreRejected : public StoreError {
 public:
  using StoreError::StoreError;
};

}  // namespace tracker::ports
