// HPACK decoder: RFC 7541 Appendix C (C.2-C.6) with the dynamic table after every block, every
// error of errors.hpp, the limits, truncation at every byte and over-read at a guard page.
#include "hpack/decoder.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "hpack/huffman.hpp"
#include "hpack_test_util.hpp"

namespace portico::hpack {
namespace {

using test::decoded;
using test::entries;
using test::from_hex;
using test::owned_field;

using fields = std::vector<owned_field>;

decoded decode_hex(decoder& d, std::string_view hex) {
  return test::decode(d, from_hex(hex));
}

struct appendix_case {
  const char* id;
  const char* wire;
  fields headers;
  std::vector<std::string> table;  // newest first
  std::size_t table_size;
};

// RFC 7541 Appendix C.3 / C.4 (requests, table 4096) and C.5 / C.6 (responses, table 256).
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
const std::vector<std::string> request_tables[] = {
    {":authority: www.example.com"},
    {"cache-control: no-cache", ":authority: www.example.com"},
    {"custom-key: custom-value", "cache-control: no-cache", ":authority: www.example.com"}};
const std::vector<std::string> response_tables[] = {
    {"location: https://www.example.com", "date: Mon, 21 Oct 2013 20:13:21 GMT",
     "cache-control: private", ":status: 302"},
    {":status: 307", "location: https://www.example.com", "date: Mon, 21 Oct 2013 20:13:21 GMT",
     "cache-control: private"},
    {"set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
     "content-encoding: gzip", "date: Mon, 21 Oct 2013 20:13:22 GMT"}};

const std::vector<appendix_case> requests_plain = {
    {"C.3.1", "828684410f7777772e6578616d706c652e636f6d", request1, request_tables[0], 57},
    {"C.3.2", "828684be58086e6f2d6361636865", request2, request_tables[1], 110},
    {"C.3.3", "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565", request3,
     request_tables[2], 164}};
const std::vector<appendix_case> requests_huffman = {
    {"C.4.1", "828684418cf1e3c2e5f23a6ba0ab90f4ff", request1, request_tables[0], 57},
    {"C.4.2", "828684be5886a8eb10649cbf", request2, request_tables[1], 110},
    {"C.4.3", "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf", request3, request_tables[2],
     164}};
const std::vector<appendix_case> responses_plain = {
    {"C.5.1",
     "4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d54"
     "6e1768747470733a2f2f7777772e6578616d706c652e636f6d",
     response1, response_tables[0], 222},
    {"C.5.2", "4803333037c1c0bf", response2, response_tables[1], 222},
    {"C.5.3",
     "88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738666f6f"
     "3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b2076"
     "657273696f6e3d31",
     response3, response_tables[2], 215}};
const std::vector<appendix_case> responses_huffman = {
    {"C.6.1",
     "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f"
     "0b97c8e9ae82ae43d3",
     response1, response_tables[0], 222},
    {"C.6.2", "4883640effc1c0bf", response2, response_tables[1], 222},
    {"C.6.3",
     "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335df"
     "dfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
     response3, response_tables[2], 215}};

void run_sequence(const std::vector<appendix_case>& cases, std::uint32_t table_size) {
  decoder d({.max_table_size = table_size});
  for (const auto& c : cases) {
    SCOPED_TRACE(c.id);
    auto r = decode_hex(d, c.wire);
    ASSERT_FALSE(r.error) << r.error.message();
    EXPECT_EQ(r.fields, c.headers);
    EXPECT_EQ(entries(d.table()), c.table);
    EXPECT_EQ(d.table().size(), c.table_size);
  }
}

TEST(HpackDecoderAppendixC, C2_1_LiteralWithIndexing) {
  decoder d;
  auto r = decode_hex(d, "400a637573746f6d2d6b65790d637573746f6d2d686561646572");
  ASSERT_FALSE(r.error);
  EXPECT_EQ(r.fields, (fields{{"custom-key", "custom-header"}}));
  EXPECT_EQ(entries(d.table()), std::vector<std::string>{"custom-key: custom-header"});
  EXPECT_EQ(d.table().size(), 55u);
}

TEST(HpackDecoderAppendixC, C2_2_LiteralWithoutIndexing) {
  decoder d;
  auto r = decode_hex(d, "040c2f73616d706c652f70617468");
  ASSERT_FALSE(r.error);
  EXPECT_EQ(r.fields, (fields{{":path", "/sample/path"}}));
  EXPECT_EQ(d.table().count(), 0u);
}

TEST(HpackDecoderAppendixC, C2_3_LiteralNeverIndexed) {
  decoder d;
  auto r = decode_hex(d, "100870617373776f726406736563726574");
  ASSERT_FALSE(r.error);
  EXPECT_EQ(r.fields, (fields{{"password", "secret", true}}));
  EXPECT_EQ(d.table().count(), 0u);
}

TEST(HpackDecoderAppendixC, C2_4_Indexed) {
  decoder d;
  auto r = decode_hex(d, "82");
  ASSERT_FALSE(r.error);
  EXPECT_EQ(r.fields, (fields{{":method", "GET"}}));
  EXPECT_EQ(d.table().count(), 0u);
}

TEST(HpackDecoderAppendixC, C3_RequestsWithoutHuffman) {
  run_sequence(requests_plain, 4096);
}
TEST(HpackDecoderAppendixC, C4_RequestsWithHuffman) {
  run_sequence(requests_huffman, 4096);
}
TEST(HpackDecoderAppendixC, C5_ResponsesWithoutHuffman) {
  run_sequence(responses_plain, 256);
}
TEST(HpackDecoderAppendixC, C6_ResponsesWithHuffman) {
  run_sequence(responses_huffman, 256);
}

// Every proper prefix of a valid block either decodes (it ends between representations) or is
// `truncated`: never another error, never a read past the end (the prefix sits right before a
// guard page). The full block, at the end of a page too, decodes as before.
TEST(HpackDecoder, EveryPrefixIsTruncatedOrValid) {
  for (const auto* seq :
       {&requests_plain, &requests_huffman, &responses_plain, &responses_huffman}) {
    const std::uint32_t size = seq == &responses_plain || seq == &responses_huffman ? 256 : 4096;
    for (std::size_t k = 0; k < seq->size(); ++k) {
      const auto wire = from_hex((*seq)[k].wire);
      for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
        // A decoder with the state of the previous blocks.
        decoder d({.max_table_size = size});
        for (std::size_t j = 0; j < k; ++j)
          ASSERT_FALSE(decode_hex(d, (*seq)[j].wire).error);
        test::guarded_bytes g(std::span<const std::byte>(wire).first(cut));
        auto r = test::decode(d, g.span());
        if (cut == wire.size()) {
          EXPECT_FALSE(r.error) << (*seq)[k].id;
          EXPECT_EQ(r.fields, (*seq)[k].headers);
        } else if (r.error) {
          EXPECT_EQ(r.error, errc::truncated) << (*seq)[k].id << " cut " << cut;
        }
      }
    }
  }
}

TEST(HpackDecoder, FieldsAreViewsValidDuringTheCall) {
  // Plain literals point into the block, Huffman ones into the decoder's buffer, indexed ones
  // into the tables.
  decoder d;
  const auto wire = from_hex("400a637573746f6d2d6b65790d637573746f6d2d686561646572");
  const char* lo = reinterpret_cast<const char*>(wire.data());
  bool checked = false;
  auto ec = d.decode(wire, [&](const header_field& f) {
    EXPECT_GE(f.name.data(), lo);
    EXPECT_LE(f.value.data() + f.value.size(), lo + wire.size());
    checked = true;
  });
  EXPECT_FALSE(ec);
  EXPECT_TRUE(checked);
}

TEST(HpackDecoder, EmptyBlockIsValid) {
  decoder d;
  auto r = test::decode(d, {});
  EXPECT_FALSE(r.error);
  EXPECT_TRUE(r.fields.empty());
}

// ---- errors ------------------------------------------------------------------------------

TEST(HpackDecoderErrors, Truncated) {
  for (const char* hex : {"1f",                        // size update, integer cut
                          "ff",                        // indexed, integer cut
                          "40",                        // literal, no name length
                          "400a6375",                  // name shorter than its length
                          "400a637573746f6d2d6b6579",  // no value
                          "410d6375",                  // value shorter than its length
                          "0f", "1f"}) {
    decoder d;
    EXPECT_EQ(decode_hex(d, hex).error, errc::truncated) << hex;
  }
}

TEST(HpackDecoderErrors, IntegerOverflow) {
  decoder d;
  EXPECT_EQ(decode_hex(d, "ffffffffff7f").error, errc::integer_overflow);
  decoder d2;
  EXPECT_EQ(decode_hex(d2, "7f808080808001").error, errc::integer_overflow);
  decoder d3;  // a string length of 2^32
  EXPECT_EQ(decode_hex(d3, "407f81ffffff0f").error, errc::integer_overflow);
}

TEST(HpackDecoderErrors, StringTooLong) {
  decoder d({.max_string_length = 4});
  EXPECT_FALSE(decode_hex(d, "0004616263640161").error);  // 4 octets: at the limit
  decoder d2({.max_string_length = 4});
  EXPECT_EQ(decode_hex(d2, "000561626364650161").error, errc::string_too_long);
  decoder d3({.max_string_length = 4});  // value too long
  EXPECT_EQ(decode_hex(d3, "0001610561626364650161").error, errc::string_too_long);
  // A huge announced length fails on the limit, before anything is read or allocated.
  decoder d4;
  EXPECT_EQ(decode_hex(d4, "007fffffff0f").error, errc::string_too_long);
  // Huffman: the decoded length counts. "www.example.com" is 12 octets coded, 15 decoded.
  decoder d5({.max_string_length = 14});
  EXPECT_EQ(decode_hex(d5, "418cf1e3c2e5f23a6ba0ab90f4ff").error, errc::string_too_long);
  decoder d6({.max_string_length = 15});
  EXPECT_FALSE(decode_hex(d6, "418cf1e3c2e5f23a6ba0ab90f4ff").error);
}

TEST(HpackDecoderErrors, InvalidIndex) {
  for (const char* hex : {"80",        // indexed 0 (§6.1)
                          "be",        // 62: dynamic table empty
                          "ff8001",    // 255: far beyond
                          "7e0161",    // literal, name index 62
                          "0f300161",  // literal without indexing, name index 63
                          "1f300161"}) {
    decoder d;
    EXPECT_EQ(decode_hex(d, hex).error, errc::invalid_index) << hex;
  }
  // 62 is valid once an entry exists, 63 is not.
  decoder d;
  ASSERT_FALSE(decode_hex(d, "4001610162").error);
  EXPECT_FALSE(decode_hex(d, "be").error);
  EXPECT_EQ(decode_hex(d, "bf").error, errc::invalid_index);
}

TEST(HpackDecoderErrors, HuffmanErrors) {
  decoder d1;  // value "ffffffff" contains EOS
  EXPECT_EQ(decode_hex(d1,
                       "000161"
                       "84ffffffff")
                .error,
            errc::huffman_eos);
  decoder d2;  // padding of 8 ones
  EXPECT_EQ(decode_hex(d2,
                       "000161"
                       "82"
                       "1fff")
                .error,
            errc::huffman_padding_too_long);
  decoder d3;  // padding of zeros, in the name
  EXPECT_EQ(decode_hex(d3, "0081180161").error, errc::huffman_bad_padding);
}

TEST(HpackDecoderErrors, TableSizeAboveLimit) {
  decoder d;                                                               // limit 4096
  EXPECT_EQ(decode_hex(d, "3fe21f").error, errc::table_size_above_limit);  // 4097
  decoder d2;
  EXPECT_FALSE(decode_hex(d2, "3fe11f").error);  // 4096
  EXPECT_FALSE(decode_hex(d2, "20").error);      // 0
  EXPECT_EQ(d2.table().max_size(), 0u);
  decoder d3({.max_table_size = 0});
  EXPECT_EQ(decode_hex(d3, "21").error, errc::table_size_above_limit);
}

TEST(HpackDecoderErrors, TableSizeUpdateNotFirst) {
  decoder d;
  EXPECT_EQ(decode_hex(d, "8220").error, errc::table_size_update_not_first);
  // In a later block it is fine at the start.
  decoder d2;
  EXPECT_FALSE(decode_hex(d2, "82").error);
  EXPECT_FALSE(decode_hex(d2, "2082").error);
}

TEST(HpackDecoderErrors, TooManyTableSizeUpdates) {
  decoder d;
  EXPECT_FALSE(decode_hex(d, "203fe11f82").error);  // two: fine (§4.2)
  decoder d2;
  EXPECT_EQ(decode_hex(d2, "20203fe11f").error, errc::too_many_table_size_updates);
}

TEST(HpackDecoderErrors, MissingTableSizeUpdate) {
  decoder d;
  ASSERT_FALSE(decode_hex(d, "4001610162").error);  // one entry
  d.set_max_table_size_limit(1024);                 // below 4096: the peer must shrink
  EXPECT_EQ(d.table().max_size(), 1024u);
  EXPECT_EQ(d.table().count(), 1u);
  EXPECT_EQ(decode_hex(d, "82").error, errc::missing_table_size_update);
  // Sticky: the context is gone.
  EXPECT_EQ(decode_hex(d, "3fe10782").error, errc::missing_table_size_update);

  decoder d2;
  d2.set_max_table_size_limit(1024);
  EXPECT_EQ(test::decode(d2, {}).error, errc::missing_table_size_update);
}

TEST(HpackDecoder, LimitShrinkThenGrow) {
  // SETTINGS_HEADER_TABLE_SIZE went 4096 -> 100 -> 2000 between two blocks: the first update
  // must be at most 100 (the smallest, §4.2), the second may go up to 2000.
  decoder d;
  ASSERT_FALSE(decode_hex(d, "4001610162").error);
  d.set_max_table_size_limit(100);
  d.set_max_table_size_limit(2000);
  EXPECT_EQ(d.max_table_size_limit(), 2000u);
  EXPECT_EQ(decode_hex(d, "3fb10f").error, errc::table_size_above_limit);  // 2000 first

  decoder d2;
  ASSERT_FALSE(decode_hex(d2, "4001610162").error);
  d2.set_max_table_size_limit(100);
  d2.set_max_table_size_limit(2000);
  auto r = decode_hex(d2,
                      "3f45"
                      "3fb10f"
                      "82");  // 100, then 2000
  ASSERT_FALSE(r.error) << r.error.message();
  EXPECT_EQ(d2.table().max_size(), 2000u);
  EXPECT_EQ(d2.table().count(), 1u);  // 35 octets fit in 100

  decoder d3;  // only the smaller one is fine too
  d3.set_max_table_size_limit(100);
  d3.set_max_table_size_limit(2000);
  EXPECT_FALSE(decode_hex(d3, "3f4582").error);
  EXPECT_EQ(d3.table().max_size(), 100u);
}

TEST(HpackDecoder, LimitGrowthNeedsNoUpdate) {
  decoder d;
  d.set_max_table_size_limit(8192);
  EXPECT_FALSE(decode_hex(d, "82").error);
  EXPECT_EQ(d.table().max_size(), 4096u);
  EXPECT_FALSE(decode_hex(d, "3fe13f").error);  // 8192
  EXPECT_EQ(d.table().max_size(), 8192u);
  // Shrinking the limit to the current maximum needs no update either.
  d.set_max_table_size_limit(8192);
  EXPECT_FALSE(decode_hex(d, "82").error);
}

TEST(HpackDecoderErrors, HeaderListTooLargeKeepsTheContext) {
  // Limit 100: ":method GET" is 42, "custom-key: custom-header" 55 -> 97; a third field
  // crosses it. The field past the limit is not delivered, but the literal with indexing after
  // it is still added to the table, so the next block decodes.
  decoder d({.max_header_list_size = 100});
  auto r = decode_hex(d,
                      "82"
                      "400a637573746f6d2d6b65790d637573746f6d2d686561646572"
                      "86"
                      "4001610162");
  EXPECT_EQ(r.error, errc::header_list_too_large);
  EXPECT_FALSE(is_compression_error(r.error));
  EXPECT_EQ(r.fields, (fields{{":method", "GET"}, {"custom-key", "custom-header"}}));
  EXPECT_GT(d.last_header_list_size(), 100u);
  EXPECT_EQ(entries(d.table()), (std::vector<std::string>{"a: b", "custom-key: custom-header"}));
  // The next block uses both dynamic entries and is delivered.
  r = decode_hex(d, "bebf");
  EXPECT_FALSE(r.error);
  EXPECT_EQ(r.fields, (fields{{"a", "b"}, {"custom-key", "custom-header"}}));
}

TEST(HpackDecoderErrors, HpackBombStopsDelivering) {
  // One 4000-octet entry referenced 1000 times: 4 MB of header list from a ~4 kB block. The
  // sink sees nothing past the limit and nothing is buffered.
  std::string block =
      "40"
      "01"
      "78"
      "7f"
      "a11e";                           // literal with indexing, name "x", value 4000
  block += std::string(4000 * 2, '6');  // "ffff..." as hex of 'f' is 66
  for (int i = 0; i < 1000; ++i)
    block += "be";
  decoder d;
  std::size_t delivered = 0;
  auto ec = d.decode(from_hex(block), [&](const header_field&) { ++delivered; });
  EXPECT_EQ(ec, errc::header_list_too_large);
  EXPECT_EQ(delivered, 16u);  // 16 * 4033 <= 65536 < 17 * 4033
}

TEST(HpackDecoderErrors, IsCompressionError) {
  for (int e = 1; e <= static_cast<int>(errc::header_list_too_large); ++e) {
    const auto ec = make_error_code(static_cast<errc>(e));
    EXPECT_EQ(is_compression_error(ec), static_cast<errc>(e) != errc::header_list_too_large);
    EXPECT_FALSE(ec.message().empty());
    EXPECT_EQ(std::string(ec.category().name()), "portico.hpack");
  }
  EXPECT_FALSE(is_compression_error({}));
  EXPECT_FALSE(is_compression_error(std::make_error_code(std::errc::invalid_argument)));
}

TEST(HpackDecoderErrors, CompressionErrorIsSticky) {
  decoder d;
  EXPECT_EQ(decode_hex(d, "80").error, errc::invalid_index);
  EXPECT_EQ(decode_hex(d, "82").error, errc::invalid_index);
}

// ---- dynamic table behaviour through the decoder ----------------------------------------

// The decoding hints: the static name index and "checked" (the field check ran once, when the
// entry was inserted).
TEST(HpackDecoder, StaticNameAndCheckedHints) {
  struct hint {
    std::string name;
    std::uint8_t static_name;
    bool checked;
  };
  auto hints = [](decoder& d, std::string_view hex) {
    std::vector<hint> out;
    const auto block = from_hex(hex);
    const auto ec = d.decode(block, [&](const header_field& f) {
      out.push_back({std::string(f.name), f.static_name, f.checked});
    });
    EXPECT_FALSE(ec);
    return out;
  };
  static int check_calls = 0;
  auto check = [](std::string_view name, std::string_view value) noexcept {
    ++check_calls;
    return name != "x-bad" && value != "bad";
  };

  decoder plain;
  // 82: :method GET (static 2). 44 03 "/ab": literal, indexed, static name :path (4).
  auto h = hints(plain,
                 "82"
                 "4403"
                 "2f6162");
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].static_name, 2);
  EXPECT_FALSE(h[0].checked);  // no check set: nothing is marked
  EXPECT_EQ(h[1].static_name, 4);
  EXPECT_FALSE(h[1].checked);

  decoder d;
  d.set_field_check(check);
  // 40 "x-bad" "1", 40 "x-ok" "bad", 40 "x-ok" "1", 7a "2" (static name user-agent, 58).
  h = hints(d,
            "4005782d626164"
            "0131"
            "4004782d6f6b"
            "03626164"
            "4004782d6f6b"
            "0131"
            "7a"
            "0132");
  ASSERT_EQ(h.size(), 4u);
  EXPECT_EQ(check_calls, 4);  // once per insertion
  for (const auto& x : h)
    EXPECT_FALSE(x.checked) << x.name;  // literals: the consumer checks
  EXPECT_EQ(h[0].static_name, 0);
  EXPECT_EQ(h[3].static_name, 58);
  // Dynamic table, newest first: 62 user-agent: 2, 63 x-ok: 1, 64 x-ok: bad, 65 x-bad: 1.
  h = hints(d,
            "be"
            "bf"
            "c0"
            "c1"
            "82"
            "7e"
            "0133");  // ...; literal, name of entry 62
  ASSERT_EQ(h.size(), 6u);
  EXPECT_TRUE(h[0].checked);
  EXPECT_EQ(h[0].static_name, 58);  // kept with the entry
  EXPECT_TRUE(h[1].checked);
  EXPECT_FALSE(h[2].checked);  // the check refused the value
  EXPECT_FALSE(h[3].checked);  // ... and the name
  EXPECT_TRUE(h[4].checked);   // static entries are checked
  EXPECT_EQ(h[5].static_name, 58);
  EXPECT_FALSE(h[5].checked);  // only the name came from the table
  EXPECT_EQ(check_calls, 5);
}

// A Huffman value repeated in literals that are not indexed (:path from nghttp2-based clients)
// is decoded once and remembered; the answer must stay the same whatever comes in between,
// and a lowered string limit still applies to it.
TEST(HpackDecoder, RepeatedHuffmanValues) {
  auto literal = [](std::string_view value, bool indexed) {
    // 0x04 / 0x44: literal without indexing / with incremental indexing, name :path (4).
    std::vector<std::byte> b{std::byte{static_cast<unsigned char>(indexed ? 0x44 : 0x04)}};
    const std::size_t n = huffman_encoded_size(value);
    b.push_back(std::byte{static_cast<unsigned char>(0x80 | n)});  // n < 127 here
    b.resize(b.size() + n);
    huffman_encode(value, b.data() + b.size() - n);
    return b;
  };
  auto values = [](decoder& d, const std::vector<std::byte>& block) {
    std::vector<std::string> out;
    const auto ec = d.decode(block, [&](const header_field& f) { out.emplace_back(f.value); });
    EXPECT_FALSE(ec) << ec.message();
    return out;
  };
  decoder d;
  const auto a = literal("/hello.txt", false), b = literal("/other/path?q=1", false);
  std::vector<std::byte> ab = a;
  ab.insert(ab.end(), b.begin(), b.end());
  ab.insert(ab.end(), a.begin(), a.end());
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(values(d, a), std::vector<std::string>{"/hello.txt"});
    EXPECT_EQ(values(d, a), std::vector<std::string>{"/hello.txt"});
    EXPECT_EQ(values(d, ab),
              (std::vector<std::string>{"/hello.txt", "/other/path?q=1", "/hello.txt"}));
    EXPECT_EQ(values(d, literal("/x", true)), std::vector<std::string>{"/x"});
    EXPECT_EQ(values(d, b), std::vector<std::string>{"/other/path?q=1"});
  }
  const std::string long_path(80, 'a');  // longer than what is remembered
  EXPECT_EQ(values(d, literal(long_path, false)), std::vector<std::string>{long_path});
  EXPECT_EQ(values(d, literal(long_path, false)), std::vector<std::string>{long_path});
  // A limit lowered below a remembered value applies to it.
  ASSERT_EQ(values(d, a), std::vector<std::string>{"/hello.txt"});
  d.set_max_string_length(5);
  std::vector<std::string> seen;
  const auto ec = d.decode(a, [&](const header_field& f) { seen.emplace_back(f.value); });
  EXPECT_EQ(ec, make_error_code(errc::string_too_long));
  EXPECT_TRUE(seen.empty());
}

TEST(HpackDecoder, EvictionOnInsert) {
  // Table 100: "a: b" (34) twice fits (68); a third insertion evicts the oldest.
  decoder d({.max_table_size = 100});
  ASSERT_FALSE(decode_hex(d,
                          "4001610131"
                          "4001610132")
                   .error);
  EXPECT_EQ(entries(d.table()), (std::vector<std::string>{"a: 2", "a: 1"}));
  ASSERT_FALSE(decode_hex(d, "4001610133").error);
  EXPECT_EQ(entries(d.table()), (std::vector<std::string>{"a: 3", "a: 2"}));
  EXPECT_EQ(d.table().size(), 68u);
}

TEST(HpackDecoder, EntryLargerThanTableEmptiesIt) {
  decoder d({.max_table_size = 100});
  ASSERT_FALSE(decode_hex(d, "4001610131").error);
  // name "a", value of 68 octets: 101 > 100 (§4.4: not an error, the table is emptied).
  std::string hex = "40016144" + std::string(68 * 2, '7');  // 68 = 0x44, 'w' = 0x77
  auto r = decode_hex(d, hex);
  ASSERT_FALSE(r.error);
  EXPECT_EQ(r.fields.at(0).value, std::string(68, 'w'));
  EXPECT_EQ(d.table().count(), 0u);
  EXPECT_EQ(d.table().size(), 0u);
}

TEST(HpackDecoder, NameOfEvictedEntry) {
  // §4.4: the new entry names entry 62, which its own insertion evicts.
  decoder d({.max_table_size = 80});
  ASSERT_FALSE(decode_hex(d, "400b782d6c6f6e672d6e616d650476616c31").error);  // x-long-name: val1
  EXPECT_EQ(d.table().size(), 47u);
  auto r = decode_hex(d, "7e0a30313233343536373839");  // name index 62, value "0123456789"
  ASSERT_FALSE(r.error);
  EXPECT_EQ(r.fields, (fields{{"x-long-name", "0123456789"}}));
  EXPECT_EQ(entries(d.table()), std::vector<std::string>{"x-long-name: 0123456789"});
}

TEST(HpackDecoder, SizeUpdateEvicts) {
  decoder d;
  ASSERT_FALSE(decode_hex(d,
                          "4001610131"
                          "4001610132")
                   .error);
  ASSERT_FALSE(decode_hex(d, "3f03").error);  // 34: only the newest stays
  EXPECT_EQ(entries(d.table()), std::vector<std::string>{"a: 2"});
  ASSERT_FALSE(decode_hex(d, "20").error);  // 0: empty
  EXPECT_EQ(d.table().count(), 0u);
  EXPECT_EQ(d.table().memory(), 0u);
  EXPECT_EQ(decode_hex(d, "4001610133").error, std::error_code{});
  EXPECT_EQ(d.table().count(), 0u);  // larger than 0: not stored
}

TEST(HpackDecoder, ManyInsertionsStayBounded) {
  // The ring and the octet buffer wrap many times; the table stays correct and its memory
  // within twice the maximum plus the ring.
  decoder d({.max_table_size = 512});
  for (int i = 0; i < 5000; ++i) {
    std::string v = std::to_string(i) + std::string(static_cast<std::size_t>(i % 50), 'x');
    // Literal with incremental indexing, new name "k", plain value (length < 127).
    std::string hex = "40016b" +
                      test::to_hex(std::vector<std::byte>{static_cast<std::byte>(v.size())}) +
                      test::to_hex(test::bytes_of(v));
    auto r = decode_hex(d, hex);
    ASSERT_FALSE(r.error);
    ASSERT_EQ(entries(d.table()).front(), "k: " + v);
    ASSERT_LE(d.table().size(), 512u);
    ASSERT_LE(d.table().memory(), 2 * 512u + 16 * 16u + 256u);
  }
}

}  // namespace
}  // namespace portico::hpack
