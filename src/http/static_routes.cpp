#include "http/static_routes.hpp"

#include "http/response_compression.hpp"
#include "web/static_files.hpp"

#include <algorithm>
#include <array>
#include <iterator>
#include <memory>
#include <optional>

namespace tracker::http {

namespace {

// If-None-Match holds "*" or a list of entity tags, maybe weak (W/"..."), which a GET
// compares weakly: containing ours is enough.
bool not_modified(const Request& request, std::string_view etag) {
  auto header = request.find(beast_http::field::if_none_match);
  if (header == request.end()) return false;
  std::string_view value = header->value();
  return value.find(etag) != std::string_view::npos || value.find('*') != std::string_view::npos;
}

Response static_response(const Request& request, const StaticFile& file) {
  bool fresh = not_modified(request, file.etag);
  Response response{fresh ? Status::not_modified : Status::ok, request.version()};
  response.set(beast_http::field::etag, file.etag);
  response.set("X-Content-Type-Options", "nosniff");
  if (file.for_other_sites) {
    response.set(beast_http::field::cache_control, "public, max-age=3600");
    // Module scripts are fetched with CORS, and pages isolated by Cross-Origin-Embedder-
    // Policy load only what allows it.
    response.set(beast_http::field::access_control_allow_origin, "*");
    response.set("Cross-Origin-Resource-Policy", "cross-origin");
  } else {
    response.set(beast_http::field::cache_control, "no-cache");
  }
  if (!fresh) {
    response.set(beast_http::field::content_type, file.content_type);
    // Scripts and styles only from this server: the page holds the read key.
    if (!file.for_other_sites) {
      response.set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
    }
    response.body().assign(file.body);
  }
  response.prepare_payload();
  return response;
}

constexpr std::string_view kForOtherSites[] = {"/tracker.js", "/tracker.mjs"};

constexpr auto kBuiltIn = [] {
  std::array<StaticFile, std::size(web::kFiles)> files{};
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto& file = web::kFiles[i];
    bool for_other_sites = std::find(std::begin(kForOtherSites), std::end(kForOtherSites), file.path) !=
                           std::end(kForOtherSites);
    files[i] = {file.path, file.content_type, file.etag, file.body, for_other_sites};
  }
  return files;
}();

}  // namespace

void add_static_routes(Router& router, std::span<const StaticFile> files) {
  for (const StaticFile& file : files) {
    // The files never change while the server runs: each is compressed once, here, and
    // not again for every client that accepts gzip.
    std::shared_ptr<const std::string> gzipped;
    if (file.body.size() >= kGzipMinBytes) {
      if (auto compressed = gzip(file.body)) gzipped = std::make_shared<const std::string>(std::move(*compressed));
    }
    router.add(beast_http::verb::get, std::string(file.path), Access::open,
               [&file, gzipped](const Request& request, const PathParams&) -> boost::asio::awaitable<Response> {
                 Response response = static_response(request, file);
                 if (gzipped) compress_answer(request, response, gzipped.get());
                 co_return response;
               });
  }
}

std::span<const StaticFile> built_in_files() { return kBuiltIn; }

}  // namespace tracker::http
