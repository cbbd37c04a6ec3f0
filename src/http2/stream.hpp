// One HTTP/2 stream on the server side (RFC 9113 §5.1): its state, flow-control windows, the
// request being received and the response being sent. A stream is the protocol-neutral
// exchange (src/http/exchange.hpp) the handler sees, so handlers serve HTTP/2 unchanged.
// Internal to the session (session.cpp); the header is separate so tests can name the states.
#pragma once

#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/exchange.hpp"
#include "http2/scheduler.hpp"

namespace portico::http2 {

/// RFC 9113 §5.1 states a server stream goes through.
enum class stream_state : std::uint8_t {
  idle,
  reserved_local,      ///< promised by our PUSH_PROMISE; its HEADERS not sent yet
  open,                ///< HEADERS received without END_STREAM
  half_closed_remote,  ///< the client sent END_STREAM; we may still send
  half_closed_local,   ///< we sent END_STREAM; the client is still sending
  closed,
};

class stream final : public detail::exchange {
 public:
  explicit stream(std::uint32_t stream_id) noexcept : id(stream_id) {}

  /// Makes this (released, pooled) object a new stream `stream_id`: every field back to its
  /// initial value, containers keeping their capacity.
  void recycle_as(std::uint32_t stream_id) noexcept;
  stream* live_prev = nullptr;  // stream_pool's list of streams handed out
  stream* live_next = nullptr;

  std::uint32_t id;
  stream_state state = stream_state::idle;

  // ---- request ----------------------------------------------------------------------------
  struct field_ref {
    std::uint32_t name_off, name_len, value_off, value_len;
    const char* static_name = nullptr;  // set: the name is there (static storage), not in
                                        // field_bytes (name_off unused)
  };
  std::string field_bytes;                // names and values of the request's fields
  std::vector<field_ref> field_refs;      // regular fields, in order
  std::vector<header_view> header_views;  // built from field_refs once the head is complete
  /// Appends a name and a value to field_bytes; returns where they are (offsets: the string
  /// may move while fields arrive).
  field_ref append_field(std::string_view name, std::string_view value) {
    const auto base = static_cast<std::uint32_t>(field_bytes.size());
    const auto nlen = static_cast<std::uint32_t>(name.size());
    const auto vlen = static_cast<std::uint32_t>(value.size());
    field_bytes.resize(base + nlen + vlen);
    char* p = field_bytes.data() + base;
    if (nlen) std::memcpy(p, name.data(), nlen);
    if (vlen) std::memcpy(p + nlen, value.data(), vlen);
    return field_ref{base, nlen, base + nlen, vlen};
  }
  /// Appends only a value; the name is `static_name`, a string with static storage (the HPACK
  /// static table's, a literal), which is not copied.
  field_ref append_value(std::string_view static_name, std::string_view value) {
    const auto base = static_cast<std::uint32_t>(field_bytes.size());
    const auto vlen = static_cast<std::uint32_t>(value.size());
    field_bytes.resize(base + vlen);
    if (vlen) std::memcpy(field_bytes.data() + base, value.data(), vlen);
    return field_ref{0, static_cast<std::uint32_t>(static_name.size()), base, vlen,
                     static_name.data()};
  }
  std::string_view name_of(const field_ref& r) const noexcept {
    return r.static_name ? std::string_view(r.static_name, r.name_len)
                         : std::string_view(field_bytes).substr(r.name_off, r.name_len);
  }
  std::string_view value_of(const field_ref& r) const noexcept {
    return std::string_view(field_bytes).substr(r.value_off, r.value_len);
  }
  /// The request's header views (exchange::headers) from field_refs, once they are final.
  void publish_headers() {
    header_views.clear();
    for (const auto& r : field_refs)
      header_views.push_back({name_of(r), value_of(r)});
    headers = header_views;
  }
  std::uint32_t method_off = 0, method_len = 0, path_off = 0, path_len = 0;
  std::uint32_t scheme_off = 0, scheme_len = 0;      // :scheme, for the requests we push
  std::uint32_t protocol_off = 0, protocol_len = 0;  // :protocol (RFC 8441)
  bool request_has_content_length = false;  // (exchange::has_content_length: the response's)
  std::uint64_t request_content_length = 0;
  std::uint64_t body_received = 0;  // DATA payload bytes (padding excluded)
  bool head_complete = false;       // the request's field section was accepted
  bool dispatched = false;          // on_request was called (or the session answered itself)
  bool answered_by_session = false;
  bool pushed = false;  // a server-initiated (even) stream (RFC 9113 §8.4)

  // ---- flow control (RFC 9113 §5.2, §6.9) -------------------------------------------------
  std::int64_t send_window = 0;          // what we may still send (may go negative, §6.9.2)
  std::int64_t recv_window = 0;          // what the peer may still send
  std::uint32_t recv_target = 0;         // the window size we keep granting (auto-tuned)
  std::uint32_t recv_unacked = 0;        // consumed bytes not yet returned by WINDOW_UPDATE
  std::uint64_t last_window_update = 0;  // `now` of the last stream WINDOW_UPDATE we sent

  // ---- response ---------------------------------------------------------------------------
  priority prio;
  bool prio_rfc9218 = false;  // prio came from an RFC 9218 signal (RFC 7540 ones no longer apply)
  bool headers_sent = false;
  bool end_stream_sent = false;   // the frame with END_STREAM (or RST_STREAM) was queued
  bool no_body = false;           // HEAD, 1xx/204/304
  std::uint64_t body_total = 0;   // known body length (not for streams without Content-Length)
  std::uint64_t body_queued = 0;  // body bytes turned into DATA frames
  // memory/view/file: offset in the source; parts: part index and offset in it
  std::size_t part_index = 0;
  std::uint64_t part_offset = 0;
  std::deque<std::string> segments;  // kind == stream: bytes taken from body_memory
  std::size_t segment_offset = 0;
  std::uint64_t segment_bytes = 0;  // bytes in `segments` not yet queued
  std::uint64_t unwritten = 0;      // body bytes queued as DATA, not yet written
  // File read-ahead: one read fills up to ra_size octets that the next DATA frames refer to
  // (a refill waits until nothing queued refers to them: unwritten == 0).
  static constexpr std::size_t ra_size = 64 * 1024;
  std::unique_ptr<char[]> ra_buf;
  std::uint64_t ra_off = 0;  // file offset of ra_buf[0]
  std::size_t ra_len = 0;
};

/// Stream objects for the HTTP/2 sessions of one thread (a worker): a released stream goes back
/// to a free list instead of the allocator (each request allocated and freed a large object:
/// about a sixth of the server's CPU under h2load). Streams still referenced when the pool goes
/// away delete themselves when released. One thread only.
/// The per-worker cache of stream objects. It keeps as many free streams as were live at the
/// recent peak (at least `min_cached`, at most `max_cached`): a worker serving 256
/// connections x 32 streams takes 8192 streams and gives them back in the same loop turn,
/// and a fixed small cache made that a malloc/free of every stream. The peak decays by half
/// every 64Ki recycles, and what is cached above it is freed then, so memory returns after a
/// burst.
class stream_pool final : public detail::exchange_recycler {
 public:
  explicit stream_pool(std::size_t min_cached = 1024, std::size_t max_cached = 16384)
      : min_cached_(min_cached), max_cached_(max_cached) {}
  ~stream_pool();
  stream_pool(const stream_pool&) = delete;
  stream_pool& operator=(const stream_pool&) = delete;
  /// A stream in its initial state with id `stream_id` (no reference taken; the recycler is
  /// this pool).
  stream* acquire(std::uint32_t stream_id);
  void recycle(detail::exchange* x) noexcept override;
  /// Free streams held for reuse (tests, metrics).
  std::size_t cached() const noexcept { return free_.size(); }

 private:
  std::size_t min_cached_, max_cached_;
  std::vector<stream*> free_;
  stream* live_ = nullptr;
  std::size_t live_count_ = 0;
  std::size_t peak_live_ = 0;
  std::uint32_t recycles_ = 0;
};

}  // namespace portico::http2
