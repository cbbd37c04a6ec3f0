// Every limit, timeout and socket knob of a Portico server, with its default.
// docs/configuration.md lists the same, with the matching `portico serve` flags.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace portico {

/// TCP keepalive: the kernel probes an idle connection to find dead peers. Independent of HTTP
/// keep-alive (connection reuse), which is `keepalive_timeout_ms` below.
struct tcp_keepalive_options {
  bool enabled = false;  ///< off by default: HTTP idle timeouts close idle connections sooner
  int idle_s = 60;       ///< TCP_KEEPIDLE
  int interval_s = 10;   ///< TCP_KEEPINTVL
  int count = 6;         ///< TCP_KEEPCNT
};

/// One TLS certificate with its private key (PEM files; docs/tls.md).
struct tls_certificate {
  /// The leaf certificate first, then the intermediates (the root may be left out).
  std::string cert_path;
  /// The leaf's private key (PKCS#8 or traditional RSA/EC PEM), not passphrase-protected.
  std::string key_path;
};

/// HTTP/2 connections (docs/http2.md): what the server announces in SETTINGS, its receive
/// windows, server push, and the flood limits of DESIGN.md §6. Request limits are shared with
/// HTTP/1.1: max_body_size, and max_header_bytes as SETTINGS_MAX_HEADER_LIST_SIZE.
struct http2_options {
  /// SETTINGS_MAX_CONCURRENT_STREAMS: more open client streams → RST_STREAM(REFUSED_STREAM).
  std::uint32_t max_concurrent_streams = 128;
  /// SETTINGS_INITIAL_WINDOW_SIZE: each stream's first receive window (up to 2^31-1).
  std::uint32_t initial_window_size = 65535;
  /// The connection's receive window, granted after the preface (up to 2^31-1).
  std::uint32_t connection_window = 16 * 1024 * 1024;
  /// Bound of a stream's auto-tuned receive window (a fast upload doubles it up to this).
  std::uint32_t max_stream_window = 16 * 1024 * 1024;
  /// SETTINGS_MAX_FRAME_SIZE: 16384..16777215.
  std::uint32_t max_frame_size = 16384;
  /// SETTINGS_HEADER_TABLE_SIZE: the HPACK dynamic table the client's encoder may use.
  std::uint32_t header_table_size = 4096;
  /// Push the same-origin targets of `Link: <...>; rel=preload` in 2xx responses to GET
  /// (RFC 9113 §8.4), unless marked `nopush`. Off: only response::push() pushes.
  bool push_preload = false;
  /// Pushed streams in progress on one connection at most (also bounded by the client's
  /// SETTINGS_MAX_CONCURRENT_STREAMS).
  std::uint32_t max_pushed_streams = 32;
  /// Rapid reset (CVE-2023-44487): client resets of unanswered streams and stream errors we
  /// send, a token bucket of `reset_burst` refilled at `reset_rate` per second; empty →
  /// GOAWAY(ENHANCE_YOUR_CALM).
  std::uint32_t reset_burst = 1000;
  std::uint32_t reset_rate = 33;
  /// Frames that do no work (empty DATA/CONTINUATION, needless WINDOW_UPDATE, SETTINGS,
  /// frames on closed streams; CVE-2019-9518 family): token bucket, then ENHANCE_YOUR_CALM.
  std::uint32_t glitch_burst = 1000;
  std::uint32_t glitch_rate = 100;
  /// PING/SETTINGS acknowledgements queued because the client does not read (CVE-2019-9512,
  /// -9515): above → GOAWAY(ENHANCE_YOUR_CALM).
  std::size_t max_pending_acks = 1000;
  /// Our SETTINGS unacknowledged this long → GOAWAY(SETTINGS_TIMEOUT) (RFC 9113 §6.5.3).
  unsigned settings_timeout_ms = 10000;
};

struct server_options {
  // --- listening -------------------------------------------------------------------------
  /// Addresses to listen on for cleartext HTTP: "127.0.0.1:8080", "[::1]:8080", ":8080" (all
  /// IPv4). May be empty when listen_tls is not.
  std::vector<std::string> listen{"127.0.0.1:8080"};
  /// Addresses to listen on for HTTPS (HTTP/1.1 over TLS), same syntax. Default: none. Needs
  /// at least one entry in tls_certificates.
  std::vector<std::string> listen_tls{};
  /// Worker threads, each with its own event loop and SO_REUSEPORT socket per address.
  /// 0: one per CPU core.
  unsigned threads = 0;
  /// listen(2) backlog (the kernel caps it at net.core.somaxconn; Portico logs when it does).
  int backlog = 4096;
  /// Every worker listens with SO_REUSEPORT, which would also let the kernel split connections
  /// with any other socket (of the same user) already listening on the same address. So start()
  /// refuses an address that another socket listens on ("address already in use"), unless this
  /// is true: then Portico joins it on purpose (e.g. two instances during a rolling restart).
  bool share_port = false;
  /// Connections per worker at most; further connections are accepted and closed at once.
  /// 0: unlimited (bounded by RLIMIT_NOFILE).
  std::size_t max_connections_per_worker = 0;

  // --- socket options for accepted connections -------------------------------------------
  bool tcp_nodelay = true;
  tcp_keepalive_options tcp_keepalive{};
  unsigned tcp_user_timeout_ms = 0;  ///< TCP_USER_TIMEOUT; 0: kernel default

  // --- HTTP/1.1 request limits (RFC 9112) ------------------------------------------------
  std::size_t max_request_line = 8 * 1024;    ///< longer → 414
  std::size_t max_header_bytes = 64 * 1024;   ///< whole head; larger → 431
  std::size_t max_header_count = 100;         ///< more field lines → 431
  std::uint64_t max_body_size = 1024 * 1024;  ///< request body; larger → 413

  // --- HTTP keep-alive and pipelining ------------------------------------------------------
  bool keep_alive = true;                       ///< false: every response closes the connection
  unsigned keepalive_timeout_ms = 5000;         ///< idle time between requests before closing
  unsigned max_requests_per_connection = 1000;  ///< the last response carries Connection: close
  unsigned max_pipelined_requests = 16;         ///< requests parsed ahead and in flight at once

  // --- timeouts per phase --------------------------------------------------------------------
  unsigned header_timeout_ms = 10000;    ///< from the first byte to the end of the head (slowloris)
  unsigned body_timeout_ms = 30000;      ///< longest wait between two reads of a request body
  unsigned write_timeout_ms = 30000;     ///< longest wait for the peer to take response bytes
  unsigned linger_timeout_ms = 2000;     ///< reading after our FIN before closing (lingering close)
  unsigned shutdown_timeout_ms = 10000;  ///< SIGTERM drain: after this, connections are cut

  // --- TLS (listen_tls; docs/tls.md) -------------------------------------------------------
  /// Certificates for the TLS listeners. The first is the default (clients without SNI, or
  /// with a name no certificate covers); SNI picks another whose names match. Loaded once by
  /// the server constructor, which throws portico::tls_config_error naming the file when one
  /// cannot be used. Expired certificates are loaded with a warning in the log.
  std::vector<tls_certificate> tls_certificates{};
  /// ALPN protocols offered, in server preference order (RFC 7301): "h2" (HTTP/2 over TLS,
  /// docs/http2.md) and "http/1.1" are served; nothing else is accepted here. A client offering
  /// none of them still gets a connection, without ALPN, and speaks HTTP/1.1.
  std::vector<std::string> tls_alpn{"h2", "http/1.1"};
  /// From the accepted connection to the end of the TLS handshake, not extended by progress:
  /// then the connection is closed.
  unsigned tls_handshake_timeout_ms = 10000;

  // --- HTTP/2 ---------------------------------------------------------------------------
  http2_options http2{};

  // --- responses ----------------------------------------------------------------------------
  /// Streaming responses: write() returns false above this many buffered bytes (back-pressure).
  std::size_t response_high_water = 256 * 1024;
  /// A response whose buffered bytes pass this (a handler that ignores back-pressure) is
  /// aborted and its connection reset.
  std::size_t response_max_buffer = 16 * 1024 * 1024;
  /// Value of the Server header; empty: none sent.
  std::string server_header = "portico";

  // --- process ------------------------------------------------------------------------------
  /// run() handles SIGINT and SIGTERM (graceful drain) and ignores SIGPIPE.
  bool handle_signals = true;

  // --- logging ------------------------------------------------------------------------------
  /// Access log in the combined format: "" off, "-" stderr, else a file path (appended).
  std::string access_log;
};

}  // namespace portico
