// The portico.grpc error category: values are the gRPC status codes, messages their names.
#include <string>

#include "grpc/status.hpp"

namespace portico::grpc {
namespace {

class grpc_error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "portico.grpc"; }
  std::string message(int ev) const override {
    return std::string(status_name(static_cast<status_code>(ev)));
  }
};

}  // namespace

const std::error_category& grpc_category() noexcept {
  static const grpc_error_category category;
  return category;
}

std::string_view status_name(status_code c) noexcept {
  switch (c) {
    case status_code::ok:
      return "OK";
    case status_code::cancelled:
      return "CANCELLED";
    case status_code::unknown:
      return "UNKNOWN";
    case status_code::invalid_argument:
      return "INVALID_ARGUMENT";
    case status_code::deadline_exceeded:
      return "DEADLINE_EXCEEDED";
    case status_code::not_found:
      return "NOT_FOUND";
    case status_code::already_exists:
      return "ALREADY_EXISTS";
    case status_code::permission_denied:
      return "PERMISSION_DENIED";
    case status_code::resource_exhausted:
      return "RESOURCE_EXHAUSTED";
    case status_code::failed_precondition:
      return "FAILED_PRECONDITION";
    case status_code::aborted:
      return "ABORTED";
    case status_code::out_of_range:
      return "OUT_OF_RANGE";
    case status_code::unimplemented:
      return "UNIMPLEMENTED";
    case status_code::internal:
      return "INTERNAL";
    case status_code::unavailable:
      return "UNAVAILABLE";
    case status_code::data_loss:
      return "DATA_LOSS";
    case status_code::unauthenticated:
      return "UNAUTHENTICATED";
  }
  return "UNKNOWN";
}

status_code status_from_http(int http_status) noexcept {
  // doc/http-grpc-status-mapping.md of the gRPC project: for responses without grpc-status.
  switch (http_status) {
    case 400:
      return status_code::internal;
    case 401:
      return status_code::unauthenticated;
    case 403:
      return status_code::permission_denied;
    case 404:
      return status_code::unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return status_code::unavailable;
    default:
      return status_code::unknown;
  }
}

}  // namespace portico::grpc
