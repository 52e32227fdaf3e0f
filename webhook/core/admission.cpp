#include "admission.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>

#include "codec/base64.h"
#include "codec/errors.h"
#include "codec/json_text.h"
#include "pod.h"
#include "pod_text.h"

namespace sigv4 {
namespace {

constexpr std::string_view kV1 = "admission.k8s.io/v1";
constexpr std::string_view kV1beta1 = "admission.k8s.io/v1beta1";
// The apiserver's uids are UUIDs (36 bytes); the answer echoes the uid, so a longer one is
// refused rather than copied into it.
constexpr std::size_t kMaxUidBytes = 256;

const JsonNode& require(const JsonNode& obj, std::string_view key, std::string_view path,
                        JsonNode::Type type, const char* type_name) {
  const JsonNode& value = field(obj, key);
  if (value.is_null()) {
    throw InputError(std::string(path), "missing");
  }
  if (value.type() != type) {
    throw InputError(std::string(path),
                     std::string("expected ") + type_name + ", got " + value.type_name());
  }
  return value;
}

// An optional string field: absent or null is "", another type is an error.
std::string optional_string(const JsonNode& obj, std::string_view key, std::string_view path) {
  const JsonNode& value = field(obj, key);
  if (value.is_null()) {
    return {};
  }
  if (!value.is_string()) {
    throw InputError(std::string(path), std::string("expected string, got ") + value.type_name());
  }
  return std::string(value.string());
}

}  // namespace

AdmissionRequest parse_admission_review(const JsonNode& review) {
  if (!review.is_object()) {
    throw InputError("body",
                     std::string("expected an AdmissionReview object, got ") + review.type_name());
  }
  AdmissionRequest r;
  r.api_version = optional_string(review, "apiVersion", "apiVersion");
  if (r.api_version != kV1 && r.api_version != kV1beta1) {
    throw InputError(
        "apiVersion",
        "expected admission.k8s.io/v1 or admission.k8s.io/v1beta1, got " + quote(r.api_version));
  }
  std::string kind = optional_string(review, "kind", "kind");
  if (kind != "AdmissionReview") {
    throw InputError("kind", "expected AdmissionReview, got " + quote(kind));
  }
  const JsonNode& request =
      require(review, "request", "request", JsonNode::Type::kObject, "object");
  r.uid = optional_string(request, "uid", "request.uid");
  if (r.uid.empty()) {
    throw InputError("request.uid", "missing");
  }
  if (r.uid.size() > kMaxUidBytes) {
    throw InputError("request.uid", "longer than " + std::to_string(kMaxUidBytes) + " bytes (" +
                                        std::to_string(r.uid.size()) + ")");
  }
  const JsonNode& kind_obj = field(request, "kind");
  if (!kind_obj.is_null() && !kind_obj.is_object()) {
    throw InputError("request.kind", std::string("expected object, got ") + kind_obj.type_name());
  }
  r.kind = optional_string(kind_obj, "kind", "request.kind.kind");
  r.operation = optional_string(request, "operation", "request.operation");
  r.namespace_name = optional_string(request, "namespace", "request.namespace");
  r.name = optional_string(request, "name", "request.name");
  r.dry_run = field(request, "dryRun").boolean();
  const JsonNode& object = field(request, "object");
  if (!object.is_null()) {
    if (!object.is_object()) {
      throw InputError("request.object", std::string("expected object, got ") + object.type_name());
    }
    r.object = &object;
    const JsonNode& metadata = field(object, "metadata");
    if (r.name.empty()) {
      r.name = string_field(metadata, "name");
    }
    r.generate_name = string_field(metadata, "generateName");
    if (r.namespace_name.empty()) {
      r.namespace_name = string_field(metadata, "namespace");
    }
  } else if (r.operation == "CREATE" && r.kind == "Pod") {
    throw InputError("request.object", "missing");
  }
  return r;
}

std::string admission_response(const AdmissionRequest& request, const AdmissionAnswer& answer) {
  // Written as text in the order nlohmann would print the object (no tree to build and walk
  // again), the patch text base64-encoded straight into the answer.
  std::string out;
  out.reserve(512 + answer.patch.size() / 3 * 4);
  out += R"({"apiVersion":)";
  append_json_string(out, request.api_version);
  out += R"(,"kind":"AdmissionReview","response":{"uid":)";
  append_json_string(out, request.uid);
  out += answer.allowed ? R"(,"allowed":true)" : R"(,"allowed":false)";
  if (!answer.patch.empty()) {
    out += R"(,"patchType":"JSONPatch","patch":")";
    if (answer.patch_base64.empty()) {
      append_base64(out, answer.patch);
    } else {
      out += answer.patch_base64;
    }
    out += '"';
  }
  if (!answer.allowed) {
    out += R"(,"status":{"metadata":{},"status":"Failure","message":)";
    append_json_string(out, answer.message);
    out += answer.code == 400 ? R"(,"reason":"BadRequest","code":)"
                              : R"(,"reason":"Forbidden","code":)";
    out += std::to_string(answer.code);
    out += '}';
  }
  if (!answer.warnings.empty()) {
    out += R"(,"warnings":[)";
    for (std::size_t i = 0; i < answer.warnings.size(); ++i) {
      if (i != 0) {
        out += ',';
      }
      append_json_string(out, answer.warnings[i]);
    }
    out += ']';
  }
  out += "}}";
  return out;
}

}  // namespace sigv4
