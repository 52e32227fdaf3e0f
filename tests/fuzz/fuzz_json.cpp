// libFuzzer target: the webhook's own JSON parser (parse_json_limited), differential against
// nlohmann's. Invariants: only InputError escapes; it accepts exactly what nlohmann accepts,
// except input nested past its depth limit; and what both accept gives the same tree, key order,
// duplicate-key rule and number types included (compared through dump()).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "core/admission.h"
#include "core/errors.h"
#include "fuzz_util.h"

namespace {

using sigv4::Json;
using sigv4::fuzz::check;

constexpr std::size_t kDepth = 64;

std::size_t depth_of(const Json& value) {
  std::size_t deepest = 0;
  if (value.is_structured()) {
    for (const auto& item : value) {
      deepest = std::max(deepest, depth_of(item));
    }
    return deepest + 1;
  }
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  sigv4::JsonLimits limits;
  limits.max_depth = kDepth;
  limits.max_string_bytes = size + 1;
  std::optional<Json> ours;
  std::string error;
  try {
    ours = sigv4::parse_json_limited(text, limits, "fuzz");
  } catch (const sigv4::InputError& e) {
    error = e.what();
  }
  std::optional<Json> theirs;
  try {
    theirs = Json::parse(text);
  } catch (const Json::exception&) {
  }
  if (ours && !theirs) {
    std::fprintf(stderr, "accepted: %s\n", ours->dump().c_str());
    check(false, "parse_json_limited accepts only what nlohmann accepts");
  }
  if (theirs && !ours) {
    std::fprintf(stderr, "refused (%s): %s\n", error.c_str(), theirs->dump().c_str());
    check(depth_of(*theirs) > kDepth, "parse_json_limited refuses only input past its limits");
  }
  if (ours && theirs && ours->dump() != theirs->dump()) {
    std::fprintf(stderr, "ours:   %s\ntheirs: %s\n", ours->dump().c_str(), theirs->dump().c_str());
    check(false, "both parsers give the same tree");
  }
  return 0;
}
