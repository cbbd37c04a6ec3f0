#include "tools/inet_diag.hpp"

#include <gtest/gtest.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <tuple>

#include "data_files.hpp"
#include "tools/proc_net.hpp"

namespace portico::tools {
namespace {

using test::read_bytes;
using test::read_text;

std::map<tcp_state, int> by_state(const std::vector<tcp_socket>& v) {
  std::map<tcp_state, int> m;
  for (const auto& s : v)
    m[s.state]++;
  return m;
}

const tcp_socket* find(const std::vector<tcp_socket>& v, tcp_state st, std::uint16_t lport) {
  for (const auto& s : v)
    if (s.state == st && s.local_port == lport) return &s;
  return nullptr;
}

// Offsets of each netlink message in a concatenated dump.
std::vector<std::size_t> boundaries(const std::vector<std::byte>& raw) {
  std::vector<std::size_t> out{0};
  std::size_t off = 0;
  while (off + sizeof(nlmsghdr) <= raw.size()) {
    nlmsghdr h;
    std::memcpy(&h, raw.data() + off, sizeof h);
    off += (h.nlmsg_len + 3u) & ~3u;
    out.push_back(off);
  }
  return out;
}

TEST(InetDiag, RequestAsksForEveryTcpStateOfTheFamily) {
  auto req = inet_diag::build_dump_request(AF_INET6, 42);
  ASSERT_EQ(req.size(), sizeof(nlmsghdr) + sizeof(inet_diag_req_v2));
  nlmsghdr h;
  inet_diag_req_v2 r;
  std::memcpy(&h, req.data(), sizeof h);
  std::memcpy(&r, req.data() + sizeof h, sizeof r);
  EXPECT_EQ(h.nlmsg_len, req.size());
  EXPECT_EQ(h.nlmsg_type, SOCK_DIAG_BY_FAMILY);
  EXPECT_EQ(h.nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
  EXPECT_EQ(h.nlmsg_seq, 42u);
  EXPECT_EQ(r.sdiag_family, AF_INET6);
  EXPECT_EQ(r.sdiag_protocol, IPPROTO_TCP);
  EXPECT_EQ(r.idiag_states, 0xffffffffu);  // includes TCP_NEW_SYN_RECV and TIME-WAIT
}

TEST(InetDiag, ParsesCapturedIpv4Dump) {
  auto raw = read_bytes("inet_diag_v4.bin");
  inet_diag::dump_parser p;
  ASSERT_EQ(p.feed(raw), inet_diag::dump_parser::status::done) << p.error().message();
  const auto& v = p.sockets();
  auto m = by_state(v);
  EXPECT_EQ(m[tcp_state::listen], 3);
  EXPECT_EQ(m[tcp_state::established], 8);
  EXPECT_EQ(m[tcp_state::syn_sent], 2);
  EXPECT_EQ(m[tcp_state::syn_recv], 2);  // request sockets (TCP_NEW_SYN_RECV)
  EXPECT_EQ(m[tcp_state::fin_wait2], 1);
  EXPECT_EQ(m[tcp_state::close_wait], 1);
  EXPECT_EQ(m[tcp_state::time_wait], 2);
  EXPECT_EQ(v.size(), 19u);

  auto* l = find(v, tcp_state::listen, 8080);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->local.to_string(), "127.0.0.1");
  EXPECT_EQ(l->rqueue, 3u);  // three connections wait for accept()
  ASSERT_TRUE(l->backlog.has_value());
  EXPECT_EQ(*l->backlog, 4u);
  EXPECT_NE(l->inode, 0u);
  auto* l9 = find(v, tcp_state::listen, 9090);
  ASSERT_NE(l9, nullptr);
  EXPECT_TRUE(l9->local.is_unspecified());
  EXPECT_EQ(l9->backlog.value_or(0), 16u);

  auto* tw = find(v, tcp_state::time_wait, 9090);
  ASSERT_NE(tw, nullptr);
  EXPECT_EQ(tw->inode, 0u);
  EXPECT_EQ(tw->remote.to_string(), "127.0.0.1");
  for (const auto& s : v)
    if (s.state == tcp_state::close_wait) {
      EXPECT_EQ(s.remote_port, 9090);
    }
  for (const auto& s : v)
    if (s.state == tcp_state::syn_recv) {
      EXPECT_EQ(s.local_port, 7070);
    }
}

TEST(InetDiag, ParsesCapturedIpv6Dump) {
  auto raw = read_bytes("inet_diag_v6.bin");
  inet_diag::dump_parser p;
  ASSERT_EQ(p.feed(raw), inet_diag::dump_parser::status::done);
  const auto& v = p.sockets();
  ASSERT_EQ(v.size(), 4u);
  auto* l = find(v, tcp_state::listen, 8443);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->local.family, AF_INET6);
  EXPECT_EQ(l->local.to_string(), "::1");
  EXPECT_EQ(l->backlog.value_or(0), 8u);
  EXPECT_EQ(by_state(v)[tcp_state::established], 2);
  EXPECT_EQ(by_state(v)[tcp_state::time_wait], 1);
}

// The same moment read through /proc/net/tcp{,6}: the same sockets in the same states.
TEST(InetDiag, AgreesWithProcNetTcpCapturedAtTheSameMoment) {
  for (auto [bin, txt, family] : {std::tuple{"inet_diag_v4.bin", "proc_net_tcp.txt", AF_INET},
                                  {"inet_diag_v6.bin", "proc_net_tcp6.txt", AF_INET6}}) {
    inet_diag::dump_parser p;
    ASSERT_EQ(p.feed(read_bytes(bin)), inet_diag::dump_parser::status::done);
    auto proc = proc_net::parse_tcp_table(read_text(txt), family);
    EXPECT_EQ(proc.bad_lines, 0u);
    auto key = [](const tcp_socket& s) {
      return std::tuple{s.local.to_string(),       s.local_port,
                        s.remote.to_string(),      s.remote_port,
                        static_cast<int>(s.state), s.inode};
    };
    std::vector<decltype(key(tcp_socket{}))> a, b;
    for (const auto& s : p.sockets())
      a.push_back(key(s));
    for (const auto& s : proc.sockets)
      b.push_back(key(s));
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    EXPECT_EQ(a, b) << bin;
  }
}

TEST(InetDiag, MessageByMessageGivesTheSameResult) {
  auto raw = read_bytes("inet_diag_v4.bin");
  inet_diag::dump_parser whole;
  whole.feed(raw);
  auto cuts = boundaries(raw);
  ASSERT_GT(cuts.size(), 3u);
  inet_diag::dump_parser p;
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
    auto st = p.feed(std::span(raw).subspan(cuts[i], cuts[i + 1] - cuts[i]));
    EXPECT_NE(st, inet_diag::dump_parser::status::error);
  }
  EXPECT_EQ(p.state(), inet_diag::dump_parser::status::done);
  EXPECT_EQ(p.sockets().size(), whole.sockets().size());
}

// A datagram never ends inside a message: every cut that is not a message boundary is an error,
// every boundary before NLMSG_DONE asks for more, and nothing reads past the input (ASan).
TEST(InetDiag, EveryTruncationIsDetected) {
  auto raw = read_bytes("inet_diag_v4.bin");
  auto cuts = boundaries(raw);
  for (std::size_t k = 1; k < raw.size(); ++k) {
    std::vector<std::byte> part(raw.begin(), raw.begin() + static_cast<std::ptrdiff_t>(k));
    inet_diag::dump_parser p;
    auto st = p.feed(part);
    bool boundary = std::find(cuts.begin(), cuts.end(), k) != cuts.end();
    if (boundary)
      EXPECT_EQ(st, inet_diag::dump_parser::status::more) << k;
    else
      EXPECT_EQ(st, inet_diag::dump_parser::status::error) << k;
  }
}

std::vector<std::byte> message(std::uint16_t type, const void* payload, std::size_t n) {
  nlmsghdr h{};
  h.nlmsg_len = static_cast<std::uint32_t>(sizeof h + n);
  h.nlmsg_type = type;
  std::vector<std::byte> out(sizeof h + ((n + 3) & ~std::size_t{3}));
  std::memcpy(out.data(), &h, sizeof h);
  if (n) std::memcpy(out.data() + sizeof h, payload, n);
  return out;
}

TEST(InetDiag, KernelErrorIsReported) {
  nlmsgerr e{};
  e.error = -EPERM;
  auto m = message(NLMSG_ERROR, &e, sizeof e);
  inet_diag::dump_parser p;
  EXPECT_EQ(p.feed(m), inet_diag::dump_parser::status::error);
  EXPECT_EQ(p.error(), std::error_code(EPERM, std::system_category()));
}

TEST(InetDiag, MalformedMessagesAreErrorsNotLoops) {
  {
    auto m = message(NLMSG_DONE, nullptr, 0);
    std::uint32_t zero = 0;
    std::memcpy(m.data(), &zero, 4);  // nlmsg_len 0 would never advance
    inet_diag::dump_parser p;
    EXPECT_EQ(p.feed(m), inet_diag::dump_parser::status::error);
    EXPECT_EQ(p.error(), std::errc::bad_message);
  }
  {
    char short_payload[8] = {};
    auto m = message(SOCK_DIAG_BY_FAMILY, short_payload, sizeof short_payload);
    inet_diag::dump_parser p;
    EXPECT_EQ(p.feed(m), inet_diag::dump_parser::status::error);
  }
  {
    char noop[4] = {};
    auto m = message(NLMSG_NOOP, noop, sizeof noop);
    auto done = message(NLMSG_DONE, noop, sizeof noop);
    m.insert(m.end(), done.begin(), done.end());
    inet_diag::dump_parser p;
    EXPECT_EQ(p.feed(m), inet_diag::dump_parser::status::done);
    EXPECT_TRUE(p.sockets().empty());
  }
}

TEST(InetDiag, UnknownStatesAreSkipped) {
  inet_diag_msg msg{};
  msg.idiag_family = AF_INET;
  msg.idiag_state = 99;
  auto m = message(SOCK_DIAG_BY_FAMILY, &msg, sizeof msg);
  msg.idiag_state = 1;
  msg.id.idiag_sport = htons(80);
  auto m2 = message(SOCK_DIAG_BY_FAMILY, &msg, sizeof msg);
  m.insert(m.end(), m2.begin(), m2.end());
  inet_diag::dump_parser p;
  EXPECT_EQ(p.feed(m), inet_diag::dump_parser::status::more);
  ASSERT_EQ(p.sockets().size(), 1u);
  EXPECT_EQ(p.sockets()[0].local_port, 80);
  EXPECT_EQ(p.sockets()[0].state, tcp_state::established);
}

// Against the live kernel: whatever this machine has, the dump completes and parses.
TEST(InetDiag, LiveDumpCompletesOrIsNotPermitted) {
  std::vector<tcp_socket> v;
  auto ec = inet_diag::dump_tcp_sockets(v);
  if (ec == std::errc::operation_not_permitted || ec == std::errc::permission_denied)
    GTEST_SKIP() << "netlink sock_diag not permitted here";
  EXPECT_FALSE(ec) << ec.message();
}

}  // namespace
}  // namespace portico::tools
