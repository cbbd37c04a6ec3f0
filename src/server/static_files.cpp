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
#include <bit>
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

  /// The fresh entry for `key`, or null. The pointer is valid until the cache changes.
  const std::shared_ptr<file_entry>* find(const static_root* root, std::string_view key,
                                          std::uint64_t now) const {
    if (root != root_) return nullptr;
    auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    if (now > it->second->checked_ms + revalidate_ms) return nullptr;
    return &it->second;
  }

  /// The previous entry for `key` (possibly stale), to compare with a fresh open.
  std::shared_ptr<file_entry> stale(const static_root* root, std::string_view key) const {
    if (root != root_) return nullptr;
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : it->second;
  }

  void store(const static_root* root, std::string_view key, std::shared_ptr<file_entry> e) {
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
    map_.emplace(std::string(key), std::move(e));
  }

  void erase(std::string_view key) {
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
  // Looked up by the request's path as a string_view (no key string built per request). A
  // short multiplicative hash: keys are names of files that exist (at most max_entries), so a
  // client cannot fill a bucket with keys of its choosing.
  struct key_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      constexpr std::uint64_t k = 0x9e3779b97f4a7c15ull;
      std::uint64_t h = s.size() * k;
      std::size_t i = 0;
      for (; i + 8 <= s.size(); i += 8) {
        std::uint64_t w;
        std::memcpy(&w, s.data() + i, 8);
        h = (h ^ w) * k;
        h ^= h >> 29;
      }
      std::uint64_t w = 0;
      for (std::size_t j = 0; i < s.size(); ++i, j += 8)
        w |= static_cast<std::uint64_t>(static_cast<unsigned char>(s[i])) << j;
      h = (h ^ w) * k;
      return static_cast<std::size_t>(h ^ (h >> 32));
    }
  };
  struct key_equal {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
  };
  const static_root* root_ = nullptr;
  std::unordered_map<std::string, std::shared_ptr<file_entry>, key_hash, key_equal> map_;
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

// The server's own fields (names constant, values generated here or checked when the MIME
// table was loaded) go in without response::header()'s validation, and as views: the response
// keeps the entry alive (file_keepalive), the other values are literals or live in the root.
void add_validators(detail::exchange& x, const file_entry& f, bool vary) {
  if (vary) x.fields.add_static_view("Vary", "vary", "Accept-Encoding");
  x.fields.add_static_view("ETag", "etag", f.etag);
  x.fields.add_static_view("Last-Modified", "last-modified", f.last_modified);
}

// A response with preconditions or a Range (RFC 9110 §13.2.2, §14.2).
[[gnu::noinline]] void serve_checked(const portico::request& req, portico::response& res,
                                     detail::exchange& x, const file_entry& f, bool vary,
                                     std::string_view encoding) {
  const std::string_view method = req.method();
  const bool get = method == "GET" || method == "HEAD";
  // RFC 9110 §13.2.2: preconditions, in their order.
  http::request_conditions cond;
  std::vector<std::string_view> if_match, if_none_match;
  std::string_view range_field, if_range;
  bool conditional = false;
  // One pass over the request's fields for all of them (a list field may be split over
  // several lines, RFC 9110 §5.3; the other fields: the first line).
  for (const auto& h : req.headers()) {
    if (h.name.size() < 5 || (h.name[0] | 0x20) != (h.name.size() == 5 ? 'r' : 'i')) continue;
    if (portico::iequals(h.name, "if-match")) {
      if_match.push_back(h.value);
      conditional = true;
    } else if (portico::iequals(h.name, "if-none-match")) {
      if_none_match.push_back(h.value);
      conditional = true;
    } else if (portico::iequals(h.name, "if-modified-since")) {
      if (cond.if_modified_since.empty()) cond.if_modified_since = h.value;
      conditional = true;
    } else if (portico::iequals(h.name, "if-unmodified-since")) {
      if (cond.if_unmodified_since.empty()) cond.if_unmodified_since = h.value;
      conditional = true;
    } else if (portico::iequals(h.name, "range")) {
      if (range_field.empty()) range_field = h.value;
    } else if (portico::iequals(h.name, "if-range")) {
      if (if_range.empty()) if_range = h.value;
      conditional = true;
    }
  }
  // The wall clock only matters to the dates of conditional requests.
  const std::time_t now = conditional ? std::time(nullptr) : 0;
  auto pre = http::precondition_result::proceed;
  if (conditional) {
    cond.if_match = if_match;
    cond.if_none_match = if_none_match;
    http::resource_state state;
    state.exists = true;
    state.etag = f.etag;
    state.last_modified = f.mtime_s;
    pre = http::evaluate_preconditions(cond, state, get, now);
  }
  if (pre == http::precondition_result::not_modified) {
    add_validators(x, f, vary);
    res.status(304).send(std::string());
    return;
  }
  if (pre == http::precondition_result::precondition_failed) {
    add_validators(x, f, vary);
    send_status(res, 412, "412 Precondition Failed\n");
    return;
  }
  // `encoding` is a literal ("br", "gzip").
  if (!encoding.empty()) x.fields.add_static_view("Content-Encoding", "content-encoding", encoding);
  x.fields.add_static_view("Accept-Ranges", "accept-ranges", "bytes");
  add_validators(x, f, vary);

  // RFC 9110 §14.2: Range applies to GET only; If-Range decides whether it applies at all.
  std::string_view range = method == "GET" ? range_field : std::string_view{};
  if (!range.empty()) {
    if (!if_range.empty() && !http::if_range_allows(if_range, f.etag, f.mtime_s, now)) {
      range = {};
    }
  }
  if (!range.empty()) {
    http::range_result rr = http::parse_range(range, f.size, http::range_limits{});
    if (rr.kind == http::range_kind::unsatisfiable) {
      // RFC 9110 §15.5.17.
      res.header("Content-Range", http::format_unsatisfied_range(f.size));
      send_status(res, 416, "416 Range Not Satisfiable\n");
      return;
    }
    if (rr.kind == http::range_kind::ranges && rr.count == 1) {
      const auto& r = rr.ranges()[0];
      std::uint64_t len = r.last - r.first + 1;
      res.status(206).header("Content-Type", f.type);
      res.header("Content-Range", http::format_content_range(r.first, r.last, f.size));
      if (f.has_content) {
        res.send_static(std::string_view(f.content).substr(static_cast<std::size_t>(r.first),
                                                           static_cast<std::size_t>(len)));
      } else {
        x.owns_file = false;
        res.send_file(f.fd.get(), r.first, len);
      }
      return;
    }
    if (rr.kind == http::range_kind::ranges) {
      // RFC 9110 §14.6: multipart/byteranges.
      const http::multipart_boundary boundary = make_boundary();
      auto plan = http::plan_multipart_byteranges(rr.ranges(), f.size, f.type, boundary.view());
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
        } else if (f.has_content) {
          part.text = f.content.substr(static_cast<std::size_t>(p.offset),
                                       static_cast<std::size_t>(p.length));
        } else {
          part.file_offset = p.offset;
          part.file_length = p.length;
        }
        x.parts.push_back(std::move(part));
      }
      x.file_fd = f.fd.get();
      x.owns_file = false;
      x.kind = detail::body_kind::parts;
      x.started = x.ended = true;
      if (auto* o = x.owner()) o->exchange_updated(x);
      return;
    }
    // invalid, ignored or "full": the whole representation (200).
  }
  // The type comes from the built-in table or the root's MIME map, which outlive the response.
  x.fields.add_static_view("Content-Type", "content-type", f.type);
  if (f.has_content) {
    res.send_static(f.content);
    return;
  }
  // The descriptor stays owned by the entry; the response keeps the entry alive.
  x.owns_file = false;
  res.send_file(f.fd.get(), 0, f.size);
}

void serve_entry(const portico::request& req, portico::response& res,
                 const std::shared_ptr<file_entry>& entry, bool vary, std::string_view encoding) {
  // The response keeps the entry alive until it is recycled: its validators, type and small
  // content go out as views, without copies. (`entry` may refer into the cache, or be a member
  // of another entry, which a nested serve() may replace: only `f` is used below.)
  auto& x = detail::access(res);
  x.file_keepalive = entry;
  const file_entry& f = *entry;
  // Range is the only 5-octet name starting with 'r', the preconditions are the longer names
  // starting with 'i' (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since,
  // If-Range): a request with none of those gets the whole representation, unconditionally.
  for (const auto& h : req.headers()) {
    if (h.name.size() >= 5 && (h.name[0] | 0x20) == (h.name.size() == 5 ? 'r' : 'i')) {
      serve_checked(req, res, x, f, vary, encoding);
      return;
    }
  }
  if (!encoding.empty()) x.fields.add_static_view("Content-Encoding", "content-encoding", encoding);
  x.fields.add_static_view("Accept-Ranges", "accept-ranges", "bytes");
  add_validators(x, f, vary);
  x.fields.add_static_view("Content-Type", "content-type", f.type);
  if (f.has_content) {
    res.send_static(f.content);
    return;
  }
  x.owns_file = false;  // the descriptor stays owned by the entry
  res.send_file(f.fd.get(), 0, f.size);
}

// Per-thread scratch of serve()'s general path, kept for its capacity (no allocation per
// request once warm). A response can start a nested serve() on the same thread (an HTTP/2 push
// dispatched while the response's HEADERS are made): the nested call uses scratch of its own.
struct serve_scratch {
  std::string decoded, rel, key;
  std::vector<std::string_view> segs;
  bool busy = false;
};
thread_local serve_scratch tl_scratch;

// True when `p` (the path below the route, still percent-encoded) names a file as it is: no
// escape, and no empty, dot-led (".", "..", hidden) or trailing segment. Percent-decoding and
// dot-segment removal (RFC 3986 §5.2.4) would leave such a path unchanged.
bool plain_path(std::string_view p) noexcept {
  if (p.empty() || p.front() == '.' || p.front() == '/' || p.back() == '/') return false;
  // Eight octets at a time: flags (0x80 in an octet) for '%', '/' and '.'; a '/' may not be
  // followed by '/' or '.' (nor end the path, checked above).
  constexpr std::uint64_t low7 = 0x7f7f7f7f7f7f7f7full;
  constexpr std::uint64_t ones = 0x0101010101010101ull;
  auto equal_to = [](std::uint64_t w, std::uint64_t c) {
    const std::uint64_t x = w ^ c;  // zero octets where w has c
    return ~(((x & low7) + low7) | x | low7);
  };
  std::uint64_t carry = 0;  // 0x80 when the previous octet was '/'
  std::size_t i = 0;
  // (The shifts assume the first octet in the lowest bits.)
  for (; std::endian::native == std::endian::little && i + 8 <= p.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p.data() + i, 8);
    const std::uint64_t slash = equal_to(w, ones * '/');
    const std::uint64_t after_slash = (slash << 8) | carry;
    if ((equal_to(w, ones * '%') | (after_slash & (slash | equal_to(w, ones * '.')))) != 0)
      return false;
    carry = slash >> 56;
  }
  bool segment_start = carry != 0;
  for (; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '%' || (segment_start && (c == '.' || c == '/'))) return false;
    segment_start = c == '/';
  }
  return true;
}

void serve_file(const static_root& root, const portico::request& req, portico::response& res,
                std::string_view rel, std::string_view key, bool slash_form);

// The general path: percent-decoding and dot segments, in per-thread scratch.
void serve_normalized(const static_root& root, const portico::request& req, portico::response& res,
                      std::string_view raw, bool slash_form) {
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
  if (!portico::percent_decode(raw, decoded)) {
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
  std::string& key = sc.key;
  key = rel;
  if (slash_form) key.push_back('/');
  serve_file(root, req, res, rel, key, slash_form);
}

void serve(const static_root& root, const portico::request& req, portico::response& res) {
  const std::string_view raw = req.param("*");
  const std::string_view path = req.path();
  const bool slash_form = path.empty() || path.back() == '/';
  if (!slash_form && plain_path(raw)) {
    serve_file(root, req, res, raw, raw, false);
  } else {
    serve_normalized(root, req, res, raw, slash_form);
  }
}

// Opens `rel` (a cache miss or an entry due for revalidation) and stores the entry in the
// cache; or answers the request (404, 403, 503, 301, a listing) and returns null.
[[gnu::noinline]] std::shared_ptr<file_entry> open_entry(const static_root& root,
                                                         const portico::request& req,
                                                         portico::response& res,
                                                         std::string_view rel, std::string_view key,
                                                         bool slash_form, std::uint64_t now) {
  const std::string rel_name(rel);
  int fd = root.open_at(rel_name);
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
    return nullptr;
  }
  unique_fd file(fd);
  struct stat st {};
  if (::fstat(file.get(), &st) != 0) {
    send_status(res, 404, "404 Not Found\n");
    return nullptr;
  }
  std::string name = rel_name;
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
      return nullptr;
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
      return nullptr;
    }
    file.reset(ifd);
    if (::fstat(file.get(), &st) != 0) {
      send_status(res, 404, "404 Not Found\n");
      return nullptr;
    }
  }
  if (!S_ISREG(st.st_mode)) {
    send_status(res, 404, "404 Not Found\n");
    return nullptr;
  }
  std::shared_ptr<file_entry> e;
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
  return e;
}

// `rel`: the file's name relative to the root; `key`: the cache key (`rel`, with a '/' when
// the request named a directory, `slash_form`).
void serve_file(const static_root& root, const portico::request& req, portico::response& res,
                std::string_view rel, std::string_view key, bool slash_form) {
  // The loop's clock, read once per turn: entries are trusted for revalidate_ms (a second).
  const std::uint64_t now = io::loop_now_ms();
  // A hit refers into the cache (no reference count traffic): valid until the cache changes,
  // which nothing below does before serve_entry() took its own reference.
  const std::shared_ptr<file_entry>* hit = tl_cache.find(&root, key, now);
  std::shared_ptr<file_entry> opened;
  if (hit == nullptr) {
    opened = open_entry(root, req, res, rel, key, slash_form, now);
    if (!opened) return;
    hit = &opened;
  }
  const std::shared_ptr<file_entry>& e = *hit;
  // Link preload hints (static_options::preload), pushed over HTTP/2 when configured.
  for (const auto& [path, target] : root.opts.preload)
    if (path == req.path()) res.header("Link", "<" + target + ">; rel=preload");
  // RFC 9110 §12.5.3: pick a precompressed sibling the client accepts (brotli first).
  const bool vary = e->br || e->gz;
  if (!vary) {
    serve_entry(req, res, e, false, {});
    return;
  }
  std::string_view ae = req.header("accept-encoding");
  if (e->br && accepts(ae, "br")) {
    serve_entry(req, res, e->br, true, "br");
  } else if (e->gz && (accepts(ae, "gzip") || accepts(ae, "x-gzip"))) {
    serve_entry(req, res, e->gz, true, "gzip");
  } else {
    serve_entry(req, res, e, true, {});
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
