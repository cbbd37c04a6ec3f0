// gRPC header value codecs (gRPC doc/PROTOCOL-HTTP2.md, "Requests" and "Responses").
#include "grpc/text.hpp"

#include <array>
#include <cstdint>

namespace portico::grpc {
namespace {

constexpr char hex_digits[] = "0123456789ABCDEF";

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<signed char, 256> b64_table = [] {
  std::array<signed char, 256> t{};
  for (auto& v : t)
    v = -1;
  for (int i = 0; i < 64; ++i)
    t[static_cast<unsigned char>(b64_alphabet[i])] = static_cast<signed char>(i);
  return t;
}();

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (lower(s[i]) != prefix[i]) return false;
  return true;
}

}  // namespace

std::string percent_encode_message(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u <= 0x7e && u != '%') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(hex_digits[u >> 4]);
      out.push_back(hex_digits[u & 0xf]);
    }
  }
  return out;
}

std::string percent_decode_message(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
        hex_value(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::string base64_encode(std::string_view bytes, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                            (std::uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) |
                            std::uint32_t{static_cast<unsigned char>(bytes[i + 2])};
    out.push_back(b64_alphabet[(v >> 18) & 63]);
    out.push_back(b64_alphabet[(v >> 12) & 63]);
    out.push_back(b64_alphabet[(v >> 6) & 63]);
    out.push_back(b64_alphabet[v & 63]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t v = std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
    if (rest == 2) v |= std::uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8;
    out.push_back(b64_alphabet[(v >> 18) & 63]);
    out.push_back(b64_alphabet[(v >> 12) & 63]);
    if (rest == 2) out.push_back(b64_alphabet[(v >> 6) & 63]);
    if (pad) out.append(rest == 1 ? "==" : "=");
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  // Padding: only at the end, and only to complete the last group of four.
  std::size_t n = text.size();
  std::size_t pads = 0;
  while (n > 0 && text[n - 1] == '=' && pads < 2) {
    --n;
    ++pads;
  }
  if (pads > 0 && text.size() % 4 != 0) return std::nullopt;
  if (n % 4 == 1) return std::nullopt;
  if (pads > 0 && (n % 4) + pads != 4) return std::nullopt;
  std::string out;
  out.reserve(n / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const int v = b64_table[static_cast<unsigned char>(text[i])];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // RFC 4648 §3.5: the unused low bits of the last character must be zero.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::optional<std::chrono::nanoseconds> parse_timeout(std::string_view value) noexcept {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  const char unit = value.back();
  const std::string_view digits = value.substr(0, value.size() - 1);
  std::int64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  std::int64_t scale = 0;
  switch (unit) {
    case 'H':
      scale = 3600000000000;
      break;
    case 'M':
      scale = 60000000000;
      break;
    case 'S':
      scale = 1000000000;
      break;
    case 'm':
      scale = 1000000;
      break;
    case 'u':
      scale = 1000;
      break;
    case 'n':
      scale = 1;
      break;
    default:
      return std::nullopt;
  }
  // 99999999H is about 11400 years, more than int64 nanoseconds hold (292 years): saturate.
  if (n > std::chrono::nanoseconds::max().count() / scale) return std::chrono::nanoseconds::max();
  return std::chrono::nanoseconds(n * scale);
}

std::string encode_timeout(std::chrono::nanoseconds d) {
  if (d.count() <= 0) return "0n";
  // The finest unit whose value fits in 8 digits, rounding up so the peer never sees a
  // shorter deadline than ours.
  static constexpr std::pair<std::int64_t, char> units[] = {
      {1, 'n'},          {1000, 'u'},        {1000000, 'm'},
      {1000000000, 'S'}, {60000000000, 'M'}, {3600000000000, 'H'}};
  const std::int64_t ns = d.count();
  for (const auto& [scale, unit] : units) {
    const std::int64_t v = ns / scale + (ns % scale != 0 ? 1 : 0);
    if (v <= 99999999) return std::to_string(v) + unit;
  }
  return "99999999H";
}

bool is_grpc_content_type(std::string_view value) noexcept {
  constexpr std::string_view base = "application/grpc";
  if (!istarts_with(value, base)) return false;
  if (value.size() == base.size()) return true;
  const char next = value[base.size()];
  return next == '+' || next == ';' || next == ' ' || next == '\t';
}

std::string_view grpc_content_subtype(std::string_view value) noexcept {
  if (!is_grpc_content_type(value)) return {};
  value.remove_prefix(16);
  if (value.empty() || value.front() != '+') return {};
  value.remove_prefix(1);
  const auto end = value.find_first_of("; \t");
  return value.substr(0, end);
}

bool valid_metadata_key(std::string_view key) noexcept {
  if (key.empty()) return false;
  for (char c : key)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '_' || c == '-' || c == '.'))
      return false;
  return true;
}

bool valid_ascii_metadata_value(std::string_view value) noexcept {
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e) return false;
  }
  return true;
}

}  // namespace portico::grpc
