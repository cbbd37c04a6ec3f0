// Which processes hold a socket: /proc/PID/fd links "socket:[INODE]" and /proc/PID/comm.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace portico::tools {

struct process_ref {
  int pid = 0;
  std::string program;  ///< /proc/PID/comm (at most 15 bytes), "?" if unreadable
  friend bool operator==(const process_ref&, const process_ref&) = default;
};

struct owner_scan {
  /// inode -> processes with an fd on it, ascending pid. Inodes nobody holds are absent.
  std::map<std::uint64_t, std::vector<process_ref>> owners;
  /// Processes whose fd table could not be read (another user's, without root).
  std::size_t unreadable = 0;
};

/// If `text` is "socket:[N]" returns N, else 0.
std::uint64_t socket_inode_of_link(std::string_view text) noexcept;

/// Scans /proc/*/fd for links to the given socket inodes (0 is ignored). Processes that exit
/// during the scan are skipped. Cost: one readlink per open fd on the system.
owner_scan find_socket_owners(const std::set<std::uint64_t>& inodes);

}  // namespace portico::tools
