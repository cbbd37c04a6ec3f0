// Tests for permessage-deflate (src/ws/deflate.cpp): negotiation rules of RFC 7692 §7.1, the
// §7.2.3 examples both ways, context takeover, and the decompression bound.
#include "ws/deflate.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace portico::ws {
namespace {

std::string hex(std::initializer_list<int> b) {
  std::string s;
  for (int v : b)
    s.push_back(static_cast<char>(v));
  return s;
}

std::span<const std::byte> bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

extension_negotiation offer(std::string_view v, const deflate_config& cfg = {}) {
  const std::string_view values[] = {v};
  return negotiate_deflate(values, cfg);
}

// ---- negotiation (RFC 7692 §5, §7.1) ---------------------------------------------------------

TEST(WsDeflate, PlainOfferAccepted) {
  const auto n = offer("permessage-deflate");
  ASSERT_TRUE(n.params);
  EXPECT_FALSE(n.malformed);
  EXPECT_EQ(n.response, "permessage-deflate");
  EXPECT_EQ(*n.params, deflate_params{});
}

TEST(WsDeflate, ContextTakeoverParameters) {
  auto n = offer("permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  ASSERT_TRUE(n.params);
  EXPECT_TRUE(n.params->server_no_context_takeover);
  EXPECT_TRUE(n.params->client_no_context_takeover);
  EXPECT_EQ(n.response,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  // The server may add them on its own.
  deflate_config cfg;
  cfg.server_no_context_takeover = true;
  cfg.request_client_no_context_takeover = true;
  n = offer("permessage-deflate", cfg);
  EXPECT_EQ(n.response,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
}

TEST(WsDeflate, ServerMaxWindowBits) {
  auto n = offer("permessage-deflate; server_max_window_bits=10");
  ASSERT_TRUE(n.params);
  EXPECT_EQ(n.params->server_max_window_bits, 10);
  EXPECT_EQ(n.response, "permessage-deflate; server_max_window_bits=10");
  // Our limit is smaller: the smaller value (§7.1.2.1 "the same or smaller").
  deflate_config cfg;
  cfg.server_max_window_bits = 9;
  n = offer("permessage-deflate; server_max_window_bits=12", cfg);
  EXPECT_EQ(n.params->server_max_window_bits, 9);
  // Not offered: the server may still announce its limit.
  n = offer("permessage-deflate", cfg);
  EXPECT_EQ(n.response, "permessage-deflate; server_max_window_bits=9");
  // 8 cannot be honoured by zlib (raw DEFLATE): declined, the next offer is taken.
  n = offer("permessage-deflate; server_max_window_bits=8");
  EXPECT_FALSE(n.params);
  EXPECT_FALSE(n.malformed);
  n = offer("permessage-deflate; server_max_window_bits=8, permessage-deflate");
  ASSERT_TRUE(n.params);
  EXPECT_EQ(n.response, "permessage-deflate");
  // Quoted-string values are unescaped (RFC 6455 §9.1).
  n = offer("permessage-deflate; server_max_window_bits=\"11\"");
  ASSERT_TRUE(n.params);
  EXPECT_EQ(n.params->server_max_window_bits, 11);
}

TEST(WsDeflate, ClientMaxWindowBits) {
  deflate_config cfg;
  cfg.client_max_window_bits = 10;
  // Offered without a value: we may ask for our window.
  auto n = offer("permessage-deflate; client_max_window_bits", cfg);
  ASSERT_TRUE(n.params);
  EXPECT_EQ(n.params->client_max_window_bits, 10);
  EXPECT_EQ(n.response, "permessage-deflate; client_max_window_bits=10");
  // Offered with a smaller value than ours: nothing to ask.
  n = offer("permessage-deflate; client_max_window_bits=9", cfg);
  EXPECT_EQ(n.params->client_max_window_bits, 9);
  EXPECT_EQ(n.response, "permessage-deflate");
  // Not offered: the response MUST NOT include it (§7.1.2.2).
  n = offer("permessage-deflate", cfg);
  ASSERT_TRUE(n.params);
  EXPECT_EQ(n.response, "permessage-deflate");
  // Default config: never asked.
  EXPECT_EQ(offer("permessage-deflate; client_max_window_bits").response, "permessage-deflate");
}

TEST(WsDeflate, InvalidOffersDeclined) {
  for (const char* v : {
           "permessage-deflate; foo",                              // unknown parameter
           "permessage-deflate; server_no_context_takeover=1",     // value not allowed
           "permessage-deflate; client_no_context_takeover=true",  //
           "permessage-deflate; server_max_window_bits",           // value required
           "permessage-deflate; server_max_window_bits=16",        // out of range
           "permessage-deflate; server_max_window_bits=7",         //
           "permessage-deflate; server_max_window_bits=08",        // leading zero
           "permessage-deflate; server_max_window_bits=010",       //
           "permessage-deflate; client_max_window_bits=abc",       //
           "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
           "permessage-deflate; client_max_window_bits=10; client_max_window_bits=11",
       }) {
    const auto n = offer(v);
    EXPECT_FALSE(n.params) << v;
    EXPECT_FALSE(n.malformed) << v;
    EXPECT_TRUE(n.response.empty()) << v;
  }
}

TEST(WsDeflate, OtherExtensionsIgnoredAndListsAcrossFields) {
  auto n = offer("x-webkit-deflate-frame, permessage-deflate; client_max_window_bits");
  EXPECT_TRUE(n.params);
  const std::string_view two[] = {"foo; bar=1", "permessage-deflate"};
  n = negotiate_deflate(two, {});
  EXPECT_TRUE(n.params);
  EXPECT_FALSE(offer("x-other").params);
  EXPECT_FALSE(offer("").params);
  deflate_config off;
  off.enabled = false;
  EXPECT_FALSE(offer("permessage-deflate", off).params);
}

TEST(WsDeflate, MalformedHeader) {
  for (const char* v : {"permessage-deflate;", "permessage-deflate; =3", "; x",
                        "permessage-deflate; a=\"unterminated", "permessage-deflate x",
                        "permessage-deflate; a=", "permessage-deflate; a=b=c",
                        // a quoted value must be a token once unescaped (RFC 6455 §9.1)
                        "permessage-deflate; client_max_window_bits=\"1 5\""}) {
    EXPECT_TRUE(offer(v).malformed) << v;
  }
}

// ---- RFC 7692 §7.2.3 examples -----------------------------------------------------------------

std::string inflate_all(inflater& z, const std::string& payload, std::size_t limit = 1 << 20) {
  std::string out;
  EXPECT_EQ(z.feed(bytes(payload), out, limit), inflater::status::ok);
  EXPECT_EQ(z.finish(out, limit), inflater::status::ok);
  return out;
}

TEST(WsDeflate, Rfc7692Examples) {
  const std::string hello = hex({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00});
  {
    // §7.2.3.1: one message; fed split at every position.
    for (std::size_t i = 0; i <= hello.size(); ++i) {
      inflater z;
      std::string out;
      ASSERT_EQ(z.feed(bytes(hello.substr(0, i)), out, 100), inflater::status::ok);
      ASSERT_EQ(z.feed(bytes(hello.substr(i)), out, 100), inflater::status::ok);
      ASSERT_EQ(z.finish(out, 100), inflater::status::ok);
      EXPECT_EQ(out, "Hello") << i;
    }
  }
  {
    // §7.2.3.2: context takeover, the second "Hello" refers to the first.
    inflater z;
    EXPECT_EQ(inflate_all(z, hello), "Hello");
    EXPECT_EQ(inflate_all(z, hex({0xf2, 0x00, 0x11, 0x00, 0x00})), "Hello");
  }
  {
    // §7.2.3.3: a block with BFINAL set; what follows it in the message is ignored.
    inflater z;
    EXPECT_EQ(inflate_all(z, hex({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})), "Hello");
    EXPECT_EQ(inflate_all(z, hex({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00})), "Hello");
    EXPECT_EQ(inflate_all(z, hello), "Hello");  // the next message starts a new stream
  }
  {
    // §7.2.3.4: two DEFLATE blocks in one message.
    inflater z;
    EXPECT_EQ(inflate_all(z, hex({0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9,
                                  0x07, 0x00})),
              "Hello");
  }
  {
    // §7.2.3.5: a stored (uncompressed) block.
    inflater z;
    EXPECT_EQ(
        inflate_all(z, hex({0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00})),
        "Hello");
  }
  {
    // §7.2.3.6: an empty message.
    inflater z;
    EXPECT_EQ(inflate_all(z, hex({0x00})), "");
  }
}

TEST(WsDeflate, DeflaterProducesTheRfcBytes) {
  deflater d;
  std::string a, b, e;
  ASSERT_TRUE(d.compress("Hello", a));
  EXPECT_EQ(a, hex({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
  ASSERT_TRUE(d.compress("Hello", b));  // context takeover (§7.2.3.2)
  EXPECT_EQ(b, hex({0xf2, 0x00, 0x11, 0x00, 0x00}));
  ASSERT_TRUE(d.compress("", e));
  EXPECT_EQ(e, hex({0x00}));
  deflater fresh(true);  // server_no_context_takeover: every message alone
  std::string c1, c2;
  ASSERT_TRUE(fresh.compress("Hello", c1));
  ASSERT_TRUE(fresh.compress("Hello", c2));
  EXPECT_EQ(c1, c2);
  EXPECT_EQ(c1, a);
}

TEST(WsDeflate, RoundTripsEveryWindowAndTakeover) {
  std::mt19937 rng(7);
  std::vector<std::string> messages;
  for (int i = 0; i < 12; ++i) {
    std::string m;
    const std::size_t n = rng() % 20000;
    for (std::size_t k = 0; k < n; ++k)
      m.push_back(static_cast<char>((i % 3 == 0) ? rng() : "abcab "[rng() % 6]));
    messages.push_back(m);
  }
  for (int bits = 9; bits <= 15; ++bits) {
    for (bool nct : {false, true}) {
      deflater d(nct, static_cast<std::uint8_t>(bits));
      inflater z(nct);
      for (const std::string& m : messages) {
        std::string c;
        ASSERT_TRUE(d.compress(m, c));
        EXPECT_EQ(inflate_all(z, c), m) << bits << " " << nct;
      }
    }
  }
}

// ---- bounds -----------------------------------------------------------------------------------

TEST(WsDeflate, DecompressionBombStopsAtTheLimit) {
  // 64 MiB of zeros compress to about 64 KiB.
  deflater d(false, 15, 9);
  std::string bomb;
  ASSERT_TRUE(d.compress(std::string(64 << 20, '\0'), bomb));
  ASSERT_LT(bomb.size(), 128u * 1024);
  const std::size_t limit = 1 << 20;
  inflater z;
  std::string out;
  inflater::status st = inflater::status::ok;
  // Fed in frames, as a session would.
  for (std::size_t off = 0; off < bomb.size() && st == inflater::status::ok; off += 4096)
    st = z.feed(bytes(bomb.substr(off, 4096)), out, limit);
  EXPECT_EQ(st, inflater::status::too_big);
  EXPECT_LE(out.size(), limit + 1);
  EXPECT_LE(out.capacity(), 2 * limit + 64 * 1024);
}

TEST(WsDeflate, LimitIsInclusive) {
  deflater d;
  std::string c;
  ASSERT_TRUE(d.compress(std::string(1000, 'a'), c));
  inflater z;
  std::string out;
  EXPECT_EQ(z.feed(bytes(c), out, 1000), inflater::status::ok);
  EXPECT_EQ(z.finish(out, 1000), inflater::status::ok);
  EXPECT_EQ(out.size(), 1000u);
  inflater y;
  out.clear();
  inflater::status st = y.feed(bytes(c), out, 999);
  if (st == inflater::status::ok) st = y.finish(out, 999);
  EXPECT_EQ(st, inflater::status::too_big);
}

TEST(WsDeflate, GarbageIsAnError) {
  inflater z;
  std::string out;
  const std::string junk = hex({0xff, 0xff, 0xff, 0xff, 0x12, 0x34});
  inflater::status st = z.feed(bytes(junk), out, 1000);
  if (st == inflater::status::ok) st = z.finish(out, 1000);
  EXPECT_EQ(st, inflater::status::error);
  EXPECT_FALSE(z.out_of_memory());
}

}  // namespace
}  // namespace portico::ws
