#include "server/connection.hpp"

#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>

#include "core/log.hpp"
#include "http/status.hpp"
#include "http2/constants.hpp"
#include "net/socket.hpp"
#include "server/access_log.hpp"
#include "server/upgraded.hpp"
#include "server/websocket.hpp"
#include "server/worker.hpp"
#include "tls/session.hpp"

namespace portico::engine {

namespace {
constexpr std::size_t max_iov = 64;
constexpr std::size_t sendfile_chunk = 1u << 20;

using io::monotonic_ns;  // the latency clock (vDSO, no syscall)
}  // namespace

// HTTP/2 behind the upgraded interface.
class h2_proto final : public upgraded {
 public:
  h2_proto(const http2::session_config& cfg, http2::session_events& ev, http2::body_reader& r,
           http::date_cache& date, std::string_view ip, bool tls)
      : session(cfg, ev, &r, date, ip), tls_(tls) {}
  http2::session session;

  void set_time(std::time_t t) override { session.set_time(t); }
  std::size_t consume(std::span<const char> in, std::uint64_t now) override {
    return session.consume(in, now);
  }
  bool wants_input() const override { return session.wants_input(); }
  void input_eof() override { session.input_eof(); }
  std::size_t pending_output(std::span<iovec> iov) override { return session.pending_output(iov); }
  void commit_output(std::size_t n) override { session.commit_output(n); }
  bool has_output() const override { return session.has_output(); }
  bool done() const override { return session.done(); }
  bool closed_on_error() const override { return session.closed_on_error(); }
  void abort_all() override { session.abort_all(); }
  void tick(std::uint64_t now) override { session.tick(now); }
  void begin_shutdown(std::uint64_t now) override { session.begin_shutdown(now); }
  bool busy() const override { return session.active_streams() > 0; }
  bool idle_closes() const override { return true; }
  std::uint8_t slot() const override { return tls_ ? 3 : 2; }

 private:
  bool tls_;
};

struct connection::up_state {
  explicit up_state(std::unique_ptr<upgraded> p) : proto(std::move(p)) {}
  static constexpr std::size_t buf_size = 16 * 1024;
  std::unique_ptr<upgraded> proto;
  std::vector<char> stash;  // input the session did not take yet (back-pressure)
  std::unique_ptr<char[]> buf{new char[buf_size]};
  std::uint64_t last_active_ms = 0;  // last input or open stream: the idle timeout counts from it
  bool shutting = false;             // begin_shutdown() was called
  // After a 101 (h2c): no output until the client preface arrived. Clients read the 101 and
  // then expect the rest in a buffer of their own (curl 7.88 fails when more than 32 KiB
  // follow the 101 in one read); this bounds that to nothing, at the cost of one round trip.
  std::size_t hold_until_input = 0;  // input bytes still to see before writing
  std::uint64_t hold_since_ms = 0;
};

struct connection::tls_transport {
  explicit tls_transport(const tls::server_context& ctx) : session(ctx) {}
  tls::session session;
  std::uint64_t handshake_deadline_ms = 0;  // absolute: progress does not extend it
  bool established = false;                 // the handshake completed (and was counted)
  bool peer_eof = false;                    // the socket read EOF (the peer's FIN)
  bool closing = false;  // our close_notify is queued: flush it, then the lingering close
};

connection::connection(worker& w, unique_fd fd, const char* remote_ip,
                       const tls::server_context* tls)
    : w_(w),
      fd_(std::move(fd)),
      session_(w.config().session, *this, w.buffers(), w.exchanges(), w.date(),
               init_ip(remote_ip)) {
  timer_.owner = this;
  timer_.fire = &connection::timer_fired;
  detect_ = tls == nullptr;
  if (tls) {
    tls_ = std::make_unique<tls_transport>(*tls);
    tls_->handshake_deadline_ms = w.loop().now_ms() + w.config().options.tls_handshake_timeout_ms;
  }
}

std::string_view connection::init_ip(const char* ip) noexcept {
  std::strncpy(remote_ip_, ip, sizeof remote_ip_ - 1);
  return remote_ip_;
}

connection::~connection() {
  w_.loop().timers().cancel(timer_);
}

bool connection::start() {
  if (!w_.loop().add(fd_.get(), EPOLLIN | EPOLLOUT | EPOLLRDHUP, this)) return false;
  session_.set_time(std::time(nullptr));
  // With TCP_DEFER_ACCEPT or a fast client the request may already be here.
  do_read();
  after_io();
  return true;
}

void connection::on_events(std::uint32_t events) {
  if (state_ == state::closed) return;
  if (state_ == state::lingering) {
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) linger_read();
    return;
  }
  if (events & EPOLLOUT) {
    write_blocked_ = false;
    if (output_pending()) w_.loop().at_turn_end(this);
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    do_read();
    // What this input produced is written now, while its streams and buffers are still in the
    // cache: a turn may read hundreds of connections before its end, and holding every
    // response until then makes the working set all of their streams (8192 at 256 x 32).
    // Output produced later in the turn still goes at the turn's end.
    if (state_ == state::open && !write_blocked_ && output_pending()) flush();
  }
  if (state_ == state::open) after_io();
}

bool connection::output_pending() const noexcept {
  if (tls_) return tls_->session.has_output() || proto_has_output();
  return proto_has_output();
}

bool connection::proto_done() const noexcept {
  return up_ ? up_->proto->done() : session_.done();
}
bool connection::proto_has_output() const noexcept {
  return up_ ? up_->proto->has_output() : session_.has_output();
}
bool connection::proto_wants_input() const noexcept {
  return up_ ? up_->proto->wants_input() : session_.wants_input();
}
bool connection::proto_closed_on_error() const noexcept {
  return up_ ? up_->proto->closed_on_error() : session_.closed_on_error();
}
void connection::proto_input_eof() noexcept {
  if (up_)
    up_->proto->input_eof();
  else
    session_.input_eof();
}
void connection::proto_abort_all() noexcept {
  session_.abort_all();
  if (up_) up_->proto->abort_all();
}

void connection::do_read() {
  if (tls_) {
    tls_read();
    return;
  }
  if (up_) {
    up_read();
    return;
  }
  session_.set_time(std::time(nullptr));
  read_pending_ = false;
  while (state_ == state::open) {
    std::span<char> space = session_.input_space();
    if (space.empty()) {
      // Back-pressure: leave the bytes in the kernel until the pipeline has room again.
      read_pending_ = true;
      return;
    }
    // Protocol detection (first bytes of a cleartext connection): the HTTP/2 client preface
    // (prior knowledge, RFC 9113 §3.3) or HTTP/1.1. The bytes are read where HTTP/1.1 wants
    // them, so HTTP/1.1 pays no copy; a partial preface waits in preface_.
    std::size_t pre = 0;
    if (detect_ && preface_len_ > 0) {
      pre = preface_len_;
      std::memcpy(space.data(), preface_, pre);
    }
    ssize_t n = ::read(fd_.get(), space.data() + pre, space.size() - pre);
    if (n > 0) {
      worker_stats::add(w_.stats().bytes_in, static_cast<std::uint64_t>(n));
      if (detect_) {
        const std::size_t got = pre + static_cast<std::size_t>(n);
        switch (http2::match_client_preface({space.data(), got})) {
          case http2::preface_match::yes:
            start_h2(space.first(got));
            return;
          case http2::preface_match::need_more:
            std::memcpy(preface_, space.data(), got);
            preface_len_ = static_cast<std::uint8_t>(got);
            return;  // got < 24 < space: the socket is drained
          case http2::preface_match::no:
            detect_ = false;
            preface_len_ = 0;
            n = static_cast<ssize_t>(got);
            break;
        }
      }
      if (session_.current_phase() == http1::session::phase::reading_body) body_progress_ = true;
      session_.input_committed(static_cast<std::size_t>(n));
      if (up_) {
        // An h2c upgrade: the rest of the socket is HTTP/2.
        if (state_ == state::open) up_read();
        return;
      }
      if (static_cast<std::size_t>(n) < space.size()) return;  // drained the socket
      continue;
    }
    if (n == 0) {
      if (pre > 0) {
        // A prefix of the preface and then EOF: HTTP/1.1 answers it.
        detect_ = false;
        preface_len_ = 0;
        session_.input_committed(pre);
      }
      session_.input_eof();
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return;
    if (errno == ECONNRESET || errno == EPIPE || errno == ETIMEDOUT) {
      peer_reset();
      return;
    }
    LOG_DEBUG("read: %s", std::strerror(errno));
    close_now(false);
    return;
  }
}

// ---- HTTP/2 ------------------------------------------------------------------------------------
// The same glue for http2::session: input through consume() (what it does not take waits in the
// stash), output as iovecs to writev (cleartext) or to the TLS session, file bodies by pread.

void connection::start_h2(std::span<const char> first, const http2::upgrade_request* up,
                          std::span<const std::byte> settings) {
  detect_ = false;
  preface_len_ = 0;
  auto proto = std::make_unique<h2_proto>(w_.config().http2, *this, *this, w_.date(), remote_ip_,
                                          tls_ != nullptr);
  http2::session& h2 = proto->session;
  h2.use_pool(&w_.h2_streams());
  up_ = std::make_unique<up_state>(std::move(proto));
  const std::uint64_t now = w_.loop().now_ms();
  up_->last_active_ms = now;
  h2.set_time(std::time(nullptr));
  if (up) {
    up_->hold_until_input = http2::client_preface.size();
    up_->hold_since_ms = now;
    h2.start_upgraded(*up, settings, now);  // dispatches stream 1 (on_request)
  } else {
    h2.start(now);
  }
  if (state_ != state::open) return;
  if (w_.draining()) {
    up_->proto->begin_shutdown(now);
    up_->shutting = true;
  }
  // `first` may point into the HTTP/1.1 input buffer: consume (or stash) before releasing it.
  if (!first.empty()) up_feed(first);
  // After an upgrade the HTTP/1.1 session is inside its input processing: leave its buffer.
  if (!up) session_.release_idle_buffer();
  if (timer_kind_ != timer_kind::none) {
    w_.loop().timers().cancel(timer_);
    timer_kind_ = timer_kind::none;
  }
  w_.loop().at_turn_end(this);
  if (!tls_ && state_ == state::open) up_read();  // the read may have stopped at a full buffer
}

// Feeds `in` to the session; what it does not take is stashed. False when input must stop.
bool connection::up_feed(std::span<const char> in) {
  upgraded& s = *up_->proto;
  up_->last_active_ms = w_.loop().now_ms();
  if (up_->hold_until_input > 0) {
    up_->hold_until_input -= std::min(up_->hold_until_input, in.size());
    if (up_->hold_until_input == 0) w_.loop().at_turn_end(this);
  }
  std::size_t taken = s.consume(in, up_->last_active_ms);
  if (taken < in.size()) {
    up_->stash.insert(up_->stash.end(), in.begin() + static_cast<std::ptrdiff_t>(taken), in.end());
    return false;
  }
  return s.wants_input();
}

// Offers the stash again. True when it is empty afterwards and the session wants more.
bool connection::up_feed_stash() {
  if (up_->stash.empty()) return up_->proto->wants_input();
  if (!up_->proto->wants_input()) return false;
  std::vector<char> in;
  in.swap(up_->stash);
  return up_feed(in);
}

void connection::up_read() {
  upgraded& s = *up_->proto;
  s.set_time(std::time(nullptr));
  read_pending_ = false;
  if (!up_feed_stash()) {
    read_pending_ = true;
    return;
  }
  while (state_ == state::open) {
    if (!s.wants_input()) {
      read_pending_ = true;
      return;
    }
    ssize_t n = ::read(fd_.get(), up_->buf.get(), up_state::buf_size);
    if (n > 0) {
      worker_stats::add(w_.stats().bytes_in, static_cast<std::uint64_t>(n));
      if (!up_feed({up_->buf.get(), static_cast<std::size_t>(n)})) {
        read_pending_ = true;
        return;
      }
      if (static_cast<std::size_t>(n) < up_state::buf_size) return;
      continue;
    }
    if (n == 0) {
      s.input_eof();
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return;
    if (errno == ECONNRESET || errno == EPIPE || errno == ETIMEDOUT) {
      peer_reset();
      return;
    }
    LOG_DEBUG("read: %s", std::strerror(errno));
    close_now(false);
    return;
  }
}

void connection::up_flush() {
  if (write_blocked_ || up_->hold_until_input > 0) return;
  upgraded& s = *up_->proto;
  iovec iov[max_iov];
  while (state_ == state::open) {
    std::size_t n = s.pending_output(std::span<iovec>(iov, max_iov));
    if (n == 0) return;
    ssize_t written = ::writev(fd_.get(), iov, static_cast<int>(n));
    if (written < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        write_blocked_ = true;
        return;
      }
      if (errno == EPIPE || errno == ECONNRESET || errno == ETIMEDOUT) {
        peer_reset();
        return;
      }
      LOG_WARN("write: %s", std::strerror(errno));
      close_now(true);
      return;
    }
    worker_stats::add(w_.stats().bytes_out, static_cast<std::uint64_t>(written));
    if (timer_kind_ == timer_kind::write) timer_kind_ = timer_kind::none;  // progress: re-arm
    begin_commit();
    s.commit_output(static_cast<std::size_t>(written));
    committing_ = false;
  }
}

std::size_t connection::read(int fd, std::uint64_t offset, std::span<char> out) {
  for (;;) {
    ssize_t got = ::pread(fd, out.data(), out.size(), static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      LOG_WARN("pread: %s", got == 0 ? "file ended early" : std::strerror(errno));
      return 0;
    }
    return static_cast<std::size_t>(got);
  }
}

void connection::up_after_io() {
  upgraded& s = *up_->proto;
  if (s.done()) {
    close_graceful();
    return;
  }
  const std::uint64_t now = w_.loop().now_ms();
  const bool active = s.busy();
  if (active) up_->last_active_ms = now;
  if (write_blocked_ && output_pending()) {
    if (timer_kind_ != timer_kind::write)
      arm(timer_kind::write, w_.config().options.write_timeout_ms);
  } else if (timer_kind_ != timer_kind::up_tick) {
    arm(timer_kind::up_tick, 1000);
  }
  conn_activity a = active ? conn_activity::writing : conn_activity::idle;
  set_activity(static_cast<std::uint8_t>(a));
}

void connection::on_output_ready() {
  if (state_ == state::open) w_.loop().at_turn_end(this);
}

void connection::on_turn_end() {
  if (state_ != state::open) return;
  flush();
  if (state_ != state::open) return;
  // Output went out: requests left in the kernel may now fit in the pipeline.
  if (read_pending_ && proto_wants_input()) do_read();
  if (state_ == state::open) after_io();
}

void connection::flush() {
  if (tls_) {
    tls_flush();
    return;
  }
  if (up_) {
    up_flush();
    return;
  }
  if (write_blocked_) return;
  iovec iov[max_iov];
  while (state_ == state::open) {
    http1::file_piece file;
    std::size_t n = session_.gather(std::span<iovec>(iov, max_iov), &file);
    ssize_t written;
    if (n > 0) {
      written = ::writev(fd_.get(), iov, static_cast<int>(n));
    } else if (file.fd >= 0) {
      off_t off = static_cast<off_t>(file.offset);
      std::size_t len =
          static_cast<std::size_t>(file.length < sendfile_chunk ? file.length : sendfile_chunk);
      written = ::sendfile(fd_.get(), file.fd, &off, len);
      if (written == 0) {
        // The file shrank under us: the promised length cannot be delivered.
        LOG_WARN("sendfile: file ended early; closing connection");
        close_now(true);
        return;
      }
    } else {
      return;
    }
    if (written < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        write_blocked_ = true;
        return;
      }
      if (errno == EPIPE || errno == ECONNRESET || errno == ETIMEDOUT) {
        peer_reset();
        return;
      }
      LOG_WARN("write: %s", std::strerror(errno));
      close_now(true);
      return;
    }
    worker_stats::add(w_.stats().bytes_out, static_cast<std::uint64_t>(written));
    if (timer_kind_ == timer_kind::write) timer_kind_ = timer_kind::none;  // progress: re-arm
    begin_commit();
    session_.output_written(static_cast<std::size_t>(written));
    committing_ = false;
  }
}

void connection::after_io() {
  if (state_ != state::open) return;
  if (tls_ && !tls_after_io()) return;
  if (up_) {
    up_after_io();
    return;
  }
  if (session_.done() && !session_.has_output()) {
    close_graceful();
    return;
  }
  auto phase = session_.current_phase();
  if (phase == http1::session::phase::idle) {
    session_.release_idle_buffer();
    // An idle TLS connection keeps only OpenSSL's connection state (docs/tls.md).
    if (tls_) tls_->session.release_idle_buffers();
  }
  update_timer();
  // Every change of phase is followed by after_io() (reads, writes, timers, handlers answering
  // through a turn-end flush), so the gauges follow the phase; a change costs two relaxed
  // stores, no change costs a compare.
  conn_activity a = phase == http1::session::phase::idle   ? conn_activity::idle
                    : phase == http1::session::phase::busy ? conn_activity::writing
                                                           : conn_activity::reading;
  set_activity(static_cast<std::uint8_t>(a));
}

void connection::set_activity(std::uint8_t a) noexcept {
  const std::uint8_t slot = up_ ? up_->proto->slot() : static_cast<std::uint8_t>(tls_ ? 1 : 0);
  if ((a == activity_ && slot == activity_slot_) || (state_ == state::closed && a != no_activity))
    return;
  auto& all = w_.stats().activity;
  // The protocol may have changed since the last count (HTTP/2 chosen): take it off where it was.
  if (activity_ != no_activity) worker_stats::sub(all[activity_slot_][activity_]);
  if (a != no_activity) worker_stats::add(all[slot][a]);
  activity_ = a;
  activity_slot_ = slot;
}

void connection::arm(timer_kind k, unsigned ms) {
  timer_kind_ = k;
  w_.loop().timers().arm(timer_, w_.loop().now_ms() + ms);
}

void connection::update_timer() {
  const auto& o = w_.config().options;
  if (write_blocked_ && output_pending()) {
    if (timer_kind_ != timer_kind::write) arm(timer_kind::write, o.write_timeout_ms);
    return;
  }
  switch (session_.current_phase()) {
    case http1::session::phase::idle:
      if (timer_kind_ != timer_kind::idle) arm(timer_kind::idle, o.keepalive_timeout_ms);
      break;
    case http1::session::phase::reading_head:
      // Absolute from the first byte of the head: a slowloris client gains nothing by dribbling.
      if (timer_kind_ != timer_kind::header) arm(timer_kind::header, o.header_timeout_ms);
      break;
    case http1::session::phase::reading_body:
      if (timer_kind_ != timer_kind::body || body_progress_)
        arm(timer_kind::body, o.body_timeout_ms);
      body_progress_ = false;
      break;
    case http1::session::phase::busy:
      if (timer_kind_ != timer_kind::none) {
        w_.loop().timers().cancel(timer_);
        timer_kind_ = timer_kind::none;
      }
      break;
  }
}

void connection::timer_fired(io::timer_node* n) {
  static_cast<connection*>(n->owner)->on_timer();
}

void connection::on_timer() {
  timer_kind k = timer_kind_;
  timer_kind_ = timer_kind::none;
  auto& st = w_.stats();
  switch (k) {
    case timer_kind::idle:
      worker_stats::add(st.timeouts_idle);
      if (tls_) tls_close_quick();
      close_now(false);
      return;
    case timer_kind::handshake:
      // The client did not finish the TLS handshake in time: nothing to answer.
      worker_stats::add(st.timeouts_handshake);
      close_now(false);
      return;
    case timer_kind::header:
      worker_stats::add(st.timeouts_header);
      session_.timeout(http1::session::timeout_kind::header);
      break;
    case timer_kind::body:
      worker_stats::add(st.timeouts_body);
      session_.timeout(http1::session::timeout_kind::body);
      break;
    case timer_kind::write:
      // The peer stopped reading: give up on it.
      worker_stats::add(st.timeouts_write);
      close_now(true);
      return;
    case timer_kind::linger:
      // The peer neither closed nor stopped sending after our FIN.
      close_now(proto_closed_on_error());
      return;
    case timer_kind::up_tick: {
      upgraded& s = *up_->proto;
      const std::uint64_t now = w_.loop().now_ms();
      s.set_time(std::time(nullptr));
      s.tick(now);
      if (up_->hold_until_input > 0 &&
          now - up_->hold_since_ms >= w_.config().options.header_timeout_ms) {
        // The client preface never came after our 101.
        worker_stats::add(st.timeouts_header);
        close_now(false);
        return;
      }
      // Keep-alive: no stream and no input for keepalive_timeout_ms -> GOAWAY and close.
      if (!up_->shutting && s.idle_closes() && !s.busy() &&
          now - up_->last_active_ms >= w_.config().options.keepalive_timeout_ms) {
        worker_stats::add(st.timeouts_idle);
        s.begin_shutdown(now);
        up_->shutting = true;
      }
      // TLS: a connection quiet for a tick gives back its record buffers (docs/tls.md).
      if (tls_ && !s.busy() && now - up_->last_active_ms >= 1000)
        tls_->session.release_idle_buffers();
      break;
    }
    case timer_kind::none:
      return;
  }
  if (state_ == state::open) {
    flush();
    after_io();
  }
}

// h2c (RFC 7540 §3.2; RFC 9113 §3.1 deprecates it, curl --http2 on http:// still uses it): a
// request without a body, alone in the pipeline, with "Upgrade: h2c", "Connection: Upgrade, ..."
// and one valid HTTP2-Settings gets "101 Switching Protocols" and becomes stream 1 of an HTTP/2
// connection. Anything else is answered over HTTP/1.1 as if the Upgrade were not there.
bool connection::try_h2c_upgrade(detail::exchange& x) {
  std::string_view upgrade, settings, conn;
  int settings_count = 0;
  for (const header_view& h : x.headers) {
    if (iequals(h.name, "upgrade")) {
      upgrade = h.value;
    } else if (iequals(h.name, "http2-settings")) {
      settings = h.value;
      ++settings_count;
    } else if (iequals(h.name, "connection")) {
      conn = h.value;
    }
  }
  if (upgrade.empty() || settings_count != 1) return false;
  auto has_token = [](std::string_view list, std::string_view token) {
    while (!list.empty()) {
      std::size_t comma = list.find(',');
      std::string_view item = list.substr(0, comma);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
        item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
        item.remove_suffix(1);
      if (iequals(item, token)) return true;
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
    return false;
  };
  if (!has_token(upgrade, "h2c") || !has_token(conn, "upgrade")) return false;
  std::optional<std::string> payload = http2::session::decode_http2_settings(settings);
  if (!payload) return false;
  static constexpr char answer[] =
      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n";
  // Nothing else is in flight: the 101 goes out alone, in one write on an idle socket.
  ssize_t n = ::send(fd_.get(), answer, sizeof answer - 1, MSG_NOSIGNAL);
  if (n != static_cast<ssize_t>(sizeof answer - 1)) {
    if (n > 0) worker_stats::add(w_.stats().bytes_out, static_cast<std::uint64_t>(n));
    close_now(true);
    return true;
  }
  worker_stats::add(w_.stats().bytes_out, static_cast<std::uint64_t>(n));
  worker_stats::add(w_.stats().status_class[1]);
  session_.stop_for_upgrade();
  // The request views live in the HTTP/1.1 input buffer, as do the bytes after the request
  // (the client preface, if the client did not wait for the 101): both are used right here.
  http2::upgrade_request up{x.method, x.target, x.headers, x.body};
  std::span<const char> rest = session_.unparsed_input();
  std::string copy(rest.data(), rest.size());
  start_h2(copy, &up, std::as_bytes(std::span<const char>(payload->data(), payload->size())));
  return true;
}

// WebSocket (RFC 6455 §4.2.1, §4.2.2): a request to an endpoint's path. The checks and the
// Origin policy are ws::accept_upgrade(); the application's on_upgrade hook comes after them.
// Accepted: the 101 is queued in front of the WebSocket output and the connection switches.
void connection::websocket_request(detail::exchange& x, const ws_endpoint& ep) {
  auto& st = w_.stats();
  portico::response res = x.make_response();
  auto refuse = [&](int status, std::string_view detail,
                    const std::vector<std::pair<std::string, std::string>>& fields) {
    worker_stats::add(st.ws_refused);
    res.status(status);
    for (const auto& [n, v] : fields)
      res.header(n, v);
    std::string body = std::to_string(status);
    body += ' ';
    body += http::reason_phrase(status);
    if (!detail.empty()) {
      body += ": ";
      body += detail;
    }
    body += '\n';
    res.header("Content-Type", "text/plain; charset=utf-8").send(std::move(body));
  };
  // The RFC and Origin checks passed: the application's hook has the last word. True when
  // the handshake may go on (else it was refused).
  auto handshake_allowed = [&](const ws::handshake_result& h) {
    if (!h.accepted()) {
      refuse(h.status, h.detail, h.fields);
      return false;
    }
    const int status = ep.handlers.on_upgrade ? ep.handlers.on_upgrade(x.req()) : 0;
    if (status == 0) return true;
    refuse(status >= 400 && status <= 599 ? status : 403, "refused by the application", {});
    return false;
  };
  if (x.version == 20 && x.method == "CONNECT" && !x.protocol.empty()) {
    // RFC 8441: extended CONNECT with :protocol websocket on an HTTP/2 stream.
    std::string_view authority = x.req().header("host");
    ws::connect_request rq{x.method, x.protocol, tls_ ? "https" : "http", authority, x.headers};
    ws::handshake_result h = ws::accept_extended_connect(rq, ep.policy);
    if (!handshake_allowed(h)) return;
    worker_stats::add(st.ws_upgrades);
    res.status(200);
    for (const auto& [n, v] : h.fields)
      res.header(n, v);
    auto s = std::make_shared<ws_stream>(res, w_, ep, h.deflate, std::move(h.subprotocol), x.target,
                                         remote_ip_, w_.loop().now_ms());
    ws_stream::attach(s, x);
    res.write({});  // RFC 8441 §5: the 200 HEADERS now; the stream stays open both ways
    s->open();
    s->pump();
    return;
  }
  if (up_ || x.req().header("upgrade").empty()) {
    // RFC 9110 §15.5.22: 426 names the protocol to upgrade to (over HTTP/2 a plain request
    // gets it too: RFC 8441's extended CONNECT is the way there).
    refuse(426, "this is a WebSocket endpoint", {{"Upgrade", "websocket"}});
    return;
  }
  ws::upgrade_request rq{x.method, x.version, x.headers, tls_ != nullptr};
  ws::handshake_result h = ws::accept_upgrade(rq, ep.policy);
  if (!handshake_allowed(h)) return;
  if (!x.body.empty() || session_.pipeline_size() != 1) {
    refuse(400, "a WebSocket handshake has no body and is not pipelined", {});
    return;
  }
  std::string head = "HTTP/1.1 101 Switching Protocols\r\n";
  for (const auto& [n, v] : h.fields) {
    head += n;
    head += ": ";
    head += v;
    head += "\r\n";
  }
  head += "\r\n";
  worker_stats::add(st.ws_upgrades);
  worker_stats::add(st.status_class[1]);
  session_.stop_for_upgrade();
  // The bytes after the request (frames sent before the 101 arrived) live in the HTTP/1.1
  // input buffer: copied here, fed below.
  std::span<const char> rest = session_.unparsed_input();
  std::string first(rest.data(), rest.size());
  const std::uint64_t now = w_.loop().now_ms();
  auto proto = std::make_unique<ws_proto>(*this, w_, ep, std::move(head), h.deflate,
                                          std::move(h.subprotocol), x.target, remote_ip_,
                                          tls_ != nullptr, now);
  ws_proto& p = *proto;
  up_ = std::make_unique<up_state>(std::move(proto));
  up_->last_active_ms = now;
  if (timer_kind_ != timer_kind::none) {
    w_.loop().timers().cancel(timer_);
    timer_kind_ = timer_kind::none;
  }
  p.open();
  if (state_ != state::open) return;
  if (w_.draining()) {
    p.begin_shutdown(now);
    up_->shutting = true;
  }
  if (!first.empty()) up_feed(first);
  w_.loop().at_turn_end(this);
}

void connection::on_request(detail::exchange& x) {
  x.set_home(&w_);  // response::post() from other threads goes to this worker
  if (!tls_ && !up_ && x.body.empty() && session_.pipeline_size() == 1 && try_h2c_upgrade(x))
    return;
  if (!w_.config().websockets.empty()) {
    if (const ws_endpoint* ep = w_.config().find_websocket(x.path)) {
      websocket_request(x, *ep);
      return;
    }
  }
  auto& st = w_.stats();
  worker_stats::add(st.requests);
  // Latency counts from when the loop turn that read the request began (the clock is read once
  // per turn): time spent behind earlier requests of the same read is part of it.
  x.dispatch_ns = w_.loop().now_ns();
  // Counted as writing from dispatch on, also while its own handler runs (a scrape of the
  // metrics sees itself there); after_io() settles the state once the turn's I/O is done.
  set_activity(static_cast<std::uint8_t>(conn_activity::writing));
  const auto& router = w_.config().router;
  portico::response res = x.make_response();
  auto m = router.match(x.method, x.path, x);
  if (m.handler) {
    // A stream_body route reached over HTTP/1.1 (or by an HTTP/2 request without a body): the
    // handler gets the whole body through on_body too, at once, after it returns.
    const bool whole_body = m.stream_body && !x.body_streaming;
    if (whole_body) x.body_streaming = true;
    try {
      (*m.handler)(x.req(), res);
      if (whole_body && x.on_body_data) {
        auto fn = x.on_body_data;
        fn(x.body, true);
      }
    } catch (const std::exception& e) {
      LOG_ERROR("handler threw: %s", e.what());
      if (!res.ended()) {
        if (!x.started) {
          res.status(500).header("Content-Type", "text/plain; charset=utf-8");
          res.send("500 Internal Server Error\n");
        } else if (auto* o = x.owner()) {
          // HTTP/2: RST_STREAM(INTERNAL_ERROR) for this stream only; HTTP/1.1: what was queued
          // goes out, then the connection closes (the only way to show the cut).
          o->exchange_reset(x, true);
        } else {
          x.abort();
        }
      }
    }
    return;
  }
  res.header("Content-Type", "text/plain; charset=utf-8");
  if (m.path_matched) {
    // RFC 9110 §15.5.6: 405 carries Allow.
    res.status(405).header("Allow", m.allow).send("405 Method Not Allowed\n");
  } else {
    res.status(404).send("404 Not Found\n");
  }
}

bool connection::wants_body_stream(detail::exchange& x) {
  const auto m = w_.config().router.match(x.method, x.path, x);
  return m.handler != nullptr && m.stream_body;
}

void connection::on_response_done(const detail::exchange& x, std::uint64_t bytes) {
  auto& st = w_.stats();
  int cls = x.status / 100;
  if (cls >= 1 && cls <= 5) worker_stats::add(st.status_class[cls]);
  // The last byte was just handed to the kernel (we are inside output_written()). Responses
  // that one cleartext write completed (pipelined, or multiplexed on HTTP/2) ended at the same
  // moment: one reading of the clock serves them all.
  if (x.dispatch_ns != 0) {
    std::uint64_t now;
    if (committing_) {
      if (written_ns_ == 0) written_ns_ = monotonic_ns();
      now = written_ns_;
    } else {
      now = monotonic_ns();
    }
    st.observe_latency(now > x.dispatch_ns ? now - x.dispatch_ns : 0);
  }
  if (proto_closed_on_error() && x.status >= 400) worker_stats::add(st.protocol_errors);
  if (auto* log = w_.config().log) log->write(x, bytes, std::time(nullptr));
}

void connection::post(std::function<void()> fn) {
  w_.loop().post(std::move(fn));
}

void connection::set_timeout(unsigned ms, std::function<void()> fn) {
  // Owned by the worker, not the connection: it fires even if the connection is gone (the
  // handler's response handle then reports aborted()).
  w_.set_timeout(ms, std::move(fn));
}

void connection::drain() {
  if (state_ != state::open) return;
  if (up_) {
    if (!up_->shutting) up_->proto->begin_shutdown(w_.loop().now_ms());
    up_->shutting = true;
    w_.loop().at_turn_end(this);
    return;
  }
  session_.begin_drain();
  w_.loop().at_turn_end(this);
}

void connection::abort_now() {
  close_now(true);
}

void connection::peer_reset() {
  worker_stats::add(w_.stats().resets_received);
  close_now(false);
}

void connection::close_graceful() {
  // RFC 9112 §9.6: half-close, then read until the peer closes (or the linger timeout), so that
  // a request the peer already sent does not make our kernel answer with RST and destroy the
  // response it has not read yet.
  if (::shutdown(fd_.get(), SHUT_WR) != 0) {
    close_now(false);
    return;
  }
  state_ = state::lingering;
  set_activity(static_cast<std::uint8_t>(conn_activity::closing));
  proto_abort_all();
  arm(timer_kind::linger, w_.config().options.linger_timeout_ms);
  linger_read();
}

void connection::linger_read() {
  char buf[4096];
  for (int i = 0; i < 64; ++i) {  // bounded per event: 256 KiB
    ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n > 0) continue;
    if (n == 0) {
      close_now(false);  // the peer closed too: a clean end
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return;
    close_now(false);
    return;
  }
}

void connection::close_now(bool reset) {
  if (state_ == state::closed) return;
  state_ = state::closed;
  set_activity(no_activity);
  w_.loop().timers().cancel(timer_);
  proto_abort_all();
  w_.loop().remove(fd_.get());
  if (reset) {
    worker_stats::add(w_.stats().resets_sent);
    net::abortive_close(fd_);
  } else {
    fd_.reset();
  }
  w_.connection_closed(this);
}

// ---- TLS ---------------------------------------------------------------------------------------
// The transport turn of docs/tls.md: recv into the TLS session, decrypt into the http1 session,
// encrypt the http1 output, write the ciphertext. No protocol logic here beyond that glue.

void connection::tls_read() {
  session_.set_time(std::time(nullptr));
  read_pending_ = false;
  tls::session& t = tls_->session;
  while (state_ == state::open) {
    if (!tls_pull() || tls_->peer_eof) break;
    // The TLS session wants more ciphertext.
    std::span<std::byte> space = t.input_space();
    if (space.empty()) {
      // Only when its buffer is full: read() drains it once the http1 session takes more.
      read_pending_ = true;
      break;
    }
    ssize_t n = ::read(fd_.get(), space.data(), space.size());
    if (n > 0) {
      worker_stats::add(w_.stats().bytes_in, static_cast<std::uint64_t>(n));
      t.input_committed(static_cast<std::size_t>(n));
      if (static_cast<std::size_t>(n) < space.size()) {
        tls_pull();  // drained the socket: decrypt what came, then wait for EPOLLIN
        break;
      }
      continue;
    }
    if (n == 0) {
      tls_->peer_eof = true;
      // During the handshake there is nothing to answer: the session fails (unexpected_eof)
      // and the connection closes. Afterwards an EOF without close_notify is the end of the
      // requests (most HTTP clients end so): the records already received are still read
      // and answered, then tls_pull() ends the http1 input.
      if (!t.handshake_complete()) t.input_eof();
      tls_pull();
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) break;
    if (errno == ECONNRESET || errno == EPIPE || errno == ETIMEDOUT) {
      peer_reset();
      return;
    }
    LOG_DEBUG("read: %s", std::strerror(errno));
    close_now(false);
    return;
  }
  // A handshake flight, session tickets or an alert may be waiting.
  if (state_ == state::open && t.has_output() && !write_blocked_) w_.loop().at_turn_end(this);
}

// Decrypts into the http1 session's input buffer (no copy) while it wants input. True when the
// TLS session needs more ciphertext; false when reading must stop (back-pressure, close, error).
bool connection::tls_pull() {
  tls::session& t = tls_->session;
  if (!tls_->established) {
    // The handshake advances as ciphertext arrives (input_committed()); read() with no buffer
    // reports how it stands without taking an http1 input buffer from the pool.
    tls::io_result r = t.read({});
    if (r.st == tls::status::error) {
      tls_failed();
      return false;
    }
    if (!t.handshake_complete()) return true;
    tls_->established = true;
    auto& st = w_.stats();
    worker_stats::add(st.tls_handshakes);
    if (t.resumed()) worker_stats::add(st.tls_resumed);
    // The ALPN list holds only protocols this connection speaks (HTTP/1.1 for now); none
    // selected (no ALPN, or alpn_mismatch::continue_without) also means HTTP/1.1.
    LOG_DEBUG("tls: %s %s%s, sni \"%.*s\", alpn \"%.*s\"", std::string(t.version()).c_str(),
              std::string(t.cipher()).c_str(), t.resumed() ? " (resumed)" : "",
              static_cast<int>(t.server_name().size()), t.server_name().data(),
              static_cast<int>(t.alpn().size()), t.alpn().data());
    if (t.alpn() == "h2") start_h2({});  // RFC 9113 §3.2: the client preface comes next
  }
  if (up_) return tls_pull_up();
  while (state_ == state::open) {
    // Nothing to decrypt (OpenSSL keeps at most a partial record when our buffer is empty):
    // do not take an http1 input buffer from the pool for nothing.
    if (t.buffered_input() == 0 && !t.has_buffered_plaintext() && !tls_->peer_eof) return true;
    if (!session_.wants_input()) {
      read_pending_ = true;  // resume from on_turn_end() once the pipeline has room
      return false;
    }
    std::span<char> space = session_.input_space();
    if (space.empty()) {
      read_pending_ = true;
      return false;
    }
    tls::io_result r = t.read(std::as_writable_bytes(space));
    switch (r.st) {
      case tls::status::ok:
        if (session_.current_phase() == http1::session::phase::reading_body) body_progress_ = true;
        session_.input_committed(r.bytes);
        if (up_) return tls_pull_up();  // a WebSocket upgrade: the rest is WebSocket
        continue;
      case tls::status::want_more:
        if (tls_->peer_eof) {
          session_.input_eof();  // the peer's FIN without close_notify: the end of its requests
          return false;
        }
        return true;
      case tls::status::closed:
        session_.input_eof();  // close_notify (RFC 8446 §6.1): we may still answer (half-close)
        return false;
      case tls::status::error:
        tls_failed();
        return false;
    }
  }
  return false;
}

// tls_pull() for HTTP/2: decrypts into the connection's buffer and feeds the session.
bool connection::tls_pull_up() {
  tls::session& t = tls_->session;
  up_->proto->set_time(std::time(nullptr));
  if (!up_feed_stash()) {
    read_pending_ = true;
    return false;
  }
  while (state_ == state::open) {
    if (t.buffered_input() == 0 && !t.has_buffered_plaintext() && !tls_->peer_eof) return true;
    tls::io_result r =
        t.read(std::as_writable_bytes(std::span<char>(up_->buf.get(), up_state::buf_size)));
    switch (r.st) {
      case tls::status::ok:
        if (!up_feed({up_->buf.get(), r.bytes})) {
          read_pending_ = true;
          return false;
        }
        continue;
      case tls::status::want_more:
        if (tls_->peer_eof) {
          up_->proto->input_eof();
          return false;
        }
        return true;
      case tls::status::closed:
        up_->proto->input_eof();
        return false;
      case tls::status::error:
        tls_failed();
        return false;
    }
  }
  return false;
}

void connection::tls_failed() {
  tls::session& t = tls_->session;
  const std::error_code ec = t.error();
  if (ec == tls::errc::unexpected_eof) {
    // The peer closed during the handshake without a word: nothing to say, nothing to count.
    close_now(false);
    return;
  }
  if (ec == tls::errc::plain_http) {
    tls_plain_http();
    return;
  }
  auto& st = w_.stats();
  const bool handshake = !t.handshake_complete();
  worker_stats::add(handshake ? st.tls_handshake_failures : st.tls_errors);
  LOG_DEBUG("tls %s from %s: %s: %s", handshake ? "handshake failed" : "error", remote_ip_,
            ec.message().c_str(), t.error_detail().c_str());
  // No more responses; the alert for the peer (if any) is in pending_output(): tls_after_io()
  // has it flushed, then closes gracefully.
  proto_abort_all();
}

void connection::tls_plain_http() {
  // As nginx does: a plain-text answer the client can read, instead of a TLS alert it cannot.
  static constexpr char answer[] =
      "HTTP/1.1 400 Bad Request\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n"
      "Content-Length: 74\r\n"
      "Connection: close\r\n"
      "\r\n"
      "400 Bad Request: plain HTTP was sent to an HTTPS port; use https:// here.\n";
  static_assert(
      sizeof "400 Bad Request: plain HTTP was sent to an HTTPS port; use https:// here.\n" ==
      74 + 1);
  auto& st = w_.stats();
  worker_stats::add(st.tls_handshake_failures);
  session_.abort_all();
  // One write on a fresh socket: it fits in the send buffer (if not, the client loses a
  // courtesy answer, nothing else).
  ssize_t n = ::send(fd_.get(), answer, sizeof answer - 1, MSG_NOSIGNAL);
  if (n > 0) worker_stats::add(st.bytes_out, static_cast<std::uint64_t>(n));
  if (n == static_cast<ssize_t>(sizeof answer - 1)) worker_stats::add(st.status_class[4]);
  LOG_DEBUG("tls: plain HTTP from %s: answered 400", remote_ip_);
  // Half-close and read what the client still sends, so that our answer is not destroyed by an
  // RST for unread request bytes.
  close_graceful();
}

// Returns true when the cleartext logic of after_io() applies (HTTP/1.1 over an established
// session); false when the TLS state decided (handshake, failure, close_notify under way).
bool connection::tls_after_io() {
  tls::session& t = tls_->session;
  if (!t.failed() && !tls_->closing) {
    if (!t.handshake_complete()) {
      // Absolute from the accept: a client dribbling its ClientHello gains nothing.
      if (timer_kind_ != timer_kind::handshake) {
        timer_kind_ = timer_kind::handshake;
        w_.loop().timers().arm(timer_, tls_->handshake_deadline_ms);
      }
      set_activity(static_cast<std::uint8_t>(conn_activity::reading));
      // Drain (or the peer's EOF) before the handshake finished: nothing to say.
      if (!proto_done()) return false;
      t.close();  // before the handshake: sends nothing
      close_graceful();
      return false;
    }
    if (!proto_done() || proto_has_output()) return true;
    // The last response is out (or the drain began): close_notify, then the lingering close.
    t.close();
    tls_->closing = true;
  }
  if (!t.has_output()) {
    close_graceful();
    return false;
  }
  // The alert or close_notify still has to go out.
  if (write_blocked_) {
    if (timer_kind_ != timer_kind::write)
      arm(timer_kind::write, w_.config().options.write_timeout_ms);
  } else {
    w_.loop().at_turn_end(this);
  }
  set_activity(static_cast<std::uint8_t>(conn_activity::closing));
  return false;
}

void connection::tls_flush() {
  tls::session& t = tls_->session;
  while (state_ == state::open && !write_blocked_) {
    if (!t.failed() && !tls_->closing) tls_fill();
    if (state_ != state::open) return;
    std::span<const std::byte> out = t.pending_output();
    if (out.empty()) return;
    ssize_t written = ::write(fd_.get(), out.data(), out.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        write_blocked_ = true;
        return;
      }
      if (errno == EPIPE || errno == ECONNRESET || errno == ETIMEDOUT) {
        peer_reset();
        return;
      }
      LOG_WARN("write: %s", std::strerror(errno));
      close_now(true);
      return;
    }
    worker_stats::add(w_.stats().bytes_out, static_cast<std::uint64_t>(written));
    if (timer_kind_ == timer_kind::write) timer_kind_ = timer_kind::none;  // progress: re-arm
    t.commit_output(static_cast<std::size_t>(written));
  }
}

// Moves the http1 output into the TLS session while it takes it (up to output_high_water of
// ciphertext). Memory pieces are gathered into the worker's scratch buffer (one record for a
// whole small response, or for pipelined ones, instead of one per piece), except whole 16 KiB
// records of a large piece, which are encrypted where they are. File pieces are read 16 KiB at
// a time into the scratch buffer, only when the TLS output has room for the record, so no read
// is wasted.
// Encrypts the bytes of `iov` in records of up to 16 KiB along the byte stream: pieces are
// copied into the scratch buffer until it is full, except whole records of a large piece when
// nothing is staged. Returns the plaintext bytes taken; `full` when the TLS output is full.
std::size_t connection::tls_write_iovs(const iovec* iov, std::size_t n, bool& full) {
  tls::session& t = tls_->session;
  const std::span<std::byte> scratch = w_.tls_scratch();
  std::size_t taken = 0;
  std::size_t staged = 0;
  full = false;
  auto write_some = [&](const void* data, std::size_t size) {
    tls::io_result r = t.write({static_cast<const std::byte*>(data), size});
    taken += r.bytes;
    if (r.bytes < size) full = true;
  };
  for (std::size_t i = 0; i < n && !full; ++i) {
    auto* p = static_cast<const std::byte*>(iov[i].iov_base);
    std::size_t len = iov[i].iov_len;
    while (len > 0 && !full) {
      if (staged == 0 && len >= scratch.size()) {
        std::size_t whole = len - len % scratch.size();
        write_some(p, whole);
        p += whole;
        len -= whole;
        continue;
      }
      std::size_t c = std::min(len, scratch.size() - staged);
      std::memcpy(scratch.data() + staged, p, c);
      staged += c;
      p += c;
      len -= c;
      if (staged == scratch.size()) {
        write_some(scratch.data(), staged);
        staged = 0;
      }
    }
  }
  if (!full && staged > 0) write_some(scratch.data(), staged);
  return taken;
}

// Moves the http1 output into the TLS session while it takes it (up to output_high_water of
// ciphertext). Memory pieces are gathered into the worker's scratch buffer (one record for a
// whole small response, or for pipelined ones, instead of one per piece), except whole 16 KiB
// records of a large piece, which are encrypted where they are. File pieces are read 16 KiB at
// a time into the scratch buffer, only when the TLS output has room for the record, so no read
// is wasted.
void connection::tls_fill() {
  tls::session& t = tls_->session;
  if (!t.handshake_complete()) return;
  if (up_) {
    tls_fill_up();
    return;
  }
  const std::size_t high_water = w_.config().tls->limits().output_high_water;
  const std::span<std::byte> scratch = w_.tls_scratch();
  // tls::session::write() takes a record of `len` plaintext bytes when nothing is pending or
  // the pending ciphertext plus `len` stays within the high-water mark.
  auto room_for = [&](std::size_t len) {
    std::size_t pending = t.pending_output().size();
    return pending == 0 || pending + len <= high_water;
  };
  iovec iov[max_iov];
  while (state_ == state::open && room_for(scratch.size())) {
    http1::file_piece file;
    std::size_t n = session_.gather(std::span<iovec>(iov, max_iov), &file);
    if (n > 0) {
      bool full = false;
      std::size_t taken = tls_write_iovs(iov, n, full);
      // The iovecs point into the exchanges: only now may output_written() release them.
      if (taken > 0) session_.output_written(taken);
      if (t.failed()) {
        tls_failed();
        return;
      }
      if (full || taken == 0) return;
      continue;
    }
    if (file.fd < 0) return;
    std::size_t len =
        static_cast<std::size_t>(std::min<std::uint64_t>(file.length, scratch.size()));
    ssize_t got = ::pread(file.fd, scratch.data(), len, static_cast<off_t>(file.offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      // The file shrank under us (or cannot be read): the promised length cannot be delivered.
      LOG_WARN("pread: %s; closing connection",
               got == 0 ? "file ended early" : std::strerror(errno));
      close_now(true);
      return;
    }
    tls::io_result r = t.write(scratch.first(static_cast<std::size_t>(got)));
    if (r.bytes > 0) session_.output_written(r.bytes);
    if (t.failed()) {
      tls_failed();
      return;
    }
    if (r.bytes < static_cast<std::size_t>(got)) return;
  }
}

// The HTTP/2 output into the TLS session (file pieces were already read by the session through
// read(), so everything is memory here).
void connection::tls_fill_up() {
  tls::session& t = tls_->session;
  upgraded& s = *up_->proto;
  const std::size_t high_water = w_.config().tls->limits().output_high_water;
  const std::size_t record = w_.tls_scratch().size();
  iovec iov[max_iov];
  while (state_ == state::open) {
    std::size_t pending = t.pending_output().size();
    if (pending != 0 && pending + record > high_water) return;
    std::size_t n = s.pending_output(std::span<iovec>(iov, max_iov));
    if (n == 0) return;
    bool full = false;
    std::size_t taken = tls_write_iovs(iov, n, full);
    if (taken > 0) s.commit_output(taken);
    if (t.failed()) {
      tls_failed();
      return;
    }
    if (full || taken == 0) return;
  }
}

// Before an abrupt close (idle timeout): a close_notify if the socket takes it at once.
void connection::tls_close_quick() noexcept {
  tls::session& t = tls_->session;
  if (!t.handshake_complete() || t.failed()) return;
  t.close();
  std::span<const std::byte> out = t.pending_output();
  if (!out.empty() && !write_blocked_) {
    ssize_t n = ::send(fd_.get(), out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) worker_stats::add(w_.stats().bytes_out, static_cast<std::uint64_t>(n));
  }
}

}  // namespace portico::engine
