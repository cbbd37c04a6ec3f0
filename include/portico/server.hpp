// A Portico server: routes, handlers, and the worker threads that run them.
//
//   portico::server srv({.listen = {"127.0.0.1:8080"}});
//   srv.get("/hello/:name", [](const portico::request& req, portico::response& res) {
//     res.header("content-type", "text/plain").send("Hello, " + std::string(req.param("name")));
//   });
//   return srv.run();  // until SIGINT or SIGTERM, then drains
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "portico/http.hpp"
#include "portico/options.hpp"

namespace portico {

/// Counters summed over all workers (each worker writes its own; reading takes no lock).
struct server_stats {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_refused = 0;   ///< over max_connections or fd exhaustion
  std::uint64_t connections_open = 0;
  std::uint64_t requests = 0;
  std::uint64_t responses_1xx = 0, responses_2xx = 0, responses_3xx = 0, responses_4xx = 0,
                responses_5xx = 0;
  std::uint64_t bytes_in = 0, bytes_out = 0;
  std::uint64_t resets_received = 0;       ///< ECONNRESET / EPIPE from peers
  std::uint64_t resets_sent = 0;           ///< abortive closes (RST) by the server
  std::uint64_t timeouts_header = 0, timeouts_body = 0, timeouts_idle = 0, timeouts_write = 0;
  std::uint64_t protocol_errors = 0;       ///< requests refused with 4xx/5xx by the parser
};

/// Options of the static-file handler.
struct static_options {
  std::string index = "index.html";  ///< served for a directory path
  bool show_hidden = false;          ///< serve names starting with '.' (default: 404)
  bool list_directories = false;     ///< a directory without index gets an HTML listing
  bool follow_symlinks = false;      ///< allow symbolic links that lead outside the root
  bool precompressed = true;         ///< serve FILE.br / FILE.gz when Accept-Encoding allows
  std::string mime_types_file = "/etc/mime.types";  ///< extra types (built-in table first)
};

class server {
 public:
  /// Validates the options (throws std::invalid_argument with the reason when one is bad).
  explicit server(server_options opts = {});
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Adds a route. `pattern` is a path with optional ":name" segments and an optional final
  /// "*" segment (the rest of the path). Routes are matched in the order added; a path that
  /// matches with another method gets 405 with Allow; no match gets 404. HEAD requests use GET
  /// routes (the body is not sent). Only before start().
  server& route(std::string_view method, std::string_view pattern, handler h);
  server& get(std::string_view pattern, handler h) { return route("GET", pattern, std::move(h)); }
  server& post(std::string_view pattern, handler h) { return route("POST", pattern, std::move(h)); }
  server& put(std::string_view pattern, handler h) { return route("PUT", pattern, std::move(h)); }
  server& del(std::string_view pattern, handler h) {
    return route("DELETE", pattern, std::move(h));
  }
  /// Serves the files under `root` for GET and HEAD below `prefix` ("/" for the whole site).
  server& static_files(std::string_view prefix, std::string root, static_options opts = {});

  /// Serves the server's counters (stats()) in the Prometheus text format at `path`.
  server& metrics(std::string_view path);

  /// Binds every listener in every worker and starts the worker threads. Throws
  /// std::system_error naming the address when a listener cannot be created.
  void start();
  /// Starts (if needed) and blocks until stop() or SIGINT/SIGTERM, then drains: stops
  /// accepting, lets requests in flight finish, closes idle connections, and cuts what is left
  /// after shutdown_timeout_ms. Returns 0 after a drain.
  int run();
  /// Asks run() to drain and return. Thread-safe; also safe from a handler.
  void stop() noexcept;

  /// The bound addresses ("127.0.0.1:8080"), useful with port 0. After start().
  std::vector<std::string> local_addresses() const;
  server_stats stats() const noexcept;
  const server_options& options() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace portico
