#include "http/router.hpp"

#include <gtest/gtest.h>

#include "http/date.hpp"
#include "http/exchange.hpp"

namespace portico::http {
namespace {

struct fixture {
  router r;
  detail::exchange x;
  int hit = 0;
  portico::handler h(int id) {
    return [this, id](const portico::request&, portico::response&) { hit = id; };
  }
};

TEST(Router, MatchesLiteralsParametersAndRest) {
  fixture f;
  f.r.add("GET", "/users/:id", f.h(1));
  f.r.add("GET", "/files/*", f.h(2));
  f.r.add("POST", "/users/:id", f.h(3));
  auto m = f.r.match("GET", "/users/42", f.x);
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(f.x.param_count, 1);
  EXPECT_EQ(f.x.params[0].name, "id");
  EXPECT_EQ(f.x.params[0].value, "42");
  m = f.r.match("GET", "/files/a/b/c.txt", f.x);
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(f.x.params[0].value, "a/b/c.txt");
  m = f.r.match("GET", "/files", f.x);
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(f.x.params[0].value, "");
  EXPECT_EQ(f.r.match("GET", "/users/", f.x).handler, nullptr);
  EXPECT_EQ(f.r.match("GET", "/users/1/extra", f.x).handler, nullptr);
}

TEST(Router, WrongMethodGives405Allow) {
  fixture f;
  f.r.add("GET", "/a", f.h(1));
  f.r.add("PUT", "/a", f.h(2));
  auto m = f.r.match("DELETE", "/a", f.x);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_TRUE(m.path_matched);
  EXPECT_EQ(m.allow, "GET, HEAD, PUT");
  auto none = f.r.match("GET", "/b", f.x);
  EXPECT_FALSE(none.path_matched);
}

TEST(Router, HeadUsesGetRoutes) {
  fixture f;
  f.r.add("GET", "/a", f.h(1));
  EXPECT_NE(f.r.match("HEAD", "/a", f.x).handler, nullptr);
}

TEST(Router, RejectsMalformedPatterns) {
  fixture f;
  EXPECT_THROW(f.r.add("GET", "nope", f.h(1)), std::invalid_argument);
  EXPECT_THROW(f.r.add("GET", "/*/x", f.h(1)), std::invalid_argument);
  EXPECT_THROW(f.r.add("GET", "/:", f.h(1)), std::invalid_argument);
}

TEST(PercentDecode, DecodesAndRejectsMalformedOrNul) {
  std::string out;
  EXPECT_TRUE(portico::percent_decode("/a%20b%2Fc", out));
  EXPECT_EQ(out, "/a b/c");
  EXPECT_FALSE(portico::percent_decode("/%zz", out));
  EXPECT_FALSE(portico::percent_decode("/%2", out));
  EXPECT_FALSE(portico::percent_decode("/%00", out));
}

TEST(PercentDecode, CopiesPlainInputAndDecodesAfterAPlainPrefix) {
  std::string out = "left over";
  EXPECT_TRUE(portico::percent_decode("/a/b.txt", out));
  EXPECT_EQ(out, "/a/b.txt");
  EXPECT_TRUE(portico::percent_decode("", out));
  EXPECT_EQ(out, "");
  EXPECT_TRUE(portico::percent_decode("%41", out));
  EXPECT_EQ(out, "A");
  EXPECT_TRUE(portico::percent_decode("abc%2f%2Fd+e%7E", out));
  EXPECT_EQ(out, "abc//d+e~");
  EXPECT_FALSE(portico::percent_decode("abc%", out));
  EXPECT_FALSE(portico::percent_decode("abc%4", out));
}

TEST(Router, ParamsByName) {
  fixture f;
  f.r.add("GET", "/u/:id/:part/*", f.h(1));
  ASSERT_NE(f.r.match("GET", "/u/7/x/rest/of", f.x).handler, nullptr);
  const portico::request& req = f.x.req();
  EXPECT_EQ(req.param("id"), "7");
  EXPECT_EQ(req.param("part"), "x");
  EXPECT_EQ(req.param("*"), "rest/of");
  EXPECT_EQ(req.param("i"), "");
  EXPECT_EQ(req.param("idx"), "");
}

TEST(FieldList, StaticNamesAndValueViews) {
  detail::field_list l;
  const std::string etag = "\"abc\"";
  l.add("X-Custom", "1");
  l.add_static("ETag", "etag", etag);
  l.add_static_view("Content-Type", "content-type", "text/plain");
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[0].name, "X-Custom");
  EXPECT_EQ(l[0].lower, "x-custom");
  EXPECT_EQ(l[0].value, "1");
  EXPECT_EQ(l[1].lower, "etag");
  EXPECT_EQ(l[1].value, etag);
  EXPECT_NE(l[1].value.data(), etag.data());  // copied
  EXPECT_EQ(l[2].name, "Content-Type");
  EXPECT_EQ(l[2].lower, "content-type");
  EXPECT_EQ(l[2].value, "text/plain");
  l.clear();
  EXPECT_TRUE(l.empty());
}

TEST(Date, FormatsImfFixdate) {
  char buf[29];
  format_imf_fixdate(784111777, buf);  // RFC 9110 §5.6.7 example
  EXPECT_EQ(std::string(buf, 29), "Sun, 06 Nov 1994 08:49:37 GMT");
}

}  // namespace
}  // namespace portico::http
