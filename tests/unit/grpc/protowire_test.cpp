// The hand-written protobuf wire codec (src/grpc/protowire.cpp) against the encoding examples
// of the protobuf documentation (protobuf.dev/programming-guides/encoding) and the bytes
// libprotobuf produces for grpc.health.v1 messages; every truncation of a message is refused.
#include "grpc/protowire.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace portico::grpc::wire {
namespace {

std::string bytes(std::initializer_list<int> v) {
  std::string out;
  for (int b : v)
    out.push_back(static_cast<char>(b));
  return out;
}

std::string varint(std::uint64_t v) {
  std::string out;
  append_varint(out, v);
  return out;
}

TEST(ProtoWire, Varints) {
  EXPECT_EQ(varint(0), bytes({0x00}));
  EXPECT_EQ(varint(1), bytes({0x01}));
  EXPECT_EQ(varint(150), bytes({0x96, 0x01}));  // the documentation's example
  EXPECT_EQ(varint(300), bytes({0xac, 0x02}));
  EXPECT_EQ(varint(~0ull), bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
  for (std::uint64_t v : {0ull, 127ull, 128ull, 16383ull, 16384ull, 1ull << 63, ~0ull}) {
    std::string s = varint(v);
    std::string_view in = s;
    EXPECT_EQ(read_varint(in), v);
    EXPECT_TRUE(in.empty());
  }
  // Ten bytes whose last carries more than bit 63; eleven bytes; cut short.
  std::string_view over = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02";
  EXPECT_EQ(read_varint(over), std::nullopt);
  std::string_view eleven = "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00";
  EXPECT_EQ(read_varint(eleven), std::nullopt);
  std::string_view cut = "\x96";
  EXPECT_EQ(read_varint(cut), std::nullopt);
  std::string_view empty;
  EXPECT_EQ(read_varint(empty), std::nullopt);
}

TEST(ProtoWire, Fields) {
  std::string m;
  append_varint_field(m, 1, 150);
  EXPECT_EQ(m, bytes({0x08, 0x96, 0x01}));  // "08 96 01"
  m.clear();
  append_len_field(m, 2, "testing");
  EXPECT_EQ(m, bytes({0x12, 0x07}) + "testing");  // "12 07 74 65 73 74 69 6e 67"
  m.clear();
  append_tag(m, max_field_number, wire_type::len);
  EXPECT_EQ(m, bytes({0xfa, 0xff, 0xff, 0xff, 0x0f}));
}

TEST(ProtoWire, ReaderReadsEveryWireType) {
  // field 1 varint 150, field 2 "testing", field 3 fixed64, field 4 fixed32, field 5 empty LEN.
  const std::string m = bytes({0x08, 0x96, 0x01}) + bytes({0x12, 0x07}) + "testing" +
                        bytes({0x19, 1, 2, 3, 4, 5, 6, 7, 8}) + bytes({0x25, 1, 2, 3, 4}) +
                        bytes({0x2a, 0x00});
  reader r(m);
  field f;
  ASSERT_TRUE(r.next(f));
  EXPECT_EQ(f.number, 1u);
  EXPECT_EQ(f.type, wire_type::varint);
  EXPECT_EQ(f.value, 150u);
  ASSERT_TRUE(r.next(f));
  EXPECT_EQ(f.number, 2u);
  EXPECT_EQ(f.type, wire_type::len);
  EXPECT_EQ(f.bytes, "testing");
  ASSERT_TRUE(r.next(f));
  EXPECT_EQ(f.type, wire_type::i64);
  EXPECT_EQ(f.value, 0x0807060504030201u);
  ASSERT_TRUE(r.next(f));
  EXPECT_EQ(f.type, wire_type::i32);
  EXPECT_EQ(f.value, 0x04030201u);
  ASSERT_TRUE(r.next(f));
  EXPECT_EQ(f.number, 5u);
  EXPECT_EQ(f.bytes, "");
  EXPECT_FALSE(r.next(f));
  EXPECT_TRUE(r.ok());

  // Every cut inside a field is refused; cuts between fields read the fields before them.
  const std::vector<std::size_t> boundaries = {0, 3, 12, 21, 26, 28};
  for (std::size_t n = 0; n <= m.size(); ++n) {
    reader p(std::string_view(m).substr(0, n));
    int fields = 0;
    while (p.next(f))
      ++fields;
    const bool boundary = std::find(boundaries.begin(), boundaries.end(), n) != boundaries.end();
    EXPECT_EQ(p.ok(), boundary) << "cut at " << n;
  }
}

TEST(ProtoWire, ReaderRefusesMalformedMessages) {
  for (const std::string& m : {
           bytes({0x00, 0x01}),            // field number 0
           bytes({0x0b}),                  // start group
           bytes({0x0c}),                  // end group
           bytes({0x0e, 0x00}),            // wire type 6
           bytes({0x0f, 0x00}),            // wire type 7
           bytes({0x0a, 0x05, 'a', 'b'}),  // length past the end
           bytes({0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}),  // 2^64-1
           bytes({0x80, 0x80, 0x80, 0x80, 0x10, 0x00}),  // field number 2^29
       }) {
    reader r(m);
    field f;
    while (r.next(f)) {
    }
    EXPECT_FALSE(r.ok()) << testing::PrintToString(m);
    EXPECT_FALSE(r.next(f));  // stays there
  }
}

TEST(ProtoWire, HealthRequest) {
  // What libprotobuf (python3-protobuf) serialises for HealthCheckRequest(service=...).
  const std::string name = "grpc.testing.TestService";
  EXPECT_EQ(encode_health_request(name), bytes({0x0a, 0x18}) + name);
  EXPECT_EQ(encode_health_request(""), "");
  EXPECT_EQ(decode_health_request(bytes({0x0a, 0x18}) + name), name);
  EXPECT_EQ(decode_health_request(""), "");
  // The last field 1 wins; unknown fields and a field 1 of another wire type are skipped.
  EXPECT_EQ(decode_health_request(bytes({0x0a, 0x01, 'a', 0x0a, 0x01, 'b'})), "b");
  EXPECT_EQ(decode_health_request(bytes({0x10, 0x05, 0x0a, 0x01, 'c', 0x1d, 1, 2, 3, 4})), "c");
  EXPECT_EQ(decode_health_request(bytes({0x08, 0x01})), "");
  EXPECT_EQ(decode_health_request(bytes({0x0a, 0x19}) + name), std::nullopt);
  EXPECT_EQ(decode_health_request(bytes({0x0b})), std::nullopt);
}

TEST(ProtoWire, HealthResponse) {
  EXPECT_EQ(encode_health_response(serving_status::unknown), "");  // proto3: default left out
  EXPECT_EQ(encode_health_response(serving_status::serving), bytes({0x08, 0x01}));
  EXPECT_EQ(encode_health_response(serving_status::not_serving), bytes({0x08, 0x02}));
  EXPECT_EQ(encode_health_response(serving_status::service_unknown), bytes({0x08, 0x03}));
  EXPECT_EQ(decode_health_response(""), 0);
  EXPECT_EQ(decode_health_response(bytes({0x08, 0x02})), 2);
  EXPECT_EQ(decode_health_response(bytes({0x08, 0x07, 0x12, 0x00})), 7);  // open enum, unknown
  EXPECT_EQ(decode_health_response(bytes({0x08})), std::nullopt);
}

}  // namespace
}  // namespace portico::grpc::wire
