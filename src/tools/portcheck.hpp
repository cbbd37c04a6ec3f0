// portcheck: can a server bind and listen on a port, and if not, who holds it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tools/processes.hpp"
#include "tools/tcp_socket.hpp"

namespace portico::tools {

struct check_target {
  ip_address address;
  std::uint16_t port = 0;
  std::string spec;            ///< the argument as given
  bool explicit_host = false;  ///< false: HOST defaulted to 0.0.0.0 and ::
};

/// Parses "PORT", "HOST:PORT" or "[IPV6]:PORT" (PORT 1-65535; HOST a numeric IPv4/IPv6 address
/// or "localhost"). Without HOST returns 0.0.0.0 and ::; "localhost" gives 127.0.0.1 and ::1.
/// On a malformed argument returns nullopt and sets `error`.
std::optional<std::vector<check_target>> parse_check_target(std::string_view spec,
                                                            std::string& error);

/// What one bind+listen attempt gave: 0 or an errno, and the call that failed.
struct probe_result {
  int error = 0;
  std::string call;  ///< "socket", "setsockopt", "bind" or "listen"; empty on success
};

/// Binds a TCP socket to address:port (IPV6_V6ONLY on for IPv6, as portico does), with
/// SO_REUSEADDR if `reuseaddr`, calls listen(2), then closes it without accepting.
probe_result probe_listen(const ip_address& address, std::uint16_t port, bool reuseaddr);

enum class port_status {
  free,         ///< bind+listen with SO_REUSEADDR worked
  taken,        ///< EADDRINUSE
  error,        ///< any other failure (EACCES below port 1024, EADDRNOTAVAIL, ...)
  unsupported,  ///< IPv6 unavailable and the address was not asked for explicitly
};

/// "free", "taken", "error", "unsupported".
std::string_view status_name(port_status s) noexcept;

/// A socket on the checked port and the processes holding it.
struct socket_holder {
  tcp_socket socket;
  std::vector<process_ref> processes;
};

struct check_result {
  check_target target;
  port_status status = port_status::free;
  probe_result probe;  ///< the attempt with SO_REUSEADDR
  /// Only measured when the port is free: whether bind+listen also works WITHOUT SO_REUSEADDR
  /// (false: leftover TIME-WAIT or other connections on the port block a naive server).
  std::optional<bool> free_without_reuseaddr;
  /// Sockets on this port whose address overlaps the checked one, per state.
  state_counts states{};
  /// The listeners (else other sockets with a file) that hold the port.
  std::vector<socket_holder> holders;
  /// Whether a server (re)starting on this port now, or right after the current holder stops,
  /// meets TIME-WAIT sockets: there are TIME-WAIT sockets on the port, the check without
  /// SO_REUSEADDR failed, or the holder has open connections that will pass through TIME-WAIT.
  bool restart_hits_time_wait = false;
};

/// Whether a socket bound to `s.local` can conflict with a bind to `target` (same family and
/// one of them the wildcard or both equal; for an IPv4 target also IPv6 :: and ::ffff:a.b.c.d).
bool overlaps(const ip_address& target, const tcp_socket& s) noexcept;

/// Classifies a target from its probes and the socket table (pure). `without_reuse` is the
/// probe without SO_REUSEADDR, made only when `with_reuse` succeeded.
check_result assess_port(const check_target& target, const probe_result& with_reuse,
                         const std::optional<probe_result>& without_reuse,
                         const std::vector<tcp_socket>& sockets,
                         const std::map<std::uint64_t, std::vector<process_ref>>& owners);

struct portcheck_report {
  std::vector<check_result> results;
  std::string socket_source;             ///< "netlink" or "proc"
  std::string fallback_reason;           ///< why not netlink
  std::size_t unreadable_processes = 0;  ///< fd tables not readable (not root)
};

/// Probes every target, reads the socket table and the owners of the sockets on the ports.
portcheck_report run_portcheck(const std::vector<check_target>& targets);

/// 2 if any result is an error, else 1 if any port is taken, else 0.
int portcheck_exit_code(const portcheck_report& r) noexcept;

/// For people: one block per target, then what SO_REUSEADDR means. Ends with a newline.
std::string render_text(const portcheck_report& r);

/// One JSON object (schema "portico.portcheck/1", docs/tools.md), no newline.
std::string render_json(const portcheck_report& r);

}  // namespace portico::tools
