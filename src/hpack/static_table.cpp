// Static table lookup for the encoder: an open-addressing hash table of the distinct static
// names, built at compile time.
#include "hpack/static_table.hpp"

#include "hpack/hash.hpp"

namespace portico::hpack {
namespace {

constexpr std::size_t slots = 128;  // power of two, over twice the 52 distinct names

// slot -> HPACK index of the first entry with that name (0 = empty). Entries with the same name
// are adjacent in the static table, so the exact match is found by scanning on from there.
constexpr std::array<std::uint8_t, slots> build_name_index() {
  std::array<std::uint8_t, slots> t{};
  for (std::size_t i = 0; i < static_table_size; ++i) {
    if (i > 0 && static_table[i - 1].name == static_table[i].name) continue;
    std::size_t s = detail::fold(detail::hash_bytes(0, static_table[i].name)) & (slots - 1);
    while (t[s] != 0)
      s = (s + 1) & (slots - 1);
    t[s] = static_cast<std::uint8_t>(i + 1);
  }
  return t;
}

constexpr std::array<std::uint8_t, slots> name_index = build_name_index();

}  // namespace

static_match static_find(std::string_view name, std::string_view value) noexcept {
  return static_find(name, value, detail::hash_bytes(0, name));
}

static_match static_find(std::string_view name, std::string_view value,
                         std::uint64_t name_hash) noexcept {
  std::size_t s = detail::fold(name_hash) & (slots - 1);
  for (;;) {
    const std::uint8_t idx = name_index[s];
    if (idx == 0) return {};
    if (detail::equal(static_table[idx - 1].name, name)) {
      for (std::size_t i = idx - 1;
           i < static_table_size && detail::equal(static_table[i].name, name); ++i) {
        if (detail::equal(static_table[i].value, value))
          return {static_cast<std::uint32_t>(i + 1), true};
      }
      return {idx, false};
    }
    s = (s + 1) & (slots - 1);
  }
}

}  // namespace portico::hpack
