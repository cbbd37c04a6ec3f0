// Tests for the WebSocket opening handshake (src/ws/handshake.cpp): the RFC 6455 §1.3 accept
// vector, every refusal with its status, Origin rules (exact, wildcard, same origin, missing),
// subprotocol and extension negotiation, and the RFC 8441 extended CONNECT entry.
#include "ws/handshake.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ws/errors.hpp"

namespace portico::ws {
namespace {

constexpr std::string_view sample_key = "dGhlIHNhbXBsZSBub25jZQ==";

struct request {
  std::string method = "GET";
  int version = 11;
  bool tls = false;
  std::vector<std::pair<std::string, std::string>> fields = {
      {"Host", "server.example.com"},  {"Upgrade", "websocket"},
      {"Connection", "Upgrade"},       {"Sec-WebSocket-Key", std::string(sample_key)},
      {"Sec-WebSocket-Version", "13"},
  };

  request& set(std::string name, std::string value) {
    remove(name);
    fields.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  request& add(std::string name, std::string value) {
    fields.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  request& remove(const std::string& name) {
    std::erase_if(fields, [&](const auto& f) { return f.first == name; });
    return *this;
  }
  handshake_result run(const endpoint_policy& p = {}) const {
    std::vector<header_view> h;
    for (const auto& f : fields)
      h.push_back({f.first, f.second});
    return accept_upgrade({method, version, h, tls}, p);
  }
};

std::string field(const handshake_result& r, std::string_view name) {
  for (const auto& f : r.fields)
    if (f.first == name) return f.second;
  return "<absent>";
}

TEST(WsHandshake, Rfc6455AcceptVector) {
  EXPECT_EQ(compute_accept(sample_key), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  const handshake_result r = request{}.run();
  ASSERT_EQ(r.status, 101) << r.detail;
  EXPECT_TRUE(r.accepted());
  EXPECT_EQ(field(r, "Sec-WebSocket-Accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(field(r, "Upgrade"), "websocket");
  EXPECT_EQ(field(r, "Connection"), "Upgrade");
  EXPECT_EQ(field(r, "Sec-WebSocket-Protocol"), "<absent>");
  EXPECT_EQ(field(r, "Sec-WebSocket-Extensions"), "<absent>");
  EXPECT_FALSE(r.deflate);
}

TEST(WsHandshake, TokensAreCaseInsensitiveLists) {
  request rq;
  rq.set("Upgrade", "foo/2, WebSocket").set("Connection", "keep-alive, UPGRADE");
  EXPECT_EQ(rq.run().status, 101);
  rq.remove("Connection").add("connection", "keep-alive").add("connection", "upgrade");
  EXPECT_EQ(rq.run().status, 101);
}

TEST(WsHandshake, VersionOtherThan13Is426) {
  for (const char* v : {"8", "12", "14", "13, 8", "", "abc"}) {
    const handshake_result r = request{}.set("Sec-WebSocket-Version", v).run();
    EXPECT_EQ(r.status, 426) << v;
    EXPECT_EQ(field(r, "Sec-WebSocket-Version"), "13");
    EXPECT_FALSE(r.detail.empty());
  }
  EXPECT_EQ(request{}.remove("Sec-WebSocket-Version").run().status, 426);
  EXPECT_EQ(request{}.add("Sec-WebSocket-Version", "13").run().status, 426);  // twice
}

TEST(WsHandshake, MalformedRequestsAre400) {
  EXPECT_EQ(request{}.remove("Upgrade").run().status, 400);
  EXPECT_EQ(request{}.set("Upgrade", "h2c").run().status, 400);
  EXPECT_EQ(request{}.set("Upgrade", "websocketx").run().status, 400);
  EXPECT_EQ(request{}.remove("Connection").run().status, 400);
  EXPECT_EQ(request{}.set("Connection", "keep-alive").run().status, 400);
  EXPECT_EQ(request{}.set("Connection", "upgrader").run().status, 400);
  EXPECT_EQ(request{}.remove("Host").run().status, 400);
  EXPECT_EQ(request{}.remove("Sec-WebSocket-Key").run().status, 400);
  EXPECT_EQ(request{}.add("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAA==").run().status, 400);
  for (const char* method : {"POST", "HEAD", "PUT", "get", "CONNECT"}) {
    request rq;
    rq.method = method;
    EXPECT_EQ(rq.run().status, 400) << method;
  }
  request old;
  old.version = 10;
  EXPECT_EQ(old.run().status, 400);
}

TEST(WsHandshake, KeyMustBe16BytesOfBase64) {
  EXPECT_TRUE(valid_key("AAAAAAAAAAAAAAAAAAAAAA=="));
  EXPECT_TRUE(valid_key("x3JJHMbDL1EzLkh9GBhXDw=="));
  for (const char* k : {"", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ=",
                        "dGhlIHNhbXBsZSBub25jZQ===", "dGhlIHNhbXBsZSBub25jZR==",  // non-canonical
                        "dGhlIHNhbXBsZSBub25j!Q==", "dGhlIHNhbXBsZSBub25jZSE=",   // 17 bytes
                        "dGhlIHNhbXBsZSBub25jZQ==AAAA", "aGVsbG8="}) {
    EXPECT_FALSE(valid_key(k)) << k;
    EXPECT_EQ(request{}.set("Sec-WebSocket-Key", k).run().status, 400) << k;
  }
}

// ---- Origin (RFC 6455 §10.2) ------------------------------------------------------------------

TEST(WsHandshake, NoOriginIsAllowedUnlessAuthenticationIsRequired) {
  EXPECT_EQ(request{}.run().status, 101);  // a non-browser client
  endpoint_policy p;
  p.requires_authentication = true;
  const handshake_result r = request{}.run(p);
  EXPECT_EQ(r.status, 403);
  EXPECT_FALSE(r.detail.empty());
  EXPECT_EQ(request{}.set("Origin", "http://server.example.com").run(p).status, 101);
}

TEST(WsHandshake, DefaultAllowsOnlyTheServersOwnOrigin) {
  EXPECT_EQ(request{}.set("Origin", "http://server.example.com").run().status, 101);
  EXPECT_EQ(request{}.set("Origin", "HTTP://Server.Example.COM").run().status, 101);
  EXPECT_EQ(request{}.set("Origin", "http://server.example.com:80").run().status, 101);
  // Another scheme, host or port is another origin.
  EXPECT_EQ(request{}.set("Origin", "https://server.example.com").run().status, 403);
  EXPECT_EQ(request{}.set("Origin", "http://evil.example").run().status, 403);
  EXPECT_EQ(request{}.set("Origin", "http://server.example.com:8080").run().status, 403);
  EXPECT_EQ(request{}.set("Origin", "http://server.example.com.evil.example").run().status, 403);
  EXPECT_EQ(request{}.set("Origin", "null").run().status, 403);
  EXPECT_EQ(request{}.set("Origin", "http://server.example.com/path").run().status, 403);
  EXPECT_EQ(
      request{}.add("Origin", "http://server.example.com").add("Origin", "http://x.y").run().status,
      403);
  // TLS: the server's origin is https://, default port 443.
  request tls;
  tls.tls = true;
  EXPECT_EQ(tls.set("Origin", "https://server.example.com").run().status, 101);
  EXPECT_EQ(tls.set("Origin", "https://server.example.com:443").run().status, 101);
  EXPECT_EQ(tls.set("Origin", "http://server.example.com").run().status, 403);
  // A Host with a port.
  request port;
  port.set("Host", "127.0.0.1:8080");
  EXPECT_EQ(port.set("Origin", "http://127.0.0.1:8080").run().status, 101);
  EXPECT_EQ(port.set("Origin", "http://127.0.0.1").run().status, 403);
  request v6;
  v6.set("Host", "[::1]:8443");
  v6.tls = true;
  EXPECT_EQ(v6.set("Origin", "https://[::1]:8443").run().status, 101);
  // Same origin can be switched off.
  endpoint_policy p;
  p.origins.allow_same_origin = false;
  EXPECT_EQ(request{}.set("Origin", "http://server.example.com").run(p).status, 403);
}

TEST(WsHandshake, AllowListExactAndWildcard) {
  origin_policy p;
  p.allowed = {"https://app.example.com", "https://*.example.org", "http://*.dev.test:8080",
               "null"};
  const auto ok = [&](std::string_view o) {
    return origin_allowed(o, p, "https", "api.example.net");
  };
  EXPECT_TRUE(ok("https://app.example.com"));
  EXPECT_TRUE(ok("https://APP.example.com:443"));
  EXPECT_FALSE(ok("http://app.example.com"));
  EXPECT_FALSE(ok("https://app.example.com:8443"));
  EXPECT_FALSE(ok("https://evil-app.example.com"));
  // Wildcards: any subdomain depth, never the bare domain, nor a look-alike suffix.
  EXPECT_TRUE(ok("https://a.example.org"));
  EXPECT_TRUE(ok("https://a.b.example.org"));
  EXPECT_FALSE(ok("https://example.org"));
  EXPECT_FALSE(ok("https://evilexample.org"));
  EXPECT_FALSE(ok("https://a.example.org.evil.net"));
  EXPECT_FALSE(ok("http://a.example.org"));
  EXPECT_FALSE(ok("https://a.example.org:444"));
  EXPECT_FALSE(ok("https://.example.org"));
  EXPECT_TRUE(ok("http://x.dev.test:8080"));
  EXPECT_FALSE(ok("http://x.dev.test"));
  // The literal "null" only because it is listed.
  EXPECT_TRUE(ok("null"));
  // Same origin still applies.
  EXPECT_TRUE(ok("https://api.example.net"));
  // "*" allows anything.
  origin_policy any;
  any.allowed = {"*"};
  EXPECT_TRUE(origin_allowed("https://anything.example", any, "http", "h"));
  // Through the handshake.
  endpoint_policy ep;
  ep.origins = p;
  EXPECT_EQ(request{}.set("Origin", "https://x.example.org").run(ep).status, 101);
  EXPECT_EQ(request{}.set("Origin", "https://example.org").run(ep).status, 403);
}

// ---- subprotocols and extensions --------------------------------------------------------------

TEST(WsHandshake, SubprotocolFollowsServerPreference) {
  endpoint_policy p;
  p.subprotocols = {"v2.chat", "v1.chat"};
  handshake_result r = request{}.set("Sec-WebSocket-Protocol", "v1.chat, v2.chat").run(p);
  ASSERT_EQ(r.status, 101);
  EXPECT_EQ(r.subprotocol, "v2.chat");
  EXPECT_EQ(field(r, "Sec-WebSocket-Protocol"), "v2.chat");
  r = request{}
          .add("Sec-WebSocket-Protocol", "other")
          .add("Sec-WebSocket-Protocol", "v1.chat")
          .run(p);
  EXPECT_EQ(r.subprotocol, "v1.chat");
  // None in common: accepted without one, unless required.
  r = request{}.set("Sec-WebSocket-Protocol", "mqtt").run(p);
  EXPECT_EQ(r.status, 101);
  EXPECT_EQ(field(r, "Sec-WebSocket-Protocol"), "<absent>");
  p.require_subprotocol = true;
  EXPECT_EQ(request{}.set("Sec-WebSocket-Protocol", "mqtt").run(p).status, 400);
  EXPECT_EQ(request{}.run(p).status, 400);
  EXPECT_EQ(request{}.set("Sec-WebSocket-Protocol", "a b").run(p).status, 400);
}

TEST(WsHandshake, PermessageDeflateNegotiated) {
  handshake_result r =
      request{}.set("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits").run();
  ASSERT_EQ(r.status, 101);
  ASSERT_TRUE(r.deflate);
  EXPECT_EQ(field(r, "Sec-WebSocket-Extensions"), "permessage-deflate");
  endpoint_policy off;
  off.deflate.enabled = false;
  r = request{}.set("Sec-WebSocket-Extensions", "permessage-deflate").run(off);
  EXPECT_FALSE(r.deflate);
  EXPECT_EQ(field(r, "Sec-WebSocket-Extensions"), "<absent>");
  EXPECT_EQ(request{}.set("Sec-WebSocket-Extensions", "permessage-deflate; =").run().status, 400);
  // An offer we decline leaves the handshake accepted, without the extension.
  r = request{}.set("Sec-WebSocket-Extensions", "permessage-deflate; foo").run();
  EXPECT_EQ(r.status, 101);
  EXPECT_FALSE(r.deflate);
}

// ---- RFC 8441 ---------------------------------------------------------------------------------

TEST(WsHandshake, ExtendedConnect) {
  std::vector<header_view> h = {{"sec-websocket-version", "13"},
                                {"origin", "https://server.example.com"},
                                {"sec-websocket-protocol", "chat"},
                                {"sec-websocket-extensions", "permessage-deflate"}};
  endpoint_policy p;
  p.subprotocols = {"chat"};
  connect_request rq{"CONNECT", "websocket", "https", "server.example.com", h};
  handshake_result r = accept_extended_connect(rq, p);
  ASSERT_EQ(r.status, 200) << r.detail;
  EXPECT_TRUE(r.accepted());
  EXPECT_EQ(r.subprotocol, "chat");
  EXPECT_TRUE(r.deflate);
  EXPECT_EQ(field(r, "Sec-WebSocket-Accept"), "<absent>");
  EXPECT_EQ(field(r, "Upgrade"), "<absent>");

  connect_request bad = rq;
  bad.protocol = "webtransport";
  EXPECT_EQ(accept_extended_connect(bad, p).status, 400);
  bad = rq;
  bad.method = "GET";
  EXPECT_EQ(accept_extended_connect(bad, p).status, 400);
  bad = rq;
  bad.authority = "";
  EXPECT_EQ(accept_extended_connect(bad, p).status, 400);
  bad = rq;
  bad.scheme = "http";  // the page's https origin is another origin
  EXPECT_EQ(accept_extended_connect(bad, p).status, 403);
  std::vector<header_view> v8 = h;
  v8[0].value = "8";
  bad = rq;
  bad.headers = v8;
  r = accept_extended_connect(bad, p);
  EXPECT_EQ(r.status, 426);
  EXPECT_EQ(field(r, "Sec-WebSocket-Version"), "13");
}

}  // namespace
}  // namespace portico::ws

namespace portico::ws {
namespace {

// The error category mirrors the close codes (DESIGN.md §4 rule 6).
TEST(WsErrors, CategoryMirrorsCloseCodes) {
  const std::error_code ec = close_code::message_too_big;
  EXPECT_EQ(ec.value(), 1009);
  EXPECT_STREQ(ec.category().name(), "portico.ws");
  EXPECT_EQ(ec.message(), "message too big");
  EXPECT_EQ(make_error_code(close_code::protocol_error).message(), "protocol error");
  EXPECT_EQ(std::error_code(4000, ws_category()).message(), "WebSocket close code 4000");
  const ws_error e = make_ws_error(close_code::invalid_payload, "text message is not UTF-8");
  EXPECT_TRUE(e);
  EXPECT_EQ(e.wire_code(), close_code::invalid_payload);
  EXPECT_FALSE(ws_error{});
  for (int c = 0; c < 6000; ++c) {
    const bool valid =
        (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1011) || (c >= 3000 && c <= 4999);
    EXPECT_EQ(is_valid_received_code(static_cast<std::uint16_t>(c)), valid) << c;
  }
}

}  // namespace
}  // namespace portico::ws
