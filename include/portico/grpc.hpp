// gRPC over HTTP/2 on a portico::server (docs/grpc.md).
//
//   portico::grpc::services svc;
//   svc.add("/pkg.Greeter/Hello", [](portico::grpc::call c) {
//     c.read([c](std::optional<portico::grpc::received_message> m) mutable {
//       if (!m) return c.finish({portico::grpc::status_code::invalid_argument, "no request"});
//       c.write(reply_bytes(m->data));
//       c.finish({});
//     });
//   });
//   svc.mount(srv);  // POST routes on the server, before srv.start()
//
// Typed protobuf methods: portico/grpc_protobuf.hpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "portico/http.hpp"
#include "portico/server.hpp"

namespace portico::grpc {

/// The gRPC status codes (the gRPC project's doc/statuscodes.md); values are the wire values
/// of grpc-status.
enum class status_code : int {
  ok = 0,
  cancelled = 1,
  unknown = 2,
  invalid_argument = 3,
  deadline_exceeded = 4,
  not_found = 5,
  already_exists = 6,
  permission_denied = 7,
  resource_exhausted = 8,
  failed_precondition = 9,
  aborted = 10,
  out_of_range = 11,
  unimplemented = 12,
  internal = 13,
  unavailable = 14,
  data_loss = 15,
  unauthenticated = 16,
};

/// The category of gRPC status codes: name() "portico.grpc", message() the code's name.
const std::error_category& grpc_category() noexcept;
inline std::error_code make_error_code(status_code c) noexcept {
  return {static_cast<int>(c), grpc_category()};
}
/// "OK", "CANCELLED", ... "UNAUTHENTICATED" ("UNKNOWN" for a value out of range).
std::string_view status_name(status_code c) noexcept;
/// The gRPC code a client derives from an HTTP status when a response has no grpc-status
/// (gRPC doc/http-grpc-status-mapping.md): 400 INTERNAL, 401 UNAUTHENTICATED, 403
/// PERMISSION_DENIED, 404 UNIMPLEMENTED, 429/502/503/504 UNAVAILABLE, others UNKNOWN.
status_code status_from_http(int http_status) noexcept;

/// A call's outcome: grpc-status and grpc-message (the message is any text; it is
/// percent-encoded on the wire).
struct status {
  status_code code = status_code::ok;
  std::string message;
  bool ok() const noexcept { return code == status_code::ok; }
};

/// One metadata entry. For keys ending in "-bin" the value is the binary value (base64 on the
/// wire, decoded and encoded by the library).
struct metadata_entry {
  std::string key;  ///< lowercase
  std::string value;
};
using metadata = std::vector<metadata_entry>;

/// Limits and features of the calls of a `services` (docs/grpc.md has the table).
struct service_options {
  /// A request message larger than this (announced length, or after decompression) ends the
  /// call with RESOURCE_EXHAUSTED. The whole request body is also bounded by the server's
  /// max_body_size (HTTP 413 before the call starts).
  std::size_t max_receive_message_size = 4 * 1024 * 1024;
  /// call::write() of a larger message ends the call with RESOURCE_EXHAUSTED.
  std::size_t max_send_message_size = 4 * 1024 * 1024;
  /// Accept gzip-compressed requests and offer gzip responses (grpc-accept-encoding).
  bool gzip = true;
  /// mount() also answers POSTs that no other route takes with a gRPC UNIMPLEMENTED (an
  /// unknown service); without it such calls get HTTP 404, which clients read as
  /// UNIMPLEMENTED too.
  bool unimplemented_fallback = true;
};

/// A received request message: the bytes after decompression, valid during the read
/// callback only.
struct received_message {
  std::string_view data;
  bool compressed = false;  ///< it came with the compressed flag (and was inflated)
};

namespace detail {
struct call_state;
struct coro_access;  // portico/grpc_coro.hpp
}  // namespace detail

/// One call (one HTTP/2 stream), handed to a method handler. A copyable handle: keep a copy to
/// answer later. Every member must be called on the call's worker thread (see
/// response().post()). The call must end with finish() (or be cancelled).
class call {
 public:
  // ---- request -----------------------------------------------------------------------------
  /// "/package.Service/Method"
  std::string_view method() const noexcept;
  /// The custom metadata of the request (reserved headers such as content-type, te, grpc-*
  /// and pseudo-headers left out), -bin values decoded.
  const metadata& client_metadata() const noexcept;
  /// The first value of `key` (lowercase), or nullptr.
  const std::string* client_metadata(std::string_view key) const noexcept;
  /// The deadline from grpc-timeout; at that moment the call ends with DEADLINE_EXCEEDED.
  std::optional<std::chrono::steady_clock::time_point> deadline() const noexcept;
  /// The request's content type ("application/grpc", "application/grpc+proto", ...).
  std::string_view content_type() const noexcept;

  /// Asks for the next request message. `fn(message)` runs once it is there (request messages
  /// are read as their DATA arrives; at once when one is already buffered), and
  /// `fn(std::nullopt)` once the client half-closed and every message was read. A malformed
  /// prefix or gzip stream (INTERNAL), a compressed flag without grpc-encoding (INTERNAL), an
  /// oversize message (RESOURCE_EXHAUSTED) or a cut-short last message (INTERNAL) ends the call
  /// with that status instead, and `fn` is not called. One read at a time; reading again from
  /// inside `fn` is fine (no recursion). Throws std::logic_error while a coroutine awaits a
  /// read of this call (portico/grpc_coro.hpp).
  void read(std::function<void(std::optional<received_message>)> fn);

  // ---- response ----------------------------------------------------------------------------
  /// Initial metadata (response headers). Before the first write(). Throws
  /// std::invalid_argument for a key that is not 1+ of [0-9a-z_.-], a reserved key (grpc-*,
  /// content-type, te, ...), or a non-binary value outside printable ASCII.
  void add_initial_metadata(std::string_view key, std::string_view value);
  /// Trailing metadata (sent with grpc-status). Before finish(). Same checks.
  void add_trailing_metadata(std::string_view key, std::string_view value);
  /// Compress response messages with "gzip" when the client's grpc-accept-encoding lists it
  /// (else they go uncompressed); "identity" turns it off. Before the first write().
  void set_compression(std::string_view encoding);
  /// Sends one response message (the initial metadata first). Returns false when the caller
  /// should wait for on_ready() before writing more (back-pressure: more than the server's
  /// response_high_water buffered), or when the call is over (finished()). A message above
  /// max_send_message_size ends the call with RESOURCE_EXHAUSTED. `compress`: false sends this
  /// message uncompressed even when compression is on.
  bool write(std::string_view message, bool compress = true);
  /// Runs `fn` once buffered response bytes drain below the high-water mark after write()
  /// returned false. One function at a time: a later on_ready() replaces it, and a coroutine
  /// awaiting a write (portico/grpc_coro.hpp) sets its own; throws std::logic_error while one
  /// waits.
  void on_ready(std::function<void()> fn);
  /// Ends the call: trailers with grpc-status, grpc-message and the trailing metadata, or
  /// "Trailers-Only" (one HEADERS frame with END_STREAM) when no message was written. Once;
  /// later calls do nothing.
  void finish(const status& st);

  /// True once finish() ran, the deadline passed or the client cancelled.
  bool finished() const noexcept;
  /// True when the client went away (RST_STREAM, connection lost) or the deadline passed.
  bool cancelled() const noexcept;
  /// Runs `fn` when the client cancels (RST_STREAM, connection lost) or the deadline passes.
  void on_cancel(std::function<void()> fn);

  /// The HTTP response under the call (post(), set_timeout()).
  portico::response& response() noexcept;

 private:
  friend struct detail::call_state;
  friend struct detail::coro_access;
  friend class services;
  explicit call(std::shared_ptr<detail::call_state> s) noexcept : s_(std::move(s)) {}
  std::shared_ptr<detail::call_state> s_;
};

/// A method handler: starts the call (answer now or later through the handle).
using method_handler = std::function<void(call)>;

/// A set of gRPC methods served on a portico::server.
class services {
 public:
  explicit services(service_options opts = {});
  /// A copy has its own method list and service names.
  services(const services& o);
  services& operator=(const services& o);
  services(services&&) noexcept = default;
  services& operator=(services&&) noexcept = default;
  ~services() = default;

  /// Adds a method by its full path ("/package.Service/Method"). Throws std::invalid_argument
  /// for a path not of that form.
  services& add(std::string_view full_method, method_handler h);

  const service_options& options() const noexcept { return *opts_; }

  /// The names of the services added so far ("package.Service"), in the order of their first
  /// method. The list is shared: a holder sees services added later (all adds happen before
  /// the server starts), which is how reflection's list_services names every mounted service.
  std::shared_ptr<const std::vector<std::string>> service_names() const noexcept {
    return service_names_;
  }

  /// Adds the routes to `srv` (before srv.start()): POST for each method, POST
  /// "/package.Service/*" answering UNIMPLEMENTED for the unknown methods of each service,
  /// and with unimplemented_fallback POST "/*" answering UNIMPLEMENTED (gRPC requests) or 404.
  /// Mount after the server's other POST routes: "/*" takes every POST path not matched
  /// before it.
  void mount(portico::server& srv) const {
    // Request messages are read as they arrive (ping-pong, a handler starting before the
    // client half-closes): the method routes take their body streamed.
    for (const auto& [path, h] : methods_)
      srv.route("POST", path, make_handler(h), portico::server::route_options{true});
    for (const auto& s : *service_names_)
      srv.post("/" + s + "/*", make_handler(nullptr));
    if (opts_->unimplemented_fallback) srv.post("/*", make_handler(nullptr));
  }

  /// The handler added for `full_method` ("/package.Service/Method"), or nullptr.
  method_handler method(std::string_view full_method) const;

  /// The HTTP handler of one method (nullptr: answers UNIMPLEMENTED). mount() uses it.
  portico::handler make_handler(method_handler h) const;

 private:
  std::shared_ptr<const service_options> opts_;
  std::vector<std::pair<std::string, method_handler>> methods_;
  std::shared_ptr<std::vector<std::string>> service_names_ =
      std::make_shared<std::vector<std::string>>();
};

}  // namespace portico::grpc

template <>
struct std::is_error_code_enum<portico::grpc::status_code> : std::true_type {};
