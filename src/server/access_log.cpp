#include "server/access_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <system_error>

namespace portico::engine {

access_log::access_log(const std::string& target) {
  if (target == "-" || target.empty()) return;
  owned_.reset(::open(target.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!owned_) throw std::system_error(errno, std::generic_category(), "access log " + target);
  fd_ = owned_.get();
}

namespace {
// Quotes a request-controlled string for the log: no raw quotes, backslashes or controls.
void append_escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\' || u < 0x20 || u >= 0x7f) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02X", u);
      out += buf;
    } else {
      out += c;
    }
  }
}
}  // namespace

void access_log::write(const detail::exchange& x, std::uint64_t body_bytes,
                       std::time_t now) noexcept {
  try {
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::tm tm{};
    gmtime_r(&now, &tm);
    char when[40];
    std::snprintf(when, sizeof when, "[%02d/%s/%04d:%02d:%02d:%02d +0000]", tm.tm_mday,
                  months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    std::string line;
    line.reserve(256);
    line += x.remote_ip.empty() ? std::string_view("-") : x.remote_ip;
    line += " - - ";
    line += when;
    line += " \"";
    if (x.method.empty()) {
      line += '-';
    } else {
      append_escaped(line, x.method);
      line += ' ';
      append_escaped(line, x.target);
      line += x.version == 10 ? " HTTP/1.0" : x.version == 20 ? " HTTP/2.0" : " HTTP/1.1";
    }
    line += "\" ";
    line += std::to_string(x.status);
    line += ' ';
    line += body_bytes ? std::to_string(body_bytes) : std::string("-");
    std::string_view referer, agent;
    for (const auto& h : x.headers) {
      if (portico::iequals(h.name, "referer")) referer = h.value;
      if (portico::iequals(h.name, "user-agent")) agent = h.value;
    }
    line += " \"";
    if (referer.empty()) line += '-'; else append_escaped(line, referer);
    line += "\" \"";
    if (agent.empty()) line += '-'; else append_escaped(line, agent);
    line += "\"\n";
    ssize_t r = ::write(fd_, line.data(), line.size());
    (void)r;
  } catch (...) {
  }
}

}  // namespace portico::engine
