#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "admission.h"
#include "codec/base64.h"
#include "codec/json.h"
#include "codec/json_parse.h"
#include "config.h"
#include "decision.h"

namespace sigv4 {

// The injector's version, stamped into the `sigv4-injector.io/version` annotation.
std::string_view injector_version();

// What the injector does to one pod: the decision, the patch (a JSON array of `add` operations
// as compact text, what the webhook sends; empty when nothing changes), warnings for kubectl, and
// a denial message for invalid overrides.
struct Mutation {
  Decision decision;
  std::string patch;
  std::string patch_base64;  // the patch's base64 when the builder had it cached (else empty)
  std::vector<std::string> warnings;
  std::optional<std::string> denial;
};

// Decides and builds the patch for one pod; the shared path of the webhook and the CLI.
// Never throws for odd pod shapes; invalid overrides come back as `denial`.
Mutation mutate_pod(const PodRequest& request, const Config& config, Route route);

// The patch's operations as a tree (an empty array when there is none), for the CLI and tests.
Json patch_operations(const Mutation& mutation);

// One reviewed AdmissionReview: what the server logs and counts, and the response to send.
struct ReviewResult {
  AdmissionRequest request;  // request.object is not valid after the call
  Mutation mutation;
  std::string response;  // the AdmissionReview to send back (HTTP 200), compact JSON text
};

// Handles a parsed AdmissionReview. Throws InputError for a malformed review (HTTP 400).
ReviewResult review(const JsonNode& admission_review, const Config& config, Route route);

// The parts of an AdmissionReview the webhook reads (mutator.cpp lists who reads each): a review
// parsed with this shape gets the same answer as one parsed whole, at a fraction of the cost for
// a real pod (images, commands, resources, probes, volumes are never built).
const JsonShape& admission_review_shape();

// Parses `body` (only what admission_review_shape() keeps) within `limits` and handles it.
// Throws InputError (HTTP 400).
ReviewResult review_text(std::string_view body, const Config& config, Route route,
                         const JsonLimits& limits = {});

}  // namespace sigv4
