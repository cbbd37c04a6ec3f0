// HTTP status codes (RFC 9110 §15).
#pragma once

#include <string_view>

namespace portico::http {

/// The reason phrase of a status code ("Not Found"), or "Unknown" for an unregistered code.
std::string_view reason_phrase(int status) noexcept;

/// RFC 9110 §6.4.1, §15.3.5, §15.4.5: 1xx, 204 and 304 responses never carry content.
constexpr bool status_has_no_body(int status) noexcept {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

}  // namespace portico::http
