// libFuzzer target: the config loader.
// Invariants: only InputError escapes load_config; a loaded config validates, and injecting the
// sample pod with it gives a patch that applies.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "codec/errors.h"
#include "core/config.h"
#include "core/mutator.h"
#include "fuzz_util.h"

using sigv4::Json;
using sigv4::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  sigv4::Config config;
  try {
    config = sigv4::load_config(input);
  } catch (const sigv4::InputError&) {
    return 0;
  }
  try {
    sigv4::validate_config(config);
  } catch (const sigv4::InputError&) {
    check(false, "a loaded config validates");
  }
  static const Json kPod = sigv4::fuzz::sample_pod();
  static const sigv4::JsonDoc kPodDoc = sigv4::JsonDoc::from_json(kPod);
  for (auto route : {sigv4::Route::kMutate, sigv4::Route::kMutateAnnotated}) {
    sigv4::PodRequest request{"Pod", "CREATE", "app1", &kPodDoc.root(), {}};
    auto mutation = sigv4::mutate_pod(request, config, route);
    check(!mutation.denial.has_value(), "no denial without annotations");
    if (!mutation.patch.empty()) {
      try {
        (void)kPod.patch(sigv4::patch_operations(mutation));
      } catch (const Json::exception&) {
        check(false, "the patch applies");
      }
    }
  }
  return 0;
}
