#include "server/routes.h"

#include <cctype>
#include <string>

#include "server/logging.h"
#include "server/review.h"

namespace sigv4::server {
namespace {

using httplib::Request;
using httplib::Response;

// The paths this server knows, and the one method each takes.
const char* allowed_method(const std::string& path) {
  if (path == "/mutate" || path == "/mutate/annotated") {
    return "POST";
  }
  if (path == "/healthz" || path == "/readyz") {
    return "GET";
  }
  return nullptr;
}

// 405 for a known path asked with the wrong method, else 404; counted on the webhook paths.
void refuse(ServerState& state, const Request& req, Response& res) {
  const char* allow = allowed_method(req.path);
  if (allow == nullptr) {
    reply_error(res, 404, "not found");
    return;
  }
  res.set_header("Allow", allow);
  reply_error(res, 405, "method not allowed; use " + std::string(allow));
  if (req.path == "/mutate" || req.path == "/mutate/annotated") {
    state.metrics.count_request(req.path == "/mutate" ? Route::kMutate : Route::kMutateAnnotated,
                                Result::kMethodNotAllowed);
  }
}

std::string error_message(int status) {
  switch (status) {
    case 400:
      return "bad request";
    case 404:
      return "not found";
    case 405:
      return "method not allowed";
    case 413:
      return "request body too large";
    case 500:
      return "internal error";
    default:
      return "HTTP " + std::to_string(status);
  }
}

// Gives the statuses cpp-httplib produces itself a Status body like ours.
httplib::Server::HandlerResponse fill_error_body(const Request&, Response& res) {
  if (res.body.empty()) {
    reply_error(res, res.status, error_message(res.status));
  }
  return httplib::Server::HandlerResponse::Handled;
}

// The metrics endpoint takes no bodies. cpp-httplib 0.11 would buffer a chunked POST body whole
// before answering 404 (its payload limit covers Content-Length only): refuse it unread.
httplib::Server::HandlerResponse refuse_chunked_body(const Request& req, Response& res) {
  if (!req.has_header("Transfer-Encoding")) {
    return httplib::Server::HandlerResponse::Unhandled;
  }
  res.set_header("Connection", "close");
  reply_error(res, 400, "unexpected request body");
  return httplib::Server::HandlerResponse::Handled;
}

void install_refusals(httplib::Server& server, ServerState& state, std::size_t max_body_bytes) {
  auto drain_and_refuse = [&state, max_body_bytes](const Request& req, Response& res,
                                                   const httplib::ContentReader& reader) {
    drain_body(reader, max_body_bytes);
    refuse(state, req, res);
  };
  auto plain_refuse = [&state](const Request& req, Response& res) { refuse(state, req, res); };
  server.Get("/mutate", plain_refuse);
  server.Get("/mutate/annotated", plain_refuse);
  server.Post(".*", drain_and_refuse);
  server.Put(".*", drain_and_refuse);
  server.Patch(".*", drain_and_refuse);
  server.Delete(".*", drain_and_refuse);
  server.Options(".*", plain_refuse);
}

void handle_health(const Request&, Response& res) { res.set_content("ok\n", "text/plain"); }

}  // namespace

bool is_json_content_type(std::string_view content_type) {
  const auto end = content_type.find(';');
  std::string_view media = content_type.substr(0, end);
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) {
    media.remove_suffix(1);
  }
  constexpr std::string_view kWanted = "application/json";
  if (media.size() != kWanted.size()) {
    return false;
  }
  for (std::size_t i = 0; i < media.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(media[i])) != kWanted[i]) {
      return false;
    }
  }
  return true;
}

void install_webhook_routes(httplib::Server& server, ServerState& state, const JsonLimits& limits,
                            std::size_t max_body_bytes,
                            std::function<void(const httplib::Request&)> on_request_read) {
  // cpp-httplib dispatches to the first matching pattern: the webhook paths go first.
  for (Route route : {Route::kMutate, Route::kMutateAnnotated}) {
    ReviewRoute review{&state, route, limits, max_body_bytes, &review_text, on_request_read};
    server.Post(std::string(route_path(route)),
                [review](const Request& req, Response& res, const httplib::ContentReader& reader) {
                  serve_review(review, req, res, reader);
                });
  }
  server.Get("/healthz", handle_health);
  server.Get("/readyz", [&state](const Request&, Response& res) {
    if (state.ready()) {
      res.set_content("ok\n", "text/plain");
    } else {
      res.status = 503;
      res.set_content("not ready\n", "text/plain");
    }
  });
  install_refusals(server, state, max_body_bytes);
  server.set_error_handler(httplib::Server::HandlerWithResponse(fill_error_body));
}

void install_metrics_routes(httplib::Server& server, ServerState& state) {
  server.Get("/metrics", [&state](const Request&, Response& res) {
    res.set_content(state.metrics.render(state.ready()),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
  server.Get("/healthz", handle_health);
  server.set_pre_routing_handler(refuse_chunked_body);
}

}  // namespace sigv4::server
