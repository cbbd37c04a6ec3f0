// HPACK decoder (RFC 7541 §3, §6): turns a complete header block into header fields, keeping
// the dynamic table of the peer's encoder in step. Sans-I/O and allocation-free per field.
//
// Use by an HTTP/2 connection (one decoder per connection, RFC 9113 §4.3):
//
//   hpack::decoder dec;                                  // limits as announced in SETTINGS
//   ... after CONTINUATION assembly gave one whole field block:
//   auto ec = dec.decode(block, [&](const hpack::header_field& f) { stream.add(f); });
//   if (hpack::is_compression_error(ec)) -> GOAWAY(COMPRESSION_ERROR), close
//   else if (ec == hpack::errc::header_list_too_large) -> 431 or RST_STREAM; connection goes on
//   ... when the peer ACKs our SETTINGS_HEADER_TABLE_SIZE = n: dec.set_max_table_size_limit(n)
//
// Every header block of the connection must be decoded, in order, even those of streams the
// connection is about to refuse: each may change the dynamic table (RFC 9113 §4.3).
// Field *contents* are not checked here (uppercase names, CR/LF/NUL, pseudo-header rules are
// HTTP/2 rules, RFC 9113 §8.2); HPACK itself accepts any octets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#include "hpack/dynamic_table.hpp"
#include "hpack/errors.hpp"
#include "hpack/field.hpp"

namespace portico::hpack {

/// Decoder limits, with their defaults. Each breach has its own error (errors.hpp).
struct decoder_limits {
  /// Our SETTINGS_HEADER_TABLE_SIZE as the peer has acknowledged it: the largest dynamic table
  /// size the peer's encoder may select (§4.2, §6.3). The table starts at this size. Default:
  /// the protocol's initial value, 4096 (RFC 9113 §6.5.2).
  std::uint32_t max_table_size = default_table_size;
  /// The largest header list, counted as RFC 9113 §6.5.2 counts it: the sum over the fields of
  /// name + value + 32 octets, uncompressed. What we announce as SETTINGS_MAX_HEADER_LIST_SIZE.
  /// Breach -> header_list_too_large, a stream-level error. Default 64 KiB, the HTTP/1.1
  /// head limit (docs/http1.md).
  std::size_t max_header_list_size = 64 * 1024;
  /// The longest string literal (a name or a value), in octets after Huffman decoding; it also
  /// bounds the decoder's Huffman buffer. Breach -> string_too_long, a connection error.
  /// Default 16 KiB: twice the longest field line nginx and Apache accept by default.
  std::size_t max_string_length = 16 * 1024;
};

class decoder {
 public:
  explicit decoder(const decoder_limits& limits = {}) noexcept;
  decoder(const decoder&) = delete;
  decoder& operator=(const decoder&) = delete;

  /// Decodes one complete header block (RFC 7541 §3.1; in HTTP/2 the HEADERS or PUSH_PROMISE
  /// fragment with all its CONTINUATION fragments, RFC 9113 §4.3) and calls `sink(field)` with
  /// each header field, in order. `sink` is any callable taking `const header_field&`.
  ///
  /// The views in a field are valid only during that call (they point into `block`, into the
  /// dynamic table or into the decoder's Huffman buffer): a sink that keeps fields copies them.
  /// `field.never_indexed` is set for §6.2.3 representations.
  ///
  /// Returns no error when the whole block was decoded and every field delivered. Otherwise:
  /// - header_list_too_large: the fields up to the limit were delivered, the rest were not, but
  ///   the whole block was still decoded into the dynamic table, so the decoder remains usable
  ///   (the only error after which it does). Nothing past the limit is buffered.
  /// - any other errc (see errors.hpp): a COMPRESSION_ERROR. Fields before the error may have
  ///   been delivered. The dynamic table is then out of step with the peer's, so the decoder
  ///   refuses every later block with the same error.
  /// A table size update must come before the first field (§4.2), at most two of them, each at
  /// most the limit, and when the limit shrank below the table's size
  /// (set_max_table_size_limit) the block must start with one at most the smallest limit set.
  /// An empty block is valid (no fields) unless such an update is due.
  ///
  /// Throws std::bad_alloc when the dynamic table or the Huffman buffer cannot grow. If the
  /// sink (or an allocation) throws, the exception propagates and the decoder is left in an
  /// unspecified state: close the connection.
  template <class Sink>
  requires std::is_invocable_v<Sink&, const header_field&> std::error_code decode(
      std::span<const std::byte> block, Sink&& sink) {
    using sink_type = std::remove_reference_t<Sink>;
    return decode_block(
        block, {const_cast<void*>(static_cast<const void*>(std::addressof(sink))),
                [](void* ctx, const header_field& f) { (*static_cast<sink_type*>(ctx))(f); }});
  }

  /// Applies a new SETTINGS_HEADER_TABLE_SIZE once the peer has acknowledged it (RFC 9113
  /// §6.5.3; before that the peer may still encode against the old value). If the dynamic
  /// table's current maximum is above `limit`, the table shrinks to it now and the next block
  /// must begin with a size update to at most the smallest limit set in the meantime (§4.2;
  /// the peer "MUST" send it). A larger limit only allows the peer to grow the table.
  void set_max_table_size_limit(std::uint32_t limit);
  std::uint32_t max_table_size_limit() const noexcept { return settings_limit_; }

  /// A check of a field's name and value (the consumer's field syntax rules, e.g. RFC 9113
  /// §8.2.1) that must accept every static table entry.
  using field_check = bool (*)(std::string_view name, std::string_view value) noexcept;
  /// Sets the check the decoder runs once on each field it inserts into the dynamic table, so
  /// that later references to the entry arrive with `header_field::checked` set and the
  /// consumer need not check them again; static entries arrive checked. Literals are never
  /// marked checked: the consumer checks them itself. nullptr (the default): nothing is marked.
  void set_field_check(field_check check) noexcept { check_ = check; }

  /// Changes the list and string limits (from the next decode() on).
  void set_max_header_list_size(std::size_t n) noexcept { limits_.max_header_list_size = n; }
  void set_max_string_length(std::size_t n) noexcept { limits_.max_string_length = n; }
  const decoder_limits& limits() const noexcept { return limits_; }

  /// The dynamic table (for tests and metrics).
  const dynamic_table& table() const noexcept { return table_; }

  /// The header list size (RFC 9113 §6.5.2) of the last block decode() saw, counted up to the
  /// point where it stopped: with header_list_too_large it is already above the limit.
  std::size_t last_header_list_size() const noexcept { return list_size_; }

 private:
  struct callback {
    void* ctx;
    void (*call)(void*, const header_field&);
  };
  std::error_code decode_block(std::span<const std::byte> block, callback cb);
  errc read_string(const std::uint8_t*& p, const std::uint8_t* end, std::size_t scratch_offset,
                   std::string_view& out, bool memo = false);
  errc field_at(std::uint32_t index, header_field& out) const noexcept;
  void reserve_scratch(std::size_t n);

  decoder_limits limits_;
  dynamic_table table_;
  std::uint32_t settings_limit_;     // SETTINGS_HEADER_TABLE_SIZE in force
  std::uint32_t pending_min_limit_;  // smallest limit set since the last block (when due)
  bool update_due_ = false;          // a size update must open the next block (§4.2)
  errc failed_{};                    // sticky compression error
  std::size_t list_size_ = 0;
  field_check check_ = nullptr;
  // The last short Huffman value of a literal not indexed, and its decoding: clients built on
  // nghttp2 (curl, h2load, Node, gRPC clients) never index :path, so a repeated path arrives
  // as the same Huffman octets on every request and is decoded once.
  static constexpr std::size_t memo_in_max = 64;
  std::uint8_t memo_in_[memo_in_max];
  std::size_t memo_in_len_ = 0;  // 0: empty
  char memo_out_[memo_in_max * 8 / 5 + 1];
  std::size_t memo_out_len_ = 0;
  std::unique_ptr<char[]> scratch_;  // Huffman-decoded name and value of the current field
  std::size_t scratch_cap_ = 0;
};

}  // namespace portico::hpack
