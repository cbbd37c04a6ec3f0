// One accepted TCP connection speaking HTTP/1.1, in cleartext or over TLS: moves bytes between
// the socket, the sans-I/O tls::session (TLS listeners only) and the sans-I/O http1::session,
// runs the per-phase timers, and closes gracefully or abortively.
//
// Cleartext: read() into the http1 session's input buffer; writev() of its iovecs and
// sendfile() of its file pieces. TLS: recv() into the TLS session's input buffer, read()
// decrypts straight into the http1 session's input buffer; the http1 output goes through
// tls::session::write() (small pieces gathered into records of up to 16 KiB in the worker's
// scratch buffer, large ones encrypted in place, file pieces pread() 16 KiB at a time: no
// sendfile over TLS) and the ciphertext out with write(). Back-pressure works the same both
// ways: an http1 session that wants no input stops the reads (TCP pushes back on the client);
// a full TLS output (tls::session_limits::output_high_water) stops the http1 output.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <memory>

#include "core/unique_fd.hpp"
#include "http1/session.hpp"
#include "http2/session.hpp"
#include "io/event_loop.hpp"
#include "server/upgraded.hpp"

namespace portico::tls {
class server_context;
}

namespace portico::engine {

class worker;
struct ws_endpoint;

class connection final : public io::event_handler,
                         public io::turn_end_task,
                         public http1::session_events,
                         public http2::session_events,
                         public http2::body_reader {
 public:
  /// Takes ownership of `fd` (non-blocking, connected). With `tls` (which must outlive the
  /// connection) the connection speaks TLS: it owns a tls::session made from it. Throws
  /// std::bad_alloc when the TLS session cannot be created.
  connection(worker& w, unique_fd fd, const char* remote_ip, const tls::server_context* tls);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Registers with the event loop and reads what already arrived. False if registration failed.
  bool start();
  /// Graceful shutdown of the server: finish the requests in flight, then close.
  void drain();
  /// Cut the connection now (RST).
  void abort_now();

  // io::event_handler / io::turn_end_task
  void on_events(std::uint32_t events) override;
  void on_turn_end() override;

  // http1::session_events and http2::session_events (the same calls: one override serves both)
  void on_request(detail::exchange& x) override;
  bool wants_body_stream(detail::exchange& x) override;
  void on_output_ready() override;
  void on_response_done(const detail::exchange& x, std::uint64_t bytes) override;
  void post(std::function<void()> fn) override;
  void set_timeout(unsigned ms, std::function<void()> fn) override;

  // http2::body_reader: pread(2) of file bodies for HTTP/2 DATA frames.
  std::size_t read(int fd, std::uint64_t offset, std::span<char> out) override;

  connection* prev = nullptr;  // worker's list
  connection* next = nullptr;

 private:
  enum class state : std::uint8_t { open, lingering, closed };
  enum class timer_kind : std::uint8_t {
    none,
    idle,
    header,
    body,
    write,
    linger,
    handshake,
    up_tick
  };
  struct tls_transport;  // the TLS session and its transport state (connection.cpp)
  struct up_state;       // the upgraded protocol (HTTP/2, WebSocket) and its input state
  void do_read();
  // TLS: the same steps over the tls::session.
  void tls_read();
  bool tls_pull();
  void tls_flush();
  void tls_fill();
  bool tls_after_io();
  void tls_failed();
  void tls_plain_http();
  void tls_close_quick() noexcept;
  bool output_pending() const noexcept;
  // The protocol session in use (HTTP/2 once chosen, else HTTP/1.1).
  bool proto_done() const noexcept;
  bool proto_has_output() const noexcept;
  bool proto_wants_input() const noexcept;
  bool proto_closed_on_error() const noexcept;
  void proto_input_eof() noexcept;
  void proto_abort_all() noexcept;
  // HTTP/2: `first` are the bytes already read (the client preface and what followed).
  void start_h2(std::span<const char> first, const http2::upgrade_request* up = nullptr,
                std::span<const std::byte> settings = {});
  bool try_h2c_upgrade(detail::exchange& x);
  // WebSocket (RFC 6455 §4.2): the handshake of a request to an endpoint, then the switch.
  void websocket_request(detail::exchange& x, const ws_endpoint& ep);
  bool up_feed(std::span<const char> in);
  bool up_feed_stash();
  void up_read();
  void up_flush();
  void up_after_io();
  bool tls_pull_up();
  void tls_fill_up();
  std::size_t tls_write_iovs(const iovec* iov, std::size_t n, bool& full);
  void linger_read();
  void flush();
  // Around a cleartext write's commit to the session (see written_ns_).
  void begin_commit() noexcept {
    committing_ = true;
    written_ns_ = 0;
  }
  void after_io();
  void update_timer();
  void arm(timer_kind k, unsigned ms);
  void on_timer();
  static void timer_fired(io::timer_node* n);
  void close_graceful();
  void close_now(bool reset);
  void peer_reset();
  // Moves this connection between the worker's connections-by-state gauges.
  void set_activity(std::uint8_t a) noexcept;
  static constexpr std::uint8_t no_activity = 0xff;

  std::string_view init_ip(const char* ip) noexcept;

  worker& w_;
  unique_fd fd_;
  char remote_ip_[46] = {};  // before session_, which keeps a view of it
  io::timer_node timer_;
  http1::session session_;
  std::unique_ptr<tls_transport> tls_;  // null on cleartext connections
  std::unique_ptr<up_state> up_;        // set once the connection speaks HTTP/2 or WebSocket
  state state_ = state::open;
  timer_kind timer_kind_ = timer_kind::none;
  bool read_pending_ = false;   // the socket may hold bytes we did not read (back-pressure)
  bool write_blocked_ = false;  // the last write hit EAGAIN
  bool body_progress_ = false;  // body bytes arrived since the timer was armed
  std::uint8_t activity_ = no_activity;  // a conn_activity, counted in the worker's gauges
  std::uint8_t activity_slot_ = 0;       // ... in activity[activity_slot_] (protocol, transport)
  // Cleartext, while a write is committed to the session: the responses it completes share
  // one reading of the latency clock (written_ns_, 0 until the first of them asks).
  bool committing_ = false;
  std::uint64_t written_ns_ = 0;
  // Cleartext: the first bytes are not classified yet (HTTP/2 client preface or HTTP/1.1).
  bool detect_ = true;
  std::uint8_t preface_len_ = 0;  // a prefix of the client preface read so far
  char preface_[24] = {};
};

}  // namespace portico::engine
