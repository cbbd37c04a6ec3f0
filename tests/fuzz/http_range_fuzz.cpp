// libFuzzer target for the Range parser and multipart planner (src/http/range.cpp), entity-tag
// lists (src/http/etag.cpp) and HTTP-date parsing (src/http/conditional.cpp).
//
// Input: byte 0 = options (bits 0-1: representation length class, bit 2: small limits),
// bytes 1-8 = a little-endian 64-bit value for the length, the rest = the field value. The
// same text is also read as an entity-tag list, an HTTP-date and an If-Range value. Broken
// invariants trap:
//   - `ranges`: 1..max_ranges ranges, each first <= last < length, ascending, and more than
//     coalesce_gap bytes apart (so disjoint); the multipart plan's pieces add up to its
//     content_length, alternate text/file, and the file pieces are exactly the ranges;
//   - any other kind carries no ranges, and a zero length never yields `ranges`;
//   - a parsed date formats (IMF-fixdate) and parses back to itself.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "http/conditional.hpp"
#include "http/date.hpp"
#include "http/etag.hpp"
#include "http/range.hpp"

namespace {

using namespace portico::http;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

std::uint64_t pick_length(std::uint8_t mode, std::uint64_t raw) {
  switch (mode & 3) {
    case 0:
      return raw % 64;  // tiny: zero and off-by-one territory
    case 1:
      return raw % 100000;
    case 2:
      return UINT64_MAX - (raw % 4);  // the top of the range
    default:
      return raw;
  }
}

void fuzz_range(std::string_view text, std::uint64_t length, const range_limits& lim) {
  range_result r = parse_range(text, length, lim);
  if (r.kind != range_kind::ranges) {
    check(r.count == 0);
    return;
  }
  check(length > 0);
  std::size_t max_ranges = lim.max_ranges == 0 ? 1 : lim.max_ranges;
  if (max_ranges > range_capacity) max_ranges = range_capacity;
  check(r.count >= 1 && r.count <= max_ranges);
  auto ranges = r.ranges();
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    check(ranges[i].first <= ranges[i].last && ranges[i].last < length);
    if (i > 0) {
      // Ascending, disjoint, and not mergeable: the gap exceeds coalesce_gap.
      check(ranges[i].first > ranges[i - 1].last);
      check(ranges[i].first - ranges[i - 1].last - 1 > lim.coalesce_gap);
    }
  }
  if (lim.full_when_sum_exceeds_length) {
    std::uint64_t sum = 0;
    for (const auto& x : ranges)
      sum += x.length();  // disjoint within length: no overflow
    check(sum <= length);
  }

  auto boundary = make_multipart_boundary(length, static_cast<std::uint32_t>(r.count));
  auto plan =
      plan_multipart_byteranges(ranges, length, "application/octet-stream", boundary.view());
  if (!plan) {
    // Only refused when the data alone would exceed 2^63-1 bytes.
    std::uint64_t sum = 0;
    for (const auto& x : ranges)
      sum += x.length();
    check(sum > UINT64_MAX / 2);
    return;
  }
  check(plan->pieces.size() == 2 * ranges.size() + 1);
  std::uint64_t total = 0;
  std::uint64_t text_total = 0;
  for (std::size_t i = 0; i < plan->pieces.size(); ++i) {
    const auto& p = plan->pieces[i];
    total += p.length;
    if (i % 2 == 0) {
      check(p.what == multipart_piece::kind::text);
      check(p.offset == text_total);
      text_total += p.length;
      check(plan->text_of(p).size() == p.length);
    } else {
      check(p.what == multipart_piece::kind::file);
      check(p.offset == ranges[i / 2].first && p.length == ranges[i / 2].length());
    }
  }
  check(text_total == plan->text.size());
  check(total == plan->content_length);
}

void fuzz_tags(std::string_view text) {
  entity_tag_list_reader reader(text);
  std::size_t n = 0;
  while (auto t = reader.next()) {
    // A member is a view into the input without quotes or etagc violations.
    check(t->opaque.data() >= text.data() &&
          t->opaque.data() + t->opaque.size() <= text.data() + text.size());
    check(t->opaque.find('"') == std::string_view::npos);
    ++n;
    check(n <= text.size());
  }
  check(!reader.next());
  auto one = parse_entity_tag(text);
  std::string_view lines[] = {text};
  auto m = match_entity_tag_list(lines, one, tag_comparison::weak);
  if (one) {
    // A single valid tag matches itself under both comparisons (strong only if not weak).
    check(m == tag_list_match::match);
    auto s = match_entity_tag_list(lines, one, tag_comparison::strong);
    check(s == (one->weak ? tag_list_match::no_match : tag_list_match::match));
    auto v = with_variant_suffix(text, "br");
    if (v) {
      auto vt = parse_entity_tag(v->view());
      check(vt && vt->weak == one->weak && !weak_match(*vt, *one));
    }
  }
}

void fuzz_date(std::string_view text) {
  constexpr std::int64_t now = 1748736000;  // 2025-06-01
  auto t = parse_http_date(text, now);
  if (t) {
    char buf[29];
    format_imf_fixdate(static_cast<std::time_t>(*t), buf);
    check(parse_http_date(std::string_view(buf, sizeof buf), now) == t);
    // An exact date as If-Range: allowed only against the same Last-Modified.
    check(if_range_allows(text, "", *t, now) == (*t < now));
    check(!if_range_allows(text, "", *t + 1, now + 1000));
  }
  (void)if_range_allows(text, "\"abc\"", now - 10, now);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 9) return 0;
  std::uint8_t mode = data[0];
  std::uint64_t raw = 0;
  for (int i = 0; i < 8; ++i)
    raw |= static_cast<std::uint64_t>(data[1 + i]) << (8 * i);
  // A fresh heap copy of exactly the text: ASan sees any read past its end.
  std::string copy(reinterpret_cast<const char*>(data + 9), size - 9);
  std::string_view text(copy);

  std::uint64_t length = pick_length(mode, raw);
  range_limits lim;
  if (mode & 4) {
    lim.max_range_specs = 1 + (mode >> 5);
    lim.max_ranges = (mode >> 3) & 3;
    lim.coalesce_gap = (raw >> 56) & 7;
    lim.full_when_sum_exceeds_length = (mode & 0x80) == 0;
  }
  fuzz_range(text, length, lim);
  fuzz_tags(text);
  fuzz_date(text);
  return 0;
}
