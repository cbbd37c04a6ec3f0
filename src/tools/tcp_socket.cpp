#include "tools/tcp_socket.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace portico::tools {

std::optional<tcp_state> state_from_kernel(unsigned value) noexcept {
  if (value == 12) return tcp_state::syn_recv;  // TCP_NEW_SYN_RECV: a request socket
  if (value == 13) return tcp_state::close;     // TCP_BOUND_INACTIVE: bound, not listening
  if (value < 1 || value > 11) return std::nullopt;
  return static_cast<tcp_state>(value);
}

std::string_view state_name(tcp_state s) noexcept {
  switch (s) {
    case tcp_state::established:
      return "ESTABLISHED";
    case tcp_state::syn_sent:
      return "SYN-SENT";
    case tcp_state::syn_recv:
      return "SYN-RECV";
    case tcp_state::fin_wait1:
      return "FIN-WAIT-1";
    case tcp_state::fin_wait2:
      return "FIN-WAIT-2";
    case tcp_state::time_wait:
      return "TIME-WAIT";
    case tcp_state::close:
      return "CLOSE";
    case tcp_state::close_wait:
      return "CLOSE-WAIT";
    case tcp_state::last_ack:
      return "LAST-ACK";
    case tcp_state::listen:
      return "LISTEN";
    case tcp_state::closing:
      return "CLOSING";
  }
  return "UNKNOWN";
}

int report_index(tcp_state s) noexcept {
  auto it = std::find(reported_states.begin(), reported_states.end(), s);
  return it == reported_states.end() ? -1 : static_cast<int>(it - reported_states.begin());
}

std::string ip_address::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family != AF_INET && family != AF_INET6) return "?";
  if (!::inet_ntop(family, bytes.data(), buf, sizeof buf)) return "?";
  return buf;
}

bool ip_address::is_unspecified() const noexcept {
  std::size_t n = family == AF_INET ? 4 : 16;
  return std::all_of(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n),
                     [](std::uint8_t b) { return b == 0; });
}

bool ip_address::is_v4_mapped() const noexcept {
  if (family != AF_INET6) return false;
  for (int i = 0; i < 10; ++i)
    if (bytes[static_cast<std::size_t>(i)] != 0) return false;
  return bytes[10] == 0xff && bytes[11] == 0xff;
}

std::optional<ip_address> ip_address::parse(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN] = {};
  std::memcpy(buf, text.data(), text.size());
  ip_address a;
  if (::inet_pton(AF_INET, buf, a.bytes.data()) == 1) {
    a.family = AF_INET;
    return a;
  }
  if (::inet_pton(AF_INET6, buf, a.bytes.data()) == 1) {
    a.family = AF_INET6;
    return a;
  }
  return std::nullopt;
}

ip_address ip_address::any(int family) noexcept {
  ip_address a;
  a.family = family;
  return a;
}

std::string endpoint_string(const ip_address& a, std::uint16_t port) {
  // Appends rather than operator+ chains: GCC 12 at -O3 reports a false -Wrestrict on those.
  std::string out;
  out.reserve(64);
  if (a.family == AF_INET6) out.push_back('[');
  out.append(a.to_string());
  if (a.family == AF_INET6) out.push_back(']');
  out.push_back(':');
  out.append(std::to_string(port));
  return out;
}

}  // namespace portico::tools
