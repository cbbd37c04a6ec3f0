// Fuzz target for the operator tools' parsers of kernel output (src/tools): the netlink
// sock_diag dump parser, /proc/net/tcp{,6} and /proc/net/{netstat,snmp}. The kernel is
// trusted in practice, but a parser must not crash or read out of bounds on any input.
// The first byte picks the parser; for netlink the rest is also fed split at a point chosen by
// the second byte, and the parse must reach the same result as fed whole.
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "tools/inet_diag.hpp"
#include "tools/kernel_counters.hpp"
#include "tools/proc_net.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace portico::tools;
  using inet_diag::dump_parser;
  if (size < 2) return 0;
  const std::uint8_t which = data[0] % 4;
  const std::size_t split = data[1];
  data += 2;
  size -= 2;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  switch (which) {
    case 0: {
      std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
      dump_parser whole;
      auto s1 = whole.feed(bytes);
      check(s1 == whole.state());
      if (s1 == dump_parser::status::error) check(static_cast<bool>(whole.error()));
      // Fed as two datagrams cut at a message boundary or not: never crashes; when the cut
      // is past the whole input it must equal the single feed.
      dump_parser parts;
      std::size_t cut = split < size ? split : size;
      parts.feed(bytes.first(cut));
      parts.feed(bytes.subspan(cut));
      if (cut == size) check(parts.state() == s1 && parts.sockets().size() == whole.sockets().size());
      break;
    }
    case 1:
    case 2: {
      auto r = proc_net::parse_tcp_table(text, which == 1 ? AF_INET : AF_INET6);
      // Every line yields at most one socket.
      std::size_t lines = 0;
      for (char c : text) lines += c == '\n';
      check(r.sockets.size() + r.bad_lines <= lines + 1);
      break;
    }
    default: {
      auto m = parse_counter_pairs(text);
      for (const auto& [k, v] : m) check(k.find('.') != std::string::npos);
      (void)parse_sysctl_int(text);
      break;
    }
  }
  return 0;
}
