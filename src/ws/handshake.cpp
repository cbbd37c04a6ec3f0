// WebSocket opening handshake, server side (RFC 6455 §4.2, §10.2; RFC 8441 §4, §5).
#include "ws/handshake.hpp"

#include <openssl/evp.h>

#include <array>
#include <cctype>
#include <charconv>

#include "ws/syntax.hpp"

namespace portico::ws {
namespace {

using detail::ascii_iequals;
using detail::ascii_lower;
using detail::trim_ows;

constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";  // RFC 6455 §1.3

handshake_result refuse(int status, std::string_view detail) {
  handshake_result r;
  r.status = status;
  r.detail = detail;
  return r;
}

// Whether any field named `name` holds `token` in its comma-separated list.
bool has_token(std::span<const header_view> headers, std::string_view name,
               std::string_view token) {
  bool found = false;
  for (const header_view& h : headers) {
    if (!ascii_iequals(h.name, name)) continue;
    detail::for_each_list_element(h.value, [&](std::string_view e) {
      if (ascii_iequals(e, token)) found = true;
      return true;
    });
  }
  return found;
}

// The values of every field named `name`.
std::vector<std::string_view> values_of(std::span<const header_view> headers,
                                        std::string_view name) {
  std::vector<std::string_view> v;
  for (const header_view& h : headers)
    if (ascii_iequals(h.name, name)) v.push_back(trim_ows(h.value));
  return v;
}

// ---- origins (RFC 6454 §6.2 serialization: scheme "://" host [ ":" port ]) -------------------

struct origin_parts {
  std::string scheme;  // lowercase
  std::string host;    // lowercase; IPv6 literals keep their brackets
  unsigned port = 0;
};

unsigned default_port(std::string_view scheme) {
  if (scheme == "https" || scheme == "wss") return 443;
  if (scheme == "http" || scheme == "ws") return 80;
  return 0;
}

bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
         c == '*';
}

// Parses "host[:port]" (a Host value or the part of an origin after "://").
bool parse_authority(std::string_view a, std::string_view scheme, origin_parts& out) {
  std::string_view host = a;
  std::string_view port;
  if (!a.empty() && a.front() == '[') {
    const std::size_t close = a.find(']');
    if (close == std::string_view::npos) return false;
    host = a.substr(0, close + 1);
    const std::string_view rest = a.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
      if (port.empty()) return false;
    }
    for (char c : host.substr(1, host.size() - 2))
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return false;
  } else {
    const std::size_t colon = a.rfind(':');
    if (colon != std::string_view::npos) {
      host = a.substr(0, colon);
      port = a.substr(colon + 1);
      if (port.empty()) return false;
    }
    if (host.empty()) return false;
  }
  out.host.clear();
  for (char c : host) {
    const char l = ascii_lower(c);
    if (!(host.front() == '[' || host_char(l))) return false;
    out.host.push_back(l);
  }
  out.scheme.clear();
  for (char c : scheme)
    out.scheme.push_back(ascii_lower(c));
  if (port.empty()) {
    out.port = default_port(out.scheme);
  } else {
    unsigned p = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p > 65535 || port.size() > 5)
      return false;
    out.port = p;
  }
  return true;
}

bool parse_origin(std::string_view o, origin_parts& out) {
  const std::size_t sep = o.find("://");
  if (sep == std::string_view::npos || sep == 0) return false;
  const std::string_view scheme = o.substr(0, sep);
  for (char c : scheme)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.'))
      return false;
  const std::string_view rest = o.substr(sep + 3);
  // An origin has no path, query, fragment or userinfo.
  if (rest.find_first_of("/?#@") != std::string_view::npos) return false;
  return parse_authority(rest, scheme, out);
}

bool matches(const origin_parts& o, std::string_view pattern) {
  origin_parts p;
  if (!parse_origin(pattern, p)) return false;
  if (p.scheme != o.scheme || p.port != o.port) return false;
  if (p.host.rfind("*.", 0) == 0) {
    // "*.example.com": one or more labels in front of ".example.com".
    const std::string_view suffix = std::string_view(p.host).substr(1);  // ".example.com"
    if (suffix.find('*') != std::string_view::npos || o.host.front() == '[') return false;
    return o.host.size() > suffix.size() &&
           o.host.compare(o.host.size() - suffix.size(), suffix.size(), suffix) == 0 &&
           o.host[0] != '.';
  }
  if (p.host.find('*') != std::string::npos) return false;
  return p.host == o.host;
}

// ---- the checks both entries share -----------------------------------------------------------

handshake_result common_checks(std::span<const header_view> headers, const endpoint_policy& pol,
                               std::string_view scheme, std::string_view host, int ok_status) {
  // RFC 6455 §4.2.2: version 13 only; otherwise 426 naming the versions we speak.
  const std::vector<std::string_view> versions = values_of(headers, "Sec-WebSocket-Version");
  if (versions.size() != 1 || versions[0] != "13") {
    handshake_result r = refuse(426, versions.empty() ? "missing Sec-WebSocket-Version"
                                                      : "unsupported Sec-WebSocket-Version");
    r.fields.emplace_back("Sec-WebSocket-Version", "13");
    return r;
  }

  // RFC 6455 §10.2: the Origin is what protects browser users from cross-site WebSocket
  // hijacking; cookies ride along with a forged handshake, the Origin cannot be forged by a page.
  const std::vector<std::string_view> origins = values_of(headers, "Origin");
  if (origins.size() > 1) return refuse(403, "more than one Origin");
  if (origins.empty()) {
    if (pol.requires_authentication) return refuse(403, "Origin required by this endpoint");
  } else if (!origin_allowed(origins[0], pol.origins, scheme, host)) {
    return refuse(403, "Origin not allowed");
  }

  handshake_result r;
  r.status = ok_status;

  const std::vector<std::string_view> ext = values_of(headers, "Sec-WebSocket-Extensions");
  extension_negotiation n = negotiate_deflate(ext, pol.deflate);
  if (n.malformed) return refuse(400, "malformed Sec-WebSocket-Extensions");

  // RFC 6455 §4.2.2 item 5.4 /subprotocol/: the first of ours the client offered.
  std::vector<std::string_view> offered;
  bool bad_list = false;
  for (std::string_view v : values_of(headers, "Sec-WebSocket-Protocol"))
    if (!detail::for_each_list_element(v, [&](std::string_view e) {
          if (!detail::is_token(e)) return false;
          offered.push_back(e);
          return true;
        }))
      bad_list = true;
  if (bad_list) return refuse(400, "malformed Sec-WebSocket-Protocol");
  for (const std::string& mine : pol.subprotocols) {
    for (std::string_view theirs : offered)
      if (theirs == mine) {
        r.subprotocol = mine;
        break;
      }
    if (!r.subprotocol.empty()) break;
  }
  if (r.subprotocol.empty() && pol.require_subprotocol && !pol.subprotocols.empty())
    return refuse(400, "no common subprotocol");

  if (!r.subprotocol.empty()) r.fields.emplace_back("Sec-WebSocket-Protocol", r.subprotocol);
  if (n.params) {
    r.deflate = n.params;
    r.fields.emplace_back("Sec-WebSocket-Extensions", std::move(n.response));
  }
  return r;
}

}  // namespace

bool valid_key(std::string_view key) noexcept {
  // 16 octets -> 22 base64 characters and "==" (RFC 4648 §4); the last character carries 2
  // bits, so its 4 low bits must be 0 (A, Q, g or w) for a canonical encoding.
  if (key.size() != 24 || key[22] != '=' || key[23] != '=') return false;
  for (std::size_t i = 0; i < 22; ++i) {
    const char c = key[i];
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/')) return false;
  }
  const char last = key[21];
  return last == 'A' || last == 'Q' || last == 'g' || last == 'w';
}

std::string compute_accept(std::string_view key) {
  std::string input(key);
  input += guid;
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  if (EVP_Digest(input.data(), input.size(), digest.data(), &len, EVP_sha1(), nullptr) != 1)
    return {};
  std::array<unsigned char, 64> b64{};
  const int n = EVP_EncodeBlock(b64.data(), digest.data(), static_cast<int>(len));
  return std::string(reinterpret_cast<const char*>(b64.data()), static_cast<std::size_t>(n));
}

bool origin_allowed(std::string_view origin, const origin_policy& policy,
                    std::string_view server_scheme, std::string_view host) {
  origin = trim_ows(origin);
  for (const std::string& a : policy.allowed)
    if (a == "*" || a == origin) return true;  // "*", and exact strings such as "null"
  origin_parts o;
  if (!parse_origin(origin, o)) return false;
  if (policy.allow_same_origin) {
    origin_parts self;
    if (parse_authority(trim_ows(host), server_scheme, self) && self.scheme == o.scheme &&
        self.host == o.host && self.port == o.port)
      return true;
  }
  for (const std::string& a : policy.allowed)
    if (matches(o, a)) return true;
  return false;
}

handshake_result accept_upgrade(const upgrade_request& rq, const endpoint_policy& policy) {
  // RFC 6455 §4.2.1: "An HTTP/1.1 or higher GET request".
  if (rq.method != "GET") return refuse(400, "WebSocket handshake must be GET");
  if (rq.version < 11) return refuse(400, "WebSocket handshake needs HTTP/1.1");
  const std::vector<std::string_view> hosts = values_of(rq.headers, "Host");
  if (hosts.size() != 1 || hosts[0].empty()) return refuse(400, "missing Host");
  if (!has_token(rq.headers, "Upgrade", "websocket"))
    return refuse(400, "Upgrade does not name websocket");
  if (!has_token(rq.headers, "Connection", "upgrade"))
    return refuse(400, "Connection does not name upgrade");

  // Version before key: a client of another version may use another key format (§4.4).
  const std::vector<std::string_view> versions = values_of(rq.headers, "Sec-WebSocket-Version");
  if (versions.size() != 1 || versions[0] != "13")
    return common_checks(rq.headers, policy, "", "", 101);  // the 426 refusal

  const std::vector<std::string_view> keys = values_of(rq.headers, "Sec-WebSocket-Key");
  if (keys.size() != 1) return refuse(400, "missing or repeated Sec-WebSocket-Key");
  if (!valid_key(keys[0])) return refuse(400, "Sec-WebSocket-Key is not 16 bytes in base64");

  handshake_result r = common_checks(rq.headers, policy, rq.tls ? "https" : "http", hosts[0], 101);
  if (!r.accepted()) return r;
  // RFC 6455 §4.2.2 item 5: the fields of the 101 response, the negotiated ones last.
  std::vector<std::pair<std::string, std::string>> fields;
  fields.emplace_back("Upgrade", "websocket");
  fields.emplace_back("Connection", "Upgrade");
  fields.emplace_back("Sec-WebSocket-Accept", compute_accept(keys[0]));
  for (auto& f : r.fields)
    fields.push_back(std::move(f));
  r.fields = std::move(fields);
  return r;
}

handshake_result accept_extended_connect(const connect_request& rq, const endpoint_policy& policy) {
  // RFC 8441 §4: CONNECT with :protocol; §5: "websocket", no Sec-WebSocket-Key/Accept, 200.
  if (rq.method != "CONNECT") return refuse(400, "extended CONNECT expected");
  if (rq.protocol != "websocket") return refuse(400, ":protocol is not websocket");
  if (rq.authority.empty()) return refuse(400, "missing :authority");
  if (rq.scheme != "https" && rq.scheme != "http") return refuse(400, "bad :scheme");
  return common_checks(rq.headers, policy, rq.scheme, rq.authority, 200);
}

}  // namespace portico::ws
