// libFuzzer target for the HPACK decoder (src/hpack/decoder.cpp), with the encoder as an
// oracle: every block that decodes is encoded again and must decode to the same fields.
//
// Input: byte 0 = configuration, then blocks as [length][control][length octets]; a last,
// shorter remainder is one more block.
//   configuration bits 0-1: SETTINGS_HEADER_TABLE_SIZE of the decoder {0, 64, 256, 4096}
//                 bits 2-3: max string length {8, 64, 512, 16384}
//                 bits 4-5: max header list size {64, 512, 4096, 65536}
//                 bit 6:    the re-encoder Huffman-codes strings
//                 bit 7:    the re-encoder indexes everything (indexing_policy::all)
//   control bit 7: before this block the decoder's limit changes to sizes[control & 3]
//           bit 6: before this block the re-encoder's peer size changes to
//                  sizes[(control >> 2) & 3] (and its decoder's limit with it)
// Broken invariants trap:
//   - the decoder's table stays within its maximum and the maximum within the limit;
//   - no delivered literal string is longer than the string limit, and the delivered fields
//     add up to at most the list limit;
//   - header_list_too_large leaves the decoder usable, any other error is sticky;
//   - the re-encoded block decodes without error to the same names and values (and keeps the
//     never-indexed marks), and the re-encoder's table equals its decoder's.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "hpack/decoder.hpp"
#include "hpack/encoder.hpp"

namespace {

using namespace portico::hpack;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr std::uint32_t table_sizes[] = {0, 64, 256, 4096};
constexpr std::size_t string_limits[] = {8, 64, 512, 16384};
constexpr std::size_t list_limits[] = {64, 512, 4096, 65536};

constexpr std::size_t longest_static_name = 27;   // access-control-allow-origin
constexpr std::size_t longest_static_value = 13;  // gzip, deflate

struct owned {
  std::string name;
  std::string value;
  bool never_indexed;
};

std::error_code decode(decoder& d, std::span<const std::byte> block, std::vector<owned>& out) {
  out.clear();
  return d.decode(block, [&](const header_field& f) {
    out.push_back({std::string(f.name), std::string(f.value), f.never_indexed});
  });
}

bool same_tables(const dynamic_table& a, const dynamic_table& b) {
  if (a.count() != b.count() || a.size() != b.size() || a.max_size() != b.max_size()) return false;
  for (std::size_t i = 1; i <= a.count(); ++i) {
    const auto x = a.at(i);
    const auto y = b.at(i);
    if (x.name != y.name || x.value != y.value) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t config = data[0];
  decoder_limits lim;
  lim.max_table_size = table_sizes[config & 3];
  lim.max_string_length = string_limits[(config >> 2) & 3];
  lim.max_header_list_size = list_limits[(config >> 4) & 3];
  decoder d(lim);

  encoder_options eopt;
  eopt.huffman = (config & 0x40) != 0;
  eopt.indexing = (config & 0x80) != 0 ? indexing_policy::all : indexing_policy::automatic;
  encoder e(eopt);
  decoder_limits lim2 = lim;
  lim2.max_table_size = default_table_size;
  decoder d2(lim2);

  std::vector<owned> fields;
  std::vector<owned> again;
  std::vector<header_field> views;
  std::vector<std::byte> wire;
  std::error_code sticky;

  std::size_t pos = 1;
  while (pos < size) {
    std::size_t len = size - pos;
    std::uint8_t control = 0;
    if (len >= 2 && data[pos] <= len - 2) {
      len = data[pos];
      control = data[pos + 1];
      pos += 2;
    }  // else the remainder is the last block
    if (control & 0x80) d.set_max_table_size_limit(table_sizes[control & 3]);
    if (control & 0x40) {
      const std::uint32_t v = table_sizes[(control >> 2) & 3];
      e.set_peer_max_table_size(v);
      d2.set_max_table_size_limit(v);
    }
    // A heap copy of exactly the block: ASan sees any read past its end.
    std::vector<std::byte> block(len);
    for (std::size_t i = 0; i < len; ++i)
      block[i] = static_cast<std::byte>(data[pos + i]);
    pos += len;

    const std::error_code ec = decode(d, block, fields);
    check(d.table().size() <= d.table().max_size());
    check(d.table().max_size() <= d.max_table_size_limit());
    if (sticky) {
      check(ec == sticky && fields.empty());
      continue;
    }
    std::size_t list = 0;
    for (const auto& f : fields) {
      // Literal strings obey the limit; static table entries may be longer (names up to 27).
      check(f.name.size() <= std::max(lim.max_string_length, longest_static_name));
      check(f.value.size() <= std::max(lim.max_string_length, longest_static_value));
      list += field_size(f.name, f.value);
    }
    check(list <= lim.max_header_list_size);
    if (is_compression_error(ec)) {
      sticky = ec;
      continue;
    }
    check(!ec || ec == errc::header_list_too_large);

    // Re-encode what was delivered and decode it with a second decoder.
    views.clear();
    for (const auto& f : fields)
      views.push_back({f.name, f.value, f.never_indexed});
    wire.clear();
    e.encode(views, wire);
    const std::error_code ec2 = decode(d2, wire, again);
    check(!ec2);
    check(again.size() == fields.size());
    for (std::size_t i = 0; i < fields.size(); ++i) {
      check(again[i].name == fields[i].name && again[i].value == fields[i].value);
      check(!fields[i].never_indexed || again[i].never_indexed);
    }
    check(same_tables(e.table(), d2.table()));
  }
  return 0;
}
