#include "net/socket.hpp"

#include <gtest/gtest.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace portico::net {
namespace {

TEST(ParseAddress, AcceptsV4V6AndPortOnly) {
  auto a = parse_address("127.0.0.1:8080");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->family(), AF_INET);
  EXPECT_EQ(a->port(), 8080);
  EXPECT_EQ(a->to_string(), "127.0.0.1:8080");
  auto b = parse_address("[::1]:443");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->family(), AF_INET6);
  EXPECT_EQ(b->to_string(), "[::1]:443");
  auto c = parse_address(":9000");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->to_string(), "0.0.0.0:9000");
  EXPECT_FALSE(parse_address("::1:80"));
  EXPECT_FALSE(parse_address("127.0.0.1:99999"));
  EXPECT_FALSE(parse_address("example.com:80"));
  EXPECT_FALSE(parse_address("127.0.0.1:"));
}

int get_int(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  EXPECT_EQ(::getsockopt(fd, level, name, &v, &len), 0);
  return v;
}

TEST(Sockets, ListenAcceptAndApplyOptions) {
  unique_fd lfd;
  auto addr = parse_address("127.0.0.1:0");
  ASSERT_FALSE(listen_tcp(*addr, {}, lfd));
  auto bound = local_address(lfd.get());
  ASSERT_TRUE(bound);
  ASSERT_NE(bound->port(), 0);
  EXPECT_EQ(get_int(lfd.get(), SOL_SOCKET, SO_REUSEPORT), 1);

  unique_fd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(::connect(client.get(), bound->sa(), bound->length), 0);
  unique_fd accepted;
  for (int i = 0; i < 1000 && !accepted; ++i) accepted.reset(::accept4(lfd.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(accepted);

  connection_options o;
  o.keepalive.enabled = true;
  o.keepalive.idle_s = 33;
  o.keepalive.interval_s = 7;
  o.keepalive.count = 4;
  o.user_timeout_ms = 9000;
  ASSERT_FALSE(apply_connection_options(accepted.get(), o));
  EXPECT_EQ(get_int(accepted.get(), SOL_SOCKET, SO_KEEPALIVE), 1);
  EXPECT_EQ(get_int(accepted.get(), IPPROTO_TCP, TCP_KEEPIDLE), 33);
  EXPECT_EQ(get_int(accepted.get(), IPPROTO_TCP, TCP_KEEPINTVL), 7);
  EXPECT_EQ(get_int(accepted.get(), IPPROTO_TCP, TCP_KEEPCNT), 4);
  EXPECT_EQ(get_int(accepted.get(), IPPROTO_TCP, TCP_USER_TIMEOUT), 9000);
  EXPECT_EQ(get_int(accepted.get(), IPPROTO_TCP, TCP_NODELAY), 1);
}

TEST(Sockets, AbortiveCloseSendsReset) {
  unique_fd lfd;
  ASSERT_FALSE(listen_tcp(*parse_address("127.0.0.1:0"), {}, lfd));
  auto bound = local_address(lfd.get());
  unique_fd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(::connect(client.get(), bound->sa(), bound->length), 0);
  unique_fd accepted;
  for (int i = 0; i < 1000 && !accepted; ++i) accepted.reset(::accept4(lfd.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(accepted);
  abortive_close(accepted);
  char c;
  ssize_t n = ::recv(client.get(), &c, 1, 0);
  EXPECT_EQ(n, -1);
  EXPECT_EQ(errno, ECONNRESET);
}

TEST(Sockets, BindingATakenPortWithoutReusePortFails) {
  unique_fd a, b;
  listen_options no_reuse;
  no_reuse.reuse_port = false;
  ASSERT_FALSE(listen_tcp(*parse_address("127.0.0.1:0"), no_reuse, a));
  auto bound = local_address(a.get());
  auto ec = listen_tcp(*bound, no_reuse, b);
  EXPECT_EQ(ec, std::errc::address_in_use);
}

}  // namespace
}  // namespace portico::net
