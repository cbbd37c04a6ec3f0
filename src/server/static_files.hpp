// A handler that serves files under a root directory (GET and HEAD).
#pragma once

#include <string>
#include <string_view>

#include "portico/http.hpp"
#include "portico/server.hpp"

namespace portico::engine {

/// The handler behind server::static_files(). The route's "*" parameter is the path below the
/// root. Path safety: the path is percent-decoded once (a malformed escape or an encoded NUL
/// → 400), dot segments are resolved without ever going above the root, names starting with
/// '.' are hidden (404) unless opts.show_hidden, and the file is opened with
/// openat2(RESOLVE_BENEATH), so that no symbolic link can lead outside the root.
/// Throws std::system_error if `root` cannot be opened as a directory.
portico::handler make_static_handler(std::string root, static_options opts);

/// The Content-Type for a file name, by extension ("text/html; charset=utf-8");
/// "application/octet-stream" when unknown.
std::string_view content_type_for(std::string_view name) noexcept;

}  // namespace portico::engine
