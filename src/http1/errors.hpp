// HTTP/1.1 request errors. Each value names one way a request is refused; status_for() gives
// the HTTP status the server answers it with (RFC 9112, RFC 9110 §15).
#pragma once

#include <system_error>

namespace portico::http1 {

enum class errc {
  // 400 Bad Request
  bad_request_line = 1,     // RFC 9112 §3: malformed method SP target SP version
  bad_method,               // method is not a token (RFC 9110 §9.1)
  bad_target,               // request-target has forbidden bytes or wrong form (§3.2)
  bad_version,              // "HTTP/" followed by something that is not DIGIT "." DIGIT
  bad_header_name,          // field-name not a token, or whitespace before ':' (§5.1)
  bad_header_value,         // CTL (other than HTAB) or NUL in a field value (RFC 9110 §5.5)
  obs_fold,                 // line folding (§5.2): refused
  bare_cr,                  // CR not followed by LF (§2.2)
  bare_lf,                  // LF not preceded by CR: Portico requires CRLF (§2.2 allows refusing)
  missing_host,             // HTTP/1.1 request without Host (§3.2)
  duplicate_host,           // more than one Host field line (§3.2)
  bad_host,                 // Host value is not a valid uri-host[:port]
  bad_content_length,       // not 1*DIGIT, overflow, or a list (RFC 9110 §8.6)
  duplicate_content_length, // more than one Content-Length field line
  content_length_with_transfer_encoding,  // §6.1: request smuggling vector
  transfer_encoding_http10,               // §6.1: TE in an HTTP/1.0 request
  chunked_not_final,        // TE present but chunked is not the final coding (§6.3)
  bad_chunk,                // malformed chunk-size, chunk-ext or missing CRLF (§7.1)
  bad_trailer,              // malformed trailer field line (§7.1.2)
  // 413 Content Too Large
  body_too_large,
  // 414 URI Too Long
  request_line_too_long,
  // 431 Request Header Fields Too Large
  header_too_large,         // head (request line + fields) over the byte limit
  too_many_headers,         // more field lines than the count limit
  // 501 Not Implemented
  unknown_transfer_coding,  // a transfer coding other than chunked (RFC 9112 §6.1)
  // 505 HTTP Version Not Supported
  unsupported_version,      // HTTP/2.0, HTTP/1.2, HTTP/3.0, ... on an HTTP/1 connection
};

/// The error category of HTTP/1 parse errors; name() is "portico.http1".
const std::error_category& http1_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), http1_category()};
}

/// The HTTP status code a server answers an HTTP/1 parse error with (400, 413, 414, 431, 501 or
/// 505). Returns 400 for an error code that is not from http1_category().
int status_for(std::error_code ec) noexcept;

}  // namespace portico::http1

template <>
struct std::is_error_code_enum<portico::http1::errc> : std::true_type {};
