// Helpers shared by the HTTP/2 frame tests: raw frame bytes built by hand (so hostile frames
// can be written), and a reader driver that feeds input the way a session does.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "http2/frame_reader.hpp"

namespace portico::http2::test {

inline std::span<const std::byte> bytes(std::string_view s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

inline std::string str(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

inline std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16 & 0xff),
          static_cast<char>(v >> 8 & 0xff), static_cast<char>(v & 0xff)};
}

inline std::string be16(std::uint16_t v) {
  return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)};
}

/// A frame written byte by byte: `length` overrides the Length field (default payload.size()),
/// so frames whose header and payload disagree can be built.
inline std::string raw_frame(std::uint8_t type, std::uint8_t fl, std::uint32_t stream,
                             std::string_view payload,
                             std::optional<std::uint32_t> length = std::nullopt) {
  const std::uint32_t len = length.value_or(static_cast<std::uint32_t>(payload.size()));
  std::string s;
  s += static_cast<char>(len >> 16 & 0xff);
  s += static_cast<char>(len >> 8 & 0xff);
  s += static_cast<char>(len & 0xff);
  s += static_cast<char>(type);
  s += static_cast<char>(fl);
  s += be32(stream);
  s.append(payload);
  return s;
}

inline std::string setting_bytes(std::uint16_t id, std::uint32_t value) {
  return be16(id) + be32(value);
}

/// Everything observable about one read() outcome, copied out of the views.
struct outcome {
  read_status status = read_status::need_more;
  std::string frame;  // describe() of the frame (frame, ignore, stream_error)
  std::error_code code;
  error_scope scope = error_scope::connection;
  std::uint32_t stream = 0;
  std::string detail;
  std::size_t consumed = 0;
  bool operator==(const outcome&) const = default;
};

inline std::string status_name(read_status s) {
  switch (s) {
    case read_status::need_more:
      return "need_more";
    case read_status::frame:
      return "frame";
    case read_status::ignore:
      return "ignore";
    case read_status::stream_error:
      return "stream_error";
    case read_status::connection_error:
      return "connection_error";
  }
  return "?";
}

inline std::string describe(const std::vector<outcome>& v) {
  std::ostringstream os;
  for (const outcome& o : v) {
    os << status_name(o.status) << " consumed=" << o.consumed;
    if (!o.frame.empty()) os << " [" << o.frame << "]";
    if (o.code)
      os << " error=" << error_name(static_cast<errc>(o.code.value()))
         << (o.scope == error_scope::stream ? " stream " : " connection ") << o.stream << " ("
         << o.detail << ")";
    os << "\n";
  }
  return os.str();
}

inline bool inside(std::span<const std::byte> v, const std::vector<char>& buf) {
  const auto* b = reinterpret_cast<const std::byte*>(buf.data());
  return v.empty() || (v.data() >= b && v.data() + v.size() <= b + buf.size());
}

/// Reads `input` the way a session does: bytes become available at the positions in
/// `schedule` (increasing; the last is normally input.size()). Each read() gets a fresh heap
/// copy of exactly the unconsumed available bytes, so AddressSanitizer sees any over-read and
/// the reader cannot keep pointers across calls. Stops at a connection error; ends with a
/// need_more outcome if bytes of an unfinished frame are left.
inline std::vector<outcome> run(std::string_view input, const std::vector<std::size_t>& schedule,
                                const reader_limits& lim = {}) {
  frame_reader reader(lim);
  std::vector<outcome> out;
  std::size_t off = 0;
  for (std::size_t avail : schedule) {
    for (;;) {
      const std::vector<char> buf(input.begin() + static_cast<std::ptrdiff_t>(off),
                                  input.begin() + static_cast<std::ptrdiff_t>(avail));
      const read_result r = reader.read(std::span<const char>(buf));
      if (r.status == read_status::need_more) {
        EXPECT_EQ(r.consumed, 0u);
        EXPECT_GT(r.needed, 0u);
        EXPECT_FALSE(r.error);
        break;
      }
      outcome o;
      o.status = r.status;
      o.consumed = r.consumed;
      o.code = r.error.code;
      o.scope = r.error.scope;
      o.stream = r.error.stream_id;
      o.detail = std::string(r.error.detail);
      if (r.status != read_status::connection_error) {
        EXPECT_TRUE(inside(r.frame.payload, buf));
        EXPECT_EQ(r.consumed, frame_header_size + r.frame.payload.size());
        EXPECT_EQ(r.frame.header.length, r.frame.payload.size());
        o.frame = http2::describe(r.frame);
      } else {
        EXPECT_EQ(r.consumed, 0u);
        EXPECT_TRUE(r.error);
        EXPECT_EQ(r.error.scope, error_scope::connection);
      }
      out.push_back(o);
      if (r.status == read_status::connection_error) return out;
      off += r.consumed;
    }
  }
  if (off < input.size()) out.push_back(outcome{});
  return out;
}

inline std::vector<outcome> run_whole(std::string_view input, const reader_limits& lim = {}) {
  return run(input, {input.size()}, lim);
}

/// Runs `input` in one piece, split in two at every position, and byte by byte; every run
/// must give the same outcomes. Returns the one-piece outcomes.
inline std::vector<outcome> run_all_splits(std::string_view input, const reader_limits& lim = {}) {
  const std::vector<outcome> whole = run_whole(input, lim);
  const std::string expected = describe(whole);
  for (std::size_t k = 0; k <= input.size(); ++k) {
    SCOPED_TRACE("split at " + std::to_string(k));
    EXPECT_EQ(describe(run(input, {k, input.size()}, lim)), expected);
  }
  std::vector<std::size_t> one_by_one;
  for (std::size_t k = 1; k <= input.size(); ++k)
    one_by_one.push_back(k);
  SCOPED_TRACE("byte by byte");
  EXPECT_EQ(describe(run(input, one_by_one, lim)), expected);
  return whole;
}

}  // namespace portico::http2::test
