#include "tools/kernel_counters.hpp"

#include <gtest/gtest.h>

#include "data_files.hpp"

namespace portico::tools {
namespace {

using test::read_text;

TEST(KernelCounters, ParsesCapturedNetstat) {
  auto m = parse_counter_pairs(read_text("proc_net_netstat.txt"));
  for (const auto& t : tracked_counters) {
    if (t.key.substr(0, 4) == "Tcp.") continue;  // those are in snmp
    EXPECT_TRUE(m.count(t.key)) << t.key;
  }
  EXPECT_EQ(m.at("TcpExt.ListenOverflows"), 0);
  EXPECT_EQ(m.at("TcpExt.SyncookiesSent"), 0);
  EXPECT_TRUE(m.count("IpExt.InOctets"));
}

TEST(KernelCounters, ParsesCapturedSnmp) {
  auto m = parse_counter_pairs(read_text("proc_net_snmp.txt"));
  EXPECT_EQ(m.at("Tcp.MaxConn"), -1);  // the one negative value
  EXPECT_EQ(m.at("Tcp.RtoAlgorithm"), 1);
  // Captured after 11 connects and 9 handshakes completed in a fresh namespace.
  EXPECT_EQ(m.at("Tcp.ActiveOpens"), 11);
  EXPECT_TRUE(m.count("Tcp.OutRsts"));
  EXPECT_TRUE(m.count("Udp.InDatagrams"));
  EXPECT_TRUE(m.count("Ip.Forwarding"));
}

TEST(KernelCounters, MismatchedPairsAreSkipped) {
  auto m = parse_counter_pairs(
      "A: x y\nA: 1 2\n"
      "B: x y z\nB: 1 2\n"  // count mismatch: skipped
      "C: x\nD: 5\n"        // prefixes differ: C skipped, D starts a pair with the next
      "D: q\n"
      "E: big neg\nE: 18446744073709551616 -3\n");
  EXPECT_EQ(m.at("A.x"), 1);
  EXPECT_EQ(m.at("A.y"), 2);
  EXPECT_FALSE(m.count("B.x"));
  EXPECT_FALSE(m.count("C.x"));
  EXPECT_FALSE(m.count("E.big"));  // out of range
  EXPECT_EQ(m.at("E.neg"), -3);
  EXPECT_TRUE(parse_counter_pairs("").empty());
  EXPECT_TRUE(parse_counter_pairs("TcpExt: a b").empty());
}

TEST(KernelCounters, SysctlValues) {
  EXPECT_EQ(parse_sysctl_int("1\n"), 1);
  EXPECT_EQ(parse_sysctl_int("4096"), 4096);
  EXPECT_EQ(parse_sysctl_int(""), -1);
  EXPECT_EQ(parse_sysctl_int("32768\t60999\n"), -1);
  EXPECT_EQ(parse_sysctl_int("x"), -1);
  tcp_sysctls s;
  s.port_range_low = 32768;
  s.port_range_high = 60999;
  EXPECT_EQ(s.port_range_size(), 28232);
  s.port_range_high = -1;
  EXPECT_EQ(s.port_range_size(), 0);
}

TEST(KernelCounters, LiveReadHasTheTrackedCounters) {
  auto m = read_kernel_counters();
  if (m.empty()) GTEST_SKIP() << "/proc/net not readable";
  for (const auto& t : tracked_counters)
    EXPECT_TRUE(m.count(t.key)) << t.key;
}

TEST(KernelCounters, LiveSysctls) {
  auto s = read_tcp_sysctls();
  if (s.somaxconn < 0) GTEST_SKIP() << "/proc/sys/net not readable";
  EXPECT_GT(s.somaxconn, 0);
  EXPECT_GT(s.port_range_size(), 0);
  EXPECT_GE(s.syncookies, 0);
}

}  // namespace
}  // namespace portico::tools
