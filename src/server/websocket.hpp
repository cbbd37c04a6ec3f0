// WebSocket in the server: endpoints (server::websocket), the connection-side protocol that
// drives a ws::session after the 101 (ws_proto, an `upgraded`), the handle the application
// holds (detail::ws_link behind portico::websocket), and publish/subscribe across workers.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "portico/websocket.hpp"
#include "server/upgraded.hpp"
#include "ws/handshake.hpp"
#include "ws/session.hpp"

namespace portico::engine {

class worker;
class connection;
class ws_hub;
class ws_transport;

/// One endpoint, built by server::websocket() before the workers start; read-only afterwards.
struct ws_endpoint {
  std::string path;  ///< exact request path ("/ws/echo")
  websocket_handlers handlers;
  websocket_options options;
  ws::endpoint_policy policy;  ///< from options
  ws::session_config session;  ///< from options
};

/// Builds an endpoint from the public options.
std::unique_ptr<ws_endpoint> make_ws_endpoint(std::string path, websocket_handlers h,
                                              websocket_options o);

/// The topics of one worker: who subscribed to what (worker thread only).
class ws_topics {
 public:
  void subscribe(const std::string& topic, detail::ws_link* l);
  void unsubscribe(const std::string& topic, detail::ws_link* l);
  void deliver(const std::string& topic, std::string_view data, bool text);

 private:
  std::map<std::string, std::set<detail::ws_link*>, std::less<>> subs_;
};

/// Server-wide publish: posts the message to every worker, which delivers it to its own
/// subscribers. Thread-safe once workers are set (before they start).
class ws_hub {
 public:
  void set_workers(std::vector<worker*> w);
  ws_topics& topics(unsigned worker_index) { return *topics_[worker_index]; }
  void publish(std::string_view topic, std::string_view data, bool text);

 private:
  std::vector<worker*> workers_;
  std::vector<std::unique_ptr<ws_topics>> topics_;
};

/// The WebSocket side of a connection, whatever carries it: the ws::session, the link the
/// application holds, and the endpoint's handlers. The carrier moves bytes (on_output_ready).
class ws_transport : protected ws::session_events {
 public:
  ws_transport(worker& w, const ws_endpoint& ep, std::optional<ws::deflate_params> deflate,
               std::string subprotocol, std::string_view target, std::string_view ip,
               std::uint64_t now);
  virtual ~ws_transport();
  ws_transport(const ws_transport&) = delete;
  ws_transport& operator=(const ws_transport&) = delete;

  /// Calls the endpoint's on_open (once the handshake answer is queued).
  void open();
  /// The carrier is gone: the application's handle goes dead (on_close 1006 if not closed).
  void detach_link();

  // For detail::ws_link.
  ws::session& session() noexcept { return session_; }
  worker& owner() noexcept { return worker_; }
  std::uint64_t now() const noexcept;

 protected:
  void on_message(ws::opcode op, std::string_view payload) override;
  void on_close(std::uint16_t code, std::string_view reason) override;
  void on_pong(std::string_view payload) override;
  void on_drain() override;

  worker& worker_;
  const ws_endpoint& ep_;
  ws::session session_;
  detail::ws_link* link_;
};

/// WebSocket over HTTP/1.1 (RFC 6455): the connection switched to it after the 101 (`head`,
/// written before any frame).
class ws_proto final : public upgraded, public ws_transport {
 public:
  ws_proto(connection& c, worker& w, const ws_endpoint& ep, std::string head,
           std::optional<ws::deflate_params> deflate, std::string subprotocol,
           std::string_view target, std::string_view ip, bool tls, std::uint64_t now);
  ~ws_proto() override;

  std::size_t consume(std::span<const char> in, std::uint64_t now) override;
  bool wants_input() const override { return session_.wants_input(); }
  void input_eof() override { session_.input_eof(); }
  std::size_t pending_output(std::span<iovec> iov) override;
  void commit_output(std::size_t n) override;
  bool has_output() const override;
  bool done() const override { return head_sent_ == head_.size() && session_.done(); }
  bool closed_on_error() const override { return false; }  // our Close must be read: no RST
  void abort_all() override { detach_link(); }
  void tick(std::uint64_t now) override { session_.tick(now); }
  void begin_shutdown(std::uint64_t now) override;
  bool busy() const override { return false; }
  bool idle_closes() const override { return false; }  // idle pings are the endpoint's choice
  std::uint8_t slot() const override { return tls_ ? 5 : 4; }

 private:
  void on_output_ready() override;

  connection& conn_;
  std::string head_;
  std::size_t head_sent_ = 0;
  bool tls_;
};

/// WebSocket over an HTTP/2 stream (RFC 8441): the stream's DATA frames carry the WebSocket
/// frames both ways; the stream's flow control applies, and the response's back-pressure
/// (write() above high water waits for on_drain) holds the session's output.
class ws_stream final : public ws_transport, public std::enable_shared_from_this<ws_stream> {
 public:
  ws_stream(portico::response res, worker& w, const ws_endpoint& ep,
            std::optional<ws::deflate_params> deflate, std::string subprotocol,
            std::string_view target, std::string_view ip, std::uint64_t now);
  ~ws_stream() override;

  /// Wires the exchange's callbacks (DATA in, drain, abort) to this object; they own it.
  static void attach(std::shared_ptr<ws_stream> self, detail::exchange& x);
  /// Moves the session's output into the response body.
  void pump();

 private:
  void on_output_ready() override { pump(); }

  portico::response res_;
  bool pumping_ = false;
};

}  // namespace portico::engine

namespace portico::detail {

/// What a portico::websocket handle points to; outlives the connection while handles exist.
class ws_link {
 public:
  ws_link(engine::ws_transport* p, std::string proto_name, std::string request_target,
          std::string ip, unsigned worker)
      : proto(p),
        subprotocol(std::move(proto_name)),
        target(std::move(request_target)),
        remote_ip(std::move(ip)),
        worker_index(worker) {}
  void add_ref() noexcept { ++refs_; }
  void release() noexcept {
    if (--refs_ == 0) delete this;
  }

  engine::ws_transport* proto;  ///< null once the connection (or stream) is gone
  std::string subprotocol, target, remote_ip;
  unsigned worker_index;
  std::shared_ptr<void> user;
  std::vector<std::string> topics;
  bool open = true;        ///< until the closing handshake starts or the connection ends
  bool congested = false;  ///< a send went above high_water; on_drain pending
  bool closed_reported = false;

 private:
  int refs_ = 0;
};

}  // namespace portico::detail
