#pragma once
#include "metrics/metrics.hpp"
#include "ports/post_repository.hpp"
#include "postgres/pool.hpp"

#include <boost/asio/any_completion_handler.hpp>

#include <deque>
#include <unordered_set>

namespace tracker::postgres {

// Posts and likes in PostgreSQL (tables: sql/003_posts.sql, 005, 008; functions: sql/functions/): one
// statement, one round trip per operation; searches through the function search_posts,
// toggles through toggle_likes. The statements of reads, searches and toggles are
// prepared once per pooled connection.
//
// Like toggles are grouped: they go to PostgreSQL together, in one call of toggle_likes
// and so one commit, whose WAL flush they share. A group is sent at the end of the
// event-loop turn in which its first toggle arrived, unless max_toggle_groups are on
// their way already: then the toggles arriving meanwhile wait for one of those to end
// and go together in the next (up to max_toggle_group per call). Groups on their way at
// once never share a post: a toggle of a post that one of them holds waits for it here,
// not for the row lock in PostgreSQL. Still, more groups at once are smaller groups, and
// each call costs PostgreSQL about 0.4 ms besides its toggles (executor start, commit),
// so fewer, larger groups share commits, locks and statements: with the like toggles
// of bench/posts.sh, two or three groups per thread cost more CPU per toggle and waited
// longer for WAL flushes than one. Owned by one I/O thread.
class PostRepository final : public ports::PostRepository {
 public:
  PostRepository(asio::any_io_executor executor, Pool& pool, milliseconds timeout, metrics::Registry& metrics,
                 std::size_t max_toggle_group = 256, std::size_t max_toggle_groups = 1);
  asio::awaitable<std::int64_t> create(const domain::NewPost& post) override;
  asio::awaitable<std::optional<domain::Post>> get(std::int64_t post_id) override;
  asio::awaitable<std::optional<domain::LikeState>> toggle_like(std::int64_t user_id, std::int64_t post_id) override;
  asio::awaitable<std::vector<domain::Post>> search_by_hashtag(const std::string& hashtag,
                                                              std::size_t limit) override;

 private:
  using ToggleHandler = asio::any_completion_handler<void(std::exception_ptr, std::optional<domain::LikeState>)>;
  struct Toggle {
    std::int64_t user_id;
    std::int64_t post_id;
    ToggleHandler handler;
  };
  void add_toggle(std::int64_t user_id, std::int64_t post_id, ToggleHandler handler);
  void schedule_toggles();
  asio::awaitable<void> send_toggles(std::deque<Toggle> group);

  asio::any_io_executor executor_;
  Pool& pool_;
  milliseconds timeout_;
  std::size_t max_toggle_group_;
  std::size_t max_toggle_groups_;
  std::size_t toggle_groups_in_flight_ = 0;
  std::deque<Toggle> open_toggles_;  // a deque: any_completion_handler is move-only
  std::unordered_set<std::int64_t> posts_in_flight_;  // the posts of the groups on their way
  bool toggle_send_posted_ = false;
  metrics::Counter& toggle_groups_;
};

}  // namespace tracker::postgres
