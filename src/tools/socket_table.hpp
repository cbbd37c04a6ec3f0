// All TCP sockets of the caller's network namespace, read through netlink (inet_diag) with
// /proc/net/tcp{,6} as the fallback.
#pragma once

#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "tools/tcp_socket.hpp"

namespace portico::tools {

enum class table_source { netlink, proc };

/// "netlink" or "proc".
std::string_view source_name(table_source s) noexcept;

struct socket_table {
  std::vector<tcp_socket> sockets;
  table_source source = table_source::netlink;
  /// Why netlink was not used when source is proc and it was not forced ("" otherwise).
  std::string fallback_reason;
  /// Set when neither source could be read; sockets is then empty.
  std::error_code error;
};

/// Reads every TCP socket (all states, IPv4 and IPv6). Uses NETLINK_SOCK_DIAG unless
/// `force_proc`; when netlink fails (not permitted, not compiled in) reads /proc/net/tcp{,6}
/// and says why in fallback_reason.
socket_table read_socket_table(bool force_proc);

}  // namespace portico::tools
