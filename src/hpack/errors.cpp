// HPACK error category.
#include "hpack/errors.hpp"

#include <string>

namespace portico::hpack {
namespace {

class hpack_error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "portico.hpack"; }

  // The texts go into GOAWAY debug data and logs: short, and naming the RFC rule.
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::truncated:
        return "HPACK: header block ends inside a field representation";
      case errc::integer_overflow:
        return "HPACK: integer overflow";
      case errc::string_too_long:
        return "HPACK: string literal too long";
      case errc::invalid_index:
        return "HPACK: invalid table index";
      case errc::huffman_eos:
        return "HPACK: EOS symbol in a Huffman-coded string";
      case errc::huffman_padding_too_long:
        return "HPACK: Huffman padding longer than 7 bits";
      case errc::huffman_bad_padding:
        return "HPACK: Huffman padding is not the prefix of EOS";
      case errc::table_size_above_limit:
        return "HPACK: dynamic table size update above SETTINGS_HEADER_TABLE_SIZE";
      case errc::table_size_update_not_first:
        return "HPACK: dynamic table size update after a header field";
      case errc::missing_table_size_update:
        return "HPACK: expected a dynamic table size update at the start of the block";
      case errc::too_many_table_size_updates:
        return "HPACK: more than two dynamic table size updates in a block";
      case errc::header_list_too_large:
        return "HPACK: header list larger than SETTINGS_MAX_HEADER_LIST_SIZE";
    }
    return "HPACK: unknown error";
  }
};

}  // namespace

const std::error_category& hpack_category() noexcept {
  static const hpack_error_category category;
  return category;
}

bool is_compression_error(std::error_code ec) noexcept {
  return ec && ec.category() == hpack_category() &&
         static_cast<errc>(ec.value()) != errc::header_list_too_large;
}

}  // namespace portico::hpack
