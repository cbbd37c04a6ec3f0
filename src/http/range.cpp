#include "http/range.hpp"
#include "http/syntax.hpp"
#include "portico/http.hpp"  // iequals

#include <algorithm>
#include <charconv>

namespace portico::http {

namespace {

using syntax::is_digit;
using syntax::is_ows;
using syntax::is_tchar;
using syntax::trim_ows;

// 1*DIGIT into a uint64; false if empty, not all digits, or above 2^64-1.
// RFC 9110 §14.1.1: "recipients MUST anticipate potentially large decimal numerals and prevent
// parsing errors due to integer conversion overflows" -- an overflow makes the spec invalid.
bool parse_u64(std::string_view s, std::uint64_t& out) noexcept {
  if (s.empty()) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return false;
    auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) noexcept {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

struct spec {
  bool suffix = false;
  std::uint64_t first = 0;          // int-range first-pos, or the suffix-length
  std::uint64_t last = UINT64_MAX;  // int-range last-pos (absent: max)
};

// RFC 9110 §14.1.2: range-spec = int-range / suffix-range (other-range is not a bytes spec).
//   int-range = first-pos "-" [ last-pos ];  suffix-range = "-" suffix-length
bool parse_spec(std::string_view s, spec& out) noexcept {
  auto dash = s.find('-');
  if (dash == std::string_view::npos) return false;
  if (dash == 0) {
    out.suffix = true;
    return parse_u64(s.substr(1), out.first);
  }
  out.suffix = false;
  if (!parse_u64(s.substr(0, dash), out.first)) return false;
  auto rest = s.substr(dash + 1);
  if (rest.empty()) {
    out.last = UINT64_MAX;
    return true;
  }
  if (!parse_u64(rest, out.last)) return false;
  // RFC 9110 §14.1.1: "A range-spec is invalid if the last-pos value is present and less than
  // the first-pos."
  return out.last >= out.first;
}

void put_u64(std::string& out, std::uint64_t v) {
  char buf[20];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

// RFC 2046 §5.1.1 bcharsnospace (the space is allowed only inside).
constexpr bool is_bchar_nospace(char c) noexcept {
  if (is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("'()+_,-./:=?").find(c) != std::string_view::npos;
}

}  // namespace

range_result parse_range(std::string_view header_value, std::uint64_t length,
                         const range_limits& limits) noexcept {
  range_result result;
  std::string_view v = trim_ows(header_value);
  if (v.empty()) return result;  // ignore

  // RFC 9110 §14.2: ranges-specifier = range-unit "=" range-set; range-unit = token.
  auto eq = v.find('=');
  if (eq == std::string_view::npos) {
    result.kind = range_kind::invalid;
    return result;
  }
  std::string_view unit = v.substr(0, eq);
  if (unit.empty() || !std::all_of(unit.begin(), unit.end(), is_tchar)) {
    result.kind = range_kind::invalid;
    return result;
  }
  // RFC 9110 §14.1: range units are compared case-insensitively; §14.2: a server MAY ignore a
  // Range with a unit it does not support.
  if (!iequals(unit, "bytes")) return result;  // ignore

  const std::size_t max_specs = std::min(limits.max_range_specs, range_capacity);
  const std::size_t max_ranges = std::clamp<std::size_t>(limits.max_ranges, 1, range_capacity);

  // One pass over the list: validate every element, resolve the satisfiable ones.
  // RFC 9110 §5.6.1.2: recipients accept empty list elements and OWS around elements; the
  // range-set (1#range-spec) needs at least one non-empty element.
  std::array<byte_range, range_capacity> raw;
  std::size_t raw_count = 0;
  std::size_t specs = 0;
  std::uint64_t requested_sum = 0;
  bool empty_but_satisfiable = false;  // length 0 and a suffix-range with N > 0
  std::string_view set = v.substr(eq + 1);
  for (;;) {
    auto comma = set.find(',');
    std::string_view element = trim_ows(set.substr(0, comma));
    if (!element.empty()) {
      spec s;
      if (!parse_spec(element, s)) {
        result.kind = range_kind::invalid;
        return result;
      }
      ++specs;
      if (specs <= max_specs) {
        // RFC 9110 §14.1.2: satisfiable if an int-range with first-pos < length, or a
        // suffix-range with a non-zero suffix-length; last-pos is clipped to length - 1; a
        // suffix longer than the representation selects all of it.
        std::optional<byte_range> r;
        if (s.suffix) {
          if (s.first > 0) {
            if (length == 0) {
              empty_but_satisfiable = true;
            } else {
              r = byte_range{length - std::min(s.first, length), length - 1};
            }
          }
        } else if (s.first < length) {
          r = byte_range{s.first, std::min(s.last, length - 1)};
        }
        if (r) {
          raw[raw_count++] = *r;
          requested_sum = saturating_add(requested_sum, r->length());
        }
      }
    }
    if (comma == std::string_view::npos) break;
    set.remove_prefix(comma + 1);
  }
  if (specs == 0) {
    result.kind = range_kind::invalid;
    return result;
  }

  // Rule 1: too many range-specs.
  if (specs > max_specs) {
    result.kind = range_kind::full;
    return result;
  }
  // Rule 2. RFC 9110 §15.5.17: 416 when no range-spec is satisfiable. A zero-length
  // representation with a non-zero suffix-range is satisfiable, but Content-Range cannot
  // describe an empty part, so the answer is the whole (empty) representation.
  if (raw_count == 0) {
    result.kind = empty_but_satisfiable ? range_kind::full : range_kind::unsatisfiable;
    return result;
  }
  // Rule 3: RFC 9110 §14.2 lets a server ignore a range-set "with more than two overlapping
  // ranges"; asking for more bytes than the representation has can only come from overlaps.
  if (limits.full_when_sum_exceeds_length && requested_sum > length) {
    result.kind = range_kind::full;
    return result;
  }

  // Rule 4: sort and merge. RFC 9110 §15.3.7.2: a server MAY coalesce ranges that overlap or
  // are separated by a gap smaller than the overhead of sending multiple parts, regardless of
  // the order in which they were requested; a client MUST read each part's Content-Range and
  // cannot rely on the order. Sending ascending order is the documented choice here (it departs
  // from the §14.2 SHOULD to keep the requested order, which is what makes sorting safe).
  std::sort(raw.begin(), raw.begin() + static_cast<std::ptrdiff_t>(raw_count),
            [](const byte_range& a, const byte_range& b) { return a.first < b.first; });
  std::size_t out = 0;
  byte_range cur = raw[0];
  for (std::size_t i = 1; i < raw_count; ++i) {
    const byte_range& n = raw[i];
    // cur.last < length <= 2^64-1, so cur.last + 1 does not overflow.
    if (n.first <= saturating_add(cur.last + 1, limits.coalesce_gap)) {
      cur.last = std::max(cur.last, n.last);
    } else {
      if (out == max_ranges) {
        result.kind = range_kind::full;
        return result;
      }
      result.storage[out++] = cur;
      cur = n;
    }
  }
  if (out == max_ranges) {
    result.kind = range_kind::full;
    return result;
  }
  result.storage[out++] = cur;
  result.count = out;
  result.kind = range_kind::ranges;
  return result;
}

std::string format_content_range(std::uint64_t first, std::uint64_t last, std::uint64_t length) {
  // RFC 9110 §14.4: range-resp = incl-range "/" ( complete-length / "*" )
  std::string s = "bytes ";
  s.reserve(6 + 3 * 20 + 2);
  put_u64(s, first);
  s += '-';
  put_u64(s, last);
  s += '/';
  put_u64(s, length);
  return s;
}

std::string format_unsatisfied_range(std::uint64_t length) {
  // RFC 9110 §14.4: unsatisfied-range = "*/" complete-length
  std::string s = "bytes */";
  put_u64(s, length);
  return s;
}

multipart_boundary make_multipart_boundary(std::uint64_t random_high,
                                           std::uint32_t random_low) noexcept {
  static constexpr char prefix[] = "portico-";
  static constexpr char hex[] = "0123456789abcdef";
  multipart_boundary b;
  std::size_t i = 0;
  for (; i < sizeof prefix - 1; ++i)
    b.data_[i] = prefix[i];
  for (int shift = 60; shift >= 0; shift -= 4)
    b.data_[i++] = hex[(random_high >> shift) & 0xf];
  for (int shift = 28; shift >= 0; shift -= 4)
    b.data_[i++] = hex[(random_low >> shift) & 0xf];
  return b;
}

bool is_valid_boundary(std::string_view b) noexcept {
  // RFC 2046 §5.1.1: boundary := 0*69<bchars> bcharsnospace; bchars := bcharsnospace / " "
  if (b.empty() || b.size() > 70 || b.back() == ' ') return false;
  return std::all_of(b.begin(), b.end(), [](char c) { return c == ' ' || is_bchar_nospace(c); });
}

std::optional<multipart_plan> plan_multipart_byteranges(std::span<const byte_range> ranges,
                                                        std::uint64_t length,
                                                        std::string_view content_type,
                                                        std::string_view boundary) {
  if (ranges.empty() || !is_valid_boundary(boundary)) return std::nullopt;
  if (content_type.find_first_of("\r\n") != std::string_view::npos) return std::nullopt;
  std::uint64_t data_bytes = 0;
  for (const auto& r : ranges) {
    if (r.first > r.last || r.last >= length) return std::nullopt;
    // Keeps content_length (data plus a few KB of text) far from overflowing.
    if (r.length() > UINT64_MAX / 2 - data_bytes) return std::nullopt;
    data_bytes += r.length();
  }

  multipart_plan plan;
  // RFC 9110 §14.6 / RFC 2046 §5.1.1: a boundary that is not a token must be quoted in the
  // media type parameter (RFC 9110 §8.3.1).
  plan.content_type = "multipart/byteranges; boundary=";
  if (std::all_of(boundary.begin(), boundary.end(), is_tchar)) {
    plan.content_type += boundary;
  } else {
    plan.content_type += '"';
    plan.content_type += boundary;
    plan.content_type += '"';
  }

  plan.pieces.reserve(2 * ranges.size() + 1);
  plan.text.reserve(ranges.size() * (boundary.size() + content_type.size() + 100) + 16);
  auto add_text = [&plan](std::size_t start) {
    std::uint64_t n = plan.text.size() - start;
    plan.pieces.push_back({multipart_piece::kind::text, start, n});
    plan.content_length += n;
  };
  bool first_part = true;
  for (const auto& r : ranges) {
    std::size_t start = plan.text.size();
    // The CRLF before a delimiter belongs to the delimiter (RFC 2046 §5.1.1); the first one has
    // none because there is no preamble.
    if (!first_part) plan.text += "\r\n";
    first_part = false;
    plan.text += "--";
    plan.text += boundary;
    plan.text += "\r\n";
    if (!content_type.empty()) {
      plan.text += "Content-Type: ";
      plan.text += content_type;
      plan.text += "\r\n";
    }
    plan.text += "Content-Range: ";
    plan.text += format_content_range(r.first, r.last, length);
    plan.text += "\r\n\r\n";
    add_text(start);
    plan.pieces.push_back({multipart_piece::kind::file, r.first, r.length()});
    plan.content_length += r.length();
  }
  std::size_t start = plan.text.size();
  plan.text += "\r\n--";
  plan.text += boundary;
  plan.text += "--\r\n";
  add_text(start);
  return plan;
}

}  // namespace portico::http
