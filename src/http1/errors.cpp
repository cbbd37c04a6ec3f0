// HTTP/1 error category and the status each error is answered with (RFC 9110 §15).
#include "http1/errors.hpp"

#include <string>

namespace portico::http1 {
namespace {

class http1_error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "portico.http1"; }

  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::bad_request_line:
        return "malformed request line";
      case errc::bad_method:
        return "method is not a token";
      case errc::bad_target:
        return "invalid request-target";
      case errc::bad_version:
        return "malformed HTTP version";
      case errc::bad_header_name:
        return "invalid field name";
      case errc::bad_header_value:
        return "invalid field value";
      case errc::obs_fold:
        return "obsolete line folding is not accepted";
      case errc::bare_cr:
        return "CR not followed by LF";
      case errc::bare_lf:
        return "LF not preceded by CR";
      case errc::missing_host:
        return "missing Host field";
      case errc::duplicate_host:
        return "more than one Host field";
      case errc::bad_host:
        return "invalid Host field value";
      case errc::bad_content_length:
        return "invalid Content-Length";
      case errc::duplicate_content_length:
        return "more than one Content-Length field";
      case errc::content_length_with_transfer_encoding:
        return "both Content-Length and Transfer-Encoding";
      case errc::transfer_encoding_http10:
        return "Transfer-Encoding in an HTTP/1.0 request";
      case errc::chunked_not_final:
        return "chunked is not the final transfer coding exactly once";
      case errc::bad_chunk:
        return "malformed chunked encoding";
      case errc::bad_trailer:
        return "malformed trailer field";
      case errc::body_too_large:
        return "request body too large";
      case errc::request_line_too_long:
        return "request line too long";
      case errc::header_too_large:
        return "request header fields too large";
      case errc::too_many_headers:
        return "too many header fields";
      case errc::unknown_transfer_coding:
        return "unsupported transfer coding";
      case errc::unsupported_version:
        return "HTTP version not supported";
    }
    return "unknown http1 error";
  }
};

}  // namespace

const std::error_category& http1_category() noexcept {
  static const http1_error_category category;
  return category;
}

int status_for(std::error_code ec) noexcept {
  if (ec.category() != http1_category()) return 400;
  switch (static_cast<errc>(ec.value())) {
    case errc::body_too_large:
      return 413;  // RFC 9110 §15.5.14
    case errc::request_line_too_long:
      return 414;  // RFC 9110 §15.5.15
    case errc::header_too_large:
    case errc::too_many_headers:
      return 431;  // RFC 6585 §5
    case errc::unknown_transfer_coding:
      return 501;  // RFC 9112 §6.1
    case errc::unsupported_version:
      return 505;  // RFC 9110 §15.6.6
    default:
      return 400;
  }
}

}  // namespace portico::http1
