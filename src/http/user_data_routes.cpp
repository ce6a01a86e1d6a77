#include "http/user_data_routes.hpp"

#include "domain/post.hpp"
#include "http/query.hpp"

#include <boost/json.hpp>

namespace tracker::http {

namespace json = boost::json;

void add_user_data_routes(Router& router, app::UserDataService& user_data) {
  router.add(
      beast_http::verb::delete_, "/api/users/{userId}/events", Access::admin,
      [&user_data](const Request& request, const PathParams& path) -> boost::asio::awaitable<Response> {
        if (auto problem = domain::reject_unknown(valid_query_params(request), {})) co_return invalid(*problem);
        auto user = domain::parse_id(path.at("userId"));
        if (!user) {
          co_return error_response(Status::bad_request, "INVALID_VALUE", "userId must be an integer >= 1",
                                   "userId");
        }
        const ports::UserErasure erased = co_await user_data.erase(*user);
        co_return json_response(Status::ok,
                                json::object{{"userId", erased.user_id},
                                             {"eventsDeleted", json::object{{"stored", erased.stored_events},
                                                                            {"unflushed", erased.unflushed_events},
                                                                            {"rejected", erased.rejected_events}}},
                                             {"recentKeywordsDeleted", erased.recent_keywords},
                                             {"likesDeleted", erased.likes}});
      },
      Effects::changes_state);
}

}  // namespace tracker::http
