#include "server/connection.hpp"

#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "core/log.hpp"
#include "net/socket.hpp"
#include "server/access_log.hpp"
#include "server/worker.hpp"

namespace portico::engine {

namespace {
constexpr std::size_t max_iov = 64;
constexpr std::size_t sendfile_chunk = 1u << 20;

// The latency clock: CLOCK_MONOTONIC through the vDSO (no syscall), read twice per request.
std::uint64_t monotonic_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}
}  // namespace

connection::connection(worker& w, unique_fd fd, const char* remote_ip)
    : w_(w),
      fd_(std::move(fd)),
      session_(w.config().session, *this, w.buffers(), w.exchanges(), w.date(),
               init_ip(remote_ip)) {
  timer_.owner = this;
  timer_.fire = &connection::timer_fired;
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
    if (session_.has_output()) w_.loop().at_turn_end(this);
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) do_read();
  if (state_ == state::open) after_io();
}

void connection::do_read() {
  session_.set_time(std::time(nullptr));
  read_pending_ = false;
  while (state_ == state::open) {
    std::span<char> space = session_.input_space();
    if (space.empty()) {
      // Back-pressure: leave the bytes in the kernel until the pipeline has room again.
      read_pending_ = true;
      return;
    }
    ssize_t n = ::read(fd_.get(), space.data(), space.size());
    if (n > 0) {
      worker_stats::add(w_.stats().bytes_in, static_cast<std::uint64_t>(n));
      if (session_.current_phase() == http1::session::phase::reading_body) body_progress_ = true;
      session_.input_committed(static_cast<std::size_t>(n));
      if (static_cast<std::size_t>(n) < space.size()) return;  // drained the socket
      continue;
    }
    if (n == 0) {
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

void connection::on_output_ready() {
  if (state_ == state::open) w_.loop().at_turn_end(this);
}

void connection::on_turn_end() {
  if (state_ != state::open) return;
  flush();
  if (state_ != state::open) return;
  // Output went out: requests left in the kernel may now fit in the pipeline.
  if (read_pending_ && session_.wants_input()) do_read();
  if (state_ == state::open) after_io();
}

void connection::flush() {
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
    session_.output_written(static_cast<std::size_t>(written));
  }
}

void connection::after_io() {
  if (state_ != state::open) return;
  if (session_.done() && !session_.has_output()) {
    close_graceful();
    return;
  }
  auto phase = session_.current_phase();
  if (phase == http1::session::phase::idle) session_.release_idle_buffer();
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
  if (a == activity_ || (state_ == state::closed && a != no_activity)) return;
  auto& st = w_.stats();
  if (activity_ != no_activity) worker_stats::sub(st.activity[activity_]);
  if (a != no_activity) worker_stats::add(st.activity[a]);
  activity_ = a;
}

void connection::arm(timer_kind k, unsigned ms) {
  timer_kind_ = k;
  w_.loop().timers().arm(timer_, w_.loop().now_ms() + ms);
}

void connection::update_timer() {
  const auto& o = w_.config().options;
  if (write_blocked_ && session_.has_output()) {
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
      if (timer_kind_ != timer_kind::body || body_progress_) arm(timer_kind::body, o.body_timeout_ms);
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

void connection::timer_fired(io::timer_node* n) { static_cast<connection*>(n->owner)->on_timer(); }

void connection::on_timer() {
  timer_kind k = timer_kind_;
  timer_kind_ = timer_kind::none;
  auto& st = w_.stats();
  switch (k) {
    case timer_kind::idle:
      worker_stats::add(st.timeouts_idle);
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
      close_now(session_.closed_on_error());
      return;
    case timer_kind::none:
      return;
  }
  if (state_ == state::open) {
    flush();
    after_io();
  }
}

void connection::on_request(detail::exchange& x) {
  auto& st = w_.stats();
  worker_stats::add(st.requests);
  x.dispatch_ns = monotonic_ns();
  // Counted as writing from dispatch on, also while its own handler runs (a scrape of the
  // metrics sees itself there); after_io() settles the state once the turn's I/O is done.
  set_activity(static_cast<std::uint8_t>(conn_activity::writing));
  const auto& router = w_.config().router;
  portico::response res = x.make_response();
  auto m = router.match(x.method, x.path, x);
  if (m.handler) {
    try {
      (*m.handler)(x.req(), res);
    } catch (const std::exception& e) {
      LOG_ERROR("handler threw: %s", e.what());
      if (!res.ended()) {
        if (!x.started) {
          res.status(500).header("Content-Type", "text/plain; charset=utf-8");
          res.send("500 Internal Server Error\n");
        } else {
          x.abort();
          close_now(true);
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

void connection::on_response_done(const detail::exchange& x, std::uint64_t bytes) {
  auto& st = w_.stats();
  int cls = x.status / 100;
  if (cls >= 1 && cls <= 5) worker_stats::add(st.status_class[cls]);
  // The last byte was just handed to the kernel (we are inside output_written()).
  if (x.dispatch_ns != 0) {
    std::uint64_t now = monotonic_ns();
    st.observe_latency(now > x.dispatch_ns ? now - x.dispatch_ns : 0);
  }
  if (session_.closed_on_error() && x.status >= 400) worker_stats::add(st.protocol_errors);
  if (auto* log = w_.config().log) log->write(x, bytes, std::time(nullptr));
}

void connection::post(std::function<void()> fn) { w_.loop().post(std::move(fn)); }

void connection::set_timeout(unsigned ms, std::function<void()> fn) {
  // Owned by the worker, not the connection: it fires even if the connection is gone (the
  // handler's response handle then reports aborted()).
  w_.set_timeout(ms, std::move(fn));
}

void connection::drain() {
  if (state_ != state::open) return;
  session_.begin_drain();
  w_.loop().at_turn_end(this);
}

void connection::abort_now() { close_now(true); }

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
  session_.abort_all();
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
  session_.abort_all();
  w_.loop().remove(fd_.get());
  if (reset) {
    worker_stats::add(w_.stats().resets_sent);
    net::abortive_close(fd_);
  } else {
    fd_.reset();
  }
  w_.connection_closed(this);
}

}  // namespace portico::engine
