#include "tools/tcpstat.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "tools/json.hpp"

namespace portico::tools {

namespace {

std::size_t idx(tcp_state s) {
  return static_cast<std::size_t>(report_index(s));
}

bool in_range(std::uint16_t port, const tcp_sysctls& s) {
  return s.port_range_size() > 0 && port >= s.port_range_low && port <= s.port_range_high;
}

}  // namespace

std::set<std::uint64_t> inodes_to_resolve(const std::vector<tcp_socket>& sockets,
                                          std::optional<std::uint16_t> port) {
  std::set<std::uint64_t> out;
  for (const auto& s : sockets) {
    if (port && s.local_port != *port) continue;
    if ((s.state == tcp_state::listen || s.state == tcp_state::close_wait) && s.inode != 0)
      out.insert(s.inode);
  }
  return out;
}

tcp_report build_report(const socket_table& table, const counter_map& counters,
                        const counter_map* previous, const tcp_sysctls& sysctls,
                        const std::map<std::uint64_t, std::vector<process_ref>>& owners,
                        const report_options& opts, const thresholds& limits) {
  tcp_report r;
  r.source = std::string(source_name(table.source));
  r.fallback_reason = table.fallback_reason;
  if (table.error)
    r.fallback_reason += (r.fallback_reason.empty() ? "" : "; ") + std::string("/proc/net/tcp: ") +
                         table.error.message();
  r.time = opts.time;
  r.interval_s = opts.interval_s;
  r.sample = opts.sample;
  r.port_filter = opts.port;
  r.sysctls = sysctls;

  auto owners_of = [&](std::uint64_t inode) {
    auto it = owners.find(inode);
    return it == owners.end() ? std::vector<process_ref>{} : it->second;
  };

  std::map<std::uint16_t, port_row> ports;
  std::map<std::pair<std::string, std::uint16_t>, remote_count> tw_remote;
  for (const auto& s : table.sockets) {
    if (opts.port && s.local_port != *opts.port) continue;
    int i = report_index(s.state);
    if (i < 0) continue;  // CLOSE: bound or just created, no connection
    auto& row = ports[s.local_port];
    row.port = s.local_port;
    row.states[static_cast<std::size_t>(i)]++;
    r.totals[static_cast<std::size_t>(i)]++;
    if (s.state == tcp_state::listen) {
      row.listening = true;
      listener_row l;
      l.address = s.local;
      l.port = s.local_port;
      l.accept_queue = s.rqueue;
      l.backlog = s.backlog;
      l.inode = s.inode;
      l.owners = owners_of(s.inode);
      r.listeners.push_back(std::move(l));
    } else if (s.state == tcp_state::close_wait && s.inode != 0) {
      for (auto& o : owners_of(s.inode))
        if (std::find(row.close_wait_owners.begin(), row.close_wait_owners.end(), o) ==
            row.close_wait_owners.end())
          row.close_wait_owners.push_back(o);
    }
  }
  for (const auto& s : table.sockets) {
    if (s.state != tcp_state::time_wait || (opts.port && s.local_port != *opts.port)) continue;
    const auto& row = ports[s.local_port];
    if (row.listening || !in_range(s.local_port, sysctls)) continue;
    auto& rc = tw_remote[{
        std::string(s.remote.bytes.begin(), s.remote.bytes.end()) + char(s.remote.family),
        s.remote_port}];
    rc.address = s.remote;
    rc.port = s.remote_port;
    rc.count++;
  }
  for (auto& [port, row] : ports) {
    row.ephemeral = !row.listening && in_range(port, sysctls);
    if (row.ephemeral) {
      for (std::size_t i = 0; i < row.states.size(); ++i)
        r.client_side[i] += row.states[i];
      r.client_ports++;
      for (const auto& o : row.close_wait_owners)
        if (std::find(r.client_close_wait_owners.begin(), r.client_close_wait_owners.end(), o) ==
            r.client_close_wait_owners.end())
          r.client_close_wait_owners.push_back(o);
    }
    std::sort(row.close_wait_owners.begin(), row.close_wait_owners.end(),
              [](const auto& a, const auto& b) { return a.pid < b.pid; });
    r.ports.push_back(std::move(row));
  }
  std::sort(r.listeners.begin(), r.listeners.end(), [](const auto& a, const auto& b) {
    if (a.port != b.port) return a.port < b.port;
    if (a.address.family != b.address.family) return a.address.family < b.address.family;
    return a.address.bytes < b.address.bytes;
  });
  std::sort(r.client_close_wait_owners.begin(), r.client_close_wait_owners.end(),
            [](const auto& a, const auto& b) { return a.pid < b.pid; });
  for (auto& [k, v] : tw_remote)
    r.client_time_wait_top.push_back(v);
  std::stable_sort(r.client_time_wait_top.begin(), r.client_time_wait_top.end(),
                   [](const auto& a, const auto& b) { return a.count > b.count; });
  if (r.client_time_wait_top.size() > 5) r.client_time_wait_top.resize(5);

  for (const auto& t : tracked_counters) {
    counter_row c;
    c.key = std::string(t.key);
    auto it = counters.find(t.key);
    c.total = it == counters.end() ? 0 : it->second;
    if (previous) {
      auto p = previous->find(t.key);
      c.delta = c.total - (p == previous->end() ? 0 : p->second);
    }
    r.counters.push_back(std::move(c));
  }
  r.findings = evaluate_findings(r, limits);
  return r;
}

tcp_report tcpstat_sampler::next() {
  auto table = read_socket_table(opts_.force_proc);
  auto counters = read_kernel_counters();
  auto sysctls = read_tcp_sysctls();
  auto scan = find_socket_owners(inodes_to_resolve(table.sockets, opts_.port));
  report_options ro;
  ro.port = opts_.port;
  ro.interval_s = opts_.interval_s;
  ro.sample = ++sample_;
  ro.time =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto r =
      build_report(table, counters, previous_ ? &*previous_ : nullptr, sysctls, scan.owners, ro);
  previous_ = std::move(counters);
  return r;
}

// ---- text -----------------------------------------------------------------------------------

namespace {

std::string pad_left(std::string s, std::size_t w) {
  if (s.size() < w) s.insert(0, w - s.size(), ' ');
  return s;
}

std::string pad_right(std::string s, std::size_t w) {
  if (s.size() < w) s.append(w - s.size(), ' ');
  return s;
}

// Word-wraps `text` to `width` columns, each line starting with `indent`.
std::string wrap(std::string_view text, std::string_view first, std::string_view indent,
                 std::size_t width = 100) {
  std::string out(first);
  std::size_t col = first.size();
  bool line_empty = true;
  while (!text.empty()) {
    auto sp = text.find(' ');
    auto word = text.substr(0, sp);
    text = sp == std::string_view::npos ? std::string_view{} : text.substr(sp + 1);
    if (word.empty()) continue;
    if (!line_empty && col + 1 + word.size() > width) {
      out += '\n';
      out += indent;
      col = indent.size();
      line_empty = true;
    }
    if (!line_empty) {
      out += ' ';
      ++col;
    }
    out += word;
    col += word.size();
    line_empty = false;
  }
  out += '\n';
  return out;
}

std::string short_state(tcp_state s) {
  return s == tcp_state::established ? "ESTAB" : std::string(state_name(s));
}

std::string state_row(const std::string& label, const state_counts& c) {
  std::string line = pad_right(label, 20);
  for (std::size_t i = 0; i < reported_states.size(); ++i) {
    auto w = std::max<std::size_t>(short_state(reported_states[i]).size(), 5) + 1;
    line += pad_left(std::to_string(c[i]), w);
  }
  return line + "\n";
}

std::string sysctl_or_unknown(int v) {
  return v < 0 ? "?" : std::to_string(v);
}

std::string owners_short(const std::vector<process_ref>& owners) {
  std::string out;
  for (const auto& o : owners) {
    if (!out.empty()) out += ",";
    out += std::to_string(o.pid) + "/" + o.program;
  }
  return out.empty() ? "-" : out;
}

std::string time_text(double t) {
  auto secs = static_cast<std::time_t>(t);
  std::tm tm{};
  ::localtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

}  // namespace

std::string render_text(const tcp_report& r) {
  std::string out;
  out += "TCP sockets by local port (source: " + r.source + ", " + time_text(r.time);
  if (r.interval_s > 0) {
    char buf[64];
    std::snprintf(buf, sizeof buf, ", sample %u, every %g s", r.sample, r.interval_s);
    out += buf;
  }
  out += ")\n";
  if (!r.fallback_reason.empty()) out += "note: " + r.fallback_reason + "\n";

  std::string head = pad_right("PORT", 20);
  for (auto s : reported_states) {
    auto name = short_state(s);
    head += pad_left(name, std::max<std::size_t>(name.size(), 5) + 1);
  }
  out += head + "\n";
  std::size_t shown = 0;
  for (const auto& p : r.ports) {
    if (p.ephemeral && !r.port_filter) continue;
    out += state_row(std::to_string(p.port) + (p.listening ? " (listen)" : ""), p.states);
    ++shown;
  }
  if (r.client_ports > 0 && !r.port_filter)
    out += state_row("client (" + std::to_string(r.client_ports) + " ports)", r.client_side);
  if (shown + (r.client_ports > 0 ? 1 : 0) != 1 || r.port_filter) out += state_row("all", r.totals);
  if (r.ports.empty())
    out += "(no TCP sockets" + std::string(r.port_filter ? " on this port" : "") + ")\n";
  if (r.client_ports > 0 && !r.port_filter)
    out += "client: local ports in net.ipv4.ip_local_port_range that no listener uses\n";

  if (!r.listeners.empty()) {
    out += "\nListeners\n";
    out += pad_right("ADDRESS", 46) + pad_left("ACCEPT-Q", 9) + pad_left("BACKLOG", 9) +
           pad_left("SYN-RECV", 9) + "  PROCESS\n";
    for (const auto& l : r.listeners) {
      std::uint64_t syn = 0;
      for (const auto& p : r.ports)
        if (p.port == l.port) syn = p.states[idx(tcp_state::syn_recv)];
      std::string flag;
      if (l.backlog && *l.backlog > 0 && l.accept_queue >= *l.backlog) flag = "  FULL";
      out += pad_right(endpoint_string(l.address, l.port), 46) +
             pad_left(std::to_string(l.accept_queue), 9) +
             pad_left(l.backlog ? std::to_string(*l.backlog) : "?", 9) +
             pad_left(std::to_string(syn), 9) + "  " + owners_short(l.owners) + flag + "\n";
    }
    if (r.source == "proc") out += "(BACKLOG is not shown by /proc/net/tcp)\n";
  }

  bool watch = r.interval_s > 0;
  out += "\nKernel counters (this network namespace; " +
         std::string(watch ? "total and change since the previous sample" : "totals since boot") +
         ")\n";
  for (const auto& c : r.counters) {
    std::string delta = c.delta ? (*c.delta >= 0 ? "+" : "") + std::to_string(*c.delta) : "";
    std::string line = "  " + pad_right(c.key, 28) + pad_left(std::to_string(c.total), 14);
    if (!delta.empty()) line += pad_left(delta, 10);
    out += line + "\n";
  }
  const auto& s = r.sysctls;
  out += "\nSettings: net.ipv4.tcp_syncookies=" + sysctl_or_unknown(s.syncookies) +
         " net.core.somaxconn=" + sysctl_or_unknown(s.somaxconn) +
         " net.ipv4.tcp_max_syn_backlog=" + sysctl_or_unknown(s.max_syn_backlog) +
         "\n          net.ipv4.ip_local_port_range=" + sysctl_or_unknown(s.port_range_low) + "-" +
         sysctl_or_unknown(s.port_range_high) +
         " net.ipv4.tcp_fin_timeout=" + sysctl_or_unknown(s.fin_timeout) +
         " net.ipv4.tcp_tw_reuse=" + sysctl_or_unknown(s.tw_reuse) + "\n";

  out += "\nFindings\n";
  if (r.findings.empty()) out += "  none: no queue, CLOSE-WAIT or TIME-WAIT threshold reached\n";
  for (const auto& f : r.findings) {
    std::string tag = "  [" + std::string(severity_name(f.level)) + "] ";
    for (auto& ch : tag)
      ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    out += wrap(f.summary, tag, "      ");
    out += wrap(f.reason, "      why: ", "           ");
    out += wrap(f.action, "      do:  ", "           ");
  }
  return out;
}

// ---- JSON -----------------------------------------------------------------------------------

namespace {

void write_states(json_writer& j, const state_counts& c) {
  j.begin_object();
  for (std::size_t i = 0; i < reported_states.size(); ++i)
    j.key(state_name(reported_states[i])).value(c[i]);
  j.end_object();
}

void write_processes(json_writer& j, const std::vector<process_ref>& v) {
  j.begin_array();
  for (const auto& p : v)
    j.begin_object().key("pid").value(p.pid).key("program").value(p.program).end_object();
  j.end_array();
}

void write_int_or_null(json_writer& j, int v) {
  if (v < 0)
    j.null();
  else
    j.value(v);
}

}  // namespace

std::string render_json(const tcp_report& r) {
  json_writer j;
  j.begin_object();
  j.key("schema").value("portico.tcpstat/1");
  j.key("time").value(r.time);
  j.key("source").value(r.source);
  if (r.fallback_reason.empty())
    j.key("fallback_reason").null();
  else
    j.key("fallback_reason").value(r.fallback_reason);
  j.key("sample").value(r.sample);
  if (r.interval_s > 0)
    j.key("interval_s").value(r.interval_s);
  else
    j.key("interval_s").null();
  if (r.port_filter)
    j.key("port_filter").value(unsigned{*r.port_filter});
  else
    j.key("port_filter").null();
  j.key("totals");
  write_states(j, r.totals);
  j.key("ports").begin_array();
  for (const auto& p : r.ports) {
    j.begin_object().key("port").value(unsigned{p.port});
    j.key("listening").value(p.listening).key("ephemeral").value(p.ephemeral);
    j.key("states");
    write_states(j, p.states);
    j.key("close_wait_processes");
    write_processes(j, p.close_wait_owners);
    j.end_object();
  }
  j.end_array();
  j.key("client_side").begin_object().key("ports").value(r.client_ports).key("states");
  write_states(j, r.client_side);
  j.key("close_wait_processes");
  write_processes(j, r.client_close_wait_owners);
  j.key("time_wait_top_remotes").begin_array();
  for (const auto& rc : r.client_time_wait_top)
    j.begin_object()
        .key("address")
        .value(rc.address.to_string())
        .key("port")
        .value(unsigned{rc.port})
        .key("count")
        .value(rc.count)
        .end_object();
  j.end_array().end_object();
  j.key("listeners").begin_array();
  for (const auto& l : r.listeners) {
    j.begin_object();
    j.key("family").value(l.address.family == AF_INET6 ? "ipv6" : "ipv4");
    j.key("address").value(l.address.to_string());
    j.key("port").value(unsigned{l.port});
    j.key("accept_queue").value(l.accept_queue);
    if (l.backlog)
      j.key("backlog").value(*l.backlog);
    else
      j.key("backlog").null();
    std::uint64_t syn = 0;
    for (const auto& p : r.ports)
      if (p.port == l.port) syn = p.states[idx(tcp_state::syn_recv)];
    j.key("port_syn_recv").value(syn);
    j.key("inode").value(l.inode);
    j.key("processes");
    write_processes(j, l.owners);
    j.end_object();
  }
  j.end_array();
  j.key("counters").begin_object();
  for (const auto& c : r.counters) {
    j.key(c.key).begin_object().key("total").value(c.total).key("delta");
    if (c.delta)
      j.value(*c.delta);
    else
      j.null();
    j.end_object();
  }
  j.end_object();
  const auto& s = r.sysctls;
  j.key("sysctl").begin_object();
  j.key("net.ipv4.tcp_syncookies");
  write_int_or_null(j, s.syncookies);
  j.key("net.core.somaxconn");
  write_int_or_null(j, s.somaxconn);
  j.key("net.ipv4.tcp_max_syn_backlog");
  write_int_or_null(j, s.max_syn_backlog);
  j.key("net.ipv4.tcp_fin_timeout");
  write_int_or_null(j, s.fin_timeout);
  j.key("net.ipv4.tcp_tw_reuse");
  write_int_or_null(j, s.tw_reuse);
  j.key("net.ipv4.ip_local_port_range");
  if (s.port_range_size() > 0)
    j.begin_array().value(s.port_range_low).value(s.port_range_high).end_array();
  else
    j.null();
  j.end_object();
  j.key("findings").begin_array();
  for (const auto& f : r.findings) {
    j.begin_object();
    j.key("id").value(f.id);
    j.key("severity").value(severity_name(f.level));
    if (f.port)
      j.key("port").value(unsigned{*f.port});
    else
      j.key("port").null();
    j.key("summary").value(f.summary);
    j.key("reason").value(f.reason);
    j.key("action").value(f.action);
    j.end_object();
  }
  j.end_array();
  j.end_object();
  return j.str();
}

}  // namespace portico::tools
