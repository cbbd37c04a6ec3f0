#include "http1/session.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "http/status.hpp"

namespace portico::http1 {

// One request/response on an HTTP/1.1 connection: the parsed head, the output pieces of the
// response in wire order, and its place in the pipeline.
class exchange1 final : public detail::exchange {
 public:
  struct piece {
    enum kind_t : std::uint8_t { head, view, own, file };
    explicit piece(kind_t k) noexcept : kind(k) {}
    kind_t kind;
    const char* ext = nullptr;  // view
    std::string owned;          // own
    std::uint64_t len = 0;
    std::uint64_t sent = 0;
    int fd = -1;  // file (owned by the exchange: file_fd)
    std::uint64_t offset = 0;
  };

  exchange1* next = nullptr;
  request_parser parser;           // parses this exchange's request (idle connections hold none)
  exchange1* live_prev = nullptr;  // the pool's list of exchanges handed out
  exchange1* live_next = nullptr;
  request_head head;
  std::string head_buf;      // serialised status line and fields (+ a small body)
  std::string request_copy;  // the request bytes, once relocated out of the input buffer
  std::vector<piece> pieces;
  std::size_t piece_pos = 0;
  std::uint64_t unsent = 0;       // queued and not yet written
  std::uint64_t wire_bytes = 0;   // written so far
  std::uint64_t stream_sent = 0;  // body bytes queued for a Content-Length stream
  std::uint64_t body_bytes = 0;   // body bytes of the response (what the access log reports)
  const char* pin = nullptr;      // request bytes in the input buffer [pin, pin + pin_len)
  std::size_t pin_len = 0;
  bool head_done = false;    // status line and fields queued
  bool final = false;        // every piece of the response is queued
  bool close_after = false;  // the connection closes after this response
  bool chunked = false;
  bool no_body = false;  // HEAD, 204, 304: fields only
  bool dispatched = false;

  void clear() {
    reset();
    parser.reset();
    next = nullptr;
    head.clear();
    head_buf.clear();
    request_copy.clear();
    pieces.clear();
    piece_pos = 0;
    unsent = wire_bytes = stream_sent = body_bytes = 0;
    pin = nullptr;
    pin_len = 0;
    head_done = final = close_after = chunked = no_body = dispatched = false;
  }

  void add_piece(piece p) {
    unsent += p.len - p.sent;
    pieces.push_back(std::move(p));
  }
};

// ---- pool ---------------------------------------------------------------------------------------

exchange_pool::~exchange_pool() {
  for (auto* x : free_)
    delete x;
  // Exchanges still referenced (a handler kept a response past the worker's life) delete
  // themselves when their last reference goes.
  for (exchange1* x = live_; x; x = x->live_next)
    x->set_recycler(nullptr);
}

exchange1* exchange_pool::acquire() {
  exchange1* x;
  if (!free_.empty()) {
    x = free_.back();
    free_.pop_back();
  } else {
    x = new exchange1();
    x->set_recycler(this);
  }
  x->live_prev = nullptr;
  x->live_next = live_;
  if (live_) live_->live_prev = x;
  live_ = x;
  x->add_ref();
  return x;
}

void exchange_pool::recycle(detail::exchange* base) noexcept {
  auto* x = static_cast<exchange1*>(base);
  if (x->live_prev) x->live_prev->live_next = x->live_next;
  if (x->live_next) x->live_next->live_prev = x->live_prev;
  if (live_ == x) live_ = x->live_next;
  x->live_prev = x->live_next = nullptr;
  x->clear();
  if (free_.size() < max_cached_) {
    try {
      free_.push_back(x);
      return;
    } catch (...) {
    }
  }
  delete x;
}

// ---- session ------------------------------------------------------------------------------------

namespace {
constexpr std::size_t min_read_room = 2048;
constexpr std::string_view continue_100 = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::size_t small_body = 1024;  // copied next to the head: one iovec per response

void append_number(std::string& s, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  s.append(buf, r.ptr);
}
}  // namespace

session::session(const session_config& cfg, session_events& ev, buffer_pool& buffers,
                 exchange_pool& exchanges, http::date_cache& date, std::string_view remote_ip)
    : cfg_(cfg),
      events_(ev),
      buffers_(buffers),
      pool_(exchanges),
      date_(date),
      remote_ip_(remote_ip) {}

session::~session() {
  abort_all();
  drop_parsing();
  in_.release(buffers_);
  // Remaining bytes (unparsed input) are dropped with the buffer.
  if (!in_.release(buffers_)) {
    in_.consume(in_.size());
    in_.release(buffers_);
  }
}

void session::abort_all() noexcept {
  while (front_) {
    exchange1* x = front_;
    front_ = x->next;
    x->abort();
    x->detach();
    x->release();
  }
  back_ = reading_ = nullptr;
  in_flight_ = 0;
}

bool session::wants_input() const noexcept {
  if (peer_eof_) return false;
  if (reading_) return true;
  return !closing_ && in_flight_ < cfg_.max_pipelined;
}

std::span<char> session::input_space() {
  if (!wants_input()) return {};
  if (in_.tail_room() >= min_read_room) return in_.tail();
  // The buffer must move (compact or grow): requests still in flight hold views into it, so
  // give them their own copy first.
  relocate_pinned();
  std::size_t max_cap = cfg_.parse_limits.max_header_bytes + cfg_.parse_limits.max_trailer_bytes +
                        buffers_.block_size();
  return in_.prepare(buffers_, min_read_room, max_cap);
}

void session::input_committed(std::size_t n) {
  in_.commit(n);
  process_input();
}

void session::input_eof() {
  peer_eof_ = true;
  closing_ = true;
  if (reading_ && reading_ == back_) {
    // RFC 9112 §8: a body cut short by the peer's close is incomplete: nothing to answer.
    exchange1* x = reading_;
    reading_ = nullptr;
    unlink_back();
    x->detach();
    x->release();
  }
  drop_parsing();
}

void session::unlink_back() noexcept {
  exchange1* prev = nullptr;
  for (exchange1* p = front_; p != back_; p = p->next)
    prev = p;
  if (prev) {
    prev->next = nullptr;
  } else {
    front_ = nullptr;
  }
  back_ = prev;
  --in_flight_;
}

void session::drop_parsing() noexcept {
  if (parsing_) {
    parsing_->release();
    parsing_ = nullptr;
  }
}

bool session::pinned() const noexcept {
  for (exchange1* x = front_; x; x = x->next) {
    if (x->pin_len) return true;
  }
  return false;
}

void session::relocate_pinned() {
  for (exchange1* x = front_; x; x = x->next) {
    if (!x->pin_len) continue;
    x->request_copy.assign(x->pin, x->pin_len);
    const char* old_begin = x->pin;
    const char* old_end = x->pin + x->pin_len;
    const char* base = x->request_copy.data();
    auto rebase = [&](std::string_view& v) {
      if (v.data() >= old_begin && v.data() < old_end)
        v = std::string_view(base + (v.data() - old_begin), v.size());
    };
    rebase(x->method);
    rebase(x->target);
    rebase(x->path);
    rebase(x->query);
    rebase(x->body);
    rebase(x->head.method);
    rebase(x->head.target);
    rebase(x->head.host);
    for (auto& h : x->head.headers) {
      rebase(h.name);
      rebase(h.value);
    }
    for (std::size_t i = 0; i < x->param_count; ++i)
      rebase(x->params[i].value);
    x->pin = nullptr;
    x->pin_len = 0;
  }
}

exchange1* session::push_exchange() {
  return link(pool_.acquire());
}

exchange1* session::link(exchange1* x) {
  x->attach(this);
  x->remote_ip = remote_ip_;
  if (back_) {
    back_->next = x;
  } else {
    front_ = x;
  }
  back_ = x;
  ++in_flight_;
  return x;
}

void session::process_input() {
  if (in_process_) return;
  in_process_ = true;
  while (!in_.empty()) {
    if (reading_) {
      exchange1& x = *reading_;
      body_result r = x.parser.parse_body(in_.readable());
      if (r.status == parse_status::error) {
        fail(r.error);
        break;
      }
      if (!r.data.empty()) {
        if (x.body.empty() && x.body_storage.empty() && r.status == parse_status::done && x.pin) {
          // The whole body arrived with the head: point at it (it stays pinned with the head).
          x.body = std::string_view(r.data.data(), r.data.size());
          x.pin_len = static_cast<std::size_t>(r.data.data() + r.data.size() - x.pin);
        } else {
          if (!x.body.empty() && x.body_storage.empty()) x.body_storage.assign(x.body);
          x.body_storage.append(r.data.data(), r.data.size());
          x.body = x.body_storage;
        }
      }
      in_.consume(r.consumed);
      if (r.status == parse_status::done) {
        finish_body();
        continue;
      }
      if (r.consumed == 0) break;
      continue;
    }
    if (closing_ || in_flight_ >= cfg_.max_pipelined) break;
    // Parse the next head. The exchange joins the pipeline only once its head is complete.
    if (!parsing_) {
      parsing_ = pool_.acquire();
      parsing_->parser.set_limits(cfg_.parse_limits);
    }
    head_result r = parsing_->parser.parse_head(in_.readable(), parsing_->head);
    if (r.status == parse_status::need_more) break;
    exchange1* next = parsing_;
    parsing_ = nullptr;
    link(next);
    if (r.status == parse_status::error) {
      next->head.clear();
      fail(r.error);
      break;
    }
    next->pin = in_.readable().data();
    next->pin_len = r.consumed;
    in_.consume(r.consumed);
    if (!start_request(r.consumed)) break;
  }
  in_process_ = false;
  if (in_.empty() && !pinned()) {
    // Everything read was used and nothing points into the buffer: reuse it from the start.
    in_.compact();
  }
}

bool session::start_request(std::size_t) {
  exchange1& x = *back_;
  request_head& h = x.head;
  ++requests_;
  x.method = h.method;
  x.target = h.target;
  x.version = h.version_minor == 0 ? 10 : 11;
  x.headers = std::span<const header_view>(h.headers.data(), h.headers.size());
  x.remote_ip = remote_ip_;
  x.head_request = h.method == "HEAD";
  // Path and query of the target (RFC 9112 §3.2): absolute-form carries scheme and authority.
  std::string_view t = h.target;
  if (!t.empty() && t.front() != '/' && t != "*") {
    auto scheme_end = t.find("://");
    if (scheme_end != std::string_view::npos) {
      auto path_start = t.find('/', scheme_end + 3);
      t = path_start == std::string_view::npos ? std::string_view("/") : t.substr(path_start);
    }
  }
  auto q = t.find('?');
  x.path = t.substr(0, q);
  x.query = q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
  if (auto f = x.path.find('#'); f != std::string_view::npos) x.path = x.path.substr(0, f);

  // RFC 9112 §9.3: persistence.
  bool close = x.version == 11 ? h.connection_close : !h.connection_keep_alive;
  if (!cfg_.keep_alive) close = true;
  if (cfg_.max_requests && requests_ >= cfg_.max_requests) close = true;
  if (close) {
    x.close_after = true;
    closing_ = true;
  }
  if (h.has_unsupported_expect) {
    // RFC 9110 §10.1.1: an expectation the server cannot meet → 417.
    fail_with_status(417, "unsupported Expect");
    return false;
  }
  if (h.framing == body_framing::none) {
    dispatch(x);
    return true;
  }
  reading_ = &x;
  // RFC 9110 §10.1.1: 100-continue only when the body is not already here.
  if (h.expect_continue && x.version == 11 && in_.empty()) {
    exchange1::piece p{exchange1::piece::view};
    p.ext = continue_100.data();
    p.len = continue_100.size();
    x.add_piece(std::move(p));
    events_.on_output_ready();
  }
  return true;
}

void session::finish_body() {
  exchange1& x = *reading_;
  reading_ = nullptr;
  // RFC 9112 §7.1.2: the trailer section of a chunked body (checked by the parser against its
  // limits); its views point into the input buffer, so the fields are copied.
  const auto trailers = x.parser.trailers();
  if (!trailers.empty()) {
    for (const auto& f : trailers)
      x.add_request_trailer(f.name, f.value);
    x.publish_request_trailers();
  }
  dispatch(x);
}

void session::dispatch(exchange1& x) {
  x.dispatched = true;
  events_.on_request(x);
}

void session::fail(std::error_code ec) {
  int status = status_for(ec);
  std::string detail = ec.message();
  fail_with_status(status, detail);
}

void session::fail_with_status(int status, std::string_view detail) {
  // The error answers the newest exchange: the one whose head or body failed, or a fresh one.
  exchange1* x = nullptr;
  if (reading_) {
    x = reading_;
    reading_ = nullptr;
  } else if (parsing_) {
    x = link(parsing_);
    parsing_ = nullptr;
    x->head.clear();
  } else if (back_ && !back_->dispatched) {
    x = back_;
  } else {
    x = push_exchange();
  }
  x->dispatched = true;
  x->close_after = true;
  closing_ = true;
  error_close_ = true;
  x->status = status;
  x->fields.clear();
  x->fields.add("Content-Type", "text/plain; charset=utf-8");
  std::string body;
  body.reserve(64 + detail.size());
  append_number(body, static_cast<std::uint64_t>(status));
  body += ' ';
  body += http::reason_phrase(status);
  if (!detail.empty()) {
    body += ": ";
    body += detail;
  }
  body += '\n';
  x->kind = detail::body_kind::memory;
  x->body_memory = std::move(body);
  x->started = x->ended = true;
  if (x->head.method.empty()) x->head_request = false;
  serialize(*x);
  events_.on_output_ready();
}

void session::timeout(timeout_kind k) {
  if (k == timeout_kind::body && reading_) {
    fail_with_status(408, "request body not received in time");
  } else if (k == timeout_kind::header && !in_.empty() && !reading_) {
    fail_with_status(408, "request head not received in time");
  } else {
    closing_ = true;
  }
}

void session::begin_drain() {
  closing_ = true;
  if (back_ && !back_->head_done) back_->close_after = true;
}

void session::release_idle_buffer() noexcept {
  if (in_flight_ == 0 && !reading_ && in_.empty()) {
    in_.release(buffers_);
    drop_parsing();
  }
}

// ---- responses ----------------------------------------------------------------------------------

void session::serialize_head(exchange1& x, bool chunked, bool has_length, std::uint64_t length) {
  std::string& s = x.head_buf;
  s.clear();
  // RFC 9112 §4: status-line. We answer HTTP/1.0 requests as HTTP/1.1 (RFC 9110 §6.2).
  s += "HTTP/1.1 ";
  append_number(s, static_cast<std::uint64_t>(x.status));
  s += ' ';
  s += http::reason_phrase(x.status);
  s += "\r\n";
  if (!cfg_.server_header.empty()) {
    s += "Server: ";
    s += cfg_.server_header;
    s += "\r\n";
  }
  s += "Date: ";
  s += date_.get(now_s_);
  s += "\r\n";
  for (const auto& f : x.fields) {
    s += f.name;
    s += ": ";
    s += f.value;
    s += "\r\n";
  }
  if (chunked) {
    s += "Transfer-Encoding: chunked\r\n";
  } else if (has_length) {
    s += "Content-Length: ";
    append_number(s, length);
    s += "\r\n";
  }
  if (x.close_after) {
    s += "Connection: close\r\n";
  } else if (x.version == 10) {
    s += "Connection: keep-alive\r\n";
  }
  s += "\r\n";
}

void session::serialize(exchange1& x) {
  if (!x.started || x.final) return;
  if (!x.head_done) {
    x.head_done = true;
    bool no_body_status = http::status_has_no_body(x.status);
    x.no_body = x.head_request || no_body_status;
    bool chunked = false;
    bool has_length = true;
    std::uint64_t length = 0;
    switch (x.kind) {
      case detail::body_kind::none:
        length = 0;
        break;
      case detail::body_kind::memory:
        length = x.body_memory.size();
        break;
      case detail::body_kind::view:
        length = x.body_view.size();
        break;
      case detail::body_kind::file:
        length = x.file_length;
        break;
      case detail::body_kind::parts:
        for (const auto& p : x.parts)
          length += p.file_length ? p.file_length : p.text.size();
        break;
      case detail::body_kind::stream:
        if (x.has_content_length) {
          length = x.content_length;
        } else if (x.ended) {
          length = x.body_memory.size();  // ended before anything went out: plain length
          x.has_content_length = true;
          x.content_length = length;
        } else if (x.version == 11) {
          chunked = true;
          has_length = false;
        } else {
          // HTTP/1.0 peer: the body is delimited by closing the connection (RFC 9112 §6.3).
          has_length = false;
          x.close_after = true;
          closing_ = true;
        }
        break;
    }
    // RFC 9110 §8.6: no Content-Length in 1xx/204; for 304 it would describe the selected
    // representation, which we do not know here, so it is left out too.
    if (no_body_status) {
      has_length = false;
      chunked = false;
    }
    x.chunked = chunked && !x.no_body;
    if (!x.no_body && x.kind != detail::body_kind::stream) x.body_bytes = length;
    serialize_head(x, chunked, has_length, length);
    const bool small =
        !x.no_body &&
        ((x.kind == detail::body_kind::memory && x.body_memory.size() <= small_body) ||
         (x.kind == detail::body_kind::view && x.body_view.size() <= small_body));
    if (small) {
      if (x.kind == detail::body_kind::memory) {
        x.head_buf += x.body_memory;
      } else {
        x.head_buf.append(x.body_view.data(), x.body_view.size());
      }
    }
    exchange1::piece hp{exchange1::piece::head};
    hp.len = x.head_buf.size();
    x.add_piece(std::move(hp));
    if (!x.no_body && !small) {
      if (x.kind == detail::body_kind::memory && !x.body_memory.empty()) {
        exchange1::piece p{exchange1::piece::view};
        p.ext = x.body_memory.data();
        p.len = x.body_memory.size();
        x.add_piece(std::move(p));
      } else if (x.kind == detail::body_kind::view && !x.body_view.empty()) {
        exchange1::piece p{exchange1::piece::view};
        p.ext = x.body_view.data();
        p.len = x.body_view.size();
        x.add_piece(std::move(p));
      } else if (x.kind == detail::body_kind::file && x.file_length > 0) {
        exchange1::piece p{exchange1::piece::file};
        p.fd = x.file_fd;
        p.offset = x.file_offset;
        p.len = x.file_length;
        x.add_piece(std::move(p));
      } else if (x.kind == detail::body_kind::parts) {
        for (auto& part : x.parts) {
          if (part.file_length) {
            exchange1::piece p{exchange1::piece::file};
            p.fd = x.file_fd;
            p.offset = part.file_offset;
            p.len = part.file_length;
            x.add_piece(std::move(p));
          } else if (!part.text.empty()) {
            exchange1::piece p{exchange1::piece::own};
            p.len = part.text.size();
            p.owned = std::move(part.text);
            x.add_piece(std::move(p));
          }
        }
      }
    }
    if (x.kind != detail::body_kind::stream) {
      x.final = true;
      return;
    }
  }
  take_stream_data(x);
}

void session::take_stream_data(exchange1& x) {
  if (!x.body_memory.empty()) {
    if (x.no_body) {
      x.body_memory.clear();
    } else {
      std::uint64_t n = x.body_memory.size();
      if (x.has_content_length && x.stream_sent + n > x.content_length) {
        // The handler wrote more than the Content-Length it set: the framing cannot be kept.
        x.abort();
        error_close_ = true;
        closing_ = true;
        x.body_memory.clear();
        x.final = true;
        x.close_after = true;
        return;
      }
      if (x.chunked) {
        // RFC 9112 §7.1: chunk-size CRLF chunk-data CRLF.
        exchange1::piece size_line{exchange1::piece::own};
        char hex[20];
        auto r = std::to_chars(hex, hex + sizeof hex, n, 16);
        size_line.owned.assign(hex, r.ptr);
        size_line.owned += "\r\n";
        size_line.len = size_line.owned.size();
        x.add_piece(std::move(size_line));
      }
      exchange1::piece data{exchange1::piece::own};
      data.owned = std::move(x.body_memory);
      data.len = n;
      x.add_piece(std::move(data));
      x.body_memory = std::string();
      if (x.chunked) {
        exchange1::piece crlf{exchange1::piece::view};
        crlf.ext = "\r\n";
        crlf.len = 2;
        x.add_piece(std::move(crlf));
      }
      x.stream_sent += n;
      x.body_bytes += n;
    }
  }
  if (x.unsent > cfg_.high_water) x.drain_wanted = true;
  if (x.unsent > cfg_.max_buffer) {
    // The handler ignores back-pressure: cut the response rather than buffer without bound.
    x.abort();
    error_close_ = true;
    closing_ = true;
    x.final = true;
    x.close_after = true;
    return;
  }
  if (x.ended) {
    if (x.chunked && (x.trailers.empty() || x.no_body)) {
      exchange1::piece last{exchange1::piece::view};
      last.ext = "0\r\n\r\n";  // last-chunk, no trailers
      last.len = 5;
      x.add_piece(std::move(last));
    } else if (x.chunked) {
      // RFC 9112 §7.1.2: last-chunk, then the trailer section, then CRLF.
      exchange1::piece last{exchange1::piece::own};
      last.owned = "0\r\n";
      for (const auto& f : x.trailers) {
        last.owned += f.name;
        last.owned += ": ";
        last.owned += f.value;
        last.owned += "\r\n";
      }
      last.owned += "\r\n";
      last.len = last.owned.size();
      x.add_piece(std::move(last));
    } else if (x.has_content_length && !x.no_body && x.stream_sent < x.content_length) {
      // Fewer bytes than announced: the peer can only notice if we close.
      error_close_ = true;
      closing_ = true;
      x.close_after = true;
    }
    x.final = true;
  }
}

void session::exchange_updated(detail::exchange& base) {
  auto& x = static_cast<exchange1&>(base);
  serialize(x);
  events_.on_output_ready();
}

void session::exchange_reset(detail::exchange& base, bool) {
  auto& x = static_cast<exchange1&>(base);
  if (x.aborted || x.final) {
    x.abort();
    return;
  }
  x.abort();
  x.started = true;  // nothing more is serialised for it
  x.body_memory.clear();
  x.final = true;
  x.close_after = true;
  error_close_ = true;
  closing_ = true;
  events_.on_output_ready();
}

std::size_t session::exchange_buffered(const detail::exchange& base) const noexcept {
  const auto& x = static_cast<const exchange1&>(base);
  return static_cast<std::size_t>(x.unsent) + x.body_memory.size();
}

bool session::has_output() const noexcept {
  return front_ && front_->piece_pos < front_->pieces.size();
}

std::size_t session::gather(std::span<iovec> iov, file_piece* file) {
  std::size_t n = 0;
  for (exchange1* x = front_; x && n < iov.size(); x = x->next) {
    if (x->started && !x->head_done) serialize(*x);
    for (std::size_t i = x->piece_pos; i < x->pieces.size(); ++i) {
      exchange1::piece& p = x->pieces[i];
      if (p.kind == exchange1::piece::file) {
        if (n == 0 && file) {
          file->fd = p.fd;
          file->offset = p.offset + p.sent;
          file->length = p.len - p.sent;
        }
        return n;
      }
      const char* base = p.kind == exchange1::piece::head  ? x->head_buf.data()
                         : p.kind == exchange1::piece::own ? p.owned.data()
                                                           : p.ext;
      iov[n].iov_base = const_cast<char*>(base + p.sent);
      iov[n].iov_len = static_cast<std::size_t>(p.len - p.sent);
      if (++n == iov.size()) return n;
    }
    if (!x->final) break;  // later responses wait for this one (RFC 9112 §9.3.2)
  }
  return n;
}

void session::output_written(std::size_t n) {
  while (front_) {
    exchange1& x = *front_;
    while (n > 0 && x.piece_pos < x.pieces.size()) {
      exchange1::piece& p = x.pieces[x.piece_pos];
      std::uint64_t left = p.len - p.sent;
      std::uint64_t take = std::min<std::uint64_t>(left, n);
      p.sent += take;
      n -= static_cast<std::size_t>(take);
      x.unsent -= take;
      x.wire_bytes += take;
      if (p.sent == p.len) {
        if (p.kind == exchange1::piece::own) p.owned = std::string();
        ++x.piece_pos;
      }
    }
    if (x.final && x.piece_pos == x.pieces.size()) {
      complete_front();
      continue;
    }
    break;
  }
  // Back-pressure released: tell the streaming handler at the head of the line.
  if (front_ && front_->drain_wanted && front_->unsent <= cfg_.high_water / 2) {
    front_->drain_wanted = false;
    if (front_->on_drain) {
      exchange1* x = front_;
      x->add_ref();
      auto fn = x->on_drain;
      fn();
      x->release();
    }
  }
  if (!closing_ && in_flight_ < cfg_.max_pipelined && !in_.empty()) process_input();
}

void session::complete_front() {
  exchange1* x = front_;
  front_ = x->next;
  if (!front_) back_ = nullptr;
  --in_flight_;
  events_.on_response_done(*x, x->body_bytes);
  if (x->close_after) closing_ = true;
  x->next = nullptr;
  x->detach();
  x->release();
}

session::phase session::current_phase() const noexcept {
  if (reading_) return phase::reading_body;
  if (in_flight_ > 0) return phase::busy;
  if (!in_.empty()) return phase::reading_head;
  return phase::idle;
}

bool session::done() const noexcept {
  return (closing_ || peer_eof_) && in_flight_ == 0;
}

}  // namespace portico::http1
