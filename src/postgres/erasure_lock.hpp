#pragma once
#include <string_view>

namespace tracker::postgres {

// One transaction-level advisory lock, shared by flush batches and taken exclusively by an
// erasure of a user's data: a batch holds it from before it reads the backlog until its
// rows are committed, so an erasure runs only while no batch is in between, and a batch
// that starts after the erasure reads the backlog the erasure cleaned (docs/DESIGN.md,
// "Erasing a user's data"). Waiting requests queue in arrival order, so neither side starves.
inline constexpr std::string_view kBatchLock =
    "select pg_advisory_xact_lock_shared(hashtext('event-tracker erasure'))";
inline constexpr std::string_view kErasureLock =
    "select pg_advisory_xact_lock(hashtext('event-tracker erasure'))";

}  // namespace tracker::postgres
