#include "server/routes.h"

#include <chrono>
#include <string>

#include "core/errors.h"
#include "core/mutator.h"
#include "server/logging.h"

namespace sigv4::server {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kJson = "application/json";

// A Kubernetes-style Status object, so that kubectl-minded readers recognise the error.
void reply_error(httplib::Response& res, int status, const std::string& message) {
  Json body = {{"kind", "Status"},       {"apiVersion", "v1"}, {"status", "Failure"},
               {"message", message},     {"code", status}};
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), kJson);
}

std::string_view decision_name(const Mutation& mutation) {
  if (mutation.denial) {
    return "deny";
  }
  return mutation.decision.inject ? "inject" : "skip";
}

Result result_of(const Mutation& mutation) {
  if (mutation.denial) {
    return Result::kDenied;
  }
  return mutation.decision.inject ? Result::kInjected : Result::kSkipped;
}

void log_review(const ReviewResult& result, Route route, Clock::duration elapsed) {
  const auto& request = result.request;
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();
  Json warnings = Json::array();
  for (const auto& warning : result.mutation.warnings) {
    warnings.push_back(warning);
  }
  log_event(spdlog::level::info, "review",
            {{"path", std::string(route_path(route))},
             {"uid", request.uid},
             {"namespace", request.namespace_name},
             {"pod", request.name.empty() ? request.generate_name : request.name},
             {"decision", std::string(decision_name(result.mutation))},
             {"reasons", result.mutation.decision.reasons_string()},
             {"warnings", warnings},
             {"denial", result.mutation.denial.value_or("")},
             {"duration_us", micros}});
  if (log_enabled(spdlog::level::debug) && !result.mutation.patch.empty()) {
    log_event(spdlog::level::debug, "patch", {{"uid", request.uid}, {"patch", result.mutation.patch}});
  }
}

void handle_review(ServerState& state, const JsonLimits& limits, Route route,
                   const httplib::Request& req, httplib::Response& res) {
  const auto start = Clock::now();
  Result outcome = Result::kError;
  if (!is_json_content_type(req.get_header_value("Content-Type"))) {
    reply_error(res, 415, "Content-Type must be application/json");
    state.metrics.count_request(route, Result::kUnsupportedMediaType);
    return;
  }
  try {
    const auto config = state.config.load();
    ReviewResult result = review_text(req.body, *config, route, limits);
    res.set_content(result.response.dump(-1, ' ', false, Json::error_handler_t::replace), kJson);
    outcome = result_of(result.mutation);
    if (!result.mutation.denial) {
      state.metrics.count_decision(result.mutation.decision);
    }
    log_review(result, route, Clock::now() - start);
  } catch (const InputError& error) {
    outcome = Result::kBadRequest;
    reply_error(res, 400, error.what());
    log_event(spdlog::level::warn, "bad admission request",
              {{"path", std::string(route_path(route))}, {"error", error.what()}});
  } catch (const std::exception& error) {
    reply_error(res, 500, "internal error");
    log_event(spdlog::level::err, "review failed",
              {{"path", std::string(route_path(route))}, {"error", error.what()}});
  }
  state.metrics.observe_duration(Clock::now() - start);
  state.metrics.count_request(route, outcome);
}

void method_not_allowed(httplib::Response& res, const char* allow) {
  res.set_header("Allow", allow);
  reply_error(res, 405, std::string("method not allowed; use ") + allow);
}

// Registers 405 answers for the methods a path does not take.
void refuse_other_methods(httplib::Server& server, const std::string& path, bool is_post,
                          ServerState& state) {
  const char* allow = is_post ? "POST" : "GET";
  auto refuse = [&state, allow, path](const httplib::Request&, httplib::Response& res) {
    method_not_allowed(res, allow);
    if (path.rfind("/mutate", 0) == 0) {
      state.metrics.count_request(path == "/mutate" ? Route::kMutate : Route::kMutateAnnotated,
                                  Result::kMethodNotAllowed);
    }
  };
  if (is_post) {
    server.Get(path, refuse);
  } else {
    server.Post(path, refuse);
  }
  server.Put(path, refuse);
  server.Patch(path, refuse);
  server.Delete(path, refuse);
  server.Options(path, refuse);
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

// Fills the body of statuses cpp-httplib produces itself, and counts 413 on the webhook paths.
httplib::Server::HandlerResponse on_error(ServerState& state, const httplib::Request& req,
                                          httplib::Response& res) {
  if (res.status == 413 && (req.path == "/mutate" || req.path == "/mutate/annotated")) {
    state.metrics.count_request(req.path == "/mutate" ? Route::kMutate : Route::kMutateAnnotated,
                                Result::kTooLarge);
    log_event(spdlog::level::warn, "request body too large", {{"path", req.path}});
  }
  if (res.body.empty()) {
    reply_error(res, res.status, error_message(res.status));
  }
  return httplib::Server::HandlerResponse::Handled;
}

void handle_health(const httplib::Request&, httplib::Response& res) {
  res.set_content("ok\n", "text/plain");
}

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

void install_webhook_routes(httplib::Server& server, ServerState& state, const JsonLimits& limits) {
  for (Route route : {Route::kMutate, Route::kMutateAnnotated}) {
    const std::string path(route_path(route));
    server.Post(path, [&state, limits, route](const httplib::Request& req, httplib::Response& res) {
      handle_review(state, limits, route, req, res);
    });
    refuse_other_methods(server, path, true, state);
  }
  server.Get("/healthz", handle_health);
  server.Get("/readyz", [&state](const httplib::Request&, httplib::Response& res) {
    if (state.ready()) {
      res.set_content("ok\n", "text/plain");
    } else {
      res.status = 503;
      res.set_content("not ready\n", "text/plain");
    }
  });
  refuse_other_methods(server, "/healthz", false, state);
  refuse_other_methods(server, "/readyz", false, state);
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [&state](const httplib::Request& req, httplib::Response& res) {
        return on_error(state, req, res);
      }));
}

void install_metrics_routes(httplib::Server& server, ServerState& state) {
  server.Get("/metrics", [&state](const httplib::Request&, httplib::Response& res) {
    res.set_content(state.metrics.render(state.ready()), "text/plain; version=0.0.4; charset=utf-8");
  });
  server.Get("/healthz", handle_health);
}

}  // namespace sigv4::server
