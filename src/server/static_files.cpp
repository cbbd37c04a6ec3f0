#include "server/static_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "core/unique_fd.hpp"
#include "http/conditional.hpp"
#include "http/date.hpp"
#include "http/exchange.hpp"
#include "http/range.hpp"
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

std::string_view builtin_type(std::string_view ext) noexcept {
  for (const auto& m : mime_table) {
    if (portico::iequals(m.ext, ext)) return m.type;
  }
  return {};
}

std::string_view extension_of(std::string_view name) noexcept {
  auto dot = name.rfind('.');
  auto slash = name.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) return {};
  return name.substr(dot + 1);
}

// ---- the document root -------------------------------------------------------------------------

struct static_root {
  unique_fd dir;
  static_options opts;
  // Extension → type from /etc/mime.types (lowercase extensions), for what the table lacks.
  std::unordered_map<std::string, std::string> extra_types;

  std::string_view type_for(std::string_view name) const noexcept {
    std::string_view ext = extension_of(name);
    if (ext.empty()) return "application/octet-stream";
    if (auto t = builtin_type(ext); !t.empty()) return t;
    std::string lower(ext);
    for (auto& c : lower)
      c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    auto it = extra_types.find(lower);
    if (it != extra_types.end()) return it->second;
    return "application/octet-stream";
  }

  int open_at(const std::string& rel) const noexcept {
    if (opts.follow_symlinks) {
      // ".." was resolved away before, so only a symbolic link can lead outside: allowed.
      return ::openat(dir.get(), rel.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    }
    if (!openat2_missing.load(std::memory_order_relaxed)) {
      open_how how{};
      how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
      how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
      int fd = static_cast<int>(::syscall(SYS_openat2, dir.get(), rel.c_str(), &how, sizeof how));
      if (fd >= 0 || errno != ENOSYS) return fd;
      // Kernels before 5.6, seccomp filters that predate openat2 and valgrind answer ENOSYS.
      openat2_missing.store(true, std::memory_order_relaxed);
    }
    return open_beneath_walk(rel);
  }

  // Without openat2: one component at a time with O_NOFOLLOW, so no symbolic link is followed
  // at all (stricter than RESOLVE_BENEATH, which allows links that stay below the root).
  int open_beneath_walk(const std::string& rel) const noexcept {
    constexpr int leaf_flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW;
    int at = dir.get();
    unique_fd held;
    std::size_t start = 0;
    for (;;) {
      std::size_t slash = rel.find('/', start);
      if (slash == std::string::npos) {
        // openat() of a name with no '/' cannot escape `at` except through ".." (resolved
        // away before) or a link (refused by O_NOFOLLOW).
        return ::openat(at, rel.c_str() + start, leaf_flags);
      }
      std::string part = rel.substr(start, slash - start);
      start = slash + 1;
      if (part.empty() || part == ".") continue;
      if (part == "..") {
        errno = ENOENT;
        return -1;
      }
      int next = ::openat(at, part.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
      if (next < 0) return -1;
      held = unique_fd(next);
      at = next;
    }
  }

  static inline std::atomic<bool> openat2_missing{false};
};

void load_mime_types(static_root& r) {
  std::ifstream in(r.opts.mime_types_file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    std::string type, ext;
    if (!(words >> type)) continue;
    // The type becomes a Content-Type value as it is (no check per response): visible ASCII
    // only (RFC 9110 §5.5).
    if (std::any_of(type.begin(), type.end(), [](char c) { return c < 0x21 || c > 0x7e; }))
      continue;
    std::string full = type;
    if (type.rfind("text/", 0) == 0) full += "; charset=utf-8";
    while (words >> ext) {
      for (auto& c : ext)
        c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
      r.extra_types.emplace(ext, full);
    }
  }
}

// ---- the per-worker open-file cache ------------------------------------------------------------

// One regular file, open, with its validators. Shared by the cache and by the responses that
// are sending it (a response keeps the descriptor open even if the cache drops the entry).
struct file_entry {
  unique_fd fd;
  dev_t dev = 0;
  ino_t ino = 0;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::time_t mtime_s = 0;
  std::string etag;
  std::string last_modified;
  std::string content;  // the whole file when small (no system call to send it)
  bool has_content = false;
  std::string_view type;  // Content-Type of the uncompressed name
  std::string name;       // the name that was opened (relative to the root)
  // Precompressed siblings (name.br, name.gz), looked up once per validation.
  std::shared_ptr<file_entry> br, gz;
  std::uint64_t checked_ms = 0;
};

constexpr std::uint64_t small_file = 32 * 1024;
constexpr std::uint64_t revalidate_ms = 1000;

// Bounded per-worker cache: entries keep their descriptor open, so a hot file costs no open,
// fstat or close; an entry is trusted for revalidate_ms, then re-opened and kept only if it is
// still the same file (device, inode, size, modification time). A changed, replaced or deleted
// file is therefore noticed within a second (as with nginx's open_file_cache_valid).
class file_cache {
 public:
  static constexpr std::size_t max_entries = 256;
  static constexpr std::size_t max_bytes = 8u << 20;

  std::shared_ptr<file_entry> find(const static_root* root, const std::string& key,
                                   std::uint64_t now) {
    if (root != root_) return nullptr;
    auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    if (now - it->second->checked_ms > revalidate_ms) return nullptr;
    return it->second;
  }

  /// The previous entry for `key` (possibly stale), to compare with a fresh open.
  std::shared_ptr<file_entry> stale(const static_root* root, const std::string& key) {
    if (root != root_) return nullptr;
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : it->second;
  }

  void store(const static_root* root, const std::string& key, std::shared_ptr<file_entry> e) {
    if (root != root_) {
      map_.clear();
      bytes_ = 0;
      root_ = root;
    }
    erase(key);
    std::size_t sz = cost(*e);
    while (!map_.empty() && (map_.size() >= max_entries || bytes_ + sz > max_bytes)) {
      erase(map_.begin()->first);
    }
    bytes_ += sz;
    map_.emplace(key, std::move(e));
  }

  void erase(const std::string& key) {
    auto it = map_.find(key);
    if (it == map_.end()) return;
    bytes_ -= cost(*it->second);
    map_.erase(it);
  }

 private:
  static std::size_t cost(const file_entry& e) {
    std::size_t c = e.content.size();
    if (e.br) c += e.br->content.size();
    if (e.gz) c += e.gz->content.size();
    return c;
  }
  const static_root* root_ = nullptr;
  std::unordered_map<std::string, std::shared_ptr<file_entry>> map_;
  std::size_t bytes_ = 0;
};

thread_local file_cache tl_cache;

bool same_file(const file_entry& e, const struct stat& st) {
  return e.dev == st.st_dev && e.ino == st.st_ino &&
         e.size == static_cast<std::uint64_t>(st.st_size) &&
         e.mtime_ns ==
             static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

// Builds an entry for an open regular file.
std::shared_ptr<file_entry> make_entry(unique_fd fd, const struct stat& st, std::string name,
                                       std::string_view type, std::string_view etag_suffix) {
  auto e = std::make_shared<file_entry>();
  e->dev = st.st_dev;
  e->ino = st.st_ino;
  e->size = static_cast<std::uint64_t>(st.st_size);
  e->mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  e->mtime_s = st.st_mtim.tv_sec;
  http::etag_value tag = http::make_etag(e->size, e->mtime_ns, static_cast<std::uint64_t>(e->ino));
  if (!etag_suffix.empty()) {
    if (auto v = http::with_variant_suffix(tag.view(), etag_suffix)) tag = *v;
  }
  e->etag = tag.str();
  char date[29];
  http::format_imf_fixdate(e->mtime_s, date);
  e->last_modified.assign(date, sizeof date);
  e->type = type;
  e->name = std::move(name);
  if (e->size <= small_file) {
    e->content.resize(e->size);
    std::uint64_t got = 0;
    while (got < e->size) {
      ssize_t n =
          ::pread(fd.get(), e->content.data() + got, e->size - got, static_cast<off_t>(got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<std::uint64_t>(n);
    }
    if (got == e->size) {
      e->has_content = true;
    } else {
      e->content.clear();
    }
  }
  e->fd = std::move(fd);
  return e;
}

// Opens `name.suffix` if it is a regular file (a precompressed sibling).
std::shared_ptr<file_entry> open_sibling(const static_root& root, const std::string& name,
                                         std::string_view suffix, std::string_view type) {
  std::string sib = name;
  sib += '.';
  sib += suffix;
  int fd = root.open_at(sib);
  if (fd < 0) return nullptr;
  unique_fd f(fd);
  struct stat st {};
  if (::fstat(f.get(), &st) != 0 || !S_ISREG(st.st_mode)) return nullptr;
  return make_entry(std::move(f), st, std::move(sib), type, suffix);
}

// ---- responses
// -----------------------------------------------------------------------------------

void send_status(portico::response& res, int status, std::string_view text) {
  res.status(status).header("Content-Type", "text/plain; charset=utf-8");
  res.send(std::string(text));
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string href_escape(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    bool plain = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
                 c == '-' || c == '.' || c == '_' || c == '~';
    if (plain) {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  return out;
}

void send_listing(const static_root& root, int dirfd, std::string_view url_path,
                  portico::response& res) {
  int dup = ::dup(dirfd);
  DIR* d = dup >= 0 ? ::fdopendir(dup) : nullptr;
  if (!d) {
    if (dup >= 0) ::close(dup);
    send_status(res, 403, "403 Forbidden\n");
    return;
  }
  std::vector<std::pair<std::string, bool>> names;
  constexpr std::size_t max_listed = 10000;
  while (dirent* ent = ::readdir(d)) {
    std::string_view n = ent->d_name;
    if (n == "." || n == "..") continue;
    if (n.front() == '.' && !root.opts.show_hidden) continue;
    if (names.size() >= max_listed) break;
    names.emplace_back(std::string(n), ent->d_type == DT_DIR);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  std::string title = html_escape(url_path);
  std::string body = "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Index of " +
                     title + "</title></head>\n<body><h1>Index of " + title + "</h1>\n<ul>\n";
  if (url_path != "/") body += "<li><a href=\"../\">../</a></li>\n";
  for (const auto& [n, is_dir] : names) {
    std::string shown = html_escape(n) + (is_dir ? "/" : "");
    body += "<li><a href=\"" + href_escape(n) + (is_dir ? "/" : "") + "\">" + shown + "</a></li>\n";
  }
  body += "</ul></body></html>\n";
  res.header("Content-Type", "text/html; charset=utf-8");
  res.send(std::move(body));
}

// RFC 9110 §12.5.3: is `coding` acceptable (q > 0) in this Accept-Encoding value?
bool accepts(std::string_view header, std::string_view coding) {
  bool star = false;
  bool star_ok = false;
  while (!header.empty()) {
    auto comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    auto semi = item.find(';');
    std::string_view name = item.substr(0, semi);
    while (!name.empty() && (name.front() == ' ' || name.front() == '\t'))
      name.remove_prefix(1);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t'))
      name.remove_suffix(1);
    bool ok = true;
    if (semi != std::string_view::npos) {
      std::string_view params = item.substr(semi + 1);
      auto q = params.find("q=");
      if (q == std::string_view::npos) q = params.find("Q=");
      if (q != std::string_view::npos) {
        std::string_view v = params.substr(q + 2);
        // q=0, q=0.0, q=0.00, q=0.000 mean "not acceptable".
        std::size_t i = 0;
        bool zero = i < v.size() && v[i] == '0';
        if (zero) {
          ++i;
          if (i < v.size() && v[i] == '.') {
            ++i;
            while (i < v.size() && v[i] == '0')
              ++i;
          }
          if (i < v.size() && v[i] >= '1' && v[i] <= '9') zero = false;
        }
        ok = !zero;
      }
    }
    if (portico::iequals(name, coding)) return ok;
    if (name == "*") {
      star = true;
      star_ok = ok;
    }
  }
  return star && star_ok;
}

// A fresh boundary per response from the kernel's CSPRNG (see make_multipart_boundary for why
// the file is not scanned for it). getrandom(2) on 12 bytes does not block once the pool is
// initialised, which it is long before a server accepts connections.
http::multipart_boundary make_boundary() {
  std::uint64_t hi = 0;
  std::uint32_t lo = 0;
  unsigned char buf[12];
  if (::getrandom(buf, sizeof buf, 0) == static_cast<ssize_t>(sizeof buf)) {
    std::memcpy(&hi, buf, 8);
    std::memcpy(&lo, buf + 8, 4);
  } else {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    hi = rng();
    lo = static_cast<std::uint32_t>(rng());
  }
  return http::make_multipart_boundary(hi, lo);
}

void serve_entry(const portico::request& req, portico::response& res, std::shared_ptr<file_entry> e,
                 bool vary, std::string_view encoding) {
  const bool get = req.method() == "GET" || req.method() == "HEAD";
  std::time_t now = std::time(nullptr);
  // RFC 9110 §13.2.2: preconditions, in their order.
  http::request_conditions cond;
  std::vector<std::string_view> if_match, if_none_match;
  std::string_view range_field, if_range;
  // One pass over the request's fields for all of them (a list field may be split over
  // several lines, RFC 9110 §5.3; the other fields: the first line).
  for (const auto& h : req.headers()) {
    if (h.name.size() < 5 || (h.name[0] | 0x20) != (h.name.size() == 5 ? 'r' : 'i')) continue;
    if (portico::iequals(h.name, "if-match")) {
      if_match.push_back(h.value);
    } else if (portico::iequals(h.name, "if-none-match")) {
      if_none_match.push_back(h.value);
    } else if (portico::iequals(h.name, "if-modified-since")) {
      if (cond.if_modified_since.empty()) cond.if_modified_since = h.value;
    } else if (portico::iequals(h.name, "if-unmodified-since")) {
      if (cond.if_unmodified_since.empty()) cond.if_unmodified_since = h.value;
    } else if (portico::iequals(h.name, "range")) {
      if (range_field.empty()) range_field = h.value;
    } else if (portico::iequals(h.name, "if-range")) {
      if (if_range.empty()) if_range = h.value;
    }
  }
  cond.if_match = if_match;
  cond.if_none_match = if_none_match;
  http::resource_state state;
  state.exists = true;
  state.etag = e->etag;
  state.last_modified = e->mtime_s;
  auto pre = http::evaluate_preconditions(cond, state, get, now);
  // The fields below are the server's own (names constant, values generated here or checked
  // when the MIME table was loaded): they go in without response::header()'s validation.
  auto& x = detail::access(res);
  auto common = [&](portico::response&) {
    if (vary) x.fields.add_static("Vary", "vary", "Accept-Encoding");
    x.fields.add_static("ETag", "etag", e->etag);
    x.fields.add_static("Last-Modified", "last-modified", e->last_modified);
  };
  if (pre == http::precondition_result::not_modified) {
    common(res);
    res.status(304).send(std::string());
    return;
  }
  if (pre == http::precondition_result::precondition_failed) {
    common(res);
    send_status(res, 412, "412 Precondition Failed\n");
    return;
  }
  if (!encoding.empty()) x.fields.add_static("Content-Encoding", "content-encoding", encoding);
  x.fields.add_static("Accept-Ranges", "accept-ranges", "bytes");
  common(res);

  // RFC 9110 §14.2: Range applies to GET only; If-Range decides whether it applies at all.
  std::string_view range = req.method() == "GET" ? range_field : std::string_view{};
  if (!range.empty()) {
    if (!if_range.empty() && !http::if_range_allows(if_range, e->etag, e->mtime_s, now)) {
      range = {};
    }
  }
  if (!range.empty()) {
    http::range_result rr = http::parse_range(range, e->size, http::range_limits{});
    if (rr.kind == http::range_kind::unsatisfiable) {
      // RFC 9110 §15.5.17.
      res.header("Content-Range", http::format_unsatisfied_range(e->size));
      send_status(res, 416, "416 Range Not Satisfiable\n");
      return;
    }
    if (rr.kind == http::range_kind::ranges && rr.count == 1) {
      const auto& r = rr.ranges()[0];
      std::uint64_t len = r.last - r.first + 1;
      res.status(206).header("Content-Type", e->type);
      res.header("Content-Range", http::format_content_range(r.first, r.last, e->size));
      if (e->has_content) {
        res.send(
            e->content.substr(static_cast<std::size_t>(r.first), static_cast<std::size_t>(len)));
      } else {
        x.owns_file = false;
        x.file_keepalive = e;
        res.send_file(e->fd.get(), r.first, len);
      }
      return;
    }
    if (rr.kind == http::range_kind::ranges) {
      // RFC 9110 §14.6: multipart/byteranges.
      const http::multipart_boundary boundary = make_boundary();
      auto plan = http::plan_multipart_byteranges(rr.ranges(), e->size, e->type, boundary.view());
      if (!plan) {
        send_status(res, 500, "500 Internal Server Error\n");
        return;
      }
      res.status(206).header("Content-Type", plan->content_type);
      x.parts.clear();
      x.parts.reserve(plan->pieces.size());
      for (const auto& p : plan->pieces) {
        detail::body_part part;
        if (p.what == http::multipart_piece::kind::text) {
          part.text = plan->text_of(p);
        } else if (e->has_content) {
          part.text = e->content.substr(static_cast<std::size_t>(p.offset),
                                        static_cast<std::size_t>(p.length));
        } else {
          part.file_offset = p.offset;
          part.file_length = p.length;
        }
        x.parts.push_back(std::move(part));
      }
      x.file_fd = e->fd.get();
      x.owns_file = false;
      x.file_keepalive = e;
      x.kind = detail::body_kind::parts;
      x.started = x.ended = true;
      if (auto* o = x.owner()) o->exchange_updated(x);
      return;
    }
    // invalid, ignored or "full": the whole representation (200).
  }
  x.fields.add_static("Content-Type", "content-type", e->type);
  if (e->has_content) {
    res.send(e->content);
    return;
  }
  // The descriptor stays owned by the entry; the response keeps the entry alive.
  x.owns_file = false;
  x.file_keepalive = e;
  res.send_file(e->fd.get(), 0, e->size);
}

// Per-thread scratch of serve(), kept for its capacity (no allocation per request once warm).
// A response can start a nested serve() on the same thread (an HTTP/2 push dispatched while
// the response's HEADERS are made): the nested call uses scratch of its own.
struct serve_scratch {
  std::string decoded, rel, key;
  std::vector<std::string_view> segs;
  bool busy = false;
};
thread_local serve_scratch tl_scratch;

void serve(const static_root& root, const portico::request& req, portico::response& res) {
  serve_scratch nested;
  serve_scratch& sc = tl_scratch.busy ? nested : tl_scratch;
  struct busy_guard {
    serve_scratch& s;
    explicit busy_guard(serve_scratch& x) : s(x) { s.busy = true; }
    ~busy_guard() { s.busy = false; }
    busy_guard(const busy_guard&) = delete;
    busy_guard& operator=(const busy_guard&) = delete;
  } guard(sc);
  std::string& decoded = sc.decoded;
  if (!portico::percent_decode(req.param("*"), decoded)) {
    send_status(res, 400, "400 Bad Request: malformed percent-encoding in path\n");
    return;
  }
  // RFC 3986 §5.2.4: resolve dot segments; ".." never climbs above the root.
  std::vector<std::string_view>& segs = sc.segs;
  segs.clear();
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
  std::string& rel = sc.rel;
  rel.clear();
  for (auto s : segs) {
    if (!rel.empty()) rel += '/';
    rel += s;
  }
  if (rel.empty()) rel.push_back('.');
  const bool slash_form = req.path().empty() || req.path().back() == '/';
  std::string& key = sc.key;
  key = rel;
  if (slash_form) key.push_back('/');
  const std::uint64_t now = io::monotonic_ms();

  std::shared_ptr<file_entry> e = tl_cache.find(&root, key, now);
  if (!e) {
    int fd = root.open_at(rel);
    if (fd < 0) {
      tl_cache.erase(key);
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
      if (!slash_form) {
        // A directory is addressed with a trailing slash so that relative links resolve.
        std::string location(req.path());
        location += '/';
        if (!req.query().empty()) {
          location += '?';
          location += req.query();
        }
        res.header("Location", location);
        send_status(res, 301, "301 Moved Permanently\n");
        return;
      }
      if (rel == ".") {
        name = root.opts.index;
      } else {
        name.push_back('/');
        name.append(root.opts.index);
      }
      int ifd = root.open_at(name);
      if (ifd < 0) {
        if (root.opts.list_directories) {
          send_listing(root, file.get(), req.path(), res);
        } else {
          send_status(res, 404, "404 Not Found\n");
        }
        return;
      }
      file.reset(ifd);
      if (::fstat(file.get(), &st) != 0) {
        send_status(res, 404, "404 Not Found\n");
        return;
      }
    }
    if (!S_ISREG(st.st_mode)) {
      send_status(res, 404, "404 Not Found\n");
      return;
    }
    auto old = tl_cache.stale(&root, key);
    if (old && same_file(*old, st)) {
      old->checked_ms = now;  // unchanged: keep the open descriptor and the content
      e = old;
    } else {
      std::string_view type = root.type_for(name);
      e = make_entry(std::move(file), st, name, type, {});
    }
    if (root.opts.precompressed) {
      e->br = open_sibling(root, e->name, "br", e->type);
      e->gz = open_sibling(root, e->name, "gz", e->type);
    }
    e->checked_ms = now;
    tl_cache.store(&root, key, e);
  }
  // Link preload hints (static_options::preload), pushed over HTTP/2 when configured.
  for (const auto& [path, target] : root.opts.preload)
    if (path == req.path()) res.header("Link", "<" + target + ">; rel=preload");
  // RFC 9110 §12.5.3: pick a precompressed sibling the client accepts (brotli first).
  std::string_view ae = req.header("accept-encoding");
  bool vary = e->br || e->gz;
  if (e->br && accepts(ae, "br")) {
    serve_entry(req, res, e->br, true, "br");
  } else if (e->gz && (accepts(ae, "gzip") || accepts(ae, "x-gzip"))) {
    serve_entry(req, res, e->gz, true, "gzip");
  } else {
    serve_entry(req, res, e, vary, {});
  }
}

}  // namespace

std::string_view content_type_for(std::string_view name) noexcept {
  std::string_view ext = extension_of(name);
  if (auto t = builtin_type(ext); !t.empty()) return t;
  return "application/octet-stream";
}

portico::handler make_static_handler(std::string root, static_options opts) {
  auto r = std::make_shared<static_root>();
  r->dir.reset(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!r->dir) throw std::system_error(errno, std::generic_category(), "document root " + root);
  r->opts = std::move(opts);
  if (!r->opts.mime_types_file.empty()) load_mime_types(*r);
  return [r](const portico::request& req, portico::response& res) { serve(*r, req, res); };
}

}  // namespace portico::engine
