#include "tools/inet_diag.hpp"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>

#include "core/unique_fd.hpp"

namespace portico::tools::inet_diag {

namespace {

constexpr std::size_t align4(std::size_t n) {
  return (n + 3) & ~std::size_t{3};
}
constexpr std::size_t header_len = align4(sizeof(nlmsghdr));

template <class T>
T load(std::span<const std::byte> data, std::size_t off) {
  T v;
  std::memcpy(&v, data.data() + off, sizeof v);
  return v;
}

// Every TCP state bit (1 << TCP_xxx), TCP_NEW_SYN_RECV (12) included: that is where the
// kernel keeps half-open connections of a listener.
constexpr std::uint32_t all_states = 0xffffffffu;

tcp_socket from_msg(const inet_diag_msg& m, tcp_state st) {
  tcp_socket s;
  s.state = st;
  s.local.family = s.remote.family = m.idiag_family;
  std::size_t n = m.idiag_family == AF_INET ? 4 : 16;
  std::memcpy(s.local.bytes.data(), m.id.idiag_src, n);
  std::memcpy(s.remote.bytes.data(), m.id.idiag_dst, n);
  s.local_port = ntohs(m.id.idiag_sport);
  s.remote_port = ntohs(m.id.idiag_dport);
  s.rqueue = m.idiag_rqueue;
  s.wqueue = m.idiag_wqueue;
  if (st == tcp_state::listen) {
    // For a listener the kernel reports the accept queue length in idiag_rqueue and the
    // backlog (sk_max_ack_backlog) in idiag_wqueue.
    s.backlog = m.idiag_wqueue;
    s.wqueue = 0;
  }
  s.uid = m.idiag_uid;
  s.inode = m.idiag_inode;
  return s;
}

}  // namespace

std::vector<std::byte> build_dump_request(int family, std::uint32_t seq) {
  nlmsghdr h{};
  inet_diag_req_v2 r{};
  h.nlmsg_len = static_cast<std::uint32_t>(header_len + sizeof r);
  h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  h.nlmsg_seq = seq;
  r.sdiag_family = static_cast<std::uint8_t>(family);
  r.sdiag_protocol = IPPROTO_TCP;
  r.idiag_states = all_states;
  std::vector<std::byte> out(h.nlmsg_len);
  std::memcpy(out.data(), &h, sizeof h);
  std::memcpy(out.data() + header_len, &r, sizeof r);
  return out;
}

dump_parser::status dump_parser::feed(std::span<const std::byte> data) {
  std::size_t off = 0;
  while (status_ == status::more && off < data.size()) {
    if (data.size() - off < sizeof(nlmsghdr)) {
      error_ = std::make_error_code(std::errc::bad_message);
      return status_ = status::error;
    }
    auto h = load<nlmsghdr>(data, off);
    if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > data.size() - off) {
      error_ = std::make_error_code(std::errc::bad_message);
      return status_ = status::error;
    }
    auto payload =
        data.subspan(off + header_len, h.nlmsg_len >= header_len ? h.nlmsg_len - header_len : 0);
    if (h.nlmsg_flags & NLM_F_DUMP_INTR) interrupted_ = true;
    if (h.nlmsg_type == NLMSG_DONE) {
      status_ = status::done;
    } else if (h.nlmsg_type == NLMSG_ERROR) {
      if (payload.size() < sizeof(int)) {
        error_ = std::make_error_code(std::errc::bad_message);
        return status_ = status::error;
      }
      int err = load<int>(payload, 0);
      if (err != 0) {  // 0 is an acknowledgement
        error_ = std::error_code(err < 0 ? -err : err, std::system_category());
        return status_ = status::error;
      }
    } else if (h.nlmsg_type == SOCK_DIAG_BY_FAMILY) {
      if (payload.size() < sizeof(inet_diag_msg)) {
        error_ = std::make_error_code(std::errc::bad_message);
        return status_ = status::error;
      }
      auto m = load<inet_diag_msg>(payload, 0);
      auto st = state_from_kernel(m.idiag_state);
      if (st && (m.idiag_family == AF_INET || m.idiag_family == AF_INET6))
        sockets_.push_back(from_msg(m, *st));
    }
    off += align4(h.nlmsg_len);
  }
  return status_;
}

std::error_code dump_raw(int family, std::vector<std::byte>& out) {
  unique_fd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!fd) return {errno, std::system_category()};
  timeval tv{5, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  static std::uint32_t seq = 0x70720000;
  auto req = build_dump_request(family, ++seq);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd.get(), req.data(), req.size(), 0, reinterpret_cast<const sockaddr*>(&kernel),
               sizeof kernel) < 0)
    return {errno, std::system_category()};

  // The kernel fills each datagram up to ~32 KiB; a 64 KiB buffer never truncates one.
  std::vector<std::byte> buf(64 * 1024);
  dump_parser probe;  // only to find NLMSG_DONE / errors; the caller parses again
  for (int i = 0; i < 1'000'000; ++i) {
    iovec iov{buf.data(), buf.size()};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    ssize_t n = ::recvmsg(fd.get(), &mh, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return {errno, std::system_category()};
    }
    if (mh.msg_flags & MSG_TRUNC) return std::make_error_code(std::errc::message_size);
    std::span<const std::byte> got(buf.data(), static_cast<std::size_t>(n));
    out.insert(out.end(), got.begin(), got.end());
    auto st = probe.feed(got);
    if (st == dump_parser::status::error) return probe.error();
    if (st == dump_parser::status::done) return {};
    if (n == 0) return std::make_error_code(std::errc::connection_aborted);
  }
  return std::make_error_code(std::errc::result_out_of_range);
}

std::error_code dump_tcp_sockets(std::vector<tcp_socket>& out) {
  out.clear();
  for (int family : {AF_INET, AF_INET6}) {
    std::vector<std::byte> raw;
    if (auto ec = dump_raw(family, raw)) {
      // A kernel without IPv6 answers the AF_INET6 dump with ENOENT: no IPv6 sockets.
      if (family == AF_INET6 && ec == std::errc::no_such_file_or_directory) continue;
      return ec;
    }
    dump_parser p;
    if (p.feed(raw) != dump_parser::status::done)
      return p.error() ? p.error() : std::make_error_code(std::errc::bad_message);
    auto s = p.take_sockets();
    out.insert(out.end(), s.begin(), s.end());
  }
  return {};
}

}  // namespace portico::tools::inet_diag
