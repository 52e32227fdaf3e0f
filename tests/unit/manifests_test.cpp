#include <catch2/catch.hpp>

#include "core/errors.h"
#include "core/manifests.h"

using namespace sigv4;

TEST_CASE("YAML scalars resolve as kubectl resolves them", "[manifests]") {
  auto docs = read_documents(R"(
a: 1
b: "1"
c: true
d: "true"
e: yes
f: ~
g: 1.5
h: -3
i: :8080
j: 0755
k: 1e3
l: '08:00'
m: hello world
n: 0x1F
o: 1_000
p: 0o17
q: -0755
r: 09
s: 9223372036854775808
t: 1.
u: 0b101
)",
                             "t.yaml");
  REQUIRE(docs.size() == 1);
  const Json& d = docs[0];
  CHECK(d["a"] == 1);
  CHECK(d["b"] == "1");
  CHECK(d["c"] == true);
  CHECK(d["d"] == "true");
  CHECK(d["e"] == true);
  CHECK(d["f"].is_null());
  CHECK(d["g"] == 1.5);
  CHECK(d["h"] == -3);
  CHECK(d["i"] == ":8080");
  CHECK(d["k"] == 1000.0);
  CHECK(d["l"] == "08:00");
  CHECK(d["m"] == "hello world");
  // Numbers as kubectl's YAML reads them (Go's ParseInt with base 0, then ParseFloat).
  CHECK(d["j"] == 493);  // 0755: octal, as in a volume's defaultMode
  CHECK(d["n"] == 31);
  CHECK(d["o"] == 1000);
  CHECK(d["p"] == 15);
  CHECK(d["q"] == -493);
  CHECK(d["r"] == 9.0);
  CHECK(d["s"] == 9223372036854775808.0);
  CHECK(d["t"] == 1.0);
  CHECK(d["u"] == 5);
}

TEST_CASE("multi-document YAML keeps order and drops empty documents", "[manifests]") {
  auto docs = read_documents("---\nkind: A\n---\n---\nkind: B\n...\n", "t.yaml");
  REQUIRE(docs.size() == 2);
  CHECK(docs[0]["kind"] == "A");
  CHECK(docs[1]["kind"] == "B");
}

TEST_CASE("JSON input is read as JSON", "[manifests]") {
  auto docs = read_documents(R"(  {"kind": "Pod", "b": "1"})", "t.json");
  REQUIRE(docs.size() == 1);
  CHECK(docs[0]["b"] == "1");
  CHECK(detect_format(" \n[1]") == Format::kJson);
  CHECK(detect_format("kind: Pod") == Format::kYaml);
}

TEST_CASE("errors name the source and the document", "[manifests]") {
  try {
    read_documents("kind: A\n---\nkey: [unclosed\n", "bad.yaml");
    FAIL("accepted");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("bad.yaml") != std::string::npos);
  }
  try {
    read_documents("kind: A\n---\nx: .inf\n", "inf.yaml");
    FAIL("accepted");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("inf.yaml: document 1: x") != std::string::npos);
  }
  CHECK_THROWS_AS(read_documents("{\"a\":", "j.json"), InputError);
}

TEST_CASE("alias bombs are bounded", "[manifests]") {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'k'; ++c) {
    bomb += std::string(1, c) + ": &" + c + " [*" + prev + ", *" + prev + ", *" + prev + ", *" +
            prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev +
            ", *" + prev + "]\n";
    prev = c;
  }
  CHECK_THROWS_AS(read_documents(bomb, "bomb.yaml"), InputError);
}

TEST_CASE("written YAML reads back to the same JSON", "[manifests]") {
  Json doc = Json::parse(R"({
    "s": ["true", "1", "", ":8080", "- x", "a: b", "#c", "multi\nline\n", " padded", "plain"],
    "n": [1, -2, 1.5, true, false, null],
    "empty": {"m": {}, "a": []},
    "key/with~chars": "v"
  })");
  std::string yaml = write_documents({doc, doc}, Format::kYaml);
  auto back = read_documents(yaml, "round.yaml");
  REQUIRE(back.size() == 2);
  CHECK(back[0] == doc);
  CHECK(back[1] == doc);
  auto json_back = read_documents(write_documents({doc}, Format::kJson), "round.json");
  CHECK(json_back[0] == doc);
  Json list = read_documents(write_documents({doc, doc}, Format::kJson), "l.json")[0];
  CHECK(list["kind"] == "List");
  CHECK(list["items"].size() == 2);
}

TEST_CASE("multi-line strings keep their exact line ends through YAML", "[manifests]") {
  // Found by fuzz_manifests: a `|` block clips to one final newline, so other endings must be
  // written quoted.
  Json doc = Json::array({"no final newline\nx", "two final\nnewlines\n\n", "one\nfinal\n",
                          " leading space\nx\n", "\nleading newline\n", "trailing \nspace\n",
                          "tab\tinside\n", "carriage\r\nreturn\n", "only\n"});
  auto back = read_documents(write_documents({doc}, Format::kYaml), "lines.yaml");
  REQUIRE(back.size() == 1);
  CHECK(back[0] == doc);
}

TEST_CASE("YAML that is not valid UTF-8 is an input error naming the document", "[manifests]") {
  // Found by fuzz_manifests: yaml-cpp passes the bytes through, and writing them as JSON threw
  // nlohmann's type_error (an internal error instead of exit 1 with a message).
  for (const char* bad : {"a: b\xc9\n", "\xff: b\n", "a: \xc0\xaf\n", "a: \xed\xa0\x80\n",
                          "a: \xf4\x90\x80\x80\n", "a: [x, \"\xe2\x82\"]\n"}) {
    try {
      read_documents(std::string("kind: A\n---\n") + bad, "bad.yaml");
      FAIL("accepted " << bad);
    } catch (const InputError& e) {
      CHECK(std::string(e.what()).find("bad.yaml: document 1") != std::string::npos);
      CHECK(std::string(e.what()).find("UTF-8") != std::string::npos);
    }
  }
  auto docs = read_documents("a: \"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"\n", "ok.yaml");
  CHECK(docs.at(0)["a"] == "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

TEST_CASE("pod templates are found by kind", "[manifests]") {
  struct Case {
    const char* kind;
    const char* pointer;
  };
  auto c = GENERATE(values<Case>({{"Deployment", "/spec/template"},
                                  {"StatefulSet", "/spec/template"},
                                  {"DaemonSet", "/spec/template"},
                                  {"ReplicaSet", "/spec/template"},
                                  {"ReplicationController", "/spec/template"},
                                  {"Job", "/spec/template"},
                                  {"CronJob", "/spec/jobTemplate/spec/template"},
                                  {"Pod", ""}}));
  Json obj = {{"kind", c.kind}};
  if (std::string(c.pointer).empty()) {
    obj["spec"] = Json::object();
  } else {
    obj[Json::json_pointer(c.pointer)] = {{"spec", Json::object()}};
  }
  std::string pointer = "unset";
  CHECK(pod_template_pointer(obj, pointer));
  CHECK(pointer == c.pointer);
}

TEST_CASE("other kinds and incomplete workloads have no pod template", "[manifests]") {
  std::string pointer;
  CHECK_FALSE(pod_template_pointer(Json{{"kind", "Service"}}, pointer));
  CHECK_FALSE(pod_template_pointer(Json{{"kind", "Deployment"}}, pointer));
  CHECK_FALSE(
      pod_template_pointer(Json{{"kind", "Deployment"}, {"spec", {{"template", 3}}}}, pointer));
  CHECK_FALSE(pod_template_pointer(Json::array(), pointer));
  CHECK_FALSE(pod_template_pointer(Json{{"kind", 5}}, pointer));
}
