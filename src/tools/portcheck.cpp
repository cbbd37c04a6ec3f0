#include "tools/portcheck.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <set>

#include "core/unique_fd.hpp"
#include "tools/json.hpp"
#include "tools/socket_table.hpp"

namespace portico::tools {

std::string_view status_name(port_status s) noexcept {
  switch (s) {
    case port_status::free:
      return "free";
    case port_status::taken:
      return "taken";
    case port_status::error:
      return "error";
    case port_status::unsupported:
      return "unsupported";
  }
  return "error";
}

std::optional<std::vector<check_target>> parse_check_target(std::string_view spec,
                                                            std::string& error) {
  std::string_view host, port_text;
  if (!spec.empty() && spec.front() == '[') {
    auto close = spec.find(']');
    if (close == std::string_view::npos || close + 1 >= spec.size() || spec[close + 1] != ':') {
      error = "bad address (want [IPV6]:PORT): " + std::string(spec);
      return std::nullopt;
    }
    host = spec.substr(1, close - 1);
    port_text = spec.substr(close + 2);
  } else if (auto colon = spec.rfind(':'); colon != std::string_view::npos) {
    host = spec.substr(0, colon);
    port_text = spec.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      error = "an IPv6 address needs brackets: [" + std::string(host) + "]:PORT";
      return std::nullopt;
    }
  } else {
    port_text = spec;
  }
  unsigned port = 0;
  auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc{} || p != port_text.data() + port_text.size() ||
      port == 0 || port > 65535) {
    error = "bad port (want 1-65535): " + std::string(spec);
    return std::nullopt;
  }
  std::vector<check_target> out;
  auto add = [&](ip_address a, bool explicit_host) {
    check_target t;
    t.address = a;
    t.port = static_cast<std::uint16_t>(port);
    t.spec = std::string(spec);
    t.explicit_host = explicit_host;
    out.push_back(std::move(t));
  };
  if (host.empty()) {
    add(ip_address::any(AF_INET), false);
    add(ip_address::any(AF_INET6), false);
  } else if (host == "localhost") {
    add(*ip_address::parse("127.0.0.1"), true);
    add(*ip_address::parse("::1"), false);
  } else if (auto a = ip_address::parse(host)) {
    add(*a, true);
  } else {
    error = "HOST must be a numeric IPv4/IPv6 address or localhost: " + std::string(spec);
    return std::nullopt;
  }
  return out;
}

probe_result probe_listen(const ip_address& address, std::uint16_t port, bool reuseaddr) {
  probe_result r;
  unique_fd fd(::socket(address.family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP));
  if (!fd) return {errno, "socket"};
  int one = 1;
  if (reuseaddr && ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
    return {errno, "setsockopt"};
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (address.family == AF_INET6) {
    if (::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
      return {errno, "setsockopt"};
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(port);
    std::memcpy(&sa.sin6_addr, address.bytes.data(), 16);
    std::memcpy(&ss, &sa, sizeof sa);
    len = sizeof sa;
  } else {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    std::memcpy(&sa.sin_addr, address.bytes.data(), 4);
    std::memcpy(&ss, &sa, sizeof sa);
    len = sizeof sa;
  }
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) < 0) return {errno, "bind"};
  // listen(2) too: binding alone can succeed where listening then fails (another listener on
  // the same port through SO_REUSEPORT rules, for example).
  if (::listen(fd.get(), 1) < 0) return {errno, "listen"};
  return r;  // closed here without accepting
}

bool overlaps(const ip_address& target, const tcp_socket& s) noexcept {
  const auto& l = s.local;
  if (l.family == target.family)
    return target.is_unspecified() || l.is_unspecified() || l == target;
  if (target.family == AF_INET && l.family == AF_INET6) {
    if (l.is_unspecified()) return true;  // :: without IPV6_V6ONLY also holds IPv4
    if (!l.is_v4_mapped()) return false;
    return target.is_unspecified() ||
           std::equal(target.bytes.begin(), target.bytes.begin() + 4, l.bytes.begin() + 12);
  }
  return false;
}

check_result assess_port(const check_target& target, const probe_result& with_reuse,
                         const std::optional<probe_result>& without_reuse,
                         const std::vector<tcp_socket>& sockets,
                         const std::map<std::uint64_t, std::vector<process_ref>>& owners) {
  check_result r;
  r.target = target;
  r.probe = with_reuse;
  int e = with_reuse.error;
  if (e == 0)
    r.status = port_status::free;
  else if (e == EADDRINUSE)
    r.status = port_status::taken;
  else if (!target.explicit_host && target.address.family == AF_INET6 &&
           (e == EAFNOSUPPORT || e == EADDRNOTAVAIL || e == EPROTONOSUPPORT))
    r.status = port_status::unsupported;
  else
    r.status = port_status::error;
  if (r.status == port_status::free && without_reuse)
    r.free_without_reuseaddr = without_reuse->error == 0;

  std::vector<const tcp_socket*> on_port;
  for (const auto& s : sockets) {
    if (s.local_port != target.port || !overlaps(target.address, s)) continue;
    on_port.push_back(&s);
    int i = report_index(s.state);
    if (i >= 0) r.states[static_cast<std::size_t>(i)]++;
  }
  auto owners_of = [&](std::uint64_t inode) {
    auto it = owners.find(inode);
    return it == owners.end() ? std::vector<process_ref>{} : it->second;
  };
  auto add_holders = [&](auto pred) {
    for (const auto* s : on_port)
      if (pred(*s)) r.holders.push_back({*s, owners_of(s->inode)});
  };
  add_holders([](const tcp_socket& s) { return s.state == tcp_state::listen; });
  if (r.holders.empty() && r.status == port_status::taken)
    add_holders([](const tcp_socket& s) { return s.inode != 0; });

  auto count = [&](tcp_state st) { return r.states[static_cast<std::size_t>(report_index(st))]; };
  std::uint64_t open_connections = 0;
  for (auto st :
       {tcp_state::established, tcp_state::syn_recv, tcp_state::fin_wait1, tcp_state::fin_wait2,
        tcp_state::close_wait, tcp_state::closing, tcp_state::last_ack})
    open_connections += count(st);
  r.restart_hits_time_wait = count(tcp_state::time_wait) > 0 ||
                             r.free_without_reuseaddr == std::optional<bool>(false) ||
                             (r.status == port_status::taken && open_connections > 0);
  return r;
}

portcheck_report run_portcheck(const std::vector<check_target>& targets) {
  portcheck_report rep;
  std::vector<std::pair<probe_result, std::optional<probe_result>>> probes;
  for (const auto& t : targets) {
    auto with = probe_listen(t.address, t.port, true);
    std::optional<probe_result> without;
    if (with.error == 0) without = probe_listen(t.address, t.port, false);
    probes.emplace_back(with, without);
  }
  // The table is read after the probes, so our own probe sockets are gone from it.
  auto table = read_socket_table(false);
  rep.socket_source = std::string(source_name(table.source));
  rep.fallback_reason = table.fallback_reason;
  std::set<std::uint16_t> ports;
  for (const auto& t : targets)
    ports.insert(t.port);
  std::set<std::uint64_t> inodes;
  for (const auto& s : table.sockets)
    if (ports.count(s.local_port) && s.inode != 0) inodes.insert(s.inode);
  auto scan = find_socket_owners(inodes);
  rep.unreadable_processes = scan.unreadable;
  for (std::size_t i = 0; i < targets.size(); ++i)
    rep.results.push_back(
        assess_port(targets[i], probes[i].first, probes[i].second, table.sockets, scan.owners));
  return rep;
}

int portcheck_exit_code(const portcheck_report& r) noexcept {
  bool taken = false;
  for (const auto& x : r.results) {
    if (x.status == port_status::error) return 2;
    if (x.status == port_status::taken) taken = true;
  }
  return taken ? 1 : 0;
}

namespace {

std::string family_label(const ip_address& a) {
  return a.family == AF_INET6 ? "IPv6" : "IPv4";
}

std::string errno_name(int e) {
  switch (e) {
    case 0:
      return "";
    case EADDRINUSE:
      return "EADDRINUSE";
    case EACCES:
      return "EACCES";
    case EADDRNOTAVAIL:
      return "EADDRNOTAVAIL";
    case EAFNOSUPPORT:
      return "EAFNOSUPPORT";
    case EPERM:
      return "EPERM";
    case EMFILE:
      return "EMFILE";
    case ENFILE:
      return "ENFILE";
    case EINVAL:
      return "EINVAL";
    default:
      return "errno " + std::to_string(e);
  }
}

std::string state_list(const state_counts& c, bool skip_listen) {
  std::string out;
  for (std::size_t i = 0; i < reported_states.size(); ++i) {
    if (c[i] == 0 || (skip_listen && reported_states[i] == tcp_state::listen)) continue;
    if (!out.empty()) out += ", ";
    out += std::to_string(c[i]) + " " + std::string(state_name(reported_states[i]));
  }
  return out;
}

std::string processes_text(const std::vector<process_ref>& v) {
  if (v.empty()) return "an unknown process (not visible: run as root, or another namespace)";
  std::string out;
  for (const auto& p : v) {
    if (!out.empty()) out += ", ";
    out += "pid " + std::to_string(p.pid) + " (" + p.program + ")";
  }
  return out;
}

}  // namespace

std::string render_text(const portcheck_report& rep) {
  std::string out;
  for (const auto& r : rep.results) {
    std::string where = endpoint_string(r.target.address, r.target.port) + " (" +
                        family_label(r.target.address) + ")";
    auto tw = r.states[static_cast<std::size_t>(report_index(tcp_state::time_wait))];
    switch (r.status) {
      case port_status::free:
        out += where + ": free - bind and listen work (with SO_REUSEADDR)\n";
        break;
      case port_status::taken:
        out += where + ": TAKEN - " + r.probe.call + ": " + std::strerror(r.probe.error) + "\n";
        break;
      case port_status::error:
        out += where + ": ERROR - " + r.probe.call + ": " + std::strerror(r.probe.error);
        if (r.probe.error == EACCES) out += " (ports below 1024 need root or CAP_NET_BIND_SERVICE)";
        if (r.probe.error == EADDRNOTAVAIL) out += " (no interface has this address)";
        out += "\n";
        break;
      case port_status::unsupported:
        out += where + ": skipped - IPv6 is not available (" + std::strerror(r.probe.error) + ")\n";
        continue;
    }
    for (const auto& h : r.holders) {
      out += "  held by " + processes_text(h.processes) + ": " +
             std::string(state_name(h.socket.state)) + " on " +
             endpoint_string(h.socket.local, h.socket.local_port);
      if (h.socket.state == tcp_state::listen) {
        out += ", accept queue " + std::to_string(h.socket.rqueue);
        if (h.socket.backlog) out += " of backlog " + std::to_string(*h.socket.backlog);
      }
      out += "\n";
    }
    if (r.status == port_status::taken && r.holders.empty()) {
      if (tw > 0)
        out +=
            "  held by TIME-WAIT sockets of a server that did not set SO_REUSEADDR: on Linux\n"
            "  a new socket may share the port with TIME-WAIT only if both set it, so the port\n"
            "  stays blocked until they expire (60 s after the close).\n";
      else
        out += "  held by a socket not visible here (another network namespace?)\n";
    }
    auto others = state_list(r.states, r.status == port_status::taken && !r.holders.empty());
    if (!others.empty()) out += "  TCP sockets on this port: " + others + "\n";
    if (tw > 0) {
      out += "  TIME-WAIT: " + std::to_string(tw) + (tw == 1 ? " connection" : " connections") +
             " on this port closed recently from this side; the kernel keeps each for 60 s so "
             "that late packets cannot reach a new connection.\n";
    }
    if (r.free_without_reuseaddr == std::optional<bool>(false)) {
      out += "  without SO_REUSEADDR: bind would FAIL (Address already in use) because of the " +
             std::string(tw > 0 ? "TIME-WAIT" : "leftover") +
             " sockets above; a server that sets SO_REUSEADDR (portico does) starts fine.\n";
    } else if (r.free_without_reuseaddr == std::optional<bool>(true)) {
      out += "  without SO_REUSEADDR: also works (no TIME-WAIT sockets on this port)\n";
    }
    if (r.status == port_status::taken) {
      out += r.restart_hits_time_wait
                 ? "  restart: when the holder stops, its open connections pass through "
                   "TIME-WAIT; a server restarting on this port needs SO_REUSEADDR.\n"
                 : "  restart: the holder has no open connections now; a restart would not "
                   "meet TIME-WAIT unless connections arrive meanwhile.\n";
    }
  }
  if (!rep.fallback_reason.empty()) out += "note: " + rep.fallback_reason + "\n";
  if (rep.unreadable_processes > 0)
    out += "note: the open files of " + std::to_string(rep.unreadable_processes) +
           " processes could not be read; run as root to see every holder\n";
  out +=
      "\nSO_REUSEADDR lets a listening socket bind a port that still has TIME-WAIT connections\n"
      "(or other leftovers) from an earlier run, provided the earlier sockets had it set too; it\n"
      "never lets two processes listen on the same port at once. Servers set it before bind()\n"
      "(portico does); this check sets it too, and when the port is free also tries without it.\n";
  return out;
}

std::string render_json(const portcheck_report& rep) {
  json_writer j;
  j.begin_object();
  j.key("schema").value("portico.portcheck/1");
  j.key("exit_code").value(portcheck_exit_code(rep));
  j.key("socket_source").value(rep.socket_source);
  if (rep.fallback_reason.empty())
    j.key("fallback_reason").null();
  else
    j.key("fallback_reason").value(rep.fallback_reason);
  j.key("results").begin_array();
  for (const auto& r : rep.results) {
    j.begin_object();
    j.key("spec").value(r.target.spec);
    j.key("address").value(r.target.address.to_string());
    j.key("family").value(r.target.address.family == AF_INET6 ? "ipv6" : "ipv4");
    j.key("port").value(unsigned{r.target.port});
    j.key("status").value(status_name(r.status));
    if (r.probe.error) {
      j.key("error").begin_object();
      j.key("call").value(r.probe.call);
      j.key("errno").value(errno_name(r.probe.error));
      j.key("message").value(std::strerror(r.probe.error));
      j.end_object();
    } else {
      j.key("error").null();
    }
    j.key("free_without_reuseaddr");
    if (r.free_without_reuseaddr)
      j.value(*r.free_without_reuseaddr);
    else
      j.null();
    j.key("time_wait")
        .value(r.states[static_cast<std::size_t>(report_index(tcp_state::time_wait))]);
    j.key("restart_hits_time_wait").value(r.restart_hits_time_wait);
    j.key("states").begin_object();
    for (std::size_t i = 0; i < reported_states.size(); ++i)
      j.key(state_name(reported_states[i])).value(r.states[i]);
    j.end_object();
    j.key("holders").begin_array();
    for (const auto& h : r.holders) {
      j.begin_object();
      j.key("state").value(state_name(h.socket.state));
      j.key("address").value(h.socket.local.to_string());
      j.key("port").value(unsigned{h.socket.local_port});
      j.key("inode").value(h.socket.inode);
      if (h.socket.state == tcp_state::listen) {
        j.key("accept_queue").value(h.socket.rqueue);
        if (h.socket.backlog)
          j.key("backlog").value(*h.socket.backlog);
        else
          j.key("backlog").null();
      }
      j.key("processes").begin_array();
      for (const auto& p : h.processes)
        j.begin_object().key("pid").value(p.pid).key("program").value(p.program).end_object();
      j.end_array();
      j.end_object();
    }
    j.end_array();
    j.end_object();
  }
  j.end_array();
  j.end_object();
  return j.str();
}

}  // namespace portico::tools
