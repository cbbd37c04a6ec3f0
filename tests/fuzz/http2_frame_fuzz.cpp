// libFuzzer target for the HTTP/2 frame reader and writer (src/http2/frame_reader.cpp,
// frame_writer.cpp).
//
// Input: first byte = options (bit 0: SETTINGS_MAX_FRAME_SIZE 2^24-1 instead of 16384, so long
// frames wait for their payload; bit 1: a 256-octet field block limit, so the CONTINUATION
// flood path is reachable with short inputs; bits 2-7: where to split), the rest = bytes of a
// frame sequence (what follows the client preface on a connection).
//
// The bytes are read twice: all at once, and arriving in two parts (each read() sees a fresh
// heap copy of exactly the unconsumed bytes, so ASan catches any over-read). Both runs must
// agree on every outcome. Then every frame yielded (frames, ignored frames, stream errors) is
// written again with the writer, and the rewritten sequence must read back to the same
// outcomes and rewrite to the same bytes. Any disagreement or broken invariant traps.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "http2/frame.hpp"
#include "http2/frame_reader.hpp"
#include "http2/frame_writer.hpp"

namespace {

using namespace portico::http2;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool inside(std::span<const std::byte> v, const std::vector<char>& b) {
  const auto* p = reinterpret_cast<const std::byte*>(b.data());
  return v.empty() || (v.data() >= p && v.data() + v.size() <= p + b.size());
}

struct record {
  read_status status = read_status::need_more;
  std::string frame;  // describe()
  int code = 0;
  error_scope scope = error_scope::connection;
  std::uint32_t stream = 0;
  std::size_t consumed = 0;
  bool operator==(const record&) const = default;
};

struct run_result {
  std::vector<record> records;  // the last one may be a connection error
  std::string rewritten;        // every yielded frame, written again
};

run_result run(const char* data, std::size_t size, std::size_t first_part,
               const reader_limits& lim) {
  frame_reader reader(lim);
  run_result out;
  std::size_t off = 0;
  std::size_t avail = first_part;
  for (;;) {
    const std::vector<char> b(data + off, data + avail);
    const read_result r = reader.read(std::span<const char>(b));
    if (r.status == read_status::need_more) {
      check(r.consumed == 0 && r.needed > 0 && !r.error);
      // The reader must not ask for more than the frame it is in: header, or header + length.
      check(b.size() < frame_header_size
                ? r.needed == frame_header_size - b.size()
                : r.needed <= frame_header_size + lim.max_frame_size - b.size());
      if (avail == size) return out;
      avail = size;
      continue;
    }
    record rec;
    rec.status = r.status;
    rec.code = r.error.code.value();
    rec.scope = r.error.scope;
    rec.stream = r.error.stream_id;
    rec.consumed = r.consumed;
    if (r.status == read_status::connection_error) {
      check(r.consumed == 0 && static_cast<bool>(r.error) &&
            r.error.scope == error_scope::connection && !r.error.detail.empty());
      check(reader.failed());
      out.records.push_back(rec);
      return out;
    }
    check(r.consumed == frame_header_size + r.frame.payload.size());
    check(r.consumed <= b.size());
    check(r.frame.header.length == r.frame.payload.size());
    check(r.frame.header.length <= reader.max_frame_size());
    check(inside(r.frame.payload, b));
    if (r.status == read_status::stream_error) {
      check(r.error.scope == error_scope::stream && r.error.stream_id == r.frame.header.stream_id &&
            r.error.stream_id != 0);
    } else {
      check(!r.error);
    }
    check((r.status == read_status::ignore) == (frame_type_name(r.frame.header.type) == "UNKNOWN"));
    // Every view of the body lies inside the payload.
    std::visit(
        [&](const auto& body) {
          using T = std::decay_t<decltype(body)>;
          if constexpr (std::is_same_v<T, data_frame>) {
            check(inside(body.data, b));
          } else if constexpr (std::is_same_v<T, headers_frame> ||
                               std::is_same_v<T, push_promise_frame> ||
                               std::is_same_v<T, continuation_frame>) {
            check(inside(body.fragment, b));
          } else if constexpr (std::is_same_v<T, goaway_frame>) {
            check(inside(body.debug_data, b));
          } else if constexpr (std::is_same_v<T, settings_frame>) {
            check(inside(body.entries.raw(), b));
            for (const setting s : body.entries)
              check(check_setting(s) == errc::no_error);
          } else if constexpr (std::is_same_v<T, priority_update_frame>) {
            check(inside(std::as_bytes(std::span(body.field_value)), b));
          }
        },
        r.frame.body);
    rec.frame = describe(r.frame);
    append_frame(out.rewritten, r.frame);
    out.records.push_back(rec);
    off += r.consumed;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  reader_limits lim;
  lim.max_frame_size = (data[0] & 1) != 0 ? max_max_frame_size : default_max_frame_size;
  if ((data[0] & 2) != 0) lim.max_field_block_size = 256;
  const char* input = reinterpret_cast<const char*>(data + 1);
  const std::size_t n = size - 1;
  const std::size_t split = n * (data[0] >> 2) / 63;

  const run_result whole = run(input, n, n, lim);
  const run_result parts = run(input, n, split, lim);
  check(whole.records == parts.records);
  check(whole.rewritten == parts.rewritten);

  // The rewritten frames read back the same, up to (not including) a final connection error.
  const run_result again =
      run(whole.rewritten.data(), whole.rewritten.size(), whole.rewritten.size(), lim);
  std::vector<record> expected = whole.records;
  if (!expected.empty() && expected.back().status == read_status::connection_error)
    expected.pop_back();
  check(again.records == expected);
  check(again.rewritten == whole.rewritten);
  return 0;
}
