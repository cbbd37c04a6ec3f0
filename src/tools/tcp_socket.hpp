// One TCP socket as the kernel reports it, and the TCP states by their kernel numbers.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portico::tools {

/// TCP states with the kernel's numbers (include/net/tcp_states.h).
enum class tcp_state : std::uint8_t {
  established = 1,
  syn_sent = 2,
  syn_recv = 3,
  fin_wait1 = 4,
  fin_wait2 = 5,
  time_wait = 6,
  close = 7,
  close_wait = 8,
  last_ack = 9,
  listen = 10,
  closing = 11,
};

/// The ten states the tools report, in report order (LISTEN first, TIME-WAIT last).
inline constexpr std::array<tcp_state, 10> reported_states = {
    tcp_state::listen,    tcp_state::syn_sent,  tcp_state::syn_recv,   tcp_state::established,
    tcp_state::fin_wait1, tcp_state::fin_wait2, tcp_state::close_wait, tcp_state::closing,
    tcp_state::last_ack,  tcp_state::time_wait};

/// Per-state counts indexed like reported_states.
using state_counts = std::array<std::uint64_t, reported_states.size()>;

/// The state for a kernel state number. TCP_NEW_SYN_RECV (12, a request socket) maps to
/// syn_recv, TCP_BOUND_INACTIVE (13) to close. Returns nullopt for other unknown numbers.
std::optional<tcp_state> state_from_kernel(unsigned value) noexcept;

/// "LISTEN", "SYN-SENT", ..., "TIME-WAIT", "CLOSE" (the names RFC 9293 uses).
std::string_view state_name(tcp_state s) noexcept;

/// The index of `s` in reported_states, or -1 for close.
int report_index(tcp_state s) noexcept;

/// An IPv4 or IPv6 address in network byte order.
struct ip_address {
  int family = 0;                        ///< AF_INET or AF_INET6
  std::array<std::uint8_t, 16> bytes{};  ///< IPv4 uses the first 4 bytes

  /// "127.0.0.1" or "::1" (inet_ntop form).
  std::string to_string() const;
  /// 0.0.0.0 or ::
  bool is_unspecified() const noexcept;
  /// ::ffff:a.b.c.d
  bool is_v4_mapped() const noexcept;
  /// Parses a numeric IPv4 or IPv6 address (no brackets, no port); nullopt otherwise.
  static std::optional<ip_address> parse(std::string_view text);
  static ip_address any(int family) noexcept;
  friend bool operator==(const ip_address&, const ip_address&) = default;
};

/// "1.2.3.4:80" or "[::1]:80".
std::string endpoint_string(const ip_address& a, std::uint16_t port);

/// One TCP socket (listening, connected, request or TIME-WAIT).
struct tcp_socket {
  ip_address local;
  std::uint16_t local_port = 0;
  ip_address remote;
  std::uint16_t remote_port = 0;
  tcp_state state = tcp_state::close;
  /// LISTEN: connections waiting in the accept queue. Others: bytes received, not yet read.
  std::uint32_t rqueue = 0;
  /// Others than LISTEN: bytes sent, not yet acknowledged.
  std::uint32_t wqueue = 0;
  /// LISTEN only, and only when read through netlink: the listen(2) backlog (after the kernel
  /// capped it at net.core.somaxconn). /proc/net/tcp does not show it.
  std::optional<std::uint32_t> backlog;
  std::uint64_t inode = 0;  ///< 0 for TIME-WAIT and request sockets (no file behind them)
  std::uint32_t uid = 0;
};

}  // namespace portico::tools
