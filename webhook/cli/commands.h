#pragma once

#include <string>
#include <vector>

namespace sigv4::cli {

// Exit codes of every subcommand (SPEC §7).
inline constexpr int kExitOk = 0;
inline constexpr int kExitBadInput = 1;
inline constexpr int kExitUsage = 2;

// Each subcommand takes the arguments after its name and returns the process exit code.
int run_inject(const std::vector<std::string>& args);
int run_patch(const std::vector<std::string>& args);
int run_serve(const std::vector<std::string>& args);
int run_certs(const std::vector<std::string>& args);
int run_version(const std::vector<std::string>& args);

// For `serve` on glibc: re-executes the program once with a larger per-thread malloc cache in
// GLIBC_TUNABLES (read only at exec), unless the variable is set already. Returns when it did not.
void tune_malloc(char** argv);

// argv -> subcommand.
int run(int argc, char** argv);

}  // namespace sigv4::cli
