// C++20 coroutine form of portico/grpc.hpp's call API (docs/grpc.md, "Coroutine handlers").
//
//   svc.add("/pkg.Echo/Chat", [](portico::grpc::call c) -> portico::grpc::task {
//     while (auto m = co_await portico::grpc::read(c)) {      // nullopt: end, or the call ended
//       if (!co_await portico::grpc::write(c, m->data)) co_return;  // false: the call is over
//     }
//     c.finish({});  // or just return: a task finishes a call still open with OK
//   });
//
// Typed protobuf reads and writes (read<Request>(c), write(c, msg)): portico/grpc_protobuf.hpp.
//
// The rules:
// - A `task` coroutine starts at once (inside svc.add's handler) and frees its own frame when
//   it ends. It must take the call as a parameter (`call` or `call&`); the task keeps that
//   call alive while it runs. When it returns the call is finished with OK if nothing finished
//   it before; an exception escaping it ends the call with INTERNAL "handler failed: what()".
// - Everything it awaits completes on the call's worker thread: a read at once when the message
//   is already there (no suspension), else from the event loop when it arrives; a write at once
//   unless write() pushed back, else when the response drains (call::on_ready). The coroutine is
//   never resumed from inside itself, so reading 100k buffered messages takes no stack.
// - When the call ends while the coroutine waits (client RST_STREAM, connection lost, server
//   shutdown cutting the connection, deadline, a bad request message, finish() from elsewhere)
//   the coroutine is resumed with "call over": read gives nullopt, write and sleep_for give
//   false. It is not destroyed behind its back, so its own cleanup runs; a coroutine must
//   stop when it sees "call over" (later awaits complete at once with the same answer).
// - One coroutine awaits a call at a time, and not next to a callback read() or on_ready() of
//   the same call (the coroutine form uses those slots): a second wait throws
//   std::logic_error, which ends the call with INTERNAL.
// - A coroutine lambda's captures live in its closure (kept by the server's routes), not in
//   the frame; pass what the coroutine needs after a suspension as parameters.
// - GCC 12 destroys a brace-initialised temporary in a co_await operand twice (a compiler bug):
//   `const Reply r{...}; co_await write(c, r);`, not `co_await write(c, Reply{...})`.
#pragma once

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "portico/grpc.hpp"

namespace portico::grpc {

/// A request message owned by the coroutine that read it.
struct message {
  std::string data;         ///< the bytes after decompression
  bool compressed = false;  ///< it came with the compressed flag (and was inflated)
};

namespace detail {

/// Where a coroutine read puts its result: raw bytes (`bytes`), or a parsed message (`parse`
/// returns false when the bytes do not parse: the call then ends with INTERNAL).
struct read_target {
  std::optional<message>* bytes = nullptr;
  bool (*parse)(void* ctx, std::string_view data) = nullptr;
  void* ctx = nullptr;
};

/// The call layer's side of the awaitables (src/grpc/call.cpp). Each suspend_* returns true
/// when the coroutine stays suspended (it will be resumed once from the event loop, or when
/// the call ends), false when the result is already there. They throw std::logic_error when
/// another wait on the call is pending.
struct coro_access {
  static bool suspend_read(call& c, std::coroutine_handle<> h, read_target& t);
  /// After write() returned false: waits for on_ready (result true) or the call's end (false).
  static bool suspend_ready(call& c, std::coroutine_handle<> h, bool& result);
  static bool suspend_sleep(call& c, std::coroutine_handle<> h, unsigned ms, bool& result);
};

template <class T>
inline constexpr bool is_call_v = std::is_same_v<std::remove_cvref_t<T>, call>;

}  // namespace detail

/// The return type of a coroutine handler (see the rules above). Usable wherever a
/// method_handler is: `svc.add(path, [](call c) -> task { ... })`. Not awaitable.
class task {
 public:
  struct promise_type {
    /// The coroutine's parameters (a lambda's closure first): the call among them is kept.
    template <class... Args>
    explicit promise_type(Args&... args) noexcept {
      static_assert((detail::is_call_v<Args> || ...),
                    "a portico::grpc::task coroutine takes a portico::grpc::call parameter");
      (keep(args), ...);
    }
    task get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() { call_->finish({}); }  // does nothing when the call already ended
    void unhandled_exception() noexcept {
      std::string what = "handler failed";
      try {
        throw;
      } catch (const std::exception& e) {
        what += ": ";
        what += e.what();
      } catch (...) {
      }
      try {
        call_->finish({status_code::internal, std::move(what)});
      } catch (...) {
        // finish() only throws on allocation failure: the call stays as it is.
      }
    }

   private:
    template <class A>
    void keep(A& a) noexcept {
      if constexpr (detail::is_call_v<A>) {
        if (!call_) call_.emplace(a);
      }
    }
    std::optional<call> call_;
  };
};

/// `co_await read(c)`: the next request message (owned: the reader's buffer is handed over
/// when the message was assembled or inflated, else the bytes are copied), or nullopt at the
/// end of the request stream and when the call is over.
class [[nodiscard]] read_awaitable {
 public:
  explicit read_awaitable(call c) noexcept : c_(std::move(c)) {}
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    detail::read_target t;
    t.bytes = &out_;
    return detail::coro_access::suspend_read(c_, h, t);
  }
  std::optional<message> await_resume() noexcept { return std::move(out_); }

 private:
  call c_;
  std::optional<message> out_;
};

inline read_awaitable read(const call& c) noexcept {
  return read_awaitable(c);
}

/// `co_await write(c, bytes)`: sends one response message (call::write()) and completes at once,
/// or, when write() pushed back, once the buffered response drained (HTTP/2 flow control
/// reaches the coroutine). true: written, write more; false: the call is over (the message was
/// not sent, or the call ended while waiting).
class [[nodiscard]] write_awaitable {
 public:
  write_awaitable(call c, std::string_view bytes, bool compress) noexcept
      : c_(std::move(c)), bytes_(bytes), compress_(compress) {}
  /// Owns the bytes (the typed write's serialised message).
  write_awaitable(call c, std::string&& owned, bool compress) noexcept
      : c_(std::move(c)), owned_(std::move(owned)), bytes_(owned_), compress_(compress) {}
  write_awaitable(const write_awaitable&) = delete;  // bytes_ may view owned_
  write_awaitable& operator=(const write_awaitable&) = delete;
  bool await_ready() {
    if (c_.write(bytes_, compress_)) {
      result_ = true;
      return true;
    }
    return c_.finished();  // result_ false
  }
  bool await_suspend(std::coroutine_handle<> h) {
    return detail::coro_access::suspend_ready(c_, h, result_);
  }
  bool await_resume() const noexcept { return result_; }

 private:
  call c_;
  std::string owned_;
  std::string_view bytes_;  // the caller's bytes (live until the co_await completes) or owned_
  bool compress_;
  bool result_ = false;
};

inline write_awaitable write(const call& c, std::string_view bytes, bool compress = true) noexcept {
  return write_awaitable(c, bytes, compress);
}

/// `co_await sleep_for(c, d)`: resumes after `d` (rounded up to whole milliseconds, on the
/// call's worker thread: response::set_timeout) with true, or with false as soon as the call is
/// over. For pacing a response stream.
class [[nodiscard]] sleep_awaitable {
 public:
  sleep_awaitable(call c, unsigned ms) noexcept : c_(std::move(c)), ms_(ms) {}
  bool await_ready() const noexcept { return c_.finished(); }
  bool await_suspend(std::coroutine_handle<> h) {
    return detail::coro_access::suspend_sleep(c_, h, ms_, result_);
  }
  bool await_resume() const noexcept { return result_; }

 private:
  call c_;
  unsigned ms_;
  bool result_ = false;
};

/// Durations beyond the timer's range (about 49 days) are cut to it.
template <class Rep, class Period>
sleep_awaitable sleep_for(const call& c, std::chrono::duration<Rep, Period> d) noexcept {
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(d).count();
  constexpr auto max = std::numeric_limits<unsigned>::max();
  return sleep_awaitable(
      c, ms <= 0 ? 0u : (static_cast<std::uintmax_t>(ms) >= max ? max : static_cast<unsigned>(ms)));
}

}  // namespace portico::grpc
