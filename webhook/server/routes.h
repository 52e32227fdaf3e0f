#pragma once

#include <httplib.h>

#include "core/admission.h"
#include "server/state.h"

namespace sigv4::server {

// Installs the webhook's routes on `server`: POST /mutate and /mutate/annotated, GET /healthz and
// /readyz, 405 for other methods on those paths, and JSON bodies for every error status
// (400, 404, 413, 415, 500). The server's payload limit must be set separately (it makes 413).
void install_webhook_routes(httplib::Server& server, ServerState& state, const JsonLimits& limits);

// Installs GET /metrics (Prometheus text format) and GET /healthz on the metrics server.
void install_metrics_routes(httplib::Server& server, ServerState& state);

// Whether a Content-Type header names JSON (`application/json`, parameters allowed).
bool is_json_content_type(std::string_view content_type);

}  // namespace sigv4::server
