#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "codec/json_doc.h"

namespace sigv4 {

// The fields of an AdmissionReview request the mutator needs.
struct AdmissionRequest {
  std::string api_version;  // admission.k8s.io/v1 or admission.k8s.io/v1beta1
  std::string uid;
  std::string kind;  // request.kind.kind, e.g. "Pod"
  std::string operation;
  std::string namespace_name;
  std::string name;           // request.name, else object.metadata.name
  std::string generate_name;  // object.metadata.generateName
  bool dry_run = false;
  const JsonNode* object = nullptr;  // points into the review it was parsed from
};

// Reads an AdmissionReview. Throws InputError naming the field when it is not an
// admission.k8s.io/v1 or v1beta1 AdmissionReview, lacks `request`, `request.uid`, or has fields
// of the wrong type.
AdmissionRequest parse_admission_review(const JsonNode& review);

// What the webhook answers.
struct AdmissionAnswer {
  bool allowed = true;
  std::string patch;         // JSON array of operations as text; empty for no patch
  std::string patch_base64;  // its base64 when the caller has it already; else computed
  std::vector<std::string> warnings;
  int code = 0;  // status code for denials (400)
  std::string message;
};

// The AdmissionReview response as compact JSON text (what the server sends): in the request's
// apiVersion, echoing its uid; the patch base64-encoded with patchType JSONPatch when non-empty.
std::string admission_response(const AdmissionRequest& request, const AdmissionAnswer& answer);

}  // namespace sigv4
