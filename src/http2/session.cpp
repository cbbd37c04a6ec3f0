// HTTP/2 server connection state machine (RFC 9113 §3.4, §5, §6, §8; RFC 7540 §3.2 for h2c;
// RFC 8441 for extended CONNECT; RFC 9218 for priorities). Comments cite the rule each branch
// implements; docs/http2.md "Connection and streams" summarises them.
#include "http2/session.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#include "http/status.hpp"
#include "http2/frame_writer.hpp"

namespace portico::http2 {
namespace {

constexpr std::array<std::byte, 8> shutdown_ping = {std::byte{'p'}, std::byte{'o'}, std::byte{'r'},
                                                    std::byte{'t'}, std::byte{'i'}, std::byte{'c'},
                                                    std::byte{'o'}, std::byte{'!'}};

std::string_view as_text(std::span<const std::byte> b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

void append_number(std::string& s, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  s.append(buf, r.ptr);
}

bool parse_u64(std::string_view v, std::uint64_t& out) noexcept {
  if (v.empty()) return false;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() && p == v.data() + v.size();
}

// RFC 9113 §8.2.2: fields that are connection-specific in HTTP/1.1.
constexpr bool connection_specific(std::string_view n) noexcept {
  return n == "connection" || n == "keep-alive" || n == "proxy-connection" ||
         n == "transfer-encoding" || n == "upgrade";
}

// RFC 9113 §8.2.1: "A field name MUST NOT contain characters in the ranges 0x00-0x20,
// 0x41-0x5a, or 0x7f-0xff"; "field names MUST NOT include a colon" (pseudo-headers excepted:
// the caller strips the leading colon first).
constexpr std::array<bool, 256> name_ok = [] {
  std::array<bool, 256> t{};
  for (int c = 0x21; c < 0x7f; ++c)
    t[static_cast<std::size_t>(c)] = !(c >= 0x41 && c <= 0x5a) && c != ':';
  return t;
}();

bool valid_name(std::string_view n) noexcept {
  if (n.empty()) return false;
  bool ok = true;
  for (char c : n)
    ok &= name_ok[static_cast<unsigned char>(c)];
  return ok;
}

// RFC 9113 §8.2.1: values MUST NOT contain NUL, LF or CR, nor start or end with SP or HTAB.
bool valid_value(std::string_view v) noexcept {
  if (v.empty()) return true;
  if (v.front() == ' ' || v.front() == '\t' || v.back() == ' ' || v.back() == '\t') return false;
  // Eight octets at a time: "has a zero octet" of the word, of it XOR "\r\r..", XOR "\n\n..".
  constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  auto has_zero = [](std::uint64_t w) { return (w - ones) & ~w & highs; };
  std::size_t i = 0;
  for (; i + 8 <= v.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, v.data() + i, 8);
    if (has_zero(w) | has_zero(w ^ (ones * '\r')) | has_zero(w ^ (ones * '\n'))) return false;
  }
  for (; i < v.size(); ++i)
    if (v[i] == '\0' || v[i] == '\r' || v[i] == '\n') return false;
  return true;
}

// RFC 9113 §8.2.1 / §8.2.2: the fields of a response section as HTTP/2 sends them: names in
// lowercase, connection-specific fields and TE left out.
void append_sendable(std::vector<hpack::header_field>& list,
                     const portico::detail::field_list& fields) {
  for (const auto f : fields)
    if (!connection_specific(f.lower) && f.lower != "te") list.push_back({f.lower, f.value});
}

std::string lowercase(std::string_view s) {
  std::string r(s);
  for (char& c : r)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return r;
}

// RFC 9113 §8.2.1: the syntax every request field must have (the decoder runs it once per
// dynamic table entry, so references to the entry are not checked again). Pseudo-header names
// are matched against the defined ones instead. Accepts every static table entry.
bool field_syntax_ok(std::string_view name, std::string_view value) noexcept {
  return valid_value(value) && !name.empty() && (name.front() == ':' || valid_name(name));
}

// The names the request checker treats specially, found once per field: from the HPACK static
// index when the decoder knows it, else from the string.
enum class name_kind : std::uint8_t {
  other,
  authority,  // the pseudo-header fields (RFC 9113 §8.3.1, RFC 8441 §4)
  method,
  path,
  scheme,
  protocol,
  bad_pseudo,  // any other name starting with ':'
  te,
  content_length,
  cookie,
  host,
  connection_specific,  // §8.2.2
};

constexpr bool is_pseudo(name_kind k) noexcept {
  return k >= name_kind::authority && k <= name_kind::bad_pseudo;
}

constexpr name_kind classify(std::string_view n) noexcept {
  if (!n.empty() && n.front() == ':') {
    if (n == ":authority") return name_kind::authority;
    if (n == ":method") return name_kind::method;
    if (n == ":path") return name_kind::path;
    if (n == ":scheme") return name_kind::scheme;
    if (n == ":protocol") return name_kind::protocol;
    return name_kind::bad_pseudo;
  }
  switch (n.size()) {
    case 2:
      return n == "te" ? name_kind::te : name_kind::other;
    case 4:
      return n == "host" ? name_kind::host : name_kind::other;
    case 6:
      return n == "cookie" ? name_kind::cookie : name_kind::other;
    case 14:
      return n == "content-length" ? name_kind::content_length : name_kind::other;
    default:
      return connection_specific(n) ? name_kind::connection_specific : name_kind::other;
  }
}

// classify() of each static table name, by HPACK index (0: unused).
constexpr std::array<name_kind, hpack::static_table_size + 1> static_kinds = [] {
  std::array<name_kind, hpack::static_table_size + 1> t{};
  for (std::size_t i = 0; i < hpack::static_table_size; ++i)
    t[i + 1] = classify(hpack::static_table[i].name);
  return t;
}();

name_kind kind_of(const hpack::header_field& f) noexcept {
  return f.static_name != 0 ? static_kinds[f.static_name] : classify(f.name);
}

// What the request field section checker (RFC 9113 §8.3.1) tracks while fields arrive.
struct request_check {
  std::string_view error;  // first malformation (static text); empty when fine
  bool regular_seen = false;
  bool host_seen = false;
  bool trailers = false;
  bool connect_protocol_enabled = false;
  // Offsets into the stream's field_bytes (which grows while fields arrive, so no views).
  std::optional<std::pair<std::uint32_t, std::uint32_t>> method, scheme, path, authority, protocol;
};

}  // namespace

bool session::token_bucket::take(std::uint32_t burst, std::uint32_t rate,
                                 std::uint64_t now) noexcept {
  const std::uint64_t cap = static_cast<std::uint64_t>(burst) * 1000;
  if (!primed) {
    primed = true;
    milli = cap;
    last = now;
  }
  if (now > last) {
    // `rate` tokens per second = `rate` milli-tokens per millisecond.
    milli = std::min(cap, milli + (now - last) * rate);
    last = now;
  }
  if (milli < 1000) return false;
  milli -= 1000;
  return true;
}

// ---- construction ------------------------------------------------------------------------------

session::session(const session_config& cfg, session_events& ev, body_reader* reader,
                 http::date_cache& date, std::string_view remote_ip)
    : cfg_(cfg),
      events_(ev),
      reader_(reader),
      date_(date),
      remote_ip_(remote_ip),
      frames_(reader_limits{default_max_frame_size, cfg.max_field_block}),
      // A name or value may be as long as the header list we announce (RFC 9113 §6.5.2), at
      // least 16 KiB: a longer string is a connection error (COMPRESSION_ERROR) that would end
      // every stream of a client that kept to our SETTINGS_MAX_HEADER_LIST_SIZE; a list over
      // it is the stream-level 431.
      decoder_(hpack::decoder_limits{default_header_table_size, cfg.max_header_list_size,
                                     std::max<std::size_t>(16 * 1024, cfg.max_header_list_size)}) {
  decoder_.set_field_check(field_syntax_ok);
}

session::~session() {
  abort_all();
}

void session::abort_all() noexcept {
  aborted_ = true;
  pushed_active_ = 0;
  while (!streams_.empty()) {
    stream* s = streams_.take_front();
    s->abort();
    s->detach();
    s->release();
  }
  for (auto& c : out_)
    release_chunk(c);
  out_.clear();
  for (auto& k : completions_)
    k.s->release();
  completions_.clear();
  out_bytes_ = 0;
  handed_out_ = 0;
}

void session::queue_preface() {
  // RFC 9113 §3.4: "The server connection preface consists of a potentially empty SETTINGS
  // frame that MUST be the first frame the server sends in the HTTP/2 connection."
  std::vector<setting> s = {
      {setting_id::max_concurrent_streams, cfg_.max_concurrent_streams},
      {setting_id::initial_window_size, std::min(cfg_.initial_window_size, max_window_size)},
      {setting_id::max_frame_size,
       std::clamp(cfg_.max_frame_size, min_max_frame_size, max_max_frame_size)},
      {setting_id::max_header_list_size, cfg_.max_header_list_size},
      {setting_id::no_rfc7540_priorities, 1},  // RFC 9218 §2.1: we schedule by RFC 9218
  };
  if (cfg_.header_table_size != default_header_table_size)
    s.push_back({setting_id::header_table_size, cfg_.header_table_size});
  if (cfg_.enable_connect_protocol) s.push_back({setting_id::enable_connect_protocol, 1});
  append_settings(control(), s);
  settings_sent_at_ = now_;
  // RFC 9113 §6.9.2: the connection window starts at 65535 and only WINDOW_UPDATE changes it.
  if (cfg_.connection_window > default_initial_window_size) {
    const std::uint32_t inc =
        std::min(cfg_.connection_window, max_window_size) - default_initial_window_size;
    append_frame(control(), 0, window_update_frame{inc});
    conn_recv_window_ += inc;
  }
  started_ = true;
  notify_output();
}

void session::start(std::uint64_t now) {
  now_ = now;
  if (!started_) queue_preface();
}

std::optional<std::string> session::decode_http2_settings(std::string_view t) {
  // RFC 7540 §3.2.1: token68 of the base64url encoding of a SETTINGS payload; "=" padding may
  // be absent (RFC 4648 §5).
  while (!t.empty() && t.back() == '=')
    t.remove_suffix(1);
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : t) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '-')
      v = 62;
    else if (c == '_')
      v = 63;
    else
      return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (out.size() % 6 != 0) return std::nullopt;
  for (const setting s : settings_view(std::as_bytes(std::span(out.data(), out.size()))))
    if (check_setting(s) != errc::no_error) return std::nullopt;
  return out;
}

void session::start_upgraded(const upgrade_request& req, std::span<const std::byte> settings,
                             std::uint64_t now) {
  now_ = now;
  // RFC 7540 §3.2.1: the HTTP2-Settings payload is decoded "as it would any other SETTINGS
  // frame"; the 101 response is its acknowledgement.
  for (const setting s : settings_view(settings))
    apply_peer_setting(s);
  if (!started_) queue_preface();
  if (failed_) return;
  // RFC 7540 §3.2: "The HTTP/1.1 request that is sent prior to upgrade is assigned a stream
  // identifier of 1 ... with default priority values. Stream 1 is implicitly "half-closed"
  // from the client toward the server".
  stream* s = open_stream(1);
  last_peer_stream_ = 1;
  s->state = stream_state::half_closed_remote;
  auto add = [s](std::string_view name, std::string_view value) {
    return s->append_field(name, value);
  };
  stream::field_ref m = add("", req.method);
  s->method_off = m.value_off;
  s->method_len = m.value_len;
  stream::field_ref p = add("", req.target);
  s->path_off = p.value_off;
  s->path_len = p.value_len;
  stream::field_ref sc = add("", "http");  // h2c: cleartext (RFC 7540 §3.2)
  s->scheme_off = sc.value_off;
  s->scheme_len = sc.value_len;
  for (const auto& h : req.headers) {
    const std::string name = lowercase(h.name);
    // RFC 9113 §8.2.2 and RFC 7540 §3.2.1: hop-by-hop fields of the upgrade are not part of
    // the HTTP/2 request.
    if (connection_specific(name) || name == "http2-settings" || name == "te") continue;
    s->field_refs.push_back(add(name, h.value));
  }
  s->body_storage.assign(req.body);
  s->body_received = req.body.size();
  s->head_complete = true;
  s->publish_headers();
  s->prio = parse_priority(s->req().header("priority"));
  finish_request(*s);
}

// ---- input
// ---------------------------------------------------------------------------------------

bool session::wants_input() const noexcept {
  return !failed_ && !aborted_ && !peer_eof_ && out_bytes_ <= cfg_.output_high_water;
}

void session::input_eof() noexcept {
  peer_eof_ = true;
}

std::size_t session::consume(std::span<const std::byte> in, std::uint64_t now) {
  now_ = std::max(now_, now);
  if (!started_) queue_preface();
  std::size_t used = 0;
  in_consume_ = true;
  while (wants_input() && (used < in.size() || !stash_.empty())) {
    if (phase_ == input_phase::preface) {
      // RFC 9113 §3.4: the client connection preface, 24 fixed octets.
      const std::size_t take = std::min(client_preface.size() - preface_seen_, in.size() - used);
      if (as_text(in.subspan(used, take)) != client_preface.substr(preface_seen_, take)) {
        used += take;
        connection_error(errc::protocol_error, "invalid connection preface");
        break;
      }
      used += take;
      preface_seen_ += take;
      if (preface_seen_ == client_preface.size()) phase_ = input_phase::first_settings;
      continue;
    }
    read_result r;
    if (!stash_.empty()) {
      r = frames_.read(stash_);
      if (r.status == read_status::need_more) {
        const std::size_t take = std::min(r.needed, in.size() - used);
        if (take == 0) break;
        stash_.insert(stash_.end(), in.begin() + static_cast<std::ptrdiff_t>(used),
                      in.begin() + static_cast<std::ptrdiff_t>(used + take));
        used += take;
        continue;
      }
      process_frame(r);
      stash_.clear();  // the stash holds exactly one frame (only what it needed was added)
      continue;
    }
    r = frames_.read(in.subspan(used));
    if (r.status == read_status::need_more) {
      stash_.assign(in.begin() + static_cast<std::ptrdiff_t>(used), in.end());
      used = in.size();
      break;
    }
    if (r.status != read_status::connection_error) used += r.consumed;
    process_frame(r);
  }
  in_consume_ = false;
  if (failed_) used = in.size();  // nothing more will be read
  notify_output();
  return used;
}

void session::process_frame(const read_result& r) {
  if (r.status == read_status::connection_error) {
    connection_error(r.error.wire_code(), r.error.detail);
    return;
  }
  if (failed_) return;
  const frame_view& f = r.frame;
  // RFC 9113 §3.4: "the SETTINGS frame MUST be the first frame the client sends"; anything
  // else is a connection error of type PROTOCOL_ERROR (§3.4: "MUST be treated as").
  if (phase_ == input_phase::first_settings) {
    const auto* s = f.get<settings_frame>();
    if (f.header.type != frame_type::settings || !s || s->ack) {
      connection_error(errc::protocol_error, "first frame is not SETTINGS");
      return;
    }
    phase_ = input_phase::frames;
  }
  if (r.status == read_status::ignore) return;  // RFC 9113 §5.5
  if (r.status == read_status::stream_error) {
    // A HEADERS frame whose stream depends on itself still carries a field block that must be
    // decoded (RFC 9113 §4.3); every other stream error only resets.
    if (const auto* h = f.get<headers_frame>()) {
      on_headers_frame(f, *h, true);
      return;
    }
    // RFC 9113 §6.4: "RST_STREAM frames MUST NOT be sent for a stream in the "idle" state", and
    // §5.1 (idle): WINDOW_UPDATE there is a connection PROTOCOL_ERROR. A stream error on an idle
    // stream (WINDOW_UPDATE 0, a bad PRIORITY) is therefore a connection error (§5.4.1 allows).
    if (!find(r.error.stream_id) && r.error.stream_id > last_peer_stream_) {
      connection_error(r.error.wire_code(), r.error.detail);
      return;
    }
    reset_id(r.error.stream_id, r.error.wire_code());
    return;
  }
  switch (f.header.type) {
    case frame_type::data:
      on_data(f, *f.get<data_frame>());
      break;
    case frame_type::headers:
      on_headers_frame(f, *f.get<headers_frame>(), false);
      break;
    case frame_type::continuation:
      on_continuation(*f.get<continuation_frame>());
      break;
    case frame_type::priority:
      // RFC 9113 §5.3.2: deprecated, validated by the reader; allowed in any stream state
      // (§5.1). Mapped onto the RFC 9218 scheduler.
      on_priority(f.header.stream_id, f.get<priority_frame>()->priority);
      break;
    case frame_type::rst_stream:
      on_rst_stream(f.header.stream_id, *f.get<rst_stream_frame>());
      break;
    case frame_type::settings:
      on_settings(*f.get<settings_frame>());
      break;
    case frame_type::push_promise:
      // RFC 9113 §8.4: "A client cannot push. Thus, servers MUST treat the receipt of a
      // PUSH_PROMISE frame as a connection error of type PROTOCOL_ERROR."
      connection_error(errc::protocol_error, "PUSH_PROMISE from a client");
      break;
    case frame_type::ping:
      on_ping(*f.get<ping_frame>());
      break;
    case frame_type::goaway:
      // RFC 9113 §6.8: the client opens no more streams; ours complete.
      peer_goaway_ = true;
      break;
    case frame_type::window_update:
      on_window_update(f.header.stream_id, *f.get<window_update_frame>());
      break;
    case frame_type::priority_update:
      on_priority_update(*f.get<priority_update_frame>());
      break;
  }
}

stream* session::find(std::uint32_t id) const noexcept {
  return streams_.find(id);
}

stream_state session::state_of(std::uint32_t id) const noexcept {
  if (stream* s = find(id)) return s->state;
  return is_idle(id) ? stream_state::idle : stream_state::closed;
}

void session::remember_reset(std::uint32_t id) {
  resets_.push_back(id);
  while (resets_.size() > cfg_.remembered_resets)
    resets_.pop_front();
}

bool session::recently_reset(std::uint32_t id) const noexcept {
  return std::find(resets_.begin(), resets_.end(), id) != resets_.end();
}

bool session::recently_closed(std::uint32_t id) const noexcept {
  return std::find(closed_.begin(), closed_.end(), id) != closed_.end();
}

void session::glitch() {
  if (!glitch_bucket_.take(cfg_.glitch_burst, cfg_.glitch_rate, now_))
    connection_error(errc::enhance_your_calm, "too many frames that do no work");
}

void session::count_reset() {
  // CVE-2023-44487 (rapid reset): streams that end before they are answered cost the server
  // work the client does not pay for. Bounded by a token bucket.
  if (!resets_bucket_.take(cfg_.reset_burst, cfg_.reset_rate, now_))
    connection_error(errc::enhance_your_calm, "too many stream resets");
}

void session::connection_error(errc code, std::string_view detail) {
  if (failed_ || aborted_) return;
  // RFC 9113 §5.4.1: GOAWAY with the last stream id we processed, then close.
  queue_goaway(last_peer_stream_, code, detail);
  failed_ = true;
  error_code_ = code;
  pushed_active_ = 0;
  while (!streams_.empty()) {
    stream* s = streams_.take_front();
    s->state = stream_state::closed;
    s->abort();
    s->detach();
    s->release();
  }
}

void session::queue_goaway(std::uint32_t last_id, errc code, std::string_view detail) {
  append_frame(control(),
               goaway_frame{last_id, code, std::as_bytes(std::span(detail.data(), detail.size()))});
  notify_output();
}

void session::reset_id(std::uint32_t id, errc code) {
  if (stream* s = find(id)) {
    reset_stream(*s, code);
    return;
  }
  append_frame(control(), id, rst_stream_frame{code});
  remember_reset(id);
  count_reset();
  notify_output();
}

void session::reset_stream(stream& s, errc code) {
  // RFC 9113 §5.4.2: RST_STREAM; the stream is closed for us, late frames are ignored (§5.1).
  append_frame(control(), s.id, rst_stream_frame{code});
  remember_reset(s.id);
  s.abort();
  close_stream(s);  // may free s
  notify_output();
  if (code != errc::no_error) count_reset();
}

void session::close_stream(stream& s) noexcept {
  s.state = stream_state::closed;
  s.detach();
  if (streams_.erase(s.id, &s)) {
    if (s.pushed) --pushed_active_;
    body_bytes_ -= std::min<std::uint64_t>(body_bytes_, s.body_storage.size());
    if (!recently_reset(s.id)) {
      closed_.push_back(s.id);
      while (closed_.size() > cfg_.remembered_resets)
        closed_.pop_front();
    }
    s.release();
  }
}

stream* session::open_stream(std::uint32_t id) {
  stream* s = pool_ ? pool_->acquire(id) : new stream(id);
  s->add_ref();
  s->attach(this);
  s->remote_ip = remote_ip_;
  s->version = 20;
  s->state = stream_state::open;
  s->send_window = peer_.initial_window_size;
  s->recv_target = std::min(cfg_.initial_window_size, max_window_size);
  s->recv_window = s->recv_target;
  s->last_window_update = now_;
  streams_.emplace(id, s);
  return s;
}

// ---- HEADERS, CONTINUATION and the request head
// --------------------------------------------------

void session::on_headers_frame(const frame_view& f, const headers_frame& h, bool self_dependent) {
  if (h.fragment.empty() && !h.end_headers) glitch();
  if (failed_) return;
  block_priority_ = h.priority;
  if (h.end_headers) {
    on_field_block(f.header.stream_id, h.fragment, h.end_stream, self_dependent);
    return;
  }
  // RFC 9113 §4.3: the field block continues in CONTINUATION frames (the reader keeps them
  // contiguous and bounds the block's size).
  block_.assign(h.fragment.begin(), h.fragment.end());
  block_stream_ = f.header.stream_id;
  block_end_stream_ = h.end_stream;
  block_self_dependent_ = self_dependent;
}

void session::on_continuation(const continuation_frame& c) {
  if (c.fragment.empty() && !c.end_headers) glitch();
  if (failed_) return;
  block_.insert(block_.end(), c.fragment.begin(), c.fragment.end());
  if (!c.end_headers) return;
  std::vector<std::byte> block = std::move(block_);
  block_.clear();
  on_field_block(block_stream_, block, block_end_stream_, block_self_dependent_);
  block_stream_ = 0;
}

void session::on_field_block(std::uint32_t id, std::span<const std::byte> block, bool end_stream,
                             bool self_dependent) {
  stream* s = find(id);
  const bool new_stream = !s && id > last_peer_stream_;
  // RFC 9113 §4.3: every field block is decoded, whatever happens to its stream, to keep the
  // HPACK context in step. Requests we will not process go to a sink that drops the fields.
  auto ignore_block = [&]() -> bool {
    std::error_code ec = decoder_.decode(block, [](const hpack::header_field&) {});
    if (hpack::is_compression_error(ec)) {
      connection_error(errc::compression_error, "HPACK decoding failed");
      return false;
    }
    return true;
  };

  if (!s && !new_stream) {
    if (!ignore_block()) return;
    // RFC 9113 §5.1 (closed): frames on a stream we reset are ignored; otherwise HEADERS on a
    // closed stream is a connection error of type STREAM_CLOSED.
    if (recently_reset(id)) {
      glitch();
      return;
    }
    // §5.1 (closed): HEADERS on a stream that was used and closed may be STREAM_CLOSED;
    // §5.1.1: a new stream whose id is not above every earlier one is PROTOCOL_ERROR.
    if (recently_closed(id))
      connection_error(errc::stream_closed, "HEADERS on a closed stream");
    else
      connection_error(errc::protocol_error, "stream id not increasing");
    return;
  }

  if (s && s->pushed) {
    // RFC 9113 §5.1.1: client streams are odd; §5.1 (reserved local): HEADERS is a connection
    // error.
    if (ignore_block()) connection_error(errc::protocol_error, "HEADERS on a pushed stream");
    return;
  }
  if (s) {
    // A second field section: trailers (RFC 9113 §8.1). They are checked (no pseudo-header,
    // §8.1; field rules, §8.2) and handed to the request (request::trailer); the decoder's
    // field list limit bounds them.
    bool bad = false;
    // Only trailers that can end the request are kept (anything else resets the stream below).
    const bool keep = s->state == stream_state::open && end_stream && !self_dependent;
    std::error_code tec = decoder_.decode(block, [&](const hpack::header_field& fld) {
      if (fld.name.empty() || fld.name.front() == ':' ||
          (!fld.checked && !field_syntax_ok(fld.name, fld.value)) ||
          kind_of(fld) == name_kind::connection_specific)
        bad = true;
      if (keep && !bad) s->add_request_trailer(fld.name, fld.value);
    });
    if (hpack::is_compression_error(tec)) {
      connection_error(errc::compression_error, "HPACK decoding failed");
      return;
    }
    if (s->state == stream_state::half_closed_remote || s->state == stream_state::closed) {
      // RFC 9113 §5.1 (half-closed remote): frames other than WINDOW_UPDATE, PRIORITY and
      // RST_STREAM are a stream error of type STREAM_CLOSED.
      reset_stream(*s, errc::stream_closed);
      return;
    }
    if (!end_stream) {
      // RFC 9113 §8.1: trailers end the stream; a HEADERS without END_STREAM after the
      // request head makes the request malformed (§8.1.1: stream PROTOCOL_ERROR).
      reset_stream(*s, errc::protocol_error);
      return;
    }
    if (self_dependent || bad) {
      reset_stream(*s, errc::protocol_error);
      return;
    }
    s->publish_request_trailers();
    finish_request(*s);
    return;
  }

  // A new stream. RFC 9113 §5.1.1: client streams are odd; ids only go up.
  if (id % 2 == 0) {
    connection_error(errc::protocol_error, "client stream id not odd");
    return;
  }
  last_peer_stream_ = id;
  if (shutdown_phase_ == 2 && id > goaway_last_id_) {
    // RFC 9113 §6.8: streams above the last id of our GOAWAY are ignored.
    ignore_block();
    return;
  }
  if (streams_.size() - pushed_active_ >= cfg_.max_concurrent_streams) {
    // RFC 9113 §5.1.2: "An endpoint that receives a HEADERS frame that causes its advertised
    // concurrent stream limit to be exceeded MUST treat this as a stream error of type
    // PROTOCOL_ERROR or REFUSED_STREAM." REFUSED_STREAM tells the client it may retry.
    if (!ignore_block()) return;
    reset_id(id, errc::refused_stream);
    return;
  }

  s = open_stream(id);
  request_check chk;
  chk.connect_protocol_enabled = cfg_.enable_connect_protocol;
  std::uint32_t cookies = 0;
  auto sink = [&](const hpack::header_field& fld) {
    if (!chk.error.empty()) return;
    const std::string_view name = fld.name;
    const std::string_view value = fld.value;
    // RFC 9113 §8.2.1; a field from a table entry was checked when the entry was made.
    if (!fld.checked && !valid_value(value)) {
      chk.error = "invalid field value";
      return;
    }
    const name_kind kind = kind_of(fld);
    if (is_pseudo(kind)) {
      // RFC 9113 §8.3: pseudo-header fields come before regular ones, each at most once; only
      // the defined request pseudo-headers are allowed.
      if (chk.regular_seen) {
        chk.error = "pseudo-header after a regular field";
        return;
      }
      std::optional<std::pair<std::uint32_t, std::uint32_t>>* slot = nullptr;
      std::uint32_t* off = nullptr;
      std::uint32_t* len = nullptr;
      switch (kind) {
        case name_kind::path:
          slot = &chk.path, off = &s->path_off, len = &s->path_len;
          break;
        case name_kind::method:
          slot = &chk.method, off = &s->method_off, len = &s->method_len;
          break;
        case name_kind::scheme:
          slot = &chk.scheme, off = &s->scheme_off, len = &s->scheme_len;
          break;
        case name_kind::protocol:
          if (chk.connect_protocol_enabled)
            slot = &chk.protocol, off = &s->protocol_off, len = &s->protocol_len;
          break;
        case name_kind::authority:
          slot = &chk.authority;
          break;
        default:
          break;
      }
      if (!slot) {
        chk.error = "unknown or response pseudo-header";
        return;
      }
      if (slot->has_value()) {
        chk.error = "duplicate pseudo-header";
        return;
      }
      const stream::field_ref r = s->append_value({}, value);  // only the value is kept
      *slot = std::pair{r.value_off, r.value_len};
      if (off) {
        *off = r.value_off;
        *len = r.value_len;
      }
      return;
    }
    chk.regular_seen = true;
    if (!fld.checked && !valid_name(name)) {
      chk.error = "invalid field name";
      return;
    }
    switch (kind) {
      case name_kind::connection_specific:
        chk.error = "connection-specific field";
        return;
      case name_kind::te:
        // RFC 9113 §8.2.2: "The only exception to this is the TE header field, which MAY be
        // present in an HTTP/2 request; when it is, it MUST NOT contain any value other than
        // "trailers"."
        if (value != "trailers") {
          chk.error = "TE other than trailers";
          return;
        }
        break;
      case name_kind::content_length: {
        std::uint64_t n = 0;
        if (!parse_u64(value, n) ||
            (s->request_has_content_length && n != s->request_content_length)) {
          chk.error = "invalid content-length";
          return;
        }
        s->request_has_content_length = true;
        s->request_content_length = n;
        break;
      }
      case name_kind::cookie:
        ++cookies;
        break;
      case name_kind::host:
        chk.host_seen = true;
        break;
      default:
        break;
    }
    // A name from the static table is referred to, not copied.
    s->field_refs.push_back(
        fld.static_name != 0 ? s->append_value(hpack::static_table[fld.static_name - 1].name, value)
                             : s->append_field(name, value));
  };
  std::error_code ec = decoder_.decode(block, sink);
  if (hpack::is_compression_error(ec)) {
    connection_error(errc::compression_error, "HPACK decoding failed");
    return;
  }
  s->state = end_stream ? stream_state::half_closed_remote : stream_state::open;
  if (ec == hpack::errc::header_list_too_large) {
    // RFC 9113 §8.2.3/§10.5.1 and RFC 6585 §5: the head is too large; answer 431.
    answer(*s, 431, "request header list too large");
    return;
  }
  if (self_dependent) {
    reset_stream(*s, errc::protocol_error);
    return;
  }
  // RFC 9113 §8.3.1: the required pseudo-headers. Views are taken now that field_bytes is
  // complete; the appends below (host, cookie) use offsets.
  auto view = [&](const std::optional<std::pair<std::uint32_t, std::uint32_t>>& o)
      -> std::optional<std::string_view> {
    if (!o) return std::nullopt;
    return std::string_view(s->field_bytes).substr(o->first, o->second);
  };
  const auto method = view(chk.method), scheme = view(chk.scheme), path = view(chk.path),
             authority = view(chk.authority), protocol = view(chk.protocol);
  if (chk.error.empty()) {
    if (!method || method->empty()) {
      chk.error = "missing :method";
    } else if (*method == "CONNECT" && !protocol) {
      // RFC 9113 §8.5: CONNECT carries :authority only.
      if (scheme || path || !authority || authority->empty()) chk.error = "malformed CONNECT";
    } else if (protocol && *method != "CONNECT") {
      chk.error = ":protocol without CONNECT";  // RFC 8441 §4
    } else if (!scheme || scheme->empty() || !path || path->empty()) {
      chk.error = "missing :scheme or :path";
    } else if (*path == "*" ? *method != "OPTIONS"
                            : ((*scheme == "http" || *scheme == "https") && path->front() != '/')) {
      chk.error = "invalid :path";
    }
  }
  if (chk.error.empty() && end_stream && s->request_has_content_length &&
      s->request_content_length != 0)
    chk.error = "content-length without body";  // RFC 9113 §8.1.1
  if (!chk.error.empty()) {
    // RFC 9113 §8.1.1: "Malformed requests or responses that are detected MUST be treated as a
    // stream error of type PROTOCOL_ERROR."
    reset_stream(*s, errc::protocol_error);
    return;
  }
  const bool connect_plain = *method == "CONNECT" && !path;
  // RFC 9113 §8.3.1: ":authority ... Clients that generate HTTP/2 requests directly MUST use
  // the :authority pseudo-header field to convey authority information"; handlers read Host.
  if (chk.authority && !chk.host_seen) {
    s->field_refs.insert(s->field_refs.begin(), stream::field_ref{0, 4, chk.authority->first,
                                                                  chk.authority->second, "host"});
  }
  if (connect_plain && chk.authority) {
    s->path_off = chk.authority->first;
    s->path_len = chk.authority->second;
  }
  // RFC 9113 §8.2.3: cookie crumbs are joined with "; " for HTTP/1.1-style consumers.
  if (cookies > 1) {
    std::string joined;
    std::vector<stream::field_ref> kept;
    for (const auto& r : s->field_refs) {
      if (s->name_of(r) == "cookie") {
        if (!joined.empty()) joined += "; ";
        joined += s->value_of(r);
      } else {
        kept.push_back(r);
      }
    }
    kept.push_back(s->append_value("cookie", joined));
    s->field_refs = std::move(kept);
  }
  finish_head(*s, end_stream);
}

bool session::finish_head(stream& s, bool end_stream) {
  s.publish_headers();
  s.head_complete = true;
  initial_priority(s);
  if (!end_stream) {
    // Bodies handed over as they arrive: RFC 8441 §4-5 (an extended CONNECT opens a tunnel,
    // answered at once, whose DATA frames carry the tunnelled protocol both ways until
    // END_STREAM or RST_STREAM), or a route that asks for it (route_options::stream_body).
    // The body limit does not apply to them: nothing is stored.
    bool streamed = s.protocol_len > 0;
    if (!streamed) {
      prepare_dispatch(s);
      streamed = events_.wants_body_stream(s);
    }
    if (streamed) {
      s.body_streaming = true;
      dispatch(s);
      return true;
    }
  }
  if (s.request_has_content_length && s.request_content_length > cfg_.max_request_body) {
    answer(s, 413, "request body too large");
    return false;
  }
  if (end_stream) finish_request(s);
  return true;
}

void session::finish_request(stream& s) {
  // RFC 9113 §8.1.1: a content-length that does not equal the sum of the DATA payloads makes
  // the request malformed (stream PROTOCOL_ERROR).
  if (s.request_has_content_length && s.body_received != s.request_content_length) {
    reset_stream(s, errc::protocol_error);
    return;
  }
  if (s.state == stream_state::open) s.state = stream_state::half_closed_remote;
  if (s.answered_by_session) {
    if (s.end_stream_sent) close_stream(s);
    return;
  }
  if (s.body_streaming) {
    // A streamed body ended with trailers (the DATA path handles END_STREAM on DATA).
    if (s.on_body_data) {
      auto fn = s.on_body_data;
      fn({}, true);
    }
    return;
  }
  dispatch(s);
}

void session::dispatch(stream& s) {
  prepare_dispatch(s);
  s.dispatched = true;
  s.add_ref();
  events_.on_request(s);
  s.release();
}

void session::prepare_dispatch(stream& s) {
  const std::string_view fb = s.field_bytes;
  s.headers = s.header_views;
  s.method = fb.substr(s.method_off, s.method_len);
  s.target = fb.substr(s.path_off, s.path_len);
  std::string_view t = s.target;
  const auto q = t.find('?');
  s.path = t.substr(0, q);
  s.query = q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
  s.head_request = s.method == "HEAD";
  s.protocol = fb.substr(s.protocol_off, s.protocol_len);
  s.body = s.body_storage;
}

void session::answer(stream& s, int status, std::string_view detail) {
  // The session's own error answers (431, 413), sent like any response.
  s.answered_by_session = true;
  s.dispatched = true;
  s.status = status;
  s.fields.clear();
  s.fields.add("content-type", "text/plain; charset=utf-8");
  std::string body;
  append_number(body, static_cast<std::uint64_t>(status));
  body += ' ';
  body += http::reason_phrase(status);
  body += ": ";
  body += detail;
  body += '\n';
  s.kind = detail::body_kind::memory;
  s.body_memory = std::move(body);
  s.started = s.ended = true;
  body_bytes_ -= std::min<std::uint64_t>(body_bytes_, s.body_storage.size());
  s.body_storage.clear();
  s.body_storage.shrink_to_fit();
  exchange_updated(s);
}

// ---- DATA and flow control ---------------------------------------------------------------------

void session::on_data(const frame_view& f, const data_frame& d) {
  const std::uint32_t id = f.header.stream_id;
  const std::uint32_t len = f.header.length;  // RFC 9113 §6.9.1: padding counts
  stream* s = find(id);
  if (!s && is_idle(id)) {
    // RFC 9113 §5.1 (idle): anything but HEADERS or PRIORITY is a connection PROTOCOL_ERROR.
    connection_error(errc::protocol_error, "DATA on an idle stream");
    return;
  }
  // RFC 9113 §6.9: "A receiver that receives a flow-controlled frame MUST always account for
  // its contribution against the connection flow-control window, unless the receiver treats
  // this as a connection error."
  if (len > conn_recv_window_) {
    connection_error(errc::flow_control_error, "DATA beyond the connection window");
    return;
  }
  conn_recv_window_ -= len;
  conn_recv_unacked_ += len;  // consumed at once: stored (bounded by max_request_body) or dropped
  maybe_update_connection_window();
  if (len == 0 && !d.end_stream) glitch();
  if (failed_) return;
  if (!s) {
    if (recently_reset(id)) {
      // RFC 9113 §5.1: ignored after we sent RST_STREAM. DATA the peer had in flight then is
      // normal (a 413 stops an upload with a window of it): it is flow-controlled and counted
      // against the connection window above, so only empty frames count as glitches.
      if (len == 0 && d.end_stream) glitch();
      return;
    }
    // RFC 9113 §6.1: DATA on a stream not open or half-closed (local) -> stream STREAM_CLOSED.
    reset_id(id, errc::stream_closed);
    return;
  }
  if (s->state == stream_state::reserved_local) {
    // RFC 9113 §5.1 (reserved local): only RST_STREAM, PRIORITY and WINDOW_UPDATE may come.
    connection_error(errc::protocol_error, "DATA on a reserved stream");
    return;
  }
  if (s->state != stream_state::open && s->state != stream_state::half_closed_local) {
    reset_stream(*s, errc::stream_closed);
    return;
  }
  if (len > s->recv_window) {
    // RFC 9113 §6.9.1: the sender exceeded the stream window.
    reset_stream(*s, errc::flow_control_error);
    return;
  }
  s->recv_window -= len;
  s->recv_unacked += len;
  if (s->body_streaming) {
    // Handed on as it arrives (the tunnelled protocol or the handler bounds what it keeps), so
    // the window is returned at once; no request body limit applies.
    s->body_received += d.data.size();
    if (s->request_has_content_length &&
        (s->body_received > s->request_content_length ||
         (d.end_stream && s->body_received != s->request_content_length))) {
      reset_stream(*s, errc::protocol_error);  // RFC 9113 §8.1.1
      return;
    }
    s->add_ref();
    if (s->on_body_data) {
      auto fn = s->on_body_data;  // the callee may detach the stream (and clear the original)
      fn(as_text(d.data), d.end_stream);
    }
    const bool gone = s->state == stream_state::closed || !find(id);
    s->release();
    if (gone || failed_) return;
    if (d.end_stream) {
      s->state = s->state == stream_state::half_closed_local ? stream_state::closed
                                                             : stream_state::half_closed_remote;
      if (s->state == stream_state::closed) close_stream(*s);
      return;
    }
    maybe_update_stream_window(*s);
    return;
  }
  if (!s->answered_by_session) {
    s->body_received += d.data.size();
    if (s->request_has_content_length && s->body_received > s->request_content_length) {
      reset_stream(*s, errc::protocol_error);  // RFC 9113 §8.1.1
      return;
    }
    if (s->body_received > cfg_.max_request_body) {
      answer(*s, 413, "request body too large");
      if (!find(id)) return;
    } else if (body_bytes_ + d.data.size() >
               std::max(cfg_.max_connection_request_bodies, cfg_.max_request_body)) {
      // DESIGN.md §6 (CVE-2019-9517, request direction): unfinished bodies on many streams
      // would be held without bound. The request was not processed: REFUSED_STREAM (RFC 9113
      // §8.7) tells the client it may retry it.
      reset_stream(*s, errc::refused_stream);
      return;
    } else {
      body_bytes_ += d.data.size();
      s->body_storage.append(as_text(d.data));
    }
  }
  if (d.end_stream) {
    finish_request(*s);
    return;
  }
  maybe_update_stream_window(*s);
}

void session::maybe_update_connection_window() {
  const std::uint32_t target =
      std::min(std::max(cfg_.connection_window, default_initial_window_size), max_window_size);
  if (conn_recv_unacked_ < target / 2) return;
  append_frame(control(), 0, window_update_frame{conn_recv_unacked_});
  conn_recv_window_ += conn_recv_unacked_;
  conn_recv_unacked_ = 0;
  notify_output();
}

void session::maybe_update_stream_window(stream& s) {
  if (s.recv_unacked < s.recv_target / 2 || s.recv_unacked == 0) return;
  std::uint32_t inc = s.recv_unacked;
  // Auto-tuning: a peer that used half the window within window_autotune_ms of the last update
  // is limited by the window, not by its link: double the window, up to max_stream_window.
  // (The body is bounded by max_request_body whatever the window.)
  if (now_ - s.last_window_update < cfg_.window_autotune_ms &&
      s.recv_target < cfg_.max_stream_window) {
    const std::uint32_t grown = static_cast<std::uint32_t>(std::min<std::uint64_t>(
        std::uint64_t{s.recv_target} * 2, std::min(cfg_.max_stream_window, max_window_size)));
    inc += grown - s.recv_target;
    s.recv_target = grown;
  }
  append_frame(control(), s.id, window_update_frame{inc});
  s.recv_window += inc;
  s.recv_unacked = 0;
  s.last_window_update = now_;
  notify_output();
}

void session::on_window_update(std::uint32_t id, const window_update_frame& w) {
  if (id == 0) {
    // RFC 9113 §6.9.1: "A sender MUST NOT allow a flow-control window to exceed 2^31-1 octets.
    // If a sender receives a WINDOW_UPDATE that causes a flow-control window to exceed this
    // maximum, it MUST terminate either the stream or the connection, as appropriate."
    if (conn_send_window_ + w.increment > max_window_size) {
      connection_error(errc::flow_control_error, "connection window above 2^31-1");
      return;
    }
    bool waiting = false;
    for (const auto& [sid, st] : streams_)
      if (st->headers_sent && !st->end_stream_sent && available(*st) > 0) waiting = true;
    if (!waiting && w.increment < 1024) glitch();
    if (failed_) return;
    conn_send_window_ += w.increment;
    notify_output();
    return;
  }
  stream* s = find(id);
  if (!s) {
    if (is_idle(id)) {
      // RFC 9113 §5.1 (idle): WINDOW_UPDATE on an idle stream is a connection PROTOCOL_ERROR.
      connection_error(errc::protocol_error, "WINDOW_UPDATE on an idle stream");
      return;
    }
    // RFC 9113 §5.1 (closed): WINDOW_UPDATE may arrive after we ended the stream: ignore.
    if (w.increment < 1024) glitch();
    return;
  }
  if (s->send_window + w.increment > max_window_size) {
    reset_stream(*s, errc::flow_control_error);
    return;
  }
  if (!(s->headers_sent && available(*s) > 0) && w.increment < 1024) glitch();
  if (failed_) return;
  s->send_window += w.increment;
  notify_output();
}

void session::on_rst_stream(std::uint32_t id, const rst_stream_frame&) {
  stream* s = find(id);
  if (!s) {
    // RFC 9113 §6.4: "If a RST_STREAM frame identifying an idle stream is received, the
    // recipient MUST treat this as a connection error of type PROTOCOL_ERROR."
    if (is_idle(id)) connection_error(errc::protocol_error, "RST_STREAM on an idle stream");
    return;  // closed: nothing to do (§5.1)
  }
  const bool unanswered = !s->end_stream_sent;
  s->abort();
  close_stream(*s);
  if (unanswered) count_reset();  // reset before it was answered (after s is let go)
}

void session::on_priority_update(const priority_update_frame& p) {
  // RFC 9218 §7.1 (the frame reader has checked stream 0 and a non-zero prioritized id). The
  // update replaces the stream's priority, parsed from the defaults (§7), and outranks the
  // Priority field and RFC 7540 signals.
  const std::uint32_t id = p.prioritized_stream_id;
  if (stream* s = find(id)) {
    s->prio = parse_priority(p.field_value);
    s->prio_rfc9218 = true;
    return;
  }
  if (id % 2 == 0) {
    // §7.1: "Clients MUST NOT provide a Prioritized Stream ID that refers to a push stream
    // that has not been promised by the server"; a closed push stream's update is discarded.
    if (id >= next_push_id_)
      connection_error(errc::protocol_error, "PRIORITY_UPDATE for a push not promised");
    return;
  }
  if (id <= last_peer_stream_) return;  // closed (or refused): discarded (§7.1 allows it)
  // Updates for ids a newer stream skipped, or for a stream refused before its head was
  // complete, can no longer apply (an opened stream took its own at the end of its head).
  std::erase_if(idle_updates_, [&](const early_priority& e) { return e.id <= last_peer_stream_; });
  // An idle client stream: kept for when it opens, the most recent update winning.
  if (early_priority* e = find_early(idle_updates_, id)) {
    e->prio = parse_priority(p.field_value);
    return;
  }
  // §7.1: idle streams with a priority plus active streams "MUST NOT exceed the value of the
  // SETTINGS_MAX_CONCURRENT_STREAMS parameter. Servers that receive such a PRIORITY_UPDATE MUST
  // respond with a connection error of type PROTOCOL_ERROR."
  if (idle_updates_.size() + (streams_.size() - pushed_active_) >= cfg_.max_concurrent_streams) {
    connection_error(errc::protocol_error,
                     "PRIORITY_UPDATE for more idle streams than MAX_CONCURRENT_STREAMS allows");
    return;
  }
  idle_updates_.push_back({id, parse_priority(p.field_value)});
}

void session::on_priority(std::uint32_t id, const priority_fields& p) {
  // RFC 7540 §5.3 signals on the RFC 9218 scheduler. No dependency tree is kept: a PRIORITY
  // frame updates one entry at most, so reshuffling (CVE-2019-9513) costs its parse.
  if (!use_rfc7540_priorities()) return;
  if (stream* s = find(id)) {
    if (!s->prio_rfc9218) s->prio = map_rfc7540(id, p);
    return;
  }
  // Not open: kept for an idle stream that may open later (RFC 7540 §5.3.4: state for about as
  // many streams as may be open, the oldest dropped first).
  const priority mapped = map_rfc7540(id, p);
  if (early_priority* e = find_early(idle_rfc7540_, id)) {
    e->prio = mapped;
    return;
  }
  if (idle_rfc7540_.size() >= std::max<std::uint32_t>(cfg_.max_concurrent_streams, 1))
    idle_rfc7540_.erase(idle_rfc7540_.begin());
  idle_rfc7540_.push_back({id, mapped});
}

priority session::map_rfc7540(std::uint32_t id, const priority_fields& p) const noexcept {
  // RFC 7540 §5.3.5: the default priority (no dependency, weight 16) is no signal at all.
  if (p == priority_fields{}) return priority{};
  // The weight read as a SPDY/3 priority level, the way Chromium and others make weights from
  // their 8 levels (256, 220, 183, 147, 110, 73, 37, 1): level = round((256 - w) * 7 / 255),
  // and RFC 9218's 8 urgencies are those levels.
  priority r;
  r.urgency = static_cast<std::uint8_t>(((256u - p.weight) * 7u + 127u) / 255u);
  // An exclusive dependency asks to be served alone (sequentially); siblings share (§5.3.2).
  r.incremental = !p.exclusive;
  // A stream that depends on an open stream gets resources only when that one cannot use
  // them (§5.3.1): never more urgent than it. A dependency on a stream that is not open (an
  // idle "grouping" stream, §5.3.4, or one that has closed) does not rank: clients that group
  // requests under idle streams express their order in the requests' weights.
  if (p.dependency != 0 && p.dependency != id) {
    if (const stream* parent = find(p.dependency))
      r.urgency = std::max(r.urgency, parent->prio.urgency);
  }
  return r;
}

void session::initial_priority(stream& s) {
  const std::string_view field = s.req().header("priority");
  if (!field.empty()) {
    s.prio = parse_priority(field);  // RFC 9218 §5
    s.prio_rfc9218 = true;
  } else if (use_rfc7540_priorities()) {
    if (block_priority_) {
      s.prio = map_rfc7540(s.id, *block_priority_);
    } else if (const early_priority* e = find_early(idle_rfc7540_, s.id)) {
      s.prio = e->prio;  // a PRIORITY frame sent while the stream was idle
    }
  }
  block_priority_.reset();
  if (!idle_rfc7540_.empty())  // the stream holds its priority from now on
    std::erase_if(idle_rfc7540_, [&](const early_priority& e) { return e.id == s.id; });
  if (!idle_updates_.empty()) {
    // RFC 9218 §7.1: an update sent while the stream was idle applies now; updates for ids
    // below this one can no longer apply (those streams are closed, RFC 9113 §5.1.1).
    std::erase_if(idle_updates_, [&](const early_priority& e) {
      if (e.id == s.id) {
        s.prio = e.prio;
        s.prio_rfc9218 = true;
      }
      return e.id <= s.id;
    });
  }
}

// ---- SETTINGS and PING
// ---------------------------------------------------------------------------

void session::apply_peer_setting(const setting& st) {
  if (failed_) return;
  const std::uint32_t old_window = peer_.initial_window_size;
  if (peer_.apply(st) != errc::no_error) {
    connection_error(check_setting(st), "invalid SETTINGS value");
    return;
  }
  switch (st.id) {
    case setting_id::header_table_size:
      encoder_.set_peer_max_table_size(st.value);  // RFC 7541 §4.2
      break;
    case setting_id::initial_window_size: {
      // RFC 9113 §6.9.2: the change applies to every stream window, which may become
      // negative; a window pushed above 2^31-1 is a connection FLOW_CONTROL_ERROR.
      const std::int64_t delta = std::int64_t{st.value} - std::int64_t{old_window};
      for (const auto& [id, s] : streams_) {
        if (s->send_window + delta > max_window_size) {
          connection_error(errc::flow_control_error, "initial window change overflows a window");
          return;
        }
        s->send_window += delta;
      }
      break;
    }
    default:
      break;  // max_frame_size is read from peer_ when frames are written
  }
}

void session::on_settings(const settings_frame& f) {
  if (f.ack) {
    // RFC 9113 §6.5.3: our settings are in force from the ACK on.
    if (!settings_acked_) {
      settings_acked_ = true;
      frames_.set_max_frame_size(cfg_.max_frame_size);
      if (cfg_.header_table_size != default_header_table_size)
        decoder_.set_max_table_size_limit(cfg_.header_table_size);
    }
    return;
  }
  glitch();
  if (failed_) return;
  for (const setting s : f.entries)
    apply_peer_setting(s);
  if (failed_) return;
  // RFC 9113 §6.5.3: "Upon receiving a SETTINGS frame without the ACK flag set, the recipient
  // MUST immediately ... send a SETTINGS frame with the ACK flag set."
  append_frame(control(), settings_frame{true, {}});
  out_.back().acks += 1;
  if (++pending_acks_ > cfg_.max_pending_acks) {
    connection_error(errc::enhance_your_calm, "SETTINGS flood");
    return;
  }
  notify_output();
}

void session::on_ping(const ping_frame& p) {
  if (p.ack) {
    if (p.opaque == shutdown_ping && shutdown_phase_ == 1) {
      // RFC 9113 §6.8: one round trip after GOAWAY(2^31-1), every stream the client opened
      // before seeing it has reached us: send the real last stream id.
      shutdown_phase_ = 2;
      goaway_last_id_ = last_peer_stream_;
      queue_goaway(goaway_last_id_, errc::no_error, {});
    }
    return;
  }
  // RFC 9113 §6.7: "Receivers of a PING frame that does not include an ACK flag MUST send a
  // PING frame with the ACK flag set in response, with an identical frame payload."
  append_frame(control(), ping_frame{true, p.opaque});
  out_.back().acks += 1;
  // A client that sends PINGs and never reads the ACKs makes us queue without bound.
  if (++pending_acks_ > cfg_.max_pending_acks) {
    connection_error(errc::enhance_your_calm, "PING flood");
    return;
  }
  notify_output();
}

// ---- timers and shutdown
// -------------------------------------------------------------------------

void session::tick(std::uint64_t now) {
  now_ = std::max(now_, now);
  if (failed_ || aborted_) return;
  // A connection with no stream and nothing queued gives its reusable buffers back.
  if (streams_.empty() && out_.empty()) {
    spare_.clear();
    raw_spare_.clear();
  }
  // RFC 9113 §6.5.3: "If the sender of a SETTINGS frame does not receive an acknowledgment
  // within a reasonable amount of time, it MAY issue a connection error of type
  // SETTINGS_TIMEOUT."
  if (started_ && !settings_acked_ && phase_ == input_phase::frames &&
      now_ >= settings_sent_at_ + cfg_.settings_timeout_ms) {
    connection_error(errc::settings_timeout, "SETTINGS not acknowledged");
    return;
  }
  if (shutdown_phase_ == 1 && now_ >= shutdown_deadline_) {
    shutdown_phase_ = 2;
    goaway_last_id_ = last_peer_stream_;
    queue_goaway(goaway_last_id_, errc::no_error, {});
  }
}

void session::begin_shutdown(std::uint64_t now) {
  now_ = std::max(now_, now);
  if (shutdown_phase_ != 0 || failed_ || aborted_) return;
  if (!started_) queue_preface();
  // RFC 9113 §6.8: "A server that is attempting to gracefully shut down a connection SHOULD
  // send an initial GOAWAY frame with the last stream identifier set to 2^31-1 and a NO_ERROR
  // code ... After allowing time for any in-flight stream creation (at least one round-trip
  // time), the server MAY send another GOAWAY frame with an updated last stream identifier."
  queue_goaway(max_stream_id, errc::no_error, {});
  append_frame(control(), ping_frame{false, shutdown_ping});
  shutdown_phase_ = 1;
  shutdown_deadline_ = now_ + cfg_.shutdown_timeout_ms;
  notify_output();
}

bool session::done() const noexcept {
  if (aborted_) return true;
  if (!out_.empty()) return false;
  if (failed_) return true;
  if (!streams_.empty()) return false;
  return shutdown_phase_ == 2 || peer_goaway_ || peer_eof_;
}

// ---- responses ---------------------------------------------------------------------------------

void session::exchange_updated(detail::exchange& base) {
  auto& s = static_cast<stream&>(base);
  if (s.state == stream_state::closed || failed_ || aborted_) return;
  if (!s.started) return;
  if (s.kind == detail::body_kind::stream && s.ended && s.has_content_length && !s.head_request &&
      !http::status_has_no_body(s.status) &&
      s.body_queued + s.segment_bytes + s.body_memory.size() != s.content_length) {
    // A streamed body that ended at another length than the Content-Length its handler set
    // would make the response malformed (RFC 9113 §8.1.1): the stream is reset instead of
    // ended, so the client sees an incomplete response, not a short or long one (and if
    // nothing went out yet, not even the HEADERS). More bytes are cut at the first write past
    // the length (take_stream_data).
    reset_stream(s, errc::internal_error);
    return;
  }
  if (!s.headers_sent) send_headers(s);
  if (s.state == stream_state::closed) return;
  if (s.kind == detail::body_kind::stream) take_stream_data(s);
  // DATA frames are made when the glue asks for output (pending_output), so the scheduler
  // sees every stream that has something to send at that moment.
  notify_output();
}

std::size_t session::exchange_buffered(const detail::exchange& base) const noexcept {
  const auto& s = static_cast<const stream&>(base);
  const std::size_t pending = s.kind == detail::body_kind::stream ? s.body_memory.size() : 0;
  return static_cast<std::size_t>(s.segment_bytes + s.unwritten) + pending;
}

void session::send_headers(stream& s) {
  // RFC 9113 §5.1: a promised stream becomes half-closed (remote) with its HEADERS.
  if (s.state == stream_state::reserved_local) s.state = stream_state::half_closed_remote;
  // RFC 9113 §8.4: promises go before the response that refers to the pushed resources.
  if (cfg_.push_preload && !s.pushed && s.status >= 200 && s.status < 300 && s.method == "GET")
    push_preload_links(s);
  if (s.state == stream_state::closed || failed_) return;
  s.headers_sent = true;
  const bool no_body_status = http::status_has_no_body(s.status);
  s.no_body = s.head_request || no_body_status;
  bool has_length = true;
  switch (s.kind) {
    case detail::body_kind::none:
      s.body_total = 0;
      break;
    case detail::body_kind::memory:
      s.body_total = s.body_memory.size();
      break;
    case detail::body_kind::view:
      s.body_total = s.body_view.size();
      break;
    case detail::body_kind::file:
      s.body_total = s.file_length;
      break;
    case detail::body_kind::parts:
      s.body_total = 0;
      for (const auto& p : s.parts)
        s.body_total += p.file_length ? p.file_length : p.text.size();
      break;
    case detail::body_kind::stream:
      if (s.has_content_length) {
        s.body_total = s.content_length;
      } else if (s.ended) {
        s.body_total = s.body_memory.size();
      } else {
        has_length = false;  // RFC 9113 §8.1: DATA frames delimit the body; END_STREAM ends it
      }
      break;
  }
  // RFC 9113 §8.3.2 / §8.2.1: :status first, lowercase names, no connection-specific fields.
  char status[24], length[24];
  const std::string_view status_text(
      status, std::to_chars(status, status + sizeof status, static_cast<unsigned>(s.status)).ptr);
  std::string_view length_text;
  if (has_length && !no_body_status)
    length_text = {length, std::to_chars(length, length + sizeof length, s.body_total).ptr};
  std::vector<hpack::header_field>& list = field_scratch_;
  list.clear();
  list.push_back({":status", status_text});
  append_sendable(list, s.fields);
  if (!length_text.empty()) list.push_back({"content-length", length_text});
  if (!cfg_.server_header.empty()) list.push_back({"server", cfg_.server_header});
  list.push_back({"date", date_.get(now_s_)});
  // With trailers to send, the HEADERS never ends the stream: the trailers do (§8.1).
  const bool end = s.no_body || (s.trailers.empty() &&
                                 ((s.kind != detail::body_kind::stream && s.body_total == 0) ||
                                  (s.kind == detail::body_kind::stream && s.ended &&
                                   s.body_memory.empty() && s.segment_bytes == 0)));
  if (end && s.kind == detail::body_kind::stream) s.body_memory.clear();
  queue_field_block(s, list, end);
}

void session::queue_field_block(stream& s, std::span<const hpack::header_field> list, bool end) {
  // RFC 9113 §4.3: the block goes out as HEADERS + CONTINUATION, contiguous. It is encoded
  // straight into the control bytes behind room for a frame header, which is filled in once
  // the size is known; a block larger than the peer's frame size is moved out and split.
  // Nothing waits for these bytes to be written unless the stream ends here.
  std::string& out = control();
  const std::size_t at = out.size();
  out.append(frame_header_size, '\0');
  encoder_.encode(list, out);
  const std::size_t len = out.size() - at - frame_header_size;
  if (len <= peer_.max_frame_size) {
    const std::uint8_t fl =
        static_cast<std::uint8_t>(flags::end_headers | (end ? flags::end_stream : std::uint8_t{0}));
    const auto h =
        encode_frame_header({static_cast<std::uint32_t>(len), frame_type::headers, fl, s.id});
    std::memcpy(out.data() + at, h.view().data(), frame_header_size);
  } else {
    std::vector<std::byte>& block = block_scratch_;
    const auto* b = reinterpret_cast<const std::byte*>(out.data() + at + frame_header_size);
    block.assign(b, b + len);
    out.resize(at);
    field_block_splitter split(s.id, headers_frame{block, end, false, {}, {}},
                               peer_.max_frame_size);
    while (!split.done()) {
      field_block_frame fr = split.next();
      out += fr.prefix.view();
      out += as_text(fr.fragment);
      out += fr.padding;
    }
  }
  if (end) {
    complete_at_back(s, 0);
    end_stream_queued(s);
  }
}

void session::queue_trailers(stream& s) {
  // RFC 9113 §8.1: the trailer section is a HEADERS frame (with CONTINUATIONs) that carries
  // END_STREAM and no pseudo-header fields; §8.2.2: no connection-specific fields.
  std::vector<hpack::header_field>& list = field_scratch_;
  list.clear();
  append_sendable(list, s.trailers);
  queue_field_block(s, list, true);
}

void session::take_stream_data(stream& s) {
  if (s.no_body) {
    s.body_memory.clear();
  } else if (!s.body_memory.empty()) {
    s.segment_bytes += s.body_memory.size();
    s.segments.push_back(std::move(s.body_memory));
    s.body_memory = std::string();
    if (s.has_content_length && s.body_queued + s.segment_bytes > s.content_length) {
      // The handler wrote more than the Content-Length it set: the response is cut.
      reset_stream(s, errc::internal_error);
      return;
    }
  }
  const std::uint64_t buffered = s.segment_bytes + s.unwritten;
  if (buffered > cfg_.high_water) s.drain_wanted = true;
  if (buffered > cfg_.max_buffer) {
    reset_stream(s, errc::internal_error);  // the handler ignores back-pressure
    return;
  }
  if (s.no_body && s.ended && !s.end_stream_sent) {
    // HEAD / 204 / 304 streamed: the HEADERS went without END_STREAM; end with empty DATA.
    emit_data(s, 0);
  }
}

std::uint64_t session::available(const stream& s) const noexcept {
  if (s.no_body) return 0;
  if (s.kind == detail::body_kind::stream) return s.segment_bytes;
  return s.body_total - s.body_queued;
}

bool session::body_finished(const stream& s) const noexcept {
  if (s.kind == detail::body_kind::stream) return s.ended && s.segment_bytes == 0;
  return s.body_queued == s.body_total;
}

bool session::sendable(const stream& s) const noexcept {
  if (!s.headers_sent || s.end_stream_sent) return false;
  const std::uint64_t avail = available(s);
  // An empty DATA with END_STREAM needs no window (RFC 9113 §6.9.1).
  return (avail > 0 && s.send_window > 0 && conn_send_window_ > 0) ||
         (avail == 0 && body_finished(s));
}

void session::fill_data() {
  if (failed_ || aborted_) return;
  // The candidates are collected once; after each frame only the stream that sent it can have
  // changed (emit_data touches that stream, and the connection window, which only shrinks).
  // They are kept in the scheduler's order (RFC 9218: urgency, then non-incremental before
  // incremental, then id): the front is served next unless it is incremental, in which case
  // the scheduler round-robins among the incremental streams of its urgency. streams_ is in id
  // order, so with equal priorities (the common case) nothing needs sorting.
  std::vector<send_candidate>& cand = cand_scratch_;
  cand.clear();
  for (const auto& [id, s] : streams_)
    if (sendable(*s)) cand.push_back({id, s->prio});
  auto level = [](const send_candidate& c) noexcept {
    return (std::min<unsigned>(c.prio.urgency, 7) << 1) | (c.prio.incremental ? 1u : 0u);
  };
  auto before = [&](const send_candidate& a, const send_candidate& b) noexcept {
    const unsigned la = level(a), lb = level(b);
    return la != lb ? la < lb : a.stream_id < b.stream_id;
  };
  if (!std::is_sorted(cand.begin(), cand.end(), before))
    std::sort(cand.begin(), cand.end(), before);
  std::size_t head = 0;
  std::size_t budget = cfg_.write_quantum;
  while (budget > 0 && !failed_ && head < cand.size()) {
    std::uint32_t id = cand[head].stream_id;
    if (cand[head].prio.incremental) {
      std::size_t e = head + 1;
      while (e < cand.size() && level(cand[e]) == level(cand[head]))
        ++e;
      id = scheduler_.pick(std::span(cand).subspan(head, e - head));
    }
    stream& s = *find(id);
    std::uint64_t n = std::min<std::uint64_t>(available(s), peer_.max_frame_size);
    n = std::min<std::uint64_t>(n, static_cast<std::uint64_t>(std::max<std::int64_t>(
                                       0, std::min(s.send_window, conn_send_window_))));
    n = std::min<std::uint64_t>(n, budget);
    const std::int64_t conn_window_before = conn_send_window_;
    emit_data(s, n);
    budget -= std::min<std::size_t>(budget, std::max<std::size_t>(static_cast<std::size_t>(n), 1));
    if (failed_) break;
    auto still_sendable = [&](std::uint32_t cid) {
      const stream* c = find(cid);  // emit_data may have closed it
      return c && sendable(*c);
    };
    if (conn_window_before > 0 && conn_send_window_ <= 0) {
      // The connection window closed: only empty END_STREAM frames may still go.
      const auto gone =
          std::remove_if(cand.begin() + static_cast<std::ptrdiff_t>(head), cand.end(),
                         [&](const send_candidate& c) { return !still_sendable(c.stream_id); });
      cand.erase(gone, cand.end());
    } else if (!still_sendable(id)) {
      if (cand[head].stream_id == id) {
        ++head;
      } else {
        for (std::size_t i = head; i < cand.size(); ++i)
          if (cand[i].stream_id == id) {
            cand.erase(cand.begin() + static_cast<std::ptrdiff_t>(i));
            break;
          }
      }
    }
  }
}

void session::emit_data(stream& s, std::uint64_t n) {
  // The last frame of a small body held in memory is copied behind the frame header in the
  // control buffer: cheaper than a chunk (and an iovec) of its own, and many small responses
  // then leave in one piece.
  constexpr std::uint64_t copy_max = 1024;
  if (n > 0 && n <= copy_max && s.trailers.empty() &&
      (s.kind == detail::body_kind::memory || s.kind == detail::body_kind::view) &&
      s.body_queued + n == s.body_total) {
    const char* src =
        (s.kind == detail::body_kind::memory ? s.body_memory.data() : s.body_view.data()) +
        s.body_queued;
    s.body_queued += n;
    s.unwritten += n;
    s.send_window -= static_cast<std::int64_t>(n);
    conn_send_window_ -= static_cast<std::int64_t>(n);
    // RFC 9113 §6.1: DATA with END_STREAM (§8.1: the response ends here).
    const frame_header h{static_cast<std::uint32_t>(n), frame_type::data, flags::end_stream, s.id};
    std::string& out = control();
    out += encode_frame_header(h).view();
    out.append(src, static_cast<std::size_t>(n));
    complete_at_back(s, n);
    end_stream_queued(s);
    return;
  }
  // Take up to n bytes from the source in one piece (a memory view, or owned bytes).
  out_chunk payload;
  if (n > 0) {
    s.add_ref();
    payload.ref = &s;
    switch (s.kind) {
      case detail::body_kind::memory:
        payload.ext = s.body_memory.data() + s.body_queued;
        payload.len = static_cast<std::size_t>(n);
        break;
      case detail::body_kind::view:
        payload.ext = s.body_view.data() + s.body_queued;
        payload.len = static_cast<std::size_t>(n);
        break;
      case detail::body_kind::file:
      case detail::body_kind::parts: {
        int fd = s.file_fd;
        std::uint64_t off = s.file_offset + s.body_queued;
        bool from_file = true;
        if (s.kind == detail::body_kind::parts) {
          while (s.part_index < s.parts.size()) {
            const auto& p = s.parts[s.part_index];
            const std::uint64_t plen = p.file_length ? p.file_length : p.text.size();
            if (s.part_offset < plen) break;
            ++s.part_index;
            s.part_offset = 0;
          }
          const auto& p = s.parts[s.part_index];
          const std::uint64_t plen = p.file_length ? p.file_length : p.text.size();
          n = std::min(n, plen - s.part_offset);
          from_file = p.file_length > 0;
          off = p.file_offset + s.part_offset;
          if (!from_file)
            payload.owned.assign(p.text, static_cast<std::size_t>(s.part_offset),
                                 static_cast<std::size_t>(n));
        }
        const char* ahead = nullptr;
        if (from_file && s.kind == detail::body_kind::file)
          ahead = read_ahead(s, fd, off, static_cast<std::size_t>(n), s.body_total - s.body_queued);
        if (ahead) {
          payload.ext = ahead;
          payload.len = static_cast<std::size_t>(n);
        } else if (from_file) {
          // Read into a raw buffer (a string would be zero-filled first: 4% of the CPU of a
          // large download); frame-sized ones are reused.
          const auto k = static_cast<std::size_t>(n);
          if (k <= raw_size && !raw_spare_.empty()) {
            payload.raw = std::move(raw_spare_.back());
            raw_spare_.pop_back();
          } else {
            payload.raw.reset(new char[std::max(k, raw_size)]);
          }
          payload.raw_kept = k <= raw_size;
          std::size_t got = 0;
          while (reader_ && got < k) {
            const std::size_t r =
                reader_->read(fd, off + got, std::span(payload.raw.get() + got, k - got));
            if (r == 0) break;
            got += r;
          }
          if (got < k) {
            release_chunk(payload);
            reset_stream(s, errc::internal_error);
            return;
          }
          payload.ext = payload.raw.get();
          payload.len = k;
        } else {
          payload.len = payload.owned.size();
        }
        s.part_offset += n;
        break;
      }
      case detail::body_kind::stream: {
        std::string& front = s.segments.front();
        n = std::min<std::uint64_t>(n, front.size() - s.segment_offset);
        const auto k = static_cast<std::size_t>(n);
        if (s.segment_offset == 0 && k == front.size()) {
          payload.owned = std::move(front);  // the whole segment: no copy
          s.segments.pop_front();
        } else {
          payload.owned.assign(front, s.segment_offset, k);
          s.segment_offset += k;
          if (s.segment_offset == front.size()) {
            s.segments.pop_front();
            s.segment_offset = 0;
          }
        }
        s.segment_bytes -= n;
        payload.len = payload.owned.size();
        break;
      }
      case detail::body_kind::none:
        break;
    }
    payload.body = n;
  }
  s.body_queued += n;
  s.unwritten += n;
  s.send_window -= static_cast<std::int64_t>(n);
  conn_send_window_ -= static_cast<std::int64_t>(n);
  const bool end = body_finished(s);
  // Trailers end the stream instead of the last DATA frame (RFC 9113 §8.1).
  const bool trailers = end && !s.trailers.empty() && !s.no_body;
  const bool end_here = end && !trailers;
  if (n > 0 || !trailers) {
    // RFC 9113 §6.1: the DATA frame header; the payload follows by reference or owned.
    const frame_header h{static_cast<std::uint32_t>(n), frame_type::data,
                         end_here ? flags::end_stream : std::uint8_t{0}, s.id};
    control() += encode_frame_header(h).view();
  }
  if (n > 0) push_chunk(std::move(payload));
  if (end_here) complete_at_back(s, 0);
  if (trailers) {
    queue_trailers(s);
  } else if (end) {
    end_stream_queued(s);
  }
}

const char* session::read_ahead(stream& s, int fd, std::uint64_t off, std::size_t k,
                                std::uint64_t left) {
  // One read for several frames of a large file (a read per 16 KiB frame was a syscall per
  // frame). The frames queued from the buffer are views of it; the stream they hold a
  // reference to owns it, and it is refilled only when none of them is still queued.
  if (s.ra_buf && off >= s.ra_off && off + k <= s.ra_off + s.ra_len)
    return s.ra_buf.get() + (off - s.ra_off);
  if (left <= k || s.unwritten != 0 || !reader_) return nullptr;
  if (!s.ra_buf) s.ra_buf.reset(new char[stream::ra_size]);
  const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(stream::ra_size, left));
  std::size_t got = 0;
  while (got < want) {
    const std::size_t r = reader_->read(fd, off + got, std::span(s.ra_buf.get() + got, want - got));
    if (r == 0) break;
    got += r;
  }
  s.ra_off = off;
  s.ra_len = got;
  return got >= k ? s.ra_buf.get() : nullptr;
}

void session::end_stream_queued(stream& s) {
  s.end_stream_sent = true;
  if (s.state == stream_state::open) {
    // RFC 9113 §8.1: "A server can send a complete response prior to the client sending an
    // entire request ... the server MAY request that the client abort transmission of a request
    // without error by sending a RST_STREAM with an error code of NO_ERROR".
    append_frame(control(), s.id, rst_stream_frame{errc::no_error});
    remember_reset(s.id);
  }
  close_stream(s);
}

// ---- handler-driven resets and server push (RFC 9113 §8.4) --------------------------------------

void session::exchange_reset(detail::exchange& base, bool error) {
  auto& s = static_cast<stream&>(base);
  if (s.state == stream_state::closed || failed_ || aborted_ || s.end_stream_sent) {
    s.abort();
    return;
  }
  // RFC 9113 §5.4.2 / §8.1: RST_STREAM ends the response; what was queued before it still
  // goes out first. Not counted against the client's reset budget: the handler chose it.
  append_frame(control(), s.id, rst_stream_frame{error ? errc::internal_error : errc::cancel});
  remember_reset(s.id);
  s.abort();
  close_stream(s);
  notify_output();
}

namespace {

// An origin-form path to push: "/" then visible ASCII (RFC 9110 §4.1's origin-form, as in
// :path of §8.3.1), no fragment.
bool valid_push_path(std::string_view p) noexcept {
  if (p.empty() || p.front() != '/' || p.size() > 8192) return false;
  if (p.size() > 1 && p[1] == '/') return false;  // "//host": not a path
  for (char c : p) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '#') return false;
  }
  return true;
}

}  // namespace

bool session::exchange_push(detail::exchange& base, std::string_view path,
                            std::span<const header_view> extra) {
  auto& a = static_cast<stream&>(base);
  // RFC 9113 §8.4: only while the client allows it (SETTINGS_ENABLE_PUSH, §6.5.2), on a
  // client stream that is open or half-closed (remote) (§6.6), for a safe, cacheable GET.
  if (failed_ || aborted_ || shutdown_phase_ != 0 || peer_goaway_ || !peer_.enable_push)
    return false;
  if (a.pushed || a.end_stream_sent ||
      (a.state != stream_state::open && a.state != stream_state::half_closed_remote))
    return false;
  if (!valid_push_path(path)) return false;
  // §5.1.2: the client's SETTINGS_MAX_CONCURRENT_STREAMS bounds the streams we start.
  if (pushed_active_ >= cfg_.max_pushed_streams || pushed_active_ >= peer_.max_concurrent_streams)
    return false;
  if (next_push_id_ > max_stream_id) return false;  // §5.1.1: no ids left
  const std::string_view authority = a.req().header("host");
  std::string_view scheme = std::string_view(a.field_bytes).substr(a.scheme_off, a.scheme_len);
  if (scheme.empty()) scheme = "http";
  std::vector<std::pair<std::string, std::string_view>> fields;
  fields.reserve(extra.size() + 1);
  bool has_encoding = false;
  for (const auto& h : extra) {
    std::string name = lowercase(h.name);
    // §8.2: the promised request obeys the rules of any request.
    if (!valid_name(name) || !valid_value(h.value) || connection_specific(name) || name == "te" ||
        name == "host")
      return false;
    if (name == "accept-encoding") has_encoding = true;
    fields.emplace_back(std::move(name), h.value);
  }
  // The pushed response should be the variant the client would have got: the same codings.
  if (!has_encoding) {
    const std::string_view ae = a.req().header("accept-encoding");
    if (!ae.empty()) fields.emplace_back("accept-encoding", ae);
  }

  const std::uint32_t id = next_push_id_;
  next_push_id_ += 2;
  stream* p = open_stream(id);
  p->state = stream_state::reserved_local;
  p->pushed = true;
  ++pushed_active_;
  auto add = [p](std::string_view name, std::string_view value) {
    return p->append_field(name, value);
  };
  const stream::field_ref m = add("", "GET");
  p->method_off = m.value_off;
  p->method_len = m.value_len;
  const stream::field_ref pa = add("", path);
  p->path_off = pa.value_off;
  p->path_len = pa.value_len;
  const stream::field_ref sc = add("", scheme);
  p->scheme_off = sc.value_off;
  p->scheme_len = sc.value_len;
  if (!authority.empty()) p->field_refs.push_back(add("host", authority));
  for (const auto& [name, value] : fields)
    p->field_refs.push_back(add(name, value));
  const std::string_view fb = p->field_bytes;
  p->publish_headers();
  p->head_complete = true;

  // §8.4.1: the promised request's field block, with :authority in place of Host.
  std::vector<hpack::header_field> list;
  list.reserve(fields.size() + 4);
  list.push_back({":method", "GET"});
  list.push_back({":scheme", fb.substr(p->scheme_off, p->scheme_len)});
  if (!authority.empty()) list.push_back({":authority", authority});
  list.push_back({":path", fb.substr(p->path_off, p->path_len)});
  for (const auto& [name, value] : fields)
    list.push_back({name, value});
  std::vector<std::byte> block;
  encoder_.encode(list, block);
  out_chunk c;
  field_block_splitter split(a.id, push_promise_frame{id, block, false, {}}, peer_.max_frame_size);
  while (!split.done()) {
    field_block_frame fr = split.next();
    c.owned += fr.prefix.view();
    c.owned += as_text(fr.fragment);
    c.owned += fr.padding;
  }
  c.len = c.owned.size();
  push_chunk(std::move(c));
  notify_output();
  // The promised request is served like a client's, on the next loop turn (not from inside
  // the handler that pushed). A stream the client cancelled meanwhile is not dispatched.
  p->add_ref();
  events_.post([p] {
    if (auto* o = p->owner()) static_cast<session*>(o)->dispatch_pushed(*p);
    p->release();
  });
  return true;
}

void session::dispatch_pushed(stream& p) {
  if (p.state != stream_state::reserved_local || p.dispatched || failed_ || aborted_) return;
  dispatch(p);
}

namespace {

// RFC 8288 §3: link-value = "<" URI-Reference ">" *( OWS ";" OWS link-param ). Calls `fn` with
// the target of each link whose rel includes "preload" and that has no "nopush" parameter
// (the convention of nginx's http2_push_preload and h2o).
template <class Fn>
void for_each_preload(std::string_view v, Fn&& fn) {
  std::size_t i = 0;
  auto skip_ws = [&] {
    while (i < v.size() && (v[i] == ' ' || v[i] == '\t'))
      ++i;
  };
  while (i < v.size()) {
    skip_ws();
    if (i >= v.size() || v[i] != '<') return;  // malformed: stop
    const std::size_t close = v.find('>', i);
    if (close == std::string_view::npos) return;
    const std::string_view target = v.substr(i + 1, close - i - 1);
    i = close + 1;
    bool preload = false, nopush = false;
    // Parameters up to the next top-level comma.
    while (true) {
      skip_ws();
      if (i >= v.size() || v[i] == ',') break;
      if (v[i] != ';') return;
      ++i;
      skip_ws();
      std::size_t n0 = i;
      while (i < v.size() && v[i] != '=' && v[i] != ';' && v[i] != ',' && v[i] != ' ')
        ++i;
      const std::string_view pname = v.substr(n0, i - n0);
      std::string_view pvalue;
      skip_ws();
      if (i < v.size() && v[i] == '=') {
        ++i;
        skip_ws();
        if (i < v.size() && v[i] == '"') {
          const std::size_t q = v.find('"', i + 1);
          if (q == std::string_view::npos) return;
          pvalue = v.substr(i + 1, q - i - 1);
          i = q + 1;
        } else {
          std::size_t v0 = i;
          while (i < v.size() && v[i] != ';' && v[i] != ',' && v[i] != ' ')
            ++i;
          pvalue = v.substr(v0, i - v0);
        }
      }
      if (iequals(pname, "nopush")) nopush = true;
      if (iequals(pname, "rel")) {
        // rel is a space-separated list of relation types (RFC 8288 §3.3).
        std::size_t k = 0;
        while (k < pvalue.size()) {
          std::size_t e = pvalue.find(' ', k);
          if (e == std::string_view::npos) e = pvalue.size();
          if (iequals(pvalue.substr(k, e - k), "preload")) preload = true;
          k = e + 1;
        }
      }
    }
    if (preload && !nopush) fn(target);
    if (i < v.size() && v[i] == ',') ++i;
  }
}

}  // namespace

void session::push_preload_links(stream& s) {
  std::uint32_t pushed = 0;
  const std::string_view authority = s.req().header("host");
  std::string_view scheme = std::string_view(s.field_bytes).substr(s.scheme_off, s.scheme_len);
  if (scheme.empty()) scheme = "http";
  // Copies: the fields vector must not be read while pushes run.
  std::vector<std::string> targets;
  for (const auto& f : s.fields) {
    if (!iequals(f.name, "link")) continue;
    for_each_preload(f.value, [&](std::string_view t) {
      if (targets.size() < cfg_.max_preload_pushes) targets.emplace_back(t);
    });
  }
  for (std::string_view t : targets) {
    // Same origin only: a path, or an absolute URI with this request's scheme and authority.
    if (t.substr(0, 2) != "//" && !t.empty() && t.front() != '/') {
      const std::size_t sep = t.find("://");
      if (sep == std::string_view::npos || !iequals(t.substr(0, sep), scheme)) continue;
      std::string_view rest = t.substr(sep + 3);
      const std::size_t slash = rest.find('/');
      if (slash == std::string_view::npos || !iequals(rest.substr(0, slash), authority)) continue;
      t = rest.substr(slash);
    }
    if (pushed >= cfg_.max_preload_pushes) break;
    if (exchange_push(s, t, {})) ++pushed;
  }
}

// ---- output queue
// --------------------------------------------------------------------------------

std::string& session::control() {
  // Appends go to the last chunk when it is an owned, unreferenced chunk not handed out yet.
  if (out_.empty() || out_.size() <= handed_out_ || out_.back().ext || out_.back().ref ||
      out_.back().owned.size() > 16 * 1024) {
    out_.emplace_back();
    out_.back().owned = take_spare();
    out_.back().seq = next_seq_++;
  }
  out_chunk& c = out_.back();
  // len is synchronised in pending_output (owned chunks use owned.size()).
  return c.owned;
}

std::string session::take_spare() noexcept {
  if (spare_.empty()) return {};
  std::string s = std::move(spare_.back());
  spare_.pop_back();
  return s;
}

void session::keep_spare(std::string& s) noexcept {
  // Buffers of a useful size are kept for the next chunks (no allocation per frame once
  // warm); a few, and none of the large ones a file body or a big header block made.
  constexpr std::size_t max_spares = 8, max_capacity = 32 * 1024;
  if (spare_.size() >= max_spares || s.capacity() <= 15 || s.capacity() > max_capacity) return;
  s.clear();
  spare_.push_back(std::move(s));
}

void session::push_chunk(out_chunk c) {
  out_bytes_ += c.ext ? c.len : c.owned.size();
  c.seq = next_seq_++;
  out_.push_back(std::move(c));
}

void session::complete_at_back(stream& s, std::uint64_t body) {
  // Precondition: the response's last frame was just queued: it ends the back chunk.
  s.add_ref();
  const out_chunk& c = out_.back();
  completions_.push_back({&s, c.seq, c.ext ? c.len : c.owned.size(), body});
}

void session::fire_completions(std::uint64_t chunk, std::size_t written) {
  while (!completions_.empty() && completions_.front().chunk == chunk &&
         completions_.front().end <= written) {
    const completion k = completions_.front();
    completions_.pop_front();
    k.s->unwritten -= std::min(k.s->unwritten, k.body);
    events_.on_response_done(*k.s, k.s->body_queued);
    k.s->release();
  }
}

void session::notify_output() {
  // Owned chunk lengths follow their strings; recount what control() appended.
  std::size_t total = 0;
  for (const auto& c : out_)
    total += (c.ext ? c.len : c.owned.size()) - c.sent;
  out_bytes_ = total;
  if (has_output()) events_.on_output_ready();
}

bool session::has_output() const noexcept {
  if (!out_.empty()) return true;
  if (failed_ || aborted_) return false;
  for (const auto& [id, s] : streams_)
    if (sendable(*s)) return true;
  return false;
}

void session::release_chunk(out_chunk& c) noexcept {
  if (c.ref) {
    c.ref->unwritten -= std::min(c.ref->unwritten, c.body);
    c.ref->release();
    c.ref = nullptr;
  }
}

std::size_t session::pending_output(std::span<iovec> iov) {
  if (aborted_) return 0;
  fill_data();
  std::size_t n = 0;
  for (auto& c : out_) {
    if (n == iov.size()) break;
    const std::size_t len = c.ext ? c.len : c.owned.size();
    if (len == c.sent) continue;
    const char* base = c.ext ? c.ext : c.owned.data();
    iov[n].iov_base = const_cast<char*>(base + c.sent);
    iov[n].iov_len = len - c.sent;
    ++n;
  }
  handed_out_ = out_.size();
  return n;
}

void session::commit_output(std::size_t n) {
  handed_out_ = 0;
  while (!out_.empty()) {
    out_chunk& c = out_.front();
    const std::size_t len = c.ext ? c.len : c.owned.size();
    const std::size_t take = std::min(n, len - c.sent);
    c.sent += take;
    n -= take;
    if (!completions_.empty() && take > 0) fire_completions(c.seq, c.sent);
    if (c.sent < len) break;
    pending_acks_ -= std::min<std::size_t>(pending_acks_, c.acks);
    out_chunk done = std::move(c);
    out_.pop_front();
    keep_spare(done.owned);
    if (done.raw && done.raw_kept && raw_spare_.size() < max_raw_spares)
      raw_spare_.push_back(std::move(done.raw));
    if (stream* s = done.ref) {
      s->unwritten -= std::min(s->unwritten, done.body);
      done.body = 0;
      if (s->drain_wanted && s->owner() && s->segment_bytes + s->unwritten <= cfg_.high_water / 2) {
        // Back-pressure released: tell the streaming handler (it may write more now).
        s->drain_wanted = false;
        if (s->on_drain) {
          auto fn = s->on_drain;
          fn();
        }
      }
    }
    release_chunk(done);
  }
  std::size_t total = 0;
  for (const auto& c : out_)
    total += (c.ext ? c.len : c.owned.size()) - c.sent;
  out_bytes_ = total;
}

}  // namespace portico::http2
