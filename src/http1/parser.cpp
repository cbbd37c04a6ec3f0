// HTTP/1.1 request parser (RFC 9112). See parser.hpp for the contract.
//
// The head is parsed in two steps. A scanner walks the bytes once, remembering where it got to
// across need_more calls, checks the line structure (CRLF only, RFC 9112 §2.2) and the limits as
// the bytes arrive, and validates the request line as soon as its CRLF is in. Once the empty line
// ending the head is found, the field lines are validated and interpreted in a single pass. Both
// steps touch each byte a bounded number of times, so the work is linear in the head size however
// the input is split. Every error depends only on the bytes before the point where it is raised,
// so a split input gives the same answer as the same input in one piece.
#include "http1/parser.hpp"

#include <array>
#include <cstring>
#include <limits>

namespace portico::http1 {
namespace {

// Empty lines tolerated before a request line (RFC 9112 §2.2 says SHOULD ignore at least one);
// the cap keeps a client from making the server spin on CRLFs.
constexpr std::size_t max_leading_empty_lines = 8;
// A chunk-size of 16 hex digits already fills 64 bits.
constexpr unsigned max_chunk_size_digits = 16;

constexpr bool is_alpha(unsigned char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool is_digit(unsigned char c) noexcept {
  return c >= '0' && c <= '9';
}
constexpr bool is_ws(unsigned char c) noexcept {
  return c == ' ' || c == '\t';
}

// RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" /
// "_" / "`" / "|" / "~" / DIGIT / ALPHA
constexpr std::array<bool, 256> make_tchar_table() noexcept {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[static_cast<std::size_t>(c)] =
        is_alpha(static_cast<unsigned char>(c)) || is_digit(static_cast<unsigned char>(c));
  }
  for (char c : std::string_view("!#$%&'*+-.^_`|~"))
    t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr std::array<bool, 256> tchar_table = make_tchar_table();

constexpr bool is_tchar(char c) noexcept {
  return tchar_table[static_cast<unsigned char>(c)];
}

// RFC 9110 §5.5: field-vchar = VCHAR / obs-text, plus SP and HTAB inside the value.
constexpr bool is_field_value_char(char ch) noexcept {
  auto c = static_cast<unsigned char>(ch);
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}

int hex_value(char ch) noexcept {
  auto c = static_cast<unsigned char>(ch);
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char to_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_tchar(c)) return false;
  }
  return true;
}

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ws(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && is_ws(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

bool starts_with_icase(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// RFC 3986 §2.3 unreserved and §2.2 sub-delims.
bool is_unreserved(char c) noexcept {
  auto u = static_cast<unsigned char>(c);
  return is_alpha(u) || is_digit(u) || c == '-' || c == '.' || c == '_' || c == '~';
}
bool is_sub_delim(char c) noexcept {
  return std::string_view("!$&'()*+,;=").find(c) != std::string_view::npos;
}

// uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2/§3.2.3). uri-host is an IP-literal in
// brackets or a reg-name / IPv4address (the latter is a subset of reg-name's characters).
bool valid_authority(std::string_view v, bool require_port) noexcept {
  std::size_t i = 0;
  const std::size_t n = v.size();
  if (n > 0 && v[0] == '[') {
    // IP-literal: IPv6address or IPvFuture; checked for its character set only.
    ++i;
    const std::size_t start = i;
    while (i < n && v[i] != ']') {
      if (!is_unreserved(v[i]) && !is_sub_delim(v[i]) && v[i] != ':') return false;
      ++i;
    }
    if (i == n || i == start) return false;
    ++i;  // ']'
  } else {
    const std::size_t start = i;
    while (i < n && v[i] != ':') {
      if (v[i] == '%') {
        if (i + 2 >= n || hex_value(v[i + 1]) < 0 || hex_value(v[i + 2]) < 0) return false;
        i += 3;
        continue;
      }
      if (!is_unreserved(v[i]) && !is_sub_delim(v[i])) return false;
      ++i;
    }
    if (i == start) return false;  // an empty host is handled by the caller
  }
  if (i == n) return !require_port;
  if (v[i] != ':') return false;
  ++i;
  if (require_port && i == n) return false;
  for (; i < n; ++i) {
    if (!is_digit(static_cast<unsigned char>(v[i]))) return false;
  }
  return true;
}

// Splits a comma-separated list (RFC 9110 §5.6.1) and calls f(element) for each non-empty,
// OWS-trimmed element. Empty elements are ignored as the RFC asks. Stops when f returns false.
template <class F>
bool for_each_element(std::string_view v, F&& f) {
  while (true) {
    const std::size_t comma = v.find(',');
    std::string_view elem = trim_ows(v.substr(0, comma));
    if (!elem.empty() && !f(elem)) return false;
    if (comma == std::string_view::npos) return true;
    v.remove_prefix(comma + 1);
  }
}

// transfer-coding = token *( OWS ";" OWS transfer-parameter ), transfer-parameter =
// token BWS "=" BWS ( token / quoted-string ) (RFC 9110 §10.1.4). Returns the coding name, and
// whether parameters follow; empty name when the element is malformed.
struct coding {
  std::string_view name;
  bool has_params = false;
};
coding parse_coding(std::string_view e) noexcept {
  std::size_t i = 0;
  const std::size_t n = e.size();
  while (i < n && is_tchar(e[i]))
    ++i;
  coding c{e.substr(0, i), false};
  if (i == 0) return {};
  while (true) {
    while (i < n && is_ws(static_cast<unsigned char>(e[i])))
      ++i;
    if (i == n) return c;
    if (e[i] != ';') return {};
    c.has_params = true;
    ++i;
    while (i < n && is_ws(static_cast<unsigned char>(e[i])))
      ++i;
    const std::size_t name_start = i;
    while (i < n && is_tchar(e[i]))
      ++i;
    if (i == name_start) return {};
    while (i < n && is_ws(static_cast<unsigned char>(e[i])))
      ++i;
    if (i == n || e[i] != '=') return {};
    ++i;
    while (i < n && is_ws(static_cast<unsigned char>(e[i])))
      ++i;
    if (i < n && e[i] == '"') {
      ++i;
      while (i < n && e[i] != '"') {
        if (e[i] == '\\') ++i;
        ++i;
      }
      if (i >= n) return {};
      ++i;
    } else {
      const std::size_t val_start = i;
      while (i < n && is_tchar(e[i]))
        ++i;
      if (i == val_start) return {};
    }
  }
}

// Parses one field line (without its CRLF). RFC 9112 §5: field-name ":" OWS field-value OWS.
errc parse_field_line(std::string_view line, header_field& f) noexcept {
  if (line.empty()) return errc::bad_header_name;
  // RFC 9112 §5.2: obs-fold is refused (a line starting with SP/HTAB continues the previous one).
  if (is_ws(static_cast<unsigned char>(line[0]))) return errc::obs_fold;
  std::size_t i = 0;
  while (i < line.size() && is_tchar(line[i]))
    ++i;
  // RFC 9112 §5.1: no whitespace between field-name and colon (MUST reject with 400).
  if (i == 0 || i == line.size() || line[i] != ':') return errc::bad_header_name;
  f.name = line.substr(0, i);
  std::string_view value = line.substr(i + 1);
  for (char c : value) {
    if (!is_field_value_char(c)) return errc::bad_header_value;
  }
  f.value = trim_ows(value);
  return errc{};
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  }
  return true;
}

std::string_view request_head::find(std::string_view name) const noexcept {
  for (const auto& h : headers) {
    if (iequals(h.name, name)) return h.value;
  }
  return {};
}

void request_head::clear() noexcept {
  method = {};
  target = {};
  version_minor = 1;
  headers.clear();
  framing = body_framing::none;
  content_length = 0;
  host = {};
  connection_close = false;
  connection_keep_alive = false;
  connection_upgrade = false;
  expect_continue = false;
  has_unsupported_expect = false;
}

void request_parser::reset() noexcept {
  head_started_ = false;
  head_start_ = 0;
  scan_ = {};
  req_line_end_ = 0;
  method_len_ = target_off_ = target_len_ = 0;
  version_minor_ = 1;
  form_ = target_form::origin;
  bstate_ = body_state::start;
  framing_ = body_framing::none;
  remaining_ = body_seen_ = declared_ = 0;
  line_len_ = 0;
  size_digits_ = 0;
  tscan_ = {};
  trailers_.clear();
}

head_result request_parser::fail_head(errc e) noexcept {
  return {parse_status::error, 0, make_error_code(e)};
}

// RFC 9112 §3: request-line = method SP request-target SP HTTP-version. Bytes [begin, end) of p.
std::error_code request_parser::check_request_line(const char* p, std::size_t begin,
                                                   std::size_t end) noexcept {
  std::size_t i = begin;
  // method = token (RFC 9110 §9.1)
  while (i < end && is_tchar(p[i]))
    ++i;
  if (i == begin) return p[i] == ' ' ? errc::bad_request_line : errc::bad_method;
  if (i == end) return errc::bad_request_line;
  if (p[i] != ' ') return errc::bad_method;
  method_len_ = i - begin;
  ++i;
  // request-target: visible ASCII only (RFC 9112 §3.2); exactly one SP on either side.
  const std::size_t t = i;
  while (i < end && p[i] != ' ') {
    const auto c = static_cast<unsigned char>(p[i]);
    // '#' starts a fragment, which no request-target form includes (RFC 9112 §3.2).
    if (c < 0x21 || c > 0x7e || c == '#') return errc::bad_target;
    ++i;
  }
  if (i == t) return errc::bad_request_line;    // two SPs after the method
  if (i == end) return errc::bad_request_line;  // no version: HTTP/0.9 style
  target_off_ = t;
  target_len_ = i - t;
  ++i;
  const std::string_view version(p + i, end - i);
  if (version.find(' ') != std::string_view::npos) return errc::bad_request_line;
  // RFC 9112 §2.3: HTTP-version = "HTTP" "/" DIGIT "." DIGIT (case-sensitive).
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" ||
      !is_digit(static_cast<unsigned char>(version[5])) || version[6] != '.' ||
      !is_digit(static_cast<unsigned char>(version[7]))) {
    return errc::bad_version;
  }
  // Only major version 1 is spoken here (HTTP/0.9, 2 and 3 → 505). RFC 9110 §2.5: a higher
  // minor version of a major version we implement SHOULD be processed as the highest minor
  // version we conform to, so HTTP/1.2 ... HTTP/1.9 are handled as HTTP/1.1.
  if (version[5] != '1') return errc::unsupported_version;
  version_minor_ = version[7] == '0' ? 0 : 1;

  // RFC 9112 §3.2: the four forms of request-target.
  const std::string_view method(p + begin, method_len_);
  const std::string_view target(p + t, target_len_);
  if (method == "CONNECT") {
    // §3.2.3: authority-form = uri-host ":" port, and only that, for CONNECT.
    if (!valid_authority(target, true)) return errc::bad_target;
    form_ = target_form::authority;
  } else if (target[0] == '/') {
    form_ = target_form::origin;  // §3.2.1
  } else if (target == "*") {
    if (method != "OPTIONS") return errc::bad_target;  // §3.2.4
    form_ = target_form::asterisk;
  } else {
    // §3.2.2: absolute-form; Portico serves the http and https schemes only.
    std::string_view rest;
    if (starts_with_icase(target, "http://")) {
      rest = target.substr(7);
    } else if (starts_with_icase(target, "https://")) {
      rest = target.substr(8);
    } else {
      return errc::bad_target;
    }
    // RFC 9110 §4.2.1: an http(s) URI with an empty host is invalid.
    const std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
    if (!valid_authority(authority, false)) return errc::bad_target;
    form_ = target_form::absolute;
  }
  return {};
}

head_result request_parser::parse_head(std::span<const char> buf, request_head& out) {
  const char* p = buf.data();
  const std::size_t n = buf.size();
  const limits& lim = *limits_;

  if (!head_started_) {
    // RFC 9112 §2.2: skip (a bounded number of) empty lines before the request line. This is
    // redone on each call until the request line starts: it looks at a few bytes only.
    std::size_t i = 0;
    std::size_t empty_lines = 0;
    while (true) {
      if (i >= n) return {};
      if (p[i] == '\r') {
        if (i + 1 >= n) return {};
        if (p[i + 1] != '\n') return fail_head(errc::bare_cr);
        if (++empty_lines > max_leading_empty_lines) return fail_head(errc::bad_request_line);
        i += 2;
        continue;
      }
      if (p[i] == '\n') return fail_head(errc::bare_lf);
      break;
    }
    head_started_ = true;
    head_start_ = i;
    scan_ = {i, i, 0};
    req_line_end_ = 0;
  }

  // Find the empty line ending the head, resuming where the previous call stopped.
  const std::size_t head_limit_pos = head_start_ + lim.max_header_bytes;  // first byte too many
  std::size_t pos = scan_.pos;
  std::size_t head_end = 0;
  while (pos < n) {
    std::size_t e = pos;
    while (e < n && p[e] != '\r' && p[e] != '\n')
      ++e;
    // Limits on the ordinary bytes [pos, e): whichever is passed first wins, so the answer does
    // not depend on how the input was split.
    std::size_t line_limit_pos = static_cast<std::size_t>(-1);
    if (req_line_end_ == 0) line_limit_pos = scan_.line_start + lim.max_request_line;
    if (line_limit_pos < e && line_limit_pos <= head_limit_pos) {
      return fail_head(errc::request_line_too_long);  // RFC 9112 §3 → 414
    }
    if (head_limit_pos < e) return fail_head(errc::header_too_large);
    if (e == n) {
      pos = n;
      break;
    }
    if (p[e] == '\n') return fail_head(errc::bare_lf);
    if (e + 1 == n) {  // CR is the last byte: wait for the next one
      pos = e;
      break;
    }
    if (p[e + 1] != '\n') return fail_head(errc::bare_cr);
    if (e + 2 > head_limit_pos) return fail_head(errc::header_too_large);
    if (req_line_end_ == 0) {
      req_line_end_ = e;
      if (auto ec = check_request_line(p, head_start_, e)) return {parse_status::error, 0, ec};
    } else if (e == scan_.line_start) {
      head_end = e + 2;
      break;
    } else if (++scan_.lines > lim.max_header_count) {
      return fail_head(errc::too_many_headers);
    }
    pos = e + 2;
    scan_.line_start = pos;
  }
  if (head_end == 0) {
    scan_.pos = pos;
    return {};
  }

  if (auto ec = finish_head(p, head_end, out)) return {parse_status::error, 0, ec};
  // Ready for the next request's head (the caller still calls reset() before it).
  head_started_ = false;
  scan_ = {};
  req_line_end_ = 0;
  return {parse_status::done, head_end, {}};
}

// Validates and interprets the field lines, all in the buffer now. `end` is one past the
// CRLFCRLF. The scanner already checked that every CR is followed by LF and that no bare LF
// occurs.
std::error_code request_parser::finish_head(const char* p, std::size_t end, request_head& out) {
  out.clear();
  out.method = std::string_view(p + head_start_, method_len_);
  out.target = std::string_view(p + target_off_, target_len_);
  out.version_minor = version_minor_;
  if (out.headers.capacity() == 0) out.headers.reserve(16);

  std::size_t host_count = 0;
  std::size_t cl_count = 0;
  bool te_seen = false;
  std::size_t te_chunked = 0;    // times chunked appears in the list
  bool te_other = false;         // a coding other than chunked appears
  bool te_last_chunked = false;  // the final coding so far is chunked
  std::uint64_t content_length = 0;

  std::size_t pos = req_line_end_ + 2;
  const std::size_t fields_end = end - 2;  // the final empty line
  while (pos < fields_end) {
    const void* cr = std::memchr(p + pos, '\r', fields_end - pos);
    const std::size_t line_end = static_cast<std::size_t>(static_cast<const char*>(cr) - p);
    header_field f;
    if (errc e = parse_field_line(std::string_view(p + pos, line_end - pos), f); e != errc{}) {
      return e;
    }
    pos = line_end + 2;
    out.headers.push_back(f);

    if (iequals(f.name, "host")) {
      // RFC 9112 §3.2: more than one Host field line → 400.
      if (++host_count > 1) return errc::duplicate_host;
      out.host = f.value;
    } else if (iequals(f.name, "content-length")) {
      // RFC 9110 §8.6 / RFC 9112 §6.3: one value, 1*DIGIT. Even identical repeats are refused:
      // two lines are what smuggling attempts look like.
      if (++cl_count > 1) return errc::duplicate_content_length;
      if (f.value.empty()) return errc::bad_content_length;
      std::uint64_t v = 0;
      for (char c : f.value) {
        if (!is_digit(static_cast<unsigned char>(c))) return errc::bad_content_length;
        const auto d = static_cast<std::uint64_t>(c - '0');
        if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) {
          return errc::bad_content_length;
        }
        v = v * 10 + d;
      }
      content_length = v;
    } else if (iequals(f.name, "transfer-encoding")) {
      // RFC 9112 §6.1: a list over possibly several lines, in the order applied.
      te_seen = true;
      bool malformed = false;
      for_each_element(f.value, [&](std::string_view elem) {
        const coding c = parse_coding(elem);
        if (c.name.empty()) {
          malformed = true;
          return false;
        }
        if (iequals(c.name, "chunked")) {
          // chunked takes no parameters (RFC 9112 §7).
          if (c.has_params) {
            malformed = true;
            return false;
          }
          ++te_chunked;
          te_last_chunked = true;
        } else {
          te_other = true;
          te_last_chunked = false;
        }
        return true;
      });
      if (malformed) return errc::bad_header_value;
    } else if (iequals(f.name, "connection")) {
      // RFC 9110 §7.6.1: Connection = #connection-option, options are case-insensitive tokens.
      bool malformed = false;
      for_each_element(f.value, [&](std::string_view opt) {
        if (!is_token(opt)) {
          malformed = true;
          return false;
        }
        if (iequals(opt, "close")) out.connection_close = true;
        if (iequals(opt, "keep-alive")) out.connection_keep_alive = true;
        if (iequals(opt, "upgrade")) out.connection_upgrade = true;
        return true;
      });
      if (malformed) return errc::bad_header_value;
    } else if (iequals(f.name, "expect")) {
      // RFC 9110 §10.1.1: 100-continue is the only expectation defined.
      for_each_element(f.value, [&](std::string_view x) {
        if (iequals(x, "100-continue")) {
          out.expect_continue = true;
        } else {
          out.has_unsupported_expect = true;
        }
        return true;
      });
    }
  }

  // RFC 9112 §3.2: Host is required in HTTP/1.1, must be valid, and may be empty only when the
  // target carries no authority.
  if (host_count == 0) {
    if (version_minor_ == 1) return errc::missing_host;
  } else if (out.host.empty()) {
    if (form_ == target_form::absolute || form_ == target_form::authority) return errc::bad_host;
  } else if (!valid_authority(out.host, false)) {
    return errc::bad_host;
  }

  if (te_seen) {
    // RFC 9112 §6.1: CL with TE is a smuggling vector; a server MAY reject and Portico does.
    if (cl_count > 0) return errc::content_length_with_transfer_encoding;
    // RFC 9112 §6.1: TE in HTTP/1.0 means the framing is faulty.
    if (version_minor_ == 0) return errc::transfer_encoding_http10;
    // RFC 9112 §6.3: in a request, chunked must be the final coding, else 400; and chunked
    // must not be applied more than once (§6.1).
    if (!te_last_chunked || te_chunked > 1) return errc::chunked_not_final;
    // RFC 9112 §6.1: a coding the server does not understand → 501.
    if (te_other) return errc::unknown_transfer_coding;
    out.framing = body_framing::chunked;
  } else if (cl_count > 0) {
    if (content_length > limits_->max_body_size) return errc::body_too_large;
    out.content_length = content_length;
    out.framing = body_framing::content_length;
  }

  framing_ = out.framing;
  remaining_ = out.content_length;
  body_seen_ = 0;
  declared_ = 0;
  line_len_ = 0;
  size_digits_ = 0;
  tscan_ = {};
  trailers_.clear();
  bstate_ = body_state::start;
  return {};
}

body_result request_parser::parse_body(std::span<const char> buf) {
  switch (framing_) {
    case body_framing::none:
      bstate_ = body_state::done;
      return {parse_status::done, 0, {}, {}};
    case body_framing::content_length: {
      if (remaining_ == 0) {
        bstate_ = body_state::done;
        return {parse_status::done, 0, {}, {}};
      }
      const std::size_t take =
          remaining_ < buf.size() ? static_cast<std::size_t>(remaining_) : buf.size();
      remaining_ -= take;
      body_seen_ += take;
      if (remaining_ == 0) bstate_ = body_state::done;
      return {remaining_ == 0 ? parse_status::done : parse_status::need_more,
              take,
              buf.first(take),
              {}};
    }
    case body_framing::chunked:
      return parse_chunked(buf);
  }
  return {parse_status::error, 0, {}, make_error_code(errc::bad_chunk)};
}

// RFC 9112 §7.1: chunked-body = *chunk last-chunk trailer-section CRLF
//   chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//   chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
// A byte-at-a-time state machine for the framing; chunk data is handed out as views.
body_result request_parser::parse_chunked(std::span<const char> buf) {
  const char* p = buf.data();
  const std::size_t n = buf.size();
  const limits& lim = *limits_;
  auto fail = [](errc e) { return body_result{parse_status::error, 0, {}, make_error_code(e)}; };

  std::size_t i = 0;
  while (true) {
    if (bstate_ == body_state::done) return {parse_status::done, i, {}, {}};
    if (bstate_ == body_state::trailer) return parse_trailer(buf, i);
    if (bstate_ == body_state::chunk_data) {
      if (i == n) return {parse_status::need_more, i, {}, {}};
      const std::size_t take = remaining_ < n - i ? static_cast<std::size_t>(remaining_) : n - i;
      remaining_ -= take;
      body_seen_ += take;
      if (remaining_ == 0) bstate_ = body_state::chunk_data_cr;
      return {parse_status::need_more, i + take, buf.subspan(i, take), {}};
    }
    if (i == n) return {parse_status::need_more, i, {}, {}};

    const char c = p[i++];
    const auto uc = static_cast<unsigned char>(c);
    if (bstate_ == body_state::start) bstate_ = body_state::chunk_size;
    // The chunk-size line, extensions included, is bounded (a client could stream an endless
    // extension otherwise).
    if (bstate_ < body_state::chunk_size_lf && c != '\r' && ++line_len_ > lim.max_chunk_line) {
      return fail(errc::bad_chunk);
    }

    switch (bstate_) {
      case body_state::chunk_size: {
        const int d = hex_value(c);
        if (d >= 0) {
          if (++size_digits_ > max_chunk_size_digits) return fail(errc::bad_chunk);
          remaining_ = remaining_ * 16 + static_cast<std::uint64_t>(d);
          break;
        }
        if (size_digits_ == 0) return fail(errc::bad_chunk);
        if (c == '\r') {
          bstate_ = body_state::chunk_size_lf;
        } else if (c == ';') {
          bstate_ = body_state::ext_pre_name;
        } else if (is_ws(uc)) {
          bstate_ = body_state::ext_pre_semi;
        } else {
          return fail(errc::bad_chunk);
        }
        break;
      }
      case body_state::ext_pre_semi:  // BWS before ";"
        if (c == ';') {
          bstate_ = body_state::ext_pre_name;
        } else if (!is_ws(uc)) {
          return fail(errc::bad_chunk);
        }
        break;
      case body_state::ext_pre_name:  // BWS after ";"
        if (is_tchar(c)) {
          bstate_ = body_state::ext_name;
        } else if (!is_ws(uc)) {
          return fail(errc::bad_chunk);
        }
        break;
      case body_state::ext_name:
        if (is_tchar(c)) break;
        if (c == '\r') {
          bstate_ = body_state::chunk_size_lf;
        } else if (c == ';') {
          bstate_ = body_state::ext_pre_name;
        } else if (c == '=') {
          bstate_ = body_state::ext_pre_val;
        } else if (is_ws(uc)) {
          bstate_ = body_state::ext_post_name;
        } else {
          return fail(errc::bad_chunk);
        }
        break;
      case body_state::ext_post_name:  // BWS after the name: "=" or ";" must follow
        if (c == '=') {
          bstate_ = body_state::ext_pre_val;
        } else if (c == ';') {
          bstate_ = body_state::ext_pre_name;
        } else if (!is_ws(uc)) {
          return fail(errc::bad_chunk);
        }
        break;
      case body_state::ext_pre_val:  // BWS after "="
        if (is_tchar(c)) {
          bstate_ = body_state::ext_token;
        } else if (c == '"') {
          bstate_ = body_state::ext_qstr;
        } else if (!is_ws(uc)) {
          return fail(errc::bad_chunk);
        }
        break;
      case body_state::ext_token:
        if (is_tchar(c)) break;
        if (c == '\r') {
          bstate_ = body_state::chunk_size_lf;
        } else if (c == ';') {
          bstate_ = body_state::ext_pre_name;
        } else if (is_ws(uc)) {
          bstate_ = body_state::ext_pre_semi;
        } else {
          return fail(errc::bad_chunk);
        }
        break;
      case body_state::ext_qstr:
        // RFC 9110 §5.6.4: qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
        if (c == '"') {
          bstate_ = body_state::ext_after_val;
        } else if (c == '\\') {
          bstate_ = body_state::ext_qpair;
        } else if (!(c == '\t' || (uc >= 0x20 && uc != 0x7f))) {
          return fail(errc::bad_chunk);
        }
        break;
      case body_state::ext_qpair:  // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
        if (!(c == '\t' || (uc >= 0x20 && uc != 0x7f))) return fail(errc::bad_chunk);
        bstate_ = body_state::ext_qstr;
        break;
      case body_state::ext_after_val:
        if (c == '\r') {
          bstate_ = body_state::chunk_size_lf;
        } else if (c == ';') {
          bstate_ = body_state::ext_pre_name;
        } else if (is_ws(uc)) {
          bstate_ = body_state::ext_pre_semi;
        } else {
          return fail(errc::bad_chunk);
        }
        break;
      case body_state::chunk_size_lf:
        if (c != '\n') return fail(errc::bad_chunk);
        line_len_ = 0;
        size_digits_ = 0;
        if (remaining_ == 0) {  // last-chunk: the trailer section follows (§7.1.2)
          bstate_ = body_state::trailer;
          tscan_ = {};
          break;
        }
        // Refuse an oversized body before any of its bytes are handed out.
        if (remaining_ > lim.max_body_size - declared_) return fail(errc::body_too_large);
        declared_ += remaining_;
        bstate_ = body_state::chunk_data;
        break;
      case body_state::chunk_data_cr:
        if (c != '\r') return fail(errc::bad_chunk);
        bstate_ = body_state::chunk_data_lf;
        break;
      case body_state::chunk_data_lf:
        if (c != '\n') return fail(errc::bad_chunk);
        bstate_ = body_state::chunk_size;
        break;
      default:
        return fail(errc::bad_chunk);
    }
  }
}

// RFC 9112 §7.1.2: trailer-section = *( field-line CRLF ), then the final CRLF. The section is
// reported only once it is whole, so that the trailer views point into the buffer of the call
// that returns done. `base` is where the section starts in `buf`; the scan position is kept
// relative to it, which stays valid since the next call's buffer starts at the section.
body_result request_parser::parse_trailer(std::span<const char> buf, std::size_t base) {
  const char* p = buf.data() + base;
  const std::size_t n = buf.size() - base;
  const limits& lim = *limits_;
  auto fail = [](errc e) { return body_result{parse_status::error, 0, {}, make_error_code(e)}; };

  std::size_t pos = tscan_.pos;
  std::size_t end = 0;
  while (pos < n) {
    std::size_t e = pos;
    while (e < n && p[e] != '\r' && p[e] != '\n')
      ++e;
    if (e > lim.max_trailer_bytes) return fail(errc::header_too_large);
    if (e == n) {
      pos = n;
      break;
    }
    if (p[e] == '\n') return fail(errc::bad_trailer);
    if (e + 1 == n) {
      pos = e;
      break;
    }
    if (p[e + 1] != '\n') return fail(errc::bad_trailer);
    if (e + 2 > lim.max_trailer_bytes) return fail(errc::header_too_large);
    if (e == tscan_.line_start) {
      end = e + 2;
      break;
    }
    if (++tscan_.lines > lim.max_trailer_count) return fail(errc::too_many_headers);
    pos = e + 2;
    tscan_.line_start = pos;
  }
  if (end == 0) {
    tscan_.pos = pos;
    return {parse_status::need_more, base, {}, {}};
  }

  trailers_.clear();
  std::size_t lpos = 0;
  while (lpos < end - 2) {
    const void* cr = std::memchr(p + lpos, '\r', end - 2 - lpos);
    const std::size_t line_end = static_cast<std::size_t>(static_cast<const char*>(cr) - p);
    header_field f;
    // Any malformed trailer line, obs-fold included, is bad_trailer.
    if (parse_field_line(std::string_view(p + lpos, line_end - lpos), f) != errc{}) {
      return fail(errc::bad_trailer);
    }
    trailers_.push_back(f);
    lpos = line_end + 2;
  }
  bstate_ = body_state::done;
  return {parse_status::done, base + end, {}, {}};
}

namespace {
const limits default_limits{};
}  // namespace

request_parser::request_parser() noexcept : limits_(&default_limits) {}

}  // namespace portico::http1
