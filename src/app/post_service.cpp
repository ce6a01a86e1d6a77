#include "app/post_service.hpp"

#include "app/server_events.hpp"
#include "ports/errors.hpp"

#include <spdlog/spdlog.h>

namespace tracker::app {

namespace asio = boost::asio;

PostService::PostService(ports::PostRepository& posts, IngestService& ingest, metrics::Registry& metrics)
    : posts_(posts),
      ingest_(ingest),
      created_(metrics.counter("tracker_posts_created_total", "Posts created through the API")),
      liked_(metrics.counter("tracker_like_toggles_total", "Like toggles by outcome", "state=\"liked\"")),
      unliked_(metrics.counter("tracker_like_toggles_total", "Like toggles by outcome", "state=\"unliked\"")),
      unrecorded_(metrics.counter("tracker_like_events_unrecorded_total",
                                  "Like toggles whose LIKE/UNLIKE event could not be recorded (503)")) {}

asio::awaitable<std::int64_t> PostService::create(const domain::NewPost& post) {
  std::int64_t id = co_await posts_.create(post);
  created_.inc();
  co_return id;
}

asio::awaitable<std::optional<domain::Post>> PostService::get(std::int64_t post_id) {
  co_return co_await posts_.get(post_id);
}

asio::awaitable<std::optional<ToggleOutcome>> PostService::toggle_like(const domain::LikeToggle& toggle) {
  auto state = co_await posts_.toggle_like(toggle.user_id, toggle.post_id);
  if (!state) co_return std::nullopt;
  (state->liked ? liked_ : unliked_).inc();
  ToggleOutcome outcome;
  outcome.state = *state;
  // After the commit, so that an event never announces a change that did not happen.
  auto type = state->liked ? domain::EventType::Like : domain::EventType::Unlike;
  domain::Event event =
      server_event(type, domain::kLikeComponentId, toggle.user_id, toggle.post_id, std::nullopt, ingest_.now_ms());
  try {
    co_await ingest_.record(std::move(event));
  } catch (const ports::StoreError& error) {
    outcome.event_recorded = false;
    outcome.failure = error.what();
  }
  if (!outcome.event_recorded) {
    unrecorded_.inc();
    spdlog::warn("like toggle of post {} by user {} ({}) stands, but its event was not recorded: {}",
                 toggle.post_id, toggle.user_id, state->liked ? "liked" : "unliked", outcome.failure);
  }
  co_return outcome;
}

}  // namespace tracker::app
