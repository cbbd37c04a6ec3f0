#include "server/observer.hpp"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "core/log.hpp"
#include "tools/kernel_counters.hpp"
#include "tools/proc_net.hpp"
#include "tools/socket_table.hpp"

namespace portico::engine {

metrics::kernel_figures read_kernel_figures(std::span<const std::uint16_t> ports) {
  metrics::kernel_figures k;
  try {
    tools::socket_table t = tools::read_socket_table(false);
    if (t.error) {
      k.tcp_error = "cannot read the TCP socket table: " + t.error.message();
      if (!t.fallback_reason.empty()) k.tcp_error += " (" + t.fallback_reason + ")";
    } else {
      k.tcp_valid = true;
      k.tcp_source = tools::source_name(t.source);
      for (const auto& s : t.sockets) {
        if (std::find(ports.begin(), ports.end(), s.local_port) == ports.end()) continue;
        int i = tools::report_index(s.state);
        if (i >= 0) ++k.tcp_states[static_cast<std::size_t>(i)];
      }
    }
    std::string text;
    if (!tools::proc_net::read_file("/proc/net/netstat", text)) {
      auto counters = tools::parse_counter_pairs(text);
      if (auto it = counters.find("TcpExt.ListenOverflows"); it != counters.end())
        k.netns_listen_overflows = it->second;
      if (auto it = counters.find("TcpExt.ListenDrops"); it != counters.end())
        k.netns_listen_drops = it->second;
    }
  } catch (const std::exception& e) {  // allocation failure: report what we have
    k.tcp_valid = false;
    k.tcp_error = e.what();
  }
  return k;
}

observer::observer(inputs in, std::function<void(const sample_ptr&)> published)
    : in_(std::move(in)), published_(std::move(published)) {}

observer::~observer() {
  stop();
}

void observer::start() {
  if (thread_.joinable()) return;
  take_sample();
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void observer::stop() noexcept {
  {
    std::lock_guard<std::mutex> g(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void observer::run() {
  pthread_setname_np(pthread_self(), "portico-status");
  // Low priority (nice 10, this thread only): under load the workers come first; the page
  // still updates because the thread is not starved outright (SCHED_IDLE would be).
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
  using clock = std::chrono::steady_clock;
  const auto interval = std::chrono::milliseconds(in_.interval_ms);
  auto next = clock::now();
  std::unique_lock<std::mutex> lk(mu_);
  while (!stop_) {
    next += interval;
    if (cv_.wait_until(lk, next, [this] { return stop_; })) break;
    lk.unlock();
    take_sample();
    if (published_) published_(previous_);
    lk.lock();
    // Fell behind (a slow dump, a suspended process): carry on from now instead of bursting.
    auto now = clock::now();
    if (now > next + interval) next = now;
  }
}

void observer::take_sample() {
  auto s = std::make_shared<sample>();
  s->seq = ++seq_;
  metrics::status_figures& f = s->figures;
  f.start_time = in_.start_time;
  f.kernel = read_kernel_figures(in_.ports);
  if (!f.kernel.tcp_valid && !logged_tcp_error_) {
    LOG_WARN("status: %s; TCP states will be missing", f.kernel.tcp_error.c_str());
    logged_tcp_error_ = true;
  }
  // The counters and the time stamps together, after the slow part, so that rates divide the
  // right counts by the right interval.
  f.unix_time =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  f.monotonic =
      std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  if (in_.gather) in_.gather(f);
  s->json =
      metrics::render_status_json(f, previous_ ? &previous_->figures : nullptr, in_.addresses);
  s->event.reserve(s->json.size() + 32);
  s->event = "id: " + std::to_string(s->seq) + "\ndata: ";
  s->event += s->json;
  s->event += "\n\n";
  previous_ = s;
  latest_.store(previous_, std::memory_order_release);
}

}  // namespace portico::engine
