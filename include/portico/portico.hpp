// Everything a Portico user includes.
#pragma once

#include "portico/http.hpp"     // IWYU pragma: export
#include "portico/options.hpp"  // IWYU pragma: export
#include "portico/server.hpp"   // IWYU pragma: export

namespace portico {
inline constexpr std::string_view version_string = "0.1.0";
}
