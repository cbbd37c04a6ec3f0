#include "net/socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

namespace portico::net {

std::uint16_t address::port() const noexcept {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family() == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return 0;
}

std::string address::ip_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, buf, sizeof buf);
  } else if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, buf,
              sizeof buf);
  }
  return buf;
}

std::string address::to_string() const {
  std::string ip = ip_string();
  std::string p = std::to_string(port());
  if (family() == AF_INET6) return "[" + ip + "]:" + p;
  return ip + ":" + p;
}

std::optional<address> parse_address(std::string_view text) {
  std::string_view host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::nullopt;
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
    if (host.empty()) return std::nullopt;
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      port_text = text;
    } else {
      host = text.substr(0, colon);
      port_text = text.substr(colon + 1);
      if (host.find(':') != std::string_view::npos) return std::nullopt;  // v6 needs brackets
    }
  }
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port > 65535 ||
      port_text.empty())
    return std::nullopt;
  address a;
  std::string h(host);
  if (h.empty() || h == "*") h = "0.0.0.0";
  if (h == "localhost") h = "127.0.0.1";
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    a.length = sizeof(sockaddr_in);
    return a;
  }
  a.storage = {};
  if (inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    a.length = sizeof(sockaddr_in6);
    return a;
  }
  return std::nullopt;
}

namespace {
std::error_code last_error() {
  return {errno, std::system_category()};
}
template <typename T>
int set_opt(int fd, int level, int name, T value) noexcept {
  return ::setsockopt(fd, level, name, &value, sizeof value);
}
}  // namespace

std::error_code listen_tcp(const address& addr, const listen_options& opts, unique_fd& out) {
  unique_fd fd(::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP));
  if (!fd) return last_error();
  if (set_opt(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1) != 0) return last_error();
  if (opts.reuse_port && set_opt(fd.get(), SOL_SOCKET, SO_REUSEPORT, 1) != 0) return last_error();
  if (addr.family() == AF_INET6 &&
      set_opt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, opts.v6_only ? 1 : 0) != 0)
    return last_error();
  if (opts.defer_accept && set_opt(fd.get(), IPPROTO_TCP, TCP_DEFER_ACCEPT, 1) != 0)
    return last_error();
  if (::bind(fd.get(), addr.sa(), addr.length) != 0) return last_error();
  if (::listen(fd.get(), opts.backlog) != 0) return last_error();
  out = std::move(fd);
  return {};
}

std::error_code probe_listen_address(const address& addr) {
  if (addr.port() == 0) return {};
  unique_fd fd(::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP));
  if (!fd) return last_error();
  if (set_opt(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1) != 0) return last_error();
  if (addr.family() == AF_INET6 && set_opt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, 1) != 0)
    return last_error();
  if (::bind(fd.get(), addr.sa(), addr.length) != 0) return last_error();
  return {};
}

int somaxconn() noexcept {
  FILE* f = std::fopen("/proc/sys/net/core/somaxconn", "re");
  if (!f) return -1;
  int v = -1;
  if (std::fscanf(f, "%d", &v) != 1) v = -1;
  std::fclose(f);
  return v;
}

std::error_code apply_connection_options(int fd, const connection_options& opts) noexcept {
  std::error_code first;
  auto check = [&](int r) {
    if (r != 0 && !first) first = last_error();
  };
  if (opts.tcp_nodelay) check(set_opt(fd, IPPROTO_TCP, TCP_NODELAY, 1));
  if (opts.keepalive.enabled) {
    check(set_opt(fd, SOL_SOCKET, SO_KEEPALIVE, 1));
    check(set_opt(fd, IPPROTO_TCP, TCP_KEEPIDLE, opts.keepalive.idle_s));
    check(set_opt(fd, IPPROTO_TCP, TCP_KEEPINTVL, opts.keepalive.interval_s));
    check(set_opt(fd, IPPROTO_TCP, TCP_KEEPCNT, opts.keepalive.count));
  }
  if (opts.user_timeout_ms) check(set_opt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, opts.user_timeout_ms));
  return first;
}

void abortive_close(unique_fd& fd) noexcept {
  if (!fd) return;
  linger l{};
  l.l_onoff = 1;
  l.l_linger = 0;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
  fd.reset();
}

std::optional<address> local_address(int fd) {
  address a;
  a.length = sizeof a.storage;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a.storage), &a.length) != 0)
    return std::nullopt;
  return a;
}

}  // namespace portico::net
