#include "postgres/post_repository.hpp"

#include "postgres/counter_archive.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace tracker::postgres {

namespace {

// The columns read for a post, in the order read_post() expects.
constexpr std::string_view kPostColumns =
    "id, user_id, content, image_urls, hashtags, visibility, like_count, "
    "(extract(epoch from created_at) * 1000)::bigint, (extract(epoch from updated_at) * 1000)::bigint";

// A text[] in PostgreSQL's output form: {a,b,"c,d","e\"f"}. An element is quoted when it
// is empty, NULL as text, or holds a delimiter, brace, quote, backslash or white space;
// inside quotes a backslash escapes the next character. (Parsed here: this runs for
// every post of every search the database answers.)
std::vector<std::string> text_list(std::string_view text) {
  auto unreadable = [] { return ports::StoreRejected("posts: unreadable array column"); };
  if (text.size() < 2 || text.front() != '{' || text.back() != '}') throw unreadable();
  std::vector<std::string> items;
  std::size_t pos = 1, end = text.size() - 1;
  if (pos == end) return items;
  for (;;) {
    std::string& item = items.emplace_back();
    if (text[pos] == '"') {
      for (++pos;; ++pos) {
        if (pos >= end) throw unreadable();
        char c = text[pos];
        if (c == '"') break;
        if (c == '\\' && ++pos >= end) throw unreadable();
        item.push_back(text[pos]);
      }
      ++pos;
    } else {
      std::size_t stop = text.find(',', pos);
      if (stop == std::string_view::npos || stop > end) stop = end;
      item.assign(text.substr(pos, stop - pos));
      if (item.empty() || item == "NULL") throw unreadable();  // no NULL elements in these columns
      pos = stop;
    }
    if (pos == end) return items;
    if (text[pos] != ',') throw unreadable();
    ++pos;
  }
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

namespace {
std::string int_array(const std::vector<std::int64_t>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(values[i]);
  }
  out += '}';
  return out;
}
}  // namespace

PostRepository::PostRepository(asio::any_io_executor executor, Pool& pool, milliseconds timeout,
                               metrics::Registry& metrics, std::size_t max_toggle_group,
                               std::size_t max_toggle_groups)
    : executor_(std::move(executor)),
      pool_(pool),
      timeout_(timeout),
      max_toggle_group_(std::max<std::size_t>(max_toggle_group, 1)),
      max_toggle_groups_(std::max<std::size_t>(max_toggle_groups, 1)),
      toggle_groups_(metrics.counter("tracker_like_toggle_groups_total",
                                     "Calls of toggle_likes (each commits a group of like toggles)")) {}

asio::awaitable<std::int64_t> PostRepository::create(const domain::NewPost& post) {
  const std::optional<std::string> params[] = {std::to_string(post.user_id), post.content,
                                               text_array(post.image_urls), text_array(post.hashtags),
                                               std::string(domain::to_string(post.visibility))};
  Lease db = co_await pool_.acquire(timeout_);
  Result result = co_await db->execute(
      "insert into posts (user_id, content, image_urls, hashtags, visibility)"
      " values ($1::bigint, $2, $3::text[], $4::text[], $5) returning id",
      params, timeout_);
  co_return result.as_int64(0, 0);
}

asio::awaitable<std::optional<domain::Post>> PostRepository::get(std::int64_t post_id) {
  const std::optional<std::string> params[] = {std::to_string(post_id)};
  Lease db = co_await pool_.acquire(timeout_);
  static const std::string sql = "select " + std::string(kPostColumns) + " from posts where id = $1::bigint";
  Result result = co_await db->execute_prepared("posts.get", sql, params, timeout_);
  if (result.rows() == 0) co_return std::nullopt;
  co_return read_post(result, 0);
}

asio::awaitable<std::optional<domain::LikeState>> PostRepository::toggle_like(std::int64_t user_id,
                                                                              std::int64_t post_id) {
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>,
                                          void(std::exception_ptr, std::optional<domain::LikeState>)>(
      [this, user_id, post_id](ToggleHandler handler) { add_toggle(user_id, post_id, std::move(handler)); },
      asio::use_awaitable);
}

void PostRepository::add_toggle(std::int64_t user_id, std::int64_t post_id, ToggleHandler handler) {
  // Built in place: assigning an any_completion_handler would wrap it in itself.
  open_toggles_.push_back(Toggle{user_id, post_id, std::move(handler)});
  schedule_toggles();
}

// Sends the waiting toggles at the end of this turn of the event loop (so that every
// toggle arriving in it joins them), as far as groups may be sent. A toggle of a post
// that a group on its way holds waits for that group: groups sent at once never share a
// post, so none waits for another's row lock (and commit) in PostgreSQL, and the toggles
// of one post still reach it in the order they came.
void PostRepository::schedule_toggles() {
  if (toggle_send_posted_ || open_toggles_.empty() || toggle_groups_in_flight_ >= max_toggle_groups_) return;
  toggle_send_posted_ = true;
  asio::post(executor_, [this] {
    toggle_send_posted_ = false;
    while (!open_toggles_.empty() && toggle_groups_in_flight_ < max_toggle_groups_) {
      std::deque<Toggle> group, held;
      while (!open_toggles_.empty() && group.size() < max_toggle_group_) {
        Toggle& next = open_toggles_.front();
        (posts_in_flight_.contains(next.post_id) ? held : group).push_back(std::move(next));
        open_toggles_.pop_front();
      }
      while (!held.empty()) {
        open_toggles_.push_front(std::move(held.back()));
        held.pop_back();
      }
      if (group.empty()) return;  // every waiting toggle's post is on its way: a group's end sends them
      for (const Toggle& toggle : group) posts_in_flight_.insert(toggle.post_id);
      ++toggle_groups_in_flight_;
      asio::co_spawn(executor_, send_toggles(std::move(group)), asio::detached);
    }
  });
}

asio::awaitable<void> PostRepository::send_toggles(std::deque<Toggle> group) {
  toggle_groups_.inc();
  std::vector<std::int64_t> users, posts;
  for (const Toggle& toggle : group) {
    users.push_back(toggle.user_id);
    posts.push_back(toggle.post_id);
  }
  const std::optional<std::string> params[] = {int_array(users), int_array(posts)};
  std::vector<std::optional<domain::LikeState>> states(group.size());
  std::exception_ptr failure;
  try {
    Lease db = co_await pool_.acquire(timeout_);
    Result result = co_await db->execute_prepared(
        "posts.toggle_likes", "select liked, like_count from toggle_likes($1::bigint[], $2::bigint[])", params,
        timeout_);
    if (result.rows() != static_cast<int>(group.size())) {
      throw ports::StoreRejected("toggle_likes answered " + std::to_string(result.rows()) + " rows for " +
                                 std::to_string(group.size()) + " toggles");
    }
    for (int row = 0; row < result.rows(); ++row) {
      if (!result.is_null(row, 0)) {
        states[static_cast<std::size_t>(row)] = domain::LikeState{result.text(row, 0) == "t", result.as_int64(row, 1)};
      }
    }
  } catch (...) {
    failure = std::current_exception();
  }
  for (std::size_t i = 0; i < group.size(); ++i) {
    // Posted, so that each waiting request resumes from the event loop, not from here.
    asio::post(executor_, [handler = std::move(group[i].handler), failure, state = states[i]]() mutable {
      std::move(handler)(failure, state);
    });
  }
  for (const Toggle& toggle : group) posts_in_flight_.erase(toggle.post_id);
  --toggle_groups_in_flight_;
  schedule_toggles();
}

asio::awaitable<std::vector<domain::Post>> PostRepository::search_by_hashtag(const std::string& hashtag,
                                                                             std::size_t limit) {
  // Prepared, with search_posts() inlined into it and the limit written into the text:
  // with the limit as a parameter the server would plan every call for its values (a
  // plan for any limit looks dearer than one for 10), and planning costs more than the
  // search itself. One statement for limits up to 10 and one for up to 50; the rows past
  // `limit` are dropped here.
  static const std::string columns = "select " + std::string(kPostColumns) + " from search_posts($1, ";
  static const std::string default_sql = columns + std::to_string(domain::kDefaultSearchLimit) + ")";
  static const std::string max_sql = columns + std::to_string(domain::kMaxSearchLimit) + ")";
  Lease db = co_await pool_.acquire(timeout_);
  Result result;
  if (limit <= domain::kMaxSearchLimit) {
    const std::optional<std::string> params[] = {hashtag};
    bool by_default = limit <= domain::kDefaultSearchLimit;
    result = co_await db->execute_prepared(by_default ? "posts.search.default" : "posts.search.max",
                                           by_default ? default_sql : max_sql, params, timeout_);
  } else {
    const std::optional<std::string> params[] = {hashtag, std::to_string(limit)};
    result = co_await db->execute(columns + "$2::int)", params, timeout_);
  }
  std::vector<domain::Post> posts;
  std::size_t rows = std::min(static_cast<std::size_t>(result.rows()), limit);
  posts.reserve(rows);
  for (std::size_t row = 0; row < rows; ++row) posts.push_back(read_post(result, static_cast<int>(row)));
  co_return posts;
}

}  // namespace tracker::postgres
