// HPACK encoder: RFC 7541 Appendix C reproduced byte for byte, the indexing policy, never-
// indexed fields, table size updates, and round trips through the decoder.
#include "hpack/encoder.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "hpack/decoder.hpp"
#include "hpack_test_util.hpp"

namespace portico::hpack {
namespace {

using test::entries;
using test::owned_field;
using test::to_hex;
using fields = std::vector<owned_field>;

std::string encode_hex(encoder& e, const fields& f) {
  return to_hex(e.encode(test::views(f)));
}

const fields request1 = {
    {":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {":authority", "www.example.com"}};
const fields request2 = {{":method", "GET"},
                         {":scheme", "http"},
                         {":path", "/"},
                         {":authority", "www.example.com"},
                         {"cache-control", "no-cache"}};
const fields request3 = {{":method", "GET"},
                         {":scheme", "https"},
                         {":path", "/index.html"},
                         {":authority", "www.example.com"},
                         {"custom-key", "custom-value"}};
const fields response1 = {{":status", "302"},
                          {"cache-control", "private"},
                          {"date", "Mon, 21 Oct 2013 20:13:21 GMT"},
                          {"location", "https://www.example.com"}};
const fields response2 = {{":status", "307"},
                          {"cache-control", "private"},
                          {"date", "Mon, 21 Oct 2013 20:13:21 GMT"},
                          {"location", "https://www.example.com"}};
const fields response3 = {
    {":status", "200"},
    {"cache-control", "private"},
    {"date", "Mon, 21 Oct 2013 20:13:22 GMT"},
    {"location", "https://www.example.com"},
    {"content-encoding", "gzip"},
    {"set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"}};

TEST(HpackEncoderAppendixC, C2_FieldRepresentations) {
  encoder e({.huffman = false});
  EXPECT_EQ(encode_hex(e, {{"custom-key", "custom-header"}}),
            "400a637573746f6d2d6b65790d637573746f6d2d686561646572");  // C.2.1
  encoder e2({.huffman = false});
  EXPECT_EQ(encode_hex(e2, {{":path", "/sample/path"}}), "040c2f73616d706c652f70617468");  // C.2.2
  encoder e3({.huffman = false});
  EXPECT_EQ(encode_hex(e3, {{"password", "secret", true}}),
            "100870617373776f726406736563726574");  // C.2.3
  encoder e4;
  EXPECT_EQ(encode_hex(e4, {{":method", "GET"}}), "82");  // C.2.4
}

TEST(HpackEncoderAppendixC, C3_RequestsWithoutHuffman) {
  encoder e({.huffman = false});
  EXPECT_EQ(encode_hex(e, request1), "828684410f7777772e6578616d706c652e636f6d");
  EXPECT_EQ(encode_hex(e, request2), "828684be58086e6f2d6361636865");
  EXPECT_EQ(encode_hex(e, request3), "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565");
  EXPECT_EQ(entries(e.table()),
            (std::vector<std::string>{"custom-key: custom-value", "cache-control: no-cache",
                                      ":authority: www.example.com"}));
  EXPECT_EQ(e.table().size(), 164u);
}

TEST(HpackEncoderAppendixC, C4_RequestsWithHuffman) {
  encoder e;
  EXPECT_EQ(encode_hex(e, request1), "828684418cf1e3c2e5f23a6ba0ab90f4ff");
  EXPECT_EQ(encode_hex(e, request2), "828684be5886a8eb10649cbf");
  EXPECT_EQ(encode_hex(e, request3), "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf");
  EXPECT_EQ(e.table().size(), 164u);
}

// C.5 and C.6 assume a 256-octet table from the start; an HTTP/2 encoder starts at 4096 and so
// announces 256 first (3fe101). After that the blocks are the RFC's. indexing_policy::all:
// the RFC indexes location and set-cookie, which the automatic policy would not.
TEST(HpackEncoderAppendixC, C5_ResponsesWithoutHuffman) {
  encoder e({.max_table_size = 256, .huffman = false, .indexing = indexing_policy::all});
  EXPECT_EQ(encode_hex(e, response1),
            "3fe101"
            "4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a3231"
            "20474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d");
  EXPECT_EQ(encode_hex(e, response2), "4803333037c1c0bf");
  EXPECT_EQ(encode_hex(e, response3),
            "88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738"
            "666f6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d33"
            "3630303b2076657273696f6e3d31");
  EXPECT_EQ(e.table().size(), 215u);
}

TEST(HpackEncoderAppendixC, C6_ResponsesWithHuffman) {
  encoder e({.max_table_size = 256, .indexing = indexing_policy::all});
  EXPECT_EQ(encode_hex(e, response1),
            "3fe101"
            "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad1718"
            "63c78f0b97c8e9ae82ae43d3");
  // The RFC Huffman-codes "307" (640eff) although that is no shorter than "307"; the rule here
  // is Huffman only when strictly shorter, so this one value goes plain (C.5.2's octets).
  EXPECT_EQ(encode_hex(e, response2), "4803333037c1c0bf");
  EXPECT_EQ(encode_hex(e, response3),
            "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7"
            "b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007");
  EXPECT_EQ(entries(e.table()),
            (std::vector<std::string>{
                "set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
                "content-encoding: gzip", "date: Mon, 21 Oct 2013 20:13:22 GMT"}));
}

// ---- policy -------------------------------------------------------------------------------

// Encodes with `e`, decodes with `d`, and returns the decoded fields.
fields round_trip(encoder& e, decoder& d, const fields& in, std::size_t* wire_size = nullptr) {
  auto wire = e.encode(test::views(in));
  if (wire_size) *wire_size = wire.size();
  auto r = test::decode(d, wire);
  EXPECT_FALSE(r.error) << r.error.message();
  return r.fields;
}

TEST(HpackEncoder, RepeatedFieldsBecomeOneOctet) {
  encoder e;
  decoder d;
  const fields block = {{":method", "GET"},
                        {":scheme", "https"},
                        {":authority", "example.org"},
                        {":path", "/a"},
                        {"user-agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"},
                        {"accept", "text/html"},
                        {"x-custom", "one"}};
  std::size_t first = 0, second = 0;
  EXPECT_EQ(round_trip(e, d, block, &first), block);
  EXPECT_EQ(round_trip(e, d, block, &second), block);
  // Second time: 2 static + 4 dynamic one-octet indexes, :path "/a" as a literal (3 octets +
  // name index).
  EXPECT_EQ(second, 6u + 4u);
  EXPECT_GT(first, 50u);
  EXPECT_EQ(entries(e.table()), entries(d.table()));
}

TEST(HpackEncoder, SensitiveFieldsAreNeverIndexed) {
  encoder e;
  decoder d;
  const fields in = {{"authorization", "Bearer abc"},
                     {"proxy-authorization", "Basic Zm9vOmJhcg=="},
                     {"set-cookie", "id=a3fWa; Max-Age=2592000"},
                     {"cookie", "short=1"},
                     {"cookie", "session=0123456789abcdef0123456789"},
                     {"x-secret", "caller says so", true}};
  auto out = round_trip(e, d, in);
  ASSERT_EQ(out.size(), in.size());
  EXPECT_TRUE(out[0].never_indexed);
  EXPECT_TRUE(out[1].never_indexed);
  EXPECT_TRUE(out[2].never_indexed);
  EXPECT_TRUE(out[3].never_indexed);   // cookie under 20 octets
  EXPECT_FALSE(out[4].never_indexed);  // long cookie: indexed
  EXPECT_TRUE(out[5].never_indexed);
  EXPECT_EQ(entries(e.table()),
            std::vector<std::string>{"cookie: session=0123456789abcdef0123456789"});
  // Sent again, sensitive fields are literals again (never from the table).
  auto wire = e.encode(test::views(in));
  auto r = test::decode(d, wire);
  ASSERT_FALSE(r.error);
  EXPECT_EQ(r.fields, out);
  EXPECT_EQ(static_cast<unsigned>(wire[0]) & 0xf0, 0x10u);  // §6.2.3 pattern 0001xxxx
}

TEST(HpackEncoder, CookieThresholdIsConfigurable) {
  encoder e({.never_index_cookies_below = 0});
  decoder d;
  auto out = round_trip(e, d, {{"cookie", "a=1"}});
  EXPECT_FALSE(out[0].never_indexed);
  EXPECT_EQ(e.table().count(), 1u);
}

TEST(HpackEncoder, UniqueValuesAreNotIndexed) {
  encoder e;
  decoder d;
  const fields in = {{":path", "/assets/app.js?v=42"},
                     {"content-length", "1234"},
                     {"etag", "\"abc\""},
                     {"if-none-match", "\"abc\""},
                     {"location", "/x"},
                     {"content-range", "bytes 0-1/2"},
                     {"age", "10"},
                     {"if-modified-since", "x"}};
  EXPECT_EQ(round_trip(e, d, in), in);
  EXPECT_EQ(e.table().count(), 0u);
  EXPECT_EQ(d.table().count(), 0u);
}

TEST(HpackEncoder, UnlikelyValuesAreIndexedOnceTheyRepeat) {
  encoder e;
  decoder d;
  const fields a = {{"etag", "\"v1\""}, {"content-length", "13"}};
  const fields b = {{"etag", "\"v2\""}, {"content-length", "13"}};
  // First time: literals without indexing.
  EXPECT_EQ(round_trip(e, d, a), a);
  EXPECT_EQ(e.table().count(), 0u);
  // The same content-length again: now indexed; a new etag is still a plain literal.
  EXPECT_EQ(round_trip(e, d, b), b);
  EXPECT_EQ(e.table().count(), 1u);
  // A third time: content-length is an index; etag "v2" seen twice in a row gets indexed.
  std::size_t size = 0;
  EXPECT_EQ(round_trip(e, d, b, &size), b);
  EXPECT_EQ(e.table().count(), 2u);
  EXPECT_EQ(d.table().count(), 2u);
  // From then on both fields are single-octet indexes.
  EXPECT_EQ(round_trip(e, d, b, &size), b);
  EXPECT_EQ(size, 2u);
  // A value that alternates never gets in.
  encoder e2;
  for (int i = 0; i < 4; ++i)
    e2.encode(test::views(fields{{"etag", i % 2 ? "\"x\"" : "\"y\""}}));
  EXPECT_EQ(e2.table().count(), 0u);
}

TEST(HpackEncoder, LargeEntriesAreNotIndexed) {
  encoder e;  // 4096: more than 3/4 = 3072 octets is not indexed
  decoder d;
  const fields big = {{"x-big", std::string(3100, 'a')}};
  EXPECT_EQ(round_trip(e, d, big), big);
  EXPECT_EQ(e.table().count(), 0u);
  const fields ok = {{"x-big", std::string(3000, 'a')}};
  EXPECT_EQ(round_trip(e, d, ok), ok);
  EXPECT_EQ(e.table().count(), 1u);
}

TEST(HpackEncoder, HuffmanOnlyWhenShorter) {
  encoder e({.indexing = indexing_policy::automatic});
  // "www.example.com": 12 octets coded instead of 15 -> Huffman (H bit set).
  auto w = e.encode(std::vector<header_field>{{"x-a", "www.example.com"}});
  // 0x40, name "x-a" (3 octets plain: Huffman would be 3 too), value 0x8c...
  EXPECT_EQ(to_hex(w).substr(0, 10), "4003782d61");
  EXPECT_EQ(static_cast<unsigned>(w[5]), 0x8cu);
  // Binary octets have long codes: sent plain.
  encoder e2;
  auto w2 = e2.encode(std::vector<header_field>{{"x-b", "\x01\x02\xff"}});
  EXPECT_EQ(to_hex(w2),
            "4003782d62"
            "030102ff");
}

TEST(HpackEncoder, DynamicNameReference) {
  encoder e;
  decoder d;
  round_trip(e, d, {{"x-trace", "one"}});
  std::size_t n = 0;
  EXPECT_EQ(round_trip(e, d, {{"x-trace", "two"}}, &n), (fields{{"x-trace", "two"}}));
  EXPECT_EQ(n, 1u + 1u + 3u);  // name by index 62, value "two" plain (Huffman is not shorter)
}

// ---- table size (§4.2, §6.3) --------------------------------------------------------------

TEST(HpackEncoder, SmallerCapIsAnnouncedFirst) {
  encoder e({.max_table_size = 0});
  EXPECT_EQ(to_hex(e.encode(std::vector<header_field>{{":method", "GET"}})), "2082");
  EXPECT_EQ(to_hex(e.encode(std::vector<header_field>{{":method", "GET"}})), "82");
  decoder d;
  auto r = test::decode(d, test::from_hex("2082"));
  EXPECT_FALSE(r.error);
  EXPECT_EQ(d.table().max_size(), 0u);
}

TEST(HpackEncoder, PeerShrinksTable) {
  encoder e;
  decoder d;
  round_trip(e, d, {{"x-a", "1"}, {"x-b", "2"}});
  e.set_peer_max_table_size(1024);
  d.set_max_table_size_limit(1024);
  auto wire = e.encode(std::vector<header_field>{{":method", "GET"}});
  EXPECT_EQ(to_hex(wire), "3fe10782");  // 1024
  auto r = test::decode(d, wire);
  EXPECT_FALSE(r.error);
  EXPECT_EQ(d.table().max_size(), 1024u);
  EXPECT_EQ(entries(e.table()), entries(d.table()));
  // No further update.
  EXPECT_EQ(to_hex(e.encode(std::vector<header_field>{{":method", "GET"}})), "82");
}

TEST(HpackEncoder, ShrinkAndGrowSendsSmallestThenFinal) {
  encoder e;
  decoder d;
  round_trip(e, d, {{"x-a", "1"}, {"x-b", "2"}});
  for (std::uint32_t v : {1024u, 0u, 2048u}) {
    e.set_peer_max_table_size(v);
    d.set_max_table_size_limit(v);
  }
  auto wire = e.encode(std::vector<header_field>{{":method", "GET"}});
  EXPECT_EQ(to_hex(wire),
            "20"
            "3fe10f"
            "82");  // 0, then 2048
  auto r = test::decode(d, wire);
  EXPECT_FALSE(r.error) << r.error.message();
  EXPECT_EQ(d.table().max_size(), 2048u);
  EXPECT_EQ(d.table().count(), 0u);  // emptied by the update to 0
}

TEST(HpackEncoder, PeerGrowthBeyondCapChangesNothing) {
  encoder e;  // cap 4096
  e.set_peer_max_table_size(65536);
  EXPECT_EQ(to_hex(e.encode(std::vector<header_field>{{":method", "GET"}})), "82");
  encoder big({.max_table_size = 65536});
  big.set_peer_max_table_size(65536);
  EXPECT_EQ(to_hex(big.encode(std::vector<header_field>{{":method", "GET"}})), "3fe1ff0382");
}

TEST(HpackEncoder, ChangeAndReturnBeforeABlockStillSignalsTheMinimum) {
  encoder e;
  e.set_peer_max_table_size(100);
  e.set_peer_max_table_size(4096);
  // The peer's decoder shrank to 100 and expects an update at most 100 (§4.2).
  EXPECT_EQ(to_hex(e.encode(std::vector<header_field>{})),
            "3f45"
            "3fe11f");
}

// Blocks that mostly repeat (what the encoder's per-position memo speeds up), with fields
// changing, moving, evicted by small tables and table size changes in between: every block
// decodes to what was encoded and both tables stay identical.
TEST(HpackEncoder, RepeatedBlocksWithChangesRoundTrip) {
  std::mt19937 rng(7);
  for (const std::uint32_t cap : {4096u, 256u, 64u}) {
    encoder e({.max_table_size = cap});
    decoder d;
    const std::vector<std::string> names = {"content-type", "server", "x-a", "etag", "date"};
    const std::vector<std::string> values = {"text/html", "portico", "1",
                                             "\"v\"",     "v2",      std::string(90, 'z')};
    fields block = {{":status", "200"}, {"content-type", "text/html"}, {"server", "portico"}};
    for (int round = 0; round < 3000; ++round) {
      switch (rng() % 8) {
        case 0:  // a field changes value
          block[rng() % block.size()].value = values[rng() % values.size()];
          break;
        case 1:  // a field is added or removed (later positions move)
          if (block.size() < 12)
            block.insert(block.begin() + static_cast<long>(rng() % (block.size() + 1)),
                         {names[rng() % names.size()], values[rng() % values.size()]});
          else
            block.erase(block.begin() + static_cast<long>(rng() % block.size()));
          break;
        case 2: {  // the peer changes its table size (announced in the next block)
          const std::uint32_t v = std::vector<std::uint32_t>{0, 32, 100, cap}[rng() % 4];
          e.set_peer_max_table_size(v);
          d.set_max_table_size_limit(v);
          break;
        }
        default:  // the same block again
          break;
      }
      ASSERT_EQ(round_trip(e, d, block), block) << "round " << round << " cap " << cap;
      ASSERT_EQ(entries(e.table()), entries(d.table())) << "round " << round;
    }
  }
}

TEST(HpackEncoder, RepeatedBlockIsAllIndexes) {
  encoder e;
  decoder d;
  const fields block = {{":status", "200"},
                        {"content-type", "text/plain; charset=utf-8"},
                        {"server", "portico"},
                        {"date", "Fri, 27 Nov 2026 07:00:00 GMT"}};
  std::size_t first = 0, again = 0;
  EXPECT_EQ(round_trip(e, d, block, &first), block);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(round_trip(e, d, block, &again), block);
    EXPECT_EQ(again, block.size());  // one octet per field
  }
  EXPECT_GT(first, again);
}

TEST(HpackEncoder, AppendsToExistingOutput) {
  encoder e;
  std::vector<std::byte> out = {std::byte{0xaa}};
  e.encode(std::vector<header_field>{{":method", "GET"}}, out);
  EXPECT_EQ(to_hex(out), "aa82");
}

// Random header lists with random table-size changes: the encoder's table always equals the
// decoder's, and every block decodes to its input.
TEST(HpackEncoder, RandomRoundTrips) {
  std::mt19937 rng(4096);
  const std::vector<std::string> names = {":method", ":path", ":authority",   "cookie",
                                          "x-a",     "x-b",   "user-agent",   "authorization",
                                          "accept",  "date",  "content-type", "set-cookie"};
  for (int run = 0; run < 20; ++run) {
    encoder_options opt;
    opt.max_table_size = std::vector<std::uint32_t>{0, 64, 256, 4096, 16384}[rng() % 5];
    opt.huffman = rng() % 2;
    opt.indexing = rng() % 3 == 0 ? indexing_policy::all : indexing_policy::automatic;
    encoder e(opt);
    decoder d;
    for (int block = 0; block < 200; ++block) {
      if (rng() % 10 == 0) {
        const std::uint32_t v = std::vector<std::uint32_t>{0, 100, 1000, 4096, 65536}[rng() % 5];
        e.set_peer_max_table_size(v);
        d.set_max_table_size_limit(v);
      }
      fields in;
      const std::size_t n = rng() % 12;
      for (std::size_t i = 0; i < n; ++i) {
        std::string value(rng() % 40, '\0');
        for (char& c : value)
          c = static_cast<char>(rng() % 4 == 0 ? rng() % 256 : 'a' + rng() % 3);
        in.push_back({names[rng() % names.size()], value, rng() % 20 == 0});
      }
      auto wire = e.encode(test::views(in));
      auto r = test::decode(d, wire);
      ASSERT_FALSE(r.error) << r.error.message() << " run " << run << " block " << block;
      ASSERT_EQ(r.fields.size(), in.size());
      for (std::size_t i = 0; i < in.size(); ++i) {
        EXPECT_EQ(r.fields[i].name, in[i].name);
        EXPECT_EQ(r.fields[i].value, in[i].value);
        if (in[i].never_indexed) {
          EXPECT_TRUE(r.fields[i].never_indexed);
        }
      }
      ASSERT_EQ(entries(e.table()), entries(d.table()));
      ASSERT_EQ(e.table().max_size(), d.table().max_size());
    }
  }
}

}  // namespace
}  // namespace portico::hpack
