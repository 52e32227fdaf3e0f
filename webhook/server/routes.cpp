#include "server/routes.h"

#include <cctype>
#include <optional>
#include <string>

#include "server/metrics.h"
#include "server/review.h"

namespace sigv4::server {
namespace {

bool is_review_path(const std::string& path) { return route_named(path).has_value(); }

Route route_of(const std::string& path) { return route_named(path).value_or(Route::kMutate); }

bool is_get(const RequestHead& head) { return head.method == "GET" || head.method == "HEAD"; }

void reply_text(Response& res, int status, const char* text) {
  res.status = status;
  res.content_type = "text/plain";
  res.body = text;
}

void reply_not_allowed(Response& res, const char* allow) {
  res.allow = allow;
  reply_error(res, 405, "method not allowed; use " + std::string(allow));
}

}  // namespace

ReviewRoute WebhookRoutes::review_route(const RequestHead& head) const {
  return {&state_, route_of(head.path), json_limits_, max_body_bytes_, &review_text};
}

std::uint64_t WebhookRoutes::body_to_keep(const RequestHead& head) const {
  // max + 1, so serve_review sees an over-long body as such; other paths read no body.
  return is_review_path(head.path) && head.method == "POST" ? std::uint64_t{max_body_bytes_} + 1
                                                            : 0;
}

void WebhookRoutes::answer(const RequestHead& head, std::string_view body, Response& res) const {
  if (is_review_path(head.path)) {
    if (head.method != "POST") {
      reply_not_allowed(res, "POST");
      state_.metrics.count_request(route_of(head.path), Result::kMethodNotAllowed);
      return;
    }
    serve_review(review_route(head), head, body, res);
  } else if (head.path == "/healthz" || head.path == "/readyz") {
    if (!is_get(head)) {
      reply_not_allowed(res, "GET");
    } else if (head.path == "/readyz" && !state_.ready()) {
      reply_text(res, 503, "not ready\n");
    } else {
      reply_text(res, 200, "ok\n");
    }
  } else {
    reply_error(res, 404, "not found");
  }
}

// A review's body past what is drained is refused 413; another request gets its path's answer.
void WebhookRoutes::answer_oversized(const RequestHead& head, Response& res) const {
  if (!is_review_path(head.path) || head.method != "POST") {
    answer(head, {}, res);
    return;
  }
  reply_too_large(review_route(head), head, res);
}

// cpp-httplib, which served this port until issue 16, buffered a chunked body whole before
// answering: bodies are refused unread.
bool MetricsRoutes::answer_head(const RequestHead& head, Response& res) const {
  if (!head.chunked && head.content_length == 0) {
    return false;
  }
  reply_error(res, 400, "unexpected request body");
  return true;
}

void MetricsRoutes::answer(const RequestHead& head, std::string_view, Response& res) const {
  if (head.path != "/metrics" && head.path != "/healthz") {
    reply_error(res, 404, "not found");
  } else if (!is_get(head)) {
    reply_not_allowed(res, "GET");
  } else if (head.path == "/metrics") {
    res.content_type = "text/plain; version=0.0.4; charset=utf-8";
    res.body = state_.metrics.render(state_.ready());
  } else {
    reply_text(res, 200, "ok\n");
  }
}

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

}  // namespace sigv4::server
