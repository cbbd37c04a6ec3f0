#include "io/event_loop.hpp"

#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace portico::io {

std::uint64_t monotonic_ms() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000u +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000000u;
}

std::uint64_t monotonic_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

namespace {
// The loop whose run() is on this thread's stack (loop_now_ms()).
thread_local const event_loop* tl_running = nullptr;
}  // namespace

std::uint64_t loop_now_ms() noexcept {
  const event_loop* l = tl_running;
  return l ? l->now_ms() : monotonic_ms();
}

namespace {
// The eventfd's handler: reading it resets the counter; posted work is drained every turn.
struct wake_handler final : event_handler {
  int fd;
  explicit wake_handler(int f) : fd(f) {}
  void on_events(std::uint32_t) override {
    std::uint64_t v;
    while (::read(fd, &v, sizeof v) > 0) {
    }
  }
};
}  // namespace

event_loop::event_loop()
    : epfd_(::epoll_create1(EPOLL_CLOEXEC)),
      wakefd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      now_ms_(monotonic_ms()),
      timers_(now_ms_) {
  if (!epfd_) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  if (!wakefd_) throw std::system_error(errno, std::generic_category(), "eventfd");
}

event_loop::~event_loop() = default;

bool event_loop::add(int fd, std::uint32_t events, event_handler* h) noexcept {
  epoll_event ev{};
  ev.events = events | EPOLLET;
  ev.data.ptr = h;
  return ::epoll_ctl(epfd_.get(), EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool event_loop::modify(int fd, std::uint32_t events, event_handler* h) noexcept {
  epoll_event ev{};
  ev.events = events | EPOLLET;
  ev.data.ptr = h;
  return ::epoll_ctl(epfd_.get(), EPOLL_CTL_MOD, fd, &ev) == 0;
}

void event_loop::remove(int fd) noexcept {
  ::epoll_ctl(epfd_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

void event_loop::stop() noexcept {
  stop_.store(true, std::memory_order_relaxed);
  std::uint64_t one = 1;
  ssize_t r = ::write(wakefd_.get(), &one, sizeof one);
  (void)r;
}

void event_loop::post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> g(posted_mu_);
    posted_.push_back(std::move(fn));
  }
  std::uint64_t one = 1;
  ssize_t r = ::write(wakefd_.get(), &one, sizeof one);
  (void)r;
}

void event_loop::at_turn_end(turn_end_task* t) {
  if (t->turn_end_scheduled) return;
  t->turn_end_scheduled = true;
  turn_end_.push_back(t);
}

std::uint64_t event_loop::update_now() noexcept {
  now_ms_ = monotonic_ms();
  now_ns_ = monotonic_ns();
  return now_ms_;
}

void event_loop::drain_posted() {
  {
    std::lock_guard<std::mutex> g(posted_mu_);
    if (posted_.empty()) return;
    running_.swap(posted_);
  }
  for (auto& fn : running_)
    fn();
  running_.clear();
}

void event_loop::run_turn_end() {
  // Tasks may schedule further tasks (a flush that completes a response which starts another):
  // loop until quiet.
  while (!turn_end_.empty()) {
    turn_end_running_.swap(turn_end_);
    for (turn_end_task* t : turn_end_running_) {
      t->turn_end_scheduled = false;
      t->on_turn_end();
    }
    turn_end_running_.clear();
  }
  if (finalizer_) finalizer_();
}

void event_loop::run() {
  struct running_scope {
    const event_loop* previous;
    explicit running_scope(const event_loop* l) : previous(tl_running) { tl_running = l; }
    ~running_scope() { tl_running = previous; }
    running_scope(const running_scope&) = delete;
    running_scope& operator=(const running_scope&) = delete;
  } running(this);
  wake_handler wake(wakefd_.get());
  add(wakefd_.get(), EPOLLIN, &wake);
  constexpr int max_events = 256;
  epoll_event events[max_events];
  while (!stop_.load(std::memory_order_relaxed)) {
    int timeout = timers_.next_timeout_ms(now_ms_);
    if (!turn_end_.empty()) timeout = 0;
    int n = ::epoll_wait(epfd_.get(), events, max_events, timeout);
    if (n < 0 && errno != EINTR)
      throw std::system_error(errno, std::generic_category(), "epoll_wait");
    update_now();
    for (int i = 0; i < n; ++i) {
      static_cast<event_handler*>(events[i].data.ptr)->on_events(events[i].events);
    }
    drain_posted();
    timers_.advance(now_ms_);
    run_turn_end();
  }
  drain_posted();
  run_turn_end();
  remove(wakefd_.get());
}

}  // namespace portico::io
