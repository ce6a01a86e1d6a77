#include "http/query.hpp"

#include "domain/text.hpp"

#include <boost/url/parse.hpp>

namespace tracker::http {

namespace {

std::optional<domain::FieldError> text_problem(std::string_view text, std::string_view name, bool is_name) {
  std::string_view problem = !domain::is_valid_utf8(text)             ? "must be valid UTF-8"
                             : domain::has_control_characters(text) ? "must not contain control characters"
                                                                    : "";
  if (problem.empty()) return std::nullopt;
  if (is_name) {
    return domain::FieldError{"INVALID_PARAMETER", "query parameter names " + std::string(problem), ""};
  }
  std::string field(name);
  return domain::FieldError{"INVALID_VALUE", "query parameter '" + field + "' " + std::string(problem), field};
}

}  // namespace

std::variant<domain::QueryParams, domain::FieldError> query_params(const Request& request) {
  auto url = boost::urls::parse_origin_form(request.target());
  if (!url) return domain::FieldError{"BAD_TARGET", "the request target is not valid", ""};
  domain::QueryParams params;
  for (auto param : url->params()) {
    if (param.key.empty() && param.value.empty()) continue;
    if (auto problem = text_problem(param.key, param.key, true)) return *problem;
    if (auto problem = text_problem(param.value, domain::utf8_prefix(param.key, 64), false)) return *problem;
    params[param.key] = param.value;
  }
  return params;
}

domain::QueryParams valid_query_params(const Request& request) {
  auto params = query_params(request);
  if (auto* error = std::get_if<domain::FieldError>(&params)) throw std::move(*error);
  return std::move(std::get<domain::QueryParams>(params));
}

Response invalid(const domain::FieldError& error) {
  return error_response(Status::bad_request, error.code, error.message, error.field);
}

}  // namespace tracker::http
