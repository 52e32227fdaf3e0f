// The manifest reader against kubectl's own reading (issue 17): every expectation below is what
// `kubectl patch --local -f FILE --type=json -p '[]' -o json` (v1.37) printed for the same input.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "codec/errors.h"
#include "codec/manifests.h"

using namespace sigv4;

namespace {

std::string kinds(const std::vector<Json>& docs) {
  std::string out;
  for (const auto& d : docs) {
    out += (out.empty() ? "" : ",") + (d.is_object() ? d.value("kind", "?") : d.dump());
  }
  return out;
}

std::string error_of(const std::string& text) {
  try {
    read_documents(text, "t");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("JSON streams are read as kubectl reads them", "[manifests]") {
  struct Case {
    const char* text;
    const char* kinds;  // or the start of the error
  };
  const std::string a = R"({"kind":"A"})";
  auto c = GENERATE(values<Case>({
      {R"({"kind":"A"}{"kind":"B"}{"kind":"C"})", "A,B,C"},
      {"{\"kind\":\"A\"}\n{\"kind\":\"B\"}\n", "A,B"},
      {"{\"kind\":\"A\"}\n---\n{\"kind\":\"B\"}\n---\n{\"kind\":\"C\"}\n", "A,B,C"},
      {"{\"kind\":\"A\"}\r\n---\r\n{\"kind\":\"B\"}\r\n", "A,B"},
      {"{\"kind\":\"A\"}\n--- # c\n{\"kind\":\"B\"}\n", "A,B"},
      {"{\"kind\":\"A\"}\n---\nkind: Yy\n---\n{\"kind\":\"B\"}\n", "A,Yy,B"},
      {"{\"kind\":\"A\"}\nkind: Yy\n", "A,Yy"},
      {"{\"kind\":\"A\"} # c\n{\"kind\":\"B\"}\n", "A,B"},
      {"{\"kind\":\"A\"}\nnull\n{\"kind\":\"B\"}", "A,B"},
      {"{kind: F}\n---\nkind: Yy\n", "F,Yy"},  // not JSON: all YAML
      {"{\"kind\": \"A\", }\n", "A"},          // trailing comma: YAML reads it
      {"\n\n  {\"kind\":\"A\"}\n---\n{\"kind\":\"B\"}", "A,B"},
      // Two values read, then one that does not parse: kubectl stops with an error.
      {"{\"kind\":\"A\"}{\"kind\":\"B\"}\n---\n{\"kind\":\"C\"}\n", "t: document 2: line 2"},
      {"{\"kind\":\"A\"}\n{\"kind\":\"B\"}\n{\"kind\": }\n", "t: document 2: line 3"},
  }));
  INFO(c.text);
  if (std::string(c.kinds).rfind("t: ", 0) == 0) {
    CHECK_THAT(error_of(c.text), Catch::Matchers::StartsWith(c.kinds));
  } else {
    CHECK(kinds(read_documents(c.text, "t")) == c.kinds);
  }
}

TEST_CASE("YAML values resolve as kubectl resolves them", "[manifests]") {
  struct Case {
    const char* yaml;
    const char* json;  // kubectl's value, or "error: ..." for its refusal
  };
  auto c = GENERATE(values<Case>({
      {"y", "true"},
      {"NO", "false"},
      {"On", "true"},
      {"tRUE", "\"tRUE\""},
      {"~", "null"},
      {"Null", "null"},
      {"0755", "493"},
      {"0O17", "15"},
      {"-0b101", "-5"},
      {"+0b101", "5"},
      {"0x_1F", "31"},
      {"09", "9"},
      {"1.", "1"},
      {"1.0", "1"},
      {"0.0", "0"},
      {"+.5", "0.5"},
      {"1e3", "1000"},
      {"1e20", "1e+20"},  // kubectl prints 100000000000000000000
      {"1e21", "1e+21"},
      {"1e400", "\"1e400\""},
      {".5e400", "\".5e400\""},
      {"._5", "\"._5\""},
      {".5_5", "0.55"},
      {"1_0.5", "10.5"},
      {"0x", "\"0x\""},
      {"0x1p3", "\"0x1p3\""},
      {"1:20", "\"1:20\""},
      {"0b2", "\"0b2\""},
      {"9223372036854775807", "9223372036854775807"},
      {"-9223372036854775808", "-9223372036854775808"},
      {"18446744073709551615", "1.8446744073709552e+19"},
      {"2001-12-14", "\"2001-12-14\""},
      {"2001-12-14T21:59:43.10-05:00", "\"2001-12-14T21:59:43.10-05:00\""},
      {"2001-12-14 21:59:43.10", "\"2001-12-14 21:59:43.10\""},
      {".inf", "error: JSON cannot hold .inf"},
      {"-.Inf", "error: JSON cannot hold -.Inf"},
      {".NaN", "error: JSON cannot hold .NaN"},
      // Tags.
      {"!!str 1", "\"1\""},
      {"!!int \"7\"", "7"},
      {"!!int 0x10", "16"},
      {"!!float 7", "7"},
      {"!!float \"1.5\"", "1.5"},
      {"!!bool \"on\"", "true"},
      {"!!null \"\"", "null"},
      {"!!timestamp 2001-12-14", "\"2001-12-14\""},
      {"!!int abc", "error: cannot decode !!str `abc` as a !!int"},
      {"!!int 1.5", "error: cannot decode !!float `1.5` as a !!int"},
      {"!!bool 1", "error: cannot decode !!int `1` as a !!bool"},
      {"!!null foo", "error: cannot decode !!str `foo` as a !!null"},
      {"!!timestamp foo", "error: cannot decode !!str `foo` as a !!timestamp"},
      {"!!float 1e400", "error: cannot decode !!str `1e400` as a !!float"},
      {"!!map foo", "\"foo\""},
      {"!foo 7", "\"7\""},
      {"! 7", "\"7\""},
      {"!foo yes", "\"yes\""},
      {"!<tag:yaml.org,2002:int> \"5\"", "5"},
      {"!!seq {a: 1}", "{\"a\":1}"},
      {"!!binary aGVsbG8=", "\"hello\""},
      {"!!binary \"\"", "\"\""},
      {"!!binary AA==", "\"\\u0000\""},
      {"!!binary /w==", "\"\xef\xbf\xbd\""},  // not UTF-8: U+FFFD per byte, as Go writes
      {"!!binary 7aCA", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},
      {"!!binary aGVsbG8", "error: !!binary value contains invalid base64 data"},
      {"!!binary \"aGVs bG8=\"", "error: !!binary value contains invalid base64 data"},
  }));
  INFO(c.yaml);
  const std::string text = std::string("x: ") + c.yaml + "\n";
  const std::string want = c.json;
  if (want.rfind("error: ", 0) == 0) {
    CHECK_THAT(error_of(text),
               Catch::Matchers::Contains("t: document 0: line 1: x: " + want.substr(7)));
  } else {
    CHECK(read_documents(text, "t").at(0)["x"].dump() == want);
  }
}

TEST_CASE("YAML keys become the strings kubectl makes of them", "[manifests]") {
  struct Case {
    const char* yaml;
    const char* key;  // or "error: ..."
  };
  auto c = GENERATE(values<Case>({
      {"on", "true"},
      {"Y", "true"},
      {"off", "false"},
      {"n", "false"},
      {"1", "1"},
      {"0755", "493"},
      {"0x1F", "31"},
      {"0b11", "3"},
      {"1_000", "1000"},
      {"-1", "-1"},
      {"1.5", "1.5"},
      {"0.1", "0.1"},
      {"1.0", "1"},
      {"3.14159265358979", "3.1415927"},
      {"1e3", "1000"},
      {"1e6", "1e+06"},
      {"1e7", "1e+07"},
      {"1e20", "1e+20"},
      {"1e-5", "1e-05"},
      {"0.0001", "0.0001"},
      {"123456.7", "123456.7"},
      {"-0.0", "-0"},
      {"0.30000000000000004", "0.3"},
      {"1e300", ".inf"},
      {".inf", ".inf"},
      {"-.inf", "-.inf"},
      {".nan", ".nan"},
      {"1e400", "1e400"},
      {"2001-12-14", "2001-12-14"},
      {"\"on\"", "on"},
      {"'1'", "1"},
      {"!!str on", "on"},
      {"!!int \"7\"", "7"},
      {"!foo 7", "7"},
      {"!!binary aGVsbG8=", "hello"},
      {"~", "error: a null mapping key"},
      {"null", "error: a null mapping key"},
      {"!!null \"\"", "error: a null mapping key"},
      {"18446744073709551615", "error: the mapping key 18446744073709551615 is past int64"},
  }));
  INFO(c.yaml);
  const std::string text = std::string("m:\n  ") + c.yaml + ": v\n";
  const std::string want = c.key;
  if (want.rfind("error: ", 0) == 0) {
    CHECK_THAT(error_of(text), Catch::Matchers::Contains(want.substr(7)));
  } else {
    CHECK(read_documents(text, "t").at(0)["m"] == Json{{want, "v"}});
  }
}

TEST_CASE("keys that become the same string are refused unless kubectl keeps the last",
          "[manifests]") {
  // Same Go value twice (on, yes): the last wins, as in kubectl. Different Go values or types
  // that print alike (1 and "1", 0.3 and 0.30000000000000004): kubectl keeps one at random.
  CHECK(read_documents("on: a\nyes: b\n", "t").at(0) == Json{{"true", "b"}});
  CHECK(read_documents("1: a\n01: b\n", "t").at(0) == Json{{"1", "b"}});
  for (const char* text : {"1: a\n\"1\": b\n", "\"true\": a\non: b\n", "1.0: a\n1: b\n",
                           "0.3: a\n0.30000000000000004: b\n"}) {
    INFO(text);
    CHECK_THAT(error_of(text), Catch::Matchers::Contains("kubectl keeps one at random"));
  }
}

TEST_CASE("the writer quotes every string another reader could take for something else",
          "[manifests]") {
  auto s = GENERATE(as<std::string>{}, "on", "y", "NO", "~", "null", "1", "0755", "0o17", "0x1F",
                    "1_000", "1e3", "1e400", ".5", "._5", "1.2.3", "1:20", "2001-12-14",
                    "2001-12-14 21:59:43.10", "2001-12-14T21:59:43.10-05:00", ".inf", ".nan", "=",
                    "<<", "0b101", "+1", "-.5");
  INFO(s);
  Json doc = {{"v", s}, {s, "key"}};
  const std::string yaml = write_documents({doc}, Format::kYaml);
  CHECK(yaml.find("\"" + s + "\"") != std::string::npos);
  CHECK(yaml.find("v: " + s + "\n") == std::string::npos);
  CHECK(read_documents(yaml, "t").at(0) == doc);
  // Plain where nothing could misread it.
  CHECK(write_documents({Json{{"m", "1Gi"}, {"i", "nginx:1.25"}}}, Format::kYaml) ==
        "m: 1Gi\ni: nginx:1.25\n");
}

TEST_CASE("nesting past the YAML reader's bound is an error naming the line", "[manifests]") {
  std::string deep;
  for (int i = 0; i < 2000; ++i) {
    deep += "- ";
  }
  deep += "x\n";
  CHECK_THAT(error_of("a: 1\n---\n" + deep), Catch::Matchers::Contains("t: line 3"));
  CHECK_THAT(error_of("a: 1\n---\n" + deep), Catch::Matchers::Contains("nested deeper than"));
  const std::string flow = std::string(2000, '[') + std::string(2000, ']');
  CHECK_THAT(error_of("a: " + flow), Catch::Matchers::Contains("nested deeper than"));
  // JSON reads to 512 levels.
  CHECK_NOTHROW(read_documents(std::string(500, '[') + std::string(500, ']'), "t"));
  CHECK_THAT(error_of(std::string(600, '[') + std::string(600, ']')),
             Catch::Matchers::Contains("t: document 0: line 1: JSON nested deeper than 512"));
}
