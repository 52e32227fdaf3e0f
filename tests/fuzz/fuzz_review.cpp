// libFuzzer target: the AdmissionReview handler (review_text) on both routes, for the fuzzed
// bytes as a whole body and wrapped as request.object of a well-formed review.
// Invariants: only InputError escapes; the review parsed as admission_review_shape() keeps it gets
// the answer (or error) of the review parsed whole; the response parses back; it is an
// AdmissionReview of the request's apiVersion echoing the uid; a denial carries code 400; a
// patch is base64 JSON that applies to the request's object, and the patched pod is not
// injected again.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "codec/base64.h"
#include "codec/errors.h"
#include "codec/json_text.h"
#include "core/admission.h"
#include "core/config.h"
#include "core/mutator.h"
#include "fuzz_util.h"

namespace {

using sigv4::Json;
using sigv4::fuzz::check;

const sigv4::Config& config() {
  static const sigv4::Config kConfig = sigv4::default_config();
  return kConfig;
}

void check_patch(const Json& request, const Json& response, sigv4::Route route) {
  if (!response.contains("patch")) {
    check(!response.contains("patchType"), "patchType without patch");
    return;
  }
  check(response.value("patchType", "") == "JSONPatch", "patch without patchType JSONPatch");
  check(response["patch"].is_string(), "patch is not a string");
  auto decoded = sigv4::base64_decode(response["patch"].get<std::string>());
  check(decoded.has_value(), "patch is not base64");
  Json ops = Json::parse(*decoded, nullptr, false);
  check(ops.is_array() && !ops.empty(), "patch is not a non-empty JSON array");
  check(sigv4::to_json_text(ops) == *decoded, "the patch is compact JSON text");
  check(request.contains("object") && request["object"].is_object(), "patch without an object");
  Json patched;
  try {
    patched = request["object"].patch(ops);
  } catch (const Json::exception& e) {
    std::fprintf(stderr, "patch does not apply: %s\n", e.what());
    check(false, "patch applies to the request's object");
  }
  // Re-review the patched pod: an injected pod is never injected twice (a credential sync patch
  // is allowed, but must not add the containers again).
  Json again = {
      {"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", request}};
  again["request"]["object"] = patched;
  auto second = sigv4::review(sigv4::JsonDoc::from_json(again).root(), config(), route);
  check(!second.mutation.decision.inject, "a patched pod is injected again");
}

// review_text parses only what admission_review_shape() keeps, into a JsonDoc; the same body
// parsed whole into a nlohmann tree (another sink of the parser, its duplicate keys resolved by
// JsonTree) and read through a copy must get the same answer, byte for byte, and the same error.
void check_shape(std::string_view body, sigv4::Route route, const sigv4::ReviewResult* pruned,
                 const std::string& pruned_error) {
  std::string whole_error;
  sigv4::ReviewResult whole;
  try {
    const auto doc = sigv4::JsonDoc::from_json(sigv4::parse_json_limited(body, {}));
    whole = sigv4::review(doc.root(), config(), route);
  } catch (const sigv4::InputError& e) {
    whole_error = e.what();
  }
  check(whole_error == pruned_error, "the pruned parse fails as the whole one does");
  if (pruned != nullptr) {
    check(whole.response == pruned->response, "the pruned parse gets the whole one's answer");
    check(whole.mutation.patch == pruned->mutation.patch, "the pruned parse gets the same patch");
  }
}

void review_once(std::string_view body, sigv4::Route route) {
  sigv4::ReviewResult result;
  try {
    result = sigv4::review_text(body, config(), route);
  } catch (const sigv4::InputError& e) {
    check_shape(body, route, nullptr, e.what());
    return;
  }
  check_shape(body, route, &result, "");
  // The server sends this text as it is; it must parse back.
  Json sent = Json::parse(result.response, nullptr, false);
  check(!sent.is_discarded(), "response does not parse");
  Json request = Json::parse(body, nullptr, false);
  check(request.is_object() && request.contains("request"), "accepted body without request");
  check(sent.value("kind", "") == "AdmissionReview", "response kind");
  check(sent.value("apiVersion", "") == request.value("apiVersion", ""), "apiVersion echoed");
  const Json& response = sent["response"];
  check(response.is_object(), "response.response is an object");
  check(response.value("uid", "") == request["request"].value("uid", "") &&
            !response.value("uid", "").empty(),
        "uid echoed");
  check(response.contains("allowed") && response["allowed"].is_boolean(), "allowed is a bool");
  if (!response["allowed"].get<bool>()) {
    check(response.contains("status") && response["status"].value("code", 0) == 400,
          "a denial carries code 400");
    check(!response.contains("patch"), "a denial carries no patch");
    return;
  }
  check_patch(request["request"], response, route);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  review_once(input, sigv4::Route::kMutate);
  review_once(input, sigv4::Route::kMutateAnnotated);
  // The fuzzed bytes as the pod of a well-formed review, to reach the decision and the patch.
  std::string wrapped =
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1",)"
      R"("kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE",)"
      R"("namespace":"app1","object":)";
  wrapped.append(input);
  wrapped += "}}";
  review_once(wrapped, sigv4::Route::kMutate);
  review_once(wrapped, sigv4::Route::kMutateAnnotated);
  review_once(wrapped, sigv4::Route::kMutatePodSecurity);  // the warning's path (issue 17)
  return 0;
}
