#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/admission.h"
#include "core/decision.h"
#include "core/mutator.h"
#include "server/http.h"
#include "server/state.h"

namespace sigv4::server {

// The core's review_text, or a stand-in in tests (to reach the 500 path).
using Reviewer = ReviewResult (*)(std::string_view, const Config&, Route, const JsonLimits&);

// One webhook path and the limits its requests are held to.
struct ReviewRoute {
  ServerState* state = nullptr;
  Route route = Route::kMutate;
  JsonLimits json_limits;
  std::size_t max_body_bytes = std::size_t{4} << 20;
  Reviewer reviewer = &review_text;
};

// Answers one POST to a webhook path, given its body (the front end keeps at most
// max_body_bytes + 1 bytes of it): 413 over the size limit, 415 for a non-JSON content type, 400
// for a malformed review, 500 for an internal failure, else 200 with the AdmissionReview
// response. Logs one line per review and counts it.
void serve_review(const ReviewRoute& route, const RequestHead& head, std::string_view body,
                  Response& res);

// Refuses a POST whose body is over max_body_bytes: 413, logged and counted. serve_review calls
// it when the body it is given is too long, the front end when the body went past what it drains.
void reply_too_large(const ReviewRoute& route, const RequestHead& head, Response& res);

// Sets a Kubernetes-style Status body (`message`, `code`) and the status code.
void reply_error(Response& res, int status, const std::string& message);

}  // namespace sigv4::server
