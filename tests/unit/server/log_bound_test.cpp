// Log fields and error answers written from pod data stay bounded (server/logging.h,
// server/review.cpp), whatever the review holds.
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "codec/errors.h"
#include "codec/json.h"
#include "core/config.h"
#include "core/pod_text.h"
#include "server/logging.h"
#include "server/review.h"
#include "server/state.h"

using namespace sigv4;
using namespace sigv4::server;

namespace {

std::string as_json(const LogValue& value) {
  std::string out;
  value.append_json(out);
  return out;
}

std::string as_text(const LogValue& value) {
  std::string out;
  value.append_text(out);
  return out;
}

}  // namespace

TEST_CASE("log string fields keep a bounded prefix and say how long they were", "[server][log]") {
  struct Row {
    std::string text;
    std::size_t max_json;  // the field as JSON, at most
    const char* mark;      // "" when kept whole
  };
  auto row = GENERATE(values<Row>({
      {std::string(kMaxLogStringBytes, 'n'), kMaxLogStringBytes + 2, ""},
      {std::string(kMaxLogStringBytes + 1, 'n'), kMaxLogStringBytes + 40, "...(1025 bytes)"},
      {std::string(4 << 20, 'n'), kMaxLogStringBytes + 40, "...(4194304 bytes)"},
      // Every byte escaped as \u0000: six bytes of line for each kept byte, still bounded.
      {std::string(1 << 20, '\0'), 6 * kMaxLogStringBytes + 40, "...(1048576 bytes)"},
  }));
  const std::string json = as_json(LogValue(row.text));
  CHECK(json.size() <= row.max_json);
  CHECK(json.find(row.mark) != std::string::npos);
  CHECK(Json::parse(json).is_string());
  const std::string text = as_text(LogValue(row.text));
  CHECK(text.size() <= row.max_json);
}

TEST_CASE("a long field is cut at a character boundary", "[server][log]") {
  std::string accents;
  while (accents.size() < 3 * kMaxLogStringBytes) {
    accents += "\xc3\xa9";
  }
  accents = "x" + accents;  // a character straddles the bound
  const Json parsed = Json::parse(as_json(LogValue(accents)));
  CHECK(parsed.get<std::string>().find("\xef\xbf\xbd") == std::string::npos);  // no U+FFFD
}

TEST_CASE("text lines write control characters escaped and never raw", "[server][log]") {
  CHECK(as_text(LogValue("a\x1b[2Jb")) == R"("a\u001b[2Jb")");
  CHECK(as_text(LogValue("a\rb")) == R"("a\rb")");
  CHECK(as_text(LogValue("del\x7f")) == "\"del\x7f\"");  // quoted; JSON leaves DEL as is
  CHECK(as_text(LogValue("web-7d4b9")) == "web-7d4b9");
}

TEST_CASE("a structured field too long is written as a bounded string", "[server][log]") {
  Json many = Json::array();
  for (int i = 0; i < 10000; ++i) {
    many.push_back(std::string(100, 'w'));
  }
  const std::string json = as_json(LogValue(many));
  CHECK(json.size() <= kMaxLogJsonBytes + 40);
  CHECK(Json::parse(json).is_string());
  const Json small = Json::array({"w1", "w2"});
  CHECK(as_json(LogValue(small)) == R"(["w1","w2"])");
}

namespace {

ReviewResult throw_huge(std::string_view, const Config&, Route, const JsonLimits&) {
  throw InputError("apiVersion", "got \"" + std::string(1 << 20, 'x') + "\"");
}

}  // namespace

TEST_CASE("a 400 answer quotes a bounded message", "[server][log]") {
  ServerState state;
  state.config.store(std::make_shared<const Config>(default_config()));
  RequestHead request;
  request.content_type = "application/json";
  Response response;
  ReviewRoute route{&state, Route::kMutate, {}, 1024, &throw_huge};
  serve_review(route, request, "{}", response);
  CHECK(response.status == 400);
  CHECK(response.body.size() <= kMaxMessageBytes + 200);
  const Json body = Json::parse(response.body);
  CHECK(body["message"].get<std::string>().find("apiVersion: got \"xxxx") == 0);
}
