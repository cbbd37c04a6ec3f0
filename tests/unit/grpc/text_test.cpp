// grpc-message, base64, grpc-timeout, content-type and metadata key checks (src/grpc/text.cpp),
// and the status category (src/grpc/status.cpp).
#include "grpc/text.hpp"

#include <gtest/gtest.h>

#include "grpc/status.hpp"

namespace portico::grpc {
namespace {

using namespace std::chrono_literals;

TEST(GrpcStatus, CategoryMirrorsTheCodes) {
  EXPECT_STREQ(grpc_category().name(), "portico.grpc");
  std::error_code ec = status_code::unimplemented;
  EXPECT_EQ(ec.value(), 12);
  EXPECT_EQ(ec.message(), "UNIMPLEMENTED");
  EXPECT_EQ(status_name(status_code::ok), "OK");
  EXPECT_EQ(status_name(status_code::unauthenticated), "UNAUTHENTICATED");
  EXPECT_EQ(status_name(static_cast<status_code>(99)), "UNKNOWN");
}

TEST(GrpcStatus, HttpMapping) {
  EXPECT_EQ(status_from_http(400), status_code::internal);
  EXPECT_EQ(status_from_http(401), status_code::unauthenticated);
  EXPECT_EQ(status_from_http(403), status_code::permission_denied);
  EXPECT_EQ(status_from_http(404), status_code::unimplemented);
  for (int s : {429, 502, 503, 504})
    EXPECT_EQ(status_from_http(s), status_code::unavailable);
  for (int s : {200, 413, 500, 418})
    EXPECT_EQ(status_from_http(s), status_code::unknown);
}

TEST(GrpcText, PercentEncodingOfMessages) {
  // The interop special_status_message text.
  const std::string special =
      "\t\ntest with whitespace\r\nand Unicode BMP \xe2\x98\xba and non-BMP "
      "\xf0\x9f\x98\x88\t\n";
  const std::string enc = percent_encode_message(special);
  EXPECT_EQ(enc,
            "%09%0Atest with whitespace%0D%0Aand Unicode BMP %E2%98%BA and non-BMP "
            "%F0%9F%98%88%09%0A");
  EXPECT_EQ(percent_decode_message(enc), special);
  EXPECT_EQ(percent_encode_message("100% sure"), "100%25 sure");
  EXPECT_EQ(percent_encode_message(" !$&~"), " !$&~");
  EXPECT_EQ(percent_encode_message(std::string("\x7f\0", 2)), "%7F%00");
  // Invalid escapes are kept, never an error.
  EXPECT_EQ(percent_decode_message("50%"), "50%");
  EXPECT_EQ(percent_decode_message("%zz%4"), "%zz%4");
  EXPECT_EQ(percent_decode_message("%41%62"), "Ab");
}

TEST(GrpcText, Base64PaddedAndUnpadded) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg");
  EXPECT_EQ(base64_encode("fo"), "Zm8");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob", true), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba", true), "Zm9vYmE=");
  for (std::string_view in : {"Zg", "Zg==", "Zm8", "Zm8=", "Zm9v", "Zm9vYmFy"}) {
    auto d = base64_decode(in);
    ASSERT_TRUE(d) << in;
  }
  EXPECT_EQ(*base64_decode("Zm9vYg=="), "foob");
  EXPECT_EQ(*base64_decode("Zm9vYg"), "foob");
  EXPECT_EQ(*base64_decode(""), "");
  for (std::string_view bad : {"Z", "Zg=", "Zm9v=", "Z===", "Zh", "Zm-v", "Zm9v\n", "=Zm9"})
    EXPECT_FALSE(base64_decode(bad)) << bad;
  std::string all;
  for (int i = 0; i < 256; ++i)
    all.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n <= all.size(); ++n) {
    const auto part = all.substr(0, n);
    EXPECT_EQ(*base64_decode(base64_encode(part)), part);
    EXPECT_EQ(*base64_decode(base64_encode(part, true)), part);
  }
}

TEST(GrpcText, Timeout) {
  EXPECT_EQ(parse_timeout("1H"), std::chrono::nanoseconds(1h));
  EXPECT_EQ(parse_timeout("2M"), std::chrono::nanoseconds(2min));
  EXPECT_EQ(parse_timeout("3S"), std::chrono::nanoseconds(3s));
  EXPECT_EQ(parse_timeout("4m"), std::chrono::nanoseconds(4ms));
  EXPECT_EQ(parse_timeout("5u"), std::chrono::nanoseconds(5us));
  EXPECT_EQ(parse_timeout("6n"), 6ns);
  EXPECT_EQ(parse_timeout("0n"), 0ns);
  EXPECT_EQ(parse_timeout("99999999H"), std::chrono::nanoseconds::max());
  EXPECT_EQ(parse_timeout("2562047H"), std::chrono::nanoseconds(2562047h));  // fits
  for (std::string_view bad : {"", "S", "1", "123456789S", "1s", "1x", "-1S", "1 S", " 1S", "1.5S"})
    EXPECT_FALSE(parse_timeout(bad)) << bad;
  EXPECT_EQ(encode_timeout(0ns), "0n");
  EXPECT_EQ(encode_timeout(1500ms), "1500000u");
  EXPECT_EQ(encode_timeout(std::chrono::nanoseconds(1h) * 100000), "6000000M");
  EXPECT_EQ(encode_timeout(std::chrono::nanoseconds(1h) * 2000000), "2000000H");
  for (std::chrono::nanoseconds d : std::initializer_list<std::chrono::nanoseconds>{
           1ns, 999ns, 1ms, 1s + 1ns, std::chrono::nanoseconds(3h)}) {
    const auto back = parse_timeout(encode_timeout(d));
    ASSERT_TRUE(back);
    EXPECT_GE(*back, d);
  }
}

TEST(GrpcText, ContentType) {
  for (std::string_view ok :
       {"application/grpc", "application/grpc+proto", "application/grpc+json", "Application/GRPC",
        "application/grpc; charset=utf-8", "application/grpc+thrift"})
    EXPECT_TRUE(is_grpc_content_type(ok)) << ok;
  for (std::string_view bad :
       {"", "application/json", "application/grpcx", "application/grpc-web", "text/grpc"})
    EXPECT_FALSE(is_grpc_content_type(bad)) << bad;
  EXPECT_EQ(grpc_content_subtype("application/grpc"), "");
  EXPECT_EQ(grpc_content_subtype("application/grpc+proto"), "proto");
  EXPECT_EQ(grpc_content_subtype("application/grpc+json;x=1"), "json");
}

TEST(GrpcText, MetadataKeysAndValues) {
  EXPECT_TRUE(valid_metadata_key("x-grpc-test-echo-initial"));
  EXPECT_TRUE(valid_metadata_key("a.b_c-9"));
  EXPECT_FALSE(valid_metadata_key(""));
  EXPECT_FALSE(valid_metadata_key("Upper"));
  EXPECT_FALSE(valid_metadata_key(":path"));
  EXPECT_TRUE(is_binary_key("x-bin"));
  EXPECT_FALSE(is_binary_key("-bin"));
  EXPECT_FALSE(is_binary_key("x-binary"));
  EXPECT_TRUE(valid_ascii_metadata_value("hello world ~"));
  EXPECT_FALSE(valid_ascii_metadata_value("tab\there"));
  EXPECT_FALSE(valid_ascii_metadata_value("\xc3\xa9"));
}

}  // namespace
}  // namespace portico::grpc
