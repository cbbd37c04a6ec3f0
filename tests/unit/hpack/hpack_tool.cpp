// A line-oriented front end to the HPACK encoder and decoder, for cross_check.py (which checks
// them against python3-hpack). One connection context per run.
//
//   hpack_tool encode [max_table_size]   stdin: one header list per line, stdout: one block
//                                        (hex) per line
//   hpack_tool decode [max_table_size]   stdin: one block (hex) per line, stdout: one header
//                                        list per line, or "ERROR <message>"
// A header list is space-separated fields "hexname:hexvalue" with ":n" appended for never-
// indexed ones. A line "#size N" (encode) applies a peer SETTINGS_HEADER_TABLE_SIZE of N; a
// line "#limit N" (decode) applies an acknowledged limit of N. Neither produces output.
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "hpack/decoder.hpp"
#include "hpack/encoder.hpp"
#include "hpack_test_util.hpp"

namespace {

using namespace portico::hpack;

std::string unhex(std::string_view h) {
  auto b = test::from_hex(h);
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

int encode_main(std::uint32_t max_table_size) {
  encoder e({.max_table_size = max_table_size});
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.rfind("#size ", 0) == 0) {
      e.set_peer_max_table_size(static_cast<std::uint32_t>(std::stoul(line.substr(6))));
      continue;
    }
    std::vector<test::owned_field> fields;
    std::istringstream in(line);
    std::string tok;
    while (in >> tok) {
      const auto c1 = tok.find(':');
      const auto c2 = tok.find(':', c1 + 1);
      test::owned_field f;
      f.name = unhex(tok.substr(0, c1));
      f.value =
          unhex(tok.substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1));
      f.never_indexed = c2 != std::string::npos;
      fields.push_back(std::move(f));
    }
    std::cout << test::to_hex(e.encode(test::views(fields))) << '\n';
  }
  return 0;
}

int decode_main(std::uint32_t max_table_size) {
  decoder d({.max_table_size = max_table_size,
             .max_header_list_size = 1 << 20,
             .max_string_length = 1 << 20});
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.rfind("#limit ", 0) == 0) {
      d.set_max_table_size_limit(static_cast<std::uint32_t>(std::stoul(line.substr(7))));
      continue;
    }
    auto r = test::decode(d, test::from_hex(line));
    if (r.error) {
      std::cout << "ERROR " << r.error.message() << '\n';
      continue;
    }
    std::string out;
    for (const auto& f : r.fields) {
      if (!out.empty()) out += ' ';
      out += test::to_hex(test::bytes_of(f.name)) + ':' + test::to_hex(test::bytes_of(f.value));
      if (f.never_indexed) out += ":n";
    }
    std::cout << out << '\n';
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: hpack_tool encode|decode [max_table_size]\n";
    return 2;
  }
  const std::string mode = argv[1];
  const auto size =
      static_cast<std::uint32_t>(argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 4096);
  if (mode == "encode") return encode_main(size);
  if (mode == "decode") return decode_main(size);
  std::cerr << "unknown mode " << mode << '\n';
  return 2;
}
