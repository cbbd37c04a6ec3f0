// RFC 9218 priorities: the Priority field parser and the stream picker.
#include "http2/scheduler.hpp"

namespace portico::http2 {
namespace {

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

priority parse_priority(std::string_view v, priority p) noexcept {
  // RFC 8941 §3.2: dictionary members separated by ",", each key[=value][;params]. Parameters
  // are ignored (RFC 9218 §4 defines none).
  while (!v.empty()) {
    const std::size_t comma = v.find(',');
    std::string_view member = trim(v.substr(0, comma));
    v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
    if (const std::size_t semi = member.find(';'); semi != std::string_view::npos)
      member = member.substr(0, semi);
    const std::size_t eq = member.find('=');
    const std::string_view key = member.substr(0, eq);
    const std::string_view val = eq == std::string_view::npos ? "?1" : member.substr(eq + 1);
    if (key.empty()) return p;
    if (key == "u") {
      // RFC 9218 §4.1: an Integer 0..7; anything else is ignored.
      if (val.size() == 1 && val[0] >= '0' && val[0] <= '7')
        p.urgency = static_cast<std::uint8_t>(val[0] - '0');
    } else if (key == "i") {
      // RFC 9218 §4.2: a Boolean (?0 / ?1).
      if (val == "?1") p.incremental = true;
      if (val == "?0") p.incremental = false;
    }
  }
  return p;
}

std::uint32_t send_scheduler::pick(std::span<const send_candidate> c) noexcept {
  // One pass: the most urgent level seen so far, and at that level the lowest non-incremental
  // id, the lowest incremental id and the lowest incremental id after the last one served.
  std::uint8_t best = 8;
  std::uint32_t plain = 0, lowest = 0, after = 0;
  for (const auto& s : c) {
    const std::uint8_t u = s.prio.urgency < 7 ? s.prio.urgency : 7;
    if (u > best) continue;
    if (u < best) {
      best = u;
      plain = lowest = after = 0;
    }
    const std::uint32_t id = s.stream_id;
    if (!s.prio.incremental) {
      if (plain == 0 || id < plain) plain = id;
    } else {
      if (lowest == 0 || id < lowest) lowest = id;
      if (id > last_served_[best] && (after == 0 || id < after)) after = id;
    }
  }
  if (best > 7) return 0;  // no candidates
  // Non-incremental first, lowest id; else round-robin among the incremental ones.
  if (plain != 0) return plain;
  const std::uint32_t chosen = after ? after : lowest;
  last_served_[best] = chosen;
  return chosen;
}

}  // namespace portico::http2
