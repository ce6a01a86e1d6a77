#include "http/post_routes.hpp"

#include "http/query.hpp"

#include <boost/json.hpp>

namespace tracker::http {

namespace json = boost::json;
using boost::asio::awaitable;

namespace {

Response bad_id(std::string_view field) {
  return error_response(Status::bad_request, "INVALID_VALUE", std::string(field) + " must be an integer >= 1", field);
}

}  // namespace

void add_post_routes(Router& router, app::PostService& posts, app::SearchService& search) {
  using beast_http::verb;

  router.add(verb::post, "/api/posts", Access::write, [&posts](const Request& request, const PathParams&) -> awaitable<Response> {
    json::value body;
    Response error;
    if (!parse_json_body(request, body, error)) co_return error;
    auto post = domain::validate_new_post(body);
    if (auto* problem = std::get_if<domain::FieldError>(&post)) co_return invalid(*problem);
    std::int64_t id = co_await posts.create(std::get<domain::NewPost>(post));
    Response response = json_response(Status::created, json::object{{"id", id}});
    response.set(beast_http::field::location, "/api/posts/" + std::to_string(id));
    co_return response;
  });

  router.add(verb::post, "/api/posts/like", Access::write, [&posts](const Request& request, const PathParams&) -> awaitable<Response> {
    json::value body;
    Response error;
    if (!parse_json_body(request, body, error)) co_return error;
    auto toggle = domain::validate_like_toggle(body);
    if (auto* problem = std::get_if<domain::FieldError>(&toggle)) co_return invalid(*problem);
    const auto& like = std::get<domain::LikeToggle>(toggle);
    auto outcome = co_await posts.toggle_like(like);
    if (!outcome) {
      co_return error_response(Status::not_found, "NOT_FOUND", "no post with id " + std::to_string(like.post_id),
                               "postId");
    }
    if (!outcome->event_recorded) {
      // The toggle is committed; retrying would toggle again. Say what the state is.
      Response response = error_response(
          Status::service_unavailable, "EVENT_NOT_RECORDED",
          std::string("the post is now ") + (outcome->state.liked ? "liked" : "not liked") + " (likeCount " +
              std::to_string(outcome->state.like_count) + "), but its " + (outcome->state.liked ? "LIKE" : "UNLIKE") +
              " event could not be recorded; do not repeat the toggle");
      response.set(beast_http::field::retry_after, "1");
      co_return response;
    }
    co_return json_response(Status::ok, json::object{{"postId", like.post_id},
                                                     {"userId", like.user_id},
                                                     {"liked", outcome->state.liked},
                                                     {"likeCount", outcome->state.like_count}});
  });

  router.add(verb::get, "/api/posts/{id}", Access::write, [&posts](const Request& request, const PathParams& path) -> awaitable<Response> {
    if (auto problem = domain::reject_unknown(valid_query_params(request), {})) co_return invalid(*problem);
    auto id = domain::parse_id(path.at("id"));
    if (!id) co_return bad_id("id");
    auto post = co_await posts.get(*id);
    if (!post) co_return error_response(Status::not_found, "NOT_FOUND", "no post with id " + std::to_string(*id));
    co_return json_response(Status::ok, domain::post_json(*post, true));
  });

  router.add(verb::get, "/api/search", Access::write, [&search](const Request& request, const PathParams&) -> awaitable<Response> {
    auto query = domain::parse_search_query(valid_query_params(request));
    if (auto* problem = std::get_if<domain::FieldError>(&query)) co_return invalid(*problem);
    const auto& search_query = std::get<domain::SearchQuery>(query);
    domain::RenderedPosts found = co_await search.search(search_query);
    // {"keyword": ..., "posts": [...]}, the posts pasted as they were rendered (and cached).
    std::string body;
    body.reserve(found.json.size() + search_query.keyword.size() + 32);
    body += "{\"keyword\":";
    domain::append_json_string(body, search_query.keyword);
    body += ",\"posts\":";
    body += found.json;
    body += '}';
    co_return json_text_response(Status::ok, std::move(body));
  }, Effects::changes_state);  // a search records a SEARCH event and the user's keyword

  router.add(verb::get, "/api/search/recent/{userId}", Access::write, [&search](const Request& request, const PathParams& path) -> awaitable<Response> {
    if (auto problem = domain::reject_unknown(valid_query_params(request), {})) co_return invalid(*problem);
    auto user = domain::parse_id(path.at("userId"));
    if (!user) co_return bad_id("userId");
    auto keywords = co_await search.recent_keywords(*user);
    json::array items;
    for (const auto& keyword : keywords) items.emplace_back(keyword);
    co_return json_response(Status::ok, json::object{{"userId", *user}, {"keywords", std::move(items)}});
  });
}

}  // namespace tracker::http
