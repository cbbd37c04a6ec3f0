// WebSocket close-code category (RFC 6455 §7.4).
#include "ws/errors.hpp"

#include <string>

namespace portico::ws {
namespace {

class ws_error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "portico.ws"; }

  std::string message(int ev) const override {
    // RFC 6455 §7.4.1: the meaning of each defined code.
    switch (static_cast<close_code>(ev)) {
      case close_code::normal:
        return "normal closure";
      case close_code::going_away:
        return "going away";
      case close_code::protocol_error:
        return "protocol error";
      case close_code::unsupported_data:
        return "unsupported data";
      case close_code::no_status:
        return "no status code received";
      case close_code::abnormal:
        return "connection closed abnormally";
      case close_code::invalid_payload:
        return "invalid frame payload data";
      case close_code::policy_violation:
        return "policy violation";
      case close_code::message_too_big:
        return "message too big";
      case close_code::mandatory_extension:
        return "mandatory extension missing";
      case close_code::internal_error:
        return "internal server error";
      case close_code::tls_handshake:
        return "TLS handshake failure";
    }
    return "WebSocket close code " + std::to_string(ev);
  }
};

}  // namespace

const std::error_category& ws_category() noexcept {
  static const ws_error_category category;
  return category;
}

}  // namespace portico::ws
