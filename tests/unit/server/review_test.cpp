#include <catch2/catch.hpp>

#include <memory>
#include <stdexcept>
#include <string>

#include "codec/errors.h"
#include "core/config.h"
#include "server/review.h"
#include "server/state.h"

using namespace sigv4;
using namespace sigv4::server;

namespace {

ReviewResult throw_internal(std::string_view, const Config&, Route, const JsonLimits&) {
  throw std::logic_error("boom");
}

ReviewResult throw_input(std::string_view, const Config&, Route, const JsonLimits&) {
  throw InputError("request.uid", "missing");
}

struct Fixture {
  ServerState state;
  RequestHead request;
  Response response;

  Fixture() {
    state.config.store(std::make_shared<const Config>(default_config()));
    request.method = "POST";
    request.path = "/mutate";
    request.content_type = "application/json";
  }
  std::string serve(Reviewer reviewer, const std::string& body, std::size_t max = 1024) {
    ReviewRoute route{&state, Route::kMutate, {}, max, reviewer};
    serve_review(route, request, body, response);
    return state.metrics.render(true);
  }
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("an internal failure answers 500 and is counted as an error", "[server]") {
  Fixture fixture;
  const std::string metrics = fixture.serve(throw_internal, "{}");
  CHECK(fixture.response.status == 500);
  CHECK(contains(fixture.response.body, "internal error"));
  CHECK_FALSE(contains(fixture.response.body, "boom"));  // internals stay in the log
  CHECK(contains(metrics, "{path=\"/mutate\",result=\"error\"} 1\n"));
}

TEST_CASE("a malformed review answers 400 naming the field", "[server]") {
  Fixture fixture;
  const std::string metrics = fixture.serve(throw_input, "{}");
  CHECK(fixture.response.status == 400);
  CHECK(contains(fixture.response.body, "request.uid: missing"));
  CHECK(contains(metrics, "{path=\"/mutate\",result=\"bad-request\"} 1\n"));
}

TEST_CASE("a body over the limit answers 413 before any review", "[server]") {
  Fixture fixture;
  const std::string metrics = fixture.serve(throw_internal, std::string(2000, ' '), 1024);
  CHECK(fixture.response.status == 413);
  CHECK(contains(metrics, "result=\"too-large\"} 1\n"));
  CHECK(contains(metrics, "result=\"error\"} 0\n"));
}

TEST_CASE("a non-JSON content type answers 415", "[server]") {
  Fixture fixture;
  fixture.request.content_type = "application/yaml";
  const std::string metrics = fixture.serve(throw_internal, "{}");
  CHECK(fixture.response.status == 415);
  CHECK(contains(metrics, "result=\"unsupported-media-type\"} 1\n"));
}

TEST_CASE("a body up to the limit is reviewed, one byte more answers 413", "[server]") {
  Fixture fixture;
  fixture.serve(throw_internal, "0123456789", 10);
  CHECK(fixture.response.status == 500);  // reviewed (and failed)
  Fixture over;
  const std::string metrics = over.serve(throw_internal, "0123456789A", 10);
  CHECK(over.response.status == 413);
  CHECK(contains(over.response.body, "request body larger than 10 bytes"));
  CHECK(contains(metrics, "result=\"too-large\"} 1\n"));
}

TEST_CASE("a missing content type answers 415", "[server]") {
  Fixture fixture;
  fixture.request.content_type.clear();
  fixture.serve(throw_internal, "{}");
  CHECK(fixture.response.status == 415);
  CHECK(fixture.response.content_type == "application/json");
}
