// Access log in the combined log format (Apache/nginx "combined"), one write(2) per line so
// lines from several workers never interleave and no lock is taken.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>

#include "core/unique_fd.hpp"
#include "http/exchange.hpp"

namespace portico::engine {

class access_log {
 public:
  /// "-" for stderr, else a path opened for appending. Throws std::system_error on failure.
  explicit access_log(const std::string& target);
  /// Writes one line for a finished response.
  void write(const detail::exchange& x, std::uint64_t body_bytes, std::time_t now) noexcept;

 private:
  unique_fd owned_;
  int fd_ = 2;
};

}  // namespace portico::engine
