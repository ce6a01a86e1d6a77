#pragma once
#include "app/post_service.hpp"
#include "app/search_service.hpp"
#include "http/router.hpp"

namespace tracker::http {

// POST /api/posts, GET /api/posts/{id}, POST /api/posts/like, GET /api/search,
// GET /api/search/recent/{userId}.
void add_post_routes(Router& router, app::PostService& posts, app::SearchService& search);

}  // namespace tracker::http
