#pragma once
#include "app/user_data.hpp"
#include "http/router.hpp"

namespace tracker::http {

// DELETE /api/users/{userId}/events (admin): erases the user's raw data and answers what
// it removed: {"userId", "eventsDeleted": {"stored", "unflushed", "rejected"},
// "recentKeywordsDeleted", "likesDeleted"}.
void add_user_data_routes(Router& router, app::UserDataService& user_data);

}  // namespace tracker::http
