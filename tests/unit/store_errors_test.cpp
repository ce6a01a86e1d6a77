// The classifiers of store errors: Redis error replies by prefix, PostgreSQL SQLSTATEs by
// class, and what each becomes as an HTTP answer.
#include "domain/event_validation.hpp"
#include "http/store_errors.hpp"
#include "postgres/result.hpp"
#include "redis/errors.hpp"
#include "redis/reply.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace {

using tracker::http::Request;
using tracker::http::Response;
using tracker::http::Status;
namespace beast_http = tracker::http::beast_http;
namespace ports = tracker::ports;
namespace redis = tracker::redis;
namespace postgres = tracker::postgres;

template <class Expected>
bool thrown_as(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const Expected&) {
    return true;
  } catch (...) {
    return false;
  }
}

TEST(RedisErrorReplies, StatesRedisPassesThroughAreStoreBusy) {
  for (const char* text : {"LOADING Redis is loading the dataset in memory",
                           "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
                           "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
                           "READONLY You can't write against a read only replica.",
                           "TRYAGAIN Multiple keys request during rehashing of slot",
                           "CLUSTERDOWN The cluster is down",
                           "OOM command not allowed when used memory > 'maxmemory'.",
                           "MISCONF Redis is configured to save RDB snapshots",
                           "NOREPLICAS Not enough good replicas to write.",
                           "LOADING"}) {
    SCOPED_TRACE(text);
    auto error = redis::error_from_reply(text);
    EXPECT_TRUE(thrown_as<ports::StoreBusy>(error));
    EXPECT_TRUE(thrown_as<ports::StoreUnavailable>(error)) << "answered 503";
    EXPECT_FALSE(thrown_as<ports::StoreRejected>(error));
  }
}

TEST(RedisErrorReplies, NoscriptHasATypeOfItsOwn) {
  auto error = redis::error_from_reply("NOSCRIPT No matching script. Please use EVAL.");
  EXPECT_TRUE(thrown_as<redis::ScriptMissing>(error));
  EXPECT_FALSE(thrown_as<ports::StoreUnavailable>(error));
}

TEST(RedisErrorReplies, MovedAndAskAreRedirectsWithSlotAndEndpoint) {
  try {
    std::rethrow_exception(redis::error_from_reply("MOVED 3999 127.0.0.1:6381"));
  } catch (const redis::Redirected& moved) {
    EXPECT_FALSE(moved.ask());
    EXPECT_EQ(moved.slot(), 3999);
    EXPECT_EQ(moved.endpoint(), "127.0.0.1:6381");
  }
  try {
    std::rethrow_exception(redis::error_from_reply("ASK 12182 ::1:7002"));
  } catch (const redis::Redirected& ask) {
    EXPECT_TRUE(ask.ask());
    EXPECT_EQ(ask.slot(), 12182);
    EXPECT_EQ(ask.endpoint(), "::1:7002");
  }
  EXPECT_TRUE(thrown_as<redis::Redirected>(redis::error_from_reply("MOVED")));
}

TEST(RedisErrorReplies, AnythingElseIsAReplyErrorNamedByItsFirstWord) {
  for (auto [text, prefix] : {std::pair{"ERR unknown command 'NOSUCH'", "ERR"},
                              std::pair{"WRONGTYPE Operation against a key holding the wrong kind of value",
                                        "WRONGTYPE"},
                              std::pair{"BUSYGROUP Consumer Group name already exists", "BUSYGROUP"},
                              std::pair{"BUSYKEY Target key name already exists.", "BUSYKEY"},
                              std::pair{"NOGROUP No such key", "NOGROUP"},
                              std::pair{"BACKLOG 5000001 events waiting", "BACKLOG"},
                              std::pair{"LOADINGX not a state", "LOADINGX"},
                              std::pair{"", ""}}) {
    SCOPED_TRACE(text);
    try {
      std::rethrow_exception(redis::error_from_reply(text));
    } catch (const redis::ScriptMissing&) {
      ADD_FAILURE() << "not NOSCRIPT";
    } catch (const redis::Redirected&) {
      ADD_FAILURE() << "not a redirect";
    } catch (const redis::ReplyError& error) {
      EXPECT_EQ(error.prefix(), prefix);
    } catch (...) {
      ADD_FAILURE() << "not a ReplyError";
    }
  }
}

TEST(RedisReplies, ANumberThatIsNotOneIsAStoreErrorNotAStdException) {
  redis::Reply reply;
  reply.type = redis::Reply::Type::String;
  reply.text = "42";
  EXPECT_EQ(reply.as_int(), 42);
  for (const char* text : {"not-a-number", "12abc", "99999999999999999999", " 1"}) {
    reply.text = text;
    EXPECT_THROW(reply.as_int(), ports::StoreRejected) << text;
  }
  EXPECT_EQ(redis::Reply{}.as_int(), 0) << "nil";
}

TEST(SqlStates, TransientStatesAreTheOnesRetryingMayFix) {
  for (const char* code : {"57P01", "57P02", "57P03", "53300", "53200", "25006", "40001", "40P01", "08006",
                           "08001", "55P03", "57014"}) {
    SCOPED_TRACE(code);
    EXPECT_TRUE(postgres::sqlstate::is_transient(code));
    EXPECT_FALSE(postgres::sqlstate::is_data_error(code));
  }
  for (const char* code : {"42601", "42P01", "22P02", "23505", "22021", "XX000", "25P02", ""}) {
    SCOPED_TRACE(code);
    EXPECT_FALSE(postgres::sqlstate::is_transient(code));
  }
}

TEST(SqlStates, DataErrorsAreClasses22And23) {
  for (const char* code : {"22P02", "22021", "22003", "23505", "23503"}) {
    EXPECT_TRUE(postgres::sqlstate::is_data_error(code)) << code;
    EXPECT_TRUE(postgres::SqlError(code, "x").is_data_error()) << code;
  }
  for (const char* code : {"42601", "40001", "02000", "57P01"}) {
    EXPECT_FALSE(postgres::sqlstate::is_data_error(code)) << code;
  }
}

TEST(SqlStates, OnlyConnectionAndOperatorStatesEndTheSession) {
  for (const char* code : {"08000", "08006", "57P01", "57P02", "57P03"}) {
    EXPECT_TRUE(postgres::sqlstate::ends_session(code)) << code;
  }
  for (const char* code : {"40001", "25006", "53300", "57014", "22P02"}) {
    EXPECT_FALSE(postgres::sqlstate::ends_session(code)) << code;
  }
}

TEST(SqlStates, SqlBusyIsAnUnavailableStore) {
  postgres::SqlBusy busy("40001", "postgres: could not serialize access");
  EXPECT_EQ(busy.sqlstate(), "40001");
  EXPECT_NE(dynamic_cast<const ports::StoreUnavailable*>(&busy), nullptr);
  postgres::SqlError error("42601", "postgres: syntax error");
  EXPECT_NE(dynamic_cast<const ports::StoreRejected*>(&error), nullptr);
}

// ---------------------------------------------------------------------------------------
// HTTP answers
// ---------------------------------------------------------------------------------------

Response answer_to(std::exception_ptr failure) {
  Request request{beast_http::verb::post, "/api/events", 11};
  return tracker::http::failure_response(request, failure);
}

boost::json::object error_of(const Response& response) {
  return boost::json::parse(response.body()).at("error").as_object();
}

TEST(FailureResponse, FieldErrorIs400WithItsField) {
  Response response = answer_to(std::make_exception_ptr(
      tracker::domain::FieldError{"INVALID_VALUE", "userId must be an integer >= 1", "userId"}));
  EXPECT_EQ(response.result(), Status::bad_request);
  auto error = error_of(response);
  EXPECT_EQ(error.at("code"), "INVALID_VALUE");
  EXPECT_EQ(error.at("field"), "userId");
}

TEST(FailureResponse, EveryStoreErrorIs503WithRetryAfterInOurOwnWords) {
  const std::string secret = "insert into events values ('sekrit') -- LOADING";
  for (auto failure : {std::make_exception_ptr(ports::StoreUnavailable(secret)),
                       std::make_exception_ptr(ports::StoreTimeout(secret)),
                       std::make_exception_ptr(ports::StoreBusy(secret)),
                       std::make_exception_ptr(ports::StoreRejected(secret)),
                       std::make_exception_ptr(postgres::SqlError("42601", secret)),
                       std::make_exception_ptr(postgres::SqlBusy("25006", secret)),
                       redis::error_from_reply("ERR " + secret), redis::error_from_reply("LOADING " + secret),
                       redis::error_from_reply("MOVED 1 " + secret)}) {
    Response response = answer_to(failure);
    EXPECT_EQ(response.result(), Status::service_unavailable);
    EXPECT_EQ(response[beast_http::field::retry_after], "1");
    EXPECT_EQ(error_of(response).at("code"), "STORE_UNAVAILABLE");
    EXPECT_EQ(response.body().find("sekrit"), std::string::npos) << response.body();
  }
}

TEST(FailureResponse, OverloadedSaysWhy) {
  Response response = answer_to(std::make_exception_ptr(
      ports::Overloaded("backlog_high_water", "too many events are waiting to be persisted; retry later")));
  EXPECT_EQ(response.result(), Status::service_unavailable);
  EXPECT_EQ(response[beast_http::field::retry_after], "1");
  EXPECT_EQ(error_of(response).at("code"), "OVERLOADED");
}

TEST(FailureResponse, NotReplicatedIs503AskingForTheSameEventId) {
  Response response = answer_to(std::make_exception_ptr(ports::NotReplicated("stored, but 0 of 1 replicas sekrit")));
  EXPECT_EQ(response.result(), Status::service_unavailable);
  EXPECT_EQ(response[beast_http::field::retry_after], "1");
  EXPECT_EQ(error_of(response).at("code"), "NOT_REPLICATED");
  EXPECT_EQ(response.body().find("sekrit"), std::string::npos) << response.body();
}

TEST(FailureResponse, AnythingElseIs500WithAGenericMessage) {
  for (auto failure : {std::make_exception_ptr(std::out_of_range("vector::_M_range_check sekrit")),
                       std::make_exception_ptr(std::logic_error("sekrit")), std::make_exception_ptr(42)}) {
    Response response = answer_to(failure);
    EXPECT_EQ(response.result(), Status::internal_server_error);
    EXPECT_EQ(error_of(response).at("code"), "INTERNAL");
    EXPECT_EQ(response.body().find("sekrit"), std::string::npos) << response.body();
  }
}

}  // namespace
