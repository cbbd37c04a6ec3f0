// HPACK encoder (RFC 7541 §2, §6, §7): turns header lists into header blocks, keeping a dynamic
// table that mirrors the peer decoder's. Sans-I/O.
//
// Representation chosen for each field (the "indexing policy", automatic):
//   1. Sensitive fields are sent as "Literal Header Field Never Indexed" (§6.2.3), so neither
//      this hop nor any later one puts them in a table where a compression-ratio attack (CRIME
//      style, §7.1) could probe them:
//        - fields the caller marks header_field::never_indexed (a proxy must keep the marking);
//        - authorization and proxy-authorization (credentials, often short and guessable);
//        - set-cookie (session tokens; unique per response, so indexing gains nothing anyway);
//        - cookie values shorter than encoder_options::never_index_cookies_below (20) octets:
//          short secrets are few enough to guess one by one (§7.1.3 points at cookies; the rule
//          is nghttp2's). Longer cookies are indexed: they repeat on every request.
//      The name is still taken from a table when it is there (the name is no secret).
//   2. A field that is an entry of the static or the dynamic table is sent as its index (§6.1).
//   3. Otherwise the field is sent as a literal with its name indexed when a table has the name,
//      and it is added to the dynamic table ("with incremental indexing", §6.2.1) unless
//        - its value is unlikely to repeat: :path, content-length, content-range, age, etag,
//          if-modified-since, if-none-match, location (request paths and validators are per
//          resource; indexing them would push out entries that do repeat) -- except when the
//          same value was the last one sent under that name: a value seen twice in a row is
//          indexed (a resource fetched again and again, a constant length), or
//        - the entry would take more than 3/4 of the table (it would flush what is there);
//      those are sent "without indexing" (§6.2.2).
//   Strings are Huffman-coded when that is strictly shorter (§5.2).
// indexing_policy::all indexes every field the caller did not mark never_indexed: that is how
// RFC 7541 Appendix C encodes, and it is there for tests.
//
// Table size (§4.2, §6.3): the table's maximum is min(the peer's SETTINGS_HEADER_TABLE_SIZE,
// encoder_options::max_table_size). When it changes, the next block begins with a Dynamic Table
// Size Update; if it went below the current size and back up before that block, the block
// begins with two: the smallest value, then the final one (§4.2).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "hpack/dynamic_table.hpp"
#include "hpack/field.hpp"

namespace portico::hpack {

enum class indexing_policy : std::uint8_t {
  automatic,  ///< the rules at the top of this file
  all,        ///< every field not marked never_indexed goes into the table (RFC 7541 App. C)
};

struct encoder_options {
  /// The largest dynamic table this encoder uses, whatever the peer allows: it bounds the
  /// memory of both tables of the connection direction. 0 disables the dynamic table. Default
  /// 4096, the protocol's initial value.
  std::uint32_t max_table_size = default_table_size;
  /// Huffman-code strings when shorter (true), or always send them as plain octets (false).
  bool huffman = true;
  indexing_policy indexing = indexing_policy::automatic;
  /// Cookie values shorter than this are sent never-indexed (automatic policy).
  std::size_t never_index_cookies_below = 20;
};

class encoder {
 public:
  explicit encoder(const encoder_options& options = {});
  encoder(const encoder&) = delete;
  encoder& operator=(const encoder&) = delete;

  /// Applies the peer's SETTINGS_HEADER_TABLE_SIZE, on receipt of its SETTINGS frame (before
  /// encoding any later block). The table's new maximum, min(value, max_table_size), is
  /// announced at the start of the next block (§4.2); nothing is written now.
  void set_peer_max_table_size(std::uint32_t settings_value) noexcept;

  /// Appends the header block of `fields`, in order, to `out` (existing content is kept). The
  /// block starts with the pending table size updates, if any. Names must be lowercase for
  /// HTTP/2 (RFC 9113 §8.2.1): they are matched and sent byte for byte. Names and values must
  /// be shorter than 2^32 octets. The views in `fields` need to live only during the call.
  /// Throws std::bad_alloc.
  void encode(std::span<const header_field> fields, std::vector<std::byte>& out);
  /// The same, appending to a string (an output buffer the block goes to directly).
  void encode(std::span<const header_field> fields, std::string& out);

  /// The header block of `fields` as a new vector.
  std::vector<std::byte> encode(std::span<const header_field> fields) {
    std::vector<std::byte> out;
    encode(fields, out);
    return out;
  }

  /// The dynamic table (for tests and metrics): what the peer's decoder holds after decoding
  /// every block encoded so far.
  const dynamic_table& table() const noexcept { return table_; }
  const encoder_options& options() const noexcept { return options_; }

 private:
  // Per-entry lookup data, in a ring addressed like the table's by insertion number; the
  // buckets hold insertion number + 1 of the newest entry with a hash (0 = none), and each
  // entry links to the older entry that was in its bucket before it. Links are not removed on
  // eviction: a link to an entry no longer in the table ends the walk.
  struct entry_meta {
    std::uint32_t name_hash;
    std::uint32_t field_hash;
    std::uint32_t next_name;
    std::uint32_t next_field;
  };

  // What encode_field() sent for one position of the last block: an index to reuse.
  struct memo_entry {
    enum class kind : std::uint8_t { none, static_index, dynamic_entry };
    std::string name, value;
    kind what = kind::none;
    std::uint64_t index_or_id = 0;  // static index, or the entry's insertion number
    void remember(const header_field& f, kind k, std::uint64_t v);
    void forget() noexcept { what = kind::none; }
  };
  static constexpr std::size_t max_memo = 16;

  static std::size_t bound(std::span<const header_field> fields) noexcept;
  std::byte* encode_to(std::span<const header_field> fields, std::byte* p);
  std::byte* encode_field(const header_field& f, std::byte* p, memo_entry* memo);
  std::byte* encode_memo(const header_field& f, const memo_entry& m, std::byte* p);
  std::byte* write_string(std::string_view s, std::byte* p) const noexcept;
  bool is_sensitive(const header_field& f) const noexcept;
  bool should_index(const header_field& f, std::uint32_t field_hash) noexcept;
  std::uint32_t find_field(std::uint32_t hash, std::string_view name,
                           std::string_view value) const noexcept;
  std::uint32_t find_name(std::uint32_t hash, std::string_view name) const noexcept;
  void insert(std::string_view name, std::string_view value, std::uint32_t name_hash,
              std::uint32_t field_hash);

  encoder_options options_;
  dynamic_table table_;
  std::uint32_t target_size_;      // the maximum the next block announces
  std::uint32_t pending_min_ = 0;  // the smallest maximum since the last block
  bool update_pending_ = false;
  std::unique_ptr<entry_meta[]> meta_;
  std::unique_ptr<std::uint32_t[]> name_buckets_;
  std::unique_ptr<std::uint32_t[]> field_buckets_;
  std::size_t meta_cap_ = 0;  // power of two >= the most entries max_table_size allows
  std::size_t bucket_mask_ = 0;
  // The hash of the last value sent under each "unlikely to repeat" name (should_index).
  std::uint32_t last_unlikely_[8] = {};
  std::array<memo_entry, max_memo> memo_;
};

}  // namespace portico::hpack
