// Kernel TCP counters (/proc/net/netstat, /proc/net/snmp) and the sysctls the findings cite.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace portico::tools {

/// Counter name ("TcpExt.ListenOverflows", "Tcp.OutRsts") to value.
using counter_map = std::map<std::string, std::int64_t, std::less<>>;

/// Parses the /proc/net/netstat and /proc/net/snmp format: pairs of lines
/// "Prefix: Name1 Name2 ..." and "Prefix: v1 v2 ...". Keys are "Prefix.Name". A pair whose
/// prefixes differ or whose value count differs from its name count is skipped (as are values
/// that are not integers). Values may be negative (Tcp MaxConn is -1).
counter_map parse_counter_pairs(std::string_view text);

/// A counter the tools show, with what it means to an operator.
struct tracked_counter {
  std::string_view key;      ///< "TcpExt.ListenOverflows"
  std::string_view meaning;  ///< one line
};

/// The counters tcpstat shows, in display order.
inline constexpr std::array<tracked_counter, 14> tracked_counters = {{
    {"TcpExt.ListenOverflows", "connections dropped because an accept queue was full"},
    {"TcpExt.ListenDrops", "SYNs/ACKs to a listener dropped for any reason (overflows included)"},
    {"TcpExt.TCPReqQFullDrop", "SYNs dropped because the SYN (half-open) queue was full"},
    {"TcpExt.SyncookiesSent", "SYN cookies sent (the SYN queue was full)"},
    {"TcpExt.SyncookiesRecv", "valid SYN cookies received back"},
    {"TcpExt.SyncookiesFailed", "invalid SYN cookies received"},
    {"TcpExt.TCPAbortOnData", "resets sent: data arrived after the application closed"},
    {"TcpExt.TCPAbortOnClose", "resets sent: the application closed with unread data"},
    {"TcpExt.TCPAbortOnTimeout", "connections dropped after all retransmissions timed out"},
    {"TcpExt.TCPTimeouts", "retransmission timeouts (RTO) fired"},
    {"Tcp.OutRsts", "segments with RST sent"},
    {"Tcp.EstabResets", "connections reset from ESTABLISHED or CLOSE-WAIT"},
    {"Tcp.AttemptFails", "connection attempts that failed"},
    {"Tcp.RetransSegs", "segments retransmitted"},
}};

/// Reads /proc/net/netstat and /proc/net/snmp of the caller's network namespace into one map.
/// Unreadable files give an empty part.
counter_map read_kernel_counters();

/// The TCP sysctls of the caller's network namespace; -1 where unreadable.
struct tcp_sysctls {
  int syncookies = -1;       ///< net.ipv4.tcp_syncookies (0 off, 1 when needed, 2 always)
  int somaxconn = -1;        ///< net.core.somaxconn (cap on every listen backlog)
  int max_syn_backlog = -1;  ///< net.ipv4.tcp_max_syn_backlog
  int fin_timeout = -1;      ///< net.ipv4.tcp_fin_timeout (s)
  int tw_reuse = -1;         ///< net.ipv4.tcp_tw_reuse
  int port_range_low = -1;   ///< net.ipv4.ip_local_port_range
  int port_range_high = -1;

  /// Size of the ephemeral port range, or 0 when unknown.
  int port_range_size() const noexcept {
    return port_range_low > 0 && port_range_high >= port_range_low
               ? port_range_high - port_range_low + 1
               : 0;
  }
};

/// Parses the text of a sysctl file holding one integer ("1\n"); -1 if it does not.
int parse_sysctl_int(std::string_view text);

tcp_sysctls read_tcp_sysctls();

}  // namespace portico::tools
