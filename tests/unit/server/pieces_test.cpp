#include <sys/resource.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "codec/errors.h"
#include "server/address.h"
#include "server/fdlimit.h"
#include "server/frontend.h"
#include "server/http.h"
#include "server/logging.h"
#include "server/metrics.h"
#include "server/routes.h"
#include "server/tls.h"

using namespace sigv4;
using namespace sigv4::server;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("listen addresses parse as host:port", "[server]") {
  auto [text, host, port] = GENERATE(table<std::string, std::string, int>({
      {":8443", "", 8443},
      {"127.0.0.1:0", "127.0.0.1", 0},
      {"0.0.0.0:9090", "0.0.0.0", 9090},
      {"[::1]:8443", "::1", 8443},
      {"localhost:65535", "localhost", 65535},
  }));
  CAPTURE(text);
  const ListenAddress address = parse_listen_address(text, "--listen");
  CHECK(address.host == host);
  CHECK(address.port == port);
}

TEST_CASE("bad listen addresses name the flag", "[server]") {
  auto text = GENERATE("8443", "host:", ":65536", ":-1", ":80x", "::1:8443", "");
  CAPTURE(text);
  try {
    parse_listen_address(text, "--metrics-listen");
    FAIL("accepted");
  } catch (const InputError& error) {
    CHECK(error.where() == "--metrics-listen");
  }
}

TEST_CASE("listen addresses print back with brackets for IPv6", "[server]") {
  CHECK(to_string(ListenAddress{"127.0.0.1", 8443}) == "127.0.0.1:8443");
  CHECK(to_string(ListenAddress{"::1", 0}) == "[::1]:0");
  CHECK(to_string(ListenAddress{"", 8443}) == ":8443");
}

TEST_CASE("only JSON content types are accepted", "[server]") {
  CHECK(is_json_content_type("application/json"));
  CHECK(is_json_content_type("application/json; charset=utf-8"));
  CHECK(is_json_content_type("Application/JSON"));
  CHECK_FALSE(is_json_content_type(""));
  CHECK_FALSE(is_json_content_type("text/plain"));
  CHECK_FALSE(is_json_content_type("application/jsonx"));
  CHECK_FALSE(is_json_content_type("application/yaml"));
}

TEST_CASE("metrics render counters, skips and a cumulative histogram", "[server]") {
  Metrics metrics;
  metrics.count_request(Route::kMutate, Result::kInjected);
  metrics.count_request(Route::kMutate, Result::kInjected);
  metrics.count_request(Route::kMutateAnnotated, Result::kBadRequest);
  metrics.count_request(Route::kMutatePodSecurity, Result::kInjected);
  metrics.count_request(Route::kMutateAnnotatedPodSecurity, Result::kSkipped);
  metrics.count_decision(Decision{true, {Reason::kSelected}});
  metrics.count_decision(Decision{false, {Reason::kHostNetwork, Reason::kJobLegacyMode}});
  metrics.observe_duration(std::chrono::microseconds(30));   // first bucket (50us)
  metrics.observe_duration(std::chrono::microseconds(700));  // 1ms bucket
  metrics.observe_duration(std::chrono::seconds(3));         // +Inf only
  metrics.count_config_reload(true);
  metrics.count_config_reload(false);
  metrics.count_config_reload(false);
  const std::string text = metrics.render(true);

  CHECK(contains(
      text, "sigv4_injector_admission_requests_total{path=\"/mutate\",result=\"injected\"} 2\n"));
  CHECK(contains(text, "{path=\"/mutate/annotated\",result=\"bad-request\"} 1\n"));
  CHECK(contains(text, "{path=\"/mutate/pod-security\",result=\"injected\"} 1\n"));
  CHECK(contains(text, "{path=\"/mutate/annotated/pod-security\",result=\"skipped\"} 1\n"));
  CHECK(contains(text, "{path=\"/mutate/pod-security\",result=\"skipped\"} 0\n"));
  CHECK(contains(text, "sigv4_injector_injections_total 1\n"));
  CHECK(contains(text, "sigv4_injector_skips_total{reason=\"host-network\"} 1\n"));
  CHECK(contains(text, "sigv4_injector_skips_total{reason=\"job-legacy-mode\"} 1\n"));
  CHECK_FALSE(contains(text, "reason=\"selected\""));
  CHECK(contains(text, "sigv4_injector_admission_duration_seconds_bucket{le=\"5e-05\"} 1\n"));
  CHECK(contains(text, "sigv4_injector_admission_duration_seconds_bucket{le=\"0.0005\"} 1\n"));
  CHECK(contains(text, "sigv4_injector_admission_duration_seconds_bucket{le=\"0.001\"} 2\n"));
  CHECK(contains(text, "sigv4_injector_admission_duration_seconds_bucket{le=\"1\"} 2\n"));
  CHECK(contains(text, "sigv4_injector_admission_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
  CHECK(contains(text, "sigv4_injector_admission_duration_seconds_count 3\n"));
  CHECK(contains(text, "sigv4_injector_admission_duration_seconds_sum 3.00073\n"));
  CHECK(contains(text, "sigv4_injector_config_reloads_total{result=\"success\"} 1\n"));
  CHECK(contains(text, "sigv4_injector_config_reloads_total{result=\"failure\"} 2\n"));
  CHECK(contains(text, "# TYPE sigv4_injector_admission_duration_seconds histogram\n"));
  CHECK(contains(text, "sigv4_injector_ready 1\n"));
}

TEST_CASE("metrics render the connection counters per listener", "[server]") {
  Metrics metrics;
  metrics.add_open_connections(Listener::kWebhook, 3);
  metrics.add_open_connections(Listener::kWebhook, -1);
  metrics.count_evicted(Listener::kMetrics);
  metrics.count_refused(Listener::kWebhook);
  metrics.count_accept_pause(Listener::kWebhook);
  metrics.count_accept_pause(Listener::kWebhook);
  const std::string text = metrics.render(true);
  CHECK(contains(text, "sigv4_injector_open_connections{listener=\"webhook\"} 2\n"));
  CHECK(contains(text, "sigv4_injector_open_connections{listener=\"metrics\"} 0\n"));
  CHECK(contains(text, "sigv4_injector_connections_evicted_total{listener=\"metrics\"} 1\n"));
  CHECK(contains(text, "sigv4_injector_connections_refused_total{listener=\"webhook\"} 1\n"));
  CHECK(contains(text, "sigv4_injector_accept_pauses_total{listener=\"webhook\"} 2\n"));
  CHECK(contains(text, "# TYPE sigv4_injector_open_connections gauge\n"));
}

TEST_CASE("generated certificates parse and cover the service names", "[server]") {
  CertRequest request;
  request.common_name = "svc.ns.svc";
  request.dns_names = service_dns_names("svc", "ns");
  request.ip_addresses = {"127.0.0.1"};
  const CertBundle bundle = generate_certificates(request);
  CHECK(request.dns_names ==
        std::vector<std::string>{"svc", "svc.ns", "svc.ns.svc", "svc.ns.svc.cluster.local"});
  CHECK(contains(bundle.ca_cert, "BEGIN CERTIFICATE"));
  CHECK(contains(bundle.key, "BEGIN PRIVATE KEY"));
  CHECK(parse_identity(bundle.cert, bundle.key) != nullptr);
  // A chain (leaf then CA) parses too.
  CHECK(parse_identity(bundle.cert + bundle.ca_cert, bundle.key) != nullptr);

  const CertBundle other = generate_certificates(request);
  CHECK_THROWS_WITH(parse_identity(bundle.cert, other.key), Catch::Contains("does not match"));
  CHECK_THROWS(parse_identity("garbage", bundle.key));
  CHECK_THROWS(parse_identity(bundle.cert, "garbage"));
  request.ip_addresses = {"not-an-ip"};
  CHECK_THROWS_WITH(generate_certificates(request), Catch::Contains("not-an-ip"));
}

TEST_CASE("log values keep their JSON type, and text values quote only when needed", "[server]") {
  struct Row {
    LogValue value;
    const char* json;
    const char* text;
  };
  std::string lvalue = "web-7d4b9";
  const Row rows[] = {
      {LogValue("plain"), R"("plain")", "plain"},
      {LogValue(lvalue), R"("web-7d4b9")", "web-7d4b9"},
      {LogValue(std::string("a temporary string longer than sixteen")),
       R"("a temporary string longer than sixteen")",
       R"("a temporary string longer than sixteen")"},
      {LogValue(std::string_view("k=v")), R"("k=v")", R"("k=v")"},
      {LogValue(""), R"("")", R"("")"},
      {LogValue("quote\"\n"), R"("quote\"\n")", R"("quote\"\n")"},
      {LogValue("caf\xc3\xa9"), "\"caf\xc3\xa9\"", "caf\xc3\xa9"},
      {LogValue(std::int64_t{-42}), "-42", "-42"},
      {LogValue(std::uint16_t{8443}), "8443", "8443"},
      {LogValue(true), "true", "true"},
      {LogValue(Json::array({"w1", "w 2"})), R"(["w1","w 2"])", R"(["w1","w 2"])"},
  };
  for (const auto& row : rows) {
    std::string json;
    std::string text;
    row.value.append_json(json);
    row.value.append_text(text);
    CHECK(json == row.json);
    CHECK(text == row.text);
  }
}

TEST_CASE("request heads parse as HTTP/1.1 says, and malformed ones name the problem", "[server]") {
  RequestHead head;
  REQUIRE(parse_request_head("POST /mutate?timeout=10s HTTP/1.1\r\nHost: x\r\n"
                             "content-type: application/json\r\nContent-Length:  4284 \r\n"
                             "Expect: 100-continue",
                             head)
              .empty());
  CHECK(head.method == "POST");
  CHECK(head.path == "/mutate");  // the apiserver adds ?timeout=
  CHECK(head.content_type == "application/json");
  CHECK(head.has_length);
  CHECK(head.content_length == 4284);
  CHECK(head.expect_continue);
  CHECK(head.keep_alive);
  CHECK_FALSE(head.chunked);

  head = {};
  REQUIRE(parse_request_head("GET /%72eadyz HTTP/1.0\r\nConnection: Keep-Alive", head).empty());
  CHECK(head.path == "/readyz");
  CHECK(head.http10);
  CHECK(head.keep_alive);
  head = {};
  REQUIRE(parse_request_head("GET /healthz HTTP/1.0", head).empty());
  CHECK_FALSE(head.keep_alive);  // HTTP/1.0 closes unless asked
  head = {};
  REQUIRE(parse_request_head("POST /mutate HTTP/1.1\r\nConnection: te, close\r\n"
                             "Transfer-Encoding: Chunked",
                             head)
              .empty());
  CHECK_FALSE(head.keep_alive);
  CHECK(head.chunked);

  const std::pair<const char*, const char*> bad[] = {
      {"", "malformed request line"},
      {"GET /healthz", "malformed request line"},
      {"GET  /healthz HTTP/1.1", "malformed request line"},
      {"GET /healthz HTTP/2.0", "unsupported HTTP version"},
      {"get /healthz HTTP/1.1", "malformed method"},
      {"GET healthz HTTP/1.1", "malformed request target"},
      {"GET /healthz HTTP/1.1\r\nNoColon", "malformed header line"},
      {"GET /healthz HTTP/1.1\r\n folded: value", "malformed header line"},
      {"GET /healthz HTTP/1.1\r\nBad Name: v", "malformed header line"},
      {"POST /mutate HTTP/1.1\r\nContent-Length: -1", "invalid Content-Length"},
      {"POST /mutate HTTP/1.1\r\nContent-Length: 12x", "invalid Content-Length"},
      {"POST /mutate HTTP/1.1\r\nContent-Length: 99999999999999999999999",
       "invalid Content-Length"},
      {"POST /mutate HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2", "invalid Content-Length"},
      {"POST /mutate HTTP/1.1\r\nTransfer-Encoding: gzip, chunked",
       "unsupported Transfer-Encoding"},
      {"POST /mutate HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3",
       "both Content-Length and Transfer-Encoding"},
  };
  for (const auto& [text, problem] : bad) {
    INFO(text);
    RequestHead h;
    CHECK(parse_request_head(text, h) == problem);
  }
}

TEST_CASE("header fields are tokens with clean values, and a head has at most 100", "[server]") {
  using namespace std::string_literals;
  const std::string line = "GET /healthz HTTP/1.1\r\n";
  // RFC 9110 5.5: no control character in a value but HTAB; another parser may split a line at
  // a bare CR or LF, or stop at a NUL, and read another request than we did.
  for (const std::string& value :
       {"a\rb"s, "a\nb"s, "a\0b"s, "a\x7f"s, "\x1b[31m"s, "a\r"s, "\x01"s}) {
    INFO(value);
    RequestHead head;
    CHECK(parse_request_head(line + "X-Value: " + value, head) == "malformed header line");
    head = {};
    CHECK(parse_request_head(line + "Content-Type: application/json" + value, head) ==
          "malformed header line");
  }
  for (const std::string& name : {"X(a)"s, "X\0"s, "X\r"s, "X/Y"s, "\xc3\xa9"s, ""s}) {
    INFO(name);
    RequestHead head;
    CHECK(parse_request_head(line + name + ": v", head) == "malformed header line");
  }
  RequestHead head;
  CHECK(parse_request_head(line + "X-Value: caf\xc3\xa9\tand \"quotes\"", head).empty());
  head = {};
  CHECK(parse_request_head(line + "X-Empty:", head).empty());
  head = {};
  CHECK(parse_request_head("GET /heal\x01thz HTTP/1.1", head) == "malformed request target");

  std::string fields = line;
  for (std::size_t i = 0; i < kMaxHeaderFields; ++i) {
    fields += "X-" + std::to_string(i) + ": 1\r\n";
  }
  head = {};
  CHECK(parse_request_head(fields.substr(0, fields.size() - 2), head).empty());
  head = {};
  CHECK(parse_request_head(fields + "One-More: 1", head) == kTooManyFields);
}

TEST_CASE("chunk extensions and trailers are held to the header rules", "[server]") {
  RequestHead head;
  REQUIRE(parse_request_head("POST /mutate HTTP/1.1\r\nTransfer-Encoding: chunked", head).empty());
  auto status = [&head](const std::string& in) {
    BodyReader reader;
    reader.start(head, 100, 1000);
    std::string bytes = in;
    return reader.feed(bytes);
  };
  using S = BodyReader::Status;
  using namespace std::string_literals;
  CHECK(status("1;name=value\r\nx\r\n0\r\nT: v\r\n\r\n") == S::kDone);
  CHECK(status("1;a\rb\r\nx\r\n0\r\n\r\n") == S::kMalformed);
  CHECK(status("1;a\0b\r\nx\r\n0\r\n\r\n"s) == S::kMalformed);
  CHECK(status("1\r\nx\r\n0\r\nT: a\0b\r\n\r\n"s) == S::kMalformed);
  CHECK(status("1\r\nx\r\n0\r\nT: a\rb\r\n\r\n") == S::kMalformed);
  CHECK(status("1\r\nx\r\n0\r\nno colon\r\n\r\n") == S::kMalformed);
  std::string many = "0\r\n";
  for (std::size_t i = 0; i <= kMaxHeaderFields; ++i) {
    many += "T: 1\r\n";
  }
  CHECK(status(many + "\r\n") == S::kMalformed);
}

TEST_CASE("a body fed as a view advances it, a byte at a time or at once", "[server]") {
  RequestHead head;
  REQUIRE(parse_request_head("POST /mutate HTTP/1.1\r\nTransfer-Encoding: chunked", head).empty());
  std::string chunks;
  for (int i = 0; i < 1000; ++i) {
    chunks += "1\r\n" + std::string(1, static_cast<char>('a' + i % 26)) + "\r\n";
  }
  chunks += "0\r\nTrailer: t\r\n\r\nNEXT";
  BodyReader whole;
  whole.start(head, 2000, 2000);
  std::string_view view(chunks);
  REQUIRE(whole.feed(view) == BodyReader::Status::kDone);
  CHECK(view == "NEXT");
  CHECK(whole.body().size() == 1000);
  CHECK(whole.seen() == 1000);
  // A byte at a time, as a client dripping it would send it: the same body, the same rest.
  BodyReader drip;
  drip.start(head, 2000, 2000);
  std::string in;
  auto status = BodyReader::Status::kMore;
  std::size_t at = 0;
  while (status == BodyReader::Status::kMore && at < chunks.size()) {
    in += chunks[at++];
    std::string_view rest(in);
    status = drip.feed(rest);
    in.erase(0, in.size() - rest.size());
  }
  CHECK(status == BodyReader::Status::kDone);
  CHECK(drip.body() == whole.body());
  CHECK(in + chunks.substr(at) == "NEXT");
}

TEST_CASE("request bodies are framed by length or chunks, kept to a bound, capped", "[server]") {
  auto read = [](const char* head_text, std::string in, std::uint64_t keep, std::uint64_t limit,
                 std::string* body = nullptr) {
    RequestHead head;
    REQUIRE(parse_request_head(head_text, head).empty());
    BodyReader reader;
    reader.start(head, keep, limit);
    const auto status = reader.feed(in);
    if (body != nullptr) {
      *body = reader.body() + "|" + in;  // what was kept | what follows the body
    }
    return status;
  };
  using S = BodyReader::Status;
  const char* chunked = "POST /mutate HTTP/1.1\r\nTransfer-Encoding: chunked";
  const char* length5 = "POST /mutate HTTP/1.1\r\nContent-Length: 5";
  std::string body;
  CHECK(read(length5, "helloGET", 100, 100, &body) == S::kDone);
  CHECK(body == "hello|GET");
  CHECK(read(length5, "hel", 100, 100) == S::kMore);
  CHECK(read(length5, "hello", 2, 100, &body) == S::kDone);
  CHECK(body == "he|");  // counted, not kept
  CHECK(read(length5, "", 100, 4) == S::kTooLong);
  CHECK(read(chunked, "5;x=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nT: 1\r\n\r\nnext", 100, 100,
             &body) == S::kDone);
  CHECK(body == "hello0123456789|next");
  CHECK(read(chunked, "5\r\nhel", 100, 100) == S::kMore);
  CHECK(read(chunked, "g\r\n", 100, 100) == S::kMalformed);
  CHECK(read(chunked, "5\r\nhelloXX", 100, 100) == S::kMalformed);
  CHECK(read(chunked, std::string(2000, '1'), 100, 100) == S::kMalformed);
  CHECK(read(chunked, "ffffffff\r\n", 100, 1000) == S::kTooLong);
  // A claimed length is not an allocation (fuzzing found reserve(2e17)).
  CHECK(read("PUT /x HTTP/1.1\r\nContent-Length: 222222222222222200", "0000", UINT64_MAX,
             UINT64_MAX) == S::kMore);
}

TEST_CASE("answers are written with their length and the connection's fate", "[server]") {
  Response res;
  res.status = 405;
  res.allow = "POST";
  res.content_type = "application/json";
  res.body = "{}";
  std::string out = "pending|";
  append_response(out, res, true, false);
  CHECK(out ==
        "pending|HTTP/1.1 405 Method Not Allowed\r\nAllow: POST\r\n"
        "Content-Type: application/json\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}");
  out.clear();
  Response plain;  // 200, no headers of its own
  plain.body = "ok\n";
  append_response(out, plain, false, true);  // HEAD: the GET's length, no body
  CHECK(out == "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\n");
}

TEST_CASE("the soft descriptor limit is raised to the hard one", "[server]") {
  const FdLimit limit = raise_fd_limit();
  rlimit now{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &now) == 0);
  CHECK(now.rlim_cur == limit.soft);
  CHECK(limit.soft >= limit.before);
  if (now.rlim_max != RLIM_INFINITY) {
    CHECK(limit.soft == limit.hard);
  }
  CHECK(raise_fd_limit().before == limit.soft);  // a second call finds nothing to raise
}
