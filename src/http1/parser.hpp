// Incremental, zero-copy HTTP/1.1 request parser (RFC 9112), sans-I/O.
//
// The parser never allocates on the hot path and never copies request bytes: every string_view
// it produces points into the caller's buffer. It is strict: anything RFC 9112 lets a server
// reject and that has been used for request smuggling is rejected (see errors.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

#include "http1/errors.hpp"
#include "portico/http.hpp"

namespace portico::http1 {

/// Limits on a request. Each breach has its own error and status (errors.hpp).
struct limits {
  std::size_t max_request_line = 8 * 1024;    ///< request-line bytes (without CRLF) → 414
  std::size_t max_header_bytes = 64 * 1024;   ///< whole head, request line included → 431
  std::size_t max_header_count = 100;         ///< field lines in the head → 431
  std::uint64_t max_body_size = 1024 * 1024;  ///< decoded body bytes → 413
  std::size_t max_chunk_line = 4 * 1024;      ///< chunk-size line incl. extensions → 400
  std::size_t max_trailer_bytes = 16 * 1024;  ///< trailer section → 431
  std::size_t max_trailer_count = 32;         ///< trailer field lines → 431
};

/// A field line: `name` as sent (case preserved; compare case-insensitively), `value` with
/// leading and trailing OWS removed. The same type handlers see (portico::header_view).
using header_field = portico::header_view;

enum class body_framing : std::uint8_t { none, content_length, chunked };

/// A parsed request head. Every view points into the buffer given to parse_head() and is valid
/// while those bytes stay where they are.
struct request_head {
  std::string_view method;
  std::string_view target;            ///< request-target as sent
  int version_minor = 1;              ///< HTTP/1.<version_minor>: 0 or 1
  std::vector<header_field> headers;  ///< capacity kept across reuse (no allocation once warm)
  body_framing framing = body_framing::none;
  std::uint64_t content_length = 0;    ///< when framing == content_length
  std::string_view host;               ///< Host value (empty only for HTTP/1.0 without Host)
  bool connection_close = false;       ///< "close" among the Connection options
  bool connection_keep_alive = false;  ///< "keep-alive" among the Connection options
  bool connection_upgrade = false;     ///< "upgrade" among the Connection options
  bool expect_continue = false;        ///< Expect: 100-continue (case-insensitive)
  bool has_unsupported_expect =
      false;  ///< an Expect other than 100-continue (→ 417 by the session)

  /// First field with this name (ASCII case-insensitive), or empty view when absent.
  std::string_view find(std::string_view name) const noexcept;
  void clear() noexcept;
};

/// Outcome of one parse call. "Need more" is not an error: call again with the same bytes and
/// whatever arrived after them.
enum class parse_status : std::uint8_t { need_more, done, error };

struct head_result {
  parse_status status = parse_status::need_more;
  std::size_t consumed = 0;  ///< bytes of the head, CRLFCRLF included, when status == done
  std::error_code error;     ///< when status == error
};

struct body_result {
  parse_status status = parse_status::need_more;  ///< done once the whole body (and trailers) is in
  std::size_t consumed = 0;                       ///< bytes of the input used, framing included
  std::span<const char> data;  ///< decoded body bytes found in this call (a view of the input)
  std::error_code error;
};

/// Parses one request at a time: parse_head() until done, then parse_body() until done (for
/// framing none it is done at once), then reset() for the next request on the connection.
class request_parser {
 public:
  explicit request_parser(const limits& l) noexcept : limits_(&l) {}
  /// A parser with the default limits (change them with set_limits()).
  request_parser() noexcept;
  /// Uses `l` (which must outlive the parser) from the next request on.
  void set_limits(const limits& l) noexcept { limits_ = &l; }

  /// Parses a request head from the start of `buf` into `out`. On need_more nothing is consumed
  /// and the caller calls again with a buffer that starts with the same bytes; the parser
  /// remembers how far it looked, so total work stays linear in the head size. Leading empty
  /// lines (CRLF) before the request line are skipped (RFC 9112 §2.2) and count as consumed.
  /// Limits are enforced before the whole head has arrived (an endless request line fails with
  /// request_line_too_long as soon as it passes the limit).
  head_result parse_head(std::span<const char> buf, request_head& out);

  /// Decodes body bytes from the start of `buf` per the framing of the last parsed head. The
  /// returned `data` is at most one contiguous piece; call again with the rest of the input
  /// (buf minus `consumed`) while status is need_more and consumed > 0. Chunked trailers are
  /// checked and can be read with trailers() once done; their views point into the buffer
  /// passed to the call that returned done.
  body_result parse_body(std::span<const char> buf);

  /// Trailer fields of a chunked body (valid as described in parse_body()).
  std::span<const header_field> trailers() const noexcept { return trailers_; }

  /// Decoded body bytes seen so far for the current request.
  std::uint64_t body_bytes() const noexcept { return body_seen_; }

  /// Forgets the current request; keeps allocated capacity.
  void reset() noexcept;

 private:
  enum class target_form : std::uint8_t { origin, absolute, authority, asterisk };
  // Order matters: the states before chunk_size_lf are on the chunk-size line.
  enum class body_state : std::uint8_t {
    start,
    fixed,
    chunk_size,
    ext_pre_semi,
    ext_pre_name,
    ext_name,
    ext_post_name,
    ext_pre_val,
    ext_token,
    ext_qstr,
    ext_qpair,
    ext_after_val,
    chunk_size_lf,
    chunk_data,
    chunk_data_cr,
    chunk_data_lf,
    trailer,
    done
  };
  // Incremental CRLF line scanner shared by the head and the trailer section.
  struct line_scan {
    std::size_t pos = 0;         // next byte to look at (offset in the section's buffer)
    std::size_t line_start = 0;  // offset of the line being scanned
    std::size_t lines = 0;       // complete non-empty lines seen so far
  };

  head_result fail_head(errc e) noexcept;
  std::error_code check_request_line(const char* p, std::size_t begin, std::size_t end) noexcept;
  std::error_code finish_head(const char* p, std::size_t end, request_head& out);
  body_result parse_chunked(std::span<const char> buf);
  body_result parse_trailer(std::span<const char> buf, std::size_t base);

  const limits* limits_;
  // Head scanning: where the end-of-head search got to in the current buffer (offsets from the
  // buffer start, which stays the same across need_more calls).
  bool head_started_ = false;
  std::size_t head_start_ = 0;  // first byte of the request line (after skipped CRLFs)
  line_scan scan_;
  std::size_t req_line_end_ = 0;  // offset of the CR ending the request line; 0 = not yet seen
  // Request line, validated as soon as its CRLF arrives (offsets from the buffer start).
  std::size_t method_len_ = 0;
  std::size_t target_off_ = 0;
  std::size_t target_len_ = 0;
  int version_minor_ = 1;
  target_form form_ = target_form::origin;
  // Body decoding.
  body_state bstate_ = body_state::start;
  body_framing framing_ = body_framing::none;
  std::uint64_t remaining_ = 0;  // of the fixed body or the current chunk
  std::uint64_t body_seen_ = 0;  // decoded bytes handed out
  std::uint64_t declared_ = 0;   // sum of chunk sizes announced so far
  std::size_t line_len_ = 0;     // bytes of the current chunk-size line
  unsigned size_digits_ = 0;     // hex digits of the current chunk-size
  line_scan tscan_;              // trailer section scan (offsets from the trailer start)
  std::vector<header_field> trailers_;
};

/// ASCII case-insensitive comparison, for field names and tokens.
bool iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace portico::http1
