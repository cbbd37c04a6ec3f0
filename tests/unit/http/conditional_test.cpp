#include "http/conditional.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http/date.hpp"
#include "http/etag.hpp"

namespace portico::http {
namespace {

// 1994-11-06 08:49:37 UTC, the RFC 9110 §5.6.7 example.
constexpr std::int64_t rfc_example = 784111777;
// A "now" in 2025 (2025-06-01 00:00:00 UTC).
constexpr std::int64_t now_2025 = 1748736000;

// ---- entity tags ------------------------------------------------------------------------

TEST(EntityTag, Parses) {
  auto t = parse_entity_tag("\"xyzzy\"");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->opaque, "xyzzy");
  EXPECT_FALSE(t->weak);
  t = parse_entity_tag("W/\"xyzzy\"");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->opaque, "xyzzy");
  EXPECT_TRUE(t->weak);
  t = parse_entity_tag("  \"\"\t");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->opaque, "");
  t = parse_entity_tag("\"!#~\x80\xff\"");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->opaque, "!#~\x80\xff");
}

TEST(EntityTag, RejectsMalformed) {
  for (const char* bad :
       {"", "xyzzy", "\"xyzzy", "xyzzy\"", "w/\"x\"", "W\"x\"", "W/ \"x\"", "\"a\"b\"", "\"a b\"",
        "\"a\tb\"", "\"a\x7f\"", "\"a\x01\"", "\"a\",", "\"a\" \"b\"", "*", "W/"}) {
    EXPECT_FALSE(parse_entity_tag(bad)) << bad;
  }
}

// RFC 9110 §8.8.3.2, the comparison table.
TEST(EntityTag, Rfc9110ComparisonTable) {
  struct row {
    const char* a;
    const char* b;
    bool strong;
    bool weak;
  };
  for (auto r : {row{"W/\"1\"", "W/\"1\"", false, true}, row{"W/\"1\"", "W/\"2\"", false, false},
                 row{"W/\"1\"", "\"1\"", false, true}, row{"\"1\"", "\"1\"", true, true}}) {
    auto a = parse_entity_tag(r.a);
    auto b = parse_entity_tag(r.b);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(strong_match(*a, *b), r.strong) << r.a << " " << r.b;
    EXPECT_EQ(weak_match(*a, *b), r.weak) << r.a << " " << r.b;
    EXPECT_EQ(strong_match(*b, *a), r.strong);
    EXPECT_EQ(weak_match(*b, *a), r.weak);
  }
}

std::vector<entity_tag> read_all(std::string_view v, bool& failed) {
  entity_tag_list_reader r(v);
  std::vector<entity_tag> out;
  while (auto t = r.next())
    out.push_back(*t);
  failed = r.failed();
  EXPECT_FALSE(r.next());  // stays at the end
  return out;
}

TEST(EntityTagList, ReadsMembersWithOwsAndEmptyElements) {
  bool failed = true;
  auto tags = read_all("\"xyzzy\", \"r2d2xxxx\", \"c3piozzzz\"", failed);
  EXPECT_FALSE(failed);
  ASSERT_EQ(tags.size(), 3u);
  EXPECT_EQ(tags[2].opaque, "c3piozzzz");
  tags = read_all(" , ,W/\"a\" ,\t, \"b\",", failed);
  EXPECT_FALSE(failed);
  ASSERT_EQ(tags.size(), 2u);
  EXPECT_TRUE(tags[0].weak);
  EXPECT_EQ(tags[1].opaque, "b");
  tags = read_all("\"a,b\", \"c\"", failed);  // a comma inside a tag is etagc
  EXPECT_FALSE(failed);
  ASSERT_EQ(tags.size(), 2u);
  EXPECT_EQ(tags[0].opaque, "a,b");
  tags = read_all("", failed);
  EXPECT_FALSE(failed);
  EXPECT_TRUE(tags.empty());
}

TEST(EntityTagList, FailsOnSyntaxErrors) {
  for (const char* bad : {"\"a\" \"b\"", "\"a\";", "a", "\"a\", b", "\"a\", *", "\"a", "W/a"}) {
    bool failed = false;
    read_all(bad, failed);
    EXPECT_TRUE(failed) << bad;
  }
}

tag_list_match eval_list(std::vector<std::string_view> lines, const char* current,
                         tag_comparison how) {
  std::optional<entity_tag> cur;
  if (current) cur = parse_entity_tag(current);
  return match_entity_tag_list(lines, cur, how);
}

TEST(EntityTagList, Matching) {
  using enum tag_list_match;
  constexpr auto S = tag_comparison::strong;
  constexpr auto W = tag_comparison::weak;
  EXPECT_EQ(eval_list({}, "\"a\"", S), absent);
  EXPECT_EQ(eval_list({"", "  "}, "\"a\"", S), absent);
  EXPECT_EQ(eval_list({"*"}, "\"a\"", S), any);
  EXPECT_EQ(eval_list({" * "}, nullptr, W), any);
  EXPECT_EQ(eval_list({"*", "\"a\""}, "\"a\"", S), invalid);
  EXPECT_EQ(eval_list({"*, \"a\""}, "\"a\"", S), invalid);
  EXPECT_EQ(eval_list({"\"x\", \"a\""}, "\"a\"", S), match);
  EXPECT_EQ(eval_list({"\"x\"", "\"a\""}, "\"a\"", S), match);  // two field lines
  EXPECT_EQ(eval_list({"W/\"a\""}, "\"a\"", S), no_match);
  EXPECT_EQ(eval_list({"W/\"a\""}, "\"a\"", W), match);
  EXPECT_EQ(eval_list({"\"a\""}, "W/\"a\"", S), no_match);
  EXPECT_EQ(eval_list({"\"a\""}, "W/\"a\"", W), match);
  EXPECT_EQ(eval_list({"\"a\""}, nullptr, W), no_match);
  EXPECT_EQ(eval_list({"\"a\", junk"}, "\"a\"", S), invalid);  // invalid even after a match
  EXPECT_EQ(eval_list({"\"a\"", "junk"}, "\"a\"", S), invalid);
}

// ---- generated ETags --------------------------------------------------------------------

TEST(MakeEtag, FormatAndStrength) {
  EXPECT_EQ(make_etag(0x2a, 0x17a3c0d2e5f01b2c, 0).view(), "\"17a3c0d2e5f01b2c-2a\"");
  EXPECT_EQ(make_etag(0, 0, 0).view(), "\"0-0\"");
  EXPECT_EQ(make_etag(1, 2, 0xabc).view(), "\"2-1-abc\"");
  EXPECT_EQ(make_etag(UINT64_MAX, -1, UINT64_MAX).view(),
            "\"ffffffffffffffff-ffffffffffffffff-ffffffffffffffff\"");
  auto e = make_etag(1234, 1700000000123456789, 99);
  auto t = parse_entity_tag(e.view());
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->weak);
  EXPECT_EQ(e.str(), std::string(e.view()));
  // Any change of size, time or salt changes the tag.
  EXPECT_NE(make_etag(1234, 1700000000123456789, 99).view(),
            make_etag(1235, 1700000000123456789, 99).view());
  EXPECT_NE(make_etag(1234, 1700000000123456789, 99).view(),
            make_etag(1234, 1700000000123456790, 99).view());
  EXPECT_NE(make_etag(1234, 1700000000123456789, 99).view(),
            make_etag(1234, 1700000000123456789, 98).view());
}

TEST(MakeEtag, VariantSuffix) {
  auto base = make_etag(0x2a, 0x10, 0);
  auto br = with_variant_suffix(base.view(), "br");
  ASSERT_TRUE(br);
  EXPECT_EQ(br->view(), "\"10-2a-br\"");
  auto gz = with_variant_suffix(base.view(), "gz");
  ASSERT_TRUE(gz);
  EXPECT_EQ(gz->view(), "\"10-2a-gz\"");
  auto a = parse_entity_tag(base.view());
  auto b = parse_entity_tag(br->view());
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(weak_match(*a, *b));
  auto weak = with_variant_suffix("W/\"x\"", "br");
  ASSERT_TRUE(weak);
  EXPECT_EQ(weak->view(), "W/\"x-br\"");
  EXPECT_FALSE(with_variant_suffix("\"x\"", ""));
  EXPECT_FALSE(with_variant_suffix("\"x\"", "b\"r"));
  EXPECT_FALSE(with_variant_suffix("\"x\"", "b r"));
  EXPECT_FALSE(with_variant_suffix("x", "br"));
  EXPECT_FALSE(with_variant_suffix("\"x\", \"y\"", "br"));
  std::string long_tag = "\"" + std::string(75, 'a') + "\"";  // 77 + "-br" = 80 fits
  EXPECT_TRUE(with_variant_suffix(long_tag, "br"));
  EXPECT_FALSE(with_variant_suffix(long_tag, "bro"));
}

// ---- HTTP-date --------------------------------------------------------------------------

TEST(HttpDate, Rfc9110ExamplesInAllThreeFormats) {
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", now_2025), rfc_example);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", now_2025), rfc_example);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994", now_2025), rfc_example);
  EXPECT_EQ(parse_http_date("Sun Nov 06 08:49:37 1994", now_2025), rfc_example);
  EXPECT_EQ(parse_http_date("  Sun, 06 Nov 1994 08:49:37 GMT\t", now_2025), rfc_example);
}

TEST(HttpDate, RoundTripsWithTheFormatter) {
  for (std::int64_t t : {std::int64_t{0}, std::int64_t{951782400} /* 2000-02-29 */,
                         std::int64_t{1748736000}, std::int64_t{253402300799} /* 9999 */,
                         std::int64_t{-62135596800} /* 0001-01-01 */, rfc_example}) {
    char buf[29];
    format_imf_fixdate(static_cast<std::time_t>(t), buf);
    EXPECT_EQ(parse_http_date(std::string_view(buf, sizeof buf), now_2025), t)
        << std::string_view(buf, sizeof buf);
  }
}

TEST(HttpDate, CalendarAndTimeLimits) {
  EXPECT_EQ(parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT", now_2025), 951782400);
  EXPECT_FALSE(parse_http_date("Thu, 29 Feb 2001 00:00:00 GMT", now_2025));
  EXPECT_FALSE(parse_http_date("Sat, 31 Apr 2000 00:00:00 GMT", now_2025));
  EXPECT_FALSE(parse_http_date("Sat, 00 Apr 2000 00:00:00 GMT", now_2025));
  EXPECT_FALSE(parse_http_date("Sat, 01 Apr 2000 24:00:00 GMT", now_2025));
  EXPECT_FALSE(parse_http_date("Sat, 01 Apr 2000 23:60:00 GMT", now_2025));
  EXPECT_FALSE(parse_http_date("Sat, 01 Apr 2000 23:59:61 GMT", now_2025));
  // Leap second reads as :59.
  EXPECT_EQ(parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT", now_2025),
            parse_http_date("Sat, 31 Dec 2016 23:59:59 GMT", now_2025));
  EXPECT_EQ(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT", now_2025), 0);
  EXPECT_EQ(parse_http_date("Wed, 31 Dec 1969 23:59:59 GMT", now_2025), -1);
  // The day-name is not checked against the date.
  EXPECT_EQ(parse_http_date("Mon, 06 Nov 1994 08:49:37 GMT", now_2025), rfc_example);
}

TEST(HttpDate, Rfc850TwoDigitYears) {
  // RFC 9110 §5.6.7: a year more than 50 years in the future means the previous century.
  auto imf = [](const char* year) {
    return parse_http_date(std::string("Mon, 01 Jan ") + year + " 00:00:00 GMT", 0);
  };
  auto rfc850 = [](const char* yy, std::int64_t now) {
    return parse_http_date(std::string("Monday, 01-Jan-") + yy + " 00:00:00 GMT", now);
  };
  EXPECT_EQ(rfc850("94", now_2025), imf("1994"));
  EXPECT_EQ(rfc850("25", now_2025), imf("2025"));
  EXPECT_EQ(rfc850("00", now_2025), imf("2000"));
  EXPECT_EQ(rfc850("75", now_2025), imf("2075"));  // exactly 50 years ahead
  EXPECT_EQ(rfc850("76", now_2025), imf("1976"));
  EXPECT_EQ(rfc850("70", rfc_example), imf("1970"));
  EXPECT_EQ(rfc850("70", rfc_example), 0);
  EXPECT_EQ(rfc850("44", rfc_example), imf("2044"));
  // Near a century's end the next century is chosen.
  const std::int64_t in_2099 = *imf("2099");
  EXPECT_EQ(rfc850("00", in_2099), imf("2100"));
  EXPECT_EQ(rfc850("49", in_2099), imf("2149"));
  EXPECT_EQ(rfc850("50", in_2099), imf("2050"));
}

TEST(HttpDate, RejectsMalformed) {
  for (const char* bad : {
           "",
           "Sun, 06 Nov 1994 08:49:37 UTC",
           "Sun, 06 Nov 1994 08:49:37 gmt",
           "sun, 06 Nov 1994 08:49:37 GMT",
           "Sun, 06 nov 1994 08:49:37 GMT",
           "Sun, 6 Nov 1994 08:49:37 GMT",
           "Sun, 06 Nov 94 08:49:37 GMT",
           "Sun,06 Nov 1994 08:49:37 GMT",
           "Sun, 06 Nov 1994 08:49:37 GMT ,",
           "Sun, 06 Nov 1994 08:49:37 GMTx",
           "Sun, 06 Nov 1994 8:49:37 GMT",
           "Sun, 06 Nov 1994 08:49 GMT",
           "Sun, 06  Nov 1994 08:49:37 GMT",
           "Xyz, 06 Nov 1994 08:49:37 GMT",
           "Sunday, 06 Nov 1994 08:49:37 GMT",
           "Sun, 06-Nov-94 08:49:37 GMT",
           "Sunday, 06-Nov-1994 08:49:37 GMT",
           "Sunday, 06-Nov-94 08:49:37",
           "Sun Nov 6 08:49:37 1994",
           "Sun Nov  6 08:49:37 94",
           "Sun Nov  6 08:49:37 1994 GMT",
           "Sun Nov   6 08:49:37 1994",
           "Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT",
           "784111777",
           "Sun, 0\xff Nov 1994 08:49:37 GMT",
       }) {
    EXPECT_FALSE(parse_http_date(bad, now_2025)) << bad;
  }
}

// ---- evaluate_preconditions (RFC 9110 §13.2.2) ------------------------------------------

struct conds {
  std::vector<std::string_view> im, inm;
  std::string_view ims, ius;
  request_conditions get() const { return {im, inm, ims, ius}; }
};

constexpr std::string_view etag = "\"abc\"";
constexpr std::string_view imf_example = "Sun, 06 Nov 1994 08:49:37 GMT";
constexpr std::string_view imf_before = "Sat, 05 Nov 1994 08:49:37 GMT";
constexpr std::string_view imf_after = "Mon, 07 Nov 1994 08:49:37 GMT";
constexpr std::string_view imf_future = "Fri, 01 Jan 2100 00:00:00 GMT";

const resource_state file{etag, rfc_example, true};

using enum precondition_result;

precondition_result eval(const conds& c, bool get = true, const resource_state& r = file) {
  return evaluate_preconditions(c.get(), r, get, now_2025);
}

TEST(Preconditions, NoConditionsProceed) {
  EXPECT_EQ(eval({}), proceed);
  EXPECT_EQ(eval({}, false), proceed);
}

TEST(Preconditions, IfMatch) {
  EXPECT_EQ(eval({.im = {"\"abc\""}}), proceed);
  EXPECT_EQ(eval({.im = {"\"x\", \"abc\""}}, false), proceed);
  EXPECT_EQ(eval({.im = {"\"x\""}}), precondition_failed);
  EXPECT_EQ(eval({.im = {"W/\"abc\""}}), precondition_failed);  // strong comparison
  EXPECT_EQ(eval({.im = {"*"}}), proceed);
  EXPECT_EQ(eval({.im = {"*"}}, false, {"", std::nullopt, false}), precondition_failed);
  EXPECT_EQ(eval({.im = {"\"abc\""}}, false, {"", std::nullopt, false}), precondition_failed);
  EXPECT_EQ(eval({.im = {"junk"}}), precondition_failed);
  // A weak current tag never passes If-Match.
  EXPECT_EQ(eval({.im = {"W/\"abc\""}}, true, {"W/\"abc\"", rfc_example, true}),
            precondition_failed);
  // A resource without an ETag fails every tag.
  EXPECT_EQ(eval({.im = {"\"abc\""}}, true, {"", rfc_example, true}), precondition_failed);
}

TEST(Preconditions, IfUnmodifiedSince) {
  EXPECT_EQ(eval({.ius = imf_example}), proceed);  // equal: not modified since
  EXPECT_EQ(eval({.ius = imf_after}), proceed);
  EXPECT_EQ(eval({.ius = imf_before}, false), precondition_failed);
  EXPECT_EQ(eval({.ius = "garbage"}, false), proceed);  // invalid: ignored
  EXPECT_EQ(eval({.ius = imf_before}, false, {etag, std::nullopt, true}), proceed);  // no date
  // Ignored when If-Match is present (step 2 only without If-Match).
  EXPECT_EQ(eval({.im = {"\"abc\""}, .ius = imf_before}, false), proceed);
}

TEST(Preconditions, IfNoneMatch) {
  EXPECT_EQ(eval({.inm = {"\"abc\""}}), not_modified);
  EXPECT_EQ(eval({.inm = {"W/\"abc\""}}), not_modified);  // weak comparison
  EXPECT_EQ(eval({.inm = {"\"abc\""}}, true, {"W/\"abc\"", rfc_example, true}), not_modified);
  EXPECT_EQ(eval({.inm = {"\"x\"", "\"abc\""}}), not_modified);
  EXPECT_EQ(eval({.inm = {"\"x\""}}), proceed);
  EXPECT_EQ(eval({.inm = {"\"abc\""}}, false), precondition_failed);
  EXPECT_EQ(eval({.inm = {"*"}}), not_modified);
  EXPECT_EQ(eval({.inm = {"*"}}, false), precondition_failed);
  // PUT to create: If-None-Match: * passes when nothing exists.
  EXPECT_EQ(eval({.inm = {"*"}}, false, {"", std::nullopt, false}), proceed);
  EXPECT_EQ(eval({.inm = {"\"abc\""}}, false, {etag, std::nullopt, false}), proceed);
  // Malformed: read proceeds, write fails closed.
  EXPECT_EQ(eval({.inm = {"abc"}}), proceed);
  EXPECT_EQ(eval({.inm = {"abc"}}, false), precondition_failed);
}

TEST(Preconditions, IfModifiedSince) {
  EXPECT_EQ(eval({.ims = imf_example}), not_modified);
  EXPECT_EQ(eval({.ims = imf_after}), not_modified);
  EXPECT_EQ(eval({.ims = imf_before}), proceed);
  EXPECT_EQ(eval({.ims = "Sunday, 06-Nov-94 08:49:37 GMT"}), not_modified);
  EXPECT_EQ(eval({.ims = "Sun Nov  6 08:49:37 1994"}), not_modified);
  EXPECT_EQ(eval({.ims = "garbage"}), proceed);
  EXPECT_EQ(eval({.ims = imf_future}), proceed);          // later than now: ignored
  EXPECT_EQ(eval({.ims = imf_example}, false), proceed);  // GET/HEAD only
  EXPECT_EQ(eval({.ims = imf_example}, true, {etag, std::nullopt, true}), proceed);
}

TEST(Preconditions, PrecedenceOrder) {
  // 1 before 3: If-Match fails -> 412 even though If-None-Match would give 304.
  EXPECT_EQ(eval({.im = {"\"x\""}, .inm = {"\"abc\""}}), precondition_failed);
  // 1 passes, then 3 decides.
  EXPECT_EQ(eval({.im = {"\"abc\""}, .inm = {"\"abc\""}}), not_modified);
  EXPECT_EQ(eval({.im = {"\"abc\""}, .inm = {"\"x\""}}), proceed);
  // 2 before 3 and 4.
  EXPECT_EQ(eval({.inm = {"\"abc\""}, .ius = imf_before}), precondition_failed);
  EXPECT_EQ(eval({.ims = imf_example, .ius = imf_before}), precondition_failed);
  EXPECT_EQ(eval({.ims = imf_example, .ius = imf_after}), not_modified);
  // 3 replaces 4: a non-matching If-None-Match makes a matching If-Modified-Since irrelevant,
  // and a matching one wins over a stale date.
  EXPECT_EQ(eval({.inm = {"\"stale\""}, .ims = imf_example}), proceed);
  EXPECT_EQ(eval({.inm = {"\"abc\""}, .ims = imf_before}), not_modified);
  // Even a malformed If-None-Match counts as present for step 4.
  EXPECT_EQ(eval({.inm = {"junk"}, .ims = imf_example}), proceed);
  // Only empty lines: absent, so step 4 runs.
  EXPECT_EQ(eval({.inm = {""}, .ims = imf_example}), not_modified);
  // Everything passes.
  EXPECT_EQ(eval({.im = {"*"}, .inm = {"\"x\""}, .ims = imf_before, .ius = imf_after}), proceed);
}

// ---- If-Range (RFC 9110 §13.1.5) --------------------------------------------------------

TEST(IfRange, EntityTags) {
  EXPECT_TRUE(if_range_allows("", etag, rfc_example, now_2025));  // absent
  EXPECT_TRUE(if_range_allows("\"abc\"", etag, rfc_example, now_2025));
  EXPECT_FALSE(if_range_allows("\"abd\"", etag, rfc_example, now_2025));
  EXPECT_FALSE(if_range_allows("W/\"abc\"", etag, rfc_example, now_2025));
  EXPECT_FALSE(if_range_allows("\"abc\"", "W/\"abc\"", rfc_example, now_2025));
  EXPECT_FALSE(if_range_allows("\"abc\"", "", rfc_example, now_2025));
  EXPECT_FALSE(if_range_allows("\"abc\", \"abc\"", etag, rfc_example, now_2025));
  EXPECT_FALSE(if_range_allows("\"abc", etag, rfc_example, now_2025));
}

TEST(IfRange, DatesMatchExactlyAndMustBeStrong) {
  EXPECT_TRUE(if_range_allows(imf_example, etag, rfc_example, now_2025));
  EXPECT_TRUE(if_range_allows("Sun Nov  6 08:49:37 1994", etag, rfc_example, now_2025));
  EXPECT_FALSE(if_range_allows(imf_after, etag, rfc_example, now_2025));  // not <=, exact
  EXPECT_FALSE(if_range_allows(imf_before, etag, rfc_example, now_2025));
  EXPECT_FALSE(if_range_allows(imf_example, etag, std::nullopt, now_2025));
  EXPECT_FALSE(if_range_allows("garbage", etag, rfc_example, now_2025));
  // Modified during the current second: the date is weak.
  EXPECT_FALSE(if_range_allows(imf_example, etag, rfc_example, rfc_example));
  EXPECT_TRUE(if_range_allows(imf_example, etag, rfc_example, rfc_example + 1));
}

}  // namespace
}  // namespace portico::http
