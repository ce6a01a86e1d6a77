#include "http/response_compression.hpp"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace tracker::http {

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool equals_ci(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// The q-value of one Accept-Encoding entry's parameters ("q=0.5"); 1 when absent, 0 when
// unreadable (a client that wrote it wrong is not sent what it may not read).
double q_value(std::string_view parameters) {
  while (!parameters.empty()) {
    std::size_t semicolon = parameters.find(';');
    std::string_view parameter = trim(parameters.substr(0, semicolon));
    parameters = semicolon == std::string_view::npos ? std::string_view{} : parameters.substr(semicolon + 1);
    if (parameter.size() < 2 || std::tolower(static_cast<unsigned char>(parameter[0])) != 'q' || parameter[1] != '=') continue;
    std::string_view number = trim(parameter.substr(2));
    double q = 0;
    auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), q);
    if (error != std::errc{} || end != number.data() + number.size() || q < 0 || q > 1) return 0;
    return q;
  }
  return 1;
}

bool is_textual(std::string_view content_type) {
  std::string_view media = trim(content_type.substr(0, content_type.find(';')));
  auto starts_ci = [&media](std::string_view prefix) { return media.size() >= prefix.size() && equals_ci(media.substr(0, prefix.size()), prefix); };
  return starts_ci("text/") || equals_ci(media, "application/json") || equals_ci(media, "application/javascript") ||
         equals_ci(media, "application/yaml") || equals_ci(media, "image/svg+xml") ||
         equals_ci(media, "application/manifest+json");
}

// Level 1: the answers worth compressing (series, rankings, the dashboard's files) repeat
// themselves so much that the fastest level already takes most of the gain, at a fraction
// of the CPU of the default level 6.
constexpr int kLevel = 1;

// Vary lists every request field the answer depended on (CORS adds Origin), each once.
void add_vary(Response& response, std::string_view field) {
  std::string_view present = response[beast_http::field::vary];
  for (std::string_view rest = present; !rest.empty();) {
    std::size_t comma = rest.find(',');
    if (equals_ci(trim(rest.substr(0, comma)), field)) return;
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
  }
  if (present.empty()) {
    response.set(beast_http::field::vary, field);
  } else {
    response.set(beast_http::field::vary, std::string(present) + ", " + std::string(field));
  }
}

}  // namespace

bool accepts_gzip(std::string_view accept_encoding) {
  std::optional<double> gzip_q, any_q;
  while (!accept_encoding.empty()) {
    std::size_t comma = accept_encoding.find(',');
    std::string_view entry = accept_encoding.substr(0, comma);
    accept_encoding = comma == std::string_view::npos ? std::string_view{} : accept_encoding.substr(comma + 1);
    std::size_t semicolon = entry.find(';');
    std::string_view coding = trim(entry.substr(0, semicolon));
    double q = semicolon == std::string_view::npos ? 1.0 : q_value(entry.substr(semicolon + 1));
    if (equals_ci(coding, "gzip") || equals_ci(coding, "x-gzip")) gzip_q = std::max(gzip_q.value_or(0), q);
    else if (coding == "*") any_q = q;
  }
  if (gzip_q) return *gzip_q > 0;
  return any_q.value_or(0) > 0;
}

std::optional<std::string> gzip(std::string_view body) {
  z_stream stream{};
  // 31: a 32 KiB window with the gzip wrapper; 8: zlib's default memory level.
  if (deflateInit2(&stream, kLevel, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) return std::nullopt;
  std::string out(deflateBound(&stream, static_cast<uLong>(body.size())), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  stream.avail_in = static_cast<uInt>(body.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  // deflateBound leaves room for the whole stream, so one call finishes it.
  int status = deflate(&stream, Z_FINISH);
  std::size_t written = stream.total_out;
  deflateEnd(&stream);
  if (status != Z_STREAM_END) return std::nullopt;
  out.resize(written);
  return out;
}

void compress_answer(const Request& request, Response& response, const std::string* gzipped) {
  const bool accepted = accepts_gzip(request[beast_http::field::accept_encoding]);
  // A strong tag names one sequence of bytes, and the gzip of a file is another. A client
  // that accepts gzip gets the weak tag on every answer, 200 or 304, large or small, so
  // that the tag it keeps and the one a 304 carries agree; weak, it still matches
  // If-None-Match (a weak comparison).
  std::string_view etag = response[beast_http::field::etag];
  if (accepted && !etag.empty() && !etag.starts_with("W/")) response.set(beast_http::field::etag, "W/" + std::string(etag));
  if (response.body().size() < kGzipMinBytes) return;
  if (response.count(beast_http::field::content_encoding)) return;
  if (!is_textual(response[beast_http::field::content_type])) return;
  add_vary(response, "Accept-Encoding");
  if (!accepted) return;
  auto compressed = gzipped ? std::optional<std::string>(*gzipped) : gzip(response.body());
  if (!compressed) return;  // identity is always acceptable to send
  response.body() = std::move(*compressed);
  response.set(beast_http::field::content_encoding, "gzip");
}

}  // namespace tracker::http
