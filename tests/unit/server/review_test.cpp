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

// A ContentReader that delivers `body` in chunks of `chunk` bytes.
httplib::ContentReader reader_of(std::string body, std::size_t chunk = 7) {
  return httplib::ContentReader(
      [body, chunk](const httplib::ContentReceiver& receiver) {
        for (std::size_t at = 0; at < body.size(); at += chunk) {
          if (!receiver(body.data() + at, std::min(chunk, body.size() - at))) {
            return false;
          }
        }
        return true;
      },
      [](const httplib::MultipartContentHeader&, const httplib::ContentReceiver&) {
        return false;
      });
}

ReviewResult throw_internal(std::string_view, const Config&, Route, const JsonLimits&) {
  throw std::logic_error("boom");
}

ReviewResult throw_input(std::string_view, const Config&, Route, const JsonLimits&) {
  throw InputError("request.uid", "missing");
}

struct Fixture {
  ServerState state;
  httplib::Request request;
  httplib::Response response;

  Fixture() {
    state.config.store(std::make_shared<const Config>(default_config()));
    request.set_header("Content-Type", "application/json");
  }
  std::string serve(Reviewer reviewer, const std::string& body, std::size_t max = 1024) {
    ReviewRoute route{&state, Route::kMutate, {}, max, reviewer};
    serve_review(route, request, response, reader_of(body));
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
  fixture.request.headers.clear();
  fixture.request.set_header("Content-Type", "application/yaml");
  const std::string metrics = fixture.serve(throw_internal, "{}");
  CHECK(fixture.response.status == 415);
  CHECK(contains(metrics, "result=\"unsupported-media-type\"} 1\n"));
}

TEST_CASE("read_body keeps bodies up to the limit and refuses longer ones", "[server]") {
  std::string body;
  CHECK(read_body(reader_of("0123456789"), 10, body) == BodyRead::kComplete);
  CHECK(body == "0123456789");
  body.clear();
  CHECK(read_body(reader_of("0123456789A"), 10, body) == BodyRead::kTooLarge);
  CHECK(body.empty());
  // The reader is told to stop at the limit: too large, not broken.
  CHECK(read_body(reader_of(std::string(100, 'x')), 10, body) == BodyRead::kTooLarge);
}
