// Command-line front ends of the operator tools.
#include "tools_cmd.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "tools/portcheck.hpp"
#include "tools/tcpstat.hpp"

namespace portico::cli {

const char* const portcheck_usage = R"(Usage: portico portcheck [HOST:]PORT... [--json]

Tells whether a server could bind and listen on each PORT, and if not, who holds it.
For each address it binds a TCP socket with SO_REUSEADDR (as servers do), listens, and closes
it without accepting; when that works it tries again without SO_REUSEADDR to see whether
TIME-WAIT sockets would stop a server that does not set it.

  PORT              check 0.0.0.0:PORT (IPv4) and [::]:PORT (IPv6, IPV6_V6ONLY)
  HOST:PORT         check one address: 127.0.0.1:8080, [::1]:8080, localhost:8080
  --json            one JSON object (schema portico.portcheck/1, see docs/tools.md)
  -h, --help        this text

When a port is taken it names the holding process (pid and program, from the socket inode and
/proc/PID/fd; other users' processes need root), its TCP state, and whether a restart would
meet TIME-WAIT.
Exit status: 0 every port free, 1 some port taken, 2 error (bad arguments, permission, ...).
)";

const char* const tcpstat_usage =
    R"(Usage: portico tcpstat [--port P] [--watch SECONDS] [--count N] [--json] [--proc]

TCP sockets of this network namespace per state and local port, listener queues, kernel
counters, and findings in plain language (SYN floods, full accept queues, CLOSE-WAIT and
TIME-WAIT pile-ups, resets) with the reason and what to do.

  --port P          only sockets whose local port is P
  --watch SECONDS   print a sample every SECONDS (fractions allowed), counters as changes
                    since the previous sample; runs until Ctrl-C or --count
  --count N         stop after N samples (with no --watch: every 1 s)
  --json            one JSON object per sample, one per line (schema portico.tcpstat/1)
  --proc            read /proc/net/tcp{,6} instead of netlink sock_diag (the automatic
                    fallback when netlink is not permitted; it cannot show listen backlogs)
  -h, --help        this text

Exit status: 0, or 2 on a usage error or when no socket table can be read.
)";

namespace {

int usage(const char* cmd, const std::string& msg) {
  std::fprintf(stderr, "portico %s: %s\nTry 'portico %s --help'.\n", cmd, msg.c_str(), cmd);
  return 2;
}

void sleep_seconds(double s) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(s);
  ts.tv_nsec = static_cast<long>((s - std::floor(s)) * 1e9);
  while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

}  // namespace

int run_portcheck(int argc, char** argv) {
  bool json = false;
  std::vector<tools::check_target> targets;
  for (int i = 0; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--json") {
      json = true;
    } else if (a == "-h" || a == "--help") {
      std::fputs(portcheck_usage, stdout);
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      return usage("portcheck", "unknown option: " + std::string(a));
    } else {
      std::string err;
      auto t = tools::parse_check_target(a, err);
      if (!t) return usage("portcheck", err);
      targets.insert(targets.end(), t->begin(), t->end());
    }
  }
  if (targets.empty()) return usage("portcheck", "no PORT given");
  auto rep = tools::run_portcheck(targets);
  std::string out = json ? tools::render_json(rep) + "\n" : tools::render_text(rep);
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);
  return tools::portcheck_exit_code(rep);
}

int run_tcpstat(int argc, char** argv) {
  tools::tcpstat_options opts;
  bool json = false;
  long count = 0;  // 0: unlimited in watch mode
  for (int i = 0; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "--json") {
      json = true;
    } else if (a == "--proc") {
      opts.force_proc = true;
    } else if (a == "--port") {
      const char* v = value();
      char* end = nullptr;
      long p = v ? std::strtol(v, &end, 10) : 0;
      if (!v || *end || p < 1 || p > 65535) return usage("tcpstat", "--port wants 1-65535");
      opts.port = static_cast<std::uint16_t>(p);
    } else if (a == "--watch") {
      const char* v = value();
      char* end = nullptr;
      double s = v ? std::strtod(v, &end) : 0;
      if (!v || *end || !(s >= 0.1) || s > 86400)
        return usage("tcpstat", "--watch wants seconds between 0.1 and 86400");
      opts.interval_s = s;
    } else if (a == "--count") {
      const char* v = value();
      char* end = nullptr;
      long n = v ? std::strtol(v, &end, 10) : 0;
      if (!v || *end || n < 1 || n > 100000000) return usage("tcpstat", "--count wants N >= 1");
      count = n;
    } else if (a == "-h" || a == "--help") {
      std::fputs(tcpstat_usage, stdout);
      return 0;
    } else {
      return usage("tcpstat", "unknown argument: " + std::string(a));
    }
  }
  if (count > 0 && opts.interval_s == 0) opts.interval_s = 1;
  bool watch = opts.interval_s > 0;
  if (!watch) count = 1;

  tools::tcpstat_sampler sampler(opts);
  for (long n = 0; count == 0 || n < count; ++n) {
    if (n > 0) sleep_seconds(opts.interval_s);
    auto r = sampler.next();
    if (r.source == "proc" && r.ports.empty() && !r.fallback_reason.empty() &&
        r.fallback_reason.find("/proc/net/tcp:") != std::string::npos) {
      std::fprintf(stderr, "portico tcpstat: cannot read TCP sockets: %s\n",
                   r.fallback_reason.c_str());
      return 2;
    }
    if (n > 0 && !json) std::fputs("\n", stdout);
    std::string out = json ? tools::render_json(r) + "\n" : tools::render_text(r);
    std::fputs(out.c_str(), stdout);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace portico::cli
