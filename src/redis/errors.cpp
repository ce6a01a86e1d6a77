#include "redis/errors.hpp"

#include <array>
#include <charconv>

namespace tracker::redis {

namespace {

std::string_view first_word(std::string_view text) { return text.substr(0, text.find(' ')); }

// Error prefixes of states that end by themselves: a restart replaying its AOF, a slow
// script, a replica without its master or promoted meanwhile, a cluster resharding or
// without quorum, memory or persistence trouble.
constexpr std::array<std::string_view, 9> kTransient = {
    "LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN", "CLUSTERDOWN", "OOM", "MISCONF", "NOREPLICAS"};

}  // namespace

ReplyError::ReplyError(std::string_view text)
    : ports::StoreRejected("redis: " + std::string(text)), prefix_(first_word(text)) {}

IngestModuleMissing::IngestModuleMissing()
    : ports::StoreRejected(
          "redis: unknown command TRACKER.INGEST (--redis-ingest=module): load the module tracker_ingest.so "
          "into Redis (loadmodule) or run with --redis-ingest=lua") {}

Redirected::Redirected(std::string_view text) : ReplyError(text) {
  // "MOVED 3999 127.0.0.1:6381"
  std::string_view rest = text.substr(std::min(text.size(), prefix().size() + 1));
  auto space = rest.find(' ');
  if (space == std::string_view::npos) return;
  long slot = -1;
  auto [end, error] = std::from_chars(rest.data(), rest.data() + space, slot);
  if (error == std::errc{} && end == rest.data() + space) slot_ = slot;
  endpoint_ = rest.substr(space + 1);
}

std::exception_ptr error_from_reply(std::string_view text) {
  std::string_view prefix = first_word(text);
  if (prefix == "TRYAGAIN") return std::make_exception_ptr(TryAgain("redis: " + std::string(text)));
  for (std::string_view transient : kTransient) {
    if (prefix == transient) return std::make_exception_ptr(ports::StoreBusy("redis: " + std::string(text)));
  }
  if (prefix == "NOSCRIPT") return std::make_exception_ptr(ScriptMissing(text));
  if (prefix == "MOVED" || prefix == "ASK") return std::make_exception_ptr(Redirected(text));
  return std::make_exception_ptr(ReplyError(text));
}

}  // namespace tracker::redis
