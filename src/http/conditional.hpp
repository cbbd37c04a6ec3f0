// Conditional requests (RFC 9110 §13): HTTP-date parsing, the §13.2.2 precondition order, and
// If-Range. Sans-I/O: the current time is an argument (seconds since the Unix epoch, UTC), no
// clock is read. Header values are views; nothing here allocates.
//
// Use (static files): RFC 9110 §13.2.1 -- evaluate preconditions only when the response
// without them would be 2xx or 412 (not for a 404, a 405, ...), then
//
//   switch (evaluate_preconditions(conds, state, method_is_get_or_head, now)) {
//     precondition_result::not_modified        -> 304 (with ETag, Last-Modified, ...)
//     precondition_result::precondition_failed -> 412
//     precondition_result::proceed             -> if GET and Range present and
//                                                 if_range_allows(...) -> parse_range(...),
//                                                 otherwise 200
//   }
//
// Last-Modified is formatted with format_imf_fixdate (date.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "http/etag.hpp"

namespace portico::http {

/// Parses an HTTP-date (RFC 9110 §5.6.7) into seconds since the epoch: IMF-fixdate
/// ("Sun, 06 Nov 1994 08:49:37 GMT"), and the obsolete forms a recipient MUST accept:
/// RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime ("Sun Nov  6 08:49:37 1994").
/// Names and "GMT" are case-sensitive as in the grammar; surrounding OWS is allowed; the
/// day-name must be a valid name but is not checked against the date (it is redundant);
/// second 60 (leap second) reads as 59. An RFC 850 two-digit year is placed in the century
/// that makes it at most 50 years after the year of `now` (§5.6.7). nullopt for anything
/// else, including an impossible date such as 31 Feb.
std::optional<std::int64_t> parse_http_date(std::string_view value, std::int64_t now) noexcept;

/// The request's precondition fields. String values: empty = absent. The list fields may come
/// as several field lines (RFC 9110 §5.3, §13.1.1, §13.1.2): pass every line, or one value the
/// caller joined with ", "; an empty span (or only empty lines) = absent.
struct request_conditions {
  std::span<const std::string_view> if_match;
  std::span<const std::string_view> if_none_match;
  std::string_view if_modified_since;
  std::string_view if_unmodified_since;
};

/// The selected representation as the server currently has it.
struct resource_state {
  /// The ETag field value as sent ("\"abc\"" or "W/\"abc\""); empty = no entity tag.
  std::string_view etag;
  /// Last-Modified in seconds since the epoch; nullopt = no modification date.
  std::optional<std::int64_t> last_modified;
  /// false: there is no current representation (a PUT that would create it). Then etag and
  /// last_modified are ignored.
  bool exists = true;
};

enum class precondition_result : std::uint8_t {
  proceed,              ///< perform the method (then consider If-Range/Range)
  not_modified,         ///< send 304 (GET/HEAD only)
  precondition_failed,  ///< send 412
};

/// RFC 9110 §13.2.2, steps 1-4, in this order:
///  1. If-Match present: "*" is true iff the resource exists; otherwise true iff a member
///     matches the current ETag by strong comparison. false -> 412. A malformed If-Match is
///     false (it cannot be confirmed) -> 412.
///  2. Else If-Unmodified-Since present: true iff last_modified <= date. false -> 412. Ignored
///     when the date is invalid or there is no modification date (§13.1.4).
///  3. If-None-Match present: "*" matches iff the resource exists; otherwise a member matches
///     by weak comparison. A match -> 304 for GET/HEAD, 412 for other methods. A malformed
///     If-None-Match is treated as matching nothing for GET/HEAD (a full 200 is harmless) and
///     as a failed condition (412) for other methods, which are state-changing.
///  4. Else, GET/HEAD only, If-Modified-Since present: last_modified <= date -> 304. Ignored
///     when the date is invalid, later than `now` (RFC 2616 §14.25's rule, kept because a
///     future date cannot come from a Last-Modified this server sent), or there is no
///     modification date (§13.1.3).
/// 412 is returned even where §13.1.1 lets a server answer 2xx for a state change that
/// already happened; a caller that can tell may override.
precondition_result evaluate_preconditions(const request_conditions& conditions,
                                           const resource_state& resource, bool is_get_or_head,
                                           std::int64_t now) noexcept;

/// RFC 9110 §13.1.5 / §13.2.2 step 5: may the Range header be honoured? Call only for a GET
/// with a Range header. Returns true when `if_range` is empty (absent). Otherwise:
///  - an entity-tag: true iff it matches `etag` (the current ETag field value) by strong
///    comparison, so a weak tag never matches;
///  - an HTTP-date: true iff it equals `last_modified` exactly AND that Last-Modified is a
///    strong validator (§8.8.2.2), which this function takes to hold once the second it names
///    is over: last_modified + 1 <= now. (A file modified during the current second may still
///    change within that second without changing its Last-Modified.)
///  - anything else (malformed): false.
/// false means: ignore Range and send 200 with the whole representation.
bool if_range_allows(std::string_view if_range, std::string_view etag,
                     std::optional<std::int64_t> last_modified, std::int64_t now) noexcept;

}  // namespace portico::http
