#pragma once
#include "app/ingest_service.hpp"
#include "domain/post.hpp"
#include "metrics/metrics.hpp"
#include "ports/post_repository.hpp"

#include <optional>
#include <string>

namespace tracker::app {

struct ToggleOutcome {
  domain::LikeState state;
  // The LIKE or UNLIKE event of the change could not be recorded (the change stands).
  bool event_recorded = true;
  std::string failure;
};

// Creating and reading posts, and like toggles with their LIKE / UNLIKE events.
// One instance per I/O thread.
class PostService {
 public:
  PostService(ports::PostRepository& posts, IngestService& ingest, metrics::Registry& metrics);

  // Store failures propagate as ports::StoreError.
  boost::asio::awaitable<std::int64_t> create(const domain::NewPost& post);
  boost::asio::awaitable<std::optional<domain::Post>> get(std::int64_t post_id);
  // Toggles in the database, then records exactly one LIKE or UNLIKE event (component
  // 1003) through the ingestion path. nullopt when the post does not exist. A failure
  // of the database propagates; a failure to record the event does not undo the toggle
  // and is reported in the outcome.
  boost::asio::awaitable<std::optional<ToggleOutcome>> toggle_like(const domain::LikeToggle& toggle);

 private:
  ports::PostRepository& posts_;
  IngestService& ingest_;
  metrics::Counter& created_;
  metrics::Counter& liked_;
  metrics::Counter& unliked_;
  metrics::Counter& unrecorded_;
};

}  // namespace tracker::app
