#include "server/review.h"

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "codec/errors.h"
#include "core/mutator.h"
#include "core/pod_text.h"
#include "server/logging.h"
#include "server/routes.h"

namespace sigv4::server {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kReviewContentType = "application/json; charset=utf-8";

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
  const auto& mutation = result.mutation;
  if (!log_enabled(spdlog::level::info)) {
    return;
  }
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();
  std::vector<LogField> fields = {
      {"path", route_path(route)},
      {"uid", request.uid},
      {"namespace", request.namespace_name},
      {"pod", request.name.empty() ? request.generate_name : request.name},
      {"decision", decision_name(mutation)},
      {"reasons", mutation.decision.reasons_string()},
      {"duration_us", micros}};
  if (!mutation.warnings.empty()) {
    fields.emplace_back("warnings", Json(mutation.warnings));
  }
  if (mutation.denial) {
    fields.emplace_back("denial", *mutation.denial);
  }
  log_event(spdlog::level::info, "review", fields);
  if (log_enabled(spdlog::level::debug) && !mutation.patch.empty()) {
    log_event(spdlog::level::debug, "patch",
              {{"uid", request.uid}, {"patch", patch_operations(mutation)}});
  }
}

// Reviews a complete JSON body; returns the result label.
Result review_body(const ReviewRoute& route, std::string_view body, Response& res,
                   Clock::time_point start) {
  const std::string path(route_path(route.route));
  try {
    const auto config = route.state->config.load();
    ReviewResult result = route.reviewer(body, *config, route.route, route.json_limits);
    // Never compressed: gzipping a few KB for a local network cost a quarter of the CPU.
    res.content_type = kReviewContentType;
    res.body = std::move(result.response);
    if (!result.mutation.denial) {
      route.state->metrics.count_decision(result.mutation.decision);
    }
    log_review(result, route.route, Clock::now() - start);
    return result_of(result.mutation);
  } catch (const InputError& error) {
    // The message may quote the body (a parser's or a field's complaint): bounded as any text
    // written from pod data. The log line's fields are bounded by log_event.
    reply_error(res, 400, bound_message(error.what()));
    log_event(spdlog::level::warn, "bad admission request",
              {{"path", path}, {"error", error.what()}});
    return Result::kBadRequest;
  } catch (const std::exception& error) {
    reply_error(res, 500, "internal error");
    log_event(spdlog::level::err, "review failed", {{"path", path}, {"error", error.what()}});
    return Result::kError;
  }
}

// Checks the body's size and type; returns false (with the error answered) when either is bad.
bool accept_body(const ReviewRoute& route, const RequestHead& head, std::string_view body,
                 Response& res) {
  Metrics& metrics = route.state->metrics;
  if (body.size() > route.max_body_bytes) {
    reply_too_large(route, head, res);
    return false;
  }
  if (!is_json_content_type(head.content_type)) {
    reply_error(res, 415, "Content-Type must be application/json");
    metrics.count_request(route.route, Result::kUnsupportedMediaType);
    return false;
  }
  return true;
}

}  // namespace

void serve_review(const ReviewRoute& route, const RequestHead& head, std::string_view body,
                  Response& res) {
  if (!accept_body(route, head, body, res)) {
    return;
  }
  const auto start = Clock::now();
  const Result result = review_body(route, body, res, start);
  route.state->metrics.observe_duration(Clock::now() - start);
  route.state->metrics.count_request(route.route, result);
}

void reply_too_large(const ReviewRoute& route, const RequestHead& head, Response& res) {
  reply_error(res, 413,
              "request body larger than " + std::to_string(route.max_body_bytes) + " bytes");
  route.state->metrics.count_request(route.route, Result::kTooLarge);
  log_event(spdlog::level::warn, "request body too large", {{"path", head.path}});
}

void reply_error(Response& res, int status, const std::string& message) {
  Json body = {{"kind", "Status"},
               {"apiVersion", "v1"},
               {"status", "Failure"},
               {"message", message},
               {"code", status}};
  res.status = status;
  res.content_type = "application/json";
  res.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace sigv4::server
