// Message compression with zlib (gRPC doc/compression.md).
#include "grpc/compression.hpp"

#include <zlib.h>

#include <algorithm>
#include <limits>

#include "grpc/status.hpp"

namespace portico::grpc {
namespace {

bool iequal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// zlib counts in uInt; messages are bounded far below 4 GiB, but feed it in pieces anyway.
constexpr std::size_t zlib_chunk = std::numeric_limits<uInt>::max() / 2;

}  // namespace

encoding parse_encoding(std::string_view name) noexcept {
  name = trim(name);
  if (iequal(name, "identity")) return encoding::identity;
  if (iequal(name, "gzip")) return encoding::gzip;
  return encoding::unsupported;
}

std::string_view encoding_name(encoding e) noexcept {
  switch (e) {
    case encoding::identity:
      return "identity";
    case encoding::gzip:
      return "gzip";
    case encoding::unsupported:
      break;
  }
  return "unsupported";
}

std::string_view accept_encoding_value(bool gzip) noexcept {
  return gzip ? "identity,gzip" : "identity";
}

bool accepts(std::string_view accept_encoding, encoding e) noexcept {
  if (e == encoding::identity) return true;
  if (e == encoding::unsupported) return false;
  while (!accept_encoding.empty()) {
    const auto comma = accept_encoding.find(',');
    const auto item = accept_encoding.substr(0, comma);
    if (parse_encoding(item) == e) return true;
    if (comma == std::string_view::npos) break;
    accept_encoding.remove_prefix(comma + 1);
  }
  return false;
}

std::string gzip_compress(std::string_view data) {
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer (RFC 1952) instead of zlib's (RFC 1950).
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::bad_alloc();
  std::string out;
  out.resize(deflateBound(&z, static_cast<uLong>(std::min(data.size(), zlib_chunk))) + 64);
  std::size_t in_off = 0, out_off = 0;
  int rc = Z_OK;
  do {
    const std::size_t in_n = std::min(data.size() - in_off, zlib_chunk);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + in_off));
    z.avail_in = static_cast<uInt>(in_n);
    const bool last = in_off + in_n == data.size();
    do {
      if (out.size() - out_off < 64) out.resize(out.size() * 2);
      z.next_out = reinterpret_cast<Bytef*>(out.data() + out_off);
      z.avail_out = static_cast<uInt>(std::min(out.size() - out_off, zlib_chunk));
      const uInt before = z.avail_out;
      rc = deflate(&z, last ? Z_FINISH : Z_NO_FLUSH);
      out_off += before - z.avail_out;
    } while (z.avail_out == 0 || (last && rc != Z_STREAM_END));
    in_off += in_n;
  } while (in_off < data.size());
  deflateEnd(&z);
  out.resize(out_off);
  return out;
}

decompress_result gzip_decompress(std::string_view data, std::size_t max_size) {
  decompress_result r;
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) throw std::bad_alloc();
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(std::min(data.size(), zlib_chunk));
  std::size_t in_left = data.size() - z.avail_in;
  std::string& out = r.data;
  out.resize(std::min<std::size_t>(std::max<std::size_t>(data.size() * 4, 256), max_size + 1));
  std::size_t out_off = 0;
  int rc = Z_OK;
  for (;;) {
    if (z.avail_in == 0 && in_left > 0) {
      const std::size_t n = std::min(in_left, zlib_chunk);
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + data.size() - in_left));
      z.avail_in = static_cast<uInt>(n);
      in_left -= n;
    }
    if (out_off == out.size()) {
      if (out.size() > max_size) break;  // max_size + 1 bytes produced: over the limit
      out.resize(std::min(out.size() * 2, max_size + 1));
    }
    z.next_out = reinterpret_cast<Bytef*>(out.data() + out_off);
    z.avail_out = static_cast<uInt>(std::min(out.size() - out_off, zlib_chunk));
    const uInt before = z.avail_out;
    rc = inflate(&z, Z_NO_FLUSH);
    out_off += before - z.avail_out;
    if (rc == Z_STREAM_END) break;
    if (rc == Z_BUF_ERROR) {
      if (z.avail_in == 0 && in_left == 0 && z.avail_out > 0) break;  // input ended early
      continue;
    }
    if (rc != Z_OK) break;  // Z_DATA_ERROR, Z_NEED_DICT, Z_MEM_ERROR
  }
  const bool trailing = z.avail_in > 0 || in_left > 0;
  inflateEnd(&z);
  if (out_off > max_size) {
    r.data.clear();
    r.ec = make_error_code(status_code::resource_exhausted);
    r.detail = "decompressed message larger than max";
    return r;
  }
  if (rc != Z_STREAM_END || trailing) {
    r.data.clear();
    r.ec = make_error_code(status_code::internal);
    r.detail = rc == Z_STREAM_END ? "data after the end of the gzip stream"
                                  : "message is not a valid gzip stream";
    return r;
  }
  out.resize(out_off);
  return r;
}

}  // namespace portico::grpc
