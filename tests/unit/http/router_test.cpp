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

TEST(Date, FormatsImfFixdate) {
  char buf[29];
  format_imf_fixdate(784111777, buf);  // RFC 9110 §5.6.7 example
  EXPECT_EQ(std::string(buf, 29), "Sun, 06 Nov 1994 08:49:37 GMT");
}

}  // namespace
}  // namespace portico::http
