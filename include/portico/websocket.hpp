// WebSocket endpoints (RFC 6455, permessage-deflate RFC 7692) as an application sees them:
// server::websocket(path, handlers, options) and the `websocket` handle given to the handlers.
// docs/websocket.md explains the handshake checks, the Origin policy and the limits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "portico/http.hpp"

namespace portico {

namespace detail {
class ws_link;
}

/// One WebSocket connection. A copyable handle (reference-counted): keep a copy to send later.
/// Every call must be made on the worker thread that owns the connection — from its handlers,
/// or through post() from elsewhere. Once the connection is closed, sends return false and
/// the other calls do nothing.
class websocket {
 public:
  websocket(const websocket& o) noexcept;
  websocket& operator=(const websocket& o) noexcept;
  ~websocket();

  /// Queues a text message (must be UTF-8) or a binary one; compressed when permessage-deflate
  /// was agreed. False when nothing was queued (closed, or text not UTF-8). Messages queued
  /// above the endpoint's high_water still go out; wait for on_drain before sending more
  /// (congested()); past max_buffered the connection is closed with 1008.
  bool send_text(std::string_view text);
  bool send_binary(std::string_view data);
  /// A Ping (payload at most 125 bytes); the Pong arrives at on_pong.
  bool ping(std::string_view payload = {});
  /// Starts the closing handshake (RFC 6455 §7.1.2): `code` 1000-1003, 1007-1011 or 3000-4999,
  /// `reason` UTF-8 of at most 123 bytes. on_close follows when the peer answers (or after
  /// close_timeout_ms).
  void close(std::uint16_t code = 1000, std::string_view reason = {});

  /// Bytes queued and not yet written to the socket.
  std::size_t buffered_amount() const noexcept;
  /// True while buffered_amount() is above the endpoint's high_water (on_drain follows).
  bool congested() const noexcept;
  /// True until the closing handshake started or the connection went away.
  bool is_open() const noexcept;

  /// The subprotocol agreed in the handshake (empty when none).
  std::string_view subprotocol() const noexcept;
  /// The request target of the handshake ("/chat?room=1").
  std::string_view target() const noexcept;
  std::string_view remote_ip() const noexcept;
  /// Per-connection application data, kept as long as the connection.
  std::shared_ptr<void>& user_data() noexcept;

  /// Publish/subscribe across every worker thread: this connection receives the messages
  /// published to `topic` (server::publish, websocket::publish) until it unsubscribes or
  /// closes. Topics are exact strings.
  void subscribe(std::string_view topic);
  void unsubscribe(std::string_view topic);
  /// Sends `data` to every subscriber of `topic` on every worker (this one included when
  /// subscribed). The other workers get it on their next loop turn.
  void publish(std::string_view topic, std::string_view data, bool text = true);

  /// Runs `fn` on this connection's worker thread. Thread-safe.
  void post(std::function<void()> fn) const;

  /// Library-internal.
  explicit websocket(detail::ws_link* l) noexcept;

 private:
  detail::ws_link* l_;
};

/// How an endpoint answers handshakes, and its limits (docs/websocket.md).
struct websocket_options {
  /// Origins allowed besides the server's own (RFC 6455 §10.2): exact origins
  /// ("https://app.example.com"), "https://*.example.com" (any subdomain), or "*" (any origin;
  /// only for endpoints that use no ambient credentials). A refused origin gets 403.
  std::vector<std::string> allowed_origins;
  /// The server's own origin (same scheme, host and port as the request) is allowed.
  bool allow_same_origin = true;
  /// The endpoint relies on ambient credentials (cookies, HTTP auth): a handshake without
  /// Origin (a non-browser client) is refused with 403 too.
  bool requires_authentication = false;
  /// Subprotocols spoken, most preferred first; the first one the client also offers is chosen.
  std::vector<std::string> subprotocols;
  /// Refuse (400) a client that offers none of `subprotocols`.
  bool require_subprotocol = false;
  /// Negotiate permessage-deflate (RFC 7692) when the client offers it.
  bool permessage_deflate = true;
  /// Largest message accepted (after inflation): more → close 1009.
  std::size_t max_message_size = 16 * 1024 * 1024;
  /// Buffered output above which congested() is true and on_drain follows.
  std::size_t high_water = 1024 * 1024;
  /// Buffered output past which the connection is closed with 1008 (a consumer too slow).
  std::size_t max_buffered = 16 * 1024 * 1024;
  /// Send a Ping after this long without input (0: never); no input at all for
  /// pong_timeout_ms after it → the connection is dropped (on_close 1006).
  unsigned idle_ping_ms = 0;
  unsigned pong_timeout_ms = 10000;
  /// After our Close, how long to wait for the peer's Close before dropping the connection.
  unsigned close_timeout_ms = 5000;
};

/// The callbacks of an endpoint. All run on the connection's worker thread.
struct websocket_handlers {
  /// Before the upgrade is accepted (after the RFC 6455 and Origin checks): return 0 to accept,
  /// or an HTTP status to refuse with (401, 403, ...). Authenticate here with a token from the
  /// Authorization field, the Sec-WebSocket-Protocol offer or the query (docs/websocket.md
  /// explains why cookies alone are not enough).
  std::function<int(const request& req)> on_upgrade;
  std::function<void(websocket& ws)> on_open;
  /// A complete message; `text` tells a text message (valid UTF-8) from a binary one. The view
  /// is valid during the call.
  std::function<void(websocket& ws, std::string_view message, bool text)> on_message;
  /// Called once when the connection ends: the peer's close code and reason, ours when the
  /// server failed it (1002, 1007, 1008, 1009, 1011), or 1006 when it ended without a Close.
  std::function<void(websocket& ws, std::uint16_t code, std::string_view reason)> on_close;
  /// Buffered output fell back to high_water after congested() was true.
  std::function<void(websocket& ws)> on_drain;
  std::function<void(websocket& ws, std::string_view payload)> on_pong;
};

}  // namespace portico
