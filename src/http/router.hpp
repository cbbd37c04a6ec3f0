// Routes by method and path. Built before the server starts, then read-only and shared by all
// workers without locks.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/exchange.hpp"
#include "portico/http.hpp"

namespace portico::http {

class router {
 public:
  /// Adds a route. `pattern` starts with '/'; a segment ":name" matches one non-empty segment
  /// (available as param("name")); a last segment "*" matches the rest of the path, possibly
  /// empty (param("*")). Throws std::invalid_argument for a malformed pattern or too many
  /// parameters (exchange::max_params).
  /// `stream_body`: the handler is called at the end of the request head and takes the body
  /// through request::on_body() (HTTP/2; HTTP/1.1 hands the whole body over at once).
  void add(std::string_view method, std::string_view pattern, portico::handler h,
           bool stream_body = false);

  struct match_result {
    const portico::handler* handler = nullptr;  ///< null: no route for this method
    bool path_matched = false;                  ///< some route matched the path (→ 405)
    std::string allow;                          ///< methods of the routes matching the path
    bool stream_body = false;                   ///< the route takes its body as it arrives
  };

  /// Finds the first route for `method` (HEAD falls back to GET) matching `path`, storing its
  /// parameters into `x`. When none matches the method, `allow` lists the methods that match
  /// the path (for 405).
  match_result match(std::string_view method, std::string_view path, detail::exchange& x) const;

  bool empty() const noexcept { return routes_.empty(); }

 private:
  struct segment {
    enum kind_t { literal, param, rest } kind;
    std::string text;  // literal text or parameter name
  };
  struct route {
    std::string method;
    std::vector<segment> segments;
    portico::handler h;
    bool stream_body = false;
  };
  static bool match_route(const route& r, std::string_view path, detail::exchange& x);
  std::vector<route> routes_;
};

}  // namespace portico::http
