#pragma once
#include "ports/post_repository.hpp"
#include "postgres/pool.hpp"

namespace tracker::postgres {

// Posts and likes in PostgreSQL (sql/003_posts.sql): one statement, one round trip per
// operation; toggles and searches through the functions toggle_like and search_posts.
class PostRepository final : public ports::PostRepository {
 public:
  PostRepository(Pool& pool, milliseconds timeout);
  asio::awaitable<std::int64_t> create(const domain::NewPost& post) override;
  asio::awaitable<std::optional<domain::Post>> get(std::int64_t post_id) override;
  asio::awaitable<std::optional<domain::LikeState>> toggle_like(std::int64_t user_id, std::int64_t post_id) override;
  asio::awaitable<std::vector<domain::Post>> search_by_hashtag(const std::string& hashtag,
                                                              std::size_t limit) override;

 private:
  Pool& pool_;
  milliseconds timeout_;
};

}  // namespace tracker::postgres
