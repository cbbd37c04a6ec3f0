// The server side of a gRPC call on top of portico::request / portico::response (gRPC
// doc/PROTOCOL-HTTP2.md). Protocol-neutral like the handlers it serves: no I/O here, the
// response handle carries the bytes.
#include <algorithm>
#include <coroutine>
#include <limits>
#include <stdexcept>

#include "grpc/compression.hpp"
#include "grpc/message.hpp"
#include "grpc/reader.hpp"
#include "grpc/status.hpp"
#include "grpc/text.hpp"
#include "portico/grpc_coro.hpp"

namespace portico::grpc {
namespace detail {

struct call_state : std::enable_shared_from_this<call_state> {
  call_state(portico::response r, std::shared_ptr<const service_options> o, encoding req_enc)
      : res(std::move(r)), opts(std::move(o)), reader(opts->max_receive_message_size, req_enc) {}

  portico::response res;
  std::shared_ptr<const service_options> opts;
  message_reader reader;
  std::string method;
  std::string content_type;
  metadata client_md;
  std::optional<std::chrono::steady_clock::time_point> deadline;
  bool client_gzip = false;  // grpc-accept-encoding of the request lists gzip

  std::function<void(std::optional<received_message>)> pending_read;
  bool delivering = false;

  metadata initial_md, trailing_md;
  bool headers_sent = false;
  encoding response_encoding = encoding::identity;
  bool finished = false;
  bool cancelled = false;
  std::function<void()> on_cancel;

  // The coroutine waiting on this call (portico/grpc_coro.hpp), at most one. It holds a call
  // handle, so this state outlives it; it is resumed exactly once: with its result, or with
  // "call over" (over()) when the call ends first.
  struct coro_waiter {
    enum class kind : unsigned char { none, read, ready, sleep };
    kind what = kind::none;
    std::coroutine_handle<> handle;
    bool suspended = false;   // false: still inside await_suspend, which resumes by returning
    bool done = false;        // the result came while !suspended
    read_target target;       // kind::read
    bool* result = nullptr;   // kind::ready, kind::sleep
    std::uint64_t timer = 0;  // kind::sleep: which timer may end this wait
  };
  coro_waiter waiter;
  std::uint64_t timers = 0;

  void send_headers();
  void end(const status& st);     // the status goes out; no coroutine is resumed
  void finish(const status& st);  // end() + over()
  void deliver();
  void cancel();  // client went away
  void expire();  // deadline

  void start_wait(coro_waiter::kind k, std::coroutine_handle<> h);
  void complete_wait();  // the waiter's result is in: resume it (or let await_suspend return)
  void over();           // the call ended: resume the waiter with "call over"
  void read_arrived(std::optional<received_message> m);
};

void call_state::send_headers() {
  if (headers_sent) return;
  headers_sent = true;
  res.status(200).header("content-type", content_type);
  if (response_encoding == encoding::gzip) res.header("grpc-encoding", "gzip");
  res.header("grpc-accept-encoding", accept_encoding_value(opts->gzip));
  for (const auto& m : initial_md)
    res.header(m.key, is_binary_key(m.key) ? base64_encode(m.value) : m.value);
}

void call_state::finish(const status& st) {
  end(st);
  over();
}

void call_state::end(const status& st) {
  if (finished) return;
  finished = true;
  pending_read = nullptr;
  if (res.aborted()) return;
  const std::string code = std::to_string(static_cast<int>(st.code));
  const std::string message = percent_encode_message(st.message);
  if (!headers_sent) {
    // Trailers-Only (doc/PROTOCOL-HTTP2.md): one HEADERS frame with :status 200, content-type,
    // the status and the metadata, and END_STREAM. An ended response without a body is that
    // on HTTP/2; response trailers would add a second HEADERS frame.
    send_headers();
    res.header("grpc-status", code);
    if (!message.empty()) res.header("grpc-message", message);
    for (const auto& m : trailing_md)
      res.header(m.key, is_binary_key(m.key) ? base64_encode(m.value) : m.value);
  } else {
    res.trailer("grpc-status", code);
    if (!message.empty()) res.trailer("grpc-message", message);
    for (const auto& m : trailing_md)
      res.trailer(m.key, is_binary_key(m.key) ? base64_encode(m.value) : m.value);
  }
  res.end();
}

void call_state::deliver() {
  if (delivering) return;  // a read from inside a read callback: the loop below takes it
  delivering = true;
  auto self = shared_from_this();  // a callback may drop the handler's last handle
  while (pending_read && !finished) {
    auto it = reader.next();
    switch (it.what) {
      case message_reader::kind::need_more:
        delivering = false;
        return;  // fed later (streaming request bodies)
      case message_reader::kind::error:
        finish({static_cast<status_code>(it.ec.value()), std::string(it.detail)});
        break;
      case message_reader::kind::end: {
        auto fn = std::move(pending_read);
        pending_read = nullptr;
        fn(std::nullopt);
        break;
      }
      case message_reader::kind::message: {
        auto fn = std::move(pending_read);
        pending_read = nullptr;
        fn(received_message{it.data, it.compressed});
        break;
      }
    }
  }
  delivering = false;
}

void call_state::cancel() {
  if (cancelled) return;
  cancelled = true;
  finished = true;
  pending_read = nullptr;
  if (auto fn = std::move(on_cancel)) fn();
  // Also the way out at server shutdown: the session aborts its streams (abort_all) before
  // dropping them, so a waiting coroutine runs to its end instead of leaking its frame.
  over();
}

void call_state::expire() {
  if (finished) return;
  // The deadline passed: DEADLINE_EXCEEDED. When response bytes are still held back (a client
  // that does not read), the status would wait behind them: RST_STREAM(CANCEL) cuts the call
  // instead of keeping its buffers past the deadline.
  end({status_code::deadline_exceeded, "deadline exceeded"});
  if (res.buffered_amount() > 0) res.reset();
  cancelled = true;
  if (auto fn = std::move(on_cancel)) fn();
  over();
}

void call_state::start_wait(coro_waiter::kind k, std::coroutine_handle<> h) {
  if (waiter.what != coro_waiter::kind::none || pending_read)
    throw std::logic_error("another wait on this gRPC call is pending");
  waiter = {};
  waiter.what = k;
  waiter.handle = h;
}

void call_state::complete_wait() {
  if (waiter.what == coro_waiter::kind::none || waiter.done) return;
  if (!waiter.suspended) {
    waiter.done = true;  // await_suspend returns false: the coroutine goes on, no recursion
    return;
  }
  // Resumed from the event loop (a body piece, a drain, a timer) or from the end of the call.
  // A later wait from inside finds the slot free; a read from inside deliver()'s loop does not
  // recurse (delivering), so the stack stays flat however many messages are buffered.
  auto h = waiter.handle;
  waiter = {};
  h.resume();
}

void call_state::over() {
  switch (waiter.what) {
    case coro_waiter::kind::none:
      return;
    case coro_waiter::kind::read:
      break;  // the result stays nullopt
    case coro_waiter::kind::ready:
    case coro_waiter::kind::sleep:
      *waiter.result = false;
      break;
  }
  complete_wait();
}

void call_state::read_arrived(std::optional<received_message> m) {
  if (waiter.what != coro_waiter::kind::read) return;
  if (m) {
    const read_target& t = waiter.target;
    if (t.parse) {
      if (!t.parse(t.ctx, m->data)) {
        // As read_message() does, and gRPC's own servers.
        finish({status_code::internal, "failed to parse request message"});  // over()
        return;
      }
    } else {
      t.bytes->emplace(message{reader.take(m->data), m->compressed});
    }
  }
  complete_wait();
}

}  // namespace detail

namespace {

// Request fields that are not custom metadata (doc/PROTOCOL-HTTP2.md "Request-Headers").
bool reserved_request_key(std::string_view k) noexcept {
  return k.empty() || k.front() == ':' || k.starts_with("grpc-") || k == "content-type" ||
         k == "te" || k == "content-length" || k == "connection" || k == "host" ||
         k == "transfer-encoding" || k == "keep-alive" || k == "upgrade" || k == "proxy-connection";
}

// Keys a handler may not set: they belong to the protocol or to HTTP framing.
bool reserved_response_key(std::string_view k) noexcept {
  return reserved_request_key(k) || k == "date" || k == "server" || k == "trailer";
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

void check_metadata(std::string_view key, std::string_view value) {
  if (!valid_metadata_key(key))
    throw std::invalid_argument("gRPC metadata key is not [0-9a-z_.-]+");
  if (reserved_response_key(key)) throw std::invalid_argument("reserved gRPC metadata key");
  if (!is_binary_key(key) && !valid_ascii_metadata_value(value))
    throw std::invalid_argument("gRPC metadata value outside printable ASCII (use a -bin key)");
}

// Answers before a call exists: Trailers-Only with the status.
void answer_status(portico::response& res, std::string_view content_type, status_code code,
                   std::string_view message, bool gzip) {
  res.status(200)
      .header("content-type", content_type)
      .header("grpc-accept-encoding", accept_encoding_value(gzip))
      .header("grpc-status", std::to_string(static_cast<int>(code)));
  if (!message.empty()) res.header("grpc-message", percent_encode_message(message));
  res.end();
}

}  // namespace

// ---- call ------------------------------------------------------------------------------------

std::string_view call::method() const noexcept {
  return s_->method;
}
const metadata& call::client_metadata() const noexcept {
  return s_->client_md;
}
const std::string* call::client_metadata(std::string_view key) const noexcept {
  for (const auto& m : s_->client_md)
    if (m.key == key) return &m.value;
  return nullptr;
}
std::optional<std::chrono::steady_clock::time_point> call::deadline() const noexcept {
  return s_->deadline;
}
std::string_view call::content_type() const noexcept {
  return s_->content_type;
}

void call::read(std::function<void(std::optional<received_message>)> fn) {
  if (s_->finished) return;
  if (s_->waiter.what == detail::call_state::coro_waiter::kind::read)
    throw std::logic_error("a coroutine is reading this gRPC call");
  s_->pending_read = std::move(fn);
  s_->deliver();
}

void call::add_initial_metadata(std::string_view key, std::string_view value) {
  check_metadata(key, value);
  if (s_->headers_sent || s_->finished) return;
  s_->initial_md.push_back({std::string(key), std::string(value)});
}

void call::add_trailing_metadata(std::string_view key, std::string_view value) {
  check_metadata(key, value);
  if (s_->finished) return;
  s_->trailing_md.push_back({std::string(key), std::string(value)});
}

void call::set_compression(std::string_view name) {
  if (s_->headers_sent) return;
  const encoding e = parse_encoding(name);
  s_->response_encoding = (e == encoding::gzip && s_->opts->gzip && s_->client_gzip)
                              ? encoding::gzip
                              : encoding::identity;
}

bool call::write(std::string_view message, bool compress) {
  auto& s = *s_;
  if (s.finished || s.res.aborted()) return false;
  if (message.size() > s.opts->max_send_message_size ||
      message.size() > std::numeric_limits<std::uint32_t>::max()) {
    s.finish({status_code::resource_exhausted,
              "response message larger than max (" + std::to_string(message.size()) + " vs. " +
                  std::to_string(s.opts->max_send_message_size) + ")"});
    return false;
  }
  s.send_headers();
  std::string frame;
  if (compress && s.response_encoding == encoding::gzip) {
    const std::string z = gzip_compress(message);
    frame.reserve(z.size() + message_prefix_size);
    append_message(frame, z, true);
  } else {
    frame.reserve(message.size() + message_prefix_size);
    append_message(frame, message, false);
  }
  const bool more = s.res.write(frame);
  return more && !s.res.aborted();
}

void call::on_ready(std::function<void()> fn) {
  if (s_->waiter.what == detail::call_state::coro_waiter::kind::ready)
    throw std::logic_error("a coroutine waits for this gRPC call's on_ready");
  s_->res.on_drain(std::move(fn));
}

void call::finish(const status& st) {
  s_->finish(st);
}

bool call::finished() const noexcept {
  return s_->finished;
}
bool call::cancelled() const noexcept {
  return s_->cancelled;
}
void call::on_cancel(std::function<void()> fn) {
  if (s_->cancelled) {
    if (fn) fn();
    return;
  }
  s_->on_cancel = std::move(fn);
}
portico::response& call::response() noexcept {
  return s_->res;
}

// ---- coroutine waits (portico/grpc_coro.hpp) ---------------------------------------------------

bool detail::coro_access::suspend_read(call& c, std::coroutine_handle<> h, read_target& t) {
  auto& s = *c.s_;
  if (s.finished) return false;  // nullopt: the call is over
  s.start_wait(call_state::coro_waiter::kind::read, h);
  s.waiter.target = t;
  s.pending_read = [st = &s](std::optional<received_message> m) { st->read_arrived(m); };
  s.deliver();  // at once when the message is buffered (or from deliver()'s loop, later)
  if (s.waiter.done || s.waiter.what == call_state::coro_waiter::kind::none) {
    s.waiter = {};
    return false;
  }
  s.waiter.suspended = true;
  return true;
}

bool detail::coro_access::suspend_ready(call& c, std::coroutine_handle<> h, bool& result) {
  auto& s = *c.s_;
  result = false;
  if (s.finished || s.res.aborted()) return false;
  s.start_wait(call_state::coro_waiter::kind::ready, h);
  s.waiter.result = &result;
  s.waiter.suspended = true;
  // response::on_drain: run by the session once the buffered bytes fell below half the
  // high-water mark (HTTP/2: the client's WINDOW_UPDATEs let them out).
  s.res.on_drain([weak = s.weak_from_this()] {
    auto st = weak.lock();
    if (!st || st->waiter.what != call_state::coro_waiter::kind::ready) return;
    *st->waiter.result = true;
    st->complete_wait();
  });
  return true;
}

bool detail::coro_access::suspend_sleep(call& c, std::coroutine_handle<> h, unsigned ms,
                                        bool& result) {
  auto& s = *c.s_;
  result = false;
  if (s.finished) return false;
  s.start_wait(call_state::coro_waiter::kind::sleep, h);
  s.waiter.result = &result;
  s.waiter.timer = ++s.timers;
  s.waiter.suspended = true;
  // The timer is not cancelled when the call ends first: it then finds another (or no) wait.
  s.res.set_timeout(ms, [weak = s.weak_from_this(), id = s.waiter.timer] {
    auto st = weak.lock();
    if (!st || st->waiter.what != call_state::coro_waiter::kind::sleep || st->waiter.timer != id)
      return;
    *st->waiter.result = true;
    st->complete_wait();
  });
  return true;
}

// ---- services --------------------------------------------------------------------------------

services::services(service_options opts)
    : opts_(std::make_shared<const service_options>(std::move(opts))) {}

services::services(const services& o)
    : opts_(o.opts_),
      methods_(o.methods_),
      service_names_(std::make_shared<std::vector<std::string>>(*o.service_names_)) {}

services& services::operator=(const services& o) {
  if (this != &o) {
    opts_ = o.opts_;
    methods_ = o.methods_;
    service_names_ = std::make_shared<std::vector<std::string>>(*o.service_names_);
  }
  return *this;
}

services& services::add(std::string_view full_method, method_handler h) {
  // "/" Service-Name "/" Method-Name, neither empty.
  if (full_method.size() < 4 || full_method.front() != '/')
    throw std::invalid_argument("gRPC method path must be /package.Service/Method");
  const auto slash = full_method.find('/', 1);
  if (slash == std::string_view::npos || slash == 1 || slash + 1 == full_method.size() ||
      full_method.find('/', slash + 1) != std::string_view::npos)
    throw std::invalid_argument("gRPC method path must be /package.Service/Method");
  for (char c : full_method)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f ||
        c == ':' || c == '*' || c == '?' || c == '%')
      throw std::invalid_argument("gRPC method path has a character routes cannot match");
  std::string service(full_method.substr(1, slash - 1));
  if (std::find(service_names_->begin(), service_names_->end(), service) == service_names_->end())
    service_names_->push_back(std::move(service));
  methods_.emplace_back(std::string(full_method), std::move(h));
  return *this;
}

method_handler services::method(std::string_view full_method) const {
  for (const auto& [path, h] : methods_)
    if (path == full_method) return h;
  return nullptr;
}

portico::handler services::make_handler(method_handler h) const {
  return [opts = opts_, h = std::move(h)](const portico::request& req, portico::response& res) {
    const std::string_view ct = req.header("content-type");
    if (!is_grpc_content_type(ct)) {
      // doc/PROTOCOL-HTTP2.md: "If Content-Type does not begin with "application/grpc", gRPC
      // servers SHOULD respond with HTTP status of 415". The UNIMPLEMENTED routes take paths that
      // are no gRPC method at all: there a non-gRPC request gets the usual 404.
      if (!h) {
        res.status(404).header("content-type", "text/plain").send("not found\n");
      } else {
        res.status(415).header("content-type", "text/plain").send("gRPC needs application/grpc\n");
      }
      return;
    }
    // Echo the content type without parameters.
    std::string content_type = lower(ct.substr(0, ct.find(';')));
    while (!content_type.empty() && (content_type.back() == ' ' || content_type.back() == '\t'))
      content_type.pop_back();
    // "TE → "te" "trailers" # Used to detect incompatible proxies"; the HTTP/2 session already
    // refuses any other value. Without it gRPC's own server fails the call with UNKNOWN
    // "Missing :te header" (Trailers-Only); so do we.
    if (req.header("te").empty()) {
      answer_status(res, content_type, status_code::unknown, "missing te: trailers", opts->gzip);
      return;
    }
    if (!h) {
      answer_status(res, content_type, status_code::unimplemented,
                    "unknown method " + std::string(req.path()), opts->gzip);
      return;
    }
    // doc/compression.md: a request compressed with an algorithm the server does not support
    // → UNIMPLEMENTED, with grpc-accept-encoding naming what it does.
    encoding req_enc = encoding::identity;
    if (const auto e = req.header("grpc-encoding"); !e.empty()) {
      req_enc = parse_encoding(e);
      if (req_enc == encoding::unsupported || (req_enc == encoding::gzip && !opts->gzip)) {
        answer_status(res, content_type, status_code::unimplemented,
                      "unsupported grpc-encoding " + std::string(e), opts->gzip);
        return;
      }
    }
    std::optional<std::chrono::nanoseconds> timeout;
    if (const auto t = req.header("grpc-timeout"); !t.empty()) {
      timeout = parse_timeout(t);
      if (!timeout) {
        answer_status(res, content_type, status_code::internal, "malformed grpc-timeout",
                      opts->gzip);
        return;
      }
    }
    auto st = std::make_shared<detail::call_state>(res, opts, req_enc);
    st->method = std::string(req.path());
    st->content_type = std::move(content_type);
    st->client_gzip = opts->gzip && accepts(req.header("grpc-accept-encoding"), encoding::gzip);
    for (const auto& f : req.headers()) {
      std::string key = lower(f.name);
      if (reserved_request_key(key)) continue;
      if (!is_binary_key(key)) {
        st->client_md.push_back({std::move(key), std::string(f.value)});
        continue;
      }
      // Binary values may be sent as several comma-separated base64 values.
      std::string_view v = f.value;
      for (;;) {
        const auto comma = v.find(',');
        std::string_view part = v.substr(0, comma);
        while (!part.empty() && part.front() == ' ')
          part.remove_prefix(1);
        auto decoded = base64_decode(part);
        if (!decoded) {
          answer_status(res, st->content_type, status_code::internal,
                        "invalid base64 in metadata " + key, opts->gzip);
          return;
        }
        st->client_md.push_back({key, std::move(*decoded)});
        if (comma == std::string_view::npos) break;
        v.remove_prefix(comma + 1);
      }
    }
    std::weak_ptr<detail::call_state> weak = st;
    if (req.body_streamed()) {
      // Messages as their bytes arrive (route_options::stream_body); the reader keeps at most
      // one incomplete message (bounded by max_receive_message_size) plus what the handler has
      // not read yet.
      const std::size_t max_unread = 2 * opts->max_receive_message_size + 5;
      req.on_body([weak, max_unread](std::string_view piece, bool last) {
        auto s = weak.lock();
        if (!s || s->finished) return;
        s->reader.append(piece, last);
        s->deliver();
        if (s->finished) return;
        s->reader.keep_rest();
        // The window goes back as bytes arrive, so a client could send faster than the
        // handler reads: bounded here.
        if (s->reader.unread() > max_unread)
          s->finish({status_code::resource_exhausted, "request messages sent faster than read"});
      });
    } else {
      st->reader.feed(req.body(), true);  // the whole body is here
    }
    res.on_abort([weak] {
      if (auto s = weak.lock()) s->cancel();
    });
    // A timeout of a century or more is no deadline (and would overflow the clock).
    if (timeout && *timeout >= std::chrono::hours(24 * 365 * 100)) timeout.reset();
    if (timeout) {
      st->deadline = std::chrono::steady_clock::now() +
                     std::chrono::duration_cast<std::chrono::steady_clock::duration>(*timeout);
      if (timeout->count() <= 0) {
        st->finish({status_code::deadline_exceeded, "deadline exceeded"});
        return;
      }
      // Rounded up to whole milliseconds; beyond the timer's range (49 days) no timer is set.
      const auto ms = (timeout->count() + 999999) / 1000000;
      if (ms <= std::numeric_limits<unsigned>::max())
        res.set_timeout(static_cast<unsigned>(ms), [weak] {
          if (auto s = weak.lock()) s->expire();
        });
    }
    try {
      h(call(st));
    } catch (const std::exception& e) {
      // The C++ gRPC server's answer to a handler that throws.
      st->finish({status_code::unknown, std::string("handler failed: ") + e.what()});
    }
  };
}

}  // namespace portico::grpc
