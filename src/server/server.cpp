#include "portico/server.hpp"

#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "core/log.hpp"
#include "net/socket.hpp"
#include "server/access_log.hpp"
#include "server/metrics.hpp"
#include "server/observer.hpp"
#include "server/static_files.hpp"
#include "server/status_page.hpp"
#include "server/worker.hpp"
#include "tls/context.hpp"

namespace portico {

struct server::impl {
  engine::shared_config cfg;
  // Built once by the constructor, shared read-only by every worker; outlives them.
  std::unique_ptr<tls::server_context> tls;
  std::unique_ptr<engine::access_log> log;
  // The event hubs outlive the workers' threads (they hold response handles until the drain).
  std::vector<std::unique_ptr<engine::event_hub>> hubs;  // one per worker, with the status page
  std::vector<std::unique_ptr<engine::worker>> workers;
  engine::ws_hub ws_hub;                      // WebSocket publish/subscribe across the workers
  std::unique_ptr<engine::observer> sampler;  // with metrics or the status page
  std::atomic<bool> stop_requested{false};
  std::vector<std::function<void()>> drain_hooks;  // server::on_drain, given to each worker
  // The workers that worker_broadcast() reaches: set while they run, emptied once they
  // stopped. Shared with the broadcast functions, which may outlive the server.
  struct broadcast_targets {
    std::mutex mu;
    std::vector<engine::worker*> workers;
  };
  std::shared_ptr<broadcast_targets> broadcast = std::make_shared<broadcast_targets>();
  void clear_broadcast() noexcept {
    std::lock_guard<std::mutex> g(broadcast->mu);
    broadcast->workers.clear();
  }
  bool started = false;
  bool metrics_on = false;
  bool status_on = false;
  double start_time = 0;

  server_stats stats() const noexcept;
  std::vector<engine::metrics::listener_figures> listener_figures() const;
  void make_sampler();
  void stop_sampler() noexcept {
    if (sampler) sampler->stop();
  }
};

namespace {
void validate(const server_options& o) {
  auto fail = [](const std::string& what) { throw std::invalid_argument(what); };
  if (o.listen.empty() && o.listen_tls.empty()) fail("no listen address");
  for (const auto& a : o.listen) {
    if (!net::parse_address(a)) fail("invalid listen address '" + a + "' (want HOST:PORT)");
  }
  for (const auto& a : o.listen_tls) {
    if (!net::parse_address(a)) fail("invalid TLS listen address '" + a + "' (want HOST:PORT)");
  }
  if (!o.listen_tls.empty() && o.tls_certificates.empty())
    fail("a TLS listen address needs a certificate and key (--tls-cert, --tls-key)");
  for (const auto& c : o.tls_certificates) {
    if (c.cert_path.empty() || c.key_path.empty())
      fail("a TLS certificate needs both a certificate file and a key file");
  }
  for (const auto& p : o.tls_alpn) {
    // Only what the connections speak may be offered.
    if (p != "http/1.1" && p != "h2")
      fail("TLS ALPN protocol '" + p + "' is not served (only h2 and http/1.1)");
  }
  if (o.tls_handshake_timeout_ms == 0) fail("timeouts must be positive");
  if (o.backlog <= 0) fail("backlog must be positive");
  if (o.max_request_line < 16) fail("max_request_line too small");
  if (o.max_header_bytes < o.max_request_line) fail("max_header_bytes below max_request_line");
  if (o.max_header_count == 0) fail("max_header_count must be positive");
  if (o.max_pipelined_requests == 0) fail("max_pipelined_requests must be positive");
  if (o.keepalive_timeout_ms == 0 || o.header_timeout_ms == 0 || o.body_timeout_ms == 0 ||
      o.write_timeout_ms == 0)
    fail("timeouts must be positive");
  if (o.tcp_keepalive.enabled && (o.tcp_keepalive.idle_s <= 0 || o.tcp_keepalive.interval_s <= 0 ||
                                  o.tcp_keepalive.count <= 0))
    fail("tcp keepalive idle, interval and count must be positive");
  if (o.response_high_water == 0 || o.response_max_buffer < o.response_high_water)
    fail("response_max_buffer must be at least response_high_water");
  const auto& h = o.http2;
  constexpr std::uint32_t max_window = 0x7fffffff;  // RFC 9113 §6.9.1
  if (h.max_frame_size < 16384 || h.max_frame_size > 16777215)
    fail("http2 max_frame_size must be between 16384 and 16777215");  // RFC 9113 §6.5.2
  if (h.initial_window_size > max_window || h.connection_window > max_window ||
      h.max_stream_window > max_window)
    fail("http2 windows must be at most 2147483647");
  if (h.connection_window < 65535) fail("http2 connection_window must be at least 65535");
  if (h.max_stream_window < h.initial_window_size)
    fail("http2 max_stream_window must be at least initial_window_size");
  if (h.max_concurrent_streams == 0) fail("http2 max_concurrent_streams must be positive");
  if (h.reset_burst == 0 || h.glitch_burst == 0 || h.max_pending_acks == 0 ||
      h.settings_timeout_ms == 0)
    fail("http2 flood limits and timeouts must be positive");
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
  c.http2.max_request_body = o.max_body_size;
  c.http2.high_water = o.response_high_water;
  c.http2.max_buffer = o.response_max_buffer;
  c.http2.server_header = o.server_header;
  c.http2.max_header_list_size =
      static_cast<std::uint32_t>(std::max<std::size_t>(o.max_header_bytes, 4096));
  c.http2.shutdown_timeout_ms = std::max<unsigned>(o.linger_timeout_ms, 1000);
  c.http2.max_concurrent_streams = o.http2.max_concurrent_streams;
  c.http2.initial_window_size = o.http2.initial_window_size;
  c.http2.connection_window = o.http2.connection_window;
  c.http2.max_stream_window = o.http2.max_stream_window;
  c.http2.max_frame_size = o.http2.max_frame_size;
  c.http2.header_table_size = o.http2.header_table_size;
  c.http2.push_preload = o.http2.push_preload;
  c.http2.max_pushed_streams = o.http2.max_pushed_streams;
  c.http2.reset_burst = o.http2.reset_burst;
  c.http2.reset_rate = o.http2.reset_rate;
  c.http2.glitch_burst = o.http2.glitch_burst;
  c.http2.glitch_rate = o.http2.glitch_rate;
  c.http2.max_pending_acks = o.http2.max_pending_acks;
  c.http2.settings_timeout_ms = o.http2.settings_timeout_ms;
  c.conn.tcp_nodelay = o.tcp_nodelay;
  c.conn.keepalive.enabled = o.tcp_keepalive.enabled;
  c.conn.keepalive.idle_s = o.tcp_keepalive.idle_s;
  c.conn.keepalive.interval_s = o.tcp_keepalive.interval_s;
  c.conn.keepalive.count = o.tcp_keepalive.count;
  c.conn.user_timeout_ms = o.tcp_user_timeout_ms;
  if (!o.tls_certificates.empty()) {
    tls::server_config tc;
    for (const auto& cert : o.tls_certificates)
      tc.certificates.push_back({cert.cert_path, cert.key_path});
    tc.alpn = o.tls_alpn;
    // A client offering only protocols we do not speak (say only "h2", curl --http2 still
    // offers http/1.1) gets a connection without ALPN and HTTP/1.1 rather than a fatal alert:
    // HTTP/1.1 is what every HTTPS client can fall back to (docs/tls.md).
    tc.on_alpn_mismatch = tls::alpn_mismatch::continue_without;
    try {
      impl_->tls = std::make_unique<tls::server_context>(tc);
    } catch (const tls::config_error& e) {
      // "tls: certificate file ...": the prefix is the caller's to choose ("portico: TLS: ...").
      std::string_view msg = e.what();
      if (msg.starts_with("tls: ")) msg.remove_prefix(5);
      throw tls_config_error(std::string(msg), e.file());
    }
    for (const std::string& w : impl_->tls->warnings())
      LOG_WARN("%s", w.c_str());
    c.tls = impl_->tls.get();
  }
}

server::~server() {
  impl_->stop_sampler();
  if (impl_->started) {
    stop();
    impl_->clear_broadcast();
    for (auto& w : impl_->workers)
      w->stop_now();
    for (auto& w : impl_->workers)
      w->join();
  }
}

server& server::route(std::string_view method, std::string_view pattern, handler h) {
  return route(method, pattern, std::move(h), route_options{});
}

server& server::route(std::string_view method, std::string_view pattern, handler h,
                      route_options options) {
  if (impl_->started) throw std::logic_error("routes must be added before start()");
  impl_->cfg.router.add(method, pattern, std::move(h), options.stream_body);
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

server& server::websocket(std::string_view path, websocket_handlers handlers,
                          websocket_options options) {
  if (impl_->started) throw std::logic_error("server::websocket() after start()");
  // RFC 8441 §3: WebSocket over HTTP/2 is offered once there is an endpoint.
  impl_->cfg.http2.enable_connect_protocol = true;
  impl_->cfg.websockets.push_back(
      engine::make_ws_endpoint(std::string(path), std::move(handlers), std::move(options)));
  return *this;
}

void server::publish(std::string_view topic, std::string_view data, bool text) {
  impl_->ws_hub.publish(topic, data, text);
}

server& server::metrics(std::string_view path) {
  impl* p = impl_.get();
  route("GET", path, [p](const request&, response& res) {
    auto sample = p->sampler ? p->sampler->latest() : nullptr;
    auto listeners = p->listener_figures();
    std::string out = engine::metrics::render_prometheus(
        p->stats(), listeners, sample ? &sample->figures.kernel : nullptr, p->start_time);
    res.header("Content-Type", "text/plain; version=0.0.4; charset=utf-8").send(std::move(out));
  });
  impl_->metrics_on = true;
  return *this;
}

server& server::status_page(std::string_view path) {
  impl* p = impl_.get();
  std::string base(path);
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  route("GET", path, [](const request&, response& res) {
    res.header("Content-Type", "text/html; charset=utf-8")
        .header("Content-Security-Policy", engine::status_page_csp)
        .header("Cache-Control", "no-store")
        .header("X-Content-Type-Options", "nosniff")
        .header("Referrer-Policy", "no-referrer")
        .send_static(engine::status_page_html);
  });
  route("GET", base + "/json", [p](const request&, response& res) {
    auto sample = p->sampler ? p->sampler->latest() : nullptr;
    res.header("Cache-Control", "no-store");
    if (!sample) {
      res.status(503).header("Content-Type", "text/plain; charset=utf-8").send("no sample yet\n");
      return;
    }
    res.header("Content-Type", "application/json").send(sample->json + "\n");
  });
  route("GET", base + "/events", [p](const request& req, response& res) {
    engine::worker* w = engine::worker::current();
    if (!w || w->index() >= p->hubs.size()) {
      res.status(500).header("Content-Type", "text/plain; charset=utf-8").send("no event hub\n");
      return;
    }
    engine::event_hub& hub = *p->hubs[w->index()];
    if (w->draining() || !hub.has_room()) {
      // Draining: a new stream would only hold the drain. Full: the streams are bounded.
      res.status(503)
          .header("Content-Type", "text/plain; charset=utf-8")
          .header("Retry-After", "5")
          .send(w->draining() ? "503 Service Unavailable: shutting down\n"
                              : "503 Service Unavailable: too many status event streams\n");
      return;
    }
    res.header("Content-Type", "text/event-stream; charset=utf-8")
        .header("Cache-Control", "no-store")
        .header("X-Accel-Buffering", "no");
    if (req.method() == "HEAD") {
      res.send({});
      return;
    }
    // The browser reconnects 2 s after losing the stream; the latest sample goes out at once.
    std::string first = "retry: 2000\n\n";
    if (auto sample = p->sampler ? p->sampler->latest() : nullptr) first += sample->event;
    hub.add(res, first);
  });
  impl_->status_on = true;
  return *this;
}

std::vector<engine::metrics::listener_figures> server::impl::listener_figures() const {
  std::vector<engine::metrics::listener_figures> out;
  for (const auto& w : workers) {
    for (const auto& g : w->listener_stats()) {
      engine::metrics::listener_figures f;
      f.address = g->address;
      f.worker = w->index();
      f.queue = g->queue.load(std::memory_order_relaxed);
      f.backlog = g->backlog.load(std::memory_order_relaxed);
      f.drops = g->drops.load(std::memory_order_relaxed);
      out.push_back(std::move(f));
    }
  }
  return out;
}

void server::impl::make_sampler() {
  engine::observer::inputs in;
  in.gather = [this](engine::metrics::status_figures& f) {
    f.stats = stats();
    f.listeners = listener_figures();
  };
  for (const auto* list : {&cfg.addresses, &cfg.tls_addresses}) {
    for (const auto& a : *list) {
      if (std::find(in.ports.begin(), in.ports.end(), a.port()) == in.ports.end())
        in.ports.push_back(a.port());
      in.addresses.push_back(a.to_string());
    }
  }
  in.start_time = start_time;
  std::function<void(const engine::observer::sample_ptr&)> publish;
  if (status_on) {
    // Each worker with open streams gets the new sample on its own thread; workers nobody
    // watches are not woken.
    publish = [this](const engine::observer::sample_ptr& sample) {
      for (std::size_t i = 0; i < workers.size() && i < hubs.size(); ++i) {
        if (hubs[i]->size() == 0) continue;
        engine::event_hub* hub = hubs[i].get();
        workers[i]->post([hub, sample] { hub->publish(sample->event); });
      }
    };
  }
  sampler = std::make_unique<engine::observer>(std::move(in), std::move(publish));
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
    LOG_WARN(
        "listen backlog %d is capped by net.core.somaxconn=%d (raise it with "
        "sysctl -w net.core.somaxconn=%d)",
        o.backlog, max_backlog, o.backlog);
  }
  impl_->start_time =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const bool observed = impl_->metrics_on || impl_->status_on;
  c.sample_listeners = observed;
  c.addresses.clear();
  for (const auto& a : o.listen)
    c.addresses.push_back(*net::parse_address(a));
  c.tls_addresses.clear();
  for (const auto& a : o.listen_tls)
    c.tls_addresses.push_back(*net::parse_address(a));
  unsigned n = o.threads ? o.threads : std::thread::hardware_concurrency();
  if (n == 0) n = 1;
  if (!o.share_port) {
    // SO_REUSEPORT would silently share the port with a listener that is already there.
    for (int tls = 0; tls < 2; ++tls) {
      for (const auto& a : tls ? c.tls_addresses : c.addresses) {
        if (auto ec = net::probe_listen_address(a)) {
          throw std::system_error(
              ec, "cannot listen on " + a.to_string() +
                      (ec == std::errc::address_in_use
                           ? " (another socket listens there; --share-port joins it)"
                           : ""));
        }
      }
    }
  }
  for (unsigned i = 0; i < n; ++i) {
    auto w = std::make_unique<engine::worker>(c, i);
    std::string failed;
    if (auto ec = w->open_listeners(c.addresses, c.tls_addresses, failed)) {
      impl_->workers.clear();
      throw std::system_error(ec, "cannot listen on " + failed);
    }
    impl_->workers.push_back(std::move(w));
  }
  {
    std::vector<engine::worker*> ptrs;
    for (auto& w : impl_->workers)
      ptrs.push_back(w.get());
    impl_->ws_hub.set_workers(std::move(ptrs));
    c.websocket_hub = &impl_->ws_hub;
  }
  if (impl_->status_on) {
    impl_->hubs.clear();
    for (auto& w : impl_->workers) {
      auto hub = std::make_unique<engine::event_hub>();
      engine::event_hub* h = hub.get();
      w->on_drain([h] { h->end_all(); });
      impl_->hubs.push_back(std::move(hub));
    }
  }
  for (auto& w : impl_->workers)
    for (const auto& hook : impl_->drain_hooks)
      w->on_drain(hook);
  // The sampler exists before the workers run (their handlers read the pointer); its thread
  // starts after them.
  if (observed) impl_->make_sampler();
  for (auto& w : impl_->workers)
    w->start();
  {
    std::lock_guard<std::mutex> g(impl_->broadcast->mu);
    impl_->broadcast->workers.clear();
    for (auto& w : impl_->workers)
      impl_->broadcast->workers.push_back(w.get());
  }
  if (impl_->sampler) impl_->sampler->start();
  impl_->started = true;
  for (const auto& a : c.addresses) {
    LOG_INFO("listening on http://%s (%u worker%s)", a.to_string().c_str(), n, n == 1 ? "" : "s");
  }
  for (const auto& a : c.tls_addresses) {
    LOG_INFO("listening on https://%s (%u worker%s, %zu certificate%s)", a.to_string().c_str(), n,
             n == 1 ? "" : "s", impl_->tls->certificate_count(),
             impl_->tls->certificate_count() == 1 ? "" : "s");
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
  impl_->stop_sampler();
  for (auto& w : impl_->workers)
    w->drain();
  for (auto& w : impl_->workers)
    w->join();
  impl_->clear_broadcast();
  impl_->started = false;
  LOG_INFO("stopped");
  return 0;
}

void server::stop() noexcept {
  impl_->stop_requested.store(true);
}

void server::on_drain(std::function<void()> fn) {
  if (impl_->started) throw std::logic_error("server::on_drain after start()");
  if (fn) impl_->drain_hooks.push_back(std::move(fn));
}

std::function<void(std::function<void()>)> server::worker_broadcast() const {
  // Holds the shared target list, not the server: safe after the server is gone.
  return [targets = impl_->broadcast](std::function<void()> fn) {
    std::lock_guard<std::mutex> g(targets->mu);
    for (engine::worker* w : targets->workers)
      w->post(fn);
  };
}

std::vector<std::string> server::local_addresses() const {
  std::vector<std::string> out;
  for (const auto& a : impl_->cfg.addresses)
    out.push_back(a.to_string());
  return out;
}

std::vector<std::string> server::local_tls_addresses() const {
  std::vector<std::string> out;
  for (const auto& a : impl_->cfg.tls_addresses)
    out.push_back(a.to_string());
  return out;
}

server_stats server::stats() const noexcept {
  return impl_->stats();
}

server_stats server::impl::stats() const noexcept {
  server_stats s;
  for (const auto& w : workers) {
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
    s.timeouts_handshake += r(st.timeouts_handshake);
    s.tls_handshakes += r(st.tls_handshakes);
    s.tls_resumed += r(st.tls_resumed);
    s.tls_handshake_failures += r(st.tls_handshake_failures);
    s.tls_errors += r(st.tls_errors);
    using engine::conn_activity;
    auto gauge = [&](int secure, conn_activity a) {
      return r(st.activity[secure][static_cast<int>(a)]);
    };
    // Adds the four activity gauges of the slots picked by `in` to reading/writing/idle/closing.
    auto add4 = [&](std::uint64_t& reading, std::uint64_t& writing, std::uint64_t& idle,
                    std::uint64_t& closing, auto in) {
      auto total = [&](conn_activity a) {
        std::uint64_t n = 0;
        for (int slot = 0; slot < 6; ++slot)
          if (in(slot)) n += gauge(slot, a);
        return n;
      };
      reading += total(conn_activity::reading);
      writing += total(conn_activity::writing);
      idle += total(conn_activity::idle);
      closing += total(conn_activity::closing);
    };
    // Slots (worker_stats::activity): 0/1 HTTP/1.1, 2/3 HTTP/2, 4/5 WebSocket; odd = TLS.
    add4(s.connections_reading, s.connections_writing, s.connections_idle, s.connections_closing,
         [](int) { return true; });
    add4(s.tls_connections_reading, s.tls_connections_writing, s.tls_connections_idle,
         s.tls_connections_closing, [](int slot) { return slot % 2 == 1; });
    add4(s.http2_connections_reading, s.http2_connections_writing, s.http2_connections_idle,
         s.http2_connections_closing, [](int slot) { return slot / 2 == 1; });
    add4(s.http2_tls_connections_reading, s.http2_tls_connections_writing,
         s.http2_tls_connections_idle, s.http2_tls_connections_closing,
         [](int slot) { return slot == 3; });
    add4(s.websocket_connections_reading, s.websocket_connections_writing,
         s.websocket_connections_idle, s.websocket_connections_closing,
         [](int slot) { return slot / 2 == 2; });
    add4(s.websocket_tls_connections_reading, s.websocket_tls_connections_writing,
         s.websocket_tls_connections_idle, s.websocket_tls_connections_closing,
         [](int slot) { return slot == 5; });
    s.websocket_upgrades += r(st.ws_upgrades);
    s.websocket_refused += r(st.ws_refused);
    for (std::size_t i = 0; i < s.latency_counts.size(); ++i) {
      s.latency_counts[i] += r(st.latency[i]);
    }
    s.latency_sum_ns += r(st.latency_sum_ns);
  }
  return s;
}

const server_options& server::options() const noexcept {
  return impl_->cfg.options;
}

}  // namespace portico
