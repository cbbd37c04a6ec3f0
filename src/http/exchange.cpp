#include "http/exchange.hpp"

#include <unistd.h>

#include <array>
#include <charconv>
#include <cstring>
#include <stdexcept>

namespace portico {

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]);
    unsigned char y = static_cast<unsigned char>(b[i]);
    if (x != y) {
      if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x + 32);
      if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y + 32);
      if (x != y) return false;
    }
  }
  return true;
}

namespace {
int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

bool percent_decode(std::string_view in, std::string& out) {
  // Most paths have no escape at all: one scan and one copy, no per-character appends.
  const char* pct =
      in.empty() ? nullptr : static_cast<const char*>(std::memchr(in.data(), '%', in.size()));
  if (pct == nullptr) {
    out.assign(in.data(), in.size());
    return true;
  }
  // The output is never longer than the input: decode into place, then trim.
  out.resize(in.size());
  char* o = out.data();
  std::size_t i = static_cast<std::size_t>(pct - in.data());
  std::memcpy(o, in.data(), i);
  o += i;
  for (; i < in.size(); ++i) {
    char c = in[i];
    if (c != '%') {
      *o++ = c;
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = hex_value(in[i + 1]);
    int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    char d = static_cast<char>(hi * 16 + lo);
    if (d == '\0') return false;
    *o++ = d;
    i += 2;
  }
  out.resize(static_cast<std::size_t>(o - out.data()));
  return true;
}

// ---- request ----------------------------------------------------------------------------------

std::string_view request::method() const noexcept {
  return x_->method;
}
std::string_view request::target() const noexcept {
  return x_->target;
}
std::string_view request::path() const noexcept {
  return x_->path;
}
std::string_view request::query() const noexcept {
  return x_->query;
}
int request::version() const noexcept {
  return x_->version;
}
std::span<const header_view> request::headers() const noexcept {
  return x_->headers;
}
std::string_view request::body() const noexcept {
  return x_->body;
}
std::string_view request::remote_ip() const noexcept {
  return x_->remote_ip;
}

void request::on_body(std::function<void(std::string_view, bool)> fn) const {
  x_->on_body_data = std::move(fn);
}

bool request::body_streamed() const noexcept {
  return x_->body_streaming;
}

std::string_view request::header(std::string_view name) const noexcept {
  for (const auto& h : x_->headers) {
    if (iequals(h.name, name)) return h.value;
  }
  return {};
}

std::string_view request::trailer(std::string_view name) const noexcept {
  for (const auto& h : x_->request_trailers) {
    if (iequals(h.name, name)) return h.value;
  }
  return {};
}
std::span<const header_view> request::trailers() const noexcept {
  return x_->request_trailers;
}

std::string_view request::param(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < x_->param_count; ++i) {
    if (detail::short_equal(x_->params[i].name, name)) return x_->params[i].value;
  }
  return {};
}

// ---- response ---------------------------------------------------------------------------------

response::response(detail::exchange* x) noexcept : x_(x) {
  x_->add_ref();
}
response::response(const response& o) noexcept : x_(o.x_) {
  x_->add_ref();
}
response& response::operator=(const response& o) noexcept {
  if (x_ != o.x_) {
    o.x_->add_ref();
    x_->release();
    x_ = o.x_;
  }
  return *this;
}
response::~response() {
  x_->release();
}

namespace detail {
void field_list::add(std::string_view name, std::string_view value) {
  bool upper = false;
  for (char c : name)
    upper |= c >= 'A' && c <= 'Z';
  const auto base = static_cast<std::uint32_t>(text_.size());
  const auto nlen = static_cast<std::uint32_t>(name.size());
  const auto vlen = static_cast<std::uint32_t>(value.size());
  text_.resize(base + nlen + vlen + (upper ? nlen : 0));
  char* p = text_.data() + base;
  std::memcpy(p, name.data(), nlen);
  if (vlen) std::memcpy(p + nlen, value.data(), vlen);
  entry e{nullptr, nullptr, nullptr, base, nlen, base + nlen, vlen, base};
  if (upper) {
    e.lower_off = base + nlen + vlen;
    char* l = p + nlen + vlen;
    for (std::uint32_t i = 0; i < nlen; ++i) {
      const char c = name[i];
      l[i] = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
  }
  entries_.push_back(e);
}

void field_list::add_static(std::string_view name, std::string_view lower, std::string_view value) {
  const auto base = static_cast<std::uint32_t>(text_.size());
  text_.append(value);
  entries_.push_back({name.data(), lower.data(), nullptr, 0,
                      static_cast<std::uint32_t>(name.size()), base,
                      static_cast<std::uint32_t>(value.size()), 0});
}
}  // namespace detail

namespace {
bool is_managed_field(std::string_view name) {
  switch (name.size()) {
    case 4:
      return iequals(name, "date");
    case 10:
      return iequals(name, "connection") || iequals(name, "keep-alive");
    case 14:
      return iequals(name, "content-length");
    case 17:
      return iequals(name, "transfer-encoding");
    default:
      return false;
  }
}

// RFC 9110 §5.1 token characters: the only ones a field name may have.
constexpr std::array<bool, 256> token_chars = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c)
    t[static_cast<std::size_t>(c)] = true;
  for (int c = 'a'; c <= 'z'; ++c)
    t[static_cast<std::size_t>(c)] = t[static_cast<std::size_t>(c - 32)] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~"))
    t[static_cast<unsigned char>(c)] = true;
  return t;
}();

// Names must be tokens; values must not carry CR, LF or NUL (response splitting), nor other
// controls than HTAB, and (a field larger than 4 GiB cannot be indexed) stay below 2^32.
bool valid_field(std::string_view name, std::string_view value) {
  if (name.empty() || name.size() > 0xffff || value.size() > 0xffffffffu) return false;
  for (char c : name)
    if (!token_chars[static_cast<unsigned char>(c)]) return false;
  // Eight octets at a time: a word with no octet below 0x20 and none equal to 0x7f is fine
  // (the classic "has less than" and "has zero" bit tricks); otherwise look octet by octet.
  std::size_t i = 0;
  constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  for (; i + 8 <= value.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, value.data() + i, 8);
    const std::uint64_t below = (w - ones * 0x20) & ~w & highs;
    const std::uint64_t del = w ^ (ones * 0x7f);
    if ((below | ((del - ones) & ~del & highs)) != 0) break;
  }
  for (; i < value.size(); ++i) {
    const auto u = static_cast<unsigned char>(value[i]);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return false;
  }
  return true;
}
}  // namespace

response& response::status(int code) {
  if (!x_->started && code >= 100 && code <= 999) x_->status = code;
  return *this;
}

response& response::header(std::string_view name, std::string_view value) {
  if (x_->started) return *this;
  if (!valid_field(name, value)) throw std::invalid_argument("invalid response header field");
  if (iequals(name, "content-length")) {
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || p != value.data() + value.size())
      throw std::invalid_argument("invalid Content-Length");
    x_->has_content_length = true;
    x_->content_length = v;
    return *this;
  }
  if (is_managed_field(name)) return *this;
  x_->fields.add(name, value);
  return *this;
}

response& response::trailer(std::string_view name, std::string_view value) {
  if (x_->ended || x_->aborted) return *this;
  if (!valid_field(name, value)) throw std::invalid_argument("invalid response trailer field");
  // RFC 9110 §6.5.1: framing, routing and connection fields have no place in trailers.
  if (is_managed_field(name) || iequals(name, "host") || iequals(name, "trailer") ||
      iequals(name, "te") || iequals(name, "upgrade") || iequals(name, "content-type") ||
      iequals(name, "content-encoding") || iequals(name, "content-range"))
    throw std::invalid_argument("field not allowed in trailers");
  x_->trailers.add(name, value);
  return *this;
}

bool response::push(std::string_view path, std::span<const header_view> headers) {
  if (x_->aborted || x_->ended) return false;
  auto* o = x_->owner();
  return o != nullptr && o->exchange_push(*x_, path, headers);
}

void response::reset() {
  if (x_->aborted) return;
  if (auto* o = x_->owner()) {
    o->exchange_reset(*x_, false);
  } else {
    x_->abort();
  }
}

void response::send(std::string body) {
  if (x_->started || x_->aborted) return;
  x_->started = x_->ended = true;
  x_->kind = detail::body_kind::memory;
  x_->body_memory = std::move(body);
  if (auto* o = x_->owner()) o->exchange_updated(*x_);
}

void response::send_static(std::string_view body) {
  if (x_->started || x_->aborted) return;
  x_->started = x_->ended = true;
  x_->kind = detail::body_kind::view;
  x_->body_view = body;
  if (auto* o = x_->owner()) o->exchange_updated(*x_);
}

void response::send_file(int fd, std::uint64_t offset, std::uint64_t length) {
  if (x_->started || x_->aborted) {
    if (x_->owns_file) ::close(fd);
    return;
  }
  x_->started = x_->ended = true;
  x_->kind = detail::body_kind::file;
  x_->file_fd = fd;
  x_->file_offset = offset;
  x_->file_length = length;
  if (auto* o = x_->owner()) o->exchange_updated(*x_);
}

bool response::write(std::string_view data) {
  if (x_->ended || x_->aborted) return false;
  if (x_->started && x_->kind != detail::body_kind::stream) return false;
  x_->started = true;
  x_->kind = detail::body_kind::stream;
  x_->body_memory.append(data);
  auto* o = x_->owner();
  if (!o) return false;
  o->exchange_updated(*x_);
  if (x_->aborted) return false;
  if (o->exchange_buffered(*x_) > 0 && x_->drain_wanted) return false;
  return !x_->drain_wanted;
}

void response::end() {
  if (x_->ended || x_->aborted) return;
  if (x_->started && x_->kind != detail::body_kind::stream) return;
  if (!x_->started) {
    x_->kind = detail::body_kind::stream;
    x_->started = true;
  }
  x_->ended = true;
  if (auto* o = x_->owner()) o->exchange_updated(*x_);
}

void response::on_drain(std::function<void()> fn) {
  x_->on_drain = std::move(fn);
}
void response::on_abort(std::function<void()> fn) {
  x_->on_abort = std::move(fn);
}

std::size_t response::buffered_amount() const noexcept {
  auto* o = x_->owner();
  return o ? o->exchange_buffered(*x_) : 0;
}
bool response::aborted() const noexcept {
  return x_->aborted;
}
bool response::ended() const noexcept {
  return x_->ended;
}

void response::post(std::function<void()> fn) const {
  // The home (the worker) is set before the handler runs and outlives the connection, so
  // this reads nothing the worker changes meanwhile (owner() is cleared when the connection
  // goes away).
  if (auto* h = x_->home())
    h->post(std::move(fn));
  else if (auto* o = x_->owner())
    o->post(std::move(fn));
}
void response::set_timeout(unsigned ms, std::function<void()> fn) const {
  if (auto* o = x_->owner()) o->set_timeout(ms, std::move(fn));
}
const request& response::req() const noexcept {
  return x_->req();
}

}  // namespace portico

namespace portico::detail {

exchange& access(portico::response& res) noexcept {
  return *res.x_;
}

exchange::~exchange() {
  close_file();
}

void exchange::close_file() noexcept {
  if (file_fd >= 0 && owns_file) ::close(file_fd);
  file_fd = -1;
  owns_file = true;
  file_keepalive.reset();
}

void exchange::detach() noexcept {
  owner_ = nullptr;
  // Most handlers set none of the callbacks: nothing to move out and destroy.
  if (!on_drain && !on_abort && !on_body_data) return;
  auto drain = std::move(on_drain);
  auto abort_fn = std::move(on_abort);
  auto body_fn = std::move(on_body_data);
  on_drain = nullptr;
  on_abort = nullptr;
  on_body_data = nullptr;
  // drain and abort_fn are destroyed here: whatever they captured lets go of this exchange
  // (the caller still holds its own reference).
}

void exchange::abort() noexcept {
  if (aborted) return;
  aborted = true;
  if (on_abort) {
    auto fn = std::move(on_abort);
    on_abort = nullptr;
    fn();
  }
}

void exchange::add_request_trailer(std::string_view name, std::string_view value) {
  // The session's limits bound the total (HTTP/1.1 trailer section, HTTP/2 field list size).
  rt_fields_.add(name, value);
}

void exchange::publish_request_trailers() {
  rt_views_.clear();
  for (const response_field f : rt_fields_)
    rt_views_.push_back({f.name, f.value});
  request_trailers = rt_views_;
}

void exchange::reset() noexcept {
  method = target = path = query = remote_ip = {};
  version = 11;
  headers = {};
  body = {};
  body_storage.clear();
  request_trailers = {};
  rt_fields_.clear();
  rt_views_.clear();
  param_count = 0;
  head_request = false;
  protocol = {};
  body_streaming = false;
  on_body_data = nullptr;
  dispatch_ns = 0;
  status = 200;
  fields.clear();
  trailers.clear();
  has_content_length = false;
  content_length = 0;
  kind = body_kind::none;
  body_memory.clear();
  body_view = {};
  close_file();
  file_offset = file_length = 0;
  parts.clear();
  started = ended = aborted = false;
  on_drain = nullptr;
  on_abort = nullptr;
  drain_wanted = false;
  owner_ = nullptr;
}

void exchange::release() noexcept {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) > 1) return;
  if (home_ && recycler_ && !home_->on_home_thread()) {
    // The last handle went away on another thread: recycle on the home thread, whose pool
    // this is. (Without a recycler the exchange is deleted, which any thread may do.)
    refs_.store(1, std::memory_order_relaxed);
    home_->post([this] { release(); });
    return;
  }
  if (recycler_) {
    recycler_->recycle(this);
  } else {
    delete this;
  }
}

}  // namespace portico::detail
