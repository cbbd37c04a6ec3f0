// One server-side TLS connection over the session's own buffers.
//
// OpenSSL talks to a custom BIO whose read takes from the session's input buffer and whose
// write appends to the session's output buffer. Compared with BIO_s_mem: the transport can
// recv() straight into input_space() and writev() straight from pending_output() (one copy
// less each way, though not measurable next to the AEAD: docs/tls.md), both buffers have the
// bounds the session enforces rather than a memory BIO's unbounded growth, and since the write
// callback never refuses, OpenSSL never returns SSL_ERROR_WANT_WRITE mid-handshake.
#include "tls/session.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cstring>
#include <new>

#include "tls/internal.hpp"

namespace portico::tls {
namespace {

constexpr std::size_t max_fragment = 16 * 1024;  // RFC 8446 §5.1: 2^14 bytes of plaintext
constexpr std::size_t first_output_block = 8 * 1024;
// Output that read() may leave queued beyond output_high_water: tickets, alerts, KeyUpdate
// answers. More means the peer keeps sending messages that need an answer (a KeyUpdate with
// update_requested is answered by one) without reading the answers.
constexpr std::size_t max_control_output = 64 * 1024;

// The BIO_METHOD is shared by all sessions of all threads; built once, freed at exit.
struct bio_method_holder {
  BIO_METHOD* method = nullptr;
  bio_method_holder() {
    method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "portico tls session");
    if (!method) return;
    if (!BIO_meth_set_write(method, session::detail::bio_write) ||
        !BIO_meth_set_read(method, session::detail::bio_read) ||
        !BIO_meth_set_ctrl(method, session::detail::bio_ctrl)) {
      BIO_meth_free(method);
      method = nullptr;
    }
  }
  ~bio_method_holder() { BIO_meth_free(method); }
};

const BIO_METHOD* bio_method() {
  static const bio_method_holder holder;
  return holder.method;
}

bool is_ssl_reason(unsigned long e, int reason) {
  return e != 0 && ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == reason;
}

// SSL_get_error() reads the thread's error queue, so it must be empty before an I/O call
// (SSL_get_error(3)); every path of this file leaves it empty. ERR_clear_error() costs about
// 800 instructions (it wipes all 16 slots) even then, a sixth of a small record's sealing, and
// the data path makes one or two calls per loop turn: only clear what some other code on this
// thread left. ERR_peek_error() is the very test SSL_get_error() makes.
void clear_stale_errors() noexcept {
  if (ERR_peek_error() != 0) ERR_clear_error();
}

}  // namespace

// ---- the BIO ------------------------------------------------------------------------------

int session::detail::bio_write(BIO* b, const char* data, int len) noexcept {
  auto* s = static_cast<session*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  if (len <= 0) return 0;
  try {
    s->append_output(reinterpret_cast<const std::byte*>(data), static_cast<std::size_t>(len));
  } catch (const std::bad_alloc&) {
    return -1;  // no retry flag: OpenSSL reports SSL_ERROR_SYSCALL, the session fails
  }
  return len;
}

int session::detail::bio_read(BIO* b, char* data, int len) noexcept {
  auto* s = static_cast<session*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  if (len <= 0) return 0;
  std::size_t n =
      s->read_ciphertext(reinterpret_cast<std::byte*>(data), static_cast<std::size_t>(len));
  if (n > 0) return static_cast<int>(n);
  if (s->eof_) return 0;  // end of stream: OpenSSL reports "unexpected eof while reading"
  BIO_set_retry_read(b);
  return -1;
}

long session::detail::bio_ctrl(BIO* b, int cmd, long, void*) noexcept {
  auto* s = static_cast<session*>(BIO_get_data(b));
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;  // everything written is already in the output buffer
    case BIO_CTRL_PENDING:
      return static_cast<long>(s->buffered_input());
    case BIO_CTRL_WPENDING:
      return 0;
    case BIO_CTRL_EOF:
      return s->eof_ && s->buffered_input() == 0 ? 1 : 0;
    default:
      return 0;
  }
}

void session::detail::info_callback(const SSL* ssl, int where, int ret) noexcept {
  if (!(where & SSL_CB_ALERT)) return;
  session* s = from(ssl);
  if (!s) return;
  // `ret`: alert level in the high byte, description in the low byte (RFC 8446 §6).
  if ((ret >> 8) != SSL3_AL_FATAL) return;
  auto desc = static_cast<std::uint8_t>(ret & 0xff);
  if (where & SSL_CB_WRITE) {
    if (!s->alert_sent_) s->alert_sent_ = desc;
  } else if (!s->alert_received_) {
    s->alert_received_ = desc;
  }
}

// ---- construction -------------------------------------------------------------------------

session::session(const server_context& ctx) : ctx_(*ctx.impl_) {
  const BIO_METHOD* method = bio_method();
  if (!method) throw std::bad_alloc();
  ssl_ = SSL_new(ctx_.certs.front().ctx.get());
  if (!ssl_) throw std::bad_alloc();
  BIO* bio = BIO_new(method);
  if (!bio) {
    SSL_free(ssl_);
    throw std::bad_alloc();
  }
  BIO_set_data(bio, this);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_, bio, bio);  // one BIO both ways: SSL takes the single reference
  SSL_set_ex_data(ssl_, 0, this);
  SSL_set_info_callback(ssl_, detail::info_callback);
  SSL_set_accept_state(ssl_);
}

session::~session() {
  // SSL_free() invalidates the session (no more resumption) unless close_notify went both
  // ways. A connection that merely ended without close_notify may still be resumed (RFC 5246
  // §7.2.1), and most HTTP clients end that way; a fatal alert has already invalidated it
  // (RFC 5246 §7.2.2, done by OpenSSL when it sends or receives one).
  if (state_ != state::failed) SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_free(ssl_);
}

// ---- ciphertext in ------------------------------------------------------------------------

std::size_t session::read_ciphertext(std::byte* p, std::size_t n) noexcept {
  std::size_t have = in_end_ - in_begin_;
  n = std::min(n, have);
  if (n == 0) return 0;
  std::memcpy(p, in_.get() + in_begin_, n);
  in_begin_ += n;
  if (in_begin_ == in_end_) in_begin_ = in_end_ = 0;
  return n;
}

std::span<std::byte> session::input_space() {
  switch (state_) {
    case state::handshaking:
    case state::established:
    case state::closing:
      break;
    case state::peer_closed:
    case state::closed:
    case state::failed:
      return {};
  }
  if (eof_) return {};
  std::size_t cap = ctx_.limits.input_buffer;
  if (!in_) in_ = std::make_unique_for_overwrite<std::byte[]>(cap);
  // Move a partial record to the front when the tail gets short (it is at most one record).
  if (in_begin_ > 0 && cap - in_end_ < cap / 2) {
    std::memmove(in_.get(), in_.get() + in_begin_, in_end_ - in_begin_);
    in_end_ -= in_begin_;
    in_begin_ = 0;
  }
  return {in_.get() + in_end_, cap - in_end_};
}

void session::input_committed(std::size_t n) {
  if (!in_) n = 0;  // input_space() was never called (or returned nothing)
  in_end_ += std::min(n, ctx_.limits.input_buffer - in_end_);
  take_input();
}

std::size_t session::feed(std::span<const std::byte> ciphertext) {
  if (state_ == state::peer_closed || state_ == state::closed || state_ == state::failed)
    return ciphertext.size();  // RFC 8446 §6.1: ignored after close_notify or an error
  std::span<std::byte> space = input_space();
  std::size_t n = std::min(space.size(), ciphertext.size());
  if (n > 0) std::memcpy(space.data(), ciphertext.data(), n);
  in_end_ += n;
  take_input();
  return n;
}

void session::input_eof() {
  eof_ = true;
  take_input();
}

void session::take_input() {
  // The handshake runs as soon as its bytes arrive, so that its answer is in the output without
  // waiting for read(). Afterwards records stay buffered until read() pulls them.
  if (state_ == state::handshaking) drive_handshake();
}

bool session::drive_handshake() {
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    handshake_done_ = true;
    state_ = state::established;
    return true;
  }
  int e = SSL_get_error(ssl_, r);
  if (e == SSL_ERROR_WANT_READ) {
    ERR_clear_error();
    return false;
  }
  fail(e, true);
  return false;
}

// ---- plaintext ----------------------------------------------------------------------------

io_result session::read(std::span<std::byte> out) {
  switch (state_) {
    case state::failed:
      return {0, status::error};
    case state::peer_closed:
    case state::closed:
      return {0, status::closed};
    case state::handshaking:
      if (!drive_handshake())
        return {0, state_ == state::failed ? status::error : status::want_more};
      break;
    case state::established:
    case state::closing:
      break;
  }
  if (out.empty()) return {0, status::ok};
  if (out_end_ - out_begin_ > ctx_.limits.output_high_water + max_control_output) {
    error_ = errc::output_flood;
    detail_ = std::to_string(out_end_ - out_begin_) + " bytes of output not read by the peer";
    state_ = state::failed;
    return {0, status::error};
  }
  clear_stale_errors();
  std::size_t n = 0;
  int r = SSL_read_ex(ssl_, out.data(), out.size(), &n);
  if (r == 1) return {n, status::ok};
  // WANT_READ and ZERO_RETURN mean that the error queue is empty: SSL_get_error() looks there
  // first.
  int e = SSL_get_error(ssl_, r);
  switch (e) {
    case SSL_ERROR_WANT_READ:
      return {0, status::want_more};
    case SSL_ERROR_ZERO_RETURN:  // close_notify (RFC 8446 §6.1)
      state_ = state_ == state::closing ? state::closed : state::peer_closed;
      return {0, status::closed};
    default:
      fail(e, false);
      return {0, status::error};
  }
}

bool session::has_buffered_plaintext() const noexcept {
  return SSL_pending(ssl_) > 0;
}

io_result session::write(std::span<const std::byte> plaintext) {
  switch (state_) {
    case state::handshaking:
      return {0, status::want_more};
    case state::closing:
    case state::closed:
      return {0, status::closed};
    case state::failed:
      return {0, status::error};
    case state::established:
    case state::peer_closed:  // half-close: we may still answer (RFC 8446 §6.1)
      break;
  }
  std::size_t total = 0;
  while (total < plaintext.size()) {
    std::size_t chunk = std::min(plaintext.size() - total, max_fragment);
    std::size_t pending = out_end_ - out_begin_;
    // Whole records only, and none past the high-water mark unless nothing is pending (so
    // that a high-water mark under one record still makes progress).
    if (pending > 0 && pending + chunk > ctx_.limits.output_high_water) break;
    clear_stale_errors();
    std::size_t written = 0;
    int r = SSL_write_ex(ssl_, plaintext.data() + total, chunk, &written);
    if (r != 1) {
      fail(SSL_get_error(ssl_, r), false);
      return {total, status::error};
    }
    total += written;
  }
  if (plaintext.empty()) return {0, status::ok};
  return {total, total > 0 ? status::ok : status::want_more};
}

// ---- ciphertext out -----------------------------------------------------------------------

void session::append_output(const std::byte* p, std::size_t n) {
  if (out_cap_ - out_end_ < n) {
    std::size_t used = out_end_ - out_begin_;
    if (out_begin_ > 0 && out_cap_ - used >= n) {
      std::memmove(out_.get(), out_.get() + out_begin_, used);
    } else {
      std::size_t cap = std::max({out_cap_ * 2, used + n, first_output_block});
      auto bigger = std::make_unique_for_overwrite<std::byte[]>(cap);
      if (used > 0) std::memcpy(bigger.get(), out_.get() + out_begin_, used);
      out_ = std::move(bigger);
      out_cap_ = cap;
    }
    out_begin_ = 0;
    out_end_ = used;
  }
  std::memcpy(out_.get() + out_end_, p, n);
  out_end_ += n;
}

std::span<const std::byte> session::pending_output() const noexcept {
  if (out_end_ == out_begin_) return {};
  return {out_.get() + out_begin_, out_end_ - out_begin_};
}

bool session::has_output() const noexcept {
  return out_end_ != out_begin_;
}

void session::commit_output(std::size_t n) noexcept {
  out_begin_ += std::min(n, out_end_ - out_begin_);
  if (out_begin_ == out_end_) out_begin_ = out_end_ = 0;
}

// ---- closing ------------------------------------------------------------------------------

void session::close() {
  switch (state_) {
    case state::handshaking:
      // OpenSSL refuses SSL_shutdown during the handshake; the transport simply closes.
      state_ = state::closed;
      return;
    case state::established:
    case state::peer_closed:
      break;
    case state::closing:
    case state::closed:
    case state::failed:
      return;
  }
  ERR_clear_error();
  int r = SSL_shutdown(ssl_);  // queues close_notify: 0 = sent, 1 = both ways done
  if (r < 0) {
    fail(SSL_get_error(ssl_, r), false);
    return;
  }
  ERR_clear_error();
  state_ = state_ == state::peer_closed ? state::closed : state::closing;
}

bool session::done() const noexcept {
  return (state_ == state::closed || state_ == state::failed) && !has_output();
}

// ---- errors -------------------------------------------------------------------------------

void session::fail(int ssl_error, bool handshake) {
  unsigned long first = ERR_peek_error();
  std::string reasons;
  while (unsigned long e = ERR_get_error()) {
    const char* r = ERR_reason_error_string(e);
    std::string reason = r ? r : "error " + std::to_string(e);
    if (reasons.find(reason) != std::string::npos) continue;
    if (!reasons.empty()) reasons += ": ";
    reasons += reason;
  }
  ERR_clear_error();

  errc code;
  if (alpn_mismatch_ && ctx_.on_alpn_mismatch == alpn_mismatch::reject && !handshake_done_)
    code = errc::no_application_protocol;
  else if (alert_received_)
    code = errc::peer_alert;
  else if (is_ssl_reason(first, SSL_R_HTTP_REQUEST) ||
           is_ssl_reason(first, SSL_R_HTTPS_PROXY_REQUEST))
    code = errc::plain_http;
  else if (is_ssl_reason(first, SSL_R_UNEXPECTED_EOF_WHILE_READING) ||
           (eof_ && ssl_error == SSL_ERROR_SYSCALL))
    code = errc::unexpected_eof;
  else if (ssl_error == SSL_ERROR_SYSCALL || ERR_GET_REASON(first) == ERR_R_MALLOC_FAILURE)
    code = errc::internal_error;
  else
    code = handshake ? errc::handshake_failed : errc::protocol_error;

  error_ = code;
  detail_ = reasons.empty() ? std::string(make_error_code(code).message()) : reasons;
  if (alert_received_) {
    detail_ += "; received alert ";
    detail_ += SSL_alert_desc_string_long(*alert_received_);
  }
  if (alert_sent_) {
    detail_ += "; sent alert ";
    detail_ += SSL_alert_desc_string_long(*alert_sent_);
  }
  state_ = state::failed;
}

// ---- what was negotiated ------------------------------------------------------------------

std::string_view session::alpn() const noexcept {
  const unsigned char* p = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl_, &p, &len);
  if (!p) return {};
  return {reinterpret_cast<const char*>(p), len};
}

std::string_view session::server_name() const noexcept {
  const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
  return name ? std::string_view(name) : std::string_view();
}

bool session::resumed() const noexcept {
  return SSL_session_reused(ssl_) == 1;
}

std::string_view session::version() const noexcept {
  if (!handshake_done_) return {};
  return SSL_get_version(ssl_);
}

std::string_view session::cipher() const noexcept {
  const SSL_CIPHER* c = SSL_get_current_cipher(ssl_);
  return c ? std::string_view(SSL_CIPHER_get_name(c)) : std::string_view();
}

// ---- memory -------------------------------------------------------------------------------

void session::release_idle_buffers() noexcept {
  // OpenSSL keeps its record buffers while a record is partly read or written, or plaintext of
  // a decrypted record is left; SSL_free_buffers() refuses then.
  if (!SSL_has_pending(ssl_)) SSL_free_buffers(ssl_);
  if (in_begin_ == in_end_) {
    in_.reset();
    in_begin_ = in_end_ = 0;
  }
  if (out_begin_ == out_end_) {
    out_.reset();
    out_cap_ = 0;
    out_begin_ = out_end_ = 0;
  }
}

}  // namespace portico::tls
