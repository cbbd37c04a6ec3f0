// RFC 7541 §6 representations chosen by the policy described in encoder.hpp.
#include "hpack/encoder.hpp"

#include <algorithm>
#include <cstring>

#include "hpack/hash.hpp"
#include "hpack/huffman.hpp"
#include "hpack/integer.hpp"
#include "hpack/static_table.hpp"

namespace portico::hpack {
namespace {

// Fields whose values rarely repeat on a connection (see encoder.hpp): the slot of the
// encoder's repeat memory for the name, or -1 for any other name.
int unlikely_slot(std::string_view name) noexcept {
  switch (name.size()) {
    case 3:
      return name == "age" ? 0 : -1;
    case 4:
      return name == "etag" ? 1 : -1;
    case 5:
      return name == ":path" ? 2 : -1;
    case 8:
      return name == "location" ? 3 : -1;
    case 13:
      return name == "content-range" ? 4 : name == "if-none-match" ? 5 : -1;
    case 14:
      return name == "content-length" ? 6 : -1;
    case 17:
      return name == "if-modified-since" ? 7 : -1;
    default:
      return -1;
  }
}

}  // namespace

encoder::encoder(const encoder_options& options)
    : options_(options),
      table_(default_table_size),
      target_size_(std::min(default_table_size, options.max_table_size)) {
  // Both tables start at the protocol's 4096 (RFC 9113 §6.5.2); a smaller cap of ours is
  // announced in the first block.
  if (target_size_ != table_.max_size()) {
    update_pending_ = true;
    pending_min_ = target_size_;
  }
}

void encoder::set_peer_max_table_size(std::uint32_t settings_value) noexcept {
  const std::uint32_t target = std::min(settings_value, options_.max_table_size);
  if (update_pending_) {
    pending_min_ = std::min(pending_min_, target);
  } else if (target != table_.max_size()) {
    update_pending_ = true;
    pending_min_ = target;
  }
  target_size_ = target;
}

bool encoder::is_sensitive(const header_field& f) const noexcept {
  if (f.never_indexed) return true;
  if (options_.indexing == indexing_policy::all) return false;
  const std::string_view n = f.name;
  switch (n.size()) {
    case 6:
      return n == "cookie" && f.value.size() < options_.never_index_cookies_below;
    case 10:
      return n == "set-cookie";
    case 13:
      return n == "authorization";
    case 19:
      return n == "proxy-authorization";
    default:
      return false;
  }
}

bool encoder::should_index(const header_field& f, std::uint32_t field_hash) noexcept {
  if (options_.indexing == indexing_policy::all) return true;
  // An entry over 3/4 of the table would evict most of what is there.
  if (field_size(f.name, f.value) > table_.max_size() / 4 * 3) return false;
  const int slot = unlikely_slot(f.name);
  if (slot < 0) return true;
  // A value of a per-resource field is indexed once it was sent twice in a row under that
  // name (the same file fetched again and again, a constant content-length): from then on it
  // repeats, and an index is one octet instead of the literal.
  const bool again = last_unlikely_[slot] == field_hash;
  last_unlikely_[slot] = field_hash;
  return again;
}

// Dynamic index (1 = newest) of the entry (name, value), 0 if none.
std::uint32_t encoder::find_field(std::uint32_t hash, std::string_view name,
                                  std::string_view value) const noexcept {
  if (!meta_) return 0;
  const auto inserted = static_cast<std::uint32_t>(table_.insertions());
  std::uint32_t ref = field_buckets_[hash & bucket_mask_];
  std::uint32_t prev = 0;
  while (ref != 0) {
    // Insertion numbers are kept modulo 2^32: a stale link that looks alive again after 2^32
    // insertions is harmless (the strings are compared) and the walk ends because distances
    // must grow.
    const std::uint32_t dist = inserted - (ref - 1);
    if (dist == 0 || dist > table_.count() || dist <= prev) return 0;
    const entry_meta& m = meta_[(ref - 1) & (meta_cap_ - 1)];
    if (m.field_hash == hash) {
      const table_entry e = table_.at(dist);
      if (detail::equal(e.value, value) && detail::equal(e.name, name)) return dist;
    }
    prev = dist;
    ref = m.next_field;
  }
  return 0;
}

std::uint32_t encoder::find_name(std::uint32_t hash, std::string_view name) const noexcept {
  if (!meta_) return 0;
  const auto inserted = static_cast<std::uint32_t>(table_.insertions());
  std::uint32_t ref = name_buckets_[hash & bucket_mask_];
  std::uint32_t prev = 0;
  while (ref != 0) {
    const std::uint32_t dist = inserted - (ref - 1);
    if (dist == 0 || dist > table_.count() || dist <= prev) return 0;
    const entry_meta& m = meta_[(ref - 1) & (meta_cap_ - 1)];
    if (m.name_hash == hash && detail::equal(table_.at(dist).name, name)) return dist;
    prev = dist;
    ref = m.next_name;
  }
  return 0;
}

void encoder::insert(std::string_view name, std::string_view value, std::uint32_t name_hash,
                     std::uint32_t field_hash) {
  if (!table_.insert(name, value)) return;  // larger than the table: the table is now empty
  if (!meta_) {
    // The table never holds more than max_table_size / 32 entries (§4.1).
    std::size_t cap = 16;
    while (cap < options_.max_table_size / entry_overhead)
      cap *= 2;
    meta_.reset(new entry_meta[cap]);
    const std::size_t buckets = cap / 2;
    name_buckets_.reset(new std::uint32_t[buckets]());
    field_buckets_.reset(new std::uint32_t[buckets]());
    meta_cap_ = cap;
    bucket_mask_ = buckets - 1;
  }
  const auto id = static_cast<std::uint32_t>(table_.insertions() - 1);
  entry_meta& m = meta_[id & (meta_cap_ - 1)];
  m.name_hash = name_hash;
  m.field_hash = field_hash;
  m.next_name = name_buckets_[name_hash & bucket_mask_];
  m.next_field = field_buckets_[field_hash & bucket_mask_];
  name_buckets_[name_hash & bucket_mask_] = id + 1;
  field_buckets_[field_hash & bucket_mask_] = id + 1;
}

// §5.2: H flag and 7-bit prefix length, then the octets; Huffman only when strictly shorter.
std::byte* encoder::write_string(std::string_view s, std::byte* p) const noexcept {
  if (options_.huffman) {
    const std::size_t n = huffman_encoded_size(s);
    if (n < s.size()) {
      p = encode_integer(static_cast<std::uint32_t>(n), 7, 0x80, p);
      return huffman_encode(s, p);
    }
  }
  p = encode_integer(static_cast<std::uint32_t>(s.size()), 7, 0x00, p);
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

std::byte* encoder::encode_field(const header_field& f, std::byte* p, memo_entry* memo) {
  const bool sensitive = is_sensitive(f);
  // One hash of the name serves the static and the dynamic table lookups.
  const std::uint64_t name_h64 = detail::hash_bytes(0, f.name);
  const std::uint32_t name_hash = detail::fold(name_h64);
  const static_match sm = static_find(f.name, f.value, name_h64);
  std::uint32_t field_hash = 0;
  if (!sensitive) {
    // §6.1 Indexed Header Field, from the static table first (a smaller index).
    if (sm.exact) {
      if (memo) memo->remember(f, memo_entry::kind::static_index, sm.index);
      return encode_integer(sm.index, 7, 0x80, p);
    }
    field_hash = detail::fold(detail::hash_bytes(name_h64, f.value));
    if (const std::uint32_t d = find_field(field_hash, f.name, f.value); d != 0) {
      if (memo) memo->remember(f, memo_entry::kind::dynamic_entry, table_.insertions() - d);
      return encode_integer(static_cast<std::uint32_t>(static_table_size) + d, 7, 0x80, p);
    }
  }
  std::uint32_t name_index = sm.index;
  if (name_index == 0) {
    if (const std::uint32_t d = find_name(name_hash, f.name); d != 0)
      name_index = static_cast<std::uint32_t>(static_table_size) + d;
  }
  const bool index = !sensitive && should_index(f, field_hash);
  if (sensitive)
    p = encode_integer(name_index, 4, 0x10, p);  // §6.2.3 never indexed
  else if (index)
    p = encode_integer(name_index, 6, 0x40, p);  // §6.2.1 with incremental indexing
  else
    p = encode_integer(name_index, 4, 0x00, p);  // §6.2.2 without indexing
  if (name_index == 0) p = write_string(f.name, p);
  p = write_string(f.value, p);
  // After the name index was resolved, as the decoder does: the insertion may evict the entry
  // that supplied the name (§4.4).
  if (index) {
    insert(f.name, f.value, name_hash, field_hash);
    // Not remembered: the next block may differ (should_index's repeat rule); once this entry
    // is found by find_field it is.
  }
  if (memo) memo->forget();
  return p;
}

void encoder::memo_entry::remember(const header_field& f, kind k, std::uint64_t v) {
  name.assign(f.name);
  value.assign(f.value);
  what = k;
  index_or_id = v;
}

// The fast path of encode(): the field at this position of the block is the one the memo
// holds, and its table entry is still there (§4.4: evictions only remove the oldest entries,
// so an entry is present while its distance from the newest is within count()).
std::byte* encoder::encode_memo(const header_field& f, const memo_entry& m, std::byte* p) {
  if (m.what == memo_entry::kind::none || f.never_indexed || !detail::equal(f.value, m.value) ||
      !detail::equal(f.name, m.name))
    return nullptr;
  if (m.what == memo_entry::kind::static_index)
    return encode_integer(static_cast<std::uint32_t>(m.index_or_id), 7, 0x80, p);
  const std::uint64_t d = table_.insertions() - m.index_or_id;
  if (d == 0 || d > table_.count()) return nullptr;
  return encode_integer(static_cast<std::uint32_t>(static_table_size + d), 7, 0x80, p);
}

std::size_t encoder::bound(std::span<const header_field> fields) noexcept {
  // Worst case per field: a 6-octet integer for the index and for each string length, plus
  // the strings (never longer Huffman-coded); two size updates of up to 6 octets.
  std::size_t n = 12;
  for (const header_field& f : fields)
    n += f.name.size() + f.value.size() + 18;
  return n;
}

std::byte* encoder::encode_to(std::span<const header_field> fields, std::byte* p) {
  if (update_pending_) {
    // §4.2: the smallest maximum since the last block, then the final one, if they differ.
    if (pending_min_ < target_size_) {
      p = encode_integer(pending_min_, 5, 0x20, p);
      table_.set_max_size(pending_min_);
    }
    p = encode_integer(target_size_, 5, 0x20, p);
    table_.set_max_size(target_size_);
    update_pending_ = false;
  }
  // Successive blocks on a connection tend to carry the same fields in the same order (every
  // response of a handler): the representation chosen for position i of the previous block is
  // reused when the field is the same and its table entry still exists, skipping the table
  // lookups. Sensitive fields are never remembered.
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const header_field& f = fields[i];
    memo_entry* m = i < max_memo ? &memo_[i] : nullptr;
    if (m) {
      if (std::byte* q = encode_memo(f, *m, p)) {
        p = q;
        continue;
      }
    }
    p = encode_field(f, p, m);
  }
  return p;
}

void encoder::encode(std::span<const header_field> fields, std::vector<std::byte>& out) {
  const std::size_t start = out.size();
  out.resize(start + bound(fields));
  std::byte* const begin = out.data() + start;
  out.resize(start + static_cast<std::size_t>(encode_to(fields, begin) - begin));
}

void encoder::encode(std::span<const header_field> fields, std::string& out) {
  const std::size_t start = out.size();
  out.resize(start + bound(fields));
  auto* const begin = reinterpret_cast<std::byte*>(out.data() + start);
  out.resize(start + static_cast<std::size_t>(encode_to(fields, begin) - begin));
}

}  // namespace portico::hpack
