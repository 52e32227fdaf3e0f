#include <iostream>
#include <string_view>

#include "commands.h"
#include "core/mutator.h"

namespace sigv4::cli {
namespace {

constexpr const char* kUsage =
    R"(sigv4-injector: injects the AWS SigV4 signing proxy into Kubernetes pods

Usage: sigv4-injector <command> [flags]

Commands:
  serve     run the mutating admission webhook (HTTPS)
  inject    inject into the pods of Kubernetes manifests (dry run, offline)
  patch     print the JSONPatch (or AdmissionReview response) the webhook would send
  certs     generate a CA and a serving certificate for the webhook
  version   print the version

Run 'sigv4-injector <command> --help' for a command's flags.
)";

}  // namespace

int run_version(const std::vector<std::string>& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << "Usage: sigv4-injector version\n\nPrints the injector's version.\n";
    return kExitOk;
  }
  if (!args.empty()) {
    std::cerr << "sigv4-injector version: takes no arguments\n";
    return kExitUsage;
  }
  std::cout << "sigv4-injector " << injector_version() << "\n";
  return kExitOk;
}

int run(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kUsage;
    return kExitUsage;
  }
  std::string_view command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return kExitOk;
  }
  if (command == "--version") {
    return run_version({});
  }
  if (command == "serve") {
    tune_malloc(argv);
  }
  struct Entry {
    std::string_view name;
    int (*run)(const std::vector<std::string>&);
  };
  constexpr Entry kCommands[] = {{"serve", run_serve},
                                 {"inject", run_inject},
                                 {"patch", run_patch},
                                 {"certs", run_certs},
                                 {"version", run_version}};
  for (const auto& entry : kCommands) {
    if (entry.name == command) {
      return entry.run(args);
    }
  }
  std::cerr << "sigv4-injector: unknown command \"" << command << "\"\n\n" << kUsage;
  return kExitUsage;
}

}  // namespace sigv4::cli
