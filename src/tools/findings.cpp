#include "tools/findings.hpp"

#include <algorithm>
#include <cstdio>
#include <string>

namespace portico::tools {

std::string_view severity_name(severity s) noexcept {
  switch (s) {
    case severity::info:
      return "info";
    case severity::warning:
      return "warning";
    case severity::critical:
      return "critical";
  }
  return "info";
}

namespace {

std::uint64_t count(const state_counts& c, tcp_state s) {
  return c[static_cast<std::size_t>(report_index(s))];
}

std::string num(std::int64_t v) {
  return std::to_string(v);
}
std::string num(std::uint64_t v) {
  return std::to_string(v);
}

std::string owners_text(const std::vector<process_ref>& owners) {
  std::string out;
  for (const auto& o : owners) {
    if (!out.empty()) out += ", ";
    out += "pid " + std::to_string(o.pid) + " (" + o.program + ")";
  }
  return out;
}

std::string sysctl_text(int v) {
  return v < 0 ? std::string("unknown") : std::to_string(v);
}

const counter_row* find_counter(const tcp_report& r, std::string_view key) {
  for (const auto& c : r.counters)
    if (c.key == key) return &c;
  return nullptr;
}

std::int64_t delta_of(const tcp_report& r, std::string_view key) {
  auto* c = find_counter(r, key);
  return c && c->delta ? *c->delta : 0;
}

std::int64_t total_of(const tcp_report& r, std::string_view key) {
  auto* c = find_counter(r, key);
  return c ? c->total : 0;
}

std::string syncookies_text(int v) {
  switch (v) {
    case 0:
      return "net.ipv4.tcp_syncookies = 0 (off): once the SYN queue is full, new SYNs are "
             "dropped and real clients time out.";
    case 1:
      return "net.ipv4.tcp_syncookies = 1 (on when needed): once the SYN queue is full the "
             "kernel answers with SYN cookies, so real clients still get in.";
    case 2:
      return "net.ipv4.tcp_syncookies = 2: every SYN is answered with a SYN cookie.";
    default:
      return "net.ipv4.tcp_syncookies could not be read.";
  }
}

std::string interval_text(const tcp_report& r) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "in the last %g s", r.interval_s);
  return buf;
}

void syn_rules(const tcp_report& r, const thresholds& t, std::vector<finding>& out) {
  for (const auto& p : r.ports) {
    if (!p.listening) continue;
    auto syn = count(p.states, tcp_state::syn_recv);
    if (syn < t.syn_recv_min) continue;
    std::uint64_t backlog = 0;
    bool known = true;
    for (const auto& l : r.listeners) {
      if (l.port != p.port) continue;
      if (l.backlog)
        backlog += *l.backlog;
      else
        known = false;
    }
    known = known && backlog > 0;
    bool hit = known ? static_cast<double>(syn) >=
                           t.syn_recv_backlog_fraction * static_cast<double>(backlog)
                     : syn >= t.syn_recv_unknown_backlog;
    if (!hit) continue;
    finding f;
    f.id = "syn_recv_high";
    f.port = p.port;
    f.level = known && syn >= backlog ? severity::critical : severity::warning;
    f.summary = "port " + num(std::uint64_t{p.port}) + ": " + num(syn) +
                " half-open connections (SYN-RECV)" +
                (known ? ", the SYN queue limit is the backlog " + num(backlog) : "");
    f.reason =
        "Clients sent SYN and got our SYN-ACK but their final ACK has not arrived. Many at once "
        "mean the half-open (SYN) queue is filling: a SYN flood (spoofed sources never "
        "answer) or clients that cannot receive our SYN-ACKs (a firewall or routing problem "
        "on their path). " +
        syncookies_text(r.sysctls.syncookies);
    f.action =
        "Check the remote addresses of the SYN-RECV sockets: many distinct addresses that never "
        "complete point to a flood; filter or rate-limit SYNs upstream. Keep "
        "net.ipv4.tcp_syncookies=1. If the clients are real, raise the listen backlog (capped "
        "by net.core.somaxconn = " +
        sysctl_text(r.sysctls.somaxconn) + ") and net.ipv4.tcp_max_syn_backlog (now " +
        sysctl_text(r.sysctls.max_syn_backlog) + ").";
    out.push_back(std::move(f));
  }
}

void accept_rules(const tcp_report& r, const thresholds& t, std::vector<finding>& out) {
  for (const auto& l : r.listeners) {
    if (!l.backlog || *l.backlog == 0 || l.accept_queue == 0) continue;
    double fill = static_cast<double>(l.accept_queue) / static_cast<double>(*l.backlog);
    if (fill < t.accept_queue_fraction) continue;
    bool full = l.accept_queue >= *l.backlog;
    finding f;
    f.id = full ? "accept_queue_full" : "accept_queue_high";
    f.level = full ? severity::critical : severity::warning;
    f.port = l.port;
    f.summary = "listener " + endpoint_string(l.address, l.port) + ": accept queue " +
                (full ? "full" : "nearly full") + " (" + num(std::uint64_t{l.accept_queue}) +
                " waiting, backlog " + num(std::uint64_t{*l.backlog}) + ")" +
                (l.owners.empty() ? "" : ", held by " + owners_text(l.owners));
    f.reason =
        "Connections finished the handshake but the application is not calling accept() fast "
        "enough. When the queue is full the kernel drops new handshakes (ListenOverflows), and "
        "clients retry after 1, 3, 7... seconds: they see slow or timed-out connects.";
    f.action =
        "Accept faster: more worker threads or processes, never block the accept loop. Or raise "
        "the backlog (the listen(2) argument; portico serve --backlog N), which the kernel caps "
        "at net.core.somaxconn (now " +
        sysctl_text(r.sysctls.somaxconn) + ").";
    out.push_back(std::move(f));
  }
}

void counter_rules(const tcp_report& r, const thresholds& t, std::vector<finding>& out) {
  bool watch = r.interval_s > 0 && r.sample > 1;
  if (!watch) {
    // One snapshot: counters are totals since boot, old history as often as not.
    std::string list;
    for (std::string_view key :
         {"TcpExt.ListenOverflows", "TcpExt.TCPReqQFullDrop", "TcpExt.SyncookiesSent"}) {
      auto v = total_of(r, key);
      if (v <= 0) continue;
      if (!list.empty()) list += ", ";
      list += std::string(key.substr(key.find('.') + 1)) + " " + num(v);
    }
    if (list.empty()) return;
    finding f;
    f.id = "drops_since_boot";
    f.summary = "since boot (of this network namespace): " + list;
    f.reason =
        "These counters only grow; they say queues overflowed at some time, not that they do "
        "now.";
    f.action = "Run with --watch SECONDS to see whether they are still rising.";
    out.push_back(std::move(f));
    return;
  }
  auto overflows = delta_of(r, "TcpExt.ListenOverflows");
  if (overflows > 0) {
    finding f;
    f.id = "listen_overflows";
    f.level = severity::critical;
    f.summary = "ListenOverflows +" + num(overflows) + " " + interval_text(r) +
                ": handshakes dropped because an accept queue was full";
    f.reason =
        "An application is not accepting connections as fast as they arrive; the kernel drops "
        "the excess and clients retry after 1, 3, 7... seconds.";
    f.action =
        "See the listeners whose accept queue is at its backlog. Accept faster (more workers) or "
        "raise the backlog; the kernel caps it at net.core.somaxconn (now " +
        sysctl_text(r.sysctls.somaxconn) + ").";
    out.push_back(std::move(f));
  }
  auto cookies = delta_of(r, "TcpExt.SyncookiesSent");
  if (cookies > 0) {
    finding f;
    f.id = "syn_cookies_sent";
    f.level = severity::warning;
    f.summary = "SyncookiesSent +" + num(cookies) + " " + interval_text(r) +
                ": a SYN queue overflowed (possible SYN flood)";
    f.reason = "A listener's half-open queue was full, so the kernel answered with SYN cookies. " +
               syncookies_text(r.sysctls.syncookies);
    f.action =
        "Look for listeners with many SYN-RECV sockets. If this is a flood, filter it upstream; "
        "if the clients are real, raise the backlog and net.ipv4.tcp_max_syn_backlog.";
    out.push_back(std::move(f));
  }
  auto qfull = delta_of(r, "TcpExt.TCPReqQFullDrop");
  if (qfull > 0) {
    finding f;
    f.id = "syn_queue_drops";
    f.level = severity::critical;
    f.summary = "TCPReqQFullDrop +" + num(qfull) + " " + interval_text(r) +
                ": SYNs dropped because the SYN queue was full";
    f.reason = "Clients' connection attempts were discarded; they retry after 1, 3, 7... s. " +
               syncookies_text(r.sysctls.syncookies);
    f.action =
        "Turn on SYN cookies (net.ipv4.tcp_syncookies=1), raise the backlog and "
        "net.ipv4.tcp_max_syn_backlog, and filter floods upstream.";
    out.push_back(std::move(f));
  }
  auto on_timeout = delta_of(r, "TcpExt.TCPAbortOnTimeout");
  if (on_timeout > 0) {
    finding f;
    f.id = "aborts_on_timeout";
    f.level = severity::warning;
    f.summary = "TCPAbortOnTimeout +" + num(on_timeout) + " " + interval_text(r) +
                ": connections dropped after every retransmission timed out";
    f.reason =
        "Peers stopped answering (gone, unreachable, or packets lost on the path); the kernel "
        "gave up after net.ipv4.tcp_retries2 retransmissions (or TCP_USER_TIMEOUT).";
    f.action =
        "Check the network path and peer health; TCPTimeouts and Tcp.RetransSegs show how much "
        "is being retransmitted.";
    out.push_back(std::move(f));
  }
  auto rsts = delta_of(r, "Tcp.OutRsts");
  auto on_data = delta_of(r, "TcpExt.TCPAbortOnData");
  auto on_close = delta_of(r, "TcpExt.TCPAbortOnClose");
  if (rsts >= t.resets_min || on_data > 0 || on_close > 0) {
    finding f;
    f.id = "resets";
    f.level = severity::info;
    f.summary = "resets sent " + interval_text(r) + ": " + num(rsts) + " RST segments (" +
                num(on_close) + " closes with unread data, " + num(on_data) +
                " data after close, " + num(delta_of(r, "Tcp.EstabResets")) +
                " established connections reset)";
    f.reason =
        "A RST ends a connection at once. TCPAbortOnClose: the application closed a socket "
        "with unread input; TCPAbortOnData: data arrived after the application closed; other "
        "RSTs answer segments for connections that do not exist (e.g. connects to a closed "
        "port, late packets after a restart).";
    f.action =
        "If clients report 'connection reset', read requests fully before closing and "
        "half-close (shutdown) before close; check for clients connecting to closed ports.";
    out.push_back(std::move(f));
  }
}

finding close_wait_finding(std::optional<std::uint16_t> port, std::uint64_t n,
                           const std::vector<process_ref>& owners) {
  finding f;
  f.id = "close_wait";
  f.level = severity::warning;
  f.port = port;
  f.summary = (port ? "port " + num(std::uint64_t{*port}) + ": " : std::string("client side: ")) +
              num(n) + " sockets in CLOSE-WAIT" +
              (owners.empty() ? "" : ", held by " + owners_text(owners));
  f.reason =
      "The peer closed its side (sent FIN) and the kernel acknowledged it, but the application "
      "holding the socket never called close(). CLOSE-WAIT does not time out: each one keeps a "
      "file descriptor and memory until the application closes it or exits.";
  f.action =
      "Fix the application: close the socket when a read returns 0 (end of file), also on "
      "error paths; make connection pools drop connections the peer closed.";
  return f;
}

void port_rules(const tcp_report& r, const thresholds& t, std::vector<finding>& out) {
  // Client-side sockets each sit on their own ephemeral port: judge them together.
  auto client_cw = count(r.client_side, tcp_state::close_wait);
  if (client_cw >= t.close_wait_min)
    out.push_back(close_wait_finding(std::nullopt, client_cw, r.client_close_wait_owners));
  for (const auto& p : r.ports) {
    auto cw = count(p.states, tcp_state::close_wait);
    if (!p.ephemeral && cw >= t.close_wait_min)
      out.push_back(close_wait_finding(p.port, cw, p.close_wait_owners));
    auto fw2 = count(p.states, tcp_state::fin_wait2);
    if (fw2 >= t.fin_wait2_min) {
      finding f;
      f.id = "fin_wait2";
      f.level = severity::info;
      f.port = p.port;
      f.summary = "port " + num(std::uint64_t{p.port}) + ": " + num(fw2) + " sockets in FIN-WAIT-2";
      f.reason =
          "This side closed (sent FIN, acknowledged) but the peers have not closed theirs: the "
          "peer application is in CLOSE-WAIT. Sockets this side already closed are dropped "
          "after net.ipv4.tcp_fin_timeout (now " +
          sysctl_text(r.sysctls.fin_timeout) + " s); ones still open here wait for the peer.";
      f.action = "Look at the peer application (it should close after reading end of file).";
      out.push_back(std::move(f));
    }
    auto tw = count(p.states, tcp_state::time_wait);
    if (p.listening && tw >= t.time_wait_server_min) {
      finding f;
      f.id = "time_wait_server";
      f.level = severity::info;
      f.port = p.port;
      f.summary = "port " + num(std::uint64_t{p.port}) + ": " + num(tw) +
                  " TIME-WAIT sockets on the server side";
      f.reason =
          "This server closes connections before its clients do, so TIME-WAIT (60 s) lands "
          "here. On a server that is mostly harmless: incoming connections use no local "
          "ephemeral ports; each costs a little kernel memory.";
      f.action =
          "Usually nothing. HTTP keep-alive reduces it; a restarting server needs SO_REUSEADDR "
          "to bind the port meanwhile (portico sets it).";
      out.push_back(std::move(f));
    }
  }
}

void client_time_wait_rule(const tcp_report& r, const thresholds& t, std::vector<finding>& out) {
  auto tw = count(r.client_side, tcp_state::time_wait);
  auto range = static_cast<std::uint64_t>(r.sysctls.port_range_size());
  std::uint64_t top = r.client_time_wait_top.empty() ? 0 : r.client_time_wait_top[0].count;
  bool warn = range > 0 &&
              static_cast<double>(top) >= t.time_wait_range_fraction * static_cast<double>(range);
  if (!warn && tw < t.time_wait_client_min) return;
  finding f;
  f.id = "time_wait_client";
  f.level = warn ? severity::warning : severity::info;
  f.summary = num(tw) + " client-side TIME-WAIT sockets";
  if (top > 0)
    f.summary += ", " + num(top) + " of them to " +
                 endpoint_string(r.client_time_wait_top[0].address, r.client_time_wait_top[0].port);
  f.reason =
      "This host opened these connections and closed them first, so each socket stays in "
      "TIME-WAIT for 60 s and keeps its local port. Connections to one remote address and port "
      "need distinct local ports from net.ipv4.ip_local_port_range (" +
      sysctl_text(r.sysctls.port_range_low) + "-" + sysctl_text(r.sysctls.port_range_high) + ": " +
      num(range) +
      " ports); when they run out, connect() fails with EADDRNOTAVAIL (ephemeral port "
      "exhaustion).";
  f.action =
      "Reuse connections (keep-alive, connection pools) instead of one connection per request; "
      "widen net.ipv4.ip_local_port_range; net.ipv4.tcp_tw_reuse (now " +
      sysctl_text(r.sysctls.tw_reuse) +
      ") = 1 lets new outgoing connections reuse TIME-WAIT ports safely.";
  out.push_back(std::move(f));
}

}  // namespace

std::vector<finding> evaluate_findings(const tcp_report& r, const thresholds& t) {
  std::vector<finding> out;
  syn_rules(r, t, out);
  accept_rules(r, t, out);
  counter_rules(r, t, out);
  port_rules(r, t, out);
  client_time_wait_rule(r, t, out);
  std::stable_sort(out.begin(), out.end(), [](const finding& a, const finding& b) {
    if (a.level != b.level) return a.level > b.level;
    return a.port.value_or(0) < b.port.value_or(0);
  });
  return out;
}

}  // namespace portico::tools
