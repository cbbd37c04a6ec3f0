// Minimal logging: one write(2) per line to stderr, so lines from different threads never mix
// and no lock is taken.
#pragma once

#include <cstdarg>

namespace portico::log {

enum class level { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

/// Sets the lowest level that is printed (default info). Call before starting threads.
void set_level(level l) noexcept;
level get_level() noexcept;

/// printf-style; the line is prefixed with a timestamp and the level and ends with a newline.
void write(level l, const char* fmt, ...) noexcept __attribute__((format(printf, 2, 3)));

#define PORTICO_LOG(lvl, ...)                                                   \
  do {                                                                          \
    if (static_cast<int>(lvl) >= static_cast<int>(::portico::log::get_level())) \
      ::portico::log::write(lvl, __VA_ARGS__);                                  \
  } while (0)
#define LOG_DEBUG(...) PORTICO_LOG(::portico::log::level::debug, __VA_ARGS__)
#define LOG_INFO(...) PORTICO_LOG(::portico::log::level::info, __VA_ARGS__)
#define LOG_WARN(...) PORTICO_LOG(::portico::log::level::warn, __VA_ARGS__)
#define LOG_ERROR(...) PORTICO_LOG(::portico::log::level::error, __VA_ARGS__)

}  // namespace portico::log
