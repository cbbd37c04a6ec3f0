// Helpers shared by the HPACK tests: hex, decoding into owned fields, a guard-page buffer.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <ostream>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "hpack/decoder.hpp"
#include "hpack/encoder.hpp"
#include "hpack/field.hpp"

namespace portico::hpack::test {

inline std::vector<std::byte> from_hex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::vector<std::byte> out;
  int hi = -1;
  for (char c : hex) {
    if (c == ' ' || c == '\n' || c == '|') continue;
    const int v = nibble(c);
    if (v < 0) throw std::invalid_argument("bad hex digit");
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::byte>(hi * 16 + v));
      hi = -1;
    }
  }
  if (hi >= 0) throw std::invalid_argument("odd number of hex digits");
  return out;
}

inline std::string to_hex(std::span<const std::byte> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (std::byte b : bytes) {
    s += digits[static_cast<unsigned>(b) >> 4];
    s += digits[static_cast<unsigned>(b) & 0xf];
  }
  return s;
}

inline std::span<const std::byte> bytes_of(std::string_view s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

/// A header field that owns its strings.
struct owned_field {
  std::string name;
  std::string value;
  bool never_indexed = false;

  friend bool operator==(const owned_field&, const owned_field&) = default;
  friend std::ostream& operator<<(std::ostream& os, const owned_field& f) {
    return os << f.name << ": " << f.value << (f.never_indexed ? " [never indexed]" : "");
  }
};

struct decoded {
  std::error_code error;
  std::vector<owned_field> fields;
};

inline decoded decode(decoder& d, std::span<const std::byte> block) {
  decoded r;
  r.error = d.decode(block, [&](const header_field& f) {
    r.fields.push_back({std::string(f.name), std::string(f.value), f.never_indexed});
  });
  return r;
}

inline std::vector<header_field> views(const std::vector<owned_field>& fields) {
  std::vector<header_field> v;
  for (const auto& f : fields)
    v.push_back({f.name, f.value, f.never_indexed});
  return v;
}

/// Table contents, newest first, as "name: value" strings.
inline std::vector<std::string> entries(const dynamic_table& t) {
  std::vector<std::string> v;
  for (std::size_t i = 1; i <= t.count(); ++i) {
    auto e = t.at(i);
    v.push_back(std::string(e.name) + ": " + std::string(e.value));
  }
  return v;
}

/// Bytes placed at the very end of a readable mapping followed by an inaccessible page, so a
/// read past the end faults (picohttpparser's over-read test, DESIGN.md §5).
class guarded_bytes {
 public:
  explicit guarded_bytes(std::span<const std::byte> data) {
    const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    data_pages_ = (data.size() + page - 1) / page;
    if (data_pages_ == 0) data_pages_ = 1;
    total_ = (data_pages_ + 1) * page;
    void* m = mmap(nullptr, total_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap");
    base_ = static_cast<std::byte*>(m);
    if (mprotect(base_ + data_pages_ * page, page, PROT_NONE) != 0)
      throw std::system_error(errno, std::generic_category(), "mprotect");
    std::byte* start = base_ + data_pages_ * page - data.size();
    if (!data.empty()) std::memcpy(start, data.data(), data.size());
    view_ = {start, data.size()};
  }
  ~guarded_bytes() { munmap(base_, total_); }
  guarded_bytes(const guarded_bytes&) = delete;
  guarded_bytes& operator=(const guarded_bytes&) = delete;
  std::span<const std::byte> span() const { return view_; }

 private:
  std::byte* base_ = nullptr;
  std::size_t data_pages_ = 0;
  std::size_t total_ = 0;
  std::span<const std::byte> view_;
};

}  // namespace portico::hpack::test
