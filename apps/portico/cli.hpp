// `portico serve` command-line options.
#pragma once

#include <string>

#include "portico/portico.hpp"

namespace portico::cli {

/// The --help text of the program.
extern const char* const usage_text;

struct serve_config {
  server_options options;
  static_options files;
  std::string dir;           ///< empty: the bundled demo site
  std::string metrics_path;  ///< empty: no metrics endpoint
  std::string status_path;   ///< empty: no status page
  std::string ws_echo_path;  ///< empty: no WebSocket echo endpoint
  std::string ws_chat_path;  ///< empty: no WebSocket chat endpoint
  websocket_options ws;      ///< options of those endpoints
  bool grpc_health = false;  ///< serve grpc.health.v1.Health (--grpc-health)
  bool help = false;
};

/// Parses the arguments after "serve". Prints a message and exits with status 2 on a usage
/// error.
serve_config parse_serve_args(int argc, char** argv);

/// Registers the WebSocket endpoints asked for (--ws-echo: each message back as it came;
/// --ws-chat: each text message to every client of the endpoint, across workers).
void add_websocket_endpoints(server& srv, const serve_config& cfg);

/// Mounts the gRPC services asked for (--grpc-health: grpc.health.v1.Health, "" SERVING until
/// the drain). Before srv.start(), after the server's other POST routes.
void add_grpc_services(server& srv, const serve_config& cfg);

/// Prints "portico: MSG" and a hint to stderr and exits with status 2.
[[noreturn]] void usage_error(const std::string& msg);

}  // namespace portico::cli
