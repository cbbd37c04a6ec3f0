#include "tools/kernel_counters.hpp"

#include <charconv>
#include <vector>

#include "tools/proc_net.hpp"

namespace portico::tools {

namespace {

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
      ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t' && s[j] != '\r')
      ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

bool to_int(std::string_view s, std::int64_t& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && p == s.data() + s.size();
}

}  // namespace

counter_map parse_counter_pairs(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    if (!line.empty()) lines.push_back(line);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
  }
  counter_map out;
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
    auto names = words(lines[i]);
    auto values = words(lines[i + 1]);
    if (names.empty() || values.empty() || names[0] != values[0] || names[0].back() != ':')
      continue;
    ++i;  // this pair is consumed whatever happens below
    if (names.size() != values.size()) continue;
    std::string_view prefix = names[0].substr(0, names[0].size() - 1);
    for (std::size_t k = 1; k < names.size(); ++k) {
      std::int64_t v = 0;
      if (!to_int(values[k], v)) continue;
      std::string key(prefix);
      key += '.';
      key += names[k];
      out[key] = v;
    }
  }
  return out;
}

counter_map read_kernel_counters() {
  counter_map out;
  for (const char* path : {"/proc/net/netstat", "/proc/net/snmp"}) {
    std::string text;
    if (proc_net::read_file(path, text)) continue;
    for (auto& [k, v] : parse_counter_pairs(text))
      out[k] = v;
  }
  return out;
}

int parse_sysctl_int(std::string_view text) {
  auto w = words(text.substr(0, text.find('\n')));
  std::int64_t v = 0;
  if (w.size() != 1 || !to_int(w[0], v) || v < -1 || v > 0x7fffffff) return -1;
  return static_cast<int>(v);
}

tcp_sysctls read_tcp_sysctls() {
  tcp_sysctls s;
  auto read_int = [](const char* path) {
    std::string text;
    if (proc_net::read_file(path, text)) return -1;
    return parse_sysctl_int(text);
  };
  s.syncookies = read_int("/proc/sys/net/ipv4/tcp_syncookies");
  s.somaxconn = read_int("/proc/sys/net/core/somaxconn");
  s.max_syn_backlog = read_int("/proc/sys/net/ipv4/tcp_max_syn_backlog");
  s.fin_timeout = read_int("/proc/sys/net/ipv4/tcp_fin_timeout");
  s.tw_reuse = read_int("/proc/sys/net/ipv4/tcp_tw_reuse");
  std::string range;
  if (!proc_net::read_file("/proc/sys/net/ipv4/ip_local_port_range", range)) {
    std::string_view text = range;  // words() returns views: keep them into `range`
    auto w = words(text.substr(0, text.find('\n')));
    std::int64_t lo = 0, hi = 0;
    if (w.size() == 2 && to_int(w[0], lo) && to_int(w[1], hi) && lo > 0 && hi <= 65535) {
      s.port_range_low = static_cast<int>(lo);
      s.port_range_high = static_cast<int>(hi);
    }
  }
  return s;
}

}  // namespace portico::tools
