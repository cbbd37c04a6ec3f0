#include "io/event_loop.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace portico::io {
namespace {

TEST(EventLoop, PostFromAnotherThreadWakesTheLoop) {
  event_loop loop;
  std::atomic<int> ran{0};
  std::thread t([&] {
    loop.post([&] {
      ++ran;
      loop.stop();
    });
  });
  loop.run();
  t.join();
  EXPECT_EQ(ran.load(), 1);
}

TEST(EventLoop, LoopNowIsTheRunningLoopsClock) {
  const std::uint64_t before = monotonic_ms();
  EXPECT_GE(loop_now_ms(), before);  // no loop runs here: the clock itself
  event_loop loop;
  std::uint64_t seen = 0, loop_now = 1;
  loop.post([&] {
    seen = loop_now_ms();
    loop_now = loop.now_ms();
    loop.stop();
  });
  loop.run();
  EXPECT_EQ(seen, loop_now);
  EXPECT_GE(loop_now_ms(), loop_now);  // after run(): the clock again
}

TEST(EventLoop, TimersFireAndStopTheLoop) {
  event_loop loop;
  struct stopper {
    timer_node node;
    event_loop* loop;
    bool fired = false;
  } s;
  s.loop = &loop;
  s.node.owner = &s;
  s.node.fire = [](timer_node* n) {
    auto* self = static_cast<stopper*>(n->owner);
    self->fired = true;
    self->loop->stop();
  };
  loop.timers().arm(s.node, loop.now_ms() + 30);
  loop.run();
  EXPECT_TRUE(s.fired);
}

TEST(EventLoop, ReadinessIsDeliveredEdgeTriggered) {
  event_loop loop;
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_NONBLOCK), 0);
  struct reader final : event_handler {
    int fd;
    event_loop* loop;
    std::string got;
    void on_events(std::uint32_t) override {
      char buf[16];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof buf)) > 0)
        got.append(buf, static_cast<size_t>(n));
      if (got.size() >= 5) loop->stop();
    }
  } r;
  r.fd = fds[0];
  r.loop = &loop;
  ASSERT_TRUE(loop.add(fds[0], EPOLLIN, &r));
  ASSERT_EQ(::write(fds[1], "hello", 5), 5);
  loop.run();
  EXPECT_EQ(r.got, "hello");
  loop.remove(fds[0]);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(EventLoop, TurnEndTasksRunOnceEvenIfScheduledTwice) {
  event_loop loop;
  struct task final : turn_end_task {
    int runs = 0;
    void on_turn_end() override { ++runs; }
  } t;
  loop.post([&] {
    loop.at_turn_end(&t);
    loop.at_turn_end(&t);
    loop.stop();
  });
  loop.run();
  EXPECT_EQ(t.runs, 1);
}

}  // namespace
}  // namespace portico::io
