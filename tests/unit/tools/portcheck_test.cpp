#include "tools/portcheck.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "core/unique_fd.hpp"

namespace portico::tools {
namespace {

std::size_t at(tcp_state s) {
  return static_cast<std::size_t>(report_index(s));
}

TEST(Portcheck, ParseTargets) {
  std::string err;
  auto t = parse_check_target("8080", err);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->size(), 2u);
  EXPECT_EQ((*t)[0].address.to_string(), "0.0.0.0");
  EXPECT_EQ((*t)[1].address.to_string(), "::");
  EXPECT_FALSE((*t)[0].explicit_host);
  EXPECT_EQ((*t)[0].port, 8080);

  t = parse_check_target("127.0.0.1:80", err);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->size(), 1u);
  EXPECT_TRUE((*t)[0].explicit_host);
  t = parse_check_target("[::1]:443", err);
  ASSERT_TRUE(t);
  EXPECT_EQ((*t)[0].address.family, AF_INET6);
  EXPECT_EQ((*t)[0].port, 443);
  t = parse_check_target(":9000", err);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->size(), 2u);
  t = parse_check_target("localhost:9000", err);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->size(), 2u);

  for (const char* bad : {"", "0", "65536", "-1", "80x", "::1:80", "[::1]80", "[::1]:", "host:80",
                          "1.2.3:80", "[1.2.3.4]:80x", "99999999999999999999"}) {
    err.clear();
    EXPECT_FALSE(parse_check_target(bad, err)) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
}

tcp_socket sock(const char* addr, std::uint16_t port, tcp_state st, std::uint64_t inode = 0) {
  tcp_socket s;
  s.local = *ip_address::parse(addr);
  s.local_port = port;
  s.remote = ip_address::any(s.local.family);
  s.state = st;
  s.inode = inode;
  if (st == tcp_state::listen) s.backlog = 128;
  return s;
}

TEST(Portcheck, Overlaps) {
  auto any4 = ip_address::any(AF_INET);
  auto lo4 = *ip_address::parse("127.0.0.1");
  auto any6 = ip_address::any(AF_INET6);
  EXPECT_TRUE(overlaps(any4, sock("127.0.0.1", 1, tcp_state::listen)));
  EXPECT_TRUE(overlaps(lo4, sock("0.0.0.0", 1, tcp_state::listen)));
  EXPECT_FALSE(overlaps(lo4, sock("127.0.0.2", 1, tcp_state::listen)));
  EXPECT_TRUE(overlaps(lo4, sock("::", 1, tcp_state::listen)));  // dual-stack ::
  EXPECT_TRUE(overlaps(lo4, sock("::ffff:127.0.0.1", 1, tcp_state::established)));
  EXPECT_FALSE(overlaps(lo4, sock("::ffff:127.0.0.2", 1, tcp_state::established)));
  EXPECT_FALSE(overlaps(lo4, sock("::1", 1, tcp_state::listen)));
  EXPECT_FALSE(overlaps(any6, sock("0.0.0.0", 1, tcp_state::listen)));  // we bind V6ONLY
  EXPECT_TRUE(overlaps(any6, sock("::1", 1, tcp_state::listen)));
}

check_target target(const char* spec) {
  std::string err;
  return parse_check_target(spec, err)->front();
}

TEST(Portcheck, TakenNamesTheHolderAndItsConnections) {
  std::vector<tcp_socket> table = {
      sock("0.0.0.0", 8080, tcp_state::listen, 11),
      sock("127.0.0.1", 8080, tcp_state::established, 12),
      sock("127.0.0.1", 8081, tcp_state::listen, 13),
  };
  std::map<std::uint64_t, std::vector<process_ref>> owners{{11, {{321, "python3"}}}};
  auto r = assess_port(target("8080"), {EADDRINUSE, "bind"}, std::nullopt, table, owners);
  EXPECT_EQ(r.status, port_status::taken);
  ASSERT_EQ(r.holders.size(), 1u);
  EXPECT_EQ(r.holders[0].socket.inode, 11u);
  ASSERT_EQ(r.holders[0].processes.size(), 1u);
  EXPECT_EQ(r.holders[0].processes[0].pid, 321);
  EXPECT_EQ(r.states[at(tcp_state::established)], 1u);
  EXPECT_TRUE(r.restart_hits_time_wait);  // its connection will pass through TIME-WAIT
  EXPECT_FALSE(r.free_without_reuseaddr.has_value());

  portcheck_report rep;
  rep.results.push_back(r);
  EXPECT_EQ(portcheck_exit_code(rep), 1);
  auto text = render_text(rep);
  EXPECT_NE(text.find("TAKEN"), std::string::npos);
  EXPECT_NE(text.find("pid 321 (python3)"), std::string::npos);
  EXPECT_NE(text.find("LISTEN on 0.0.0.0:8080"), std::string::npos);
  EXPECT_NE(text.find("SO_REUSEADDR"), std::string::npos);
  auto json = render_json(rep);
  EXPECT_NE(json.find("\"status\":\"taken\""), std::string::npos);
  EXPECT_NE(json.find("\"errno\":\"EADDRINUSE\""), std::string::npos);
  EXPECT_NE(json.find("\"processes\":[{\"pid\":321,\"program\":\"python3\"}]"), std::string::npos);
}

TEST(Portcheck, BoundButNotListeningHolder) {
  std::vector<tcp_socket> table = {sock("0.0.0.0", 7000, tcp_state::close, 21)};
  auto r = assess_port(target("7000"), {EADDRINUSE, "bind"}, std::nullopt, table, {});
  ASSERT_EQ(r.holders.size(), 1u);
  EXPECT_EQ(r.holders[0].socket.state, tcp_state::close);
  EXPECT_FALSE(r.restart_hits_time_wait);
}

TEST(Portcheck, FreeButTimeWait) {
  std::vector<tcp_socket> table = {sock("127.0.0.1", 8080, tcp_state::time_wait)};
  auto r = assess_port(target("8080"), {}, probe_result{EADDRINUSE, "bind"}, table, {});
  EXPECT_EQ(r.status, port_status::free);
  EXPECT_EQ(r.free_without_reuseaddr, false);
  EXPECT_EQ(r.states[at(tcp_state::time_wait)], 1u);
  EXPECT_TRUE(r.restart_hits_time_wait);
  EXPECT_TRUE(r.holders.empty());
  portcheck_report rep;
  rep.results.push_back(r);
  EXPECT_EQ(portcheck_exit_code(rep), 0);
  auto text = render_text(rep);
  EXPECT_NE(text.find("free"), std::string::npos);
  EXPECT_NE(text.find("TIME-WAIT"), std::string::npos);
  EXPECT_NE(text.find("without SO_REUSEADDR: bind would FAIL"), std::string::npos);
  auto json = render_json(rep);
  EXPECT_NE(json.find("\"free_without_reuseaddr\":false"), std::string::npos);
  EXPECT_NE(json.find("\"time_wait\":1"), std::string::npos);
  EXPECT_NE(json.find("\"restart_hits_time_wait\":true"), std::string::npos);
}

TEST(Portcheck, ErrorsAndUnsupportedIpv6) {
  auto r = assess_port(target("80"), {EACCES, "bind"}, std::nullopt, {}, {});
  EXPECT_EQ(r.status, port_status::error);
  std::string err;
  auto v6 = parse_check_target("80", err)->back();
  auto u = assess_port(v6, {EAFNOSUPPORT, "socket"}, std::nullopt, {}, {});
  EXPECT_EQ(u.status, port_status::unsupported);
  auto e = assess_port(target("[::1]:80"), {EADDRNOTAVAIL, "bind"}, std::nullopt, {}, {});
  EXPECT_EQ(e.status, port_status::error);  // asked for explicitly
  portcheck_report rep;
  rep.results = {u};
  EXPECT_EQ(portcheck_exit_code(rep), 0);
  rep.results = {u, r};
  EXPECT_EQ(portcheck_exit_code(rep), 2);
  EXPECT_NE(render_text(rep).find("CAP_NET_BIND_SERVICE"), std::string::npos);
}

// The probe against real sockets on loopback.
TEST(Portcheck, ProbeSeesARealListener) {
  unique_fd l(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(l);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(l.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(::listen(l.get(), 4), 0);
  socklen_t len = sizeof sa;
  ASSERT_EQ(::getsockname(l.get(), reinterpret_cast<sockaddr*>(&sa), &len), 0);
  auto port = ntohs(sa.sin_port);
  auto lo = *ip_address::parse("127.0.0.1");
  auto busy = probe_listen(lo, port, true);
  EXPECT_EQ(busy.error, EADDRINUSE);
  EXPECT_EQ(busy.call, "bind");
  l.reset();
  EXPECT_EQ(probe_listen(lo, port, true).error, 0);
}

}  // namespace
}  // namespace portico::tools
