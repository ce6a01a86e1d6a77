// CORS through the router: preflights before any gate, origins by the route's access,
// headers on every answer to an allowed origin (errors too), 403 for the rest.
#include "http/cors.hpp"
#include "http/router.hpp"
#include "ports/errors.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace tracker::http;
using beast_http::field;
using beast_http::verb;

constexpr const char* kShop = "https://shop.example";
constexpr const char* kDashboard = "https://dash.example:8443";

Response run(const Router& router, const Request& request) {
  asio::io_context io;
  std::optional<Response> response;
  asio::co_spawn(io, router.handle(request, Caller{}), [&](std::exception_ptr error, Response result) {
    if (error) std::rethrow_exception(error);
    response = std::move(result);
  });
  io.run();
  return response.value_or(Response{});
}

std::string code_of(const Response& response) {
  return std::string(json::parse(response.body()).at("error").at("code").as_string());
}

// Refuses every request it sees: a preflight must never meet it.
class RefusingGate : public Gate {
 public:
  asio::awaitable<std::optional<Response>> admit(const Request&, Caller&, Access) const override {
    ++seen;
    co_return error_response(Status::unauthorized, "UNAUTHORIZED", "no key");
  }
  mutable int seen = 0;
};

Handler answering(Status status) {
  return [status](const Request&, const PathParams&) -> asio::awaitable<Response> {
    co_return error_response(status, "SOME", "answer");
  };
}

Handler throwing_store_error() {
  return [](const Request&, const PathParams&) -> asio::awaitable<Response> {
    throw tracker::ports::StoreUnavailable("redis down");
    co_return Response{};
  };
}

CorsPolicy policy() {
  CorsPolicy policy;
  policy.read_origins = OriginList::parse(std::string(kDashboard) + ", http://localhost:5173/");
  policy.max_age = std::chrono::seconds(600);
  return policy;
}

class CorsTest : public ::testing::Test {
 protected:
  CorsTest() : cors(policy()) {
    router.add(verb::post, "/api/events", Access::write, answering(Status::accepted));
    router.add(verb::get, "/api/events", Access::read, answering(Status::ok));
    router.add(verb::get, "/api/statistics", Access::read, answering(Status::ok));
    router.add(verb::delete_, "/api/users/{id}/events", Access::admin, answering(Status::ok));
    router.add(verb::get, "/health/live", Access::open, answering(Status::ok));
    router.add(verb::post, "/api/broken", Access::write, throwing_store_error());
    router.set_cors(cors);
  }

  static Request preflight(std::string target, const char* origin, const char* method,
                           const char* headers = nullptr) {
    Request request{verb::options, target, 11};
    request.set(field::origin, origin);
    request.set(field::access_control_request_method, method);
    if (headers) request.set(field::access_control_request_headers, headers);
    return request;
  }

  static Request actual(verb method, std::string target, const char* origin) {
    Request request{method, target, 11};
    if (origin) request.set(field::origin, origin);
    return request;
  }

  Cors cors;
  Router router;
};

TEST_F(CorsTest, PreflightOfIngestionFromAnyOriginIs204) {
  Response answer = run(router, preflight("/api/events", kShop, "POST", "content-type,x-api-key,content-encoding"));
  EXPECT_EQ(answer.result(), Status::no_content);
  EXPECT_EQ(answer[field::access_control_allow_origin], kShop) << "echoed, not *";
  EXPECT_EQ(answer[field::vary], "Origin");
  EXPECT_EQ(answer[field::access_control_allow_methods], "POST");
  std::string headers(answer[field::access_control_allow_headers]);
  for (const char* name : {"Content-Type", "Content-Encoding", "X-Api-Key", "Authorization"}) {
    EXPECT_NE(headers.find(name), std::string::npos) << name;
  }
  EXPECT_EQ(answer[field::access_control_max_age], "600");
  EXPECT_TRUE(answer.body().empty());
}

TEST_F(CorsTest, AllowMethodsListsWhatThisOriginMayUseOnThePath) {
  EXPECT_EQ(run(router, preflight("/api/events", kShop, "POST"))[field::access_control_allow_methods], "POST");
  EXPECT_EQ(run(router, preflight("/api/events", kDashboard, "GET"))[field::access_control_allow_methods],
            "POST, GET");
  EXPECT_EQ(code_of(run(router, preflight("/api/events", kShop, "GET"))), "ORIGIN_NOT_ALLOWED");
}

TEST_F(CorsTest, PreflightsPassNoGate) {
  RefusingGate gate;
  router.add_gate(gate);
  EXPECT_EQ(run(router, preflight("/api/events", kShop, "POST")).result(), Status::no_content);
  EXPECT_EQ(run(router, preflight("/api/statistics?eventType=LIKE", kDashboard, "GET", "authorization")).result(),
            Status::no_content);
  EXPECT_EQ(gate.seen, 0);
}

TEST_F(CorsTest, ReadAndAdminPreflightsOnlyFromListedOrigins) {
  EXPECT_EQ(run(router, preflight("/api/statistics", kDashboard, "GET"))[field::access_control_allow_origin],
            kDashboard);
  EXPECT_EQ(run(router, preflight("/api/statistics", "HTTP://LOCALHOST:5173", "GET")).result(), Status::no_content)
      << "origins compare without case; a listed trailing / is forgiven";
  EXPECT_EQ(run(router, preflight("/api/users/7/events", kDashboard, "DELETE")).result(), Status::no_content);
  for (auto [target, method] : {std::pair{"/api/statistics", "GET"}, std::pair{"/api/users/7/events", "DELETE"}}) {
    SCOPED_TRACE(target);
    Response refused = run(router, preflight(target, kShop, method));
    EXPECT_EQ(refused.result(), Status::forbidden);
    EXPECT_EQ(code_of(refused), "ORIGIN_NOT_ALLOWED");
    EXPECT_TRUE(refused[field::access_control_allow_origin].empty());
  }
  EXPECT_EQ(run(router, preflight("/api/statistics", "https://dash.example", "GET")).result(), Status::forbidden)
      << "another port is another origin";
  EXPECT_EQ(run(router, preflight("/api/statistics", "null", "GET")).result(), Status::forbidden);
}

TEST_F(CorsTest, PreflightForAMethodThePathDoesNotTakeIs403) {
  Response refused = run(router, preflight("/api/events", kShop, "PUT"));
  EXPECT_EQ(refused.result(), Status::forbidden);
  EXPECT_EQ(code_of(refused), "CORS_METHOD_NOT_ALLOWED");
  EXPECT_EQ(code_of(run(router, preflight("/api/events", kShop, "post"))), "CORS_METHOD_NOT_ALLOWED")
      << "methods are case-sensitive";
}

TEST_F(CorsTest, PreflightForAHeaderNotAllowedIs403) {
  Response refused = run(router, preflight("/api/events", kShop, "POST", "content-type, x-custom-thing"));
  EXPECT_EQ(refused.result(), Status::forbidden);
  EXPECT_EQ(code_of(refused), "CORS_HEADER_NOT_ALLOWED");
  EXPECT_NE(refused.body().find("x-custom-thing"), std::string::npos);
  EXPECT_EQ(run(router, preflight("/api/events", kShop, "POST", " Content-Type ,, AUTHORIZATION ")).result(),
            Status::no_content);
}

TEST_F(CorsTest, PreflightOfAnUnknownPathIs404) {
  EXPECT_EQ(run(router, preflight("/nowhere", kShop, "POST")).result(), Status::not_found);
}

TEST_F(CorsTest, OpenRoutesAnswerAnyOriginWithStar) {
  Response answer = run(router, preflight("/health/live", "https://anyone.example", "GET"));
  EXPECT_EQ(answer.result(), Status::no_content);
  EXPECT_EQ(answer[field::access_control_allow_origin], "*");
  EXPECT_EQ(run(router, actual(verb::get, "/health/live", "https://anyone.example"))[field::access_control_allow_origin],
            "*");
}

TEST_F(CorsTest, OptionsWithoutPreflightHeadersListsTheMethods) {
  Response answer = run(router, actual(verb::options, "/api/events", nullptr));
  EXPECT_EQ(answer.result(), Status::no_content);
  EXPECT_EQ(answer[field::allow], "POST, GET, OPTIONS");
  EXPECT_TRUE(answer[field::access_control_allow_origin].empty());
}

TEST_F(CorsTest, ActualAnswersToAllowedOriginsCarryTheHeaders) {
  Response answer = run(router, actual(verb::post, "/api/events", kShop));
  EXPECT_EQ(answer.result(), Status::accepted);
  EXPECT_EQ(answer[field::access_control_allow_origin], kShop);
  EXPECT_EQ(answer[field::vary], "Origin");
  std::string exposed(answer[field::access_control_expose_headers]);
  for (const char* name : {"Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy"}) {
    EXPECT_NE(exposed.find(name), std::string::npos) << name;
  }
  EXPECT_EQ(run(router, actual(verb::get, "/api/statistics", kDashboard))[field::access_control_allow_origin],
            kDashboard);
}

TEST_F(CorsTest, ErrorsToAllowedOriginsCarryTheHeadersToo) {
  RefusingGate gate;
  router.add_gate(gate);
  Response refused = run(router, actual(verb::post, "/api/events", kShop));
  EXPECT_EQ(refused.result(), Status::unauthorized);
  EXPECT_EQ(refused[field::access_control_allow_origin], kShop) << "a page must read a 401, 429 or 503";
}

TEST_F(CorsTest, AFailureAnsweredByTheRouterCarriesTheHeaders) {
  Response failed = run(router, actual(verb::post, "/api/broken", kShop));
  EXPECT_EQ(failed.result(), Status::service_unavailable);
  EXPECT_FALSE(failed[field::retry_after].empty());
  EXPECT_EQ(failed[field::access_control_allow_origin], kShop);
}

TEST_F(CorsTest, ReadRoutesRefuseOtherOriginsWith403AndRunNothing) {
  RefusingGate gate;
  router.add_gate(gate);
  Response refused = run(router, actual(verb::get, "/api/statistics", kShop));
  EXPECT_EQ(refused.result(), Status::forbidden);
  EXPECT_EQ(code_of(refused), "ORIGIN_NOT_ALLOWED");
  EXPECT_TRUE(refused[field::access_control_allow_origin].empty());
  EXPECT_EQ(gate.seen, 0) << "refused before the gates";
}

TEST_F(CorsTest, PagesOfTheServersOwnOriginAreNotRefused) {
  Request own = actual(verb::delete_, "/api/users/7/events", "https://tracker.example:8080");
  own.set(field::host, "tracker.example:8080");
  EXPECT_EQ(run(router, own).result(), Status::ok) << "a same-origin POST or DELETE carries Origin too";
  own.set(field::host, "tracker.example:8081");
  EXPECT_EQ(run(router, own).result(), Status::forbidden);
}

TEST_F(CorsTest, RequestsWithoutOriginAreUntouched) {
  Response answer = run(router, actual(verb::post, "/api/events", nullptr));
  EXPECT_EQ(answer.result(), Status::accepted);
  EXPECT_TRUE(answer[field::access_control_allow_origin].empty());
  EXPECT_TRUE(answer[field::vary].empty());
  Response read = run(router, actual(verb::get, "/api/statistics", nullptr));
  EXPECT_EQ(read.result(), Status::ok) << "servers and curl send no Origin";
  EXPECT_EQ(read[field::vary], "Origin") << "a cache must not give this answer to a page";
}

TEST_F(CorsTest, AddCorsHeadersServesAnswersTheServerGaveItself) {
  Response too_large = error_response(Status::payload_too_large, "BODY_TOO_LARGE", "too large");
  router.add_cors_headers(actual(verb::post, "/api/events", kShop), too_large);
  EXPECT_EQ(too_large[field::access_control_allow_origin], kShop);
  Response unknown = error_response(Status::payload_too_large, "BODY_TOO_LARGE", "too large");
  router.add_cors_headers(actual(verb::post, "/nowhere", kShop), unknown);
  EXPECT_TRUE(unknown[field::access_control_allow_origin].empty());
}

TEST(CorsWriteOrigins, IngestionCanBeLimitedToListedOrigins) {
  CorsPolicy limited;
  limited.write_origins = OriginList::parse(kShop);
  Cors cors(limited);
  Router router;
  router.add(verb::post, "/api/events", Access::write, answering(Status::accepted));
  router.set_cors(cors);
  Request from_shop{verb::post, "/api/events", 11};
  from_shop.set(field::origin, kShop);
  EXPECT_EQ(run(router, from_shop).result(), Status::accepted);
  Request from_elsewhere{verb::post, "/api/events", 11};
  from_elsewhere.set(field::origin, "https://evil.example");
  EXPECT_EQ(run(router, from_elsewhere).result(), Status::forbidden);
}

TEST(OriginListTest, ParsesCommaListsAndStar) {
  EXPECT_FALSE(OriginList::parse("").allows("https://a.example"));
  EXPECT_TRUE(OriginList::parse("*").allows("https://a.example"));
  EXPECT_TRUE(OriginList::parse("https://b.example, *").allows_any());
  OriginList two = OriginList::parse(" https://a.example ,https://B.example/ ");
  EXPECT_TRUE(two.allows("https://a.example"));
  EXPECT_TRUE(two.allows("https://b.example"));
  EXPECT_FALSE(two.allows("https://c.example"));
  EXPECT_FALSE(two.allows("https://a.example.evil"));
  EXPECT_FALSE(two.allows(""));
}

}  // namespace
