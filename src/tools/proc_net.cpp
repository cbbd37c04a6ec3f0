#include "tools/proc_net.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "core/unique_fd.hpp"

namespace portico::tools::proc_net {

namespace {

template <class T>
bool parse_hex(std::string_view s, T& v) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  return ec == std::errc{} && p == s.data() + s.size();
}

template <class T>
bool parse_dec(std::string_view s, T& v) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 10);
  return ec == std::errc{} && p == s.data() + s.size();
}

// "0100007F:1F90" (IPv4) or 32 hex digits ":" port (IPv6). The kernel prints each 32-bit word
// of the address as it sits in memory read as a host-order integer, so writing the parsed
// integer back to memory restores the network-order bytes on any endianness.
bool parse_endpoint(std::string_view s, int family, ip_address& addr, std::uint16_t& port) {
  auto colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view hex = s.substr(0, colon);
  std::size_t words = family == AF_INET ? 1 : 4;
  if (hex.size() != words * 8) return false;
  addr = ip_address::any(family);
  for (std::size_t w = 0; w < words; ++w) {
    std::uint32_t v = 0;
    if (!parse_hex(hex.substr(w * 8, 8), v)) return false;
    std::memcpy(addr.bytes.data() + w * 4, &v, 4);
  }
  return parse_hex(s.substr(colon + 1), port);
}

std::vector<std::string_view> split_ws(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
      ++i;
    std::size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t')
      ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

bool parse_line(std::string_view line, int family, tcp_socket& s) {
  // sl local rem st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
  auto f = split_ws(line);
  if (f.size() < 10 || f[0].empty() || f[0].back() != ':') return false;
  if (!parse_endpoint(f[1], family, s.local, s.local_port)) return false;
  if (!parse_endpoint(f[2], family, s.remote, s.remote_port)) return false;
  unsigned st = 0;
  if (!parse_hex(f[3], st)) return false;
  auto state = state_from_kernel(st);
  if (!state) return false;
  s.state = *state;
  auto qc = f[4].find(':');
  if (qc == std::string_view::npos) return false;
  if (!parse_hex(f[4].substr(0, qc), s.wqueue) || !parse_hex(f[4].substr(qc + 1), s.rqueue))
    return false;
  if (!parse_dec(f[7], s.uid) || !parse_dec(f[9], s.inode)) return false;
  if (s.state == tcp_state::listen) s.wqueue = 0;
  return true;
}

}  // namespace

parse_result parse_tcp_table(std::string_view text, int family) {
  parse_result r;
  bool header = true;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (header) {
      header = false;
      continue;
    }
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    tcp_socket s;
    if (parse_line(line, family, s))
      r.sockets.push_back(s);
    else
      ++r.bad_lines;
  }
  return r;
}

std::error_code read_file(const std::string& path, std::string& out) {
  out.clear();
  unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return {errno, std::system_category()};
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return {errno, std::system_category()};
    }
    if (n == 0) return {};
    out.append(buf, static_cast<std::size_t>(n));
  }
}

std::error_code read_tcp_sockets(std::vector<tcp_socket>& out) {
  out.clear();
  for (auto [path, family] : {std::pair{"/proc/net/tcp", AF_INET}, {"/proc/net/tcp6", AF_INET6}}) {
    std::string text;
    if (auto ec = read_file(path, text)) {
      if (family == AF_INET6 && ec == std::errc::no_such_file_or_directory) continue;
      return ec;
    }
    auto r = parse_tcp_table(text, family);
    out.insert(out.end(), r.sockets.begin(), r.sockets.end());
  }
  return {};
}

}  // namespace portico::tools::proc_net
