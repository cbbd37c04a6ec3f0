// libFuzzer target for the gRPC message deframer and reader (src/grpc/message.cpp,
// src/grpc/reader.cpp, with gzip inflation from src/grpc/compression.cpp).
//
// Input: byte 0 = configuration, the rest is a request body.
//   bits 0-1: max message size {0, 16, 1024, 1 MiB}
//   bit 2:    the request's grpc-encoding is gzip (else identity)
//   bits 3-7: the body is fed to the deframer in pieces of this many bytes + 1
// Broken invariants trap:
//   - every message handed out is within the limit, and consume() always makes progress;
//   - splitting the body differently gives the same messages and the same outcome;
//   - re-framing the messages gives back the body (when the whole body was accepted);
//   - the reader agrees with the deframer.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "grpc/message.hpp"
#include "grpc/reader.hpp"

namespace {

struct outcome {
  std::vector<std::pair<bool, std::string>> messages;
  std::error_code ec;
  bool idle = false;
};

outcome deframe(std::string_view body, std::size_t max, std::size_t piece) {
  portico::grpc::deframer d(max);
  outcome o;
  for (std::size_t off = 0; off < body.size() && !o.ec; off += piece) {
    std::string_view in = body.substr(off, piece);
    while (!in.empty()) {
      auto r = d.consume(in);
      if (r.ec) {
        o.ec = r.ec;
        break;
      }
      if (r.used == 0) __builtin_trap();
      if (r.used > in.size()) __builtin_trap();
      in.remove_prefix(r.used);
      if (r.has_message) {
        if (r.message.payload.size() > max) __builtin_trap();
        o.messages.emplace_back(r.message.compressed, std::string(r.message.payload));
      }
    }
  }
  o.idle = d.idle();
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static constexpr std::size_t maxes[] = {0, 16, 1024, 1 << 20};
  const std::size_t max = maxes[data[0] & 3];
  const bool gzip = (data[0] & 4) != 0;
  const std::size_t piece = (data[0] >> 3) + 1u;
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);

  const outcome a = deframe(body, max, piece);
  const outcome b = deframe(body, max, body.size() + 1);
  if (a.ec != b.ec || a.messages != b.messages || a.idle != b.idle) __builtin_trap();
  if (!a.ec && a.idle) {
    std::string again;
    for (const auto& [c, p] : a.messages)
      portico::grpc::append_message(again, p, c);
    if (again != body) __builtin_trap();
  }

  portico::grpc::message_reader reader(
      max, gzip ? portico::grpc::encoding::gzip : portico::grpc::encoding::identity);
  reader.feed(body, true);
  std::size_t n = 0;
  for (;;) {
    auto it = reader.next();
    using kind = portico::grpc::message_reader::kind;
    if (it.what == kind::message) {
      if (n >= a.messages.size()) __builtin_trap();
      if (it.data.size() > max) __builtin_trap();
      if (!it.compressed && it.data != a.messages[n].second) __builtin_trap();
      ++n;
      continue;
    }
    if (it.what == kind::need_more) __builtin_trap();  // the whole body was fed
    if (it.what == kind::end && (a.ec || !a.idle || n != a.messages.size())) __builtin_trap();
    if (it.what == kind::error && !it.ec) __builtin_trap();
    break;
  }
  return 0;
}
