// Small pieces of the HTTP field syntax (RFC 9110 §5.6) shared by the field parsers of
// src/http (range, etag, conditional). The HTTP/1.1 request parser has its own table-driven
// versions tuned for its hot loop.
#pragma once

#include <string_view>

namespace portico::http::syntax {

/// OWS = *( SP / HTAB ) (RFC 9110 §5.6.3).
constexpr bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}

/// DIGIT (RFC 5234 Appendix B.1).
constexpr bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

/// tchar (RFC 9110 §5.6.2).
constexpr bool is_tchar(char c) noexcept {
  if (is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

/// `s` without leading and trailing OWS.
constexpr std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back()))
    s.remove_suffix(1);
  return s;
}

}  // namespace portico::http::syntax
