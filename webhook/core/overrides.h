#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "codec/errors.h"
#include "codec/json_doc.h"
#include "config.h"

namespace sigv4 {

// An invalid per-pod override: the pod is wrong, so the webhook denies it (HTTP 200, allowed:
// false, code 400). `annotation` and `value` are quoted back to the user.
class OverrideError : public InputError {
 public:
  OverrideError(std::string annotation, std::string value, const std::string& why)
      : InputError(annotation, "invalid value \"" + value + "\": " + why),
        annotation_(std::move(annotation)),
        value_(std::move(value)) {}

  const std::string& annotation() const { return annotation_; }
  const std::string& value() const { return value_; }

 private:
  std::string annotation_;
  std::string value_;
};

inline constexpr std::string_view kAnnotationPrefix = "sigv4-injector.io/";
inline constexpr std::string_view kCompatPrefix = "sidecar.aws.signing-proxy/";

// Returns the per-pod settings: `base` with the pod's `sigv4-injector.io/*` overrides and the
// `sidecar.aws.signing-proxy/*` compat annotations applied (ours win over compat ones).
// `annotations` is the pod's metadata.annotations (null or an object). Throws OverrideError
// naming the annotation and the value for the first invalid one; unknown keys under our prefix
// are errors too, so a typo does not silently do nothing.
Config apply_overrides(Config base, const JsonNode& annotations);

// The sidecar mode the pod asks for through `sigv4-injector.io/sidecar-mode`, or `fallback`
// when the annotation is absent or invalid (invalid values are reported by apply_overrides).
SidecarMode requested_sidecar_mode(const JsonNode& annotations, SidecarMode fallback);

}  // namespace sigv4
