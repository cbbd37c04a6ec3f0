// One request/response pair, shared by the protocol session (which fills the request and turns
// the response into bytes) and the handler (which sees it through portico::request and
// portico::response). Protocol-neutral: an HTTP/1.1 pipeline slot and (later) an HTTP/2 stream
// both derive from it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "portico/http.hpp"

namespace portico::detail {

/// a == b for the short strings of the request path (methods, path segments, parameter names):
/// compared inline rather than through a call to memcmp.
inline bool short_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return false;
  return true;
}

class exchange;

/// What the protocol session provides to its exchanges.
class exchange_owner {
 public:
  /// The handler acted on `x` (response started, body bytes written, or ended): the session
  /// should serialise what is new. Called on the loop thread, possibly from inside the handler.
  virtual void exchange_updated(exchange& x) = 0;
  /// Bytes of `x`'s response accepted but not yet written to the transport.
  virtual std::size_t exchange_buffered(const exchange& x) const noexcept = 0;
  /// Thread-safe: run `fn` on the loop thread.
  virtual void post(std::function<void()> fn) = 0;
  /// Loop thread: run `fn` after `ms` milliseconds.
  virtual void set_timeout(unsigned ms, std::function<void()> fn) = 0;
  /// The handler gives up on `x` (response::reset(), or it threw after the response started):
  /// HTTP/2 resets the stream (RST_STREAM CANCEL, or INTERNAL_ERROR when `error`); HTTP/1.1 has
  /// no other way to show an incomplete response than closing the connection. Marks `x` aborted.
  virtual void exchange_reset(exchange& x, bool error) = 0;
  /// Server push (RFC 9113 §8.4) of a GET for `path` on behalf of `x`; false where the
  /// protocol or the peer does not allow it (HTTP/1.1 always).
  virtual bool exchange_push(exchange& x, std::string_view path,
                             std::span<const header_view> headers) {
    (void)x, (void)path, (void)headers;
    return false;
  }

 protected:
  ~exchange_owner() = default;
};

/// The worker thread an exchange is served on, as seen from any thread: response::post() goes
/// there (the worker outlives its connections; a connection may be gone by the time another
/// thread posts). Implemented by the server's worker.
class exchange_home {
 public:
  /// Thread-safe: run `fn` on the home thread.
  virtual void post(std::function<void()> fn) = 0;
  /// True on the home thread.
  virtual bool on_home_thread() const noexcept = 0;

 protected:
  ~exchange_home() = default;
};

/// Where an exchange goes when its last reference is released (a per-thread pool).
class exchange_recycler {
 public:
  virtual void recycle(exchange* x) noexcept = 0;

 protected:
  ~exchange_recycler() = default;
};

/// One response field as a view into a field_list.
struct response_field {
  std::string_view name;  ///< as the handler wrote it (HTTP/1.1 sends this spelling)
  std::string_view value;
  std::string_view lower;  ///< the name in lowercase (what HTTP/2 sends, RFC 9113 §8.2.1)
};

/// The response's fields (or trailers), kept in one text buffer and one index whose capacity
/// survives clear(): a pooled exchange adds fields without allocating once it is warm (a
/// vector of string pairs cost two allocations per field on every response). Views handed out
/// are valid until the next add() or clear().
class field_list {
 public:
  /// Appends a field. The caller has validated name and value.
  void add(std::string_view name, std::string_view value);
  /// Appends a field whose name is a string with static storage, with its lowercase spelling
  /// (`lower`, also static): nothing is copied or lowercased for the name (the server's own
  /// fields, e.g. "ETag"/"etag").
  void add_static(std::string_view name, std::string_view lower, std::string_view value);
  /// Same as add_static, but the value is not copied either: it must stay valid until clear()
  /// (a literal, or bytes the exchange keeps alive, e.g. through file_keepalive).
  void add_static_view(std::string_view name, std::string_view lower, std::string_view value) {
    entries_.push_back({name.data(), lower.data(), value.data(), 0,
                        static_cast<std::uint32_t>(name.size()), 0,
                        static_cast<std::uint32_t>(value.size()), 0});
  }
  void clear() noexcept {
    text_.clear();
    entries_.clear();
  }
  bool empty() const noexcept { return entries_.empty(); }
  std::size_t size() const noexcept { return entries_.size(); }
  response_field operator[](std::size_t i) const noexcept {
    const entry& e = entries_[i];
    const std::string_view t = text_;
    if (e.static_name)
      return {{e.static_name, e.name_len},
              e.ext_value ? std::string_view(e.ext_value, e.value_len)
                          : t.substr(e.value_off, e.value_len),
              {e.static_lower, e.name_len}};
    return {t.substr(e.name_off, e.name_len), t.substr(e.value_off, e.value_len),
            t.substr(e.lower_off, e.name_len)};
  }

  class iterator {
   public:
    using value_type = response_field;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    iterator(const field_list* l, std::size_t i) noexcept : l_(l), i_(i) {}
    response_field operator*() const noexcept { return (*l_)[i_]; }
    iterator& operator++() noexcept {
      ++i_;
      return *this;
    }
    iterator operator++(int) noexcept {
      iterator r = *this;
      ++i_;
      return r;
    }
    bool operator==(const iterator& o) const noexcept { return i_ == o.i_; }

   private:
    const field_list* l_ = nullptr;
    std::size_t i_ = 0;
  };
  iterator begin() const noexcept { return {this, 0}; }
  iterator end() const noexcept { return {this, entries_.size()}; }

 private:
  struct entry {
    const char* static_name;  // add_static: the name and its lowercase form are not in text_
    const char* static_lower;
    const char* ext_value;  // add_static_view: the value is not in text_ either
    std::uint32_t name_off, name_len, value_off, value_len, lower_off;
  };
  std::string text_;
  std::vector<entry> entries_;
};

enum class body_kind : std::uint8_t { none, memory, view, file, parts, stream };

/// One piece of a `parts` body: literal text, or a slice of the exchange's file.
struct body_part {
  std::string text;  ///< sent when file_length == 0
  std::uint64_t file_offset = 0;
  std::uint64_t file_length = 0;  ///< > 0: a slice of file_fd
};

class exchange {
 public:
  exchange() noexcept : req_(this) {}
  virtual ~exchange();
  exchange(const exchange&) = delete;
  exchange& operator=(const exchange&) = delete;

  // ---- request, filled by the session before dispatch -----------------------------------
  std::string_view method;
  std::string_view target;
  std::string_view path;
  std::string_view query;
  std::string_view remote_ip;
  int version = 11;
  std::span<const header_view> headers;
  std::string_view body;     ///< the complete request body
  std::string body_storage;  ///< holds the body when it could not be a view
  /// Request trailer fields (RFC 9110 §6.5), copied here by the session once the body ended
  /// (add_request_trailer, then publish_request_trailers) and before the request's end is
  /// reported (dispatch, or on_body_data's end).
  std::span<const header_view> request_trailers;
  void add_request_trailer(std::string_view name, std::string_view value);
  void publish_request_trailers();
  struct param {
    std::string_view name;
    std::string_view value;
  };
  static constexpr std::size_t max_params = 8;
  std::array<param, max_params> params{};
  std::uint8_t param_count = 0;
  bool head_request = false;  ///< HEAD: the response body is not sent
  /// RFC 8441 extended CONNECT (HTTP/2): the :protocol ("websocket"); the request was
  /// dispatched at the end of its head and its body arrives through on_body_data.
  std::string_view protocol;
  /// The request was dispatched at the end of its head (a tunnel, or a stream_body route):
  /// its body arrives through on_body_data.
  bool body_streaming = false;
  /// Streamed bodies: the request's DATA as it arrives; `end` on END_STREAM. Cleared by
  /// detach().
  std::function<void(std::string_view data, bool end)> on_body_data;
  /// When the transport dispatched the request to its handler (monotonic nanoseconds, set by
  /// the glue, which owns the clock); 0 for answers the protocol session made itself.
  std::uint64_t dispatch_ns = 0;

  // ---- response, filled through portico::response --------------------------------------
  int status = 200;
  field_list fields;
  field_list trailers;              ///< sent after the body (response::trailer)
  bool has_content_length = false;  ///< the handler set Content-Length itself (streaming)
  std::uint64_t content_length = 0;
  body_kind kind = body_kind::none;
  std::string body_memory;     ///< kind == memory; for stream: bytes not yet taken
  std::string_view body_view;  ///< kind == view
  int file_fd = -1;            ///< kind == file or parts
  bool owns_file = true;       ///< close file_fd at the end (false: file_keepalive owns it)
  std::shared_ptr<const void> file_keepalive;  ///< keeps a shared (cached) descriptor open
  std::uint64_t file_offset = 0;               ///< kind == file
  std::uint64_t file_length = 0;
  std::vector<body_part> parts;  ///< kind == parts (multipart/byteranges)
  bool started = false;          ///< send*/write was called: status and fields are fixed
  bool ended = false;            ///< the handler finished the body
  bool aborted = false;          ///< the transport went away or the response was cut
  std::function<void()> on_drain;
  std::function<void()> on_abort;
  bool drain_wanted = false;

  portico::request& req() noexcept { return req_; }
  exchange_owner* owner() const noexcept { return owner_; }

  /// The session attaches the exchange when it takes it into service.
  void attach(exchange_owner* o) noexcept { owner_ = o; }
  /// The session is done with it (response written, or connection gone). After detach the
  /// handler's calls are ignored.
  /// Also drops the on_drain/on_abort callbacks, which may hold response copies (a cycle).
  void detach() noexcept;
  /// Marks the response cut and tells the handler (once).
  void abort() noexcept;
  /// Clears every request and response field (keeping capacity) for reuse.
  void reset() noexcept;

  void set_recycler(exchange_recycler* r) noexcept { recycler_ = r; }
  /// The glue sets the home thread when it dispatches the request (before any handle exists
  /// on another thread).
  void set_home(exchange_home* h) noexcept { home_ = h; }
  exchange_home* home() const noexcept { return home_; }
  /// Handles may be copied and destroyed on any thread (response::post() from elsewhere):
  /// the count is atomic, and a last release off the home thread hands the exchange back to
  /// the home thread for recycling (the pool is per thread).
  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept;
  int refs() const noexcept { return refs_.load(std::memory_order_relaxed); }

  /// A response handle for the handler (adds a reference).
  portico::response make_response() noexcept { return portico::response(this); }

  /// Closes the file body, if any.
  void close_file() noexcept;

 private:
  field_list rt_fields_;               // request trailers as received
  std::vector<header_view> rt_views_;  // their views, what request_trailers shows
  portico::request req_;
  exchange_owner* owner_ = nullptr;
  exchange_recycler* recycler_ = nullptr;  // null: delete
  exchange_home* home_ = nullptr;
  std::atomic<int> refs_{0};
};

}  // namespace portico::detail
