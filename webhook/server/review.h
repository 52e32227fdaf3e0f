#pragma once

#include <httplib.h>

#include <cstddef>
#include <string>

#include "core/admission.h"
#include "core/decision.h"
#include "core/mutator.h"
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

enum class BodyRead { kComplete, kTooLarge, kBroken };

// Reads a request body through `reader`, keeping at most `max_bytes`; a longer one is reported
// kTooLarge (the front end keeps max + 1 bytes of it and drops the rest).
BodyRead read_body(const httplib::ContentReader& reader, std::size_t max_bytes, std::string& body);

// Answers one POST to a webhook path: 413 over the size limit, 415 for a non-JSON content type,
// 400 for a malformed review, 500 for an internal failure, else 200 with the AdmissionReview
// response. Logs one line per review and counts it.
void serve_review(const ReviewRoute& route, const httplib::Request& req, httplib::Response& res,
                  const httplib::ContentReader& reader);

// Sets a Kubernetes-style Status body (`message`, `code`) and the status code.
void reply_error(httplib::Response& res, int status, const std::string& message);

}  // namespace sigv4::server
