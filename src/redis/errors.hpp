#pragma once
#include "ports/errors.hpp"

#include <exception>
#include <string>
#include <string_view>

namespace tracker::redis {

// An error reply that retrying will not fix, named by its first word: ERR, WRONGTYPE,
// BUSYGROUP, NOGROUP, or a word a script of ours chose (BACKLOG).
class ReplyError : public ports::StoreRejected {
 public:
  explicit ReplyError(std::string_view text);
  const std::string& prefix() const { return prefix_; }

 private:
  std::string prefix_;
};

// NOSCRIPT: the server does not know the script's SHA1 (first use, a restart, SCRIPT
// FLUSH). Script::run answers it by sending the script's text.
class ScriptMissing : public ReplyError {
 public:
  using ReplyError::ReplyError;
};

// MOVED or ASK: the key lives on another node of a cluster. ClusterClient follows it
// (once of each kind per command); one that escapes it, or any met by a plain Connection
// (a single-Redis configuration pointed at a cluster node), is a configuration error.
class Redirected : public ReplyError {
 public:
  explicit Redirected(std::string_view text);
  bool ask() const { return prefix() == "ASK"; }
  long slot() const { return slot_; }
  // host:port; an IPv6 host keeps its colons (the port is after the last one).
  const std::string& endpoint() const { return endpoint_; }

 private:
  long slot_ = -1;
  std::string endpoint_;
};

// TRYAGAIN: a multi-key command (or script) on a slot being migrated whose keys are
// partly on each side. Nothing ran; ClusterClient tries again until the command's
// deadline, by when the migration of those keys has usually finished.
class TryAgain : public ports::StoreBusy {
 public:
  using ports::StoreBusy::StoreBusy;
};

// --redis-ingest=module, and the Redis an ingest call went to does not know the command
// TRACKER.INGEST: the module (tracker_ingest.so) is not loaded there.
class IngestModuleMissing : public ports::StoreRejected {
 public:
  IngestModuleMissing();
};

// The one place where an error reply's text becomes an exception: the first word picks
// the type, the way a client library does (redis-plus-plus throw_error). States a server
// passes through (LOADING, BUSY, MASTERDOWN, READONLY, TRYAGAIN, CLUSTERDOWN, OOM, MISCONF,
// NOREPLICAS) are ports::StoreBusy (TRYAGAIN as its subclass TryAgain); NOSCRIPT, MOVED
// and ASK have types of their own;
// anything else is a ReplyError.
std::exception_ptr error_from_reply(std::string_view text);

}  // namespace tracker::redis
