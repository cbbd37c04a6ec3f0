// The live status page: its HTML and the server-sent-event streams that feed it.
#pragma once

#include <atomic>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "portico/http.hpp"

namespace portico::engine {

/// The status page: one self-contained HTML document (inline CSS and script; no external
/// script, style, font or image), generated from src/server/status_page.html. It opens an
/// EventSource on its own path + "/events" and draws each JSON sample it receives.
extern const std::string_view status_page_html;

/// The Content-Security-Policy sent with the page: nothing may be loaded from elsewhere, and
/// the page may only connect back to its own origin.
inline constexpr std::string_view status_page_csp =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

/// The event streams of one worker: the text/event-stream responses its status page handlers
/// started. Used only on that worker's thread, except size(). Memory is bounded: at most
/// max_streams streams, and a stream that is behind (its write() returned false: more than the
/// response high-water mark buffered) skips events until everything buffered went out, instead
/// of buffering more.
class event_hub {
 public:
  static constexpr std::size_t max_streams = 32;

  /// Whether add() would take another stream (forgets the streams that ended first).
  bool has_room() noexcept;
  /// Takes `res` (a GET whose headers are set, not started) as a new stream and writes `first`
  /// to it. Returns false, leaving `res` alone, when max_streams streams are open.
  bool add(const portico::response& res, std::string_view first);
  /// Writes `event` (one complete event, "data: ...\n\n") to every stream that keeps up, and
  /// forgets the streams whose client went away.
  void publish(std::string_view event);
  /// Ends every stream (the last chunk goes out after what is buffered) and forgets them: the
  /// server is draining.
  void end_all() noexcept;
  /// Streams open now. Any thread (relaxed).
  std::size_t size() const noexcept { return size_.load(std::memory_order_relaxed); }

 private:
  struct stream {
    portico::response res;
    bool behind = false;  // the last write() returned false
  };
  void prune() noexcept;

  std::vector<stream> streams_;
  std::atomic<std::size_t> size_{0};
};

}  // namespace portico::engine
