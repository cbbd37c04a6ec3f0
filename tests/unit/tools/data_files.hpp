// Loads the captured inputs in tests/unit/tools/data (see data/capture.py).
#pragma once

#include <cstddef>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#ifndef PORTICO_TOOLS_DATA
#error "PORTICO_TOOLS_DATA (the data directory) must be defined by the build"
#endif

namespace portico::tools::test {

inline std::string read_text(const std::string& name) {
  std::ifstream f(std::string(PORTICO_TOOLS_DATA) + "/" + name, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open test data " + name);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

inline std::vector<std::byte> read_bytes(const std::string& name) {
  auto s = read_text(name);
  std::vector<std::byte> out(s.size());
  for (std::size_t i = 0; i < s.size(); ++i)
    out[i] = static_cast<std::byte>(s[i]);
  return out;
}

}  // namespace portico::tools::test
