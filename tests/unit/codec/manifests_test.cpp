#include <catch2/catch.hpp>

#include "codec/errors.h"
#include "codec/manifests.h"

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
hex: 0x1F
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
  CHECK(d["hex"] == 31);
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
    CHECK(std::string(e.what()).find("inf.yaml: document 1: line 3: x") != std::string::npos);
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

TEST_CASE("YAML that is not valid UTF-8 is an input error naming the line", "[manifests]") {
  // Found by fuzz_manifests: yaml-cpp passes the bytes through, and writing them as JSON threw
  // nlohmann's type_error (an internal error instead of exit 1 with a message).
  for (const char* bad : {"a: b\xc9\n", "\xff: b\n", "a: \xc0\xaf\n", "a: \xed\xa0\x80\n",
                          "a: \xf4\x90\x80\x80\n", "a: [x, \"\xe2\x82\"]\n"}) {
    try {
      read_documents(std::string("kind: A\n---\n") + bad, "bad.yaml");
      FAIL("accepted " << bad);
    } catch (const InputError& e) {
      CHECK(std::string(e.what()).find("bad.yaml: line 3, column ") != std::string::npos);
      CHECK(std::string(e.what()).find("UTF-8") != std::string::npos);
    }
  }
  // An escape can spell a surrogate too.
  CHECK_THROWS_AS(read_documents("a: \"\\ud800\"\n", "esc.yaml"), InputError);
  auto docs = read_documents("a: \"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"\n", "ok.yaml");
  CHECK(docs.at(0)["a"] == "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

TEST_CASE("YAML text must be printable, as kubectl's YAML requires", "[manifests]") {
  // Found by fuzz_manifests: a leading NUL made yaml-cpp read the text as UTF-16 and turn bytes
  // it could not decode into U+FFFD, so the documents changed.
  struct Case {
    std::string text;
    std::string message;
  };
  for (const auto& c : std::vector<Case>{
           {std::string("\0:- a\n", 6), "line 1, column 1: character U+0000"},
           {"a: 1\nb: x\x7fy\n", "line 2, column 5: character U+007F"},
           {"a: \"\xc2\x80\"\n", "line 1, column 5: character U+0080"},
           {"a: \xef\xbf\xbf\n", "line 1, column 4: character U+FFFF"},
           {"a: x\xef\xbb\xbf\n", "line 1, column 5: character U+FEFF"},
       }) {
    try {
      read_documents(c.text, "t.yaml");
      FAIL("accepted " << c.text);
    } catch (const InputError& e) {
      CHECK_THAT(e.what(), Catch::Matchers::Contains("t.yaml: " + c.message));
    }
  }
  // A byte order mark may open the stream; escapes say what raw text cannot.
  CHECK(read_documents("\xef\xbb\xbf"
                       "a: 1\n",
                       "bom.yaml")
            .at(0) == Json{{"a", 1}});
  CHECK(read_documents("a: \"\\x00\\uFFFF\\x7F\"\n", "e.yaml").at(0)["a"] ==
        std::string("\0\xef\xbf\xbf\x7f", 5));
}

TEST_CASE("YAML that yaml-cpp 0.7 would read forever is an error", "[manifests]") {
  // Found by fuzz_manifests: YAML::LoadAll loops, allocating an empty document per turn, on a
  // token it cannot place (24 GB in 50 s for 57 bytes). The event reader stops.
  for (const char* text :
       {"\"s\", b]\n", " \"s\", yes, ~]}\nc: *x\n", ",\n", "a: 1\n---\n\"q\", 2\n"}) {
    try {
      read_documents(text, "loop.yaml");
      FAIL("accepted " << text);
    } catch (const InputError& e) {
      CHECK_THAT(e.what(), Catch::Matchers::Contains("loop.yaml: line "));
      CHECK_THAT(e.what(), Catch::Matchers::Contains("not valid YAML"));
    }
  }
}

TEST_CASE("anchors, aliases and merge keys read as kubectl reads them", "[manifests]") {
  auto doc = read_documents(R"(base: &b {cpu: 1, memory: 2}
extra: &e {gpu: 0, cpu: 9}
plain:
  <<: *b
  memory: 3
list:
  <<: [*b, *e]
inline:
  <<: {x: 1}
  z: 2
quoted:
  "<<": kept
name: &n web
again: *n
*n : key from an alias
)",
                            "merge.yaml")
                 .at(0);
  CHECK(doc["plain"] == Json::parse(R"({"memory": 3, "cpu": 1})"));
  CHECK(doc["list"] == Json::parse(R"({"cpu": 1, "memory": 2, "gpu": 0})"));
  CHECK(doc["inline"] == Json::parse(R"({"z": 2, "x": 1})"));
  CHECK(doc["quoted"] == Json::parse(R"({"<<": "kept"})"));
  // Written back, a `<<` key stays a key (fuzzing found it written plain, read as a merge).
  const std::string written = write_documents({doc["quoted"]}, Format::kYaml);
  CHECK(written.find("\"<<\": kept") != std::string::npos);
  CHECK(read_documents(written, "written.yaml").at(0) == doc["quoted"]);
  CHECK(doc["again"] == "web");
  CHECK(doc["web"] == "key from an alias");
  // Duplicate keys keep the JSON reader's rule: first position, last value.
  auto dup = read_documents("a: 1\nb: 2\na: 3\n", "dup.yaml").at(0);
  CHECK(dup.dump() == R"({"a":3,"b":2})");
  for (const char* bad :
       {"a: &a [*a]\n", "m:\n  <<: 1\n", "m:\n  <<: [1]\n", "? [a]\n: 1\n", "{a: 1}: x\n"}) {
    CHECK_THROWS_AS(read_documents(bad, "bad.yaml"), InputError);
  }
}

TEST_CASE("aliases cannot expand past the reader's bounds", "[manifests]") {
  // A 1 MiB string repeated by 100 aliases would be 100 MiB of JSON from 1 MiB of YAML.
  std::string big = "a: &a \"" + std::string(1 << 20, 'x') + "\"\nb: [";
  for (int i = 0; i < 100; ++i) {
    big += "*a, ";
  }
  big += "*a]\n";
  try {
    read_documents(big, "big.yaml");
    FAIL("accepted");
  } catch (const InputError& e) {
    CHECK_THAT(e.what(), Catch::Matchers::Contains("MiB"));
  }
  std::string deep = "a: &a " + std::string(300, '[') + std::string(300, ']') +
                     "\nb: " + std::string(300, '[') + "*a" + std::string(300, ']') + "\n";
  CHECK_THROWS_AS(read_documents(deep, "deep.yaml"), InputError);
}

TEST_CASE("every character survives a YAML round trip", "[manifests]") {
  // Found by fuzz_manifests: yaml-cpp's emitter wrote U+FFFE/U+FFFF as U+FFFD. The writer
  // escapes what YAML cannot hold raw; everything else stays readable.
  std::string all;
  auto utf8 = [](unsigned cp) {
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xc0 | cp >> 6);
      s += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xe0 | cp >> 12);
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      s += static_cast<char>(0xf0 | cp >> 18);
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    }
    return s;
  };
  Json strings = Json::array();
  Json keys = Json::object();
  for (unsigned cp = 0; cp <= 0x10ffff; cp += (cp < 0x30000 ? 1 : 0x101)) {
    if (cp >= 0xd800 && cp <= 0xdfff) {
      continue;
    }
    all += utf8(cp);
    if (cp < 0x3000 || (cp >= 0xfdc0 && cp <= 0xffff) || (cp & 0xfffe) == 0xfffe) {
      strings.push_back(utf8(cp));
      // Appended, not `"a" + utf8(cp)`, which trips GCC 12's -Wrestrict false positive at -O3.
      std::string framed = "a";
      framed += utf8(cp);
      framed += "b\n";
      strings.push_back(framed);
      keys[utf8(cp)] = cp;
    }
  }
  strings.push_back(all);
  // Found by fuzz_manifests: a stream opening with an empty `[]` or `{}` was read back as JSON.
  for (const Json& first : {Json::array(), Json::object()}) {
    std::vector<Json> docs = {first, Json("g,}liN")};
    CHECK(read_documents(write_documents(docs, Format::kYaml), "e") == docs);
  }
  // Found by fuzz_manifests: a top-level "---" was written plain, as a document separator.
  for (const char* marker : {"---", "...", "--- x", "...x", "---\n"}) {
    auto back = read_documents(write_documents({Json(marker), Json(marker)}, Format::kYaml), "m");
    CHECK(back == std::vector<Json>{Json(marker), Json(marker)});
  }
  strings.push_back(std::string(2000, 'k'));
  keys[std::string(2000, 'k')] = "a key longer than an implicit key may be";
  // Found by fuzz_manifests: 900 characters, but over 1024 once its quotes are escaped.
  keys[" " + std::string(900, '"')] = "a key that grows past the limit when written";
  Json doc = {{"strings", strings}, {"keys", keys}};
  std::string yaml = write_documents({doc}, Format::kYaml);
  auto back = read_documents(yaml, "chars.yaml");
  REQUIRE(back.size() == 1);
  CHECK(back[0] == doc);
}
