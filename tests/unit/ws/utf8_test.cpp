// Tests for the UTF-8 validator (src/ws/utf8.cpp): valid text split anywhere, every class of
// invalid sequence at every position, rejection at the first bad byte.
#include "ws/utf8.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace portico::ws {
namespace {

const std::vector<std::string> valid = {
    "",
    "Hello, world",
    "κόσμε",             // Greek
    "\xc2\x80",          // U+0080, smallest 2-byte
    "\xdf\xbf",          // U+07FF
    "\xe0\xa0\x80",      // U+0800, smallest 3-byte
    "\xed\x9f\xbf",      // U+D7FF, just below the surrogates
    "\xee\x80\x80",      // U+E000, just above
    "\xef\xbf\xbd",      // U+FFFD
    "\xef\xbf\xbf",      // U+FFFF (a noncharacter, still valid UTF-8)
    "\xf0\x90\x80\x80",  // U+10000, smallest 4-byte
    "\xf4\x8f\xbf\xbf",  // U+10FFFF, the largest
    "a\xf0\x9f\x98\x80z \xe2\x82\xac 0123456789abcdef",  // emoji, euro, a long ASCII run
};

// Each is invalid, and the index of the first byte that proves it.
struct bad {
  std::string bytes;
  std::size_t at;
  const char* what;
};
const std::vector<bad> invalid = {
    {"\x80", 0, "lone continuation"},
    {"\xbf", 0, "lone continuation"},
    {"\xc0\x80", 0, "overlong NUL (C0)"},
    {"\xc1\xbf", 0, "overlong (C1)"},
    {"\xe0\x80\x80", 1, "overlong 3-byte"},
    {"\xe0\x9f\xbf", 1, "overlong 3-byte U+07FF"},
    {"\xf0\x80\x80\x80", 1, "overlong 4-byte"},
    {"\xf0\x8f\xbf\xbf", 1, "overlong 4-byte U+FFFF"},
    {"\xed\xa0\x80", 1, "surrogate U+D800"},
    {"\xed\xbf\xbf", 1, "surrogate U+DFFF"},
    {"\xf4\x90\x80\x80", 1, "U+110000"},
    {"\xf5\x80\x80\x80", 0, "F5 lead"},
    {"\xff", 0, "FF"},
    {"\xfe", 0, "FE"},
    {"\xc2\x41", 1, "missing continuation"},
    {"\xe2\x82\x41", 2, "missing second continuation"},
    {"\xf0\x9f\x98\x41", 3, "missing third continuation"},
};

TEST(WsUtf8, ValidWholeAndSplitEverywhere) {
  for (const std::string& s : valid) {
    EXPECT_TRUE(is_valid_utf8(s)) << s;
    for (std::size_t i = 0; i <= s.size(); ++i) {
      for (std::size_t j = i; j <= s.size(); ++j) {
        utf8_validator v;
        ASSERT_TRUE(v.feed(s.substr(0, i)));
        ASSERT_TRUE(v.feed(s.substr(i, j - i)));
        ASSERT_TRUE(v.feed(s.substr(j)));
        EXPECT_TRUE(v.complete()) << s << " " << i << " " << j;
      }
    }
  }
}

TEST(WsUtf8, InvalidAtEveryPositionFailsAtTheFirstBadByte) {
  const std::string text = "abc\xce\xba\xe2\x82\xac\xf0\x9f\x98\x80xyz0123456789";
  for (const bad& b : invalid) {
    // Insert the bad sequence at every character boundary of valid text.
    for (std::size_t pos = 0; pos <= text.size(); ++pos) {
      if (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xc0) == 0x80) continue;
      const std::string s = text.substr(0, pos) + b.bytes + text.substr(pos);
      EXPECT_FALSE(is_valid_utf8(s)) << b.what << " at " << pos;
      // Fed whole: the offset of the rejected byte.
      utf8_validator v;
      EXPECT_FALSE(v.feed(s));
      EXPECT_EQ(v.error_offset(), pos + b.at) << b.what << " at " << pos;
      // Fed one byte at a time: accepted up to that byte, rejected at it (fail fast).
      utf8_validator w;
      for (std::size_t i = 0; i < s.size(); ++i) {
        const bool ok = w.feed(s.substr(i, 1));
        if (i < pos + b.at) {
          ASSERT_TRUE(ok) << b.what << " at " << pos << " byte " << i;
        } else {
          ASSERT_FALSE(ok) << b.what << " at " << pos << " byte " << i;
          break;
        }
      }
      EXPECT_TRUE(w.failed());
    }
  }
}

TEST(WsUtf8, TruncatedSequencesAreIncomplete) {
  for (const std::string s : {"\xc2", "\xe2\x82", "\xf0\x9f\x98", "ab\xf4\x8f\xbf"}) {
    utf8_validator v;
    EXPECT_TRUE(v.feed(s)) << "a prefix of valid UTF-8";
    EXPECT_FALSE(v.complete());
    EXPECT_FALSE(is_valid_utf8(s));
  }
}

TEST(WsUtf8, AllCodePointsRoundTrip) {
  // Every scalar value encodes to valid UTF-8; surrogate encodings are refused.
  for (std::uint32_t cp = 0; cp <= 0x10ffff; cp += (cp < 0x1000 ? 1 : 37)) {
    std::string s;
    if (cp < 0x80) {
      s.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      s.push_back(static_cast<char>(0xc0 | (cp >> 6)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      s.push_back(static_cast<char>(0xe0 | (cp >> 12)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      s.push_back(static_cast<char>(0xf0 | (cp >> 18)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
    const bool surrogate = cp >= 0xd800 && cp <= 0xdfff;
    EXPECT_EQ(is_valid_utf8(s), !surrogate) << std::hex << cp;
  }
}

}  // namespace
}  // namespace portico::ws
