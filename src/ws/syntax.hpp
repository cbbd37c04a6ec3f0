// Internal: the bits of HTTP field syntax (RFC 9110 §5.6) the handshake and the extension
// negotiation need. Header-only; portico_ws does not link the HTTP libraries.
#pragma once

#include <string_view>

#include "http/syntax.hpp"

namespace portico::ws::detail {

using http::syntax::is_digit;
using http::syntax::is_ows;
using http::syntax::is_tchar;
using http::syntax::trim_ows;

constexpr char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool ascii_iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

constexpr bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(c)) return false;
  return true;
}

/// Calls fn(element) for each non-empty element of a comma-separated list (RFC 9110 §5.6.1),
/// trimmed of OWS; commas inside quoted strings do not split. Returns false if fn does, or if
/// a quoted string is not terminated.
template <class F>
bool for_each_list_element(std::string_view list, F&& fn) {
  std::size_t start = 0;
  bool quoted = false;
  for (std::size_t i = 0; i <= list.size(); ++i) {
    if (i < list.size()) {
      const char c = list[i];
      if (quoted) {
        if (c == '\\')
          ++i;
        else if (c == '"')
          quoted = false;
        continue;
      }
      if (c == '"') {
        quoted = true;
        continue;
      }
      if (c != ',') continue;
    }
    const std::string_view e = trim_ows(list.substr(start, i - start));
    if (!e.empty() && !fn(e)) return false;
    start = i + 1;
  }
  return !quoted;
}

}  // namespace portico::ws::detail
