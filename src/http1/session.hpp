// The HTTP/1.1 server side of one connection, sans-I/O (RFC 9112).
//
// Bytes in: input_space() / input_committed(). Requests out: session_events::on_request().
// Bytes out: gather() / output_written(). Time: the caller runs the timers and tells the session
// when one fired (timeout()). The session never touches a socket, a clock or a file.
//
// Keep-alive (RFC 9112 §9.3): HTTP/1.1 is persistent unless "Connection: close"; HTTP/1.0 only
// with "Connection: keep-alive", which is echoed. The last response on a connection carries
// "Connection: close": after max_requests, after a "close" from the client, while draining, and
// after an error.
//
// Pipelining (§9.3.2): requests are parsed ahead (up to max_pipelined in flight), dispatched as
// soon as each is complete, and answered strictly in order; gather() collects the output of
// every finished response at the head of the line so that one writev sends them together.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/buffer.hpp"
#include "http/date.hpp"
#include "http/exchange.hpp"
#include "http1/parser.hpp"

namespace portico::http1 {

struct session_config {
  limits parse_limits{};
  bool keep_alive = true;
  unsigned max_requests = 1000;               ///< per connection; 0 = unlimited
  unsigned max_pipelined = 16;                ///< requests in flight at once
  std::size_t high_water = 256 * 1024;        ///< streaming back-pressure threshold per response
  std::size_t max_buffer = 16 * 1024 * 1024;  ///< past this a streamed response is cut
  std::string server_header = "portico";
};

class exchange1;

/// A pool of exchanges for one thread: sessions take them per request and they come back when
/// the last reference (the session's or a handler's response copy) goes.
class exchange_pool final : public detail::exchange_recycler {
 public:
  explicit exchange_pool(std::size_t max_cached = 1024) : max_cached_(max_cached) {}
  ~exchange_pool();
  exchange_pool(const exchange_pool&) = delete;
  exchange_pool& operator=(const exchange_pool&) = delete;
  exchange1* acquire();
  void recycle(detail::exchange* x) noexcept override;

 private:
  std::size_t max_cached_;
  std::vector<exchange1*> free_;
  exchange1* live_ = nullptr;  // handed out, not yet recycled
};

/// What the session needs from the connection that drives it.
class session_events {
 public:
  /// A complete request (head and body) to answer. `x` stays valid until its response ended and
  /// was written, or the session is destroyed.
  virtual void on_request(detail::exchange& x) = 0;
  /// New output is ready (gather() will return bytes): schedule a write.
  virtual void on_output_ready() = 0;
  /// A response was fully written (for statistics and the access log). `body_bytes`: bytes
  /// of the response body (0 for HEAD, 204, 304), as the combined log format's %b.
  virtual void on_response_done(const detail::exchange& x, std::uint64_t body_bytes) = 0;
  /// Forwarded from the handler API (response::post / set_timeout).
  virtual void post(std::function<void()> fn) = 0;
  virtual void set_timeout(unsigned ms, std::function<void()> fn) = 0;

 protected:
  ~session_events() = default;
};

/// One piece of file body to send with sendfile(2) (or pread on transports that need bytes).
struct file_piece {
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

class session final : public detail::exchange_owner {
 public:
  /// All references must outlive the session. `date` is the thread's Date cache; `now_s` the
  /// wall-clock second, updated by the caller with set_time().
  session(const session_config& cfg, session_events& ev, buffer_pool& buffers,
          exchange_pool& exchanges, http::date_cache& date, std::string_view remote_ip);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  void set_time(std::time_t now_s) noexcept { now_s_ = now_s; }

  // ---- input --------------------------------------------------------------------------------
  /// Where the next bytes from the peer go. Empty when the session does not want input now
  /// (pipeline full, closing): the caller stops reading until wants_input() is true again.
  std::span<char> input_space();
  /// `n` bytes were written into the span from input_space(): parse and dispatch.
  void input_committed(std::size_t n);
  /// The peer closed its sending side (read returned 0).
  void input_eof();
  bool wants_input() const noexcept;

  // ---- output -------------------------------------------------------------------------------
  /// Fills `iov` with the memory bytes ready to send, in order, stopping before a file piece.
  /// Returns the iovec count. When the next bytes are a file piece and no memory precedes it,
  /// returns 0 and sets `*file` (if file is not null).
  std::size_t gather(std::span<iovec> iov, file_piece* file);
  /// `n` bytes from gather()'s iovecs or file piece were written.
  void output_written(std::size_t n);
  bool has_output() const noexcept;

  // ---- state for the caller's timers and closing -------------------------------------------
  enum class phase : std::uint8_t {
    idle,          ///< between requests, nothing buffered: keep-alive timer
    reading_head,  ///< part of a head buffered: header timer (from the first byte)
    reading_body,  ///< a request body in progress: body timer (reset on progress)
    busy,          ///< requests dispatched, waiting for handlers or for output to drain
  };
  phase current_phase() const noexcept;
  /// Everything to send is sent and the connection should be closed now.
  bool done() const noexcept;
  /// The connection ended because of a protocol error or timeout (its error response went out):
  /// the caller closes with a bounded lingering read and then RST.
  bool closed_on_error() const noexcept { return error_close_; }

  enum class timeout_kind : std::uint8_t { header, body };
  /// A read timeout fired: answers 408 when part of a request was received, then closes.
  void timeout(timeout_kind k);
  /// Graceful shutdown: no new requests; requests in flight finish, the last response says
  /// Connection: close; an idle connection is done() at once.
  void begin_drain();
  /// The transport failed (reset, write timeout): every exchange is aborted and detached.
  void abort_all() noexcept;

  /// From session_events::on_request() only: the connection switches to another protocol
  /// after this request (h2c, RFC 9113 §3.2 / RFC 7540 §3.2). No more input is parsed and the
  /// caller never drives the session again (it only destroys it or calls abort_all()). The
  /// bytes received after the request are in unparsed_input() (valid until the next call).
  void stop_for_upgrade() noexcept { closing_ = true; }
  std::span<const char> unparsed_input() const noexcept { return in_.readable(); }

  std::uint32_t requests_seen() const noexcept { return requests_; }
  std::size_t pipeline_size() const noexcept { return in_flight_; }
  /// Gives the input buffer back to the pool if it holds nothing that is still needed.
  void release_idle_buffer() noexcept;

  // exchange_owner
  void exchange_updated(detail::exchange& x) override;
  std::size_t exchange_buffered(const detail::exchange& x) const noexcept override;
  /// HTTP/1.1 cannot cancel one response: what was queued before goes out, then the
  /// connection closes (closed_on_error(), so the glue resets it).
  void exchange_reset(detail::exchange& x, bool error) override;
  void post(std::function<void()> fn) override { events_.post(std::move(fn)); }
  void set_timeout(unsigned ms, std::function<void()> fn) override {
    events_.set_timeout(ms, std::move(fn));
  }

 private:
  void process_input();
  bool start_request(std::size_t head_len);
  void finish_body();
  void dispatch(exchange1& x);
  void fail(std::error_code ec);
  void fail_with_status(int status, std::string_view detail);
  exchange1* push_exchange();
  exchange1* link(exchange1* x);
  void unlink_back() noexcept;
  void drop_parsing() noexcept;
  void serialize(exchange1& x);
  void serialize_head(exchange1& x, bool chunked, bool has_length, std::uint64_t length);
  void take_stream_data(exchange1& x);
  void complete_front();
  void relocate_pinned();
  bool pinned() const noexcept;

  const session_config& cfg_;
  session_events& events_;
  buffer_pool& buffers_;
  exchange_pool& pool_;
  http::date_cache& date_;
  std::string_view remote_ip_;
  std::time_t now_s_ = 0;
  input_buffer in_;
  exchange1* front_ = nullptr;    // oldest in-flight exchange (its response goes out first)
  exchange1* back_ = nullptr;     // newest
  exchange1* reading_ = nullptr;  // the exchange whose body is being read
  exchange1* parsing_ = nullptr;  // receives the head being parsed (not in the pipeline yet)
  std::uint32_t in_flight_ = 0;
  std::uint32_t requests_ = 0;
  bool closing_ = false;      // no more requests will be read
  bool error_close_ = false;  // closing because of an error
  bool peer_eof_ = false;
  bool in_process_ = false;
};

}  // namespace portico::http1
