// A protocol a connection switched to after it started (HTTP/2 by preface, ALPN or h2c;
// WebSocket by an HTTP/1.1 Upgrade): the sans-I/O session behind one interface, so the
// connection's read, write, TLS and timer glue is written once for all of them. HTTP/1.1 is
// not one of them: the connection drives it directly (no virtual call on its hot path).
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <span>

namespace portico::engine {

class upgraded {
 public:
  virtual ~upgraded() = default;

  /// The wall-clock second (Date fields).
  virtual void set_time(std::time_t) {}
  /// Input bytes; returns how many were taken (fewer while the session applies back-pressure).
  virtual std::size_t consume(std::span<const char> in, std::uint64_t now) = 0;
  virtual bool wants_input() const = 0;
  virtual void input_eof() = 0;
  /// Output iovecs, valid until commit_output().
  virtual std::size_t pending_output(std::span<iovec> iov) = 0;
  virtual void commit_output(std::size_t n) = 0;
  virtual bool has_output() const = 0;
  /// Close the connection now (gracefully, or abortively when closed_on_error()).
  virtual bool done() const = 0;
  virtual bool closed_on_error() const = 0;
  /// The transport is gone: everything pending is dropped, the application told.
  virtual void abort_all() = 0;
  /// Timers, called about once a second.
  virtual void tick(std::uint64_t now) = 0;
  /// The server drains (GOAWAY, Close 1001).
  virtual void begin_shutdown(std::uint64_t now) = 0;
  /// Work in progress (HTTP/2 streams): the connection counts as writing, and an idle timeout
  /// (keepalive_timeout_ms) applies only when idle_closes() and nothing is in progress.
  virtual bool busy() const = 0;
  virtual bool idle_closes() const = 0;
  /// Its metrics slot (worker_stats::activity): 2 HTTP/2, 4 WebSocket (+1 over TLS).
  virtual std::uint8_t slot() const = 0;
};

}  // namespace portico::engine
