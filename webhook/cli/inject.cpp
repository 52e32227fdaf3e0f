// The offline doors onto the mutator: `inject` (manifests in, manifests out) and `patch`
// (a Pod or an AdmissionReview in, the JSONPatch or the review response out).
#include <iostream>
#include <optional>

#include "args.h"
#include "codec/errors.h"
#include "codec/manifests.h"
#include "commands.h"
#include "core/inject.h"
#include "core/mutator.h"
#include "core/pod.h"
#include "core/pod_text.h"
#include "server/metrics.h"

namespace sigv4::cli {
namespace {

constexpr const char* kInjectUsage = R"(Usage: sigv4-injector inject -f FILE|- [flags]

Injects the iptables init container and the SigV4 proxy sidecar into every Pod (v1) and pod
template of Deployment, StatefulSet, DaemonSet, ReplicaSet (apps/v1), ReplicationController (v1),
Job and CronJob (batch/v1) of a manifest, read as kubectl reads it: YAML documents separated by
---, JSON objects one after another (with or without --- lines between them), kind: List and
typed lists (PodList, DeploymentList, ...). Everything else passes through unchanged, other
groups and versions of those kinds included. Decisions go to standard error, one line per
object; the result to standard output. Same rules as the webhook's /mutate; a workload whose own
metadata says sigv4-injector.io/inject: disabled is skipped too. A pod template without
containers, or with fields of the wrong type, is an error.

Flags:
  -f, --filename FILE     manifest to read, - for standard input (required)
      --config FILE       injector config file (YAML), as given to 'serve'
  -o, --output yaml|json  output format (default: the input's). yaml: the documents separated
                          by ---. json: one document as it is; several documents as one
                          {"apiVersion": "v1", "kind": "List", "items": [...]}
      --sidecar-mode M    legacy|native (overrides the config)
      --region R          AWS region to sign for (overrides the config)
  -n, --namespace NS      namespace of objects without metadata.namespace, as kubectl's (picks
                          the config's per-namespace resources)
      --max-input-bytes N refuse a manifest or config larger than N bytes (default 16777216,
                          16 MiB); reading stops there
  -h, --help              this help

Exit status: 0 done, 1 bad input (file, document index and field named) or input over
--max-input-bytes, 2 bad usage.
)";

constexpr const char* kPatchUsage = R"(Usage: sigv4-injector patch -f FILE|- [flags]

For an AdmissionReview, prints the AdmissionReview response the webhook would send. For a Pod,
prints the RFC 6902 JSONPatch array ([] when nothing would change).

Flags:
  -f, --filename FILE     Pod or AdmissionReview (JSON or YAML), - for standard input (required)
      --config FILE       injector config file (YAML), as given to 'serve'
      --path P            /mutate (default), /mutate/annotated, or their Pod Security twins
                          /mutate/pod-security, /mutate/annotated/pod-security
      --sidecar-mode M    legacy|native (overrides the config)
      --region R          AWS region to sign for (overrides the config)
  -n, --namespace NS      namespace of a Pod without metadata.namespace
      --max-input-bytes N refuse an input or config larger than N bytes (default 16777216,
                          16 MiB); reading stops there
  -h, --help              this help

Exit status: 0 done, 1 bad input, input over --max-input-bytes or a denied Pod, 2 bad usage.
)";

const std::map<std::string, std::string> kAliases = {
    {"-f", "--filename"}, {"-o", "--output"}, {"-h", "--help"}, {"-n", "--namespace"}};

// Built-in defaults < --config file < flags.
Config config_from(const Args& args) {
  Config config = default_config();
  if (auto file = args.get("config")) {
    try {
      config = load_config(read_input(*file, max_input_bytes(args)));
    } catch (const InputError& e) {
      throw InputError(*file + ": " + e.where(), e.detail());
    }
  }
  if (auto region = args.get("region")) {
    config.region = *region;
  }
  if (auto mode = args.get("sidecar-mode")) {
    auto parsed = parse_sidecar_mode(*mode);
    if (!parsed) {
      throw UsageError("--sidecar-mode: expected legacy|native, got \"" + *mode + "\"");
    }
    config.sidecar_mode = *parsed;
  }
  try {
    validate_config(config);
  } catch (const InputError& e) {
    throw UsageError(std::string("invalid setting ") + e.what());
  }
  return config;
}

// Runs `body` with the door's error mapping: usage -> 2, bad input -> 1.
template <typename Body>
int guarded(const char* command, const char* usage, Body body) {
  try {
    return body();
  } catch (const UsageError& e) {
    std::cerr << "sigv4-injector " << command << ": " << e.what() << "\n\n" << usage;
    return kExitUsage;
  } catch (const std::exception& e) {
    // The message may carry text from the input: bounded like every text from pod data.
    std::cerr << "sigv4-injector " << command << ": " << bound_message(e.what()) << "\n";
    return kExitBadInput;
  }
}

}  // namespace

int run_inject(const std::vector<std::string>& raw) {
  return guarded("inject", kInjectUsage, [&] {
    Args args(
        raw,
        {"filename", "config", "output", "sidecar-mode", "region", "namespace", "max-input-bytes"},
        {"help"}, kAliases);
    if (args.has("help")) {
      std::cout << kInjectUsage;
      return kExitOk;
    }
    auto file = args.get("filename");
    if (!file) {
      throw UsageError("-f FILE is required");
    }
    auto output = args.get("output");
    if (output && *output != "yaml" && *output != "json") {
      throw UsageError("-o: expected yaml|json, got \"" + *output + "\"");
    }
    Config config = config_from(args);
    std::string source = *file == "-" ? "<stdin>" : *file;
    std::string text = read_input(*file, max_input_bytes(args));
    std::vector<Json> docs = read_documents(text, source);
    const std::string ns = args.get("namespace").value_or("");
    for (const auto& report : inject_documents(docs, config, source, ns)) {
      const Decision& d = report.mutation.decision;
      if (!report.passed_through.empty()) {
        std::cerr << report.where << ": passed through (" << report.passed_through << ")\n";
        continue;
      }
      std::cerr << report.where << ": "
                << (d.inject ? "injected" : "skipped (" + d.reasons_string() + ")") << "\n";
      if (report.workload_opted_out) {
        std::cerr << "  note: opted out on the workload itself; the webhook sees only its pod "
                     "template, so set sigv4-injector.io/inject there too\n";
      }
      for (const auto& warning : report.mutation.warnings) {
        std::cerr << "  warning: " << warning << "\n";
      }
    }
    Format format =
        output ? (*output == "json" ? Format::kJson : Format::kYaml) : detect_format(text);
    std::cout << write_documents(docs, format);
    return kExitOk;
  });
}

int run_patch(const std::vector<std::string>& raw) {
  return guarded("patch", kPatchUsage, [&] {
    Args args(
        raw,
        {"filename", "config", "path", "sidecar-mode", "region", "namespace", "max-input-bytes"},
        {"help"}, kAliases);
    if (args.has("help")) {
      std::cout << kPatchUsage;
      return kExitOk;
    }
    auto file = args.get("filename");
    if (!file) {
      throw UsageError("-f FILE is required");
    }
    const std::string path = args.get("path").value_or("/mutate");
    const std::optional<Route> named = server::route_named(path);
    if (!named) {
      throw UsageError(
          "--path: expected /mutate, /mutate/annotated, /mutate/pod-security or "
          "/mutate/annotated/pod-security, got \"" +
          path + "\"");
    }
    const Route route = *named;
    Config config = config_from(args);
    std::string source = *file == "-" ? "<stdin>" : *file;
    std::vector<Json> docs = read_documents(read_input(*file, max_input_bytes(args)), source);
    if (docs.size() != 1) {
      throw InputError(source, "expected one document, found " + std::to_string(docs.size()));
    }
    std::string_view kind = string_field(docs[0], "kind");
    if (kind == "AdmissionReview") {
      ReviewResult result;
      const JsonDoc doc = JsonDoc::from_json(docs[0]);
      try {
        result = review(doc.root(), config, route);
      } catch (const InputError& e) {
        throw InputError(source + ": document 0: " + e.where(), e.detail());
      }
      std::cout << Json::parse(result.response).dump(2) << "\n";
      return kExitOk;
    }
    if (kind != "Pod") {
      throw InputError(source + ": document 0: kind",
                       "expected Pod or AdmissionReview, got \"" + std::string(kind) + "\"");
    }
    PodRequest request;
    const std::string ns = args.get("namespace").value_or("");
    request.namespace_name = string_field(field(docs[0], "metadata"), "namespace");
    if (request.namespace_name.empty()) {
      request.namespace_name = ns;
    }
    const JsonDoc pod = JsonDoc::from_json(docs[0]);
    request.pod = &pod.root();
    Mutation m = mutate_pod(request, config, route);
    if (m.denial) {
      throw InputError(source + ": document 0: metadata.annotations", *m.denial);
    }
    for (const auto& warning : m.warnings) {
      std::cerr << "warning: " << warning << "\n";
    }
    std::cout << patch_operations(m).dump(2) << "\n";
    return kExitOk;
  });
}

}  // namespace sigv4::cli
