// The header field HPACK carries (RFC 7541 §1.3) and the sizes every part of the codec shares.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace portico::hpack {

/// RFC 7541 §4.1: the size of a dynamic table entry is the length of its name plus the length of
/// its value (octets, without any Huffman coding) plus 32. RFC 9113 §6.5.2 counts a header list
/// the same way for SETTINGS_MAX_HEADER_LIST_SIZE.
inline constexpr std::size_t entry_overhead = 32;

/// The initial SETTINGS_HEADER_TABLE_SIZE of an HTTP/2 connection (RFC 9113 §6.5.2), which is
/// the maximum size of both dynamic tables until a SETTINGS frame changes it (RFC 7541 §4.2).
inline constexpr std::uint32_t default_table_size = 4096;

/// One header field. For the decoder's sink the views are valid only during the call; for the
/// encoder they only need to live through the encode() call.
struct header_field {
  std::string_view name;
  std::string_view value;
  /// RFC 7541 §6.2.3 "Literal Header Field Never Indexed". Decoding: the sender marked the
  /// field sensitive; an intermediary that forwards it must encode it never-indexed again.
  /// Encoding: the caller asks for that representation (the encoder also applies its own rule,
  /// see encoder.hpp).
  bool never_indexed = false;
  /// Decoding only (the encoder ignores it): the static table entry (RFC 7541 Appendix A,
  /// 1..61) whose name this field's name is, when the representation told the decoder so: an
  /// indexed static entry, a literal whose name is a static index, or a dynamic entry inserted
  /// from such a literal. 0 when not known (a literal name is not looked up). Lets a consumer
  /// recognise well-known names without comparing strings.
  std::uint8_t static_name = 0;
  /// Decoding only: the decoder's field check (decoder::set_field_check) has already accepted
  /// this name and value: it is a static table entry, or a dynamic table entry the check
  /// accepted when it was inserted. False for literals and whenever no check is set.
  bool checked = false;

  /// The field itself: name, value and the never-indexed flag (not the decoding hints).
  friend bool operator==(const header_field& a, const header_field& b) noexcept {
    return a.name == b.name && a.value == b.value && a.never_indexed == b.never_indexed;
  }
};

/// Size of a field as an entry (RFC 7541 §4.1) and in a header list (RFC 9113 §6.5.2).
constexpr std::size_t field_size(std::string_view name, std::string_view value) noexcept {
  return name.size() + value.size() + entry_overhead;
}

}  // namespace portico::hpack
