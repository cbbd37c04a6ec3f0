// The protocol-neutral request and response a handler sees. The same handler serves HTTP/1.1
// and (later) HTTP/2: nothing here depends on the wire protocol.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace portico {

class response;
namespace detail {
class exchange;
/// Library-internal: the exchange behind a response handle.
exchange& access(response& res) noexcept;
}  // namespace detail

/// A request header field. Views into the connection's buffer: valid while the request is.
struct header_view {
  std::string_view name;   ///< as sent; compare with iequals()
  std::string_view value;  ///< without surrounding whitespace
};

/// ASCII case-insensitive equality (field names, tokens).
bool iequals(std::string_view a, std::string_view b) noexcept;

/// Decodes %XX escapes. Returns false (and leaves `out` unspecified) on a malformed escape or
/// an encoded NUL. '+' is left as is (it is a space only in form bodies).
bool percent_decode(std::string_view in, std::string& out);

/// A request. Every view it returns stays valid until the response has ended (and while a
/// `response` copy refers to it).
class request {
 public:
  std::string_view method() const noexcept;
  /// The request-target as sent (origin-form "/a/b?x=1", or absolute-form).
  std::string_view target() const noexcept;
  /// The path of the target, still percent-encoded ("/a%20b").
  std::string_view path() const noexcept;
  /// The query without '?' (empty when none).
  std::string_view query() const noexcept;
  /// 10 for HTTP/1.0, 11 for HTTP/1.1, 20 for HTTP/2.
  int version() const noexcept;
  /// The first field named `name` (case-insensitive); empty when absent.
  std::string_view header(std::string_view name) const noexcept;
  std::span<const header_view> headers() const noexcept;
  /// The whole request body (requests are dispatched once their body is complete).
  std::string_view body() const noexcept;
  /// The first request trailer field named `name` (case-insensitive); empty when absent.
  /// Trailer fields (RFC 9110 §6.5) come after the body: on HTTP/1.1 in the last chunk of a
  /// chunked body, on HTTP/2 in a HEADERS frame that ends the stream. They are kept apart from
  /// the header fields (never merged, §6.5.1). A handler sees them when it runs; a
  /// route_options::stream_body handler once its on_body callback got `last`.
  std::string_view trailer(std::string_view name) const noexcept;
  /// Every request trailer field, in the order received (HTTP/2: lowercase names).
  std::span<const header_view> trailers() const noexcept;
  /// A path parameter of the matched route ("/users/:id" → param("id")), still
  /// percent-encoded; empty when absent. For a trailing "*" the rest of the path is param("*").
  std::string_view param(std::string_view name) const noexcept;
  /// The peer's IP address ("127.0.0.1", "::1").
  std::string_view remote_ip() const noexcept;

  /// Routes added with route_options::stream_body only: `fn(piece, last)` receives the body as
  /// it arrives (HTTP/2: each DATA frame's payload, then `last` with an empty piece at the
  /// client's END_STREAM; HTTP/1.1: the whole body at once with `last`). body() is then empty.
  /// Set it in the handler; it runs on the worker thread until the body ended or the response
  /// ended. Pieces are views valid during the call. Nothing is buffered for the handler: the
  /// flow-control window is given back as pieces are handed over, so a handler that keeps
  /// them must bound what it keeps.
  void on_body(std::function<void(std::string_view piece, bool last)> fn) const;
  /// True when the body comes through on_body() (a stream_body route), false when body()
  /// already holds all of it.
  bool body_streamed() const noexcept;

 private:
  friend class detail::exchange;
  explicit request(detail::exchange* x) noexcept : x_(x) {}
  detail::exchange* x_;
};

/// A handle on the response to one request. Copyable: keep a copy to answer later (an
/// asynchronous handler). Copies may be made, kept and destroyed on any thread, and post()
/// may be called from any thread (while the server exists); every other member must be
/// called on the response's worker thread -- post() gets there:
///   pool.submit([res] { auto r = work(); res.post([res, r] { if (!res.aborted()) res.send(r); });
///   });
/// Calls after the connection went away do nothing (see aborted()).
class response {
  friend detail::exchange& detail::access(response&) noexcept;

 public:
  response(const response& o) noexcept;
  response& operator=(const response& o) noexcept;
  ~response();

  /// Sets the status code (default 200). Only before the response started.
  response& status(int code);
  /// Adds a header field. Names are sent as given (HTTP/1.1) and lowercased on HTTP/2.
  /// Content-Length (checked and used as the body length), Transfer-Encoding, Connection,
  /// Keep-Alive and Date are managed by the server (ignored here). Throws
  /// std::invalid_argument when the name is not an RFC 9110 token or the value holds a
  /// control character other than HTAB (CR/LF would split the response). Ignored once the
  /// response started.
  response& header(std::string_view name, std::string_view value);

  /// Adds a trailer field, sent after the body (RFC 9110 §6.5): on HTTP/2 a HEADERS frame that
  /// ends the stream (RFC 9113 §8.1); on HTTP/1.1 in the last chunk of a chunked (streamed,
  /// no Content-Length) body, and dropped otherwise, since a body framed by Content-Length has
  /// no place for them. Call before the response ends. Not sent for HEAD, 204 or 304. Throws
  /// std::invalid_argument for an invalid field, or one that may not be a trailer (framing,
  /// routing, Content-Type/-Encoding/-Range, Host, TE, Trailer). Announcing them with a
  /// `Trailer` header field is up to the handler (RFC 9110 §6.6.2).
  response& trailer(std::string_view name, std::string_view value);

  /// HTTP/2 server push (RFC 9113 §8.4): promises a GET of `path` (origin-form, "/style.css",
  /// same authority and scheme as this request) with `headers` as extra request fields, and
  /// serves it through the router like a request from the client, on a stream of its own that
  /// is flow-controlled and that the client may cancel. Returns false, pushing nothing, on
  /// HTTP/1.1, when the client disabled push (SETTINGS_ENABLE_PUSH=0, as browsers do), after
  /// a GOAWAY, on a pushed response, after this response ended, when `path` is not a valid
  /// origin-form path, or when the limit of pushed streams (docs/http2.md) is reached. Call
  /// before sending the response that refers to the resource (§8.4: promises first).
  bool push(std::string_view path, std::span<const header_view> headers = {});

  /// Gives up on the response: HTTP/2 resets the stream (RST_STREAM CANCEL); HTTP/1.1 closes
  /// the connection, the only way to show the client that the response is incomplete.
  void reset();

  /// Sends the whole response with this body (Content-Length framing) and ends it.
  void send(std::string body);
  /// Same, for a body that lives at least until the response ends (a literal, a global).
  void send_static(std::string_view body);
  /// Sends an open file's bytes [offset, offset+length) as the body and ends the response; the
  /// response owns and closes `fd`. Cleartext HTTP/1.1 sends it with sendfile(2).
  void send_file(int fd, std::uint64_t offset, std::uint64_t length);

  /// Streaming: sends `data` as the next piece of the body (chunked on HTTP/1.1 unless a
  /// Content-Length header was set). Returns false when more than the high-water mark is
  /// buffered: wait for on_drain() before writing more. Past the hard limit the response is
  /// aborted and the connection reset.
  bool write(std::string_view data);
  /// Ends a streamed response (sends the last chunk).
  void end();
  /// Called once buffered bytes fall below the high-water mark after write() returned false.
  void on_drain(std::function<void()> fn);
  /// Called if the connection is lost before the response ended.
  void on_abort(std::function<void()> fn);

  /// Bytes accepted but not yet written to the socket.
  std::size_t buffered_amount() const noexcept;
  /// True once the peer went away or the response was cut.
  bool aborted() const noexcept;
  /// True once send*/end was called.
  bool ended() const noexcept;

  /// Runs `fn` on this response's worker thread, at the end of the current loop turn when
  /// called from it. Thread-safe, also after the connection went away (`fn` still runs on the
  /// worker; aborted() is then true). Not after the server was destroyed.
  void post(std::function<void()> fn) const;
  /// Runs `fn` on this worker thread after `ms` milliseconds. Loop thread only.
  void set_timeout(unsigned ms, std::function<void()> fn) const;

  /// The request this response answers.
  const request& req() const noexcept;

 private:
  friend class detail::exchange;
  explicit response(detail::exchange* x) noexcept;
  detail::exchange* x_;
};

/// A request handler. Answer through `res` now or later (keep a copy of `res`).
using handler = std::function<void(const request& req, response& res)>;

}  // namespace portico
