#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "codec/json_parse.h"
#include "core/admission.h"
#include "server/frontend.h"
#include "server/review.h"
#include "server/state.h"

namespace sigv4::server {

// The webhook port: POST /mutate, /mutate/annotated and their /pod-security twins (reviews),
// GET /healthz and /readyz; 404 for another path, 405 (with Allow) for another method.
class WebhookRoutes final : public Routes {
 public:
  WebhookRoutes(ServerState& state, JsonLimits json_limits, std::size_t max_body_bytes)
      : state_(state), json_limits_(json_limits), max_body_bytes_(max_body_bytes) {}

  std::uint64_t body_to_keep(const RequestHead& head) const override;
  bool answer_head(const RequestHead&, Response&) const override { return false; }
  void answer(const RequestHead& head, std::string_view body, Response& res) const override;
  void answer_oversized(const RequestHead& head, Response& res) const override;

 private:
  // The review path `head` names, held to this port's limits.
  ReviewRoute review_route(const RequestHead& head) const;

  ServerState& state_;
  JsonLimits json_limits_;
  std::size_t max_body_bytes_;
};

// The metrics port: GET /metrics (Prometheus text format) and GET /healthz; it takes no bodies
// (400, unread, and the connection closes).
class MetricsRoutes final : public Routes {
 public:
  explicit MetricsRoutes(ServerState& state) : state_(state) {}

  std::uint64_t body_to_keep(const RequestHead&) const override { return 0; }
  bool answer_head(const RequestHead& head, Response& res) const override;
  void answer(const RequestHead& head, std::string_view body, Response& res) const override;
  void answer_oversized(const RequestHead& head, Response& res) const override {
    answer(head, {}, res);
  }

 private:
  ServerState& state_;
};

// Whether a Content-Type header names JSON (`application/json`, parameters allowed).
bool is_json_content_type(std::string_view content_type);

}  // namespace sigv4::server
