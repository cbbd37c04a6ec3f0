#include "http/router.hpp"

#include <stdexcept>

namespace portico::http {

void router::add(std::string_view method, std::string_view pattern, portico::handler h,
                 bool stream_body) {
  if (pattern.empty() || pattern.front() != '/')
    throw std::invalid_argument("route pattern must start with '/': " + std::string(pattern));
  if (method.empty()) throw std::invalid_argument("route method is empty");
  route r{std::string(method), {}, std::move(h), stream_body};
  std::size_t params = 0;
  std::string_view rest = pattern.substr(1);
  while (true) {
    auto slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    bool last = slash == std::string_view::npos;
    if (seg == "*") {
      if (!last)
        throw std::invalid_argument("'*' must be the last segment: " + std::string(pattern));
      r.segments.push_back({segment::rest, "*"});
      ++params;
    } else if (!seg.empty() && seg.front() == ':') {
      if (seg.size() == 1)
        throw std::invalid_argument("empty parameter name: " + std::string(pattern));
      r.segments.push_back({segment::param, std::string(seg.substr(1))});
      ++params;
    } else {
      r.segments.push_back({segment::literal, std::string(seg)});
    }
    if (last) break;
    rest = rest.substr(slash + 1);
  }
  if (params > detail::exchange::max_params)
    throw std::invalid_argument("too many parameters in route: " + std::string(pattern));
  routes_.push_back(std::move(r));
}

bool router::match_route(const route& r, std::string_view path, detail::exchange& x) {
  if (path.empty() || path.front() != '/') return false;
  std::string_view rest = path.substr(1);
  std::uint8_t n = 0;
  for (std::size_t i = 0; i < r.segments.size(); ++i) {
    const segment& s = r.segments[i];
    if (s.kind == segment::rest) {
      x.params[n++] = {s.text, rest};
      x.param_count = n;
      return true;
    }
    auto slash = rest.find('/');
    bool last_in_path = slash == std::string_view::npos;
    std::string_view seg = rest.substr(0, slash);
    if (s.kind == segment::literal) {
      if (!detail::short_equal(seg, s.text)) return false;
    } else {
      if (seg.empty()) return false;
      x.params[n++] = {s.text, seg};
    }
    bool last_in_route = i + 1 == r.segments.size();
    if (last_in_route != last_in_path) {
      // A route "/a/*" must still match "/a" (rest empty) — handled when the next segment is rest.
      if (last_in_path && i + 2 == r.segments.size() && r.segments[i + 1].kind == segment::rest) {
        x.params[n++] = {r.segments[i + 1].text, std::string_view{}};
        x.param_count = n;
        return true;
      }
      return false;
    }
    if (!last_in_path) rest = rest.substr(slash + 1);
  }
  x.param_count = n;
  return true;
}

router::match_result router::match(std::string_view method, std::string_view path,
                                   detail::exchange& x) const {
  match_result out;
  for (const auto& r : routes_) {
    if (!match_route(r, path, x)) continue;
    if (detail::short_equal(r.method, method) ||
        (detail::short_equal(method, "HEAD") && detail::short_equal(r.method, "GET"))) {
      out.handler = &r.h;
      out.path_matched = true;
      out.stream_body = r.stream_body;
      return out;
    }
    out.path_matched = true;
    if (out.allow.find(r.method) == std::string::npos) {
      if (!out.allow.empty()) out.allow += ", ";
      out.allow += r.method;
      if (r.method == "GET" && out.allow.find("HEAD") == std::string::npos) out.allow += ", HEAD";
    }
  }
  x.param_count = 0;
  return out;
}

}  // namespace portico::http
