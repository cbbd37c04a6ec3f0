// tcpstat: TCP sockets per state and local port, listener queues, kernel counters, findings.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tools/findings.hpp"
#include "tools/kernel_counters.hpp"
#include "tools/processes.hpp"
#include "tools/report.hpp"
#include "tools/socket_table.hpp"

namespace portico::tools {

struct report_options {
  std::optional<std::uint16_t> port;  ///< only sockets with this local port
  double interval_s = 0;              ///< watch interval; 0 = single snapshot
  unsigned sample = 1;
  double time = 0;  ///< Unix time stamped on the report
};

/// Builds a report from already-read inputs (pure: no I/O). `previous` (may be null) gives the
/// counters of the previous sample for the deltas. `owners` maps socket inodes to processes
/// (listeners and CLOSE-WAIT sockets are looked up). Findings are evaluated with `limits`.
tcp_report build_report(const socket_table& table, const counter_map& counters,
                        const counter_map* previous, const tcp_sysctls& sysctls,
                        const std::map<std::uint64_t, std::vector<process_ref>>& owners,
                        const report_options& opts, const thresholds& limits = {});

/// The sockets whose owners build_report shows: listeners and CLOSE-WAIT sockets (port filter
/// applied).
std::set<std::uint64_t> inodes_to_resolve(const std::vector<tcp_socket>& sockets,
                                          std::optional<std::uint16_t> port);

struct tcpstat_options {
  std::optional<std::uint16_t> port;
  bool force_proc = false;  ///< read /proc/net/tcp{,6} even when netlink works
  double interval_s = 0;    ///< 0: one snapshot
};

/// Takes samples of the caller's network namespace; keeps the previous counters for deltas.
class tcpstat_sampler {
 public:
  explicit tcpstat_sampler(tcpstat_options opts) : opts_(opts) {}
  /// Reads sockets, counters, sysctls and owners now and returns the report. If neither
  /// netlink nor /proc can be read, the report has no sockets and fallback_reason says why.
  tcp_report next();

 private:
  tcpstat_options opts_;
  std::optional<counter_map> previous_;
  unsigned sample_ = 0;
};

/// The report as a table for people (ends with a newline).
std::string render_text(const tcp_report& r);

/// The report as one line of JSON (schema "portico.tcpstat/1", docs/tools.md), no newline.
std::string render_json(const tcp_report& r);

}  // namespace portico::tools
