#pragma once

#include <httplib.h>

#include <cstddef>
#include <functional>
#include <string_view>

#include "core/admission.h"
#include "server/state.h"

namespace sigv4::server {

// Installs the webhook's routes on `server`: POST /mutate and /mutate/annotated, GET /healthz and
// /readyz, 405 for other methods on those paths, 404 elsewhere, and JSON bodies for every error
// status. Request bodies are held to `max_body_bytes` whatever their framing.
// `on_request_read` is called when a review's body has been read, before it is reviewed.
void install_webhook_routes(httplib::Server& server, ServerState& state, const JsonLimits& limits,
                            std::size_t max_body_bytes,
                            std::function<void(const httplib::Request&)> on_request_read = {});

// Installs GET /metrics (Prometheus text format) and GET /healthz on the metrics server.
void install_metrics_routes(httplib::Server& server, ServerState& state);

// Whether a Content-Type header names JSON (`application/json`, parameters allowed).
bool is_json_content_type(std::string_view content_type);

}  // namespace sigv4::server
