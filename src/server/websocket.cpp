#include "server/websocket.hpp"

#include <algorithm>

#include "core/log.hpp"
#include "server/connection.hpp"
#include "server/worker.hpp"

namespace portico {

// ---- the handle --------------------------------------------------------------------------------

websocket::websocket(detail::ws_link* l) noexcept : l_(l) {
  l_->add_ref();
}
websocket::websocket(const websocket& o) noexcept : l_(o.l_) {
  l_->add_ref();
}
websocket& websocket::operator=(const websocket& o) noexcept {
  if (this != &o) {
    o.l_->add_ref();
    l_->release();
    l_ = o.l_;
  }
  return *this;
}
websocket::~websocket() {
  l_->release();
}

namespace {
// After a send: remember that the application should wait for on_drain.
bool sent(detail::ws_link* l, ws::send_status st) {
  if (st == ws::send_status::above_high_water) l->congested = true;
  return st == ws::send_status::ok || st == ws::send_status::above_high_water;
}
}  // namespace

bool websocket::send_text(std::string_view text) {
  if (!l_->proto || !l_->open) return false;
  return sent(l_, l_->proto->session().send_text(text));
}

bool websocket::send_binary(std::string_view data) {
  if (!l_->proto || !l_->open) return false;
  return sent(l_, l_->proto->session().send_binary(data));
}

bool websocket::ping(std::string_view payload) {
  if (!l_->proto || !l_->open) return false;
  return sent(l_, l_->proto->session().send_ping(payload));
}

void websocket::close(std::uint16_t code, std::string_view reason) {
  if (!l_->proto || !l_->open) return;
  if (l_->proto->session().close(code, reason, l_->proto->now()) == ws::send_status::invalid) {
    // An invalid code or reason from the application: close normally rather than not at all.
    l_->proto->session().close(1000, {}, l_->proto->now());
  }
  l_->open = false;
}

std::size_t websocket::buffered_amount() const noexcept {
  return l_->proto ? l_->proto->session().buffered_amount() : 0;
}
bool websocket::congested() const noexcept {
  return l_->proto && l_->congested;
}
bool websocket::is_open() const noexcept {
  return l_->proto && l_->open;
}
std::string_view websocket::subprotocol() const noexcept {
  return l_->subprotocol;
}
std::string_view websocket::target() const noexcept {
  return l_->target;
}
std::string_view websocket::remote_ip() const noexcept {
  return l_->remote_ip;
}
std::shared_ptr<void>& websocket::user_data() noexcept {
  return l_->user;
}

void websocket::subscribe(std::string_view topic) {
  if (!l_->proto) return;
  std::string t(topic);
  if (std::find(l_->topics.begin(), l_->topics.end(), t) != l_->topics.end()) return;
  l_->topics.push_back(t);
  l_->proto->owner().config().websocket_hub->topics(l_->worker_index).subscribe(t, l_);
}

void websocket::unsubscribe(std::string_view topic) {
  auto it = std::find(l_->topics.begin(), l_->topics.end(), topic);
  if (it == l_->topics.end()) return;
  if (l_->proto)
    l_->proto->owner().config().websocket_hub->topics(l_->worker_index).unsubscribe(*it, l_);
  l_->topics.erase(it);
}

void websocket::publish(std::string_view topic, std::string_view data, bool text) {
  if (!l_->proto) return;
  l_->proto->owner().config().websocket_hub->publish(topic, data, text);
}

void websocket::post(std::function<void()> fn) const {
  if (l_->proto) l_->proto->owner().post(std::move(fn));
}

}  // namespace portico

namespace portico::engine {

std::unique_ptr<ws_endpoint> make_ws_endpoint(std::string path, websocket_handlers h,
                                              websocket_options o) {
  auto ep = std::make_unique<ws_endpoint>();
  ep->path = std::move(path);
  ep->handlers = std::move(h);
  ep->policy.origins.allowed = o.allowed_origins;
  ep->policy.origins.allow_same_origin = o.allow_same_origin;
  ep->policy.requires_authentication = o.requires_authentication;
  ep->policy.subprotocols = o.subprotocols;
  ep->policy.require_subprotocol = o.require_subprotocol;
  ep->policy.deflate.enabled = o.permessage_deflate;
  ep->session.max_message_size = o.max_message_size;
  ep->session.high_water = o.high_water;
  ep->session.max_buffered = o.max_buffered;
  ep->session.ping_interval_ms = o.idle_ping_ms;
  ep->session.pong_timeout_ms = o.pong_timeout_ms;
  ep->session.close_timeout_ms = o.close_timeout_ms;
  ep->session.deflate = ep->policy.deflate;
  ep->options = std::move(o);
  return ep;
}

// ---- publish/subscribe -------------------------------------------------------------------------

void ws_topics::subscribe(const std::string& topic, detail::ws_link* l) {
  subs_[topic].insert(l);
}

void ws_topics::unsubscribe(const std::string& topic, detail::ws_link* l) {
  auto it = subs_.find(topic);
  if (it == subs_.end()) return;
  it->second.erase(l);
  if (it->second.empty()) subs_.erase(it);
}

void ws_topics::deliver(const std::string& topic, std::string_view data, bool text) {
  auto it = subs_.find(topic);
  if (it == subs_.end()) return;
  // Sending may fail a slow subscriber's connection (1008), which unsubscribes it: iterate over
  // a copy, each link kept alive meanwhile.
  std::vector<websocket> handles;
  handles.reserve(it->second.size());
  for (auto* l : it->second)
    handles.emplace_back(l);
  for (auto& ws : handles) {
    if (text) {
      ws.send_text(data);
    } else {
      ws.send_binary(data);
    }
  }
}

void ws_hub::set_workers(std::vector<worker*> w) {
  workers_ = std::move(w);
  topics_.clear();
  for (std::size_t i = 0; i < workers_.size(); ++i)
    topics_.push_back(std::make_unique<ws_topics>());
}

void ws_hub::publish(std::string_view topic, std::string_view data, bool text) {
  // One copy of the message shared by every worker's delivery (no lock: each worker reads it
  // on its own thread, nobody writes it).
  auto msg = std::make_shared<const std::pair<std::string, std::string>>(std::string(topic),
                                                                         std::string(data));
  worker* self = worker::current();
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    ws_topics* t = topics_[i].get();
    if (workers_[i] == self) {
      t->deliver(msg->first, msg->second, text);  // this thread: at once, in order
    } else {
      workers_[i]->post([t, msg, text] { t->deliver(msg->first, msg->second, text); });
    }
  }
}

// ---- the WebSocket side, shared by both carriers -----------------------------------------------

ws_transport::ws_transport(worker& w, const ws_endpoint& ep,
                           std::optional<ws::deflate_params> deflate, std::string subprotocol,
                           std::string_view target, std::string_view ip, std::uint64_t now)
    : worker_(w),
      ep_(ep),
      session_(ep.session, *this, deflate, &w.ws_buffers()),
      link_(new detail::ws_link(this, std::move(subprotocol), std::string(target), std::string(ip),
                                w.index())) {
  link_->add_ref();
  session_.start(now);
}

ws_transport::~ws_transport() {
  detach_link();
  link_->release();
}

std::uint64_t ws_transport::now() const noexcept {
  return worker_.loop().now_ms();
}

void ws_transport::open() {
  if (ep_.handlers.on_open) {
    websocket ws(link_);
    ep_.handlers.on_open(ws);
  }
}

void ws_transport::detach_link() {
  if (!link_->proto) return;
  if (!link_->closed_reported) session_.input_eof();  // on_close(1006)
  link_->proto = nullptr;
  link_->open = false;
}

void ws_transport::on_message(ws::opcode op, std::string_view payload) {
  if (!ep_.handlers.on_message) return;
  websocket ws(link_);
  ep_.handlers.on_message(ws, payload, op == ws::opcode::text);
}

void ws_transport::on_close(std::uint16_t code, std::string_view reason) {
  link_->open = false;
  link_->closed_reported = true;
  auto& hub = *worker_.config().websocket_hub;
  for (const auto& t : link_->topics)
    hub.topics(link_->worker_index).unsubscribe(t, link_);
  link_->topics.clear();
  if (ep_.handlers.on_close) {
    websocket ws(link_);
    ep_.handlers.on_close(ws, code, reason);
  }
}

void ws_transport::on_pong(std::string_view payload) {
  if (!ep_.handlers.on_pong) return;
  websocket ws(link_);
  ep_.handlers.on_pong(ws, payload);
}

void ws_transport::on_drain() {
  link_->congested = false;
  if (!ep_.handlers.on_drain) return;
  websocket ws(link_);
  ep_.handlers.on_drain(ws);
}

// ---- over HTTP/1.1: the connection's protocol after the 101 ------------------------------------

ws_proto::ws_proto(connection& c, worker& w, const ws_endpoint& ep, std::string head,
                   std::optional<ws::deflate_params> deflate, std::string subprotocol,
                   std::string_view target, std::string_view ip, bool tls, std::uint64_t now)
    : ws_transport(w, ep, deflate, std::move(subprotocol), target, ip, now),
      conn_(c),
      head_(std::move(head)),
      tls_(tls) {}

ws_proto::~ws_proto() {
  detach_link();
}

std::size_t ws_proto::consume(std::span<const char> in, std::uint64_t now) {
  return session_.consume(in, now);
}

std::size_t ws_proto::pending_output(std::span<iovec> iov) {
  std::size_t k = 0;
  if (head_sent_ < head_.size() && !iov.empty()) {
    iov[0] = {head_.data() + head_sent_, head_.size() - head_sent_};
    k = 1;
  }
  return k + session_.pending_output(iov.subspan(k));
}

void ws_proto::commit_output(std::size_t n) {
  if (head_sent_ < head_.size()) {
    const std::size_t h = std::min(n, head_.size() - head_sent_);
    head_sent_ += h;
    n -= h;
    if (head_sent_ == head_.size()) {
      head_.clear();
      head_.shrink_to_fit();
      head_sent_ = 0;
    }
  }
  if (n > 0) session_.commit_output(n);
}

bool ws_proto::has_output() const {
  return head_sent_ < head_.size() || session_.has_output();
}

void ws_proto::begin_shutdown(std::uint64_t now) {
  // RFC 6455 §7.4.1: 1001 "going away" (a server going down).
  session_.close(1001, "server shutting down", now);
  link_->open = false;
}

void ws_proto::on_output_ready() {
  conn_.on_output_ready();
}

// ---- over an HTTP/2 stream (RFC 8441) ----------------------------------------------------------

ws_stream::ws_stream(portico::response res, worker& w, const ws_endpoint& ep,
                     std::optional<ws::deflate_params> deflate, std::string subprotocol,
                     std::string_view target, std::string_view ip, std::uint64_t now)
    : ws_transport(w, ep, deflate, std::move(subprotocol), target, ip, now), res_(std::move(res)) {}

ws_stream::~ws_stream() {
  detach_link();
}

void ws_stream::attach(std::shared_ptr<ws_stream> self, detail::exchange& x) {
  // The callbacks own the object; the exchange drops them when the stream ends (detach()).
  std::weak_ptr<ws_stream> weak = self;
  x.on_body_data = [self](std::string_view data, bool end) {
    auto keep = self;  // the stream may end (and drop this callback) while we are in it
    if (!data.empty())
      keep->session_.consume(std::span<const char>(data.data(), data.size()), keep->now());
    if (end) keep->session_.input_eof();  // RFC 8441 §5: END_STREAM is the TCP FIN
    keep->pump();
  };
  x.on_drain = [weak] {
    if (auto s = weak.lock()) s->pump();
  };
  x.on_abort = [weak] {
    // RST_STREAM or the connection went away: as an abrupt TCP close (RFC 8441 §5).
    if (auto s = weak.lock()) s->detach_link();
  };
}

void ws_stream::pump() {
  if (pumping_) return;
  auto keep = shared_from_this();
  pumping_ = true;
  iovec iov[16];
  while (!res_.aborted() && !res_.ended()) {
    const std::size_t n = session_.pending_output(iov);
    if (n == 0) break;
    std::string chunk;
    for (std::size_t i = 0; i < n; ++i)
      chunk.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
    session_.commit_output(chunk.size());
    if (!res_.write(chunk)) break;  // above high water: on_drain resumes
  }
  pumping_ = false;
  if (session_.done() && !res_.ended() && !res_.aborted()) res_.end();  // END_STREAM
}

}  // namespace portico::engine
