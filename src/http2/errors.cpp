// HTTP/2 error category (RFC 9113 §7).
#include "http2/errors.hpp"

#include <string>

namespace portico::http2 {
namespace {

class http2_error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "portico.http2"; }

  std::string message(int ev) const override {
    // RFC 9113 §7: the one-line meaning of each code.
    switch (static_cast<errc>(ev)) {
      case errc::no_error:
        return "no error";
      case errc::protocol_error:
        return "protocol error";
      case errc::internal_error:
        return "internal error";
      case errc::flow_control_error:
        return "flow-control error";
      case errc::settings_timeout:
        return "settings not acknowledged in time";
      case errc::stream_closed:
        return "frame received for a closed stream";
      case errc::frame_size_error:
        return "frame size incorrect";
      case errc::refused_stream:
        return "stream refused before any processing";
      case errc::cancel:
        return "stream no longer needed";
      case errc::compression_error:
        return "field block could not be decompressed";
      case errc::connect_error:
        return "CONNECT tunnel reset or closed";
      case errc::enhance_your_calm:
        return "peer generates excessive load";
      case errc::inadequate_security:
        return "transport security inadequate";
      case errc::http_1_1_required:
        return "HTTP/1.1 required";
    }
    return "unknown HTTP/2 error code " + std::to_string(static_cast<unsigned>(ev));
  }
};

}  // namespace

const std::error_category& http2_category() noexcept {
  static const http2_error_category category;
  return category;
}

std::string_view error_name(errc e) noexcept {
  switch (e) {
    case errc::no_error:
      return "NO_ERROR";
    case errc::protocol_error:
      return "PROTOCOL_ERROR";
    case errc::internal_error:
      return "INTERNAL_ERROR";
    case errc::flow_control_error:
      return "FLOW_CONTROL_ERROR";
    case errc::settings_timeout:
      return "SETTINGS_TIMEOUT";
    case errc::stream_closed:
      return "STREAM_CLOSED";
    case errc::frame_size_error:
      return "FRAME_SIZE_ERROR";
    case errc::refused_stream:
      return "REFUSED_STREAM";
    case errc::cancel:
      return "CANCEL";
    case errc::compression_error:
      return "COMPRESSION_ERROR";
    case errc::connect_error:
      return "CONNECT_ERROR";
    case errc::enhance_your_calm:
      return "ENHANCE_YOUR_CALM";
    case errc::inadequate_security:
      return "INADEQUATE_SECURITY";
    case errc::http_1_1_required:
      return "HTTP_1_1_REQUIRED";
  }
  return "UNKNOWN";
}

}  // namespace portico::http2
