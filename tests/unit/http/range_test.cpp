#include "http/range.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace portico::http {

void PrintTo(const byte_range& r, std::ostream* os) {
  *os << r.first << '-' << r.last;
}

namespace {

using ranges_t = std::vector<byte_range>;

std::vector<byte_range> to_vector(const range_result& r) {
  auto s = r.ranges();
  return {s.begin(), s.end()};
}

struct range_case {
  const char* header;
  std::uint64_t length;
  range_kind kind;
  ranges_t ranges;  // only for kind == ranges
};

void PrintTo(const range_case& c, std::ostream* os) {
  *os << '"' << c.header << "\" len " << c.length;
}

class ParseRange : public ::testing::TestWithParam<range_case> {};

TEST_P(ParseRange, Table) {
  const auto& c = GetParam();
  auto r = parse_range(c.header, c.length);
  EXPECT_EQ(r.kind, c.kind);
  if (c.kind == range_kind::ranges) {
    EXPECT_EQ(to_vector(r), c.ranges);
  } else {
    EXPECT_EQ(r.count, 0u);
  }
}

constexpr auto K = range_kind::ranges;

// RFC 9110 §14.1.2 examples use a representation of 10000 bytes.
INSTANTIATE_TEST_SUITE_P(
    Rfc9110Examples, ParseRange,
    ::testing::Values(range_case{"bytes=0-499", 10000, K, {{0, 499}}},
                      range_case{"bytes=500-999", 10000, K, {{500, 999}}},
                      range_case{"bytes=-500", 10000, K, {{9500, 9999}}},
                      range_case{"bytes=9500-", 10000, K, {{9500, 9999}}},
                      range_case{"bytes=0-0,-1", 10000, K, {{0, 0}, {9999, 9999}}},
                      range_case{"bytes= 0-999, 4500-5499, -1000",
                                 10000,
                                 K,
                                 {{0, 999}, {4500, 5499}, {9000, 9999}}},
                      // "Other valid (but not canonical) specifications of the second 500
                      // bytes": both coalesce into one range.
                      range_case{"bytes=500-600,601-999", 10000, K, {{500, 999}}},
                      range_case{"bytes=500-700,601-999", 10000, K, {{500, 999}}}));

INSTANTIATE_TEST_SUITE_P(
    Syntax, ParseRange,
    ::testing::Values(
        range_case{"", 100, range_kind::ignore, {}}, range_case{"   ", 100, range_kind::ignore, {}},
        range_case{"items=0-1", 100, range_kind::ignore, {}},
        range_case{"x=garbage", 100, range_kind::ignore, {}},
        range_case{"BYTES=0-1", 100, K, {{0, 1}}}, range_case{"Bytes=0-1", 100, K, {{0, 1}}},
        range_case{"bytes=0-0", 100, K, {{0, 0}}}, range_case{"bytes=-1", 100, K, {{99, 99}}},
        range_case{"bytes= 0-1 , 3-4", 100, K, {{0, 1}, {3, 4}}},  // OWS; a gap: two parts
        range_case{"bytes=0-1,,2-3", 100, K, {{0, 3}}},    // empty list element
        range_case{"bytes=,0-1", 100, K, {{0, 1}}}, range_case{"bytes=0-1,", 100, K, {{0, 1}}},
        range_case{"bytes=0-1\t,\t100-110", 1000, K, {{0, 1}, {100, 110}}},
        range_case{"bytes=5-2", 100, range_kind::invalid, {}},
        range_case{"bytes=", 100, range_kind::invalid, {}},
        range_case{"bytes=,", 100, range_kind::invalid, {}},
        range_case{"bytes= , ,", 100, range_kind::invalid, {}},
        range_case{"bytes", 100, range_kind::invalid, {}},
        range_case{"=0-1", 100, range_kind::invalid, {}},
        range_case{"bytes =0-1", 100, range_kind::invalid, {}},
        range_case{"by tes=0-1", 100, range_kind::invalid, {}},
        range_case{"bytes=0 -1", 100, range_kind::invalid, {}},
        range_case{"bytes=0- 1", 100, range_kind::invalid, {}},
        range_case{"bytes=0-1;", 100, range_kind::invalid, {}},
        range_case{"bytes=a-b", 100, range_kind::invalid, {}},
        range_case{"bytes=1", 100, range_kind::invalid, {}},
        range_case{"bytes=-", 100, range_kind::invalid, {}},
        range_case{"bytes=--1", 100, range_kind::invalid, {}},
        range_case{"bytes=1--2", 100, range_kind::invalid, {}},
        range_case{"bytes=+1-2", 100, range_kind::invalid, {}},
        range_case{"bytes=0x10-20", 100, range_kind::invalid, {}},
        range_case{"bytes=0-1,5-2", 100, range_kind::invalid, {}},  // one bad spec spoils all
        range_case{"bytes=0-1, x", 100, range_kind::invalid, {}},
        range_case{"bytes=0-1=2", 100, range_kind::invalid, {}}));

INSTANTIATE_TEST_SUITE_P(
    Numbers, ParseRange,
    ::testing::Values(range_case{"bytes=18446744073709551615-", 100, range_kind::unsatisfiable, {}},
                      range_case{"bytes=18446744073709551616-", 100, range_kind::invalid, {}},
                      range_case{"bytes=0-99999999999999999999", 100, range_kind::invalid, {}},
                      range_case{"bytes=-99999999999999999999", 100, range_kind::invalid, {}},
                      range_case{"bytes=0-18446744073709551615", 100, K, {{0, 99}}},
                      range_case{"bytes=-18446744073709551615", 100, K, {{0, 99}}},
                      range_case{"bytes=00000000000000000000000000007-8", 100, K, {{7, 8}}},
                      range_case{"bytes=18446744073709551613-",
                                 18446744073709551615u,
                                 K,
                                 {{18446744073709551613u, 18446744073709551614u}}},
                      range_case{"bytes=-1",
                                 18446744073709551615u,
                                 K,
                                 {{18446744073709551614u, 18446744073709551614u}}}));

INSTANTIATE_TEST_SUITE_P(
    Satisfiability, ParseRange,
    ::testing::Values(
        range_case{"bytes=10-", 10, range_kind::unsatisfiable, {}},
        range_case{"bytes=10-20", 10, range_kind::unsatisfiable, {}},
        range_case{"bytes=-0", 10, range_kind::unsatisfiable, {}},
        range_case{"bytes=10-20,-0", 10, range_kind::unsatisfiable, {}},
        range_case{"bytes=10-20, 5-6", 10, K, {{5, 6}}}, range_case{"bytes=9-20", 10, K, {{9, 9}}},
        range_case{"bytes=0-", 10, K, {{0, 9}}}, range_case{"bytes=-10", 10, K, {{0, 9}}},
        range_case{"bytes=-11", 10, K, {{0, 9}}},
        // Zero-length representation (RFC 9110 §14.1.2): int-ranges are unsatisfiable; a
        // non-zero suffix-range is satisfiable but cannot be a 206, so the whole (empty) 200.
        range_case{"bytes=0-", 0, range_kind::unsatisfiable, {}},
        range_case{"bytes=0-0", 0, range_kind::unsatisfiable, {}},
        range_case{"bytes=-0", 0, range_kind::unsatisfiable, {}},
        range_case{"bytes=-1", 0, range_kind::full, {}},
        range_case{"bytes=0-5,-1", 0, range_kind::full, {}},
        range_case{"items=0-1", 0, range_kind::ignore, {}},
        range_case{"bytes=5-2", 0, range_kind::invalid, {}}));

INSTANTIATE_TEST_SUITE_P(
    CoalescingAndOrder, ParseRange,
    ::testing::Values(
        range_case{"bytes=900-999,0-99", 10000, K, {{0, 99}, {900, 999}}},
        range_case{"bytes=-100,0-99", 10000, K, {{0, 99}, {9900, 9999}}},
        range_case{"bytes=0-9,10-99", 10000, K, {{0, 99}}},           // adjacent: merged
        range_case{"bytes=0-9,11-99", 10000, K, {{0, 9}, {11, 99}}},  // gap of 1: apart
        range_case{"bytes=50-59,0-9,20-29", 10000, K, {{0, 9}, {20, 29}, {50, 59}}},
        range_case{"bytes=50-59,0-29,20-49", 10000, K, {{0, 59}}},
        range_case{"bytes=0-99,10-19", 10000, K, {{0, 99}}},  // contained
        range_case{"bytes=0-0,5000-5000,1-1,5001-5001", 10000, K, {{0, 1}, {5000, 5001}}}));

INSTANTIATE_TEST_SUITE_P(
    AbuseToFull, ParseRange,
    ::testing::Values(
        // Overlapping ranges asking for more than the representation: 200.
        range_case{"bytes=0-,0-", 10, range_kind::full, {}},
        range_case{"bytes=0-5,3-9", 10, range_kind::full, {}},
        range_case{"bytes=-6,0-5", 10, range_kind::full, {}},
        range_case{"bytes=0-0,0-0,0-0,0-0,0-0,0-0,0-0,0-0,0-0,0-0,0-0", 10, range_kind::full, {}},
        // The same bytes once each are fine.
        range_case{"bytes=0-4,5-9", 10, K, {{0, 9}}}));

std::string spaced_ranges(int n, std::uint64_t step) {
  std::string h = "bytes=";
  for (int i = 0; i < n; ++i) {
    if (i) h += ',';
    h += std::to_string(static_cast<std::uint64_t>(i) * step) + "-" +
         std::to_string(static_cast<std::uint64_t>(i) * step);
  }
  return h;
}

TEST(ParseRangeLimits, MaxRangesAfterCoalescing) {
  range_limits lim;
  ASSERT_EQ(lim.max_ranges, 16u);
  auto r = parse_range(spaced_ranges(16, 1000), 1000000, lim);
  ASSERT_EQ(r.kind, range_kind::ranges);
  EXPECT_EQ(r.count, 16u);
  EXPECT_EQ(parse_range(spaced_ranges(17, 1000), 1000000, lim).kind, range_kind::full);
  // 40 ranges that merge into one (gap 50 <= coalesce_gap 80) are fine.
  lim.coalesce_gap = 80;
  r = parse_range(spaced_ranges(40, 51), 1000000, lim);
  ASSERT_EQ(r.kind, range_kind::ranges);
  EXPECT_EQ(to_vector(r), (ranges_t{{0, 39 * 51}}));
  EXPECT_EQ(to_vector(parse_range("bytes=0-9,90-99", 10000, lim)), (ranges_t{{0, 99}}));
  EXPECT_EQ(to_vector(parse_range("bytes=0-9,91-99", 10000, lim)), (ranges_t{{0, 9}, {91, 99}}));
  // With the default gap 0, single bytes one apart stay separate parts and count.
  lim.coalesce_gap = 0;
  r = parse_range(spaced_ranges(16, 2), 1000000, lim);
  ASSERT_EQ(r.kind, range_kind::ranges);
  EXPECT_EQ(r.count, 16u);
  EXPECT_EQ(parse_range(spaced_ranges(17, 2), 1000000, lim).kind, range_kind::full);
  lim.max_ranges = 2;
  EXPECT_EQ(parse_range(spaced_ranges(2, 1000), 1000000, lim).kind, range_kind::ranges);
  EXPECT_EQ(parse_range(spaced_ranges(3, 1000), 1000000, lim).kind, range_kind::full);
  lim.max_ranges = 0;  // acts as 1
  EXPECT_EQ(parse_range(spaced_ranges(1, 1000), 1000000, lim).kind, range_kind::ranges);
  EXPECT_EQ(parse_range(spaced_ranges(2, 1000), 1000000, lim).kind, range_kind::full);
  lim.max_ranges = 1000;  // clamped to range_capacity
  r = parse_range(spaced_ranges(64, 1000), 1000000, lim);
  ASSERT_EQ(r.kind, range_kind::ranges);
  EXPECT_EQ(r.count, 64u);
}

TEST(ParseRangeLimits, MaxRangeSpecsCountsEveryNonEmptySpec) {
  range_limits lim;
  ASSERT_EQ(lim.max_range_specs, 64u);
  EXPECT_EQ(parse_range(spaced_ranges(64, 1), 1000000, lim).kind, range_kind::ranges);  // merge into one
  EXPECT_EQ(parse_range(spaced_ranges(65, 1), 1000000, lim).kind, range_kind::full);
  // Unsatisfiable specs count too; empty elements do not.
  std::string h = "bytes=0-0";
  for (int i = 0; i < 64; ++i)
    h += ",500-";
  EXPECT_EQ(parse_range(h, 100, lim).kind, range_kind::full);
  h = "bytes=0-0";
  for (int i = 0; i < 500; ++i)
    h += ",";
  EXPECT_EQ(parse_range(h, 100, lim).kind, range_kind::ranges);
  // A syntax error later in an over-long header still makes it invalid.
  EXPECT_EQ(parse_range(spaced_ranges(100, 10) + ",x", 1000000, lim).kind, range_kind::invalid);
  lim.max_range_specs = 3;
  EXPECT_EQ(parse_range("bytes=0-0,1-1,2-2", 100, lim).kind, range_kind::ranges);
  EXPECT_EQ(parse_range("bytes=0-0,1-1,2-2,3-3", 100, lim).kind, range_kind::full);
}

TEST(ParseRangeLimits, CoalesceGapAndSumRuleAreConfigurable) {
  range_limits lim;
  EXPECT_EQ(lim.coalesce_gap, 0u);
  EXPECT_EQ(to_vector(parse_range("bytes= 0-1 , 3-4", 100, lim)), (ranges_t{{0, 1}, {3, 4}}));
  lim.coalesce_gap = 1;
  EXPECT_EQ(to_vector(parse_range("bytes= 0-1 , 3-4", 100, lim)), (ranges_t{{0, 4}}));
  lim.coalesce_gap = 0;
  EXPECT_EQ(to_vector(parse_range("bytes=0-1,2-4", 100, lim)), (ranges_t{{0, 4}}));  // adjacent
  lim.coalesce_gap = UINT64_MAX;  // no overflow in the gap arithmetic
  EXPECT_EQ(to_vector(parse_range("bytes=0-1,-1", 18446744073709551615u, lim)),
            (ranges_t{{0, 18446744073709551614u}}));
  lim = {};
  lim.full_when_sum_exceeds_length = false;
  EXPECT_EQ(to_vector(parse_range("bytes=0-,0-", 10, lim)), (ranges_t{{0, 9}}));
  EXPECT_EQ(to_vector(parse_range("bytes=0-5,3-9", 10, lim)), (ranges_t{{0, 9}}));
}

TEST(ParseRange, ResultDoesNotReferToInput) {
  std::string h = "bytes=1-2";
  auto r = parse_range(h, 10);
  h.assign(h.size(), 'x');
  EXPECT_EQ(to_vector(r), (ranges_t{{1, 2}}));
}

TEST(ContentRange, Formats) {
  EXPECT_EQ(format_content_range(0, 99, 1000), "bytes 0-99/1000");
  EXPECT_EQ(format_content_range(byte_range{5, 5}, 6), "bytes 5-5/6");
  EXPECT_EQ(
      format_content_range(18446744073709551613u, 18446744073709551614u, 18446744073709551615u),
      "bytes 18446744073709551613-18446744073709551614/18446744073709551615");
  EXPECT_EQ(format_unsatisfied_range(1000), "bytes */1000");
  EXPECT_EQ(format_unsatisfied_range(0), "bytes */0");
}

TEST(MultipartBoundary, MakesAValid96BitBoundary) {
  auto b = make_multipart_boundary(0x0123456789abcdefu, 0xdeadbeefu);
  EXPECT_EQ(b.view(), "portico-0123456789abcdefdeadbeef");
  EXPECT_EQ(make_multipart_boundary(0, 0).view(), "portico-000000000000000000000000");
  EXPECT_TRUE(is_valid_boundary(b.view()));
  EXPECT_NE(make_multipart_boundary(1, 0).view(), make_multipart_boundary(0, 1).view());
}

TEST(MultipartBoundary, Rfc2046Rules) {
  EXPECT_TRUE(is_valid_boundary("a"));
  EXPECT_TRUE(is_valid_boundary(std::string(70, 'x')));
  EXPECT_FALSE(is_valid_boundary(std::string(71, 'x')));
  EXPECT_FALSE(is_valid_boundary(""));
  EXPECT_TRUE(is_valid_boundary("a b"));
  EXPECT_FALSE(is_valid_boundary("ab "));
  EXPECT_TRUE(is_valid_boundary("'()+_,-./:=?"));
  EXPECT_FALSE(is_valid_boundary("a\"b"));
  EXPECT_FALSE(is_valid_boundary("a@b"));
  EXPECT_FALSE(is_valid_boundary("a\r\nb"));
}

// ---- multipart planner, checked by an independent parser ------------------------------------

struct parsed_part {
  std::map<std::string, std::string> fields;
  std::string data;
};

// A deliberately simple multipart reader (RFC 2046 §5.1.1) for the test: delimiters are
// "--B" at the start of the body or "\r\n--B" later; the close delimiter is "--B--".
bool parse_multipart(const std::string& body, const std::string& boundary,
                     std::vector<parsed_part>& parts) {
  const std::string first = "--" + boundary + "\r\n";
  const std::string delim = "\r\n--" + boundary;
  if (body.compare(0, first.size(), first) != 0) return false;
  std::size_t pos = first.size();
  for (;;) {
    parsed_part p;
    std::size_t head_end = body.find("\r\n\r\n", pos);
    if (head_end == std::string::npos) return false;
    std::size_t line = pos;
    while (line < head_end) {
      std::size_t eol = body.find("\r\n", line);
      if (eol == std::string::npos || eol > head_end) eol = head_end;
      std::string l = body.substr(line, eol - line);
      auto colon = l.find(": ");
      if (colon == std::string::npos) return false;
      p.fields[l.substr(0, colon)] = l.substr(colon + 2);
      line = eol + 2;
    }
    std::size_t data_start = head_end + 4;
    std::size_t next = body.find(delim, data_start);
    if (next == std::string::npos) return false;
    p.data = body.substr(data_start, next - data_start);
    parts.push_back(std::move(p));
    pos = next + delim.size();
    if (body.compare(pos, 4, "--\r\n") == 0) return pos + 4 == body.size();
    if (body.compare(pos, 2, "\r\n") != 0) return false;
    pos += 2;
  }
}

std::string sample(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
  return s;
}

std::string build_body(const multipart_plan& plan, const std::string& file) {
  std::string body;
  for (const auto& p : plan.pieces) {
    if (p.what == multipart_piece::kind::text) {
      body += plan.text_of(p);
    } else {
      body += file.substr(static_cast<std::size_t>(p.offset), static_cast<std::size_t>(p.length));
    }
  }
  return body;
}

TEST(MultipartPlan, ExactLayoutForTwoParts) {
  std::string file = "0123456789abcdefghij";
  auto plan =
      plan_multipart_byteranges(ranges_t{{0, 2}, {10, 11}}, file.size(), "text/plain", "BOUND");
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->content_type, "multipart/byteranges; boundary=BOUND");
  std::string expected =
      "--BOUND\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-2/20\r\n\r\n"
      "012"
      "\r\n--BOUND\r\nContent-Type: text/plain\r\nContent-Range: bytes 10-11/20\r\n\r\n"
      "ab"
      "\r\n--BOUND--\r\n";
  EXPECT_EQ(build_body(*plan, file), expected);
  EXPECT_EQ(plan->content_length, expected.size());
  ASSERT_EQ(plan->pieces.size(), 5u);
  EXPECT_EQ(plan->pieces[1].what, multipart_piece::kind::file);
  EXPECT_EQ(plan->pieces[1].offset, 0u);
  EXPECT_EQ(plan->pieces[1].length, 3u);
  EXPECT_EQ(plan->pieces[3].offset, 10u);
  EXPECT_EQ(plan->pieces[3].length, 2u);
}

TEST(MultipartPlan, RoundTripsThroughAnIndependentParser) {
  const std::string file = sample(100000);
  const auto boundary = make_multipart_boundary(0x1234567890abcdefu, 0x0badf00du);
  const std::string b(boundary.view());
  struct variant {
    const char* range;
    const char* type;
  };
  for (auto v : {variant{"bytes=0-0,-1", "application/pdf"},
                 variant{"bytes=0-999, 4500-5499, -1000", "text/html; charset=utf-8"},
                 variant{"bytes=99990-,10-20,500-", ""},
                 variant{"bytes=1-1,3-3,5-5,200-300,900-,400-410", "image/png"}}) {
    SCOPED_TRACE(v.range);
    auto r = parse_range(v.range, file.size());
    ASSERT_EQ(r.kind, range_kind::ranges);
    ASSERT_GE(r.count, 2u);
    auto plan = plan_multipart_byteranges(r.ranges(), file.size(), v.type, b);
    ASSERT_TRUE(plan);
    std::uint64_t sum = 0;
    for (const auto& p : plan->pieces)
      sum += p.length;
    EXPECT_EQ(sum, plan->content_length);
    EXPECT_EQ(plan->pieces.size(), 2 * r.count + 1);
    for (std::size_t i = 0; i < plan->pieces.size(); ++i) {
      EXPECT_EQ(plan->pieces[i].what,
                i % 2 ? multipart_piece::kind::file : multipart_piece::kind::text);
    }
    std::string body = build_body(*plan, file);
    ASSERT_EQ(body.size(), plan->content_length);
    std::vector<parsed_part> parts;
    ASSERT_TRUE(parse_multipart(body, b, parts));
    ASSERT_EQ(parts.size(), r.count);
    for (std::size_t i = 0; i < parts.size(); ++i) {
      const auto& want = r.ranges()[i];
      EXPECT_EQ(parts[i].fields["Content-Range"], format_content_range(want, file.size()));
      if (*v.type) {
        EXPECT_EQ(parts[i].fields["Content-Type"], v.type);
        EXPECT_EQ(parts[i].fields.size(), 2u);
      } else {
        EXPECT_EQ(parts[i].fields.count("Content-Type"), 0u);
        EXPECT_EQ(parts[i].fields.size(), 1u);
      }
      EXPECT_EQ(parts[i].data, file.substr(static_cast<std::size_t>(want.first),
                                           static_cast<std::size_t>(want.length())));
    }
  }
}

TEST(MultipartPlan, QuotesABoundaryThatIsNotAToken) {
  auto plan = plan_multipart_byteranges(ranges_t{{0, 0}, {5, 5}}, 10, "", "a b:c");
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->content_type, "multipart/byteranges; boundary=\"a b:c\"");
}

TEST(MultipartPlan, RejectsBadInput) {
  EXPECT_FALSE(plan_multipart_byteranges({}, 10, "", "b"));
  EXPECT_FALSE(plan_multipart_byteranges(ranges_t{{0, 10}}, 10, "", "b"));  // last >= length
  EXPECT_FALSE(plan_multipart_byteranges(ranges_t{{5, 4}}, 10, "", "b"));   // first > last
  EXPECT_FALSE(plan_multipart_byteranges(ranges_t{{0, 1}}, 10, "", ""));
  EXPECT_FALSE(plan_multipart_byteranges(ranges_t{{0, 1}}, 10, "", "bad\"boundary"));
  EXPECT_FALSE(plan_multipart_byteranges(ranges_t{{0, 1}}, 10, "text/x\r\nSet-Cookie: a", "b"));
  const std::uint64_t big = 1ull << 63;
  EXPECT_FALSE(plan_multipart_byteranges(ranges_t{{0, big - 1}, {0, big - 1}}, big, "", "b"));
  EXPECT_TRUE(plan_multipart_byteranges(ranges_t{{0, 1}}, 10, "", "b"));
}

}  // namespace
}  // namespace portico::http
