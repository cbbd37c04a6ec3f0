#include "portico/server.hpp"

#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <atomic>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "core/log.hpp"
#include "net/socket.hpp"
#include "server/access_log.hpp"
#include "server/static_files.hpp"
#include "server/worker.hpp"

namespace portico {

struct server::impl {
  engine::shared_config cfg;
  std::unique_ptr<engine::access_log> log;
  std::vector<std::unique_ptr<engine::worker>> workers;
  std::atomic<bool> stop_requested{false};
  bool started = false;
};

namespace {
void validate(const server_options& o) {
  auto fail = [](const std::string& what) { throw std::invalid_argument(what); };
  if (o.listen.empty()) fail("no listen address");
  for (const auto& a : o.listen) {
    if (!net::parse_address(a)) fail("invalid listen address '" + a + "' (want HOST:PORT)");
  }
  if (o.backlog <= 0) fail("backlog must be positive");
  if (o.max_request_line < 16) fail("max_request_line too small");
  if (o.max_header_bytes < o.max_request_line) fail("max_header_bytes below max_request_line");
  if (o.max_header_count == 0) fail("max_header_count must be positive");
  if (o.max_pipelined_requests == 0) fail("max_pipelined_requests must be positive");
  if (o.keepalive_timeout_ms == 0 || o.header_timeout_ms == 0 || o.body_timeout_ms == 0 ||
      o.write_timeout_ms == 0)
    fail("timeouts must be positive");
  if (o.tcp_keepalive.enabled &&
      (o.tcp_keepalive.idle_s <= 0 || o.tcp_keepalive.interval_s <= 0 ||
       o.tcp_keepalive.count <= 0))
    fail("tcp keepalive idle, interval and count must be positive");
  if (o.response_high_water == 0 || o.response_max_buffer < o.response_high_water)
    fail("response_max_buffer must be at least response_high_water");
}
}  // namespace

server::server(server_options opts) : impl_(std::make_unique<impl>()) {
  validate(opts);
  auto& c = impl_->cfg;
  c.options = std::move(opts);
  const auto& o = c.options;
  c.session.parse_limits.max_request_line = o.max_request_line;
  c.session.parse_limits.max_header_bytes = o.max_header_bytes;
  c.session.parse_limits.max_header_count = o.max_header_count;
  c.session.parse_limits.max_body_size = o.max_body_size;
  c.session.keep_alive = o.keep_alive;
  c.session.max_requests = o.max_requests_per_connection;
  c.session.max_pipelined = o.max_pipelined_requests;
  c.session.high_water = o.response_high_water;
  c.session.max_buffer = o.response_max_buffer;
  c.session.server_header = o.server_header;
  c.conn.tcp_nodelay = o.tcp_nodelay;
  c.conn.keepalive.enabled = o.tcp_keepalive.enabled;
  c.conn.keepalive.idle_s = o.tcp_keepalive.idle_s;
  c.conn.keepalive.interval_s = o.tcp_keepalive.interval_s;
  c.conn.keepalive.count = o.tcp_keepalive.count;
  c.conn.user_timeout_ms = o.tcp_user_timeout_ms;
}

server::~server() {
  if (impl_->started) {
    stop();
    for (auto& w : impl_->workers) w->stop_now();
    for (auto& w : impl_->workers) w->join();
  }
}

server& server::route(std::string_view method, std::string_view pattern, handler h) {
  if (impl_->started) throw std::logic_error("routes must be added before start()");
  impl_->cfg.router.add(method, pattern, std::move(h));
  return *this;
}

server& server::static_files(std::string_view prefix, std::string root, static_options opts) {
  std::string pattern(prefix);
  if (pattern.empty() || pattern.back() != '/') pattern += '/';
  pattern += '*';
  auto h = engine::make_static_handler(std::move(root), std::move(opts));
  route("GET", pattern, h);
  return *this;
}

server& server::metrics(std::string_view path) {
  route("GET", path, [this](const request&, response& res) {
    server_stats s = stats();
    std::string out;
    out.reserve(2048);
    auto metric = [&](const char* name, const char* type, const char* help, std::uint64_t v,
                      const char* labels = "") {
      out += "# HELP ";
      out += name;
      out += ' ';
      out += help;
      out += "\n# TYPE ";
      out += name;
      out += ' ';
      out += type;
      out += '\n';
      out += name;
      out += labels;
      out += ' ';
      out += std::to_string(v);
      out += '\n';
    };
    metric("portico_connections_accepted_total", "counter", "TCP connections accepted.",
           s.connections_accepted);
    metric("portico_connections_refused_total", "counter",
           "Connections closed at accept (limits, descriptor exhaustion).", s.connections_refused);
    metric("portico_connections_open", "gauge", "Connections open now.", s.connections_open);
    metric("portico_requests_total", "counter", "Requests dispatched to handlers.", s.requests);
    out += "# HELP portico_responses_total Responses written, by status class.\n"
           "# TYPE portico_responses_total counter\n";
    const std::uint64_t classes[] = {s.responses_1xx, s.responses_2xx, s.responses_3xx,
                                     s.responses_4xx, s.responses_5xx};
    for (int i = 0; i < 5; ++i) {
      out += "portico_responses_total{class=\"" + std::to_string(i + 1) + "xx\"} " +
             std::to_string(classes[i]) + "\n";
    }
    metric("portico_bytes_received_total", "counter", "Bytes read from clients.", s.bytes_in);
    metric("portico_bytes_sent_total", "counter", "Bytes written to clients.", s.bytes_out);
    metric("portico_resets_received_total", "counter", "Connections reset by the peer.",
           s.resets_received);
    metric("portico_resets_sent_total", "counter", "Connections closed abortively (RST).",
           s.resets_sent);
    out += "# HELP portico_timeouts_total Connections timed out, by phase.\n"
           "# TYPE portico_timeouts_total counter\n";
    out += "portico_timeouts_total{phase=\"header\"} " + std::to_string(s.timeouts_header) + "\n";
    out += "portico_timeouts_total{phase=\"body\"} " + std::to_string(s.timeouts_body) + "\n";
    out += "portico_timeouts_total{phase=\"idle\"} " + std::to_string(s.timeouts_idle) + "\n";
    out += "portico_timeouts_total{phase=\"write\"} " + std::to_string(s.timeouts_write) + "\n";
    metric("portico_protocol_errors_total", "counter",
           "Requests refused by the HTTP/1 parser (4xx/5xx and close).", s.protocol_errors);
    res.header("Content-Type", "text/plain; version=0.0.4; charset=utf-8").send(std::move(out));
  });
  return *this;
}

void server::start() {
  if (impl_->started) return;
  auto& c = impl_->cfg;
  const auto& o = c.options;
  if (!o.access_log.empty()) {
    impl_->log = std::make_unique<engine::access_log>(o.access_log);
    c.log = impl_->log.get();
  }
  int max_backlog = net::somaxconn();
  if (max_backlog > 0 && max_backlog < o.backlog) {
    LOG_WARN("listen backlog %d is capped by net.core.somaxconn=%d (raise it with "
             "sysctl -w net.core.somaxconn=%d)",
             o.backlog, max_backlog, o.backlog);
  }
  c.addresses.clear();
  for (const auto& a : o.listen) c.addresses.push_back(*net::parse_address(a));
  unsigned n = o.threads ? o.threads : std::thread::hardware_concurrency();
  if (n == 0) n = 1;
  for (unsigned i = 0; i < n; ++i) {
    auto w = std::make_unique<engine::worker>(c, i);
    std::string failed;
    if (auto ec = w->open_listeners(c.addresses, failed)) {
      impl_->workers.clear();
      throw std::system_error(ec, "cannot listen on " + failed);
    }
    impl_->workers.push_back(std::move(w));
  }
  for (auto& w : impl_->workers) w->start();
  impl_->started = true;
  for (const auto& a : c.addresses) {
    LOG_INFO("listening on http://%s (%u worker%s)", a.to_string().c_str(), n, n == 1 ? "" : "s");
  }
}

int server::run() {
  const auto& o = impl_->cfg.options;
  sigset_t set;
  sigemptyset(&set);
  if (o.handle_signals) {
    // Ignore SIGPIPE: a write to a reset connection must fail with EPIPE, not kill us.
    signal(SIGPIPE, SIG_IGN);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    // Block them before the workers start so that only this thread receives them.
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
  }
  start();
  while (!impl_->stop_requested.load()) {
    if (o.handle_signals) {
      timespec ts{0, 100 * 1000 * 1000};
      int sig = sigtimedwait(&set, nullptr, &ts);
      if (sig == SIGINT || sig == SIGTERM) {
        LOG_INFO("%s: draining (up to %u ms)", sig == SIGINT ? "SIGINT" : "SIGTERM",
                 o.shutdown_timeout_ms);
        break;
      }
    } else {
      timespec ts{0, 100 * 1000 * 1000};
      nanosleep(&ts, nullptr);
    }
  }
  for (auto& w : impl_->workers) w->drain();
  for (auto& w : impl_->workers) w->join();
  impl_->started = false;
  LOG_INFO("stopped");
  return 0;
}

void server::stop() noexcept { impl_->stop_requested.store(true); }

std::vector<std::string> server::local_addresses() const {
  std::vector<std::string> out;
  for (const auto& a : impl_->cfg.addresses) out.push_back(a.to_string());
  return out;
}

server_stats server::stats() const noexcept {
  server_stats s;
  for (const auto& w : impl_->workers) {
    const auto& st = w->stats();
    auto r = [](const std::atomic<std::uint64_t>& c) { return c.load(std::memory_order_relaxed); };
    s.connections_accepted += r(st.accepted);
    s.connections_refused += r(st.refused);
    s.connections_open += r(st.open);
    s.requests += r(st.requests);
    s.responses_1xx += r(st.status_class[1]);
    s.responses_2xx += r(st.status_class[2]);
    s.responses_3xx += r(st.status_class[3]);
    s.responses_4xx += r(st.status_class[4]);
    s.responses_5xx += r(st.status_class[5]);
    s.bytes_in += r(st.bytes_in);
    s.bytes_out += r(st.bytes_out);
    s.resets_received += r(st.resets_received);
    s.resets_sent += r(st.resets_sent);
    s.timeouts_header += r(st.timeouts_header);
    s.timeouts_body += r(st.timeouts_body);
    s.timeouts_idle += r(st.timeouts_idle);
    s.timeouts_write += r(st.timeouts_write);
    s.protocol_errors += r(st.protocol_errors);
  }
  return s;
}

const server_options& server::options() const noexcept { return impl_->cfg.options; }

}  // namespace portico
