// RFC 7541 §6 (binary format), §4.2 and §6.3 (table size updates), §5 (primitive types).
#include "hpack/decoder.hpp"

#include <algorithm>
#include <cstring>

#include "hpack/huffman.hpp"
#include "hpack/integer.hpp"
#include "hpack/static_table.hpp"

namespace portico::hpack {
namespace {

// Huffman buffer kept between blocks; a larger one (a long Huffman string went by) is given
// back after the block, so a connection does not hold it while idle.
constexpr std::size_t scratch_keep = 4096;

// The octet kept with each dynamic table entry: the static name index (1..61 fits in six bits)
// and whether the field check accepted the entry.
constexpr std::uint8_t tag_static_name = 0x3f;
constexpr std::uint8_t tag_checked = 0x80;

// Precondition: p < end. The one-octet case (every index below the prefix's maximum, every
// short string length) is inline; the rest goes through decode_integer().
inline integer_result read_integer(const std::uint8_t*& p, const std::uint8_t* end, int prefix) {
  const std::uint32_t prefix_max = (1u << prefix) - 1;
  if (const std::uint32_t v = *p & prefix_max; v < prefix_max) {
    ++p;
    return {errc{}, v, 1};
  }
  auto r = decode_integer(std::as_bytes(std::span<const std::uint8_t>(p, end)), prefix);
  if (r.error == errc{}) p += r.size;
  return r;
}

}  // namespace

decoder::decoder(const decoder_limits& limits) noexcept
    : limits_(limits),
      table_(limits.max_table_size),
      settings_limit_(limits.max_table_size),
      pending_min_limit_(limits.max_table_size) {}

void decoder::set_max_table_size_limit(std::uint32_t limit) {
  settings_limit_ = limit;
  // §4.2: "the smallest maximum table size that occurs in that interval MUST be signaled".
  // The peer must shrink to it; shrinking ours now is what it will do anyway (and frees the
  // memory at once). A limit that does not go below the current maximum needs no update.
  if (table_.max_size() > limit) {
    pending_min_limit_ = update_due_ ? std::min(pending_min_limit_, limit) : limit;
    update_due_ = true;
    table_.set_max_size(limit);
  }
}

void decoder::reserve_scratch(std::size_t n) {
  if (n <= scratch_cap_) return;
  // Geometric growth, but never past what a name and a value at the string limit need.
  const std::size_t most = 2 * limits_.max_string_length + 2;
  const std::size_t cap = std::max(n, std::min(std::max<std::size_t>(scratch_cap_ * 2, 256), most));
  std::unique_ptr<char[]> s(new char[cap]);
  if (scratch_cap_ > 0) std::copy_n(scratch_.get(), scratch_cap_, s.get());
  scratch_ = std::move(s);
  scratch_cap_ = cap;
}

// §5.2: H flag, 7-bit prefix length, then the octets. A plain string is a view of the block; a
// Huffman string is decoded into scratch_ at `scratch_offset`. With `memo` (the value of a
// literal that is not indexed: the last string of its field, so the view only has to live
// through the sink's call) a short Huffman string equal to the previous memoised one is a view
// of its remembered decoding, and a new one is remembered.
errc decoder::read_string(const std::uint8_t*& p, const std::uint8_t* end,
                          std::size_t scratch_offset, std::string_view& out, bool memo) {
  const bool huffman = (*p & 0x80) != 0;
  const integer_result len = read_integer(p, end, 7);
  if (len.error != errc{}) return len.error;
  if (!huffman) {
    if (len.value > limits_.max_string_length) return errc::string_too_long;
    if (len.value > static_cast<std::size_t>(end - p)) return errc::truncated;
    out = {reinterpret_cast<const char*>(p), len.value};
    p += len.value;
    return {};
  }
  if (len.value > static_cast<std::size_t>(end - p)) return errc::truncated;
  memo = memo && len.value <= memo_in_max;
  if (memo && len.value == memo_in_len_ && std::memcmp(p, memo_in_, len.value) == 0 &&
      memo_out_len_ <= limits_.max_string_length) {
    out = {memo_out_, memo_out_len_};
    p += len.value;
    return {};
  }
  // One octet more than the bound lets huffman_decode() take its unchecked path; the limit
  // still caps the room (and so the string).
  const std::size_t bound = huffman_decoded_size_bound(len.value);
  const std::size_t room =
      bound < limits_.max_string_length ? bound + 1 : limits_.max_string_length;
  reserve_scratch(scratch_offset + room);
  const auto r = huffman_decode(std::as_bytes(std::span<const std::uint8_t>(p, len.value)),
                                {scratch_.get() + scratch_offset, room});
  if (r.error != errc{}) return r.error;
  out = {scratch_.get() + scratch_offset, r.size};
  if (memo) {
    std::memcpy(memo_in_, p, len.value);
    memo_in_len_ = len.value;
    std::memcpy(memo_out_, out.data(), out.size());  // at most 8/5 of the input
    memo_out_len_ = out.size();
  }
  p += len.value;
  return {};
}

// §2.3.3: 1..61 static, then the dynamic table newest first; 0 and anything past the end are
// errors (§2.3.3 "MUST be treated as a decoding error", §6.1 "index value of 0 is not used").
// Fills the name, the value and the hints (static_name, checked) of `out`.
inline errc decoder::field_at(std::uint32_t index, header_field& out) const noexcept {
  if (index == 0) return errc::invalid_index;
  if (index <= static_table_size) {
    const table_entry& e = static_table[index - 1];
    out.name = e.name;
    out.value = e.value;
    out.static_name = static_cast<std::uint8_t>(index);
    out.checked = check_ != nullptr;
    return {};
  }
  const std::size_t i = index - static_table_size;
  if (i > table_.count()) return errc::invalid_index;
  const table_entry e = table_.at(i);
  const std::uint8_t tag = table_.tag_at(i);
  out.name = e.name;
  out.value = e.value;
  out.static_name = tag & tag_static_name;
  out.checked = (tag & tag_checked) != 0;
  return {};
}

std::error_code decoder::decode_block(std::span<const std::byte> block, callback cb) {
  if (failed_ != errc{}) return failed_;
  const auto* p = reinterpret_cast<const std::uint8_t*>(block.data());
  const auto* const end = p + block.size();
  list_size_ = 0;
  bool over_limit = false;
  bool field_seen = false;
  int updates = 0;
  errc err{};

  auto fail = [&](errc e) {
    failed_ = e;
    return make_error_code(e);
  };

  // §4.2: after our limit shrank below the table's size, the block must open with an update.
  if (update_due_ && (p == end || (*p & 0xe0) != 0x20))
    return fail(errc::missing_table_size_update);

  while (p < end) {
    const std::uint8_t b = *p;
    header_field f;
    bool add_to_table = false;

    if (b & 0x80) {
      // §6.1 Indexed Header Field: 1xxxxxxx, 7-bit index.
      const integer_result idx = read_integer(p, end, 7);
      if (idx.error != errc{}) return fail(idx.error);
      if ((err = field_at(idx.value, f)) != errc{}) return fail(err);
    } else if ((b & 0xe0) == 0x20) {
      // §6.3 Dynamic Table Size Update: 001xxxxx, 5-bit size. Only before the first field
      // (§4.2), at most two (the smallest then the final size), and within the limit (§6.3: "MUST
      // be treated as a decoding error" above it). The first one after our limit shrank must
      // not exceed the smallest limit set since the last block.
      if (field_seen) return fail(errc::table_size_update_not_first);
      if (++updates > 2) return fail(errc::too_many_table_size_updates);
      const integer_result size = read_integer(p, end, 5);
      if (size.error != errc{}) return fail(size.error);
      const std::uint32_t allowed = update_due_ ? pending_min_limit_ : settings_limit_;
      if (size.value > allowed) return fail(errc::table_size_above_limit);
      update_due_ = false;
      table_.set_max_size(size.value);
      continue;
    } else {
      // §6.2.1 with incremental indexing: 01xxxxxx, 6-bit name index.
      // §6.2.2 without indexing: 0000xxxx; §6.2.3 never indexed: 0001xxxx; 4-bit name index.
      const bool incremental = (b & 0x40) != 0;
      f.never_indexed = !incremental && (b & 0x10) != 0;
      add_to_table = incremental;
      const integer_result idx = read_integer(p, end, incremental ? 6 : 4);
      if (idx.error != errc{}) return fail(idx.error);
      bool name_in_scratch = false;
      if (idx.value != 0) {
        if ((err = field_at(idx.value, f)) != errc{}) return fail(err);
        f.checked = false;  // only the name came from the table
      } else {
        if (p == end) return fail(errc::truncated);
        name_in_scratch = (*p & 0x80) != 0;
        if ((err = read_string(p, end, 0, f.name)) != errc{}) return fail(err);
      }
      if (p == end) return fail(errc::truncated);
      // A Huffman value goes after a Huffman name in the scratch buffer; growing the buffer
      // for it moves the name, so the name's view is taken again afterwards.
      const std::size_t name_len = f.name.size();
      if ((err = read_string(p, end, name_in_scratch ? name_len : 0, f.value, !incremental)) !=
          errc{})
        return fail(err);
      if (name_in_scratch) f.name = {scratch_.get(), name_len};
    }

    field_seen = true;
    // RFC 9113 §6.5.2: name + value + 32 per field. Past the limit nothing more is delivered,
    // but the block is decoded to its end so the dynamic table stays in step.
    list_size_ += field_size(f.name, f.value);
    if (!over_limit && list_size_ > limits_.max_header_list_size) over_limit = true;
    if (!over_limit) cb.call(cb.ctx, f);
    if (add_to_table) {
      // §6.2.1, evicting per §4.4. The check runs here, once per entry, so that references
      // to the entry need none.
      std::uint8_t tag = f.static_name;
      if (check_ && check_(f.name, f.value)) tag |= tag_checked;
      table_.insert(f.name, f.value, tag);
    }
  }

  if (scratch_cap_ > scratch_keep) {
    scratch_.reset();
    scratch_cap_ = 0;
  }
  if (over_limit) return make_error_code(errc::header_list_too_large);
  return {};
}

}  // namespace portico::hpack
