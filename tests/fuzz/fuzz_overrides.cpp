// libFuzzer target: the per-pod annotation overrides.
// The input is read as records separated by '\n': the first byte of each picks the key's prefix
// (ours, the compat one, or none) and whether the value is a string or a number; then key=value.
// Invariants: only OverrideError escapes apply_overrides; an accepted set validates as a config;
// injecting a pod carrying those annotations gives a patch that applies (never a throw).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "codec/errors.h"
#include "core/config.h"
#include "core/mutator.h"
#include "core/overrides.h"
#include "fuzz_util.h"

namespace {

using sigv4::Json;
using sigv4::fuzz::check;

Json annotations_from(std::string_view input) {
  Json annotations = Json::object();
  while (!input.empty()) {
    std::size_t end = input.find('\n');
    std::string_view record = input.substr(0, end);
    input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
    if (record.empty()) {
      continue;
    }
    auto selector = static_cast<unsigned char>(record[0]);
    record.remove_prefix(1);
    std::size_t eq = record.find('=');
    std::string key(record.substr(0, eq));
    std::string value(eq == std::string_view::npos ? std::string_view() : record.substr(eq + 1));
    switch (selector % 3) {
      case 0:
        key = std::string(sigv4::kAnnotationPrefix) + key;
        break;
      case 1:
        key = std::string(sigv4::kCompatPrefix) + key;
        break;
      default:
        break;
    }
    if ((selector & 0x80) != 0) {
      annotations[key] = static_cast<int64_t>(value.size());
    } else {
      annotations[key] = value;
    }
  }
  return annotations;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  Json annotations = annotations_from(input);
  const sigv4::JsonDoc annotations_doc = sigv4::JsonDoc::from_json(annotations);
  static const sigv4::Config kBase = sigv4::default_config();
  sigv4::Config settings;
  try {
    settings = sigv4::apply_overrides(kBase, annotations_doc.root());
  } catch (const sigv4::OverrideError&) {
    settings = kBase;
  }
  try {
    sigv4::validate_config(settings);
  } catch (const sigv4::InputError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    check(false, "accepted overrides make a valid config");
  }
  (void)sigv4::requested_sidecar_mode(annotations_doc.root(), sigv4::SidecarMode::kLegacy);
  Json pod = sigv4::fuzz::sample_pod();
  pod["metadata"]["annotations"] = annotations;
  const sigv4::JsonDoc pod_doc = sigv4::JsonDoc::from_json(pod);
  for (auto route : {sigv4::Route::kMutate, sigv4::Route::kMutateAnnotated}) {
    sigv4::PodRequest request{"Pod", "CREATE", "app1", &pod_doc.root(), {}};
    auto mutation = sigv4::mutate_pod(request, kBase, route);
    if (!mutation.patch.empty()) {
      try {
        (void)pod.patch(sigv4::patch_operations(mutation));
      } catch (const Json::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        check(false, "the patch applies");
      }
    }
  }
  return 0;
}
