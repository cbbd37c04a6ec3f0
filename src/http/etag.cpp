#include "http/etag.hpp"
#include "http/syntax.hpp"

namespace portico::http {

namespace {

using syntax::is_ows;
using syntax::trim_ows;

// RFC 9110 §8.8.3: etagc = %x21 / %x23-7E / obs-text; obs-text = %x80-FF.
constexpr bool is_etagc(char ch) noexcept {
  auto c = static_cast<unsigned char>(ch);
  return c == 0x21 || (c >= 0x23 && c <= 0x7e) || c >= 0x80;
}

// Reads one entity-tag at the start of `s`; on success `used` is its length.
std::optional<entity_tag> read_tag(std::string_view s, std::size_t& used) noexcept {
  entity_tag t;
  std::size_t i = 0;
  // RFC 9110 §8.8.3: weak = %s"W/" -- case-sensitive.
  if (s.size() >= 2 && s[0] == 'W' && s[1] == '/') {
    t.weak = true;
    i = 2;
  }
  if (i >= s.size() || s[i] != '"') return std::nullopt;
  std::size_t start = ++i;
  while (i < s.size() && is_etagc(s[i]))
    ++i;
  if (i >= s.size() || s[i] != '"') return std::nullopt;
  t.opaque = s.substr(start, i - start);
  used = i + 1;
  return t;
}

// Lowercase hex without leading zeros ("0" for 0) at data + n; returns the new n.
std::size_t put_hex(char* data, std::size_t n, std::uint64_t v) noexcept {
  static constexpr char hex[] = "0123456789abcdef";
  int shift = 60;
  while (shift > 0 && ((v >> shift) & 0xf) == 0)
    shift -= 4;
  for (; shift >= 0; shift -= 4)
    data[n++] = hex[(v >> shift) & 0xf];
  return n;
}

}  // namespace

std::optional<entity_tag> parse_entity_tag(std::string_view value) noexcept {
  value = trim_ows(value);
  std::size_t used = 0;
  auto t = read_tag(value, used);
  if (!t || used != value.size()) return std::nullopt;
  return t;
}

std::optional<entity_tag> entity_tag_list_reader::next() noexcept {
  // RFC 9110 §5.6.1.2: #element => [ element ] *( OWS "," OWS [ element ] )
  while (!done_) {
    std::size_t i = 0;
    while (i < rest_.size() && is_ows(rest_[i]))
      ++i;
    rest_.remove_prefix(i);
    if (rest_.empty()) {
      done_ = true;
      break;
    }
    if (rest_.front() == ',') {  // an empty element
      rest_.remove_prefix(1);
      continue;
    }
    std::size_t used = 0;
    auto t = read_tag(rest_, used);
    if (!t) break;
    rest_.remove_prefix(used);
    i = 0;
    while (i < rest_.size() && is_ows(rest_[i]))
      ++i;
    if (i < rest_.size() && rest_[i] != ',') break;  // junk after a tag
    rest_.remove_prefix(i < rest_.size() ? i + 1 : i);
    return t;
  }
  if (!done_) {
    failed_ = true;
    done_ = true;
  }
  return std::nullopt;
}

tag_list_match match_entity_tag_list(std::span<const std::string_view> field_lines,
                                     const std::optional<entity_tag>& current,
                                     tag_comparison how) noexcept {
  // RFC 9110 §13.1.1, §13.1.2: If-Match / If-None-Match = "*" / #entity-tag.
  std::size_t non_empty = 0;
  bool star = false;
  for (auto line : field_lines) {
    line = trim_ows(line);
    if (line.empty()) continue;
    ++non_empty;
    if (line == "*") star = true;
  }
  if (non_empty == 0) return tag_list_match::absent;
  if (star) return non_empty == 1 ? tag_list_match::any : tag_list_match::invalid;

  // The whole list is validated even after a match, so that a malformed field is always
  // reported the same way.
  bool matched = false;
  for (auto line : field_lines) {
    entity_tag_list_reader reader(line);
    while (auto t = reader.next()) {
      if (current &&
          (how == tag_comparison::strong ? strong_match(*t, *current) : weak_match(*t, *current))) {
        matched = true;
      }
    }
    if (reader.failed()) return tag_list_match::invalid;
  }
  return matched ? tag_list_match::match : tag_list_match::no_match;
}

etag_value make_etag(std::uint64_t size, std::int64_t mtime_ns,
                     std::uint64_t inode_or_salt) noexcept {
  // At most 1 + 16 + 1 + 16 + 1 + 16 + 1 = 52 characters, well within capacity.
  etag_value e;
  char* d = e.data_.data();
  std::size_t n = 0;
  d[n++] = '"';
  // A negative mtime (before 1970) is written as its two's complement: still unique.
  n = put_hex(d, n, static_cast<std::uint64_t>(mtime_ns));
  d[n++] = '-';
  n = put_hex(d, n, size);
  if (inode_or_salt != 0) {
    d[n++] = '-';
    n = put_hex(d, n, inode_or_salt);
  }
  d[n++] = '"';
  e.size_ = n;
  return e;
}

std::optional<etag_value> with_variant_suffix(std::string_view etag,
                                              std::string_view suffix) noexcept {
  etag = trim_ows(etag);
  std::size_t used = 0;
  auto t = read_tag(etag, used);
  if (!t || used != etag.size() || suffix.empty()) return std::nullopt;
  for (char c : suffix) {
    if (!is_etagc(c)) return std::nullopt;
  }
  // etag without its closing quote, "-", suffix, closing quote.
  if (etag.size() + 1 + suffix.size() > etag_value::capacity) return std::nullopt;
  etag_value e;
  char* d = e.data_.data();
  std::size_t n = 0;
  for (std::size_t i = 0; i + 1 < etag.size(); ++i)
    d[n++] = etag[i];
  d[n++] = '-';
  for (char c : suffix)
    d[n++] = c;
  d[n++] = '"';
  e.size_ = n;
  return e;
}

}  // namespace portico::http
