// Parsing of `portico serve` options (shared with the test server).
#include "cli.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/log.hpp"
#include "portico/grpc_health.hpp"

namespace portico::cli {

const char* const usage_text = R"(Usage: portico <command> [options]

Commands:
  serve [DIR]      Serve the files under DIR over HTTP/1.1 and HTTP/2 (prior knowledge),
                   and over HTTPS (h2, http/1.1) with --tls-cert
                   (default: the bundled demo site)
  portcheck PORT   Can a server listen on PORT? If not, who holds it (portcheck --help)
  tcpstat          TCP states per port, queues, kernel counters, findings (tcpstat --help)
  help             Show this text
  version          Show the version

Options of serve (defaults in brackets):
 Listening
  --listen ADDR:PORT          Address to listen on; repeat for several [127.0.0.1:8080]
                              IPv6: [::1]:8080; all IPv4 addresses: :8080 or 0.0.0.0:8080
  --threads N                 Worker threads, each with its own event loop and SO_REUSEPORT
                              socket; 0 = one per CPU core [0]
  --backlog N                 listen(2) backlog, capped by net.core.somaxconn [4096]
  --share-port                Listen even if another socket listens on the address (SO_REUSEPORT
                              then splits connections with it) [refused: address in use]
  --max-connections N         Open connections per worker; 0 = unlimited [0]
 HTTPS (HTTP/2 and HTTP/1.1 over TLS 1.2 and 1.3 with session resumption; ALPN offers h2
 and http/1.1; docs/tls.md, docs/http2.md)
  --tls-cert FILE --tls-key FILE
                              PEM certificate chain (leaf first) and its private key; repeat
                              the pair for more certificates: the first is the default, the
                              others are chosen by SNI from their names [none]
  --listen-tls ADDR:PORT      Address for HTTPS; repeat for several [127.0.0.1:8443 when a
                              certificate is given, else none]
  --tls-handshake-timeout S   From the accepted connection to the end of the TLS handshake;
                              then close [10]
 HTTP/2 (h2 over TLS, h2c prior knowledge and Upgrade; docs/http2.md)
  --h2-max-streams N          SETTINGS_MAX_CONCURRENT_STREAMS; more → RST_STREAM
                              REFUSED_STREAM [128]
  --h2-initial-window BYTES   SETTINGS_INITIAL_WINDOW_SIZE, each stream's first receive
                              window [65535]
  --h2-connection-window BYTES
                              Connection receive window [16777216]
  --h2-max-stream-window BYTES
                              Bound of a stream's auto-tuned receive window [16777216]
  --h2-max-frame-size BYTES   SETTINGS_MAX_FRAME_SIZE, 16384..16777215 [16384]
  --h2-header-table-size BYTES
                              SETTINGS_HEADER_TABLE_SIZE (HPACK table of the client) [4096]
  --h2-push-preload           Push same-origin Link: <..>; rel=preload targets of 2xx GET
                              responses (not nopush) [off]
  --h2-max-pushes N           Pushed streams in progress per connection [32]
  --preload PATH=TARGET       Files: responses for PATH carry Link: <TARGET>; rel=preload;
                              repeat for more [none]
  --h2-reset-limit BURST/RATE Rapid reset (CVE-2023-44487): stream resets allowed in a burst
                              and per second, then GOAWAY ENHANCE_YOUR_CALM [1000/33]
  --h2-glitch-limit BURST/RATE
                              Frames that do no work (empty DATA, needless WINDOW_UPDATE,
                              SETTINGS, ...), then GOAWAY ENHANCE_YOUR_CALM [1000/100]
  --h2-max-pending-acks N     PING/SETTINGS ACKs queued for a client that does not read
                              [1000]
  --h2-settings-timeout S     Our SETTINGS unacknowledged: GOAWAY SETTINGS_TIMEOUT [10]
 TCP (kernel) options for accepted connections
  --tcp-keepalive IDLE,INTERVAL,COUNT
                              Enable TCP keepalive probes (dead-peer detection): first probe
                              after IDLE s idle, then every INTERVAL s, drop after COUNT
                              unanswered probes [off; when on without values: 60,10,6]
  --tcp-user-timeout MS       TCP_USER_TIMEOUT: drop a connection whose sent data stays
                              unacknowledged this long; 0 = kernel default [0]
  --no-tcp-nodelay            Leave Nagle's algorithm on [TCP_NODELAY on]
 HTTP keep-alive (connection reuse; not TCP keepalive)
  --keepalive-timeout S       Close a connection idle between requests after S seconds [5]
  --no-keepalive              Close the connection after every response
  --max-requests-per-connection N
                              The Nth response says Connection: close; 0 = unlimited [1000]
  --max-pipelined N           Pipelined requests parsed ahead and in flight [16]
 Timeouts (seconds; fractions allowed)
  --header-timeout S          First byte to end of request head; then 408 [10]
  --body-timeout S            Longest pause while reading a request body; then 408 [30]
  --write-timeout S           Longest wait for the client to read; then RST [30]
  --linger-timeout S          Reading after our FIN before closing [2]
  --shutdown-timeout S        SIGINT/SIGTERM drain deadline; then connections are cut [10]
 Request limits (RFC 9112)
  --max-request-line BYTES    Longer request line: 414 [8192]
  --max-header-bytes BYTES    Larger request head: 431 [65536]
  --max-headers N             More header fields: 431 [100]
  --max-body-size BYTES       Larger request body: 413 [1048576]
 Files
  --show-hidden               Serve names starting with '.' [hidden: 404]
  --index NAME                File served for a directory [index.html]
  --list-dirs                 HTML listing for a directory without index [off: 404]
  --follow-symlinks           Allow symbolic links that lead outside DIR [refused: 404]
  --no-precompressed          Do not serve FILE.br / FILE.gz for FILE [served when the client
                              accepts br or gzip, with Vary: Accept-Encoding]
  --mime-types FILE           Extra extension-to-type map [/etc/mime.types]
 WebSocket (RFC 6455, permessage-deflate; docs/websocket.md)
  --ws-echo PATH              An echo endpoint at PATH: each message comes back as it was sent
                              (text as text, binary as binary) [off; the demo: /ws/echo]
  --ws-chat PATH              A chat endpoint at PATH: each text message goes to every client
                              of it, on every worker [off; the demo: /ws/chat]
  --ws-allow-origin ORIGIN    Also accept handshakes from ORIGIN (https://app.example.com,
                              https://*.example.com, or * for any); repeat for more [only the
                              server's own origin; no Origin header (non-browser) accepted]
  --ws-max-message BYTES      Largest message (after inflation); more: close 1009 [16777216]
  --ws-idle-ping S            Ping a connection idle for S seconds; no answer within 10 s:
                              dropped [off]
  --ws-no-deflate             Do not negotiate permessage-deflate [negotiated when offered]
 gRPC (docs/grpc.md)
  --grpc-health               Serve grpc.health.v1.Health (Check, Watch) over HTTP/2: the
                              server ("") is SERVING, NOT_SERVING once it drains [off]
 Observability
  --access-log [PATH]         Combined-format access log to PATH, or stderr without PATH [off]
  --metrics PATH              Serve Prometheus metrics at URL path PATH [off]
  --status PATH               Live status page (HTML) at URL path PATH, updated every second
                              over server-sent events from PATH/events; one JSON sample at
                              PATH/json [off]
  --log-level LEVEL           debug, info, warn, error [info]
  --server-header TEXT        Server header value; empty for none [portico]

Signals: SIGINT and SIGTERM drain gracefully (stop accepting, finish requests in flight,
close idle connections) and exit 0. SIGPIPE is ignored.
Exit status: 0 after a drain, 1 on a start-up error, 2 on a usage error or an unusable TLS
certificate or key ("portico: TLS: ..." names the file).
)";

void usage_error(const std::string& msg) {
  std::fprintf(stderr, "portico: %s\nTry 'portico --help'.\n", msg.c_str());
  std::exit(2);
}

namespace {
unsigned long long parse_uint(std::string_view opt, const char* s) {
  if (!s || !*s) usage_error(std::string(opt) + " needs a value");
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno || *end || *s == '-') usage_error("invalid value for " + std::string(opt) + ": " + s);
  return v;
}

std::uint32_t parse_u32(std::string_view opt, const char* s) {
  const unsigned long long v = parse_uint(opt, s);
  if (v > 0xffffffffULL) usage_error("value too large for " + std::string(opt) + ": " + s);
  return static_cast<std::uint32_t>(v);
}

// "BURST/RATE", both positive.
void parse_rate(std::string_view opt, const char* s, std::uint32_t& burst, std::uint32_t& rate) {
  std::string v = s ? s : "";
  const auto slash = v.find('/');
  if (slash == std::string::npos) usage_error(std::string(opt) + " wants BURST/RATE: " + v);
  burst = parse_u32(opt, v.substr(0, slash).c_str());
  rate = parse_u32(opt, v.substr(slash + 1).c_str());
  if (burst == 0 || rate == 0) usage_error(std::string(opt) + " wants positive numbers: " + v);
}

unsigned parse_seconds_ms(std::string_view opt, const char* s) {
  if (!s || !*s) usage_error(std::string(opt) + " needs a value");
  char* end = nullptr;
  double v = std::strtod(s, &end);
  if (*end || !(v > 0) || v > 86400.0 * 365)
    usage_error("invalid number of seconds for " + std::string(opt) + ": " + s);
  return static_cast<unsigned>(std::llround(v * 1000.0));
}
}  // namespace

serve_config parse_serve_args(int argc, char** argv) {
  serve_config cfg;
  auto& o = cfg.options;
  auto& so = cfg.files;
  auto& dir = cfg.dir;
  auto& metrics_path = cfg.metrics_path;
  bool listen_given = false;
  std::vector<std::string> tls_certs, tls_keys;
  for (int i = 0; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage_error(std::string(a) + " needs a value");
      return argv[++i];
    };
    if (a == "--listen") {
      if (!listen_given) o.listen.clear();
      listen_given = true;
      o.listen.emplace_back(value());
    } else if (a == "--listen-tls") {
      o.listen_tls.emplace_back(value());
    } else if (a == "--tls-cert") {
      tls_certs.emplace_back(value());
    } else if (a == "--tls-key") {
      tls_keys.emplace_back(value());
    } else if (a == "--tls-handshake-timeout") {
      o.tls_handshake_timeout_ms = parse_seconds_ms(a, value());
    } else if (a == "--threads") {
      o.threads = static_cast<unsigned>(parse_uint(a, value()));
    } else if (a == "--share-port") {
      o.share_port = true;
    } else if (a == "--backlog") {
      auto v = parse_uint(a, value());
      if (v == 0 || v > 1u << 20) usage_error("--backlog must be between 1 and 1048576");
      o.backlog = static_cast<int>(v);
    } else if (a == "--max-connections") {
      o.max_connections_per_worker = parse_uint(a, value());
    } else if (a == "--tcp-keepalive") {
      o.tcp_keepalive.enabled = true;
      if (i + 1 < argc && argv[i + 1][0] != '-') {
        std::string v = argv[++i];
        int idle = 0, intvl = 0, cnt = 0;
        char extra = 0;
        if (std::sscanf(v.c_str(), "%d,%d,%d%c", &idle, &intvl, &cnt, &extra) != 3 || idle <= 0 ||
            intvl <= 0 || cnt <= 0)
          usage_error("--tcp-keepalive wants IDLE,INTERVAL,COUNT (positive integers): " + v);
        o.tcp_keepalive.idle_s = idle;
        o.tcp_keepalive.interval_s = intvl;
        o.tcp_keepalive.count = cnt;
      }
    } else if (a == "--tcp-user-timeout") {
      o.tcp_user_timeout_ms = static_cast<unsigned>(parse_uint(a, value()));
    } else if (a == "--no-tcp-nodelay") {
      o.tcp_nodelay = false;
    } else if (a == "--keepalive-timeout") {
      o.keepalive_timeout_ms = parse_seconds_ms(a, value());
    } else if (a == "--no-keepalive") {
      o.keep_alive = false;
    } else if (a == "--max-requests-per-connection") {
      o.max_requests_per_connection = static_cast<unsigned>(parse_uint(a, value()));
    } else if (a == "--max-pipelined") {
      o.max_pipelined_requests = static_cast<unsigned>(parse_uint(a, value()));
    } else if (a == "--header-timeout") {
      o.header_timeout_ms = parse_seconds_ms(a, value());
    } else if (a == "--body-timeout") {
      o.body_timeout_ms = parse_seconds_ms(a, value());
    } else if (a == "--write-timeout") {
      o.write_timeout_ms = parse_seconds_ms(a, value());
    } else if (a == "--linger-timeout") {
      o.linger_timeout_ms = parse_seconds_ms(a, value());
    } else if (a == "--shutdown-timeout") {
      o.shutdown_timeout_ms = parse_seconds_ms(a, value());
    } else if (a == "--max-request-line") {
      o.max_request_line = parse_uint(a, value());
    } else if (a == "--max-header-bytes") {
      o.max_header_bytes = parse_uint(a, value());
    } else if (a == "--max-headers") {
      o.max_header_count = parse_uint(a, value());
    } else if (a == "--h2-max-streams") {
      o.http2.max_concurrent_streams = parse_u32(a, value());
    } else if (a == "--h2-initial-window") {
      o.http2.initial_window_size = parse_u32(a, value());
    } else if (a == "--h2-connection-window") {
      o.http2.connection_window = parse_u32(a, value());
    } else if (a == "--h2-max-stream-window") {
      o.http2.max_stream_window = parse_u32(a, value());
    } else if (a == "--h2-max-frame-size") {
      o.http2.max_frame_size = parse_u32(a, value());
    } else if (a == "--h2-header-table-size") {
      o.http2.header_table_size = parse_u32(a, value());
    } else if (a == "--h2-push-preload") {
      o.http2.push_preload = true;
    } else if (a == "--h2-max-pushes") {
      o.http2.max_pushed_streams = parse_u32(a, value());
    } else if (a == "--preload") {
      std::string v = value();
      auto eq = v.find('=');
      if (eq == std::string::npos || eq == 0 || v[0] != '/' || eq + 1 >= v.size())
        usage_error("--preload wants PATH=TARGET, e.g. /=/style.css: " + v);
      so.preload.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    } else if (a == "--h2-reset-limit") {
      parse_rate(a, value(), o.http2.reset_burst, o.http2.reset_rate);
    } else if (a == "--h2-glitch-limit") {
      parse_rate(a, value(), o.http2.glitch_burst, o.http2.glitch_rate);
    } else if (a == "--h2-max-pending-acks") {
      o.http2.max_pending_acks = parse_uint(a, value());
    } else if (a == "--h2-settings-timeout") {
      o.http2.settings_timeout_ms = parse_seconds_ms(a, value());
    } else if (a == "--max-body-size") {
      o.max_body_size = parse_uint(a, value());
    } else if (a == "--show-hidden") {
      so.show_hidden = true;
    } else if (a == "--index") {
      so.index = value();
    } else if (a == "--list-dirs") {
      so.list_directories = true;
    } else if (a == "--follow-symlinks") {
      so.follow_symlinks = true;
    } else if (a == "--no-precompressed") {
      so.precompressed = false;
    } else if (a == "--mime-types") {
      so.mime_types_file = value();
    } else if (a == "--access-log") {
      o.access_log = (i + 1 < argc && argv[i + 1][0] != '-') ? argv[++i] : "-";
    } else if (a == "--metrics") {
      metrics_path = value();
      if (metrics_path.empty() || metrics_path[0] != '/')
        usage_error("--metrics wants a path like /metrics");
    } else if (a == "--ws-echo" || a == "--ws-chat") {
      std::string p = value();
      if (p.empty() || p[0] != '/') usage_error(std::string(a) + " wants a path like /ws/echo");
      (a == "--ws-echo" ? cfg.ws_echo_path : cfg.ws_chat_path) = p;
    } else if (a == "--ws-allow-origin") {
      cfg.ws.allowed_origins.emplace_back(value());
    } else if (a == "--ws-max-message") {
      cfg.ws.max_message_size = parse_uint(a, value());
      if (cfg.ws.max_message_size == 0) usage_error("--ws-max-message must be positive");
    } else if (a == "--ws-idle-ping") {
      cfg.ws.idle_ping_ms = parse_seconds_ms(a, value());
    } else if (a == "--ws-no-deflate") {
      cfg.ws.permessage_deflate = false;
    } else if (a == "--grpc-health") {
      cfg.grpc_health = true;
    } else if (a == "--status") {
      cfg.status_path = value();
      if (cfg.status_path.size() < 2 || cfg.status_path[0] != '/')
        usage_error("--status wants a path like /status");
    } else if (a == "--log-level") {
      std::string_view l = value();
      using portico::log::level;
      if (l == "debug")
        portico::log::set_level(level::debug);
      else if (l == "info")
        portico::log::set_level(level::info);
      else if (l == "warn")
        portico::log::set_level(level::warn);
      else if (l == "error")
        portico::log::set_level(level::error);
      else
        usage_error("unknown log level: " + std::string(l));
    } else if (a == "--server-header") {
      o.server_header = value();
    } else if (a == "-h" || a == "--help") {
      cfg.help = true;
      return cfg;
    } else if (!a.empty() && a[0] == '-') {
      usage_error("unknown option: " + std::string(a));
    } else if (dir.empty()) {
      dir = a;
    } else {
      usage_error("more than one directory given: " + std::string(a));
    }
  }
  // Certificates come in pairs, the Nth --tls-key belonging to the Nth --tls-cert.
  if (tls_certs.size() != tls_keys.size())
    usage_error("--tls-cert and --tls-key come in pairs (" + std::to_string(tls_certs.size()) +
                " certificate(s), " + std::to_string(tls_keys.size()) + " key(s))");
  for (std::size_t i = 0; i < tls_certs.size(); ++i) {
    o.tls_certificates.push_back({tls_certs[i], tls_keys[i]});
  }
  if (!o.tls_certificates.empty() && o.listen_tls.empty())
    o.listen_tls.emplace_back("127.0.0.1:8443");
  if (o.tls_certificates.empty() && !o.listen_tls.empty())
    usage_error("--listen-tls needs a certificate: --tls-cert FILE --tls-key FILE");
  return cfg;
}

void add_websocket_endpoints(server& srv, const serve_config& cfg) {
  if (!cfg.ws_echo_path.empty()) {
    websocket_handlers h;
    h.on_message = [](websocket& ws, std::string_view msg, bool text) {
      if (text) {
        ws.send_text(msg);
      } else {
        ws.send_binary(msg);
      }
    };
    srv.websocket(cfg.ws_echo_path, std::move(h), cfg.ws);
  }
  if (!cfg.ws_chat_path.empty()) {
    static const std::string topic = "chat";
    websocket_handlers h;
    h.on_open = [](websocket& ws) { ws.subscribe(topic); };
    h.on_message = [](websocket& ws, std::string_view msg, bool text) {
      // RFC 6455 §7.4.1: 1003, a data type the endpoint cannot accept.
      if (!text) {
        ws.close(1003, "text messages only");
        return;
      }
      ws.publish(topic, msg);
    };
    srv.websocket(cfg.ws_chat_path, std::move(h), cfg.ws);
  }
}

void add_grpc_services(server& srv, const serve_config& cfg) {
  if (!cfg.grpc_health) return;
  // No UNIMPLEMENTED fallback for every POST: the other paths keep their 404/405 answers (a
  // gRPC client reads the 404 of an unknown service as UNIMPLEMENTED too).
  grpc::service_options o;
  o.unimplemented_fallback = false;
  grpc::services svc(o);
  grpc::health health;  // "" SERVING; NOT_SERVING and Watch calls end when the drain begins
  health.add_to(svc, srv);
  svc.mount(srv);
}

}  // namespace portico::cli
