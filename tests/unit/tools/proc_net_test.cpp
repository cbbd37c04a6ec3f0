#include "tools/proc_net.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <map>

#include "data_files.hpp"

namespace portico::tools {
namespace {

using test::read_text;

TEST(ProcNetTcp, ParsesCapturedIpv4Table) {
  auto r = proc_net::parse_tcp_table(read_text("proc_net_tcp.txt"), AF_INET);
  EXPECT_EQ(r.bad_lines, 0u);
  ASSERT_EQ(r.sockets.size(), 19u);
  std::map<tcp_state, int> m;
  for (const auto& s : r.sockets)
    m[s.state]++;
  EXPECT_EQ(m[tcp_state::listen], 3);
  EXPECT_EQ(m[tcp_state::syn_recv], 2);
  EXPECT_EQ(m[tcp_state::time_wait], 2);
  EXPECT_EQ(m[tcp_state::close_wait], 1);
  EXPECT_EQ(m[tcp_state::fin_wait2], 1);
  // "0100007F:1F90 ... 0A 00000000:00000003": 127.0.0.1:8080 listening, 3 in the accept queue.
  const auto& l = r.sockets[2];
  EXPECT_EQ(l.local.to_string(), "127.0.0.1");
  EXPECT_EQ(l.local_port, 8080);
  EXPECT_EQ(l.state, tcp_state::listen);
  EXPECT_EQ(l.rqueue, 3u);
  EXPECT_FALSE(l.backlog.has_value());  // /proc does not show it
  EXPECT_EQ(l.inode, 1191583u);
  // The CLOSE-WAIT socket has one unread byte: the FIN counts in rx_queue.
  for (const auto& s : r.sockets)
    if (s.state == tcp_state::syn_sent) {
      EXPECT_EQ(s.remote_port, 7070);
    }
}

TEST(ProcNetTcp, ParsesCapturedIpv6Table) {
  auto r = proc_net::parse_tcp_table(read_text("proc_net_tcp6.txt"), AF_INET6);
  EXPECT_EQ(r.bad_lines, 0u);
  ASSERT_EQ(r.sockets.size(), 4u);
  EXPECT_EQ(r.sockets[0].local.to_string(), "::1");
  EXPECT_EQ(r.sockets[0].local_port, 8443);
  EXPECT_EQ(r.sockets[0].state, tcp_state::listen);
  EXPECT_EQ(r.sockets[3].state, tcp_state::time_wait);
  EXPECT_EQ(r.sockets[3].inode, 0u);
}

TEST(ProcNetTcp, WordsAreHostOrderDumps) {
  // 10.1.2.3 is stored as bytes 0a 01 02 03; a little-endian kernel prints 0302010A.
  std::string text =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
      "timeout inode\n"
      "   0: 0302010A:0050 0402010A:D431 01 00000010:00000020 00:00000000 00000000  1000 0 77 1 "
      "0 20 4 30 10 -1\n";
  auto r = proc_net::parse_tcp_table(text, AF_INET);
  ASSERT_EQ(r.sockets.size(), 1u);
  const auto& s = r.sockets[0];
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  EXPECT_EQ(s.local.to_string(), "10.1.2.3");
  EXPECT_EQ(s.remote.to_string(), "10.1.2.4");
#endif
  EXPECT_EQ(s.local_port, 80);
  EXPECT_EQ(s.remote_port, 0xD431);
  EXPECT_EQ(s.wqueue, 0x10u);
  EXPECT_EQ(s.rqueue, 0x20u);
  EXPECT_EQ(s.uid, 1000u);
  EXPECT_EQ(s.inode, 77u);
}

TEST(ProcNetTcp, BadLinesAreCountedAndSkipped) {
  std::string text =
      "header\n"
      "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 5 1\n"
      "garbage line\n"
      "   1: 0100007F:ZZZZ 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 5 1\n"
      "   2: 0100007F:1F90 00000000:0000 63 00000000:00000000 00:00000000 00000000 0 0 5 1\n"
      "   3: 0100007F:1F90 00000000:0000 0A 00000000\n"
      "\n";
  auto r = proc_net::parse_tcp_table(text, AF_INET);
  EXPECT_EQ(r.sockets.size(), 1u);
  EXPECT_EQ(r.bad_lines, 4u);
  // An IPv6 table read as IPv4 does not parse.
  auto wrong = proc_net::parse_tcp_table(read_text("proc_net_tcp6.txt"), AF_INET);
  EXPECT_TRUE(wrong.sockets.empty());
  EXPECT_EQ(proc_net::parse_tcp_table("", AF_INET).sockets.size(), 0u);
}

// Every prefix of the captured table parses without reading past it (ASan), and whole lines
// before the cut are kept.
TEST(ProcNetTcp, EveryPrefixIsSafe) {
  auto text = read_text("proc_net_tcp.txt");
  for (std::size_t k = 0; k <= text.size(); ++k) {
    auto r = proc_net::parse_tcp_table(std::string_view(text).substr(0, k), AF_INET);
    EXPECT_LE(r.sockets.size(), 19u);
  }
}

}  // namespace
}  // namespace portico::tools
