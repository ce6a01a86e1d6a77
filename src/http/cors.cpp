#include "http/cors.hpp"

#include <algorithm>
#include <cctype>

namespace tracker::http {

namespace {

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Calls `each` with every non-empty, trimmed item of a comma list.
template <class F>
void for_each_item(std::string_view list, F each) {
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    std::string_view item = trimmed(list.substr(0, comma));
    if (!item.empty()) each(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

// Request headers a page may send. Besides the API's own, the ones browsers preflight
// when their values are unusual (Accept, Accept-Language, Content-Language).
constexpr std::string_view kAllowedHeaders[] = {"content-type", "content-encoding", "x-api-key",
                                                "authorization", "x-request-id", "accept",
                                                "accept-language", "content-language"};
constexpr std::string_view kAllowedHeaderList =
    "Content-Type, Content-Encoding, X-Api-Key, Authorization, X-Request-Id, Accept, Accept-Language, "
    "Content-Language";
// Answer headers a page may read: the rate limits' and the request id.
constexpr std::string_view kExposedHeaders =
    "Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, RateLimit-Policy, X-Request-Id";

bool header_allowed(std::string_view name) {
  return std::any_of(std::begin(kAllowedHeaders), std::end(kAllowedHeaders),
                     [&](std::string_view allowed) { return equals_ignoring_case(name, allowed); });
}

// A route of `method` serves a request of `requested` (HEAD is served by GET).
bool serves(beast_http::verb method, beast_http::verb requested) {
  return method == requested || (method == beast_http::verb::get && requested == beast_http::verb::head);
}

// A page of this server's own (browsers send Origin with a same-origin POST too): the
// origin's host and port are the request's Host. The scheme is not compared, since a
// proxy in front may end TLS.
bool same_origin(const Request& request, std::string_view origin) {
  std::size_t scheme_end = origin.find("://");
  std::string_view host = request[beast_http::field::host];
  return scheme_end != std::string_view::npos && !host.empty() &&
         equals_ignoring_case(origin.substr(scheme_end + 3), host);
}

Response forbidden(std::string_view code, std::string message) {
  return error_response(Status::forbidden, code, message);
}

}  // namespace

OriginList OriginList::parse(std::string_view comma_list) {
  bool any = false;
  std::vector<std::string> origins;
  for_each_item(comma_list, [&](std::string_view item) {
    if (item == "*") any = true;
    std::string origin(item);
    while (!origin.empty() && origin.back() == '/') origin.pop_back();  // "https://a.example/" means the origin
    for (char& c : origin) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    origins.push_back(std::move(origin));
  });
  return OriginList(any, std::move(origins));
}

bool OriginList::allows(std::string_view origin) const {
  if (any_) return true;
  return std::any_of(origins_.begin(), origins_.end(),
                     [&](const std::string& listed) { return equals_ignoring_case(listed, origin); });
}

const OriginList* Cors::origins_for(Access access) const {
  switch (access) {
    case Access::open: return nullptr;
    case Access::write: return &policy_.write_origins;
    case Access::read:
    case Access::admin: return &policy_.read_origins;
  }
  return nullptr;
}

bool Cors::is_preflight(const Request& request) {
  return request.method() == beast_http::verb::options && !request[beast_http::field::origin].empty() &&
         !request[beast_http::field::access_control_request_method].empty();
}

Response Cors::preflight(const Request& request, std::span<const RouteAccess> routes) const {
  std::string_view origin = request[beast_http::field::origin];
  std::string_view wanted = trimmed(request[beast_http::field::access_control_request_method]);
  beast_http::verb method = beast_http::string_to_verb(wanted);
  std::string methods;
  const RouteAccess* route = nullptr;
  std::string listed;  // the methods this origin may use here
  for (const RouteAccess& candidate : routes) {
    if (!methods.empty()) methods += ", ";
    methods += std::string(beast_http::to_string(candidate.method));
    if (!route && serves(candidate.method, method)) route = &candidate;
    const OriginList* origins = origins_for(candidate.access);
    if (!origins || origins->allows(origin)) {
      if (!listed.empty()) listed += ", ";
      listed += std::string(beast_http::to_string(candidate.method));
    }
  }
  if (!route) {
    return forbidden("CORS_METHOD_NOT_ALLOWED",
                     "a page may not send " + std::string(wanted.substr(0, 32)) + " here; this path accepts " + methods);
  }
  const OriginList* origins = origins_for(route->access);
  if (origins && !origins->allows(origin)) {
    return forbidden("ORIGIN_NOT_ALLOWED", "pages from this origin may not call this route (see --cors-origins)");
  }
  std::string refused_header;
  for_each_item(request[beast_http::field::access_control_request_headers], [&](std::string_view name) {
    if (refused_header.empty() && !header_allowed(name)) refused_header = std::string(name.substr(0, 64));
  });
  if (!refused_header.empty()) {
    return forbidden("CORS_HEADER_NOT_ALLOWED",
                     "a page may not send the header '" + refused_header + "'; allowed: " +
                         std::string(kAllowedHeaderList));
  }
  Response answer{Status::no_content, request.version()};
  if (origins) {
    answer.set(beast_http::field::access_control_allow_origin, origin);
    answer.set(beast_http::field::vary, "Origin");
  } else {
    answer.set(beast_http::field::access_control_allow_origin, "*");
  }
  answer.set(beast_http::field::access_control_allow_methods, listed);
  answer.set(beast_http::field::access_control_allow_headers, kAllowedHeaderList);
  answer.set(beast_http::field::access_control_max_age, std::to_string(policy_.max_age.count()));
  return answer;
}

std::optional<Response> Cors::refusal(const Request& request, Access access) const {
  std::string_view origin = request[beast_http::field::origin];
  if (origin.empty()) return std::nullopt;
  const OriginList* origins = origins_for(access);
  if (!origins || origins->allows(origin) || same_origin(request, origin)) return std::nullopt;
  return forbidden("ORIGIN_NOT_ALLOWED", "pages from this origin may not call this route (see --cors-origins)");
}

void Cors::add_headers(const Request& request, Access access, Response& response) const {
  std::string_view origin = request[beast_http::field::origin];
  const OriginList* origins = origins_for(access);
  if (!origins) {
    if (!origin.empty()) response.set(beast_http::field::access_control_allow_origin, "*");
    return;
  }
  if (origin.empty()) {
    // A cacheable answer depends on Origin for these routes: caches must keep them apart.
    if (request.method() == beast_http::verb::get || request.method() == beast_http::verb::head) {
      response.set(beast_http::field::vary, "Origin");
    }
    return;
  }
  response.set(beast_http::field::vary, "Origin");
  if (!origins->allows(origin)) return;
  response.set(beast_http::field::access_control_allow_origin, origin);
  response.set(beast_http::field::access_control_expose_headers, kExposedHeaders);
}

}  // namespace tracker::http
