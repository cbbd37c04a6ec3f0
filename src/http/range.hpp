// Range requests (RFC 9110 §14): the Range header parser with abuse limits, Content-Range
// values, and the multipart/byteranges wire-layout planner (RFC 9110 §14.6). Sans-I/O: nothing
// here reads a file; the planner says which file slices to send and where.
//
// Typical use by a GET handler (Range is defined for GET only, RFC 9110 §14.2: ignore it for
// every other method, HEAD included), after evaluate_preconditions() and if_range_allows()
// (conditional.hpp) said to go on:
//
//   auto r = parse_range(range_value, size);
//   switch (r.kind) {
//     ignore / invalid / full -> 200 with the whole representation
//     unsatisfiable           -> 416, Content-Range: format_unsatisfied_range(size)
//     ranges, count 1         -> 206, Content-Range: format_content_range(r.ranges()[0], size)
//     ranges, count > 1       -> 206, plan_multipart_byteranges(...)
//   }
//
// Abuse limits (documented defaults in range_limits; the rule, in order):
//   1. More than `max_range_specs` (64) range-specs in the header -> `full`.
//   2. No range-spec is satisfiable -> `unsatisfiable` (416).
//   3. The satisfiable ranges, as requested and before any merging, add up to more bytes than
//      the representation has -> `full`. This is the overlap amplification case
//      ("bytes=0-,0-,0-", many overlapping ranges): a 200 is the cheapest correct answer.
//   4. The satisfiable ranges are sorted by first byte and merged when they overlap or touch,
//      or are separated by at most `coalesce_gap` bytes (default 0: only overlapping and
//      adjacent ranges merge, so "bytes=0-1,5-6" stays two parts, as a client asking for two
//      pieces expects; RFC 9110 §14.6 lets a server raise it up to about the cost of a part
//      header, ~80 bytes, to trade a few extra bytes for fewer parts). More than `max_ranges`
//      (16) ranges left after merging -> `full`.
//   5. Otherwise -> `ranges`: 1..max_ranges disjoint ranges in ascending order, at least
//      coalesce_gap + 1 bytes apart.
// Consequences: a 206 body is at most length + max_ranges * (part header + coalesce_gap) bytes,
// the parser does O(header bytes) work and sorts at most 64 items, and nothing is allocated.
// Out-of-order ranges are no risk once sorted, so they are not counted (RFC 9110 §14.2 allows
// ignoring "many small ranges that are not listed in ascending order"; sorting makes them
// harmless instead).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace portico::http {

/// An inclusive byte range [first, last] of a representation (RFC 9110 §14.1.2).
struct byte_range {
  std::uint64_t first = 0;
  std::uint64_t last = 0;

  constexpr std::uint64_t length() const noexcept { return last - first + 1; }
  friend constexpr bool operator==(const byte_range&, const byte_range&) = default;
};

/// The most range-specs (and result ranges) parse_range handles; larger limits are clamped.
inline constexpr std::size_t range_capacity = 64;

/// Limits against range abuse (see the rule at the top of this file).
struct range_limits {
  /// Non-empty range-specs allowed in one header; more -> `full`. Clamped to range_capacity.
  std::size_t max_range_specs = 64;
  /// Ranges allowed after sorting and merging; more -> `full`. Clamped to range_capacity;
  /// 0 acts as 1.
  std::size_t max_ranges = 16;
  /// Ranges separated by at most this many bytes are merged into one.
  std::uint64_t coalesce_gap = 0;
  /// Rule 3: answer `full` when the requested ranges add up to more than the representation.
  bool full_when_sum_exceeds_length = true;
};

enum class range_kind : std::uint8_t {
  ignore,         ///< no header, or a range unit other than "bytes": send 200
  invalid,        ///< syntactically invalid: ignore the header, send 200 (RFC 9110 §14.2)
  unsatisfiable,  ///< send 416 with Content-Range: format_unsatisfied_range(length)
  full,           ///< satisfiable but refused by a limit (or empty representation): send 200
  ranges,         ///< send 206 with ranges()
};

struct range_result {
  range_kind kind = range_kind::ignore;
  std::size_t count = 0;  ///< number of valid entries in storage (kind == ranges only)
  std::array<byte_range, range_capacity> storage{};

  /// The ranges to send: disjoint, ascending, each last < representation length.
  std::span<const byte_range> ranges() const noexcept { return {storage.data(), count}; }
};

/// Parses a Range field value (RFC 9110 §14.2) against a representation of
/// `representation_length` bytes and applies `limits`.
///
/// - Empty value (header absent) or a unit other than "bytes" (compared case-insensitively,
///   RFC 9110 §14.1) -> `ignore`.
/// - Not `range-unit "=" 1#range-spec`, a last-pos below its first-pos, or a number above
///   2^64-1 -> `invalid`. OWS around list elements and empty elements ("0-1,,2-3") are
///   accepted (RFC 9110 §5.6.1.2).
/// - int-range first-last: satisfiable when first < length; last is clipped to length - 1.
///   suffix-range -N: the last N bytes (all when N >= length); -0 is unsatisfiable.
/// - Zero-length representation: an int-range is unsatisfiable; a suffix-range with N > 0 is
///   "satisfiable" (RFC 9110 §14.1.2) but no 206 can describe zero bytes, so the result is
///   `full` (a 200 with the empty body); with only int-ranges / -0 it is `unsatisfiable`.
/// - Then the abuse rule at the top of this file.
/// Never allocates; the result does not refer to `header_value`.
range_result parse_range(std::string_view header_value, std::uint64_t representation_length,
                         const range_limits& limits = {}) noexcept;

/// Content-Range value of a 206 part (RFC 9110 §14.4): "bytes 0-99/1000".
/// Precondition: first <= last < length.
std::string format_content_range(std::uint64_t first, std::uint64_t last, std::uint64_t length);
inline std::string format_content_range(const byte_range& r, std::uint64_t length) {
  return format_content_range(r.first, r.last, length);
}

/// Content-Range value of a 416 response (RFC 9110 §14.4, unsatisfied-range): "bytes */1000".
std::string format_unsatisfied_range(std::uint64_t length);

// ---- multipart/byteranges (RFC 9110 §14.6) ----------------------------------------------

/// A multipart boundary: "portico-" followed by 24 lowercase hex digits (96 random bits),
/// 32 characters, all RFC 2046 §5.1.1 bchars, usable unquoted as a parameter value.
///
/// Why 96 random bits are enough: the body is a valid multipart only if the delimiter
/// "CRLF--boundary" never occurs inside a part. The caller draws the bits from a CSPRNG for
/// every response, after the file content is fixed, so even a client that chose the file's
/// bytes cannot predict the boundary; the chance that a file of n bytes contains a given
/// 96-bit string at all is below n / 2^96 (under 2^-50 for a petabyte). Scanning the file for
/// the boundary is therefore not done.
class multipart_boundary {
 public:
  static constexpr std::size_t size = 32;
  std::string_view view() const noexcept { return {data_.data(), size}; }

 private:
  friend multipart_boundary make_multipart_boundary(std::uint64_t, std::uint32_t) noexcept;
  std::array<char, size> data_{};
};

/// The boundary for the random value (random_high, random_low): 64 + 32 = 96 bits.
multipart_boundary make_multipart_boundary(std::uint64_t random_high,
                                           std::uint32_t random_low) noexcept;

/// True if `b` is a valid RFC 2046 §5.1.1 boundary: 1..70 bchars, not ending in a space.
/// (Boundaries with a space or other non-token characters must be quoted in Content-Type;
/// plan_multipart_byteranges quotes them.)
bool is_valid_boundary(std::string_view b) noexcept;

/// One piece of a multipart body: literal text (a range of multipart_plan::text) or a slice
/// of the representation (offset and length in the file).
struct multipart_piece {
  enum class kind : std::uint8_t { text, file };
  kind what = kind::text;
  std::uint64_t offset = 0;  ///< into plan.text (text) or into the representation (file)
  std::uint64_t length = 0;
};

/// The exact wire layout of a multipart/byteranges body, without the file data.
///
/// Layout, for parts 1..n (T = content type, B = boundary, L = representation length):
///   "--B\r\nContent-Type: T\r\nContent-Range: bytes a-b/L\r\n\r\n"   (part 1 head)
///   <file a..b>
///   "\r\n--B\r\nContent-Type: T\r\nContent-Range: bytes c-d/L\r\n\r\n" (parts 2..n head)
///   <file c..d>
///   "\r\n--B--\r\n"                                                   (close delimiter)
/// The first delimiter has no leading CRLF (there is no preamble, RFC 2046 §5.1.1); the CRLF
/// before every later delimiter belongs to that delimiter. Content-Type lines are omitted when
/// `content_type` is empty (RFC 9110 §14.6: send the type the 200 response would have had).
/// pieces alternate text, file, text, ..., text (2n + 1 pieces).
struct multipart_plan {
  /// The response's Content-Type value: "multipart/byteranges; boundary=B".
  std::string content_type;
  /// All literal pieces back to back.
  std::string text;
  std::vector<multipart_piece> pieces;
  /// Exact body length: the sum of every piece's length (the response's Content-Length).
  std::uint64_t content_length = 0;

  /// The bytes of a text piece (a view into `text`; valid while the plan lives unchanged).
  std::string_view text_of(const multipart_piece& p) const noexcept {
    return std::string_view(text).substr(static_cast<std::size_t>(p.offset),
                                         static_cast<std::size_t>(p.length));
  }
};

/// Plans a multipart/byteranges body for `ranges` (in the order given; parse_range gives them
/// ascending and disjoint) of a representation of `representation_length` bytes.
/// Returns nullopt if `ranges` is empty, a range has first > last or last >= length,
/// `boundary` is not valid (is_valid_boundary), `content_type` contains CR or LF, or the
/// ranges add up to more than 2^63-1 bytes.
std::optional<multipart_plan> plan_multipart_byteranges(std::span<const byte_range> ranges,
                                                        std::uint64_t representation_length,
                                                        std::string_view content_type,
                                                        std::string_view boundary);

}  // namespace portico::http
