#include "server/metrics.hpp"

#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <tuple>

#include "tools/json.hpp"

namespace portico::engine::metrics {

double latency_quantile(double q, std::span<const std::uint64_t> counts) noexcept {
  if (counts.size() != latency_bucket_count || std::isnan(q)) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  std::uint64_t total = 0;
  for (std::uint64_t c : counts)
    total += c;
  if (total == 0) return std::numeric_limits<double>::quiet_NaN();
  if (q < 0) q = 0;
  if (q > 1) q = 1;
  const double rank = q * static_cast<double>(total);
  std::uint64_t below = 0;  // cumulative count of the buckets before b
  for (std::size_t b = 0; b < counts.size(); ++b) {
    const std::uint64_t cumulative = below + counts[b];
    if (static_cast<double>(cumulative) >= rank) {
      if (b == latency_bounds_us.size()) {
        // Prometheus: a quantile in the +Inf bucket is reported as the largest finite bound.
        return latency_bounds_us.back() / 1e6;
      }
      const double lower = b == 0 ? 0.0 : latency_bounds_us[b - 1] / 1e6;
      const double upper = latency_bounds_us[b] / 1e6;
      if (counts[b] == 0) return lower;
      const double within = (rank - static_cast<double>(below)) / static_cast<double>(counts[b]);
      return lower + (upper - lower) * within;
    }
    below = cumulative;
  }
  return latency_bounds_us.back() / 1e6;  // not reached: the last cumulative count is total
}

namespace {

std::string decimal(std::uint64_t value, std::uint64_t scale, int digits) {
  std::string out = std::to_string(value / scale);
  std::uint64_t frac = value % scale;
  if (frac == 0) return out;
  char buf[24];
  std::snprintf(buf, sizeof buf, "%0*llu", digits, static_cast<unsigned long long>(frac));
  std::string f(buf);
  while (!f.empty() && f.back() == '0')
    f.pop_back();
  out += '.';
  out += f;
  return out;
}

}  // namespace

std::string seconds_from_us(std::uint64_t us) {
  return decimal(us, 1'000'000, 6);
}
std::string seconds_from_ns(std::uint64_t ns) {
  return decimal(ns, 1'000'000'000, 9);
}

std::string escape_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

// Writes families of the text format: HELP and TYPE once, then the samples.
class exposition {
 public:
  explicit exposition(std::string& out) : out_(out) {}

  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  void sample(std::string_view name, std::string_view labels, std::string_view value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }
  void sample(std::string_view name, std::string_view labels, std::uint64_t value) {
    sample(name, labels, std::to_string(value));
  }
  // A family with one unlabelled sample.
  void single(std::string_view name, std::string_view type, std::string_view help,
              std::uint64_t value) {
    family(name, type, help);
    sample(name, {}, value);
  }

 private:
  std::string& out_;
};

std::string label(std::string_view name, std::string_view value) {
  std::string out(name);
  out += "=\"";
  out += escape_label(value);
  out += '"';
  return out;
}

}  // namespace

std::string render_prometheus(const server_stats& s, std::span<const listener_figures> listeners,
                              const kernel_figures* kernel, double start_time) {
  std::string out;
  out.reserve(6144);
  exposition e(out);

  e.single("portico_connections_accepted_total", "counter", "TCP connections accepted.",
           s.connections_accepted);
  e.single("portico_connections_refused_total", "counter",
           "Connections closed at accept (limits, descriptor exhaustion).", s.connections_refused);
  e.single("portico_connections_open", "gauge", "Connections open now.", s.connections_open);
  e.family("portico_connections", "gauge",
           "Open connections by protocol (http1: HTTP/1.1 in cleartext; https: HTTP/1.1 over "
           "TLS; http2: HTTP/2 in cleartext or over TLS; websocket: WebSocket in cleartext or "
           "over TLS) and state (reading: a request is arriving, or the TLS handshake; writing: a "
           "request is being handled or answered; idle: keep-alive; closing: FIN sent).");
  // The totals hold every protocol; the TLS and HTTP/2 shares are counted apart (HTTP/2 over
  // TLS is in both).
  auto minus = [](std::uint64_t all, std::uint64_t part) { return all >= part ? all - part : 0; };
  struct by_state {
    const char* state;
    std::uint64_t all, tls, h2, h2tls, ws, wstls;
  };
  const by_state states[] = {
      {"reading", s.connections_reading, s.tls_connections_reading, s.http2_connections_reading,
       s.http2_tls_connections_reading, s.websocket_connections_reading,
       s.websocket_tls_connections_reading},
      {"writing", s.connections_writing, s.tls_connections_writing, s.http2_connections_writing,
       s.http2_tls_connections_writing, s.websocket_connections_writing,
       s.websocket_tls_connections_writing},
      {"idle", s.connections_idle, s.tls_connections_idle, s.http2_connections_idle,
       s.http2_tls_connections_idle, s.websocket_connections_idle,
       s.websocket_tls_connections_idle},
      {"closing", s.connections_closing, s.tls_connections_closing, s.http2_connections_closing,
       s.http2_tls_connections_closing, s.websocket_connections_closing,
       s.websocket_tls_connections_closing}};
  for (const auto& b : states) {
    const std::uint64_t cleartext_other = minus(b.h2, b.h2tls) + minus(b.ws, b.wstls);
    e.sample("portico_connections", "protocol=\"http1\",state=\"" + std::string(b.state) + '"',
             minus(minus(b.all, b.tls), cleartext_other));
  }
  for (const auto& b : states) {
    e.sample("portico_connections", "protocol=\"https\",state=\"" + std::string(b.state) + '"',
             minus(b.tls, b.h2tls + b.wstls));
  }
  for (const auto& b : states) {
    e.sample("portico_connections", "protocol=\"http2\",state=\"" + std::string(b.state) + '"',
             b.h2);
  }
  for (const auto& b : states) {
    e.sample("portico_connections", "protocol=\"websocket\",state=\"" + std::string(b.state) + '"',
             b.ws);
  }

  e.single("portico_requests_total", "counter", "Requests dispatched to handlers.", s.requests);
  e.single("portico_websocket_upgrades_total", "counter",
           "WebSocket handshakes accepted (101 Switching Protocols).", s.websocket_upgrades);
  e.single("portico_websocket_refused_total", "counter",
           "WebSocket handshakes refused (400, 403, 426 or the application's status).",
           s.websocket_refused);
  e.family("portico_responses_total", "counter", "Responses written, by status class.");
  const std::uint64_t classes[] = {s.responses_1xx, s.responses_2xx, s.responses_3xx,
                                   s.responses_4xx, s.responses_5xx};
  for (int i = 0; i < 5; ++i) {
    e.sample("portico_responses_total", "class=\"" + std::to_string(i + 1) + "xx\"", classes[i]);
  }

  e.family("portico_request_duration_seconds", "histogram",
           "Time from a complete request dispatched to its handler to the last byte of its "
           "response handed to the kernel.");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < latency_bucket_count; ++i) {
    cumulative += s.latency_counts[i];
    std::string le = i < latency_bounds_us.size() ? seconds_from_us(latency_bounds_us[i]) : "+Inf";
    e.sample("portico_request_duration_seconds_bucket", label("le", le), cumulative);
  }
  e.sample("portico_request_duration_seconds_sum", {}, seconds_from_ns(s.latency_sum_ns));
  // The count is the +Inf bucket by definition; summing the buckets keeps them consistent even
  // when the workers' counters are read while they change.
  e.sample("portico_request_duration_seconds_count", {}, cumulative);

  e.single("portico_bytes_received_total", "counter", "Bytes read from clients.", s.bytes_in);
  e.single("portico_bytes_sent_total", "counter", "Bytes written to clients.", s.bytes_out);
  e.single("portico_resets_received_total", "counter", "Connections reset by the peer.",
           s.resets_received);
  e.single("portico_resets_sent_total", "counter", "Connections closed abortively (RST).",
           s.resets_sent);
  e.family("portico_timeouts_total", "counter", "Connections timed out, by phase.");
  e.sample("portico_timeouts_total", "phase=\"header\"", s.timeouts_header);
  e.sample("portico_timeouts_total", "phase=\"body\"", s.timeouts_body);
  e.sample("portico_timeouts_total", "phase=\"idle\"", s.timeouts_idle);
  e.sample("portico_timeouts_total", "phase=\"write\"", s.timeouts_write);
  e.sample("portico_timeouts_total", "phase=\"handshake\"", s.timeouts_handshake);
  e.single("portico_protocol_errors_total", "counter",
           "Requests refused by the HTTP/1 parser (4xx/5xx and close).", s.protocol_errors);
  e.family("portico_tls_handshakes_total", "counter",
           "TLS handshakes completed, by whether the session was resumed.");
  e.sample("portico_tls_handshakes_total", "resumed=\"false\"",
           minus(s.tls_handshakes, s.tls_resumed));
  e.sample("portico_tls_handshakes_total", "resumed=\"true\"", s.tls_resumed);
  e.single("portico_tls_handshake_failures_total", "counter",
           "TLS handshakes that failed (no common version or cipher, a bad ClientHello, a fatal "
           "alert from the client, plain HTTP to a TLS port).",
           s.tls_handshake_failures);
  e.single("portico_tls_errors_total", "counter",
           "TLS connections that failed after the handshake (bad record, fatal alert).",
           s.tls_errors);

  if (!listeners.empty()) {
    auto labels = [](const listener_figures& l) {
      return label("listener", l.address) + ',' + label("worker", std::to_string(l.worker));
    };
    e.family("portico_listen_queue_length", "gauge",
             "Connections in a listening socket's accept queue (sampled every second).");
    for (const auto& l : listeners)
      e.sample("portico_listen_queue_length", labels(l), l.queue);
    e.family("portico_listen_queue_limit", "gauge",
             "A listening socket's backlog: listen() argument capped by net.core.somaxconn.");
    for (const auto& l : listeners)
      e.sample("portico_listen_queue_limit", labels(l), l.backlog);
    e.family("portico_listen_drops_total", "counter",
             "SYNs and handshakes a listening socket dropped, accept queue overflows included "
             "(sampled every second).");
    for (const auto& l : listeners)
      e.sample("portico_listen_drops_total", labels(l), l.drops);
  }

  if (kernel) {
    if (kernel->tcp_valid) {
      e.family("portico_tcp_sockets", "gauge",
               "TCP sockets whose local port is one of the server's listening ports, by state "
               "(sock_diag, sampled every second).");
      for (std::size_t i = 0; i < tools::reported_states.size(); ++i) {
        e.sample("portico_tcp_sockets",
                 label("state", tools::state_name(tools::reported_states[i])),
                 kernel->tcp_states[i]);
      }
    }
    if (kernel->netns_listen_overflows >= 0) {
      e.single("portico_netns_tcp_listen_overflows_total", "counter",
               "TcpExt.ListenOverflows of the network namespace: handshakes dropped because an "
               "accept queue was full, all listeners of every process (sampled every second).",
               static_cast<std::uint64_t>(kernel->netns_listen_overflows));
    }
    if (kernel->netns_listen_drops >= 0) {
      e.single("portico_netns_tcp_listen_drops_total", "counter",
               "TcpExt.ListenDrops of the network namespace: SYNs and handshakes dropped by any "
               "listener of any process, overflows included (sampled every second).",
               static_cast<std::uint64_t>(kernel->netns_listen_drops));
    }
  }

  e.family("portico_start_time_seconds", "gauge", "Unix time the server started.");
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", start_time);
  e.sample("portico_start_time_seconds", {}, buf);
  return out;
}

// ---- status JSON --------------------------------------------------------------------------------

namespace {

using counts_t = std::array<std::uint64_t, latency_bucket_count>;

std::uint64_t delta(std::uint64_t now, std::uint64_t before) noexcept {
  return now >= before ? now - before : 0;
}

void latency_window(tools::json_writer& j, const counts_t& counts, const std::uint64_t* sum_ns) {
  std::uint64_t total = 0;
  for (auto c : counts)
    total += c;
  j.begin_object();
  j.key("count").value(total);
  if (sum_ns) {
    j.key("mean_ms");
    if (total) {
      j.value(static_cast<double>(*sum_ns) / 1e6 / static_cast<double>(total));
    } else {
      j.null();
    }
  }
  const std::pair<const char*, double> qs[] = {{"p50_ms", 0.5}, {"p90_ms", 0.9}, {"p99_ms", 0.99}};
  for (const auto& [name, q] : qs) {
    j.key(name).value(latency_quantile(q, counts) * 1e3);  // NaN is written as null
  }
  j.key("counts").begin_array();
  for (auto c : counts)
    j.value(c);
  j.end_array();
  j.end_object();
}

}  // namespace

std::string render_status_json(const status_figures& cur, const status_figures* prev,
                               std::span<const std::string> addresses) {
  const server_stats& s = cur.stats;
  tools::json_writer j;
  j.begin_object();
  j.key("schema").value("portico.status/1");
  j.key("time").value(cur.unix_time);
  j.key("uptime").value(cur.unix_time - cur.start_time);
  double dt = prev ? cur.monotonic - prev->monotonic : 0;
  if (!(dt > 0)) prev = nullptr;  // no usable interval: no rates
  j.key("interval");
  if (prev) {
    j.value(dt);
  } else {
    j.null();
  }
  j.key("listen").begin_array();
  for (const auto& a : addresses)
    j.value(a);
  j.end_array();

  j.key("connections").begin_object();
  j.key("open").value(s.connections_open);
  j.key("reading").value(s.connections_reading);
  j.key("writing").value(s.connections_writing);
  j.key("idle").value(s.connections_idle);
  j.key("closing").value(s.connections_closing);
  j.end_object();

  j.key("totals").begin_object();
  j.key("accepted").value(s.connections_accepted);
  j.key("refused").value(s.connections_refused);
  j.key("requests").value(s.requests);
  j.key("bytes_in").value(s.bytes_in);
  j.key("bytes_out").value(s.bytes_out);
  j.key("resets_sent").value(s.resets_sent);
  j.key("resets_received").value(s.resets_received);
  j.key("protocol_errors").value(s.protocol_errors);
  j.end_object();

  const std::uint64_t classes[] = {s.responses_1xx, s.responses_2xx, s.responses_3xx,
                                   s.responses_4xx, s.responses_5xx};
  static constexpr const char* class_names[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
  j.key("responses").begin_object();
  for (int i = 0; i < 5; ++i)
    j.key(class_names[i]).value(classes[i]);
  j.end_object();

  j.key("timeouts").begin_object();
  j.key("header").value(s.timeouts_header);
  j.key("body").value(s.timeouts_body);
  j.key("idle").value(s.timeouts_idle);
  j.key("write").value(s.timeouts_write);
  j.key("handshake").value(s.timeouts_handshake);
  j.end_object();

  j.key("http2").begin_object();
  j.key("connections").begin_object();
  j.key("reading").value(s.http2_connections_reading);
  j.key("writing").value(s.http2_connections_writing);
  j.key("idle").value(s.http2_connections_idle);
  j.key("closing").value(s.http2_connections_closing);
  j.end_object();
  j.end_object();

  j.key("tls").begin_object();
  j.key("connections").begin_object();
  j.key("reading").value(s.tls_connections_reading);
  j.key("writing").value(s.tls_connections_writing);
  j.key("idle").value(s.tls_connections_idle);
  j.key("closing").value(s.tls_connections_closing);
  j.end_object();
  j.key("handshakes").value(s.tls_handshakes);
  j.key("resumed").value(s.tls_resumed);
  j.key("handshake_failures").value(s.tls_handshake_failures);
  j.key("errors").value(s.tls_errors);
  j.end_object();

  j.key("rates");
  if (prev) {
    const server_stats& p = prev->stats;
    auto rate = [&](std::uint64_t now, std::uint64_t before) {
      return static_cast<double>(delta(now, before)) / dt;
    };
    j.begin_object();
    j.key("accepted").value(rate(s.connections_accepted, p.connections_accepted));
    j.key("refused").value(rate(s.connections_refused, p.connections_refused));
    j.key("requests").value(rate(s.requests, p.requests));
    j.key("bytes_in").value(rate(s.bytes_in, p.bytes_in));
    j.key("bytes_out").value(rate(s.bytes_out, p.bytes_out));
    j.key("resets_sent").value(rate(s.resets_sent, p.resets_sent));
    j.key("resets_received").value(rate(s.resets_received, p.resets_received));
    const std::uint64_t before[] = {p.responses_1xx, p.responses_2xx, p.responses_3xx,
                                    p.responses_4xx, p.responses_5xx};
    j.key("responses").begin_object();
    for (int i = 0; i < 5; ++i)
      j.key(class_names[i]).value(rate(classes[i], before[i]));
    j.end_object();
    std::uint64_t t_now = s.timeouts_header + s.timeouts_body + s.timeouts_idle + s.timeouts_write +
                          s.timeouts_handshake;
    std::uint64_t t_before = p.timeouts_header + p.timeouts_body + p.timeouts_idle +
                             p.timeouts_write + p.timeouts_handshake;
    j.key("timeouts").value(rate(t_now, t_before));
    j.end_object();
  } else {
    j.null();
  }

  j.key("latency").begin_object();
  j.key("bounds_us").begin_array();
  for (auto b : latency_bounds_us)
    j.value(static_cast<std::uint64_t>(b));
  j.end_array();
  j.key("interval");
  if (prev) {
    counts_t d{};
    for (std::size_t i = 0; i < d.size(); ++i) {
      d[i] = delta(s.latency_counts[i], prev->stats.latency_counts[i]);
    }
    std::uint64_t sum = delta(s.latency_sum_ns, prev->stats.latency_sum_ns);
    latency_window(j, d, &sum);
  } else {
    j.null();
  }
  j.key("total");
  latency_window(j, s.latency_counts, &s.latency_sum_ns);
  j.end_object();

  j.key("listeners").begin_array();
  for (const auto& l : cur.listeners) {
    j.begin_object();
    j.key("address").value(l.address);
    j.key("worker").value(l.worker);
    j.key("queue").value(l.queue);
    j.key("backlog").value(l.backlog);
    j.key("drops").value(l.drops);
    j.end_object();
  }
  j.end_array();

  const kernel_figures& k = cur.kernel;
  j.key("netns").begin_object();
  j.key("listen_overflows");
  if (k.netns_listen_overflows >= 0) {
    j.value(k.netns_listen_overflows);
  } else {
    j.null();
  }
  j.key("listen_drops");
  if (k.netns_listen_drops >= 0) {
    j.value(k.netns_listen_drops);
  } else {
    j.null();
  }
  j.end_object();

  j.key("tcp").begin_object();
  j.key("source");
  if (k.tcp_source.empty()) {
    j.null();
  } else {
    j.value(k.tcp_source);
  }
  j.key("error");
  if (k.tcp_error.empty()) {
    j.null();
  } else {
    j.value(k.tcp_error);
  }
  j.key("states");
  if (k.tcp_valid) {
    j.begin_object();
    for (std::size_t i = 0; i < tools::reported_states.size(); ++i) {
      j.key(tools::state_name(tools::reported_states[i])).value(k.tcp_states[i]);
    }
    j.end_object();
  } else {
    j.null();
  }
  j.end_object();

  j.end_object();
  return j.str();
}

}  // namespace portico::engine::metrics
