#pragma once

#include <httplib.h>

#include <string_view>

#include "server/state.h"

namespace sigv4::server {

// Installs GET /metrics (Prometheus text format) and GET /healthz on the metrics server.
void install_metrics_routes(httplib::Server& server, ServerState& state);

// Whether a Content-Type header names JSON (`application/json`, parameters allowed).
bool is_json_content_type(std::string_view content_type);

}  // namespace sigv4::server
