#include "server/routes.h"

#include <cctype>
#include <string>

#include "server/logging.h"
#include "server/review.h"

namespace sigv4::server {
namespace {

using httplib::Request;
using httplib::Response;

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

void install_metrics_routes(httplib::Server& server, ServerState& state) {
  server.Get("/metrics", [&state](const Request&, Response& res) {
    res.set_content(state.metrics.render(state.ready()),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
  server.Get("/healthz", handle_health);
  server.set_pre_routing_handler(refuse_chunked_body);
}

}  // namespace sigv4::server
