// The request side of a call: body bytes in, request messages out. The call layer reads
// messages through this, so that when request bodies stream (DESIGN.md: later) the body's
// pieces are fed as they arrive and handlers do not change.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>

#include "grpc/compression.hpp"
#include "grpc/message.hpp"

namespace portico::grpc {

class message_reader {
 public:
  message_reader(std::size_t max_message_size, encoding request_encoding) noexcept
      : deframer_(max_message_size), max_(max_message_size), encoding_(request_encoding) {}

  /// Body bytes; `last`: the request stream ends after them (END_STREAM). The bytes must stay
  /// valid until next() has consumed them (the whole-body model hands in the request body,
  /// which lives as long as the call).
  void feed(std::string_view bytes, bool last) noexcept {
    input_ = bytes;
    last_ = last;
  }

  /// Streamed bodies: `bytes` are valid only during the caller's call; they are added after
  /// what an earlier append() left unread. Call keep_rest() before returning.
  void append(std::string_view bytes, bool last) {
    if (input_.empty()) {
      held_.clear();
      input_ = bytes;
    } else {
      // input_ views the tail of held_ (keep_rest() put it there).
      held_.erase(0, held_.size() - input_.size());
      held_.append(bytes);
      input_ = held_;
    }
    last_ = last;
  }
  /// Copies the bytes next() has not consumed yet, so that they outlive the caller's buffer.
  void keep_rest() {
    if (input_.empty() || (!held_.empty() && input_.data() >= held_.data() &&
                           input_.data() < held_.data() + held_.size()))
      return;
    held_.assign(input_);
    input_ = held_;
  }
  /// Body bytes received and not yet turned into messages.
  std::size_t unread() const noexcept { return input_.size(); }

  enum class kind : unsigned char { message, end, need_more, error };
  struct item {
    kind what = kind::need_more;
    std::string_view data;  ///< kind::message: valid until the next next()
    bool compressed = false;
    std::error_code ec;  ///< kind::error, grpc_category()
    std::string_view detail;
  };

  /// The next message, the end of the stream, "need more" (wait for feed()), or an error
  /// (sticky).
  item next();

  /// The bytes of the message next() just returned (`data` is its item's data), owned: the
  /// inflated or reassembled buffer is handed over without a copy; a message viewing the
  /// input is copied.
  std::string take(std::string_view data);

 private:
  item fail(status_code c, std::string_view detail) noexcept;

  deframer deframer_;
  std::size_t max_;
  encoding encoding_;
  std::string_view input_;
  bool last_ = false;
  bool failed_ = false;
  std::error_code ec_;
  std::string_view detail_;
  std::string inflated_;
  std::string held_;  // append(): unread bytes of earlier pieces
};

}  // namespace portico::grpc
