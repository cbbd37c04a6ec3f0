// grpc.health.v1.Health: Check and Watch (the gRPC project's doc/health-checking.md and
// grpc/health/v1/health.proto), with the hand-encoded messages of grpc/protowire.hpp.
//
// Threads: statuses are published as an immutable snapshot (std::atomic<shared_ptr>), so Check
// reads without the writers' mutex. Watch calls live on their worker threads; the registry
// (under the mutex, touched when a Watch starts or ends and on a status change) remembers each
// one's thread, and a change is broadcast to every worker, where each brings its own watchers
// up to date. A watcher's call handle is only ever used on its own thread.
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "grpc/protowire.hpp"
#include "portico/grpc_health.hpp"

namespace portico::grpc {

std::string_view serving_status_name(serving_status s) noexcept {
  switch (s) {
    case serving_status::serving:
      return "SERVING";
    case serving_status::not_serving:
      return "NOT_SERVING";
    case serving_status::service_unknown:
      return "SERVICE_UNKNOWN";
    case serving_status::unknown:
      break;
  }
  return "UNKNOWN";
}

namespace detail {

struct health_watcher {
  health_watcher(call handle, std::string name) : c(std::move(handle)), service(std::move(name)) {}
  call c;
  std::string service;
  std::thread::id thread = std::this_thread::get_id();
  bool sent = false;
  serving_status last = serving_status::unknown;
  bool waiting = false;  // write() pushed back: the latest status goes out on on_ready
};

struct health_state : std::enable_shared_from_this<health_state> {
  using table = std::map<std::string, serving_status, std::less<>>;

  std::atomic<std::shared_ptr<const table>> snapshot{
      std::make_shared<const table>(table{{"", serving_status::serving}})};
  std::atomic<bool> shut_down{false};

  std::mutex mu;  // guards what follows
  std::vector<health::broadcast_fn> broadcasts;
  std::map<std::thread::id, std::vector<std::shared_ptr<health_watcher>>> watchers;

  serving_status lookup(std::string_view service) const {
    const auto t = snapshot.load(std::memory_order_acquire);
    const auto it = t->find(service);
    return it == t->end() ? serving_status::service_unknown : it->second;
  }

  void set(std::string_view service, serving_status st);
  void shutdown();
  void notify_here();
  void update(const std::shared_ptr<health_watcher>& w);
  void watch(call c, std::string service);
  void unregister(const health_watcher* w);
};

void health_state::set(std::string_view service, serving_status st) {
  std::vector<health::broadcast_fn> targets;
  {
    std::lock_guard<std::mutex> g(mu);
    if (shut_down.load(std::memory_order_relaxed)) return;
    auto t = std::make_shared<table>(*snapshot.load(std::memory_order_relaxed));
    const auto it = t->find(service);
    const serving_status before = it == t->end() ? serving_status::service_unknown : it->second;
    if (before == st) return;
    if (st == serving_status::service_unknown) {
      t->erase(it);
    } else if (it == t->end()) {
      t->emplace(std::string(service), st);
    } else {
      it->second = st;
    }
    snapshot.store(std::move(t), std::memory_order_release);
    bool watched = false;
    for (const auto& [thread, list] : watchers)
      for (const auto& w : list)
        watched = watched || w->service == service;
    if (watched) targets = broadcasts;
  }
  auto self = shared_from_this();
  for (const auto& b : targets)
    b([self] { self->notify_here(); });
}

void health_state::shutdown() {
  std::vector<health::broadcast_fn> targets;
  {
    std::lock_guard<std::mutex> g(mu);
    if (!shut_down.load(std::memory_order_relaxed)) {
      // Every known service NOT_SERVING, then no more changes.
      auto t = std::make_shared<table>(*snapshot.load(std::memory_order_relaxed));
      for (auto& [name, st] : *t)
        st = serving_status::not_serving;
      snapshot.store(std::move(t), std::memory_order_release);
      shut_down.store(true, std::memory_order_release);
      targets = broadcasts;
    }
  }
  // This thread's watchers end now (a server's drain hook runs here before the connections
  // hear of the drain); the other threads' ones when the broadcast reaches them (their own
  // drain hooks usually come first).
  notify_here();
  auto self = shared_from_this();
  for (const auto& b : targets)
    b([self] { self->notify_here(); });
}

void health_state::notify_here() {
  std::vector<std::shared_ptr<health_watcher>> mine;
  {
    std::lock_guard<std::mutex> g(mu);
    const auto it = watchers.find(std::this_thread::get_id());
    if (it == watchers.end()) return;
    mine = it->second;
  }
  for (const auto& w : mine)
    update(w);
}

void health_state::update(const std::shared_ptr<health_watcher>& w) {
  if (w->c.finished()) {  // ended otherwise (a failed write): nothing more to tell
    unregister(w.get());
    return;
  }
  const bool ending = shut_down.load(std::memory_order_acquire);
  const serving_status now = lookup(w->service);
  // doc/health-checking.md: the current status at once, then "a new message whenever the
  // service's serving status changes". Unchanged statuses are not repeated; while the client
  // does not read (write() pushed back) only the latest status is kept: bounded memory.
  if ((!w->sent || now != w->last) && (!w->waiting || ending)) {
    w->sent = true;
    w->last = now;
    if (!w->c.write(wire::encode_health_response(now)) && !w->c.finished() && !ending) {
      w->waiting = true;
      // Weak both ways: the call's callbacks must not keep the registry (or the watcher) alive.
      std::weak_ptr<health_watcher> weak = w;
      std::weak_ptr<health_state> state = weak_from_this();
      w->c.on_ready([weak, state] {
        auto p = weak.lock();
        auto self = state.lock();
        if (!p || !self) return;
        p->waiting = false;
        self->update(p);
      });
    }
  }
  if (ending) {
    // Any status other than UNIMPLEMENTED makes a client retry the Watch (with back-off):
    // elsewhere, or here once the server is back.
    w->c.finish({status_code::unavailable, "server is shutting down"});
    unregister(w.get());
  }
}

void health_state::watch(call c, std::string service) {
  auto w = std::make_shared<health_watcher>(c, std::move(service));
  {
    std::lock_guard<std::mutex> g(mu);
    if (!shut_down.load(std::memory_order_relaxed)) watchers[w->thread].push_back(w);
  }
  std::weak_ptr<health_watcher> weak = w;
  std::weak_ptr<health_state> state = weak_from_this();
  w->c.on_cancel([weak, state] {
    auto p = weak.lock();
    auto self = state.lock();
    if (p && self) self->unregister(p.get());
  });
  update(w);  // the current status (and the end, when the drain began)
}

void health_state::unregister(const health_watcher* w) {
  std::shared_ptr<health_watcher> last;  // released outside the lock, on this thread
  std::lock_guard<std::mutex> g(mu);
  const auto it = watchers.find(w->thread);
  if (it == watchers.end()) return;
  auto& list = it->second;
  for (auto i = list.begin(); i != list.end(); ++i) {
    if (i->get() == w) {
      last = std::move(*i);
      list.erase(i);
      break;
    }
  }
  if (list.empty()) watchers.erase(it);
}

}  // namespace detail

namespace {

// Reads the one request message of a unary or server-streaming call and the end of the request
// stream, then fn(call, service).
template <class F>
void read_health_request(call c, F fn) {
  c.read([c, fn](std::optional<received_message> m) mutable {
    if (!m) {
      c.finish({status_code::internal, "no request message for a unary method"});
      return;
    }
    const auto service = wire::decode_health_request(m->data);
    if (!service) {
      c.finish({status_code::internal, "failed to parse request message"});
      return;
    }
    c.read([c, fn, name = std::string(*service)](std::optional<received_message> more) mutable {
      if (more) {
        c.finish({status_code::internal, "more than one request message for a unary method"});
        return;
      }
      fn(c, std::move(name));
    });
  });
}

}  // namespace

health::health() : s_(std::make_shared<detail::health_state>()) {}

void health::set_status(std::string_view service, serving_status st) {
  if (st != serving_status::serving && st != serving_status::not_serving &&
      st != serving_status::service_unknown)
    throw std::invalid_argument("health status must be serving, not_serving or service_unknown");
  s_->set(service, st);
}

serving_status health::status(std::string_view service) const {
  return s_->lookup(service);
}

void health::shutdown() {
  s_->shutdown();
}

bool health::is_shut_down() const noexcept {
  return s_->shut_down.load(std::memory_order_acquire);
}

void health::add_to(services& svc, broadcast_fn broadcast) const {
  {
    std::lock_guard<std::mutex> g(s_->mu);
    if (broadcast) s_->broadcasts.push_back(std::move(broadcast));
  }
  auto s = s_;
  svc.add("/grpc.health.v1.Health/Check", [s](call check) {
    read_health_request(std::move(check), [s](call c, std::string service) {
      const serving_status st = s->lookup(service);
      // doc/health-checking.md: "If the service name requested is not registered, the server
      // returns NOT_FOUND".
      if (st == serving_status::service_unknown) {
        c.finish({status_code::not_found, "unknown service"});
        return;
      }
      c.write(wire::encode_health_response(st));
      c.finish({});
    });
  });
  svc.add("/grpc.health.v1.Health/Watch", [s](call watch) {
    read_health_request(std::move(watch),
                        [s](call c, std::string service) { s->watch(c, std::move(service)); });
  });
}

}  // namespace portico::grpc
