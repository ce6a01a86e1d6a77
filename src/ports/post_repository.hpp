#pragma once
#include "domain/post.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tracker::ports {

// Where posts and likes live (PostgreSQL). Failures are ports::StoreError subclasses.
class PostRepository {
 public:
  virtual ~PostRepository() = default;
  // Stores the post and returns its id.
  virtual boost::asio::awaitable<std::int64_t> create(const domain::NewPost& post) = 0;
  // The post with its current like count; nullopt when there is none with that id.
  virtual boost::asio::awaitable<std::optional<domain::Post>> get(std::int64_t post_id) = 0;
  // Likes the post if the user does not like it yet, else takes the like back, in one
  // atomic step that returns the new state and count. Toggles of one post take turns, so
  // each one changes the state, and the count always equals the number of likes.
  // nullopt when the post does not exist.
  virtual boost::asio::awaitable<std::optional<domain::LikeState>> toggle_like(std::int64_t user_id,
                                                                              std::int64_t post_id) = 0;
  // PUBLIC posts whose hashtags contain `hashtag` (normalised), most liked first, then
  // newest, at most `limit`.
  virtual boost::asio::awaitable<std::vector<domain::Post>> search_by_hashtag(const std::string& hashtag,
                                                                             std::size_t limit) = 0;
};

}  // namespace tracker::ports
