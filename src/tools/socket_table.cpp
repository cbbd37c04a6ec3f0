#include "tools/socket_table.hpp"

#include "tools/inet_diag.hpp"
#include "tools/proc_net.hpp"

namespace portico::tools {

std::string_view source_name(table_source s) noexcept {
  return s == table_source::netlink ? "netlink" : "proc";
}

socket_table read_socket_table(bool force_proc) {
  socket_table t;
  if (!force_proc) {
    auto ec = inet_diag::dump_tcp_sockets(t.sockets);
    if (!ec) return t;
    t.fallback_reason = "netlink sock_diag failed: " + ec.message();
  }
  t.source = table_source::proc;
  t.sockets.clear();
  t.error = proc_net::read_tcp_sockets(t.sockets);
  if (t.error) t.sockets.clear();
  return t;
}

}  // namespace portico::tools
