// `portico portcheck` and `portico tcpstat`: argument parsing and output of the operator tools
// (the work is in src/tools).
#pragma once

namespace portico::cli {

/// The --help text of portcheck / tcpstat.
extern const char* const portcheck_usage;
extern const char* const tcpstat_usage;

/// Runs `portico portcheck` with the arguments after the command name. Returns the exit
/// status: 0 every port free, 1 some port taken, 2 error (usage, or a bind error other than
/// "in use"). Prints to stdout; usage errors to stderr.
int run_portcheck(int argc, char** argv);

/// Runs `portico tcpstat` with the arguments after the command name. Returns 0, or 2 on a
/// usage error or when no socket table can be read.
int run_tcpstat(int argc, char** argv);

}  // namespace portico::cli
