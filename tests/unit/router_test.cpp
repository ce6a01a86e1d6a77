// Method + path dispatch: literal and {param} segments, 404, 405 with Allow, HEAD as GET
// (when the GET changes nothing), and the one place where a handler's exception is answered.
#include "http/router.hpp"

#include "domain/event_validation.hpp"
#include "ports/errors.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <exception>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using tracker::http::Access;
using tracker::http::beast_http::verb;
using tracker::http::Handler;
using tracker::http::PathParams;
using tracker::http::Request;
using tracker::http::Response;
using tracker::http::Router;
using tracker::http::Status;

// Runs the router's awaitable to completion on a private io_context.
Response dispatch(const Router& router, verb method, std::string target) {
  Request request{method, target, 11};
  asio::io_context io;
  std::optional<Response> response;
  std::exception_ptr failure;
  asio::co_spawn(io, router.handle(request, tracker::http::Caller{}), [&](std::exception_ptr error, Response result) {
    failure = error;
    response = std::move(result);
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
  EXPECT_TRUE(response.has_value()) << "the handler never completed";
  return response.value_or(Response{});
}

// What a handler saw, so tests can check which one ran and with which parameters.
struct Call {
  std::string name;
  verb method;
  PathParams params;
};

// A handler that records its call and answers 200 with its name as the body.
Handler recorder(std::string name, std::vector<Call>& calls) {
  return [name, &calls](const Request& request, const PathParams& params)
             -> asio::awaitable<Response> {
    calls.push_back({name, request.method(), params});
    Response response{Status::ok, 11};
    response.body() = name;
    co_return response;
  };
}

json::value error_of(const Response& response) { return json::parse(response.body()).at("error"); }
std::string code_of(const Response& response) {
  return std::string(error_of(response).at("code").as_string());
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() {
    router.add(verb::post, "/api/events", Access::write, recorder("ingest", calls));
    router.add(verb::post, "/api/users/events", Access::write, recorder("ingest-alias", calls));
    router.add(verb::post, "/api/events/batch", Access::write, recorder("batch", calls));
    router.add(verb::get, "/api/statistics", Access::read, recorder("statistics", calls));
    router.add(verb::get, "/api/search/recent/{userId}", Access::write, recorder("recent", calls));
    router.add(verb::get, "/api/posts/{postId}/likes/{kind}", Access::write, recorder("post-likes", calls));
    router.add(verb::get, "/health/live", Access::open, recorder("live-get", calls));
    router.add(verb::put, "/health/live", Access::open, recorder("live-put", calls));
  }

  Router router;
  std::vector<Call> calls;
};

TEST_F(RouterTest, DispatchesLiteralPathsByMethod) {
  Response response = dispatch(router, verb::post, "/api/events");
  EXPECT_EQ(response.result(), Status::ok);
  EXPECT_EQ(response.body(), "ingest");
  EXPECT_EQ(dispatch(router, verb::post, "/api/users/events").body(), "ingest-alias");
  EXPECT_EQ(dispatch(router, verb::post, "/api/events/batch").body(), "batch");
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_TRUE(calls[0].params.empty());
}

TEST_F(RouterTest, PicksTheRouteOfTheRequestMethodOnASharedPath) {
  EXPECT_EQ(dispatch(router, verb::get, "/health/live").body(), "live-get");
  EXPECT_EQ(dispatch(router, verb::put, "/health/live").body(), "live-put");
}

TEST_F(RouterTest, IgnoresTheQueryString) {
  EXPECT_EQ(dispatch(router, verb::get, "/api/statistics?eventType=LIKE&componentId=1003&postId=7")
                .body(),
            "statistics");
  EXPECT_EQ(dispatch(router, verb::get, "/api/statistics?").body(), "statistics");
}

TEST_F(RouterTest, CapturesPathParameters) {
  EXPECT_EQ(dispatch(router, verb::get, "/api/search/recent/42").body(), "recent");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].params, (PathParams{{"userId", "42"}}));
}

TEST_F(RouterTest, CapturesSeveralParametersAndKeepsLiteralSegmentsStrict) {
  EXPECT_EQ(dispatch(router, verb::get, "/api/posts/7/likes/daily?from=1").body(), "post-likes");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].params, (PathParams{{"postId", "7"}, {"kind", "daily"}}));

  EXPECT_EQ(dispatch(router, verb::get, "/api/posts/7/like/daily").result(), Status::not_found);
}

TEST_F(RouterTest, ParameterMatchesExactlyOneSegment) {
  EXPECT_EQ(dispatch(router, verb::get, "/api/search/recent").result(), Status::not_found);
  EXPECT_EQ(dispatch(router, verb::get, "/api/search/recent/1/2").result(), Status::not_found);
  EXPECT_TRUE(calls.empty());
}

TEST_F(RouterTest, ParameterCanHoldAnyText) {
  dispatch(router, verb::get, "/api/search/recent/user-%ED%95%9C");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].params.at("userId"), "user-%ED%95%9C") << "passed on as sent";
}

TEST_F(RouterTest, UnknownPathIs404InTheContractShape) {
  for (const char* target : {"/", "/api", "/api/event", "/api/events/batch/1", "/API/events",
                             "/health", "/api/statistics/extra"}) {
    SCOPED_TRACE(target);
    Response response = dispatch(router, verb::post, target);
    EXPECT_EQ(response.result(), Status::not_found);
    EXPECT_EQ(response[tracker::http::beast_http::field::content_type], "application/json");
    EXPECT_EQ(code_of(response), "NOT_FOUND");
    EXPECT_FALSE(error_of(response).as_object().contains("field"));
  }
  EXPECT_TRUE(calls.empty());
}

TEST_F(RouterTest, KnownPathWithAnotherMethodIs405WithAllow) {
  Response response = dispatch(router, verb::get, "/api/events");
  EXPECT_EQ(response.result(), Status::method_not_allowed);
  EXPECT_EQ(response[tracker::http::beast_http::field::allow], "POST");
  EXPECT_EQ(code_of(response), "METHOD_NOT_ALLOWED");
  EXPECT_TRUE(calls.empty());
}

TEST_F(RouterTest, AllowListsEveryMethodOfThePath) {
  Response response = dispatch(router, verb::delete_, "/health/live");
  EXPECT_EQ(response.result(), Status::method_not_allowed);
  EXPECT_EQ(response[tracker::http::beast_http::field::allow], "GET, PUT");
  EXPECT_TRUE(calls.empty());
}

TEST_F(RouterTest, AllowCoversParameterisedPaths) {
  Response response = dispatch(router, verb::post, "/api/search/recent/42");
  EXPECT_EQ(response.result(), Status::method_not_allowed);
  EXPECT_EQ(response[tracker::http::beast_http::field::allow], "GET");
}

TEST_F(RouterTest, HeadIsServedByTheGetRoute) {
  Response response = dispatch(router, verb::head, "/api/search/recent/9");
  EXPECT_EQ(response.result(), Status::ok);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].name, "recent");
  EXPECT_EQ(calls[0].method, verb::head) << "the handler sees the real method";
  EXPECT_EQ(calls[0].params.at("userId"), "9");
}

TEST_F(RouterTest, HeadOnAPostOnlyPathIs405) {
  Response response = dispatch(router, verb::head, "/api/events");
  EXPECT_EQ(response.result(), Status::method_not_allowed);
  EXPECT_EQ(response[tracker::http::beast_http::field::allow], "POST");
}

TEST_F(RouterTest, GetIsNotServedByAHeadRoute) {
  Router head_only;
  std::vector<Call> seen;
  head_only.add(verb::head, "/ping", Access::write, recorder("head", seen));
  EXPECT_EQ(dispatch(head_only, verb::get, "/ping").result(), Status::method_not_allowed);
  EXPECT_TRUE(seen.empty());
}

TEST_F(RouterTest, ToleratesEmptySegments) {
  EXPECT_EQ(dispatch(router, verb::post, "/api/events/").body(), "ingest");
  EXPECT_EQ(dispatch(router, verb::post, "//api//events").body(), "ingest");
}

TEST_F(RouterTest, RejectsATargetThatIsNotAnOriginForm) {
  for (const char* target : {"http://example.com/api/events", "*", "api/events", "/a b",
                             "/api/events#x"}) {
    SCOPED_TRACE(target);
    Response response = dispatch(router, verb::post, target);
    EXPECT_EQ(response.result(), Status::bad_request);
    EXPECT_EQ(code_of(response), "BAD_TARGET");
  }
  EXPECT_TRUE(calls.empty());
}

TEST_F(RouterTest, FirstRegisteredRouteWinsForTheSameMethodAndPath) {
  Router ordered;
  std::vector<Call> seen;
  ordered.add(verb::get, "/api/search/recent/{userId}", Access::write, recorder("pattern", seen));
  ordered.add(verb::get, "/api/search/recent/me", Access::write, recorder("literal", seen));
  EXPECT_EQ(dispatch(ordered, verb::get, "/api/search/recent/me").body(), "pattern");
  EXPECT_EQ(dispatch(ordered, verb::get, "/api/search/recent/5").body(), "pattern");
}

TEST_F(RouterTest, EmptyRouterAnswers404) {
  Router empty;
  EXPECT_EQ(dispatch(empty, verb::get, "/").result(), Status::not_found);
}

// A handler that throws `failure`.
template <class Failure>
Handler throwing(Failure failure) {
  return [failure](const Request&, const PathParams&) -> asio::awaitable<Response> {
    throw failure;
    co_return Response{};
  };
}

TEST_F(RouterTest, WhatAHandlerThrowsIsAnsweredInOnePlace) {
  Router failing;
  failing.add(verb::get, "/bug", Access::write, throwing(std::runtime_error("vector::at sekrit")));
  failing.add(verb::get, "/store", Access::write, throwing(tracker::ports::StoreRejected("postgres: ERROR: sekrit")));
  failing.add(verb::get, "/loading", Access::write, throwing(tracker::ports::StoreBusy("redis: LOADING sekrit")));
  failing.add(verb::get, "/field", Access::write,
              throwing(tracker::domain::FieldError{"INVALID_VALUE", "limit must be 1..100", "limit"}));

  Response bug = dispatch(failing, verb::get, "/bug");
  EXPECT_EQ(bug.result(), Status::internal_server_error);
  EXPECT_EQ(code_of(bug), "INTERNAL");
  for (const char* target : {"/store", "/loading"}) {
    Response store = dispatch(failing, verb::get, target);
    EXPECT_EQ(store.result(), Status::service_unavailable) << target;
    EXPECT_EQ(store[tracker::http::beast_http::field::retry_after], "1") << target;
    EXPECT_EQ(store.body().find("sekrit"), std::string::npos) << store.body();
  }
  EXPECT_EQ(bug.body().find("sekrit"), std::string::npos) << bug.body();
  Response field = dispatch(failing, verb::get, "/field");
  EXPECT_EQ(field.result(), Status::bad_request);
  EXPECT_EQ(error_of(field).at("field"), "limit");
}

TEST_F(RouterTest, HeadOfAGetThatChangesStateIs405AndRunsNothing) {
  Router search;
  std::vector<Call> seen;
  search.add(verb::get, "/api/search", Access::write, recorder("search", seen), tracker::http::Effects::changes_state);
  Response response = dispatch(search, verb::head, "/api/search?keyword=zz&userId=5");
  EXPECT_EQ(response.result(), Status::method_not_allowed);
  EXPECT_EQ(response[tracker::http::beast_http::field::allow], "GET");
  EXPECT_TRUE(seen.empty());
  EXPECT_EQ(dispatch(search, verb::get, "/api/search?keyword=zz&userId=5").body(), "search");
}

TEST_F(RouterTest, ListsItsRoutesAsAddedWithTheirPatterns) {
  std::vector<std::string> listed;
  for (const auto& route : router.routes()) {
    listed.push_back(std::string(tracker::http::beast_http::to_string(route.method)) + " " + route.pattern);
  }
  EXPECT_EQ(listed, (std::vector<std::string>{
                        "POST /api/events", "POST /api/users/events", "POST /api/events/batch",
                        "GET /api/statistics", "GET /api/search/recent/{userId}",
                        "GET /api/posts/{postId}/likes/{kind}", "GET /health/live", "PUT /health/live"}));
}

// A gate that refuses with 401 when told to, and otherwise names the caller's key.
class TestGate : public tracker::http::Gate {
 public:
  asio::awaitable<std::optional<Response>> admit(const Request&, tracker::http::Caller& caller,
                                                 Access access) const override {
    seen.push_back(access);
    if (refuse) co_return tracker::http::error_response(Status::unauthorized, "UNAUTHORIZED", "no key");
    caller.key_name = "key-" + std::string(tracker::http::to_string(access));
    co_return std::nullopt;
  }
  bool refuse = false;
  mutable std::vector<Access> seen;
};

TEST_F(RouterTest, GatesRunBeforeEveryRouteButTheOpenOnesAndMayAnswerInstead) {
  TestGate first, second;
  router.add_gate(first);
  router.add_gate(second);
  first.refuse = true;
  Response refused = dispatch(router, verb::post, "/api/events");
  EXPECT_EQ(refused.result(), Status::unauthorized);
  EXPECT_TRUE(calls.empty());
  EXPECT_TRUE(second.seen.empty()) << "a refusal ends the gates";
  EXPECT_EQ(dispatch(router, verb::get, "/health/live").body(), "live-get");
  EXPECT_EQ(first.seen, std::vector<Access>{Access::write}) << "open routes pass no gate";

  first.refuse = false;
  EXPECT_EQ(dispatch(router, verb::get, "/api/statistics").body(), "statistics");
  EXPECT_EQ(second.seen, std::vector<Access>{Access::read});
  // 404 and 405 are answered before any gate: they say nothing a key would protect.
  EXPECT_EQ(dispatch(router, verb::get, "/nowhere").result(), Status::not_found);
  EXPECT_EQ(dispatch(router, verb::delete_, "/api/events").result(), Status::method_not_allowed);
  EXPECT_EQ(second.seen.size(), 1u);
}

}  // namespace

namespace {

TEST(RouterBodyLimitTest, TheLimitIsTheRoutePatternsNotAPrefixOfTheTarget) {
  tracker::http::Router router;
  router.set_default_body_limit(100);
  router.limit_body("/api/events/batch", 4000);
  router.limit_body("/api/posts/{id}/images", 9000);
  EXPECT_EQ(router.body_limit("/api/events/batch"), 4000u);
  EXPECT_EQ(router.body_limit("/api/events/batch?x=1"), 4000u);
  EXPECT_EQ(router.body_limit("//api/events/batch/"), 4000u);  // empty segments are ignored, as in routing
  EXPECT_EQ(router.body_limit("/api/events/batchmore"), 100u);
  EXPECT_EQ(router.body_limit("/api/events/batch/more"), 100u);
  EXPECT_EQ(router.body_limit("/api/events"), 100u);
  EXPECT_EQ(router.body_limit("/api/posts/7/images"), 9000u);
  EXPECT_EQ(router.body_limit("/api/posts/7"), 100u);
  EXPECT_EQ(router.body_limit("/"), 100u);
  EXPECT_EQ(router.body_limit(""), 100u);
}

}  // namespace
