// Plain-language findings from a tcpstat sample: thresholds and rules, no I/O.
#pragma once

#include <cstdint>
#include <vector>

#include "tools/report.hpp"

namespace portico::tools {

/// The thresholds of the findings (docs/tools.md explains each choice).
struct thresholds {
  /// syn_recv_high: a listening port has at least this many SYN-RECV sockets ...
  std::uint64_t syn_recv_min = 8;
  /// ... and they fill at least this fraction of its listeners' summed backlog,
  double syn_recv_backlog_fraction = 0.5;
  /// ... or, when the backlog is unknown (/proc source), at least this many.
  std::uint64_t syn_recv_unknown_backlog = 128;
  /// accept_queue_high: the accept queue holds at least this fraction of the backlog
  /// (accept_queue_full when it holds the whole backlog).
  double accept_queue_fraction = 0.8;
  /// close_wait: CLOSE-WAIT sockets on one local port.
  std::uint64_t close_wait_min = 10;
  /// fin_wait2: FIN-WAIT-2 sockets on one local port.
  std::uint64_t fin_wait2_min = 100;
  /// time_wait_client (warning): client-side TIME-WAIT sockets towards one remote endpoint,
  /// as a fraction of the ephemeral port range.
  double time_wait_range_fraction = 0.25;
  /// time_wait_client (info): client-side TIME-WAIT sockets in total.
  std::uint64_t time_wait_client_min = 1000;
  /// time_wait_server (info): TIME-WAIT sockets on one listening port.
  std::uint64_t time_wait_server_min = 1000;
  /// resets (watch mode): RSTs sent in one interval.
  std::int64_t resets_min = 10;
};

/// The findings for `r` (its findings member is ignored), most severe first, then by port.
/// Counter rules use the deltas in watch mode and the totals (as info) in a single snapshot.
std::vector<finding> evaluate_findings(const tcp_report& r, const thresholds& t = {});

}  // namespace portico::tools
