// The portico.tls error category.
#include "tls/errors.hpp"

namespace portico::tls {
namespace {

class tls_error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "portico.tls"; }

  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::handshake_failed:
        return "TLS handshake failed";
      case errc::protocol_error:
        return "TLS protocol error";
      case errc::peer_alert:
        return "the peer sent a fatal TLS alert";
      case errc::no_application_protocol:
        return "no application protocol in common (ALPN)";
      case errc::plain_http:
        return "plain HTTP sent to a TLS port";
      case errc::unexpected_eof:
        return "connection closed without TLS close_notify";
      case errc::output_flood:
        return "the peer does not read the TLS messages it makes the server send";
      case errc::internal_error:
        return "TLS internal error";
    }
    return "unknown TLS error";
  }
};

}  // namespace

const std::error_category& tls_category() noexcept {
  static const tls_error_category category;
  return category;
}

}  // namespace portico::tls
