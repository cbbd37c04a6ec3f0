// The server side of one WebSocket connection after the handshake (RFC 6455 §5-§7, RFC 7692),
// sans-I/O.
//
// Bytes in: consume(bytes, now). Events out: session_events (on_message, on_close, on_ping,
// on_pong, on_output_ready, on_drain). Bytes out: pending_output(iovecs) / commit_output(n).
// Time: consume(), close() and tick() take `now` (monotonic milliseconds); the session never
// reads a clock or touches a socket.
//
// Typical glue (after the 101 response of ws::accept_upgrade(), or the 200 of RFC 8441):
//   ws::session s(cfg, events, handshake.deflate);
//   s.start(now);
//   on readable:  s.consume(bytes, now)          (takes them all; nothing is kept in view)
//   on output:    k = s.pending_output(iov); w = writev(fd, iov, k); s.commit_output(w)
//   timers:       s.tick(now) at s.next_deadline() (or every second)
//   peer EOF:     s.input_eof()
//   close when:   s.done() (then shutdown(SHUT_WR) and drain briefly, so that the peer reads
//                 our Close before a reset; RFC 6455 §7.1.1: the server closes TCP first)
//
// What the session answers by itself (docs/websocket.md has the table):
//   protocol errors from frame_parser (unmasked frame, RSV bits, reserved opcode, bad control
//   frame, bad fragmentation, non-minimal length)                 -> Close 1002
//   text (or a Close reason) that is not UTF-8; compressed data that does not inflate
//                                                                  -> Close 1007
//   a message over max_message_size (inflated size with compression) -> Close 1009
//   a Close with a 1-byte payload or a code not valid on the wire  -> Close 1002
//   output over max_buffered (the peer does not read)              -> Close 1008
//   zlib out of memory                                             -> Close 1011
//   Ping -> Pong with the same payload (only the latest Ping is answered if several arrive
//   before the Pong is written, RFC 6455 §5.5.3); Close -> Close echoing the code.
// After a failure the session sends its Close and is done once that is written (it does not
// wait for the peer's Close, RFC 6455 §7.1.7).
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ws/deflate.hpp"
#include "ws/errors.hpp"
#include "ws/frame.hpp"
#include "ws/utf8.hpp"

namespace portico::ws {

/// Limits and timers of a connection, with documented defaults (DESIGN.md §4.7).
struct session_config {
  /// Largest message accepted, after decompression: more -> Close 1009 (also bounds inflation,
  /// so a decompression bomb stops here).
  std::size_t max_message_size = 16 * 1024 * 1024;
  /// After we send a Close: how long to wait for the peer's Close (and, after a failure, for
  /// our Close to be written) before done() says to drop the connection.
  std::uint64_t close_timeout_ms = 5000;
  /// Idle pings: when nothing arrived for this long, send a Ping (0 = never).
  std::uint64_t ping_interval_ms = 0;
  /// After an idle Ping: if nothing at all arrives within this time, the connection is dead
  /// (on_close(1006), done()).
  std::uint64_t pong_timeout_ms = 10000;
  /// Buffered output above which send_*() return send_status::above_high_water; on_drain()
  /// follows when it falls back to (or below) it.
  std::size_t high_water = 1024 * 1024;
  /// Hard limit of buffered output: a send that goes over it fails the connection with Close
  /// 1008 (the queued data frames not yet handed out are dropped).
  std::size_t max_buffered = 16 * 1024 * 1024;
  /// Outgoing messages are cut into frames of at most this many payload bytes, so that Pongs
  /// and Close can go out between them.
  std::size_t send_frame_size = 64 * 1024;
  /// Compression level, memory level and minimum message size for permessage-deflate (only
  /// those fields are used here; negotiation uses the endpoint policy's copy).
  deflate_config deflate;
};

/// What the session needs from the code that drives it. Callbacks may call the session's send
/// functions and close(); they must not destroy the session or call consume().
class session_events {
 public:
  /// A complete message: opcode::text (valid UTF-8) or opcode::binary. `payload` is valid
  /// until the callback returns.
  virtual void on_message(opcode op, std::string_view payload) = 0;
  /// The connection is over, called once: the peer's code and reason for a clean close (1005
  /// if its Close had no code); our code and detail when we failed it (1002, 1007, 1008, 1009,
  /// 1011); 1006 when it ended without a Close (EOF, close or pong timeout).
  virtual void on_close(std::uint16_t code, std::string_view reason) = 0;
  /// A Ping arrived (the Pong is queued by the session).
  virtual void on_ping(std::string_view /*payload*/) {}
  /// A Pong arrived (solicited or not).
  virtual void on_pong(std::string_view /*payload*/) {}
  /// Output is queued: schedule a write.
  virtual void on_output_ready() {}
  /// Buffered output fell to high_water or below after a send returned above_high_water.
  virtual void on_drain() {}

 protected:
  ~session_events() = default;
};

/// Spare buffers shared by the sessions of one thread (the glue keeps one per worker), so that
/// queued frames and incoming messages reuse memory instead of allocating, and page-faulting,
/// for every message. Keeps at most `max_buffers` buffers of at most `max_capacity` bytes each
/// (a large message's buffer goes back to the allocator). One thread only.
/// Storage without initialisation (a message is written once, by unmasking into it).
struct raw_block {
  std::unique_ptr<char[]> data;
  std::size_t size = 0;
  std::size_t capacity = 0;
  /// Room for `n` more bytes (keeping the first `size`); returns where they go.
  char* grow(std::size_t n);
  std::string_view view() const noexcept { return {data.get(), size}; }
};

class buffer_cache {
 public:
  explicit buffer_cache(std::size_t max_buffers = 32, std::size_t max_capacity = 256 * 1024)
      : max_buffers_(max_buffers), max_capacity_(max_capacity) {}
  /// An empty buffer, with the capacity of one given back earlier when there is one.
  std::vector<std::byte> take_bytes();
  std::string take_string();
  void give(std::vector<std::byte>&& b) noexcept;
  void give(std::string&& s) noexcept;
  raw_block take_raw();
  void give(raw_block&& b) noexcept;

 private:
  std::vector<raw_block> raws_;
  std::size_t max_buffers_, max_capacity_;
  std::vector<std::vector<std::byte>> bytes_;
  std::vector<std::string> strings_;
};

enum class send_status : std::uint8_t {
  ok,                ///< queued
  above_high_water,  ///< queued, but buffered_amount() > high_water: wait for on_drain()
  closed,            ///< not sent: a Close was sent or the connection failed
  invalid,           ///< not sent: text not UTF-8, control payload > 125, bad close code/reason
};

class session {
 public:
  enum class state : std::uint8_t {
    open,     ///< messages flow both ways
    closing,  ///< we sent Close, waiting for the peer's (messages still arrive)
    closed,   ///< no more frames either way; done() once our last frames are written
  };

  /// `deflate`: the parameters agreed in the handshake (nullopt: no compression). `cfg` and
  /// `ev` must outlive the session.
  /// `cache` (may be null): where frame and message buffers come from and go back to; it must
  /// outlive the session.
  session(const session_config& cfg, session_events& ev,
          std::optional<deflate_params> deflate = std::nullopt, buffer_cache* cache = nullptr);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  /// Starts the idle timer.
  void start(std::uint64_t now) noexcept;

  // ---- input --------------------------------------------------------------------------------
  /// Processes bytes from the peer and returns in.size(): every byte is taken (a partial frame
  /// header is kept inside, at most 14 octets; message payloads are copied, unmasked, into the
  /// message being assembled). Bytes after the peer's Close or after a failure are ignored.
  std::size_t consume(std::span<const std::byte> in, std::uint64_t now);
  std::size_t consume(std::span<const char> in, std::uint64_t now) {
    return consume(std::as_bytes(in), now);
  }
  /// The session still reads (state is not closed).
  bool wants_input() const noexcept { return state_ != state::closed; }
  /// The peer closed its side of the transport: on_close(1006) unless already closed; done().
  void input_eof();

  // ---- sending ------------------------------------------------------------------------------
  /// Queues a text message (must be UTF-8, else invalid) or a binary one. Compressed when
  /// permessage-deflate was agreed and it is at least deflate.min_compress_size bytes.
  send_status send_text(std::string_view text);
  send_status send_binary(std::span<const std::byte> data);
  send_status send_binary(std::string_view data) {
    return send_binary(std::as_bytes(std::span(data)));
  }
  /// Queues a Ping (payload <= 125 bytes) ahead of queued data frames.
  send_status send_ping(std::string_view payload);
  /// Starts the closing handshake: queues Close after the data already queued (RFC 6455 §7.1.2).
  /// `code` 1000-1003, 1007-1011 or 3000-4999, or 0 for a Close without a code; `reason` UTF-8,
  /// at most 123 bytes. The peer's Close is awaited until now + close_timeout_ms.
  send_status close(std::uint16_t code, std::string_view reason, std::uint64_t now);

  // ---- output -------------------------------------------------------------------------------
  /// Fills `iov` with the bytes to write, in order; returns how many entries were used. They
  /// stay valid until commit_output() (or the session's destruction).
  std::size_t pending_output(std::span<iovec> iov);
  /// `n` bytes of what pending_output() gave were written.
  void commit_output(std::size_t n);
  /// Bytes queued and not yet written (includes frame headers).
  std::size_t buffered_amount() const noexcept { return out_bytes_; }
  bool has_output() const noexcept { return out_bytes_ > 0 || pending_pong_.has_value(); }

  // ---- time ---------------------------------------------------------------------------------
  /// Runs the timers: idle ping, pong deadline, close timeout.
  void tick(std::uint64_t now);
  /// The earliest time tick() has something to do, if any.
  std::optional<std::uint64_t> next_deadline() const noexcept;

  // ---- state --------------------------------------------------------------------------------
  state current_state() const noexcept { return state_; }
  /// The glue should close the transport: closed and everything written, or abandoned (EOF,
  /// timeout).
  bool done() const noexcept { return aborted_ || (state_ == state::closed && !has_output()); }
  /// The error we failed the connection with (empty after a clean close).
  const ws_error& error() const noexcept { return error_; }
  bool compression() const noexcept { return inflater_ != nullptr; }

 private:
  struct chunk {
    std::vector<std::byte> bytes;
    std::size_t sent = 0;
    bool data = false;  // a data frame (dropped when the connection fails)
  };

  void on_header(const frame_header& h);
  void on_payload(std::span<const std::byte> p, std::uint64_t offset);
  void on_frame_end();
  void on_control();
  void check_text(std::size_t from);
  void inflate_failed(inflater::status st);
  void fail(ws_error e);
  void finish(std::uint16_t code, std::string_view reason);
  void queue_frame(opcode op, bool fin, bool rsv1, std::span<const std::byte> payload, bool urgent);
  void queue_close(std::uint16_t code, std::string_view reason, bool drop_data);
  send_status send_message(opcode op, std::span<const std::byte> payload);
  send_status after_send();

  const session_config& cfg_;
  session_events& events_;
  buffer_cache* cache_ = nullptr;
  std::optional<deflate_params> deflate_;
  std::unique_ptr<inflater> inflater_;
  std::unique_ptr<deflater> deflater_;

  frame_parser parser_;
  frame_header cur_{};
  // The data message being assembled.
  std::string msg_;  // a compressed message, inflated
  raw_block raw_;    // an uncompressed message (no zero fill before unmasking into it)
  std::string_view message() const noexcept {
    return msg_compressed_ ? std::string_view(msg_) : raw_.view();
  }
  opcode msg_op_ = opcode::binary;
  bool msg_compressed_ = false;
  std::uint64_t msg_wire_ = 0;
  utf8_validator utf8_;
  // The control frame being read (<= 125 bytes).
  std::string ctrl_;

  std::deque<chunk> out_;
  std::size_t out_bytes_ = 0;
  std::size_t urgent_end_ = 0;  // chunks at the front whose order is fixed (handed out, urgent)
  std::optional<std::string> pending_pong_;
  bool above_high_water_ = false;

  state state_ = state::open;
  bool aborted_ = false;
  bool reported_ = false;
  ws_error error_{};
  std::uint64_t now_ = 0;
  std::uint64_t last_input_ = 0;
  std::uint64_t close_deadline_ = 0;
  bool awaiting_pong_ = false;
  std::uint64_t ping_sent_at_ = 0;
  std::uint64_t pings_sent_ = 0;
};

}  // namespace portico::ws
