// The data of one tcpstat sample: what the renderers print and the findings reason about.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tools/kernel_counters.hpp"
#include "tools/processes.hpp"
#include "tools/tcp_socket.hpp"

namespace portico::tools {

/// Socket counts of one local port (all addresses and both families together).
struct port_row {
  std::uint16_t port = 0;
  bool listening = false;  ///< some socket is in LISTEN on this port
  bool ephemeral = false;  ///< not listening and inside net.ipv4.ip_local_port_range
  state_counts states{};
  /// Processes holding this port's CLOSE-WAIT sockets (filled when there are any).
  std::vector<process_ref> close_wait_owners;
};

/// One listening socket.
struct listener_row {
  ip_address address;
  std::uint16_t port = 0;
  std::uint32_t accept_queue = 0;        ///< connections waiting for accept()
  std::optional<std::uint32_t> backlog;  ///< unknown with the /proc source
  std::uint64_t inode = 0;
  std::vector<process_ref> owners;
};

struct counter_row {
  std::string key;                    ///< "TcpExt.ListenOverflows"
  std::int64_t total = 0;             ///< since boot (of this network namespace)
  std::optional<std::int64_t> delta;  ///< since the previous sample (watch mode)
};

struct remote_count {
  ip_address address;
  std::uint16_t port = 0;
  std::uint64_t count = 0;
};

enum class severity { info, warning, critical };

/// "info", "warning", "critical".
std::string_view severity_name(severity s) noexcept;

/// A plain-language observation: what, why, what to do.
struct finding {
  std::string id;  ///< stable identifier, see docs/tools.md
  severity level = severity::info;
  std::optional<std::uint16_t> port;
  std::string summary;
  std::string reason;
  std::string action;
};

struct tcp_report {
  std::string source;           ///< "netlink" or "proc"
  std::string fallback_reason;  ///< why not netlink, when it was not forced
  double time = 0;              ///< Unix time of the sample
  double interval_s = 0;        ///< watch interval; 0 for a single snapshot
  unsigned sample = 1;          ///< 1-based sample number
  std::optional<std::uint16_t> port_filter;

  state_counts totals{};
  /// Every local port with a socket, ascending.
  std::vector<port_row> ports;
  /// Non-listening local ports inside net.ipv4.ip_local_port_range, summed: the client side.
  state_counts client_side{};
  std::uint64_t client_ports = 0;  ///< how many distinct ports client_side sums
  /// Processes holding client-side CLOSE-WAIT sockets.
  std::vector<process_ref> client_close_wait_owners;
  std::vector<listener_row> listeners;
  /// Client-side TIME-WAIT sockets per remote endpoint, busiest first, at most 5.
  std::vector<remote_count> client_time_wait_top;
  std::vector<counter_row> counters;  ///< tracked_counters order
  tcp_sysctls sysctls;
  std::vector<finding> findings;  ///< most severe first
};

}  // namespace portico::tools
