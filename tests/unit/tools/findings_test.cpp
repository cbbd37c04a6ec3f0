#include "tools/findings.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>

namespace portico::tools {
namespace {

std::size_t at(tcp_state s) {
  return static_cast<std::size_t>(report_index(s));
}

tcp_report base() {
  tcp_report r;
  r.source = "netlink";
  r.sysctls.syncookies = 1;
  r.sysctls.somaxconn = 4096;
  r.sysctls.max_syn_backlog = 2048;
  r.sysctls.fin_timeout = 60;
  r.sysctls.tw_reuse = 2;
  r.sysctls.port_range_low = 32768;
  r.sysctls.port_range_high = 60999;
  return r;
}

void add_listener(tcp_report& r, std::uint16_t port, std::uint32_t queue,
                  std::optional<std::uint32_t> backlog, std::uint64_t syn_recv = 0) {
  port_row p;
  p.port = port;
  p.listening = true;
  p.states[at(tcp_state::listen)] = 1;
  p.states[at(tcp_state::syn_recv)] = syn_recv;
  r.ports.push_back(p);
  listener_row l;
  l.address = *ip_address::parse("0.0.0.0");
  l.port = port;
  l.accept_queue = queue;
  l.backlog = backlog;
  l.owners = {{4242, "server"}};
  r.listeners.push_back(l);
}

void add_counter(tcp_report& r, std::string key, std::int64_t total,
                 std::optional<std::int64_t> delta) {
  r.counters.push_back({std::move(key), total, delta});
}

std::vector<std::string> ids(const std::vector<finding>& v) {
  std::vector<std::string> out;
  for (const auto& f : v)
    out.push_back(f.id);
  return out;
}

TEST(Findings, QuietSystemHasNone) {
  auto r = base();
  add_listener(r, 8080, 0, 4096, 3);
  add_counter(r, "TcpExt.ListenOverflows", 0, std::nullopt);
  EXPECT_TRUE(evaluate_findings(r).empty());
}

TEST(Findings, AcceptQueueFullHighAndFine) {
  auto r = base();
  add_listener(r, 8080, 5, 4);             // the kernel lets it reach backlog + 1
  add_listener(r, 8081, 4, 5);             // 80 %
  add_listener(r, 8082, 3, 5);             // 60 %
  add_listener(r, 8083, 9, std::nullopt);  // /proc: unknown backlog, no judgement
  auto f = evaluate_findings(r);
  ASSERT_EQ(ids(f), (std::vector<std::string>{"accept_queue_full", "accept_queue_high"}));
  EXPECT_EQ(f[0].level, severity::critical);
  EXPECT_EQ(f[0].port, 8080);
  EXPECT_NE(f[0].summary.find("pid 4242 (server)"), std::string::npos);
  EXPECT_NE(f[0].action.find("net.core.somaxconn (now 4096)"), std::string::npos);
  EXPECT_EQ(f[1].level, severity::warning);
  EXPECT_EQ(f[1].port, 8081);
}

TEST(Findings, SynRecvAgainstBacklog) {
  auto r = base();
  add_listener(r, 80, 0, 16, 8);      // half the backlog: warning
  add_listener(r, 81, 0, 16, 16);     // whole backlog: critical
  add_listener(r, 82, 0, 16, 7);      // below the minimum
  add_listener(r, 83, 0, 4096, 100);  // a busy server's normal handshakes
  auto f = evaluate_findings(r);
  ASSERT_EQ(ids(f), (std::vector<std::string>{"syn_recv_high", "syn_recv_high"}));
  EXPECT_EQ(f[0].port, 81);
  EXPECT_EQ(f[0].level, severity::critical);
  EXPECT_EQ(f[1].port, 80);
  EXPECT_EQ(f[1].level, severity::warning);
  EXPECT_NE(f[1].reason.find("net.ipv4.tcp_syncookies = 1"), std::string::npos);
  EXPECT_NE(f[1].reason.find("SYN flood"), std::string::npos);
}

TEST(Findings, SynRecvWithUnknownBacklogAndCookiesOff) {
  auto r = base();
  r.sysctls.syncookies = 0;
  add_listener(r, 80, 0, std::nullopt, 127);
  EXPECT_TRUE(evaluate_findings(r).empty());
  r.ports[0].states[at(tcp_state::syn_recv)] = 128;
  auto f = evaluate_findings(r);
  ASSERT_EQ(ids(f), std::vector<std::string>{"syn_recv_high"});
  EXPECT_EQ(f[0].level, severity::warning);
  EXPECT_NE(f[0].reason.find("(off)"), std::string::npos);
}

TEST(Findings, CloseWaitAndFinWait2) {
  auto r = base();
  port_row p;
  p.port = 9000;
  p.listening = true;
  p.states[at(tcp_state::close_wait)] = 10;
  p.states[at(tcp_state::fin_wait2)] = 100;
  p.close_wait_owners = {{77, "app"}};
  r.ports.push_back(p);
  port_row q;
  q.port = 9001;
  q.states[at(tcp_state::close_wait)] = 9;
  q.states[at(tcp_state::fin_wait2)] = 99;
  r.ports.push_back(q);
  auto f = evaluate_findings(r);
  ASSERT_EQ(ids(f), (std::vector<std::string>{"close_wait", "fin_wait2"}));
  EXPECT_EQ(f[0].level, severity::warning);
  EXPECT_NE(f[0].summary.find("pid 77 (app)"), std::string::npos);
  EXPECT_NE(f[0].reason.find("never called close()"), std::string::npos);
  EXPECT_EQ(f[1].level, severity::info);
  EXPECT_NE(f[1].reason.find("tcp_fin_timeout (now 60 s)"), std::string::npos);
}

TEST(Findings, ClientTimeWait) {
  auto r = base();
  r.client_side[at(tcp_state::time_wait)] = 999;
  EXPECT_TRUE(evaluate_findings(r).empty());
  r.client_side[at(tcp_state::time_wait)] = 1000;
  r.client_time_wait_top = {{*ip_address::parse("10.0.0.9"), 5432, 600}};
  auto f = evaluate_findings(r);
  ASSERT_EQ(ids(f), std::vector<std::string>{"time_wait_client"});
  EXPECT_EQ(f[0].level, severity::info);
  EXPECT_NE(f[0].summary.find("600 of them to 10.0.0.9:5432"), std::string::npos);
  EXPECT_NE(f[0].reason.find("32768-60999: 28232 ports"), std::string::npos);
  // A quarter of the range towards one endpoint: exhaustion is near.
  r.client_side[at(tcp_state::time_wait)] = 7058;
  r.client_time_wait_top[0].count = 7058;
  f = evaluate_findings(r);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].level, severity::warning);
  EXPECT_NE(f[0].action.find("tcp_tw_reuse (now 2)"), std::string::npos);
}

TEST(Findings, ServerTimeWaitIsInfo) {
  auto r = base();
  add_listener(r, 80, 0, 128);
  r.ports[0].states[at(tcp_state::time_wait)] = 1000;
  auto f = evaluate_findings(r);
  ASSERT_EQ(ids(f), std::vector<std::string>{"time_wait_server"});
  EXPECT_EQ(f[0].level, severity::info);
}

TEST(Findings, CounterDeltasInWatchMode) {
  auto r = base();
  r.interval_s = 2;
  r.sample = 2;
  add_counter(r, "TcpExt.ListenOverflows", 100, 5);
  add_counter(r, "TcpExt.SyncookiesSent", 50, 3);
  add_counter(r, "TcpExt.TCPReqQFullDrop", 7, 0);
  add_counter(r, "TcpExt.TCPAbortOnTimeout", 9, 1);
  add_counter(r, "TcpExt.TCPAbortOnClose", 9, 2);
  add_counter(r, "Tcp.OutRsts", 1000, 4);
  auto f = evaluate_findings(r);
  ASSERT_EQ(ids(f), (std::vector<std::string>{"listen_overflows", "syn_cookies_sent",
                                              "aborts_on_timeout", "resets"}));
  EXPECT_NE(f[0].summary.find("+5 in the last 2 s"), std::string::npos);
  EXPECT_NE(f[3].summary.find("2 closes with unread data"), std::string::npos);
  // Quiet interval: nothing, whatever the totals.
  for (auto& c : r.counters)
    c.delta = 0;
  EXPECT_TRUE(evaluate_findings(r).empty());
}

TEST(Findings, SnapshotReportsTotalsAsHistory) {
  auto r = base();
  add_counter(r, "TcpExt.ListenOverflows", 12, std::nullopt);
  add_counter(r, "Tcp.OutRsts", 5000, std::nullopt);
  auto f = evaluate_findings(r);
  ASSERT_EQ(ids(f), std::vector<std::string>{"drops_since_boot"});
  EXPECT_EQ(f[0].level, severity::info);
  EXPECT_NE(f[0].summary.find("ListenOverflows 12"), std::string::npos);
  // The first sample of a watch has no deltas yet: same rule.
  r.interval_s = 1;
  r.sample = 1;
  EXPECT_EQ(ids(evaluate_findings(r)), std::vector<std::string>{"drops_since_boot"});
}

TEST(Findings, CustomThresholds) {
  auto r = base();
  add_listener(r, 80, 0, 16, 2);
  thresholds t;
  t.syn_recv_min = 2;
  t.syn_recv_backlog_fraction = 0.1;
  EXPECT_EQ(ids(evaluate_findings(r, t)), std::vector<std::string>{"syn_recv_high"});
}

}  // namespace
}  // namespace portico::tools
