// portico: the command-line program.
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>

#include "cli.hpp"
#include "core/log.hpp"
#include "portico/portico.hpp"
#include "tools_cmd.hpp"

#ifndef PORTICO_DEMO_DIR
#define PORTICO_DEMO_DIR "demo"
#endif

namespace {

int serve(int argc, char** argv) {
  auto cfg = portico::cli::parse_serve_args(argc, argv);
  if (cfg.help) {
    std::fputs(portico::cli::usage_text, stdout);
    return 0;
  }
  if (cfg.dir.empty()) cfg.dir = PORTICO_DEMO_DIR;
  try {
    portico::server srv(cfg.options);
    if (!cfg.metrics_path.empty()) srv.metrics(cfg.metrics_path);
    if (!cfg.status_path.empty()) srv.status_page(cfg.status_path);
    portico::cli::add_websocket_endpoints(srv, cfg);
    portico::cli::add_grpc_services(srv, cfg);
    srv.static_files("/", cfg.dir, cfg.files);
    LOG_INFO("serving %s", cfg.dir.c_str());
    return srv.run();
  } catch (const std::invalid_argument& e) {
    portico::cli::usage_error(e.what());
  } catch (const portico::tls_config_error& e) {
    // A certificate or key that cannot be used is a configuration error like a bad flag.
    std::fprintf(stderr, "portico: TLS: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "portico: %s\n", e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string_view cmd = argc > 1 ? argv[1] : "serve";
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    std::fputs(portico::cli::usage_text, stdout);
    return 0;
  }
  if (cmd == "-V" || cmd == "--version" || cmd == "version") {
    std::printf("portico %s\n", std::string(portico::version_string).c_str());
    return 0;
  }
  if (cmd == "serve") return serve(argc > 1 ? argc - 2 : 0, argv + 2);
  if (cmd == "portcheck") return portico::cli::run_portcheck(argc - 2, argv + 2);
  if (cmd == "tcpstat") return portico::cli::run_tcpstat(argc - 2, argv + 2);
  if (!cmd.empty() && cmd[0] == '-') return serve(argc - 1, argv + 1);
  portico::cli::usage_error("unknown command: " + std::string(cmd));
}
