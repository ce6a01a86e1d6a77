#pragma once
#include "http/router.hpp"

#include <span>
#include <string_view>

namespace tracker::http {

// A file served as it is: built into the binary (see cmake/embed_files.cmake).
struct StaticFile {
  std::string_view path, content_type, etag, body;
  // A script other sites' pages load (the JavaScript client, /tracker.js).
  bool for_other_sites = false;
};

// GET (and HEAD) of each file at its path, with its ETag: a matching If-None-Match is a 304.
// Cache-Control no-cache: browsers keep the files but ask again each time they load the
// page, so a new build's files show at once and an unchanged file costs a 304. Files for
// other sites are instead cached for an hour by browsers and shared caches alike (every
// page view of every site that embeds them would ask otherwise) and may be read from any
// origin.
void add_static_routes(Router& router, std::span<const StaticFile> files);

// The files built in from web/ (the dashboard, its index also at /) and the others listed
// in CMakeLists.txt.
std::span<const StaticFile> built_in_files();

}  // namespace tracker::http
