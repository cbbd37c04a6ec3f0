// A Portico server: routes, handlers, and the worker threads that run them.
//
//   portico::server srv({.listen = {"127.0.0.1:8080"}});
//   srv.get("/hello/:name", [](const portico::request& req, portico::response& res) {
//     res.header("content-type", "text/plain").send("Hello, " + std::string(req.param("name")));
//   });
//   return srv.run();  // until SIGINT or SIGTERM, then drains
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "portico/http.hpp"
#include "portico/options.hpp"
#include "portico/websocket.hpp"

namespace portico {

/// Upper bounds, in microseconds, of the request latency histogram's buckets (0.1 ms to 10 s);
/// one more bucket holds the slower requests. A request's latency runs from the moment its
/// complete request (head and body) is dispatched to its handler to the moment the last byte of
/// its response is handed to the kernel (write(2), writev(2) or sendfile(2) returned).
inline constexpr std::array<std::uint32_t, 16> latency_bounds_us = {
    100,   250,    500,    1000,   2500,    5000,    10000,   25000,
    50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};

/// Counters summed over all workers (each worker writes its own; reading takes no lock).
struct server_stats {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_refused = 0;  ///< over max_connections or fd exhaustion
  std::uint64_t connections_open = 0;
  std::uint64_t requests = 0;
  std::uint64_t responses_1xx = 0, responses_2xx = 0, responses_3xx = 0, responses_4xx = 0,
                responses_5xx = 0;
  std::uint64_t bytes_in = 0, bytes_out = 0;
  std::uint64_t resets_received = 0;  ///< ECONNRESET / EPIPE from peers
  std::uint64_t resets_sent = 0;      ///< abortive closes (RST) by the server
  std::uint64_t timeouts_header = 0, timeouts_body = 0, timeouts_idle = 0, timeouts_write = 0;
  std::uint64_t protocol_errors = 0;     ///< requests refused with 4xx/5xx by the parser
  std::uint64_t timeouts_handshake = 0;  ///< TLS handshakes not finished in time
  std::uint64_t tls_handshakes = 0;      ///< TLS handshakes completed (resumed ones included)
  std::uint64_t tls_resumed = 0;         ///< of which resumed (session ID, ticket, PSK)
  /// TLS handshakes that failed: no common version, cipher or group, a malformed ClientHello,
  /// a fatal alert from the client (it refused our certificate), plain HTTP sent to a TLS port.
  /// Not counted: a peer that closes without a word (or times out: timeouts_handshake).
  std::uint64_t tls_handshake_failures = 0;
  /// TLS connections that failed after the handshake: a bad or malformed record, a fatal alert
  /// from the peer, a peer provoking answers it never reads. Closing without close_notify is
  /// not an error (most HTTP clients do it).
  std::uint64_t tls_errors = 0;
  /// Open connections by what they do now; they add up to connections_open (a reader running
  /// while workers change them may see the sum off by the connections changing at that moment).
  std::uint64_t connections_reading = 0;  ///< part of a request head or body received
  std::uint64_t connections_writing = 0;  ///< a request is being handled or answered
  std::uint64_t connections_idle = 0;     ///< keep-alive: waiting for the next request
  std::uint64_t connections_closing = 0;  ///< our FIN sent, waiting for the peer to close
  /// The part of the four above that came through a TLS listener (HTTP/1.1 over TLS; a
  /// connection still in its TLS handshake counts as reading).
  std::uint64_t tls_connections_reading = 0, tls_connections_writing = 0, tls_connections_idle = 0,
                tls_connections_closing = 0;
  /// The part of the four totals that speaks HTTP/2 (prior knowledge, h2c upgrade or ALPN h2;
  /// writing: streams open, idle: none), and of those the ones over TLS (also counted in
  /// tls_connections_*).
  std::uint64_t http2_connections_reading = 0, http2_connections_writing = 0,
                http2_connections_idle = 0, http2_connections_closing = 0;
  std::uint64_t http2_tls_connections_reading = 0, http2_tls_connections_writing = 0,
                http2_tls_connections_idle = 0, http2_tls_connections_closing = 0;
  /// The same for WebSocket connections (after the 101; idle: nothing queued to send), and of
  /// those the ones over TLS.
  std::uint64_t websocket_connections_reading = 0, websocket_connections_writing = 0,
                websocket_connections_idle = 0, websocket_connections_closing = 0;
  std::uint64_t websocket_tls_connections_reading = 0, websocket_tls_connections_writing = 0,
                websocket_tls_connections_idle = 0, websocket_tls_connections_closing = 0;
  /// WebSocket handshakes accepted (101) and refused (400, 403, 426, or the application's
  /// status).
  std::uint64_t websocket_upgrades = 0, websocket_refused = 0;
  /// Request latency histogram (see latency_bounds_us), not cumulative: latency_counts[i]
  /// counts the responses with latency in (bound[i-1], bound[i]]; the last element counts those
  /// above the last bound. Only requests dispatched to a handler whose response went out in
  /// full are counted (not the parser's error answers, not responses cut by a reset).
  std::array<std::uint64_t, latency_bounds_us.size() + 1> latency_counts{};
  std::uint64_t latency_sum_ns = 0;  ///< sum of the latencies counted
};

/// Options of the static-file handler.
struct static_options {
  std::string index = "index.html";  ///< served for a directory path
  bool show_hidden = false;          ///< serve names starting with '.' (default: 404)
  bool list_directories = false;     ///< a directory without index gets an HTML listing
  bool follow_symlinks = false;      ///< allow symbolic links that lead outside the root
  bool precompressed = true;         ///< serve FILE.br / FILE.gz when Accept-Encoding allows
  std::string mime_types_file = "/etc/mime.types";  ///< extra types (built-in table first)
  /// Link preload hints: a 2xx/304 response for request path `first` ("/", "/index.html")
  /// carries `Link: <second>; rel=preload`, which HTTP/2 pushes with http2.push_preload.
  std::vector<std::pair<std::string, std::string>> preload;
};

/// A TLS certificate, key or setting that cannot be used, thrown by the server constructor.
/// what() names the file and gives OpenSSL's reason, e.g.
///   key file "/etc/portico/a.key": does not match the certificate in "/etc/portico/a.pem"
///   (OpenSSL: key values mismatch)
class tls_config_error : public std::runtime_error {
 public:
  tls_config_error(const std::string& message, std::string file)
      : std::runtime_error(message), file_(std::move(file)) {}
  /// The file the error is about; empty for a setting that is not a file.
  const std::string& file() const noexcept { return file_; }

 private:
  std::string file_;
};

class server {
 public:
  /// Validates the options (throws std::invalid_argument with the reason when one is bad) and
  /// loads the TLS certificates when there are any (throws tls_config_error when one cannot be
  /// used; warnings such as an expired certificate are logged).
  explicit server(server_options opts = {});
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Adds a route. `pattern` is a path with optional ":name" segments and an optional final
  /// "*" segment (the rest of the path). Routes are matched in the order added; a path that
  /// matches with another method gets 405 with Allow; no match gets 404. HEAD requests use GET
  /// routes (the body is not sent). Only before start().
  server& route(std::string_view method, std::string_view pattern, handler h);
  /// The same with options: `stream_body` calls the handler at the end of the request head and
  /// hands the body over through request::on_body() as it arrives (what gRPC streaming calls
  /// need); the body limit max_body_size does not apply to such routes.
  struct route_options {
    bool stream_body = false;
  };
  server& route(std::string_view method, std::string_view pattern, handler h,
                route_options options);
  server& get(std::string_view pattern, handler h) { return route("GET", pattern, std::move(h)); }
  server& post(std::string_view pattern, handler h) { return route("POST", pattern, std::move(h)); }
  server& put(std::string_view pattern, handler h) { return route("PUT", pattern, std::move(h)); }
  server& del(std::string_view pattern, handler h) {
    return route("DELETE", pattern, std::move(h));
  }
  /// Serves the files under `root` for GET and HEAD below `prefix` ("/" for the whole site).
  server& static_files(std::string_view prefix, std::string root, static_options opts = {});

  /// Serves the server's counters (stats()) in the Prometheus text format at `path`, with the
  /// listen queues of its listeners and the TCP states of its ports (docs/observability.md).
  /// Only before start(). Starts the status sampler thread (one sample a second).
  server& metrics(std::string_view path);

  /// A live status page at `path` (GET): self-contained HTML (inline CSS and script, nothing
  /// loaded from elsewhere) drawing the same figures as metrics() plus the TCP state counts of
  /// the server's ports, updated once a second from server-sent events at `path` + "/events"
  /// (text/event-stream, one JSON sample per event); `path` + "/json" answers the latest sample
  /// once. At most 32 event streams per worker (further ones get 503); streams end when the
  /// server drains. Only before start(). Starts the status sampler thread.
  server& status_page(std::string_view path);

  /// A WebSocket endpoint (RFC 6455, permessage-deflate) at exact path `path`: a GET with
  /// `Upgrade: websocket` is checked (version, key, Origin policy, subprotocols, extensions;
  /// then handlers.on_upgrade) and answered 101, or refused with 400/403/426 or the hook's
  /// status; a request without Upgrade gets 426. docs/websocket.md. Only before start().
  server& websocket(std::string_view path, websocket_handlers handlers,
                    websocket_options options = {});
  /// Sends `data` to the subscribers of `topic` on every worker (websocket::subscribe).
  /// Thread-safe; after start().
  void publish(std::string_view topic, std::string_view data, bool text = true);

  /// Binds every listener in every worker and starts the worker threads. Throws
  /// std::system_error naming the address when a listener cannot be created.
  void start();
  /// Starts (if needed) and blocks until stop() or SIGINT/SIGTERM, then drains: stops
  /// accepting, lets requests in flight finish, closes idle connections, and cuts what is left
  /// after shutdown_timeout_ms. Returns 0 after a drain.
  int run();
  /// Asks run() to drain and return. Thread-safe; also safe from a handler.
  void stop() noexcept;

  /// Before start() only: `fn` runs on each worker thread when the drain begins (SIGINT,
  /// SIGTERM or stop()), before that worker's connections are told (HTTP/2 GOAWAY, HTTP/1.1
  /// `Connection: close`) and before its listening sockets close. Long-lived responses end
  /// there so that they do not hold the drain until shutdown_timeout_ms; requests that are
  /// still running can see the drain in it (portico::grpc::health reports NOT_SERVING and ends
  /// its Watch calls). Not run when the server is destroyed without a drain.
  void on_drain(std::function<void()> fn);

  /// A function that runs its argument on every worker thread of this server (one copy each,
  /// queued behind what the worker is doing), callable from any thread. Before start() and
  /// once the workers stopped it does nothing; it stays safe to call after the server is
  /// destroyed. For fanning a rare change out to per-worker state (portico::grpc::health's
  /// status changes reach its Watch calls this way) without a lock on the request path.
  std::function<void(std::function<void()>)> worker_broadcast() const;

  /// The bound cleartext addresses ("127.0.0.1:8080"), useful with port 0. After start().
  std::vector<std::string> local_addresses() const;
  /// The bound TLS addresses (listen_tls), useful with port 0. After start().
  std::vector<std::string> local_tls_addresses() const;
  server_stats stats() const noexcept;
  const server_options& options() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace portico
