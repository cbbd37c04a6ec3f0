// The WebSocket opening handshake, server side (RFC 6455 §4.2; RFC 8441 for HTTP/2), sans-I/O:
// given the request's method, version and header fields and the endpoint's policy, it decides
// to accept (and gives the response fields) or to refuse (and gives the status).
//
// Glue for HTTP/1.1 (the request was parsed by src/http1):
//   ws::upgrade_request rq{method, version, headers, tls};
//   ws::handshake_result h = ws::accept_upgrade(rq, policy);
//   if (!h.accepted()) { answer h.status with h.fields (and h.detail as the body); keep going }
//   else { write "HTTP/1.1 101 Switching Protocols" + h.fields; then ws::session s(cfg, events,
//          h.deflate); feed it the bytes that follow the request head }
// For RFC 8441 (HTTP/2 extended CONNECT; the HTTP/2 session must announce
// SETTINGS_ENABLE_CONNECT_PROTOCOL), accept_extended_connect() does the same with 200 instead
// of 101 and no key: the stream's DATA frames then carry the WebSocket frames.
//
// Checks, in this order, and the refusal each gives (docs/websocket.md has the table):
//   400  method not GET (CONNECT for RFC 8441), HTTP version below 1.1, missing Host (or
//        :authority), no "websocket" token in Upgrade, no "upgrade" token in Connection (RFC
//        8441: :protocol not "websocket")
//   426  Sec-WebSocket-Version missing or not 13; the response carries Sec-WebSocket-Version: 13
//        (RFC 6455 §4.2.2)
//   400  Sec-WebSocket-Key missing, repeated, or not the base64 encoding of 16 octets
//   403  Origin refused by the policy (RFC 6455 §10.2), or missing while the endpoint requires
//        authentication
//   400  Sec-WebSocket-Extensions that does not parse; require_subprotocol and no common
//        subprotocol
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "portico/http.hpp"
#include "ws/deflate.hpp"

namespace portico::ws {

/// Which origins may open a WebSocket to an endpoint (RFC 6455 §10.2; RFC 6454 origins).
struct origin_policy {
  /// Allowed origins besides the server's own. Each is either an exact origin
  /// "https://app.example.com" (or "http://localhost:8080"; a default port may be written or
  /// not), "https://*.example.com" (any subdomain, at any depth, of example.com, not
  /// example.com itself; same scheme and port), or "*" (any origin: only for endpoints that
  /// need no credentials). Scheme and host compare case-insensitively.
  std::vector<std::string> allowed;
  /// Accept the server's own origin (same scheme, host and port as the request: the scheme
  /// from whether the connection is TLS, host and port from Host or :authority).
  bool allow_same_origin = true;
};

/// How one WebSocket endpoint answers handshakes.
struct endpoint_policy {
  origin_policy origins;
  /// The endpoint authenticates with ambient credentials (cookies, HTTP auth, client
  /// certificates): a request without Origin is refused (403), since only a non-browser client
  /// omits it and the endpoint cannot tell such a client from a forged one.
  bool requires_authentication = false;
  /// Subprotocols the endpoint speaks, most preferred first (RFC 6455 §4.2.2 item 5.4: the
  /// server selects one of the client's, or none).
  std::vector<std::string> subprotocols;
  /// Refuse (400) a client that offers none of `subprotocols` instead of accepting without one.
  bool require_subprotocol = false;
  deflate_config deflate;
};

/// An HTTP/1.1 upgrade request (views valid during accept_upgrade()).
struct upgrade_request {
  std::string_view method;
  int version = 11;  ///< 10 for HTTP/1.0, 11 for HTTP/1.1
  std::span<const header_view> headers;
  bool tls = false;  ///< the connection is TLS: the server's origin is https://
};

/// An HTTP/2 extended CONNECT request (RFC 8441 §4; views valid during the call).
struct connect_request {
  std::string_view method;     ///< :method
  std::string_view protocol;   ///< :protocol
  std::string_view scheme;     ///< :scheme ("https" or "http"): the server's origin scheme
  std::string_view authority;  ///< :authority: the server's origin host and port
  std::span<const header_view> headers;  ///< regular fields (pseudo-headers not needed)
};

struct handshake_result {
  /// 101 (HTTP/1.1) or 200 (RFC 8441) when accepted; 400, 403 or 426 when refused.
  int status = 400;
  /// Response fields to send: on accept Upgrade, Connection, Sec-WebSocket-Accept (HTTP/1.1
  /// only), Sec-WebSocket-Protocol and Sec-WebSocket-Extensions when negotiated; on 426
  /// Sec-WebSocket-Version: 13.
  std::vector<std::pair<std::string, std::string>> fields;
  std::string subprotocol;                ///< the selected one, or empty
  std::optional<deflate_params> deflate;  ///< permessage-deflate agreed (give it to the session)
  /// Why it was refused (static storage, for logs and the response body); empty on accept.
  std::string_view detail;

  bool accepted() const noexcept { return status == 101 || status == 200; }
};

/// Decides an HTTP/1.1 Upgrade request (RFC 6455 §4.2.1, §4.2.2).
handshake_result accept_upgrade(const upgrade_request& rq, const endpoint_policy& policy);

/// Decides an RFC 8441 extended CONNECT request (:method CONNECT, :protocol websocket): the
/// same checks on version, Origin, subprotocols and extensions; no Upgrade, Connection or key;
/// 200 instead of 101.
handshake_result accept_extended_connect(const connect_request& rq, const endpoint_policy& policy);

/// Sec-WebSocket-Accept for a key: base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
/// (RFC 6455 §4.2.2 item 5.4, §1.3).
std::string compute_accept(std::string_view key);

/// Whether `key` is the base64 encoding of exactly 16 octets (24 characters, "==" padding,
/// canonical final character).
bool valid_key(std::string_view key) noexcept;

/// Whether `origin` (the Origin field value) is allowed by `policy` for a server reached as
/// `server_scheme`://`host` (`host` as in Host: host[:port]).
bool origin_allowed(std::string_view origin, const origin_policy& policy,
                    std::string_view server_scheme, std::string_view host);

}  // namespace portico::ws
