#include "tools/tcpstat.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include "data_files.hpp"
#include "tools/inet_diag.hpp"
#include "tools/proc_net.hpp"

namespace portico::tools {
namespace {

using test::read_bytes;
using test::read_text;

std::size_t at(tcp_state s) {
  return static_cast<std::size_t>(report_index(s));
}

socket_table captured(bool proc) {
  socket_table t;
  if (proc) {
    t.source = table_source::proc;
    for (auto [name, fam] :
         {std::pair{"proc_net_tcp.txt", AF_INET}, {"proc_net_tcp6.txt", AF_INET6}}) {
      auto r = proc_net::parse_tcp_table(read_text(name), fam);
      t.sockets.insert(t.sockets.end(), r.sockets.begin(), r.sockets.end());
    }
  } else {
    for (const char* name : {"inet_diag_v4.bin", "inet_diag_v6.bin"}) {
      inet_diag::dump_parser p;
      p.feed(read_bytes(name));
      auto s = p.take_sockets();
      t.sockets.insert(t.sockets.end(), s.begin(), s.end());
    }
  }
  return t;
}

tcp_sysctls sysctls() {
  tcp_sysctls s;
  s.syncookies = 1;
  s.somaxconn = 4096;
  s.port_range_low = 32768;
  s.port_range_high = 60999;
  return s;
}

counter_map counters() {
  auto m = parse_counter_pairs(read_text("proc_net_netstat.txt"));
  for (auto& [k, v] : parse_counter_pairs(read_text("proc_net_snmp.txt")))
    m[k] = v;
  return m;
}

const port_row* row(const tcp_report& r, std::uint16_t port) {
  for (const auto& p : r.ports)
    if (p.port == port) return &p;
  return nullptr;
}

TEST(Tcpstat, ReportFromCapturedDump) {
  std::map<std::uint64_t, std::vector<process_ref>> owners;
  auto t = captured(false);
  for (const auto& s : t.sockets)
    if (s.state == tcp_state::listen && s.local_port == 8080) owners[s.inode] = {{10, "srv"}};
  auto r = build_report(t, counters(), nullptr, sysctls(), owners, {});
  EXPECT_EQ(r.source, "netlink");
  EXPECT_EQ(r.totals[at(tcp_state::listen)], 4u);
  EXPECT_EQ(r.totals[at(tcp_state::established)], 10u);
  EXPECT_EQ(r.totals[at(tcp_state::time_wait)], 3u);
  auto* p8080 = row(r, 8080);
  ASSERT_NE(p8080, nullptr);
  EXPECT_TRUE(p8080->listening);
  EXPECT_EQ(p8080->states[at(tcp_state::established)], 3u);  // accepted side, not yet accepted
  auto* p9090 = row(r, 9090);
  ASSERT_NE(p9090, nullptr);
  EXPECT_EQ(p9090->states[at(tcp_state::fin_wait2)], 1u);
  EXPECT_EQ(p9090->states[at(tcp_state::time_wait)], 2u);
  auto* p7070 = row(r, 7070);
  ASSERT_NE(p7070, nullptr);
  EXPECT_EQ(p7070->states[at(tcp_state::syn_recv)], 2u);
  // The clients' sockets are on ephemeral ports: summed as the client side.
  EXPECT_EQ(r.client_side[at(tcp_state::syn_sent)], 2u);
  EXPECT_EQ(r.client_side[at(tcp_state::close_wait)], 1u);
  EXPECT_EQ(r.client_side[at(tcp_state::established)], 5u);
  ASSERT_EQ(r.listeners.size(), 4u);
  EXPECT_EQ(r.listeners[0].port, 7070);
  EXPECT_EQ(r.listeners[1].port, 8080);
  EXPECT_EQ(r.listeners[1].accept_queue, 3u);
  EXPECT_EQ(r.listeners[1].backlog.value_or(0), 4u);
  ASSERT_EQ(r.listeners[1].owners.size(), 1u);
  EXPECT_EQ(r.listeners[1].owners[0].program, "srv");
  EXPECT_EQ(r.counters.size(), tracked_counters.size());
  EXPECT_FALSE(r.counters[0].delta.has_value());

  auto text = render_text(r);
  EXPECT_NE(text.find("8080 (listen)"), std::string::npos);
  EXPECT_NE(text.find("client ("), std::string::npos);
  EXPECT_NE(text.find("10/srv"), std::string::npos);
  EXPECT_NE(text.find("TcpExt.ListenOverflows"), std::string::npos);
  auto json = render_json(r);
  EXPECT_EQ(json.find('\n'), std::string::npos);
  EXPECT_NE(json.find("\"schema\":\"portico.tcpstat/1\""), std::string::npos);
  EXPECT_NE(json.find("\"accept_queue\":3,\"backlog\":4"), std::string::npos);
  EXPECT_NE(json.find("\"SYN-RECV\":2"), std::string::npos);
}

TEST(Tcpstat, ProcSourceCountsTheSameButNoBacklog) {
  auto a = build_report(captured(false), {}, nullptr, sysctls(), {}, {});
  auto b = build_report(captured(true), {}, nullptr, sysctls(), {}, {});
  EXPECT_EQ(a.totals, b.totals);
  ASSERT_EQ(a.ports.size(), b.ports.size());
  for (std::size_t i = 0; i < a.ports.size(); ++i)
    EXPECT_EQ(a.ports[i].states, b.ports[i].states);
  for (const auto& l : b.listeners)
    EXPECT_FALSE(l.backlog.has_value());
  EXPECT_NE(render_text(b).find("BACKLOG is not shown"), std::string::npos);
  EXPECT_NE(render_json(b).find("\"backlog\":null"), std::string::npos);
}

TEST(Tcpstat, PortFilterAndDeltas) {
  auto now = counters();
  auto before = now;
  before["TcpExt.ListenOverflows"] = now["TcpExt.ListenOverflows"] - 4;
  report_options o;
  o.port = 8080;
  o.interval_s = 1;
  o.sample = 2;
  auto r = build_report(captured(false), now, &before, sysctls(), {}, o);
  ASSERT_EQ(r.ports.size(), 1u);
  EXPECT_EQ(r.ports[0].port, 8080);
  EXPECT_EQ(r.counters[0].key, "TcpExt.ListenOverflows");
  EXPECT_EQ(r.counters[0].delta, 4);
  ASSERT_FALSE(r.findings.empty());
  EXPECT_EQ(r.findings[0].id, "listen_overflows");
  EXPECT_NE(render_text(r).find("+4"), std::string::npos);
  EXPECT_NE(render_json(r).find("\"TcpExt.ListenOverflows\":{\"total\":0,\"delta\":4}"),
            std::string::npos);
}

TEST(Tcpstat, InodesToResolve) {
  auto t = captured(false);
  auto all = inodes_to_resolve(t.sockets, std::nullopt);
  EXPECT_EQ(all.size(), 5u);  // 4 listeners + 1 CLOSE-WAIT
  EXPECT_EQ(inodes_to_resolve(t.sockets, 8080).size(), 1u);
  EXPECT_FALSE(all.count(0));
}

TEST(Tcpstat, JsonEscapesProgramNames) {
  socket_table t;
  tcp_socket s;
  s.local = ip_address::any(AF_INET);
  s.local_port = 1;
  s.state = tcp_state::listen;
  s.inode = 5;
  t.sockets.push_back(s);
  std::map<std::uint64_t, std::vector<process_ref>> owners{{5, {{1, "a\"b\\c\x01\xff"}}}};
  auto json = render_json(build_report(t, {}, nullptr, sysctls(), owners, {}));
  EXPECT_NE(json.find(R"("program":"a\"b\\c\u0001\u00ff")"), std::string::npos) << json;
}

}  // namespace
}  // namespace portico::tools
