// /proc/net/tcp and /proc/net/tcp6: the text parser (no I/O) and the reader.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "tools/tcp_socket.hpp"

namespace portico::tools::proc_net {

struct parse_result {
  std::vector<tcp_socket> sockets;
  std::size_t bad_lines = 0;  ///< non-empty lines after the header that did not parse
};

/// Parses the whole text of /proc/net/tcp (`family` AF_INET) or /proc/net/tcp6 (AF_INET6).
/// The first line (column titles) is skipped. Addresses are the kernel's hex dump of the
/// address words in host byte order, ports are hex in host order. For LISTEN sockets rqueue is
/// the accept queue and the backlog is unknown (nullopt): the file does not show it.
parse_result parse_tcp_table(std::string_view text, int family);

/// Reads a whole file (small /proc files: read until EOF). Errors: open/read errno.
std::error_code read_file(const std::string& path, std::string& out);

/// Reads and parses /proc/net/tcp and /proc/net/tcp6 of the caller's network namespace. A
/// missing tcp6 (kernel without IPv6) is not an error.
std::error_code read_tcp_sockets(std::vector<tcp_socket>& out);

}  // namespace portico::tools::proc_net
