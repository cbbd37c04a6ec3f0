#include "server/static_files.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <unordered_map>
#include <system_error>
#include <vector>

#include "core/unique_fd.hpp"
#include "io/event_loop.hpp"

namespace portico::engine {

namespace {

struct mime_entry {
  std::string_view ext;
  std::string_view type;
};
constexpr mime_entry mime_table[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"xml", "application/xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/x-icon"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"wasm", "application/wasm"},
    {"pdf", "application/pdf"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tar", "application/x-tar"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"mp3", "audio/mpeg"},
    {"ogg", "audio/ogg"},
    {"wav", "audio/wav"},
};

int open_beneath(int root, const char* rel, int flags) {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, root, rel, &how, sizeof how));
}

void send_status(portico::response& res, int status, std::string_view text) {
  res.status(status).header("Content-Type", "text/plain; charset=utf-8");
  res.send(std::string(text));
}

struct static_root {
  unique_fd dir;
  static_options opts;
};

// A per-worker cache of small files' contents, so that a hot small file costs no system call.
// An entry is trusted for `revalidate_ms`; after that the file is opened and read again through
// the same checks as a miss, so a changed or deleted file is noticed within a second (as with
// nginx's open_file_cache_valid). Bounded in entries and bytes; one document root at a time.
class file_cache {
 public:
  static constexpr std::size_t max_entries = 1024;
  static constexpr std::size_t max_bytes = 8u << 20;
  static constexpr std::uint64_t max_file = 32 * 1024;  // larger files go by sendfile
  static constexpr std::uint64_t revalidate_ms = 1000;

  struct entry {
    std::string content;
    std::string_view type;
    std::uint64_t checked_ms = 0;
  };

  entry* find(const static_root* root, const std::string& key, std::uint64_t now) {
    if (root != root_) return nullptr;
    auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    if (now - it->second.checked_ms > revalidate_ms) return nullptr;
    return &it->second;
  }

  void store(const static_root* root, const std::string& key, entry e) {
    if (root != root_) {
      map_.clear();
      bytes_ = 0;
      root_ = root;
    }
    auto it = map_.find(key);
    if (it != map_.end()) {
      bytes_ -= it->second.content.size();
      map_.erase(it);
    }
    while (!map_.empty() && (map_.size() >= max_entries || bytes_ + e.content.size() > max_bytes)) {
      bytes_ -= map_.begin()->second.content.size();
      map_.erase(map_.begin());
    }
    bytes_ += e.content.size();
    map_.emplace(key, std::move(e));
  }

 private:
  const static_root* root_ = nullptr;
  std::unordered_map<std::string, entry> map_;
  std::size_t bytes_ = 0;
};

thread_local file_cache tl_cache;

void serve(const static_root& root, const portico::request& req, portico::response& res) {
  std::string decoded;
  if (!portico::percent_decode(req.param("*"), decoded)) {
    send_status(res, 400, "400 Bad Request: malformed percent-encoding in path\n");
    return;
  }
  // RFC 3986 §5.2.4: resolve dot segments; ".." never climbs above the root.
  std::vector<std::string_view> segs;
  std::string_view rest = decoded;
  while (!rest.empty()) {
    auto slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!segs.empty()) segs.pop_back();
      continue;
    }
    if (seg.front() == '.' && !root.opts.show_hidden) {
      send_status(res, 404, "404 Not Found\n");
      return;
    }
    segs.push_back(seg);
  }
  std::string rel;
  for (auto s : segs) {
    if (!rel.empty()) rel += '/';
    rel += s;
  }
  if (rel.empty()) rel.push_back('.');
  std::string key = rel;
  if (!decoded.empty() && decoded.back() == '/') key.push_back('/');
  const std::uint64_t now = io::monotonic_ms();
  if (auto* e = tl_cache.find(&root, key, now)) {
    res.header("Content-Type", e->type);
    res.send(e->content);
    return;
  }
  int fd = open_beneath(root.dir.get(), rel.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    if (errno == EACCES || errno == EPERM) {
      send_status(res, 403, "403 Forbidden\n");
    } else if (errno == EMFILE || errno == ENFILE || errno == ENOMEM) {
      // Out of descriptors or memory: a temporary condition, not a missing file.
      res.header("Retry-After", "1");
      send_status(res, 503, "503 Service Unavailable: out of file descriptors\n");
    } else {
      send_status(res, 404, "404 Not Found\n");
    }
    return;
  }
  unique_fd file(fd);
  struct stat st {};
  if (::fstat(file.get(), &st) != 0) {
    send_status(res, 404, "404 Not Found\n");
    return;
  }
  std::string name = rel;
  if (S_ISDIR(st.st_mode)) {
    std::string_view path = req.path();
    if (path.empty() || path.back() != '/') {
      // A directory is addressed with a trailing slash so that relative links resolve.
      std::string location(path);
      location += '/';
      if (!req.query().empty()) {
        location += '?';
        location += req.query();
      }
      res.status(301).header("Location", location);
      send_status(res, 301, "301 Moved Permanently\n");
      return;
    }
    if (rel == ".") {
      name = root.opts.index;
    } else {
      name.push_back('/');
      name.append(root.opts.index);
    }
    fd = open_beneath(root.dir.get(), name.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
      send_status(res, 404, "404 Not Found\n");
      return;
    }
    file.reset(fd);
    if (::fstat(file.get(), &st) != 0) {
      send_status(res, 404, "404 Not Found\n");
      return;
    }
  }
  if (!S_ISREG(st.st_mode)) {
    send_status(res, 404, "404 Not Found\n");
    return;
  }
  res.header("Content-Type", content_type_for(name));
  std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
  if (size <= file_cache::max_file) {
    // Small files are cached and travel in the same write as the response head.
    std::string body(size, '\0');
    std::uint64_t got = 0;
    while (got < size) {
      ssize_t n = ::pread(file.get(), body.data() + got, size - got, static_cast<off_t>(got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<std::uint64_t>(n);
    }
    body.resize(got);
    if (got == size) {
      file_cache::entry e;
      e.content = body;
      e.type = content_type_for(name);
      e.checked_ms = now;
      tl_cache.store(&root, key, std::move(e));
    }
    res.send(std::move(body));
    return;
  }
  res.send_file(file.release(), 0, size);
}

}  // namespace

std::string_view content_type_for(std::string_view name) noexcept {
  auto dot = name.rfind('.');
  auto slash = name.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash))
    return "application/octet-stream";
  std::string_view ext = name.substr(dot + 1);
  for (const auto& m : mime_table) {
    if (portico::iequals(m.ext, ext)) return m.type;
  }
  return "application/octet-stream";
}

portico::handler make_static_handler(std::string root, static_options opts) {
  auto r = std::make_shared<static_root>();
  r->dir.reset(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!r->dir) throw std::system_error(errno, std::generic_category(), "document root " + root);
  r->opts = std::move(opts);
  return [r](const portico::request& req, portico::response& res) { serve(*r, req, res); };
}

}  // namespace portico::engine
