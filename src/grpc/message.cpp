// Length-prefixed message framing (gRPC doc/PROTOCOL-HTTP2.md, "Length-Prefixed-Message").
#include "grpc/message.hpp"

#include <algorithm>
#include <cassert>
#include <utility>

namespace portico::grpc {

deframe_result deframer::fail(status_code c, std::string_view detail) noexcept {
  failed_ = true;
  error_ = c;
  detail_ = detail;
  buffer_.clear();
  deframe_result r;
  r.ec = make_error_code(c);
  r.detail = detail;
  return r;
}

void deframer::reset() noexcept {
  have_ = 0;
  length_ = 0;
  buffer_.clear();
  failed_ = false;
  error_ = status_code::ok;
  detail_ = {};
}

std::optional<std::string> deframer::take_payload(std::string_view payload) noexcept {
  if (have_ != 0 || payload.empty() || payload.data() != buffer_.data() ||
      payload.size() != buffer_.size())
    return std::nullopt;
  return std::exchange(buffer_, std::string());
}

deframe_result deframer::consume(std::string_view in) {
  if (failed_) {
    deframe_result r;
    r.ec = make_error_code(error_);
    r.detail = detail_;
    return r;
  }
  if (have_ == 0) buffer_.clear();  // the previous message's view is no longer needed
  std::size_t used = 0;
  // The prefix, possibly in pieces.
  while (have_ < message_prefix_size && used < in.size()) {
    prefix_[have_++] = static_cast<unsigned char>(in[used++]);
    if (have_ == 1 && prefix_[0] > 1) {
      // "Compressed-Flag → 0 / 1": any other value is a framing error.
      return fail(status_code::internal, "invalid compressed flag in message prefix");
    }
    if (have_ == message_prefix_size) {
      length_ = (std::uint32_t{prefix_[1]} << 24) | (std::uint32_t{prefix_[2]} << 16) |
                (std::uint32_t{prefix_[3]} << 8) | std::uint32_t{prefix_[4]};
      if (length_ > max_)
        return fail(status_code::resource_exhausted, "received message larger than max");
    }
  }
  deframe_result r;
  if (have_ < message_prefix_size) {
    r.used = used;
    return r;
  }
  const std::size_t got = have_ - message_prefix_size;
  const std::size_t want = length_ - got;
  const std::size_t take = std::min(want, in.size() - used);
  if (got == 0 && take == want) {
    // The whole payload is in this input: hand out a view of it, no copy.
    r.message.payload = in.substr(used, take);
  } else {
    if (got == 0) buffer_.reserve(length_);
    buffer_.append(in.substr(used, take));
    if (take == want) r.message.payload = buffer_;
  }
  used += take;
  have_ += take;
  r.used = used;
  if (take == want) {
    r.has_message = true;
    r.message.compressed = prefix_[0] == 1;
    have_ = 0;  // buffer_ stays valid (the view) until the next consume()
  }
  return r;
}

std::array<char, message_prefix_size> encode_prefix(bool compressed,
                                                    std::uint32_t length) noexcept {
  return {static_cast<char>(compressed ? 1 : 0), static_cast<char>((length >> 24) & 0xff),
          static_cast<char>((length >> 16) & 0xff), static_cast<char>((length >> 8) & 0xff),
          static_cast<char>(length & 0xff)};
}

void append_message(std::string& out, std::string_view payload, bool compressed) {
  assert(payload.size() <= 0xffffffffu);
  const auto p = encode_prefix(compressed, static_cast<std::uint32_t>(payload.size()));
  out.append(p.data(), p.size());
  out.append(payload);
}

}  // namespace portico::grpc
