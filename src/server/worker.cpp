#include "server/worker.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

#include "core/log.hpp"
#include "server/connection.hpp"

namespace portico::engine {

namespace {
thread_local worker* this_thread_worker = nullptr;
constexpr unsigned listener_sample_ms = 1000;
}  // namespace

worker* worker::current() noexcept {
  return this_thread_worker;
}

class worker::listener final : public io::event_handler {
 public:
  listener(worker& w, unique_fd fd, bool tls) : w_(w), fd_(std::move(fd)), tls_(tls) {}
  void on_events(std::uint32_t) override { w_.accept_ready(*this); }
  int fd() const noexcept { return fd_.get(); }
  bool tls() const noexcept { return tls_; }
  void close() noexcept { fd_.reset(); }

 private:
  worker& w_;
  unique_fd fd_;
  bool tls_;  // connections accepted here speak TLS
};

struct worker::user_timer {
  io::timer_node node;
  std::function<void()> fn;
  worker* owner = nullptr;
  user_timer* prev = nullptr;
  user_timer* next = nullptr;

  void unlink() noexcept {
    if (prev) prev->next = next;
    if (next) next->prev = prev;
    if (owner->user_timers_ == this) owner->user_timers_ = next;
    prev = next = nullptr;
  }
  static void fire(io::timer_node* n) {
    auto* t = static_cast<user_timer*>(n->owner);
    t->unlink();
    auto fn = std::move(t->fn);
    delete t;
    fn();
  }
};

void worker::set_timeout(unsigned ms, std::function<void()> fn) {
  auto* t = new user_timer{};
  t->fn = std::move(fn);
  t->owner = this;
  t->node.owner = t;
  t->node.fire = &user_timer::fire;
  t->next = user_timers_;
  if (user_timers_) user_timers_->prev = t;
  user_timers_ = t;
  loop_.timers().arm(t->node, loop_.now_ms() + ms);
}

void worker::drop_user_timers() noexcept {
  while (user_timers_) {
    user_timer* t = user_timers_;
    t->unlink();
    loop_.timers().cancel(t->node);
    delete t;  // releases whatever the callback captured (response handles)
  }
}

worker::worker(const shared_config& cfg, unsigned index) : cfg_(cfg), index_(index) {
  // Closed connections are destroyed after everything else of the turn ran: one may still be
  // queued as a turn-end task (a pending flush) when it closes.
  loop_.set_turn_finalizer([this] {
    if (retired_.empty()) return;
    auto list = std::move(retired_);
    retired_.clear();
    for (connection* c : list)
      delete c;
    check_drained();
  });
  reserve_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  accept_pause_timer_.owner = this;
  accept_pause_timer_.fire = [](io::timer_node* n) {
    static_cast<worker*>(n->owner)->resume_accepting();
  };
  sample_timer_.owner = this;
  sample_timer_.fire = [](io::timer_node* n) {
    static_cast<worker*>(n->owner)->sample_listeners();
  };
  shutdown_timer_.owner = this;
  shutdown_timer_.fire = [](io::timer_node* n) {
    auto* w = static_cast<worker*>(n->owner);
    if (w->conn_count_)
      LOG_WARN("worker %u: shutdown timeout, cutting %zu connections", w->index_, w->conn_count_);
    while (w->conns_)
      w->conns_->abort_now();
    w->check_drained();
  };
}

worker::~worker() {
  join();
  while (conns_) {
    connection* c = conns_;
    c->abort_now();
  }
  for (connection* c : retired_)
    delete c;
  drop_user_timers();
  loop_.timers().cancel(accept_pause_timer_);
  loop_.timers().cancel(shutdown_timer_);
  loop_.timers().cancel(sample_timer_);
}

std::error_code worker::open_listeners(std::vector<net::address>& addresses,
                                       std::vector<net::address>& tls_addresses,
                                       std::string& failed) {
  net::listen_options lo;
  lo.backlog = cfg_.options.backlog;
  lo.reuse_port = true;
  for (int tls = 0; tls < 2; ++tls) {
    for (auto& a : tls ? tls_addresses : addresses) {
      unique_fd fd;
      if (auto ec = net::listen_tcp(a, lo, fd)) {
        failed = a.to_string();
        return ec;
      }
      if (a.port() == 0) {
        // Port 0: the kernel chose one; the other workers join the same port.
        if (auto bound = net::local_address(fd.get())) a = *bound;
      }
      listeners_.push_back(std::make_unique<listener>(*this, std::move(fd), tls != 0));
      auto g = std::make_unique<listener_gauges>();
      g->address = a.to_string();
      listener_gauges_.push_back(std::move(g));
    }
  }
  return {};
}

std::span<std::byte> worker::tls_scratch() {
  if (!tls_scratch_) tls_scratch_ = std::make_unique_for_overwrite<std::byte[]>(tls_scratch_size);
  return {tls_scratch_.get(), tls_scratch_size};
}

void worker::sample_listeners() noexcept {
  // Our own sockets, read on our own thread: no other thread touches a listening descriptor
  // (the drain closes them on this thread), so the numbers can never come from a reused fd.
  for (std::size_t i = 0; i < listeners_.size(); ++i) {
    listener_gauges& g = *listener_gauges_[i];
    int fd = listeners_[i]->fd();
    if (fd < 0) {
      g.queue.store(0, std::memory_order_relaxed);
      continue;
    }
    // For a listener, tcpi_unacked is the accept queue's length and tcpi_sacked its limit.
    tcp_info ti{};
    socklen_t len = sizeof ti;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 && ti.tcpi_state == TCP_LISTEN) {
      g.queue.store(ti.tcpi_unacked, std::memory_order_relaxed);
      g.backlog.store(ti.tcpi_sacked, std::memory_order_relaxed);
    }
    // sk_drops of a listener counts what tcp_listendrop() dropped: accept queue overflows and
    // other failed handshakes (Linux >= 4.12).
    std::uint32_t mem[SK_MEMINFO_VARS] = {};
    len = sizeof mem;
    if (::getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) == 0 &&
        len > SK_MEMINFO_DROPS * sizeof(std::uint32_t)) {
      g.drops.store(mem[SK_MEMINFO_DROPS], std::memory_order_relaxed);
    }
  }
  if (!draining_) loop_.timers().arm(sample_timer_, loop_.now_ms() + listener_sample_ms);
}

void worker::start() {
  thread_ = std::thread([this] { run(); });
}

void worker::join() {
  if (thread_.joinable()) thread_.join();
}

void worker::drain() {
  loop_.post([this] { begin_drain(); });
}

void worker::stop_now() {
  loop_.post([this] {
    while (conns_)
      conns_->abort_now();
    loop_.stop();
  });
}

bool worker::on_home_thread() const noexcept {
  return this_thread_worker == this;
}

void worker::run() {
  this_thread_worker = this;
  if (cfg_.sample_listeners) sample_listeners();
  for (auto& l : listeners_) {
    if (!loop_.add(l->fd(), EPOLLIN, l.get())) {
      LOG_ERROR("worker %u: epoll add listener: %s", index_, std::strerror(errno));
    }
  }
  // Connections may already be queued.
  for (auto& l : listeners_)
    accept_ready(*l);
  try {
    loop_.run();
  } catch (const std::exception& e) {
    LOG_ERROR("worker %u: event loop failed: %s", index_, e.what());
  }
  while (conns_)
    conns_->abort_now();
  for (connection* c : retired_)
    delete c;
  retired_.clear();
  drop_user_timers();
  loop_.timers().cancel(sample_timer_);
  this_thread_worker = nullptr;
}

void worker::accept_ready(listener& l) {
  if (accept_paused_ || draining_ || l.fd() < 0) return;
  auto& st = stats_;
  while (true) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int fd =
        ::accept4(l.fd(), reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN) return;
      if (errno == EMFILE || errno == ENFILE) {
        // Out of descriptors. Free the reserve descriptor and use it to accept and close the
        // waiting connections (their clients see a close rather than a timeout), then pause
        // accepting briefly so that a full queue cannot make this loop spin.
        std::uint64_t now = loop_.now_ms();
        if (now - last_emfile_log_ms_ > 1000 || last_emfile_log_ms_ == 0) {
          LOG_WARN("worker %u: accept: %s; refusing connections (raise the fd limit, ulimit -n)",
                   index_, std::strerror(errno));
          last_emfile_log_ms_ = now;
        }
        reserve_fd_.reset();
        for (int i = 0; i < 1024; ++i) {
          int extra = ::accept4(l.fd(), nullptr, nullptr, SOCK_CLOEXEC);
          if (extra < 0) break;
          worker_stats::add(st.refused);
          ::close(extra);
        }
        reserve_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        pause_accepting();
        return;
      }
      LOG_WARN("worker %u: accept: %s", index_, std::strerror(errno));
      return;
    }
    unique_fd cfd(fd);
    worker_stats::add(st.accepted);
    if (cfg_.options.max_connections_per_worker &&
        conn_count_ >= cfg_.options.max_connections_per_worker) {
      worker_stats::add(st.refused);
      continue;  // closes cfd
    }
    net::apply_connection_options(fd, cfg_.conn);
    char ip[INET6_ADDRSTRLEN] = "-";
    if (ss.ss_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, ip, sizeof ip);
    } else if (ss.ss_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr, ip, sizeof ip);
    }
    connection* c = nullptr;
    try {
      c = new connection(*this, std::move(cfd), ip, l.tls() ? cfg_.tls : nullptr);
    } catch (const std::bad_alloc&) {
      // Out of memory (OpenSSL could not create the TLS session): refuse this one, go on.
      worker_stats::add(st.refused);
      continue;
    }
    c->next = conns_;
    if (conns_) conns_->prev = c;
    conns_ = c;
    ++conn_count_;
    worker_stats::add(st.open);
    if (!c->start()) c->abort_now();
  }
}

void worker::pause_accepting() {
  accept_paused_ = true;
  loop_.timers().arm(accept_pause_timer_, loop_.now_ms() + 100);
}

void worker::resume_accepting() {
  accept_paused_ = false;
  for (auto& l : listeners_)
    accept_ready(*l);
}

void worker::connection_closed(connection* c) noexcept {
  if (c->prev) c->prev->next = c->next;
  if (c->next) c->next->prev = c->prev;
  if (conns_ == c) conns_ = c->next;
  c->prev = c->next = nullptr;
  --conn_count_;
  worker_stats::sub(stats_.open);
  retire(c);
}

void worker::retire(connection* c) {
  retired_.push_back(c);
}

void worker::begin_drain() {
  if (draining_) return;
  draining_ = true;
  for (auto& hook : drain_hooks_)
    hook();
  // Stop accepting: closing our listening sockets lets the kernel refuse new connections
  // once every worker has closed its own.
  for (auto& l : listeners_) {
    if (l->fd() >= 0) loop_.remove(l->fd());
    l->close();
  }
  loop_.timers().cancel(sample_timer_);
  for (auto& g : listener_gauges_)
    g->queue.store(0, std::memory_order_relaxed);
  for (connection* c = conns_; c;) {
    connection* next = c->next;
    c->drain();
    c = next;
  }
  loop_.timers().arm(shutdown_timer_, loop_.now_ms() + cfg_.options.shutdown_timeout_ms);
  check_drained();
}

void worker::check_drained() {
  if (draining_ && conn_count_ == 0) loop_.stop();
}

}  // namespace portico::engine
