// TCP sockets: addresses, listening sockets, per-connection options, and the two ways to close.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "core/unique_fd.hpp"

namespace portico::net {

/// An IPv4 or IPv6 socket address.
struct address {
  sockaddr_storage storage{};
  socklen_t length = 0;

  int family() const noexcept { return storage.ss_family; }
  std::uint16_t port() const noexcept;
  /// "127.0.0.1:8080" or "[::1]:8080".
  std::string to_string() const;
  /// The IP alone, without port or brackets ("127.0.0.1", "::1").
  std::string ip_string() const;
  const sockaddr* sa() const noexcept { return reinterpret_cast<const sockaddr*>(&storage); }
};

/// Parses "HOST:PORT", "[V6]:PORT", ":PORT" or "PORT" (the last two mean 0.0.0.0). HOST must be
/// a numeric IPv4 or IPv6 address or "localhost" (127.0.0.1). Returns nullopt when malformed.
std::optional<address> parse_address(std::string_view text);

/// TCP keepalive: dead-peer detection by the kernel (not HTTP keep-alive).
struct tcp_keepalive {
  bool enabled = false;
  int idle_s = 60;      ///< TCP_KEEPIDLE: idle seconds before the first probe
  int interval_s = 10;  ///< TCP_KEEPINTVL: seconds between probes
  int count = 6;        ///< TCP_KEEPCNT: unanswered probes before the connection is dropped
};

/// Options applied to every accepted connection.
struct connection_options {
  bool tcp_nodelay = true;
  tcp_keepalive keepalive{};
  unsigned user_timeout_ms = 0;  ///< TCP_USER_TIMEOUT; 0 leaves the kernel default
};

struct listen_options {
  int backlog = 4096;         ///< listen(2) backlog; the kernel caps it at net.core.somaxconn
  bool reuse_port = true;     ///< SO_REUSEPORT: one listening socket per worker
  bool v6_only = true;        ///< IPV6_V6ONLY for IPv6 addresses
  bool defer_accept = false;  ///< TCP_DEFER_ACCEPT (wake accept only when data arrived)
};

/// Creates a non-blocking, close-on-exec listening socket bound to `addr` with SO_REUSEADDR and
/// the given options. Errors carry the failing call in the message.
std::error_code listen_tcp(const address& addr, const listen_options& opts, unique_fd& out);

/// Whether some socket already listens on `addr`: a probe socket with SO_REUSEADDR but
/// without SO_REUSEPORT fails to bind exactly then (TIME-WAIT leftovers do not count). Port 0
/// is never in use. Returns the bind error (EADDRINUSE) or {} when the address is free; other
/// errors (EACCES, EADDRNOTAVAIL) are returned as they are.
std::error_code probe_listen_address(const address& addr);

/// The kernel's net.core.somaxconn, or -1 if it cannot be read.
int somaxconn() noexcept;

/// Applies `opts` to a connected socket. Returns the first error (others are still attempted).
std::error_code apply_connection_options(int fd, const connection_options& opts) noexcept;

/// Abortive close: SO_LINGER {1, 0} then close(2), which sends RST instead of FIN and discards
/// unsent data. For connections the server gives up on.
void abortive_close(unique_fd& fd) noexcept;

/// The local address of a socket.
std::optional<address> local_address(int fd);

}  // namespace portico::net
