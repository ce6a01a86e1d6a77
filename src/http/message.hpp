#pragma once
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>

#include <string_view>

namespace tracker::http {

namespace beast_http = boost::beast::http;
using Request = beast_http::request<beast_http::string_body>;
using Response = beast_http::response<beast_http::string_body>;
using Status = beast_http::status;

Response json_response(Status status, const boost::json::value& body);
// A body that is already serialized JSON.
Response json_text_response(Status status, std::string body);
// The contract's error shape: {"error": {"code", "message", "field"?}}.
boost::json::value error_body(std::string_view code, std::string_view message,
                              std::string_view field = {});
Response error_response(Status status, std::string_view code, std::string_view message,
                        std::string_view field = {});

// The JSON arena of a request whose body has `body_bytes`: parsed values live only as
// long as their request, so their memory comes from one block sized for the body.
std::size_t json_scratch_size(std::size_t body_bytes);
// What a request whose body has `body_bytes` may hold while it is served: the body and
// its JSON arena. The server's memory budget counts requests by it.
std::size_t request_memory(std::size_t body_bytes);

// The Content-Types a JSON body may be declared as: application/json, or also text/plain
// (any charset), which is what navigator.sendBeacon sends a string as, and which browsers
// send across origins without a preflight.
enum class JsonBody { json_only, json_or_text };

// Parses a JSON request body after checking that it is there and declared as JSON.
// On failure returns false and fills `error` with the 411/415/400 answer.
// The parsed value takes its memory from `out`'s memory resource.
bool parse_json_body(const Request& request, boost::json::value& out, Response& error,
                     JsonBody accepted = JsonBody::json_only);

}  // namespace tracker::http
