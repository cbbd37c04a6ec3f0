// TCP sockets through NETLINK_SOCK_DIAG (inet_diag): the request, the response parser (no I/O)
// and the dump itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>
#include <vector>

#include "tools/tcp_socket.hpp"

namespace portico::tools::inet_diag {

/// The bytes of one SOCK_DIAG_BY_FAMILY dump request (nlmsghdr + inet_diag_req_v2) for TCP
/// sockets of `family` (AF_INET or AF_INET6) in every state, request sockets (SYN-RECV) and
/// TIME-WAIT included.
std::vector<std::byte> build_dump_request(int family, std::uint32_t seq);

/// Parses the kernel's answer to a dump request, one or more whole netlink messages at a time
/// (a datagram as recv(2) returned it, or several concatenated). Sans-I/O.
class dump_parser {
 public:
  enum class status {
    more,   ///< keep feeding: NLMSG_DONE not seen yet
    done,   ///< NLMSG_DONE seen; sockets() is complete
    error,  ///< error() says why; further input is ignored
  };

  /// Consumes `data`. Messages after NLMSG_DONE are ignored. A message whose length field is
  /// shorter than a header or runs past `data` is an error (std::errc::bad_message), as is a
  /// SOCK_DIAG_BY_FAMILY message too short for inet_diag_msg. NLMSG_ERROR carrying a non-zero
  /// errno stops the parse with that errno (system_category). Other message types are skipped.
  status feed(std::span<const std::byte> data);

  status state() const noexcept { return status_; }
  std::error_code error() const noexcept { return error_; }
  /// The sockets parsed so far, in message order. States outside the kernel's range are skipped.
  const std::vector<tcp_socket>& sockets() const noexcept { return sockets_; }
  std::vector<tcp_socket> take_sockets() noexcept { return std::move(sockets_); }
  /// Whether the kernel flagged the dump as interrupted (NLM_F_DUMP_INTR: the table changed
  /// during the dump, so it may be inconsistent).
  bool interrupted() const noexcept { return interrupted_; }

 private:
  std::vector<tcp_socket> sockets_;
  std::error_code error_;
  status status_ = status::more;
  bool interrupted_ = false;
};

/// Sends a dump request for `family` over a new NETLINK_SOCK_DIAG socket and returns every
/// datagram of the answer concatenated (up to and including NLMSG_DONE), unparsed. Errors: the
/// failing syscall's errno (EPERM/EACCES when netlink is not permitted, EAGAIN after a 5 s
/// receive timeout), std::errc::message_size on a truncated datagram.
std::error_code dump_raw(int family, std::vector<std::byte>& out);

/// dump_raw + dump_parser for AF_INET and AF_INET6. Returns the sockets of both families;
/// on error returns the error and leaves `out` unspecified.
std::error_code dump_tcp_sockets(std::vector<tcp_socket>& out);

}  // namespace portico::tools::inet_diag
