// The send scheduler of an HTTP/2 connection: RFC 9218 extensible priorities (urgency 0..7,
// incremental) and the Priority field value parser (RFC 9218 §4, §5). Pure: no frames, no I/O.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace portico::http2 {

/// RFC 9218 §4: urgency 0 (highest) .. 7 (lowest), default 3; incremental default false.
struct priority {
  std::uint8_t urgency = 3;
  bool incremental = false;
  friend constexpr bool operator==(const priority&, const priority&) = default;
};

/// Applies a Priority field value (a Structured Fields Dictionary, RFC 9218 §5, RFC 8941 §3.2)
/// to `p`: "u=N" with N in 0..7 sets the urgency, "i" / "i=?1" / "i=?0" the incremental flag.
/// Unknown keys, out-of-range or ill-typed values are ignored (RFC 9218 §4: "MUST ignore"),
/// members that do not parse stop the parse (keeping what came before). Never fails.
priority parse_priority(std::string_view field_value, priority p = {}) noexcept;

/// One stream that could send now (it has body bytes and a positive stream window).
struct send_candidate {
  std::uint32_t stream_id = 0;
  priority prio;
};

/// Picks the stream to serve next, RFC 9218 §10 style:
/// - the lowest urgency among the candidates wins;
/// - within it, non-incremental streams go one at a time in stream-id order (the oldest request
///   first, so one response completes before the next starts);
/// - when none of that urgency is non-incremental, incremental streams share round-robin: the
///   first id after the one served last at that urgency (wrapping).
/// Keeps only the last served id per urgency. O(candidates) per pick (the session calls it only
/// for incremental streams; it serves the others in order).
class send_scheduler {
 public:
  /// The stream id to serve from `candidates` (any order), or 0 when empty.
  std::uint32_t pick(std::span<const send_candidate> candidates) noexcept;

 private:
  std::uint32_t last_served_[8] = {};
};

}  // namespace portico::http2
