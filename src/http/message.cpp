#include "http/message.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cctype>

namespace tracker::http {

namespace json = boost::json;

Response json_response(Status status, const json::value& body) { return json_text_response(status, json::serialize(body)); }

Response json_text_response(Status status, std::string body) {
  Response response{status, 11};
  response.set(beast_http::field::content_type, "application/json");
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

json::value error_body(std::string_view code, std::string_view message, std::string_view field) {
  json::object error{{"code", code}, {"message", message}};
  if (!field.empty()) error["field"] = field;
  return json::object{{"error", std::move(error)}};
}

std::size_t json_scratch_size(std::size_t body_bytes) { return std::max<std::size_t>(1024, 2 * body_bytes); }

std::size_t request_memory(std::size_t body_bytes) { return body_bytes + json_scratch_size(body_bytes); }

Response error_response(Status status, std::string_view code, std::string_view message,
                        std::string_view field) {
  return json_response(status, error_body(code, message, field));
}

namespace {
// The media type of a Content-Type, without parameters and spaces.
std::string_view media_type(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  while (!media.empty() && media.front() == ' ') media.remove_prefix(1);
  return media;
}

bool is_media_type(std::string_view content_type, std::string_view wanted) {
  std::string_view media = media_type(content_type);
  auto equals_ci = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) == y;
           });
  };
  return equals_ci(media, wanted);
}
}  // namespace

bool parse_json_body(const Request& request, json::value& out, Response& error, JsonBody accepted) {
  if (request.body().empty()) {
    error = error_response(Status::length_required, "BODY_REQUIRED",
                           "this request needs a JSON body");
    return false;
  }
  std::string_view content_type = request[beast_http::field::content_type];
  if (!is_media_type(content_type, "application/json") &&
      !(accepted == JsonBody::json_or_text && is_media_type(content_type, "text/plain"))) {
    error = error_response(Status::unsupported_media_type, "UNSUPPORTED_MEDIA_TYPE",
                           accepted == JsonBody::json_or_text
                               ? "the body must be sent as Content-Type: application/json or text/plain"
                               : "the body must be sent as Content-Type: application/json");
    return false;
  }
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 16;
  out = json::parse(request.body(), ec, out.storage(), options);
  if (ec) {
    error = error_response(Status::bad_request, "MALFORMED_JSON",
                           "the body is not valid JSON: " + ec.message());
    return false;
  }
  return true;
}

}  // namespace tracker::http
