#include "tools/processes.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <memory>
#include <string_view>

#include "tools/proc_net.hpp"

namespace portico::tools {

std::uint64_t socket_inode_of_link(std::string_view text) noexcept {
  constexpr std::string_view prefix = "socket:[";
  if (text.size() <= prefix.size() + 1 || text.substr(0, prefix.size()) != prefix ||
      text.back() != ']')
    return 0;
  auto digits = text.substr(prefix.size(), text.size() - prefix.size() - 1);
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  return ec == std::errc{} && p == digits.data() + digits.size() ? v : 0;
}

namespace {

struct dir_closer {
  void operator()(DIR* d) const noexcept { ::closedir(d); }
};

std::string program_of(int pid) {
  std::string comm;
  if (proc_net::read_file("/proc/" + std::to_string(pid) + "/comm", comm)) return "?";
  while (!comm.empty() && (comm.back() == '\n' || comm.back() == '\r'))
    comm.pop_back();
  return comm.empty() ? "?" : comm;
}

}  // namespace

owner_scan find_socket_owners(const std::set<std::uint64_t>& inodes) {
  owner_scan r;
  if (inodes.empty() || (inodes.size() == 1 && *inodes.begin() == 0)) return r;
  std::unique_ptr<DIR, dir_closer> proc(::opendir("/proc"));
  if (!proc) return r;
  while (dirent* e = ::readdir(proc.get())) {
    std::string_view name = e->d_name;
    int pid = 0;
    auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (ec != std::errc{} || p != name.data() + name.size() || pid <= 0) continue;
    std::string fd_dir = "/proc/" + std::string(name) + "/fd";
    std::unique_ptr<DIR, dir_closer> fds(::opendir(fd_dir.c_str()));
    if (!fds) {
      if (errno == EACCES || errno == EPERM) ++r.unreadable;
      continue;
    }
    int dfd = ::dirfd(fds.get());
    bool found = false;
    while (dirent* f = ::readdir(fds.get())) {
      if (f->d_name[0] == '.') continue;
      char link[64];
      ssize_t n = ::readlinkat(dfd, f->d_name, link, sizeof link);
      if (n <= 0 || static_cast<std::size_t>(n) >= sizeof link) continue;
      auto ino = socket_inode_of_link(std::string_view(link, static_cast<std::size_t>(n)));
      if (ino == 0 || !inodes.count(ino)) continue;
      auto& v = r.owners[ino];
      if (std::none_of(v.begin(), v.end(), [&](const process_ref& x) { return x.pid == pid; })) {
        v.push_back({pid, {}});
        found = true;
      }
    }
    if (found) {
      std::string prog = program_of(pid);
      for (auto& [ino, v] : r.owners)
        for (auto& x : v)
          if (x.pid == pid) x.program = prog;
    }
  }
  for (auto& [ino, v] : r.owners)
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.pid < b.pid; });
  return r;
}

}  // namespace portico::tools
