#include "postgres/post_repository.hpp"

#include "postgres/counter_archive.hpp"

#include <boost/json/parse.hpp>

namespace tracker::postgres {

namespace json = boost::json;

namespace {

// The columns read for a post, in the order read_post() expects. Arrays come as JSON.
constexpr std::string_view kPostColumns =
    "id, user_id, content, array_to_json(image_urls)::text, array_to_json(hashtags)::text, visibility, "
    "like_count, (extract(epoch from created_at) * 1000)::bigint, (extract(epoch from updated_at) * 1000)::bigint";

std::vector<std::string> text_list(std::string_view json_text) {
  std::vector<std::string> items;
  boost::system::error_code ec;
  json::value value = json::parse(json_text, ec);
  if (ec || !value.is_array()) throw ports::StoreRejected("posts: unreadable array column");
  for (const auto& item : value.get_array()) {
    if (item.is_string()) items.emplace_back(item.get_string());
  }
  return items;
}

domain::Post read_post(const Result& result, int row) {
  domain::Post post;
  post.id = result.as_int64(row, 0);
  post.user_id = result.as_int64(row, 1);
  post.content = std::string(result.text(row, 2));
  post.image_urls = text_list(result.text(row, 3));
  post.hashtags = text_list(result.text(row, 4));
  post.visibility = domain::parse_visibility(result.text(row, 5)).value_or(domain::Visibility::Public);
  post.like_count = result.as_int64(row, 6);
  post.created_at_ms = result.as_int64(row, 7);
  post.updated_at_ms = result.as_int64(row, 8);
  return post;
}

}  // namespace

PostRepository::PostRepository(Pool& pool, milliseconds timeout) : pool_(pool), timeout_(timeout) {}

asio::awaitable<std::int64_t> PostRepository::create(const domain::NewPost& post) {
  const std::optional<std::string> params[] = {std::to_string(post.user_id), post.content,
                                               text_array(post.image_urls), text_array(post.hashtags),
                                               std::string(domain::to_string(post.visibility))};
  Lease db = co_await pool_.acquire(timeout_);
  // The hashtag counts are only a planning hint for search_posts(). Counted in sorted
  // order, so that concurrent posts sharing hashtags lock their rows in the same order.
  Result result = co_await db->execute(
      "with created as ("
      "  insert into posts (user_id, content, image_urls, hashtags, visibility)"
      "  values ($1::bigint, $2, $3::text[], $4::text[], $5) returning id, hashtags),"
      " counted as ("
      "  insert into hashtag_stats (hashtag, post_count)"
      "  select tag, 1 from created, unnest(created.hashtags) as tag order by tag"
      "  on conflict (hashtag) do update set post_count = hashtag_stats.post_count + 1)"
      " select id from created",
      params, timeout_);
  co_return result.as_int64(0, 0);
}

asio::awaitable<std::optional<domain::Post>> PostRepository::get(std::int64_t post_id) {
  const std::optional<std::string> params[] = {std::to_string(post_id)};
  Lease db = co_await pool_.acquire(timeout_);
  Result result = co_await db->execute(
      "select " + std::string(kPostColumns) + " from posts where id = $1::bigint", params, timeout_);
  if (result.rows() == 0) co_return std::nullopt;
  co_return read_post(result, 0);
}

asio::awaitable<std::optional<domain::LikeState>> PostRepository::toggle_like(std::int64_t user_id,
                                                                              std::int64_t post_id) {
  const std::optional<std::string> params[] = {std::to_string(user_id), std::to_string(post_id)};
  Lease db = co_await pool_.acquire(timeout_);
  Result result = co_await db->execute("select liked, like_count from toggle_like($1::bigint, $2::bigint)",
                                       params, timeout_);
  if (result.rows() == 0) co_return std::nullopt;
  co_return domain::LikeState{result.text(0, 0) == "t", result.as_int64(0, 1)};
}

asio::awaitable<std::vector<domain::Post>> PostRepository::search_by_hashtag(const std::string& hashtag,
                                                                             std::size_t limit) {
  const std::optional<std::string> params[] = {hashtag, std::to_string(limit)};
  Lease db = co_await pool_.acquire(timeout_);
  Result result = co_await db->execute(
      "select " + std::string(kPostColumns) + " from search_posts($1, $2::int)", params, timeout_);
  std::vector<domain::Post> posts;
  posts.reserve(static_cast<std::size_t>(result.rows()));
  for (int row = 0; row < result.rows(); ++row) posts.push_back(read_post(result, row));
  co_return posts;
}

}  // namespace tracker::postgres
