// The Date header value (RFC 9110 §5.6.7 IMF-fixdate), formatted at most once per second.
#pragma once

#include <ctime>
#include <string_view>

namespace portico::http {

/// Formats `t` as "Sun, 06 Nov 1994 08:49:37 GMT" into `out` (29 bytes, no terminator needed).
void format_imf_fixdate(std::time_t t, char (&out)[29]) noexcept;

/// A per-thread cache of the formatted current date.
class date_cache {
 public:
  /// The date for wall-clock second `now`; reformats only when the second changed.
  std::string_view get(std::time_t now) noexcept {
    if (now != last_) {
      format_imf_fixdate(now, buf_);
      last_ = now;
    }
    return {buf_, sizeof buf_};
  }

 private:
  std::time_t last_ = -1;
  char buf_[29] = {};
};

}  // namespace portico::http
