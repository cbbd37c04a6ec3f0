#include "grpc/reader.hpp"

#include <utility>

namespace portico::grpc {

message_reader::item message_reader::fail(status_code c, std::string_view detail) noexcept {
  failed_ = true;
  ec_ = make_error_code(c);
  detail_ = detail;
  item it;
  it.what = kind::error;
  it.ec = ec_;
  it.detail = detail;
  return it;
}

message_reader::item message_reader::next() {
  if (failed_) {
    item it;
    it.what = kind::error;
    it.ec = ec_;
    it.detail = detail_;
    return it;
  }
  while (!input_.empty()) {
    auto r = deframer_.consume(input_);
    input_.remove_prefix(r.used);
    if (r.ec) return fail(static_cast<status_code>(r.ec.value()), r.detail);
    if (!r.has_message) continue;
    item it;
    it.what = kind::message;
    it.compressed = r.message.compressed;
    if (!r.message.compressed) {
      it.data = r.message.payload;
      return it;
    }
    // gRPC doc/compression.md: a compressed flag with no (or identity) grpc-encoding is a
    // protocol violation; the status is INTERNAL.
    if (encoding_ != encoding::gzip)
      return fail(status_code::internal,
                  "compressed message without a grpc-encoding the server accepted");
    auto d = gzip_decompress(r.message.payload, max_);
    if (d.ec) return fail(static_cast<status_code>(d.ec.value()), d.detail);
    inflated_ = std::move(d.data);
    it.data = inflated_;
    return it;
  }
  item it;
  if (!last_) return it;  // need more
  if (!deframer_.idle()) return fail(status_code::internal, "request ends inside a message");
  it.what = kind::end;
  return it;
}

std::string message_reader::take(std::string_view data) {
  if (!data.empty() && data.data() == inflated_.data() && data.size() == inflated_.size())
    return std::exchange(inflated_, std::string());
  if (auto owned = deframer_.take_payload(data)) return std::move(*owned);
  return std::string(data);
}

}  // namespace portico::grpc
