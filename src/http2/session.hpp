// The server side of one HTTP/2 connection (RFC 9113), sans-I/O.
//
// Bytes in: consume(bytes, now). Requests out: session_events::on_request(exchange), the same
// protocol-neutral exchange the HTTP/1.1 session hands out (src/http/exchange.hpp), so every
// handler serves HTTP/2 unchanged. Bytes out: pending_output(iovecs) / commit_output(n).
// Time: every call that may rate-limit or time out takes `now` (monotonic milliseconds); the
// session never reads a clock, a socket or a file (file bodies are read through the injected
// body_reader).
//
// Typical glue (prior knowledge or TLS with ALPN "h2"):
//   http2::session s(cfg, events, &reader, date, ip);
//   s.start(now);                                  // queues our SETTINGS (RFC 9113 §3.4)
//   on readable:  n = s.consume(bytes, now); keep bytes[n..] while !s.wants_input()
//   on output:    k = s.pending_output(iov); w = writev(iov, k); s.commit_output(w)
//   timers:       s.tick(now) every second or so; begin_shutdown(now) to drain
//   close when:   s.done()
// h2c (RFC 7540 §3.2): after the HTTP/1.1 request with "Upgrade: h2c" and a valid
// HTTP2-Settings (decode_http2_settings), the glue writes "101 Switching Protocols", then calls
// start_upgraded() instead of start(), and feeds the rest of the bytes (the client preface and
// what follows) to consume().
//
// What the session answers by itself (docs/http2.md "Connection and streams" has the table):
// connection errors -> GOAWAY(code, detail) and done() once it is written; stream errors ->
// RST_STREAM; a request with a header list over max_header_list_size -> 431; a body over
// max_request_body -> 413; more than max_concurrent_streams open -> RST_STREAM(REFUSED_STREAM).
#pragma once

#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hpack/decoder.hpp"
#include "hpack/encoder.hpp"
#include "http/date.hpp"
#include "http/exchange.hpp"
#include "http2/frame.hpp"
#include "http2/frame_reader.hpp"
#include "http2/scheduler.hpp"
#include "http2/stream.hpp"

namespace portico::http2 {

/// Limits and settings of a connection, with documented defaults (DESIGN.md §4.7).
struct session_config {
  // ---- what we announce in SETTINGS (RFC 9113 §6.5.2) -------------------------------------
  std::uint32_t max_concurrent_streams = 128;
  /// Our SETTINGS_INITIAL_WINDOW_SIZE: the receive window each stream starts with.
  std::uint32_t initial_window_size = 65535;
  /// Our SETTINGS_MAX_FRAME_SIZE (in force once the peer ACKs it, §6.5.3).
  std::uint32_t max_frame_size = 16384;
  /// SETTINGS_MAX_HEADER_LIST_SIZE, enforced by the HPACK decoder: over it -> 431. Also the
  /// longest name or value the decoder takes (at least 16 KiB); longer -> COMPRESSION_ERROR.
  std::uint32_t max_header_list_size = 64 * 1024;
  /// SETTINGS_HEADER_TABLE_SIZE for the peer's encoder (our decoder's table).
  std::uint32_t header_table_size = 4096;
  /// RFC 8441 §3: announce SETTINGS_ENABLE_CONNECT_PROTOCOL=1 and accept :protocol.
  bool enable_connect_protocol = false;

  // ---- receive side (RFC 9113 §5.2, §6.9) ---------------------------------------------------
  /// The connection receive window granted right after the preface (WINDOW_UPDATE on 0).
  std::uint32_t connection_window = 16 * 1024 * 1024;
  /// The bound of a stream's auto-tuned receive window.
  std::uint32_t max_stream_window = 16 * 1024 * 1024;
  /// A stream whose peer used half its receive window within this many ms of the previous
  /// WINDOW_UPDATE gets its window doubled (up to max_stream_window).
  std::uint64_t window_autotune_ms = 250;
  /// Request body bytes; more -> 413 (the rest of the body is discarded, then RST NO_ERROR).
  std::uint64_t max_request_body = 1024 * 1024;
  /// Request body bytes held by the streams of one connection (at least max_request_body):
  /// a DATA frame that would pass it gets RST_STREAM(REFUSED_STREAM) for its stream, whose
  /// body is dropped. Without it, max_concurrent_streams bodies that never end are held.
  std::uint64_t max_connection_request_bodies = 16 * 1024 * 1024;
  /// Bytes of one field block on the wire (HEADERS + CONTINUATION): ENHANCE_YOUR_CALM above.
  std::size_t max_field_block = 128 * 1024;

  // ---- send side ------------------------------------------------------------------------------
  /// Response bytes buffered per stream before response::write() returns false.
  std::size_t high_water = 256 * 1024;
  /// Past this a streamed response is reset (the handler ignored back-pressure).
  std::size_t max_buffer = 16 * 1024 * 1024;
  /// Output queued and not yet written above which consume() stops taking input.
  std::size_t output_high_water = 1024 * 1024;
  /// DATA bytes turned into frames ahead of the transport (per pending_output()).
  std::size_t write_quantum = 64 * 1024;

  // ---- server push (RFC 9113 §8.4) --------------------------------------------------------
  /// Push the same-origin targets of `Link: <...>; rel=preload` fields of 2xx responses to
  /// GET (not those marked `nopush`), as h2o and nginx's http2_push_preload do.
  bool push_preload = false;
  /// Pushed streams in progress at once (also bounded by the client's
  /// SETTINGS_MAX_CONCURRENT_STREAMS, §5.1.2); response::push() returns false above it.
  std::uint32_t max_pushed_streams = 32;
  /// Link targets pushed for one response at most.
  std::uint32_t max_preload_pushes = 16;

  // ---- floods (DESIGN.md §6) ------------------------------------------------------------------
  /// PING and SETTINGS ACKs queued but not written: above -> GOAWAY(ENHANCE_YOUR_CALM).
  std::size_t max_pending_acks = 1000;
  /// Client RST_STREAMs of unanswered streams and stream errors we send (rapid reset,
  /// CVE-2023-44487): a token bucket of `reset_burst` refilled at `reset_rate` per second.
  std::uint32_t reset_burst = 1000;
  std::uint32_t reset_rate = 33;
  /// Frames that do no work (empty DATA without END_STREAM, empty CONTINUATION/HEADERS
  /// fragments without END_HEADERS, WINDOW_UPDATEs while nothing waits for the window,
  /// SETTINGS, frames on closed streams): token bucket.
  std::uint32_t glitch_burst = 1000;
  std::uint32_t glitch_rate = 100;
  /// Closed stream ids we sent RST_STREAM on, whose late frames are ignored (RFC 9113 §5.1).
  std::size_t remembered_resets = 256;

  // ---- timers (milliseconds) ------------------------------------------------------------------
  std::uint64_t settings_timeout_ms = 10000;  ///< our SETTINGS unacknowledged -> SETTINGS_TIMEOUT
  std::uint64_t shutdown_timeout_ms = 2000;   ///< GOAWAY phase one without the PING ACK

  std::string server_header = "portico";
};

/// What the session needs from the connection that drives it (as http1::session_events).
class session_events {
 public:
  /// A complete request (head and body) to answer. `x` stays valid until its response ended and
  /// was written, the stream was reset, or the session is destroyed.
  virtual void on_request(detail::exchange& x) = 0;
  /// The head of `x` (method, path, fields set) is complete and a body follows: true to
  /// dispatch it now and hand the body over through x.on_body_data as DATA arrives.
  virtual bool wants_body_stream(detail::exchange& x) {
    (void)x;
    return false;
  }
  /// New output is ready (pending_output() returns bytes): schedule a write.
  virtual void on_output_ready() = 0;
  /// A response was fully written. `body_bytes`: DATA payload bytes of the response.
  virtual void on_response_done(const detail::exchange& x, std::uint64_t body_bytes) = 0;
  /// Forwarded from the handler API (response::post / set_timeout).
  virtual void post(std::function<void()> fn) = 0;
  virtual void set_timeout(unsigned ms, std::function<void()> fn) = 0;

 protected:
  ~session_events() = default;
};

/// Reads file bodies for the session (the glue implements it with pread(2)).
class body_reader {
 public:
  /// Reads up to out.size() bytes of `fd` at `offset` into `out`; returns the count. 0 means
  /// error or end of file: the stream is reset with INTERNAL_ERROR.
  virtual std::size_t read(int fd, std::uint64_t offset, std::span<char> out) = 0;

 protected:
  ~body_reader() = default;
};

/// The HTTP/1.1 request that asked for "Upgrade: h2c" (RFC 7540 §3.2); views need to live only
/// during start_upgraded().
struct upgrade_request {
  std::string_view method;
  std::string_view target;
  std::span<const header_view> headers;  ///< as received; connection-specific ones are dropped
  std::string_view body;
};

class session final : public detail::exchange_owner {
 public:
  /// All references must outlive the session; `reader` may be null (file bodies then fail).
  session(const session_config& cfg, session_events& ev, body_reader* reader,
          http::date_cache& date, std::string_view remote_ip);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  /// Stream objects come from `pool` (one per thread; it must outlive the session) instead of
  /// new/delete. Before start().
  void use_pool(stream_pool* pool) noexcept { pool_ = pool; }

  /// The wall-clock second for Date fields.
  void set_time(std::time_t now_s) noexcept { now_s_ = now_s; }

  /// Starts a connection (prior knowledge or ALPN h2): queues the server connection preface,
  /// our SETTINGS (RFC 9113 §3.4), and a WINDOW_UPDATE raising the connection window to
  /// connection_window. The client preface is expected next in consume().
  void start(std::uint64_t now);

  /// Decodes an HTTP2-Settings value (RFC 7540 §3.2.1: base64url, no padding needed) into a
  /// SETTINGS payload; nullopt when it is not base64url, not a multiple of 6 octets, or a
  /// value fails check_setting(): the glue then answers the request over HTTP/1.1 without
  /// upgrading.
  static std::optional<std::string> decode_http2_settings(std::string_view token68);

  /// Starts an h2c connection (RFC 7540 §3.2): applies `settings` (a payload from
  /// decode_http2_settings; the 101 acknowledges it implicitly), queues our preface, and
  /// dispatches `req` as stream 1 in state half-closed (remote). Call instead of start(),
  /// after writing the 101 response. The client preface is still expected in consume().
  void start_upgraded(const upgrade_request& req, std::span<const std::byte> settings,
                      std::uint64_t now);

  // ---- input --------------------------------------------------------------------------------
  /// Processes bytes from the peer. Returns how many were taken: all of them unless the
  /// session stopped wanting input (output above output_high_water, or closing); the caller
  /// offers the rest again once wants_input() is true. Partial frames are kept inside (at
  /// most one frame, <= max_frame_size + 9 octets). No view into `in` is kept.
  std::size_t consume(std::span<const std::byte> in, std::uint64_t now);
  std::size_t consume(std::span<const char> in, std::uint64_t now) {
    return consume(std::as_bytes(in), now);
  }
  bool wants_input() const noexcept;
  /// The peer closed its sending side: no new requests; in-flight responses still go out.
  void input_eof() noexcept;

  // ---- output -------------------------------------------------------------------------------
  /// Fills `iov` with the bytes to send, in order (frame prefixes and control frames owned by
  /// the session, body bytes by reference). Returns the count. The iovecs stay valid until
  /// commit_output() (other calls may append output but never move what was handed out).
  std::size_t pending_output(std::span<iovec> iov);
  /// `n` bytes from the front of pending_output() were written. May call a handler's on_drain.
  void commit_output(std::size_t n);
  /// Bytes are queued, or a stream has DATA that the windows allow (pending_output makes it).
  bool has_output() const noexcept;
  std::size_t output_size() const noexcept { return out_bytes_; }

  // ---- timers and closing -------------------------------------------------------------------
  /// Runs the SETTINGS ACK and shutdown timers.
  void tick(std::uint64_t now);
  /// Graceful shutdown (RFC 9113 §6.8): GOAWAY(2^31-1, NO_ERROR) and a PING now; on the PING
  /// ACK (or after shutdown_timeout_ms, in tick()) GOAWAY(last stream id seen). Streams up to
  /// that id complete; later ones are ignored. done() once they have.
  void begin_shutdown(std::uint64_t now);
  /// Everything is sent and the connection should be closed now.
  bool done() const noexcept;
  /// The connection ended with a GOAWAY carrying an error (closed once it is written).
  bool closed_on_error() const noexcept { return failed_; }
  /// The error code of the GOAWAY we sent because of an error (no_error otherwise).
  errc error_code() const noexcept { return error_code_; }
  /// The transport failed: every exchange is aborted and detached; nothing more is sent.
  void abort_all() noexcept;

  // ---- introspection (tests, metrics) ---------------------------------------------------------
  std::size_t active_streams() const noexcept { return streams_.size(); }
  std::uint32_t last_peer_stream() const noexcept { return last_peer_stream_; }
  const settings_values& peer_settings() const noexcept { return peer_; }
  std::int64_t connection_send_window() const noexcept { return conn_send_window_; }
  /// The stream's state, or closed when it is not (or no longer) active (idle above the last).
  stream_state state_of(std::uint32_t id) const noexcept;

  // exchange_owner
  void exchange_updated(detail::exchange& x) override;
  std::size_t exchange_buffered(const detail::exchange& x) const noexcept override;
  /// RST_STREAM(CANCEL), or INTERNAL_ERROR when `error` (RFC 9113 §5.4.2).
  void exchange_reset(detail::exchange& x, bool error) override;
  /// PUSH_PROMISE on x's stream (RFC 9113 §6.6, §8.4), then dispatches the promised GET
  /// through session_events::on_request (posted, so never from inside the caller's handler).
  bool exchange_push(detail::exchange& x, std::string_view path,
                     std::span<const header_view> headers) override;
  std::uint32_t pushed_streams() const noexcept { return pushed_active_; }
  /// Priorities kept for streams that are not open (RFC 7540 PRIORITY frames and RFC 9218
  /// PRIORITY_UPDATEs for idle ids): each kind at most max_concurrent_streams.
  std::size_t remembered_priorities() const noexcept {
    return idle_rfc7540_.size() + idle_updates_.size();
  }
  void post(std::function<void()> fn) override { events_.post(std::move(fn)); }
  void set_timeout(unsigned ms, std::function<void()> fn) override {
    events_.set_timeout(ms, std::move(fn));
  }

 private:
  struct out_chunk {
    std::string owned;
    const char* ext = nullptr;  // a view (body bytes of `ref`) when set
    std::size_t len = 0;
    std::size_t sent = 0;
    stream* ref = nullptr;        // holds a reference while queued
    std::uint32_t acks = 0;       // PING/SETTINGS ACKs inside
    std::uint64_t body = 0;       // body bytes of ref inside
    std::uint64_t seq = 0;        // position in the queue since the session began (completions)
    std::unique_ptr<char[]> raw;  // file bytes read for this frame (ext points here)
    bool raw_kept = false;        // raw is raw_size octets: reusable
  };
  // File reads go to raw buffers of a frame's size, a few kept for reuse (raw_spare_).
  static constexpr std::size_t raw_size = 16 * 1024;
  static constexpr std::size_t max_raw_spares = 4;
  // Where a response ends in the queue: on_response_done once that chunk has been written up to
  // `end`. Several responses can end in one shared control chunk (small bodies copied there,
  // END_STREAM without payload), so small responses do not each need a chunk of their own; a
  // body sent by reference ends at the end of its own chunk.
  struct completion {
    stream* s;            // holds a reference until then
    std::uint64_t chunk;  // seq of the chunk
    std::size_t end;      // offset in that chunk just past the response's last octet
    std::uint64_t body;   // body octets of s copied into the queue (unwritten accounting)
  };
  struct token_bucket {
    std::uint64_t milli = 0;  // tokens * 1000
    std::uint64_t last = 0;
    bool primed = false;
    bool take(std::uint32_t burst, std::uint32_t rate, std::uint64_t now) noexcept;
  };
  enum class input_phase : std::uint8_t { preface, first_settings, frames };

  void process_frame(const read_result& r);
  void on_data(const frame_view& f, const data_frame& d);
  void on_headers_frame(const frame_view& f, const headers_frame& h, bool self_dependent);
  void on_continuation(const continuation_frame& c);
  void on_field_block(std::uint32_t id, std::span<const std::byte> block, bool end_stream,
                      bool self_dependent);
  void on_settings(const settings_frame& s);
  void apply_peer_setting(const setting& s);
  void on_ping(const ping_frame& p);
  void on_rst_stream(std::uint32_t id, const rst_stream_frame& r);
  void on_window_update(std::uint32_t id, const window_update_frame& w);
  void on_priority_update(const priority_update_frame& p);
  void on_priority(std::uint32_t id, const priority_fields& p);
  /// RFC 9218 §2.1: RFC 7540 priority signals are used unless the client announced
  /// SETTINGS_NO_RFC7540_PRIORITIES=1 (we always do).
  bool use_rfc7540_priorities() const noexcept { return !peer_.no_rfc7540_priorities; }
  /// An RFC 7540 priority signal (dependency, weight, exclusive) for stream `id` as an RFC 9218
  /// priority (see docs/http2.md, Scheduler): the urgency from the weight, never more urgent
  /// than the open stream it depends on; incremental unless exclusive.
  priority map_rfc7540(std::uint32_t id, const priority_fields& p) const noexcept;
  /// The stream's initial priority once its head is complete: the Priority field, else the
  /// HEADERS' RFC 7540 signal or one sent earlier for the idle id; a PRIORITY_UPDATE sent while
  /// the stream was idle overrides both (RFC 9218 §7.1).
  void initial_priority(stream& s);

  stream* find(std::uint32_t id) const noexcept;
  /// RFC 9113 §5.1: an id neither side has used yet (odd: the client's, even: ours).
  bool is_idle(std::uint32_t id) const noexcept {
    return (id % 2) != 0 ? id > last_peer_stream_ : id >= next_push_id_;
  }
  void push_preload_links(stream& s);
  void dispatch_pushed(stream& s);
  void queue_trailers(stream& s);
  void queue_field_block(stream& s, std::span<const hpack::header_field> list, bool end);
  stream* open_stream(std::uint32_t id);
  bool finish_head(stream& s, bool end_stream);
  void finish_request(stream& s);
  void dispatch(stream& s);
  void prepare_dispatch(stream& s);  // method, path, ... of the exchange from the stream
  void answer(stream& s, int status, std::string_view detail);
  void close_stream(stream& s) noexcept;
  void reset_stream(stream& s, errc code);
  void reset_id(std::uint32_t id, errc code);
  void remember_reset(std::uint32_t id);
  bool recently_reset(std::uint32_t id) const noexcept;
  bool recently_closed(std::uint32_t id) const noexcept;
  void connection_error(errc code, std::string_view detail);
  void glitch();
  void count_reset();
  void maybe_update_connection_window();
  void maybe_update_stream_window(stream& s);

  void send_headers(stream& s);
  void take_stream_data(stream& s);
  std::uint64_t available(const stream& s) const noexcept;
  bool body_finished(const stream& s) const noexcept;
  void fill_data();
  // The stream has DATA (or a final empty DATA) it may send now.
  bool sendable(const stream& s) const noexcept;
  void emit_data(stream& s, std::uint64_t n);
  void end_stream_queued(stream& s);
  void queue_goaway(std::uint32_t last_id, errc code, std::string_view detail);
  void queue_preface();

  std::string& control();
  void push_chunk(out_chunk c);
  void notify_output();
  void release_chunk(out_chunk& c) noexcept;
  void complete_at_back(stream& s, std::uint64_t body);
  const char* read_ahead(stream& s, int fd, std::uint64_t off, std::size_t k, std::uint64_t left);
  void fire_completions(std::uint64_t chunk, std::size_t written);

  const session_config& cfg_;
  session_events& events_;
  body_reader* reader_;
  stream_pool* pool_ = nullptr;
  http::date_cache& date_;
  std::string remote_ip_;
  std::time_t now_s_ = 0;
  std::uint64_t now_ = 0;

  frame_reader frames_;
  hpack::decoder decoder_;
  hpack::encoder encoder_;
  settings_values peer_;
  send_scheduler scheduler_;

  input_phase phase_ = input_phase::preface;
  std::size_t preface_seen_ = 0;
  std::vector<std::byte> stash_;  // an incomplete frame
  std::vector<std::byte> block_;  // the field block being assembled over CONTINUATION
  std::uint32_t block_stream_ = 0;
  bool block_end_stream_ = false;
  bool block_self_dependent_ = false;
  std::optional<priority_fields> block_priority_;  // the HEADERS' RFC 7540 signal

  // Priorities for streams that are not open. RFC 9218 §7.1: PRIORITY_UPDATEs for idle client
  // streams, applied when the stream opens; with the active streams at most
  // max_concurrent_streams (more is a connection PROTOCOL_ERROR). RFC 7540 §5.3: PRIORITY
  // frames for streams that are not open, applied if the stream opens; the most recent
  // max_concurrent_streams.
  struct early_priority {
    std::uint32_t id = 0;
    priority prio;
  };
  std::vector<early_priority> idle_updates_;
  std::vector<early_priority> idle_rfc7540_;
  static early_priority* find_early(std::vector<early_priority>& v, std::uint32_t id) noexcept {
    for (auto& e : v)
      if (e.id == id) return &e;
    return nullptr;
  }

  // Active streams (one reference each), sorted by id in one array: at most
  // max_concurrent_streams (+ pushes) entries, so a binary search finds, and a short move
  // inserts or erases, faster than a node-based map walks (and iteration stays in cache).
  class stream_table {
   public:
    using entry = std::pair<std::uint32_t, stream*>;
    stream* find(std::uint32_t id) const noexcept {
      auto it = lower(id);
      return it != v_.end() && it->first == id ? it->second : nullptr;
    }
    void emplace(std::uint32_t id, stream* s) {
      // Client ids only grow, so this is nearly always an append.
      if (v_.empty() || v_.back().first < id)
        v_.emplace_back(id, s);
      else
        v_.insert(lower(id), entry{id, s});
    }
    /// Removes `id` if it maps to `s`; false if not there.
    bool erase(std::uint32_t id, const stream* s) noexcept {
      auto it = lower(id);
      if (it == v_.end() || it->first != id || it->second != s) return false;
      v_.erase(it);
      return true;
    }
    /// Removes and returns the stream with the lowest id. Precondition: !empty().
    stream* take_front() noexcept {
      stream* s = v_.front().second;
      v_.erase(v_.begin());
      return s;
    }
    bool empty() const noexcept { return v_.empty(); }
    std::size_t size() const noexcept { return v_.size(); }
    std::vector<entry>::const_iterator begin() const noexcept { return v_.begin(); }
    std::vector<entry>::const_iterator end() const noexcept { return v_.end(); }

   private:
    std::vector<entry>::const_iterator lower(std::uint32_t id) const noexcept {
      return std::lower_bound(v_.begin(), v_.end(), id,
                              [](const entry& e, std::uint32_t k) { return e.first < k; });
    }
    std::vector<entry> v_;
  };
  stream_table streams_;
  // Scratch space of send_headers/queue_field_block, kept for its capacity (no allocation per
  // response once warm). Not reentrant: filled and used within one call.
  std::vector<hpack::header_field> field_scratch_;
  std::vector<std::byte> block_scratch_;
  std::vector<send_candidate> cand_scratch_;        // fill_data()
  std::vector<std::string> spare_;                  // emptied chunk buffers (take_spare/keep_spare)
  std::vector<std::unique_ptr<char[]>> raw_spare_;  // emptied file read buffers
  std::string take_spare() noexcept;
  void keep_spare(std::string& s) noexcept;
  std::uint32_t last_peer_stream_ = 0;
  std::uint32_t next_push_id_ = 2;  // RFC 9113 §5.1.1: server streams are even
  std::uint32_t pushed_active_ = 0;
  std::deque<std::uint32_t> resets_;  // closed streams we reset (late frames ignored)
  std::deque<std::uint32_t> closed_;  // other recently closed streams (STREAM_CLOSED)

  std::int64_t conn_send_window_ = default_initial_window_size;
  std::int64_t conn_recv_window_ = default_initial_window_size;
  std::uint32_t conn_recv_unacked_ = 0;
  std::uint64_t body_bytes_ = 0;  // request body bytes held by active streams

  std::deque<out_chunk> out_;
  std::size_t out_bytes_ = 0;
  std::deque<completion> completions_;  // in queue order
  std::uint64_t next_seq_ = 0;
  std::size_t handed_out_ = 0;  // chunks at the front given to the glue (not to be appended to)
  std::size_t pending_acks_ = 0;

  token_bucket resets_bucket_;
  token_bucket glitch_bucket_;

  bool started_ = false;
  bool settings_acked_ = false;
  std::uint64_t settings_sent_at_ = 0;
  int shutdown_phase_ = 0;  // 0 none, 1 GOAWAY(max) + PING sent, 2 final GOAWAY sent
  std::uint64_t shutdown_deadline_ = 0;
  std::uint32_t goaway_last_id_ = max_stream_id;
  bool peer_goaway_ = false;
  bool peer_eof_ = false;
  bool failed_ = false;
  bool aborted_ = false;
  errc error_code_ = errc::no_error;
  bool in_consume_ = false;
};

}  // namespace portico::http2
