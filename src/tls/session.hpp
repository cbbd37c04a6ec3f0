// The server side of one TLS connection, sans-I/O (RFC 8446, RFC 5246).
//
// The transport moves ciphertext: what it read from the socket goes in with feed() (or
// input_space()/input_committed(), so that recv() writes straight into the session), and what
// pending_output() holds goes out with writev(), followed by commit_output(n). The protocol
// layer moves plaintext with read() and write(). The session never touches a socket or a clock.
//
// A transport turn, in order:
//   1. recv into input_space() (or recv elsewhere and feed()); on EOF call input_eof().
//   2. read() until it returns want_more, closed or error; give the bytes to the protocol.
//      read() also runs the handshake, so call it while handshaking too.
//   3. write() the protocol's output until it is taken or write() takes less (output is full).
//   4. writev(pending_output()); commit_output(sent).
//   5. When done() is true, close the socket. When failed(), flush pending_output() first (it
//      holds the alert for the peer), then close.
//
// Memory bounds (per connection; see docs/tls.md):
//   - input: at most limits().input_buffer bytes of ciphertext. feed() takes less than offered
//     (and input_space() is empty) when full: call read() to drain it. read() is pull-based and
//     decrypts at most one record (<= 16 KiB of plaintext) per call into the caller's buffer,
//     so a caller that stops calling read() and feed() applies back-pressure down to TCP.
//   - output: write() encrypts whole records only while pending_output() stays within
//     limits().output_high_water (or one record when nothing is pending). Handshake flights,
//     tickets, alerts and KeyUpdate answers are always queued; read() fails with
//     errc::output_flood rather than let them take unsent output past output_high_water +
//     64 KiB (a peer that provokes answers and never reads them).
//   - OpenSSL's own record buffers (about 17 KiB each way) are allocated with the first record
//     and kept (allocating them per record would cost a malloc and free of each per call);
//     release_idle_buffers() frees them and ours when the connection is idle.
//
// Errors never throw here: a failure puts the session in state::failed, with error() and
// error_detail() saying why, and the fatal alert for the peer (if any) already queued in
// pending_output().
//
// Not thread-safe: one session belongs to one connection on one thread. Not movable (OpenSSL
// holds a pointer to it): keep it in place (std::optional, unique_ptr).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "tls/context.hpp"
#include "tls/errors.hpp"

struct ssl_st;  // OpenSSL's SSL

namespace portico::tls {

enum class status : unsigned char {
  ok,         ///< `bytes` were moved (read: at least one; write: possibly fewer than offered)
  want_more,  ///< read: needs more ciphertext (feed()); write: handshake not finished, or output
              ///< full (send pending_output() first)
  closed,     ///< read: the peer sent close_notify; write: we sent close_notify (close())
  error,      ///< the session failed: see error()
};

struct io_result {
  std::size_t bytes = 0;
  status st = status::ok;
};

class session {
 public:
  enum class state : unsigned char {
    handshaking,  ///< before the handshake finished
    established,  ///< application data both ways
    closing,      ///< we sent close_notify; the peer may still send data
    peer_closed,  ///< the peer sent close_notify; we may still send data
    closed,       ///< close_notify both ways (or close() before the handshake finished)
    failed,       ///< fatal error: see error(); flush pending_output() and close
  };

  /// Starts the server side of a handshake. `ctx` must outlive the session. Throws
  /// std::bad_alloc if OpenSSL cannot allocate the connection (nothing else).
  explicit session(const server_context& ctx);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  // ---- ciphertext in ------------------------------------------------------------------------
  /// Copies ciphertext the transport read into the session and advances the handshake.
  /// Returns the bytes taken: fewer than offered when the input buffer is full (call read(),
  /// then feed the rest). In state closed, peer_closed or failed everything is taken and
  /// dropped (RFC 8446 §6.1: data after close_notify is ignored).
  std::size_t feed(std::span<const std::byte> ciphertext);
  /// Where the transport may recv() the next ciphertext (no copy); empty when the buffer is
  /// full or no more input is wanted. Valid until the next call on the session.
  std::span<std::byte> input_space();
  /// `n` bytes were written at the start of input_space(): take them (as feed() does).
  void input_committed(std::size_t n);
  /// The transport read EOF. Records already received are still returned by read(); after
  /// them read() reports closed if close_notify was received, else error unexpected_eof.
  void input_eof();

  // ---- plaintext ----------------------------------------------------------------------------
  /// Runs the handshake if it is not finished, then decrypts into `out` (non-empty): at most
  /// one record's worth. {n>0, ok}; {0, want_more}: feed more ciphertext; {0, closed}: the peer
  /// sent close_notify (state peer_closed or closed); {0, error}: failed (alert queued), also
  /// errc::output_flood when too much output is left unsent (see the bounds above).
  io_result read(std::span<std::byte> out);
  /// Plaintext that read() can return without more input (already decrypted by OpenSSL).
  bool has_buffered_plaintext() const noexcept;
  /// Encrypts application data into pending_output(). {n, ok}: the first n bytes were taken
  /// (n < size when the output reached output_high_water: send, then offer the rest);
  /// {0, want_more}: handshake not finished, or output full; {0, closed}: close() was called;
  /// {0, error}: failed. Plaintext is cut into records of at most 16 KiB.
  io_result write(std::span<const std::byte> plaintext);

  // ---- ciphertext out -----------------------------------------------------------------------
  /// The ciphertext to send, in order, as one contiguous span. Valid until the next call of a
  /// non-const member other than has_output()/pending_output().
  std::span<const std::byte> pending_output() const noexcept;
  bool has_output() const noexcept;
  /// `n` (<= pending_output().size()) bytes were sent.
  void commit_output(std::size_t n) noexcept;

  // ---- closing ------------------------------------------------------------------------------
  /// Queues close_notify (RFC 8446 §6.1); write() is refused afterwards, read() still returns
  /// what the peer sends until its close_notify. Before the handshake finished nothing is sent
  /// and the state becomes closed. No effect when closed, closing or failed.
  void close();
  /// Nothing left to send and nothing more to expect: closed or failed, output flushed.
  /// In state closing (our close_notify queued) the transport need not wait for the peer's:
  /// once pending_output() is sent it may close the socket (RFC 8446 §6.1).
  bool done() const noexcept;

  // ---- what was negotiated ------------------------------------------------------------------
  state current_state() const noexcept { return state_; }
  bool handshake_complete() const noexcept { return handshake_done_; }
  bool failed() const noexcept { return state_ == state::failed; }
  /// The ALPN protocol selected ("h2", "http/1.1"); empty when none (client sent no ALPN, or
  /// alpn_mismatch::continue_without): the server then speaks HTTP/1.1. Valid for the session's
  /// lifetime once the handshake is complete.
  std::string_view alpn() const noexcept;
  /// The SNI host name the client sent (empty if none), as sent.
  std::string_view server_name() const noexcept;
  /// Index into server_config::certificates of the certificate presented.
  std::size_t certificate_index() const noexcept { return cert_index_; }
  /// The session was resumed (session ID, ticket or TLS 1.3 PSK), no certificate was sent.
  bool resumed() const noexcept;
  /// "TLSv1.3", "TLSv1.2" (empty before the version is known).
  std::string_view version() const noexcept;
  /// OpenSSL's name of the cipher suite ("TLS_AES_128_GCM_SHA256"); empty before it is known.
  std::string_view cipher() const noexcept;

  // ---- errors -------------------------------------------------------------------------------
  /// Why the session failed (empty when it did not).
  std::error_code error() const noexcept { return error_; }
  /// OpenSSL's reason and the alerts involved, e.g. "wrong version number; sent alert
  /// protocol version". Empty when not failed.
  const std::string& error_detail() const noexcept { return detail_; }
  /// The fatal alert description code we queued for the peer (RFC 8446 §6), if any.
  std::optional<std::uint8_t> alert_sent() const noexcept { return alert_sent_; }
  /// The fatal alert description code the peer sent, if any.
  std::optional<std::uint8_t> alert_received() const noexcept { return alert_received_; }

  // ---- memory -------------------------------------------------------------------------------
  /// Frees the session's input and output buffers if they are empty, and OpenSSL's record
  /// buffers unless a record is partly read or written (an idle connection then holds only
  /// OpenSSL's connection state). They are allocated again when needed.
  void release_idle_buffers() noexcept;
  /// Ciphertext bytes buffered on the input side (not yet taken by OpenSSL).
  std::size_t buffered_input() const noexcept { return in_end_ - in_begin_; }

  struct detail;  // OpenSSL callbacks (session.cpp)

 private:
  friend struct detail;
  void take_input();
  bool drive_handshake();
  void fail(int ssl_error, bool handshake);
  void append_output(const std::byte* p, std::size_t n);
  std::size_t read_ciphertext(std::byte* p, std::size_t n) noexcept;

  const server_context::impl& ctx_;
  ssl_st* ssl_ = nullptr;
  // Input: ciphertext not yet taken by OpenSSL, in [in_begin_, in_end_) of in_.
  std::unique_ptr<std::byte[]> in_;
  std::size_t in_begin_ = 0;
  std::size_t in_end_ = 0;
  // Output: ciphertext not yet sent, in [out_begin_, out_end_) of out_ (capacity out_cap_).
  std::unique_ptr<std::byte[]> out_;
  std::size_t out_cap_ = 0;
  std::size_t out_begin_ = 0;
  std::size_t out_end_ = 0;
  std::size_t cert_index_ = 0;
  std::error_code error_;
  std::string detail_;
  std::optional<std::uint8_t> alert_sent_;
  std::optional<std::uint8_t> alert_received_;
  state state_ = state::handshaking;
  bool handshake_done_ = false;
  bool eof_ = false;
  bool alpn_mismatch_ = false;
};

}  // namespace portico::tls
