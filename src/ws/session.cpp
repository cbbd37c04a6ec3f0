// WebSocket connection state machine, server side (RFC 6455 §5-§7; RFC 7692 §6-§7).
#include "ws/session.hpp"

#include <algorithm>
#include <cstring>

namespace portico::ws {
namespace {

constexpr std::size_t max_close_reason = max_control_payload - 2;  // RFC 6455 §5.5.1

std::span<const std::byte> as_bytes(std::string_view s) noexcept {
  return std::as_bytes(std::span(s.data(), s.size()));
}

// A compressed message may be a little larger on the wire than inflated (stored blocks): the
// wire limit leaves room for that; the inflated size is what max_message_size bounds.
std::uint64_t wire_limit(std::size_t max) noexcept {
  return std::uint64_t{max} + max / 64 + 1024;
}

}  // namespace

std::vector<std::byte> buffer_cache::take_bytes() {
  if (bytes_.empty()) return {};
  std::vector<std::byte> b = std::move(bytes_.back());
  bytes_.pop_back();
  return b;
}

std::string buffer_cache::take_string() {
  if (strings_.empty()) return {};
  std::string s = std::move(strings_.back());
  strings_.pop_back();
  return s;
}

void buffer_cache::give(std::vector<std::byte>&& b) noexcept {
  if (b.capacity() == 0 || b.capacity() > max_capacity_ || bytes_.size() >= max_buffers_) return;
  b.clear();
  try {
    bytes_.push_back(std::move(b));
  } catch (...) {
  }
}

void buffer_cache::give(std::string&& s) noexcept {
  if (s.capacity() <= 15 || s.capacity() > max_capacity_ || strings_.size() >= max_buffers_) return;
  s.clear();
  try {
    strings_.push_back(std::move(s));
  } catch (...) {
  }
}

char* raw_block::grow(std::size_t n) {
  if (capacity - size < n) {
    const std::size_t want = std::max(size + n, capacity * 2);
    std::unique_ptr<char[]> bigger(new char[want]);  // uninitialised: written by the caller
    if (size > 0) std::memcpy(bigger.get(), data.get(), size);
    data = std::move(bigger);
    capacity = want;
  }
  return data.get() + size;
}

raw_block buffer_cache::take_raw() {
  if (raws_.empty()) return {};
  raw_block b = std::move(raws_.back());
  raws_.pop_back();
  b.size = 0;
  return b;
}

void buffer_cache::give(raw_block&& b) noexcept {
  if (b.capacity == 0 || b.capacity > max_capacity_ || raws_.size() >= max_buffers_) return;
  b.size = 0;
  try {
    raws_.push_back(std::move(b));
  } catch (...) {
  }
}

session::session(const session_config& cfg, session_events& ev,
                 std::optional<deflate_params> deflate, buffer_cache* cache)
    : cfg_(cfg), events_(ev), cache_(cache), deflate_(deflate) {
  parser_options o;
  o.side = role::server;
  o.allow_rsv1 = deflate_.has_value();
  parser_ = frame_parser(o);
  if (deflate_) {
    inflater_ = std::make_unique<inflater>(deflate_->client_no_context_takeover);
    deflater_ = std::make_unique<deflater>(deflate_->server_no_context_takeover,
                                           deflate_->server_max_window_bits, cfg_.deflate.level,
                                           cfg_.deflate.mem_level);
  }
}

session::~session() = default;

void session::start(std::uint64_t now) noexcept {
  now_ = now;
  last_input_ = now;
}

// ---- input ------------------------------------------------------------------------------------

std::size_t session::consume(std::span<const std::byte> in, std::uint64_t now) {
  const std::size_t total = in.size();
  now_ = now;
  if (state_ == state::closed || aborted_) return total;  // RFC 6455 §5.5.1: nothing after Close
  if (!in.empty()) last_input_ = now;
  while (!in.empty() && state_ != state::closed) {
    const parse_result r = parser_.parse(in);
    in = in.subspan(r.consumed);
    switch (r.status) {
      case parse_status::need_more:
        return total;
      case parse_status::error:
        fail(r.error);
        return total;
      case parse_status::header:
        on_header(r.header);
        if (state_ != state::closed && r.frame_end) on_frame_end();
        break;
      case parse_status::payload:
        on_payload(r.payload, r.offset);
        if (state_ != state::closed && r.frame_end) on_frame_end();
        break;
    }
  }
  return total;
}

void session::on_header(const frame_header& h) {
  cur_ = h;
  if (is_control(h.op)) {
    ctrl_.clear();
    return;
  }
  if (h.op != opcode::continuation) {  // the first frame of a message (parser checked order)
    msg_op_ = h.op;
    msg_compressed_ = h.rsv1;  // RFC 7692 §6: RSV1 on the first frame marks the message
    msg_.clear();
    raw_.size = 0;
    if (cache_ && !msg_compressed_ && raw_.capacity == 0) raw_ = cache_->take_raw();
    if (cache_ && msg_compressed_ && msg_.capacity() <= 15) msg_ = cache_->take_string();
    msg_wire_ = 0;
    utf8_.reset();
  }
  msg_wire_ += h.length;
  // Uncompressed, the frame header already tells whether the message will be too big: refuse
  // before buffering any of it.
  if (!msg_compressed_ ? raw_.size + h.length > cfg_.max_message_size
                       : msg_wire_ > wire_limit(cfg_.max_message_size)) {
    fail(make_ws_error(close_code::message_too_big, "message over the size limit"));
    return;
  }
  // One allocation for the frame's payload instead of geometric growth.
  // (Capped: a header alone does not get a large buffer reserved.)
  if (!msg_compressed_ && h.length > 0)
    raw_.grow(static_cast<std::size_t>(std::min<std::uint64_t>(h.length, 1 << 20)));
}

void session::on_payload(std::span<const std::byte> p, std::uint64_t offset) {
  if (is_control(cur_.op)) {
    const std::size_t old = ctrl_.size();
    ctrl_.resize(old + p.size());
    unmask_copy(reinterpret_cast<std::byte*>(ctrl_.data() + old), p, cur_.mask, offset);
    return;
  }
  if (!msg_compressed_) {
    const std::size_t old = raw_.size;
    unmask_copy(reinterpret_cast<std::byte*>(raw_.grow(p.size())), p, cur_.mask, offset);
    raw_.size += p.size();
    check_text(old);
  } else {
    // Unmask through a small buffer and inflate straight into the message: the compressed
    // bytes are never buffered whole.
    std::byte tmp[4096];
    while (!p.empty()) {
      const std::size_t n = std::min(p.size(), sizeof tmp);
      unmask_copy(tmp, p.first(n), cur_.mask, offset);
      const std::size_t before = msg_.size();
      const inflater::status st = inflater_->feed({tmp, n}, msg_, cfg_.max_message_size);
      // The text inflated so far is checked before a zlib error is reported, so that the
      // outcome does not depend on how the bytes were split.
      check_text(before);
      if (state_ == state::closed) return;
      if (st != inflater::status::ok) {
        inflate_failed(st);
        return;
      }
      p = p.subspan(n);
      offset += n;
    }
  }
}

void session::inflate_failed(inflater::status st) {
  if (st == inflater::status::too_big)
    fail(make_ws_error(close_code::message_too_big, "inflated message over the size limit"));
  else if (inflater_->out_of_memory())
    fail(make_ws_error(close_code::internal_error, "out of memory inflating"));
  else
    fail(make_ws_error(close_code::invalid_payload, "compressed data does not inflate"));
}

// RFC 6455 §8.1: fail as soon as the text is not UTF-8, even in the middle of a message.
void session::check_text(std::size_t from) {
  if (msg_op_ != opcode::text || state_ == state::closed) return;
  if (!utf8_.feed(message().substr(from)))
    fail(make_ws_error(close_code::invalid_payload, "text message is not UTF-8"));
}

void session::on_frame_end() {
  if (is_control(cur_.op)) {
    on_control();
    return;
  }
  if (!cur_.fin) return;
  if (msg_compressed_) {
    const std::size_t old = msg_.size();
    const inflater::status st = inflater_->finish(msg_, cfg_.max_message_size);
    check_text(old);
    if (state_ == state::closed) return;
    if (st != inflater::status::ok) {
      inflate_failed(st);
      return;
    }
  }
  if (msg_op_ == opcode::text && !utf8_.complete()) {
    fail(make_ws_error(close_code::invalid_payload, "text message ends inside a character"));
    return;
  }
  events_.on_message(msg_op_, message());
  msg_.clear();
  raw_.size = 0;
  // Do not hold a large buffer while idle: it goes back to the thread's cache (or is freed).
  if (msg_.capacity() > 64 * 1024) {
    if (cache_) cache_->give(std::move(msg_));
    std::string().swap(msg_);
  }
  if (raw_.capacity > 64 * 1024) {
    if (cache_) cache_->give(std::move(raw_));
    raw_ = raw_block{};
  }
}

void session::on_control() {
  switch (cur_.op) {
    case opcode::ping:
      events_.on_ping(ctrl_);
      // RFC 6455 §5.5.2, §5.5.3: Pong with the Ping's payload; only the latest is kept when
      // several arrive before it is written. Nothing after our Close.
      if (state_ == state::open) {
        const bool first = !pending_pong_.has_value();
        pending_pong_ = ctrl_;
        if (first) events_.on_output_ready();
      }
      return;
    case opcode::pong:
      awaiting_pong_ = false;
      events_.on_pong(ctrl_);
      return;
    case opcode::close:
      break;
    default:
      return;
  }
  // RFC 6455 §5.5.1, §7.4: an empty body, or a 2-octet code then a UTF-8 reason.
  std::uint16_t code = static_cast<std::uint16_t>(close_code::no_status);
  std::string_view reason;
  if (ctrl_.size() == 1) {
    fail(make_ws_error(close_code::protocol_error, "Close payload of one byte"));
    return;
  }
  if (ctrl_.size() >= 2) {
    code = static_cast<std::uint16_t>((static_cast<unsigned char>(ctrl_[0]) << 8) |
                                      static_cast<unsigned char>(ctrl_[1]));
    if (!is_valid_received_code(code)) {
      fail(make_ws_error(close_code::protocol_error, "invalid close code"));
      return;
    }
    reason = std::string_view(ctrl_).substr(2);
    if (!is_valid_utf8(reason)) {
      fail(make_ws_error(close_code::invalid_payload, "close reason is not UTF-8"));
      return;
    }
  }
  if (state_ == state::open) {
    // §5.5.1: answer with a Close, echoing the code. Data already queued still goes first.
    queue_close(ctrl_.size() >= 2 ? code : 0, {}, false);
  }
  state_ = state::closed;
  close_deadline_ = now_ + cfg_.close_timeout_ms;  // to get our last bytes out
  finish(code, reason);
}

void session::input_eof() {
  if (state_ != state::closed)
    finish(static_cast<std::uint16_t>(close_code::abnormal), "connection closed without Close");
  state_ = state::closed;
  aborted_ = true;
}

// RFC 6455 §7.1.7 "Fail the WebSocket Connection": send a Close with the code (unless one was
// sent already), drop what was not started, process no more input.
void session::fail(ws_error e) {
  if (state_ == state::closed) return;
  error_ = e;
  if (state_ == state::open) queue_close(static_cast<std::uint16_t>(e.wire_code()), e.detail, true);
  state_ = state::closed;
  close_deadline_ = now_ + cfg_.close_timeout_ms;
  finish(static_cast<std::uint16_t>(e.wire_code()), e.detail);
}

void session::finish(std::uint16_t code, std::string_view reason) {
  if (reported_) return;
  reported_ = true;
  events_.on_close(code, reason);
}

// ---- output -----------------------------------------------------------------------------------

void session::queue_frame(opcode op, bool fin, bool rsv1, std::span<const std::byte> payload,
                          bool urgent) {
  chunk c;
  if (cache_) c.bytes = cache_->take_bytes();
  const header_bytes h = encode_header(op, fin, rsv1, payload.size());
  c.bytes.reserve(h.size + payload.size());
  c.bytes.insert(c.bytes.end(), h.view().begin(), h.view().end());
  c.bytes.insert(c.bytes.end(), payload.begin(), payload.end());
  c.data = !is_control(op);
  out_bytes_ += c.bytes.size();
  if (urgent) {
    // Control frames go ahead of queued data frames, behind the ones already handed out.
    out_.insert(out_.begin() + static_cast<std::ptrdiff_t>(urgent_end_), std::move(c));
    ++urgent_end_;
  } else {
    out_.push_back(std::move(c));
  }
}

void session::queue_close(std::uint16_t code, std::string_view reason, bool drop_data) {
  if (drop_data) {
    // Keep what is fixed in place (handed out, partly written, urgent); drop the data frames
    // behind it.
    while (out_.size() > urgent_end_ && out_.back().data) {
      out_bytes_ -= out_.back().bytes.size();
      out_.pop_back();
    }
  }
  pending_pong_.reset();  // nothing but Close from here on
  std::string payload;
  if (code != 0) {
    payload.push_back(static_cast<char>(code >> 8));
    payload.push_back(static_cast<char>(code & 0xff));
    payload.append(reason.substr(0, max_close_reason));
  }
  queue_frame(opcode::close, true, false, as_bytes(payload), false);
  events_.on_output_ready();
}

send_status session::after_send() {
  if (out_bytes_ > cfg_.max_buffered) {
    fail(make_ws_error(close_code::policy_violation, "send buffer over the limit"));
    return send_status::closed;
  }
  events_.on_output_ready();
  if (out_bytes_ > cfg_.high_water) {
    above_high_water_ = true;
    return send_status::above_high_water;
  }
  return send_status::ok;
}

send_status session::send_message(opcode op, std::span<const std::byte> payload) {
  if (state_ != state::open) return send_status::closed;
  bool rsv1 = false;
  std::string compressed;
  if (deflater_ && payload.size() >= cfg_.deflate.min_compress_size) {
    // RFC 7692 §7.2.1; on a zlib failure the message goes uncompressed (RSV1 clear).
    if (deflater_->compress(payload, compressed)) {
      rsv1 = true;
      payload = as_bytes(compressed);
    }
  }
  const std::size_t step = std::max<std::size_t>(cfg_.send_frame_size, 1);
  std::size_t off = 0;
  bool first = true;
  do {
    const std::size_t n = std::min(step, payload.size() - off);
    const bool fin = off + n == payload.size();
    // RFC 6455 §5.4: the first frame has the opcode (and RSV1), the rest are continuations.
    queue_frame(first ? op : opcode::continuation, fin, first && rsv1, payload.subspan(off, n),
                false);
    off += n;
    first = false;
  } while (off < payload.size());
  return after_send();
}

send_status session::send_text(std::string_view text) {
  if (state_ != state::open) return send_status::closed;
  if (!is_valid_utf8(text)) return send_status::invalid;
  return send_message(opcode::text, as_bytes(text));
}

send_status session::send_binary(std::span<const std::byte> data) {
  return send_message(opcode::binary, data);
}

send_status session::send_ping(std::string_view payload) {
  if (state_ != state::open) return send_status::closed;
  if (payload.size() > max_control_payload) return send_status::invalid;
  queue_frame(opcode::ping, true, false, as_bytes(payload), true);
  return after_send();
}

send_status session::close(std::uint16_t code, std::string_view reason, std::uint64_t now) {
  if (state_ != state::open) return send_status::closed;
  if (code == 0 ? !reason.empty() : !is_valid_received_code(code)) return send_status::invalid;
  if (reason.size() > max_close_reason || !is_valid_utf8(reason)) return send_status::invalid;
  now_ = now;
  queue_close(code, reason, false);
  state_ = state::closing;
  close_deadline_ = now + cfg_.close_timeout_ms;
  return send_status::ok;
}

std::size_t session::pending_output(std::span<iovec> iov) {
  if (pending_pong_) {
    std::string p = std::move(*pending_pong_);
    pending_pong_.reset();
    queue_frame(opcode::pong, true, false, as_bytes(p), true);
  }
  std::size_t k = 0;
  for (chunk& c : out_) {
    if (k == iov.size()) break;
    iov[k].iov_base = c.bytes.data() + c.sent;
    iov[k].iov_len = c.bytes.size() - c.sent;
    ++k;
  }
  urgent_end_ = std::max(urgent_end_, k);
  return k;
}

void session::commit_output(std::size_t n) {
  out_bytes_ -= std::min(n, out_bytes_);
  while (n > 0 && !out_.empty()) {
    chunk& c = out_.front();
    const std::size_t left = c.bytes.size() - c.sent;
    if (n < left) {
      c.sent += n;
      break;
    }
    n -= left;
    if (cache_) cache_->give(std::move(c.bytes));
    out_.pop_front();
    if (urgent_end_ > 0) --urgent_end_;
  }
  // Nothing is handed out any more: only a partly written frame must keep its place at the
  // front, then the control frames queued ahead of the data. New control frames go after those.
  urgent_end_ = (!out_.empty() && out_.front().sent > 0) ? 1 : 0;
  while (urgent_end_ < out_.size() && !out_[urgent_end_].data)
    ++urgent_end_;
  if (above_high_water_ && out_bytes_ <= cfg_.high_water) {
    above_high_water_ = false;
    events_.on_drain();
  }
}

// ---- time -------------------------------------------------------------------------------------

void session::tick(std::uint64_t now) {
  now_ = now;
  if (aborted_) return;
  if (state_ != state::open) {
    // Closing (waiting for the peer's Close) or closed with output not written yet.
    if (now >= close_deadline_ && (state_ == state::closing || has_output())) {
      state_ = state::closed;
      aborted_ = true;
      finish(static_cast<std::uint16_t>(close_code::abnormal), "close timeout");
    }
    return;
  }
  if (cfg_.ping_interval_ms == 0) return;
  if (awaiting_pong_) {
    // Anything received since the Ping shows the peer is alive (a Pong may be queued behind a
    // long frame of its own).
    if (last_input_ > ping_sent_at_) {
      awaiting_pong_ = false;
    } else if (now >= ping_sent_at_ + cfg_.pong_timeout_ms) {
      state_ = state::closed;
      aborted_ = true;
      finish(static_cast<std::uint16_t>(close_code::abnormal), "no pong");
      return;
    } else {
      return;
    }
  }
  if (now >= last_input_ + cfg_.ping_interval_ms) {
    char payload[8];
    ++pings_sent_;
    for (int i = 0; i < 8; ++i)
      payload[i] = static_cast<char>(pings_sent_ >> (56 - 8 * i));
    queue_frame(opcode::ping, true, false, as_bytes({payload, 8}), true);
    awaiting_pong_ = true;
    ping_sent_at_ = now;
    events_.on_output_ready();
  }
}

std::optional<std::uint64_t> session::next_deadline() const noexcept {
  if (aborted_) return std::nullopt;
  if (state_ != state::open)
    return (state_ == state::closing || has_output()) ? std::optional(close_deadline_)
                                                      : std::nullopt;
  if (cfg_.ping_interval_ms == 0) return std::nullopt;
  if (awaiting_pong_) return ping_sent_at_ + cfg_.pong_timeout_ms;
  return last_input_ + cfg_.ping_interval_ms;
}

}  // namespace portico::ws
