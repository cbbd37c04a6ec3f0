#include "core/log.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>

namespace portico::log {
namespace {
std::atomic<level> g_level{level::info};
const char* name(level l) {
  switch (l) {
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warn: return "warn";
    case level::error: return "error";
    default: return "";
  }
}
}  // namespace

void set_level(level l) noexcept { g_level.store(l, std::memory_order_relaxed); }
level get_level() noexcept { return g_level.load(std::memory_order_relaxed); }

void write(level l, const char* fmt, ...) noexcept {
  char line[1024];
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  int n = std::snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ [%s] ",
                        t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                        ts.tv_nsec / 1000000, name(l));
  if (n < 0) return;
  va_list ap;
  va_start(ap, fmt);
  int m = std::vsnprintf(line + n, sizeof line - static_cast<size_t>(n) - 1, fmt, ap);
  va_end(ap);
  if (m < 0) return;
  size_t len = static_cast<size_t>(n) + static_cast<size_t>(m);
  if (len > sizeof line - 2) len = sizeof line - 2;
  line[len++] = '\n';
  ssize_t r = ::write(2, line, len);
  (void)r;
}

}  // namespace portico::log
