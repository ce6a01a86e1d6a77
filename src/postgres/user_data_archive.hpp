#pragma once
#include "ports/user_data.hpp"
#include "postgres/pool.hpp"

namespace tracker::postgres {

// Erases a user's data from PostgreSQL in one transaction on a pooled connection, which
// first takes the erasure lock exclusively (postgres/erasure_lock.hpp): it waits for the
// flush batch in progress to commit and keeps the next one from reading the backlog until
// the erasure commits. Owned by one I/O thread.
class UserDataArchive final : public ports::UserDataArchive {
 public:
  UserDataArchive(Pool& pool, milliseconds timeout) : pool_(pool), timeout_(timeout) {}
  asio::awaitable<std::unique_ptr<ports::ArchiveErasure>> begin_erasure(
      const std::string& backlog_source, std::uint32_t shard) override;

 private:
  Pool& pool_;
  milliseconds timeout_;
};

}  // namespace tracker::postgres
