#include "io/timer_wheel.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace portico::io {
namespace {

struct probe {
  timer_node node;
  int fired = 0;
  probe() {
    node.owner = this;
    node.fire = [](timer_node* n) { ++static_cast<probe*>(n->owner)->fired; };
  }
};

TEST(TimerWheel, FiresAtTheDeadlineNeverBefore) {
  timer_wheel w(0, 10, 64);
  probe p;
  w.arm(p.node, 95);
  w.advance(90);
  EXPECT_EQ(p.fired, 0);
  w.advance(99);
  EXPECT_EQ(p.fired, 0);
  w.advance(100);
  EXPECT_EQ(p.fired, 1);
  EXPECT_FALSE(p.node.armed());
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheel, CancelPreventsFiring) {
  timer_wheel w(0, 10, 64);
  probe p;
  w.arm(p.node, 50);
  w.cancel(p.node);
  w.advance(1000);
  EXPECT_EQ(p.fired, 0);
}

TEST(TimerWheel, DeadlinesBeyondOneRevolutionWaitTheirTurn) {
  timer_wheel w(0, 10, 8);  // one revolution = 80 ms
  probe near, far;
  w.arm(near.node, 30);
  w.arm(far.node, 250);
  for (std::uint64_t t = 0; t <= 240; t += 10) w.advance(t);
  EXPECT_EQ(near.fired, 1);
  EXPECT_EQ(far.fired, 0);
  w.advance(250);
  EXPECT_EQ(far.fired, 1);
}

TEST(TimerWheel, LongStallFiresEverythingDue) {
  timer_wheel w(0, 10, 8);
  std::vector<probe> ps(20);
  for (std::size_t i = 0; i < ps.size(); ++i) w.arm(ps[i].node, 10 * (i + 1));
  EXPECT_EQ(w.advance(10000), 20u);
  for (auto& p : ps) EXPECT_EQ(p.fired, 1);
}

TEST(TimerWheel, RearmFromCallbackWorks) {
  timer_wheel w(0, 10, 64);
  struct rearm {
    timer_node node;
    timer_wheel* w;
    int fired = 0;
  } r;
  r.w = &w;
  r.node.owner = &r;
  r.node.fire = [](timer_node* n) {
    auto* self = static_cast<rearm*>(n->owner);
    if (++self->fired < 3) self->w->arm(self->node, n->deadline_ms + 20);
  };
  w.arm(r.node, 20);
  for (std::uint64_t t = 0; t <= 200; t += 10) w.advance(t);
  EXPECT_EQ(r.fired, 3);
}

TEST(TimerWheel, NextTimeoutIsAnUpperBound) {
  timer_wheel w(0, 10, 64);
  EXPECT_EQ(w.next_timeout_ms(0), -1);
  probe p;
  w.arm(p.node, 55);
  int t = w.next_timeout_ms(0);
  EXPECT_GE(t, 55);
  EXPECT_LE(t, 60);
  w.cancel(p.node);
}

}  // namespace
}  // namespace portico::io
