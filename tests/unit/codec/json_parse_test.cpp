// The hand-written parser behind parse_json_limited (webhook/codec/json_parse.cpp and
// json_lex.cpp) against nlohmann::ordered_json::parse: the same tree, number types included, for
// what both accept, and a refusal (InputError) for everything nlohmann refuses.

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "codec/errors.h"
#include "codec/json_parse.h"

using namespace sigv4;

namespace {

// Equal values of equal types all the way down (Json's operator== calls 1 and 1u equal).
bool same_tree(const Json& a, const Json& b) {
  if (a.type() != b.type()) {
    return false;
  }
  if (a.is_object()) {
    if (a.size() != b.size()) {
      return false;
    }
    for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
      if (ia.key() != ib.key() || !same_tree(ia.value(), ib.value())) {
        return false;
      }
    }
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) {
      return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!same_tree(a[i], b[i])) {
        return false;
      }
    }
    return true;
  }
  if (a.is_number_float()) {  // bit-exact, so -0.0 and 0.0 differ
    return std::signbit(a.get<double>()) == std::signbit(b.get<double>()) &&
           a.get<double>() == b.get<double>();
  }
  return a == b;
}

// nlohmann's verdict: the tree, or discarded when it refuses the text.
Json nlohmann_parse(const std::string& text) {
  try {
    return Json::parse(text, nullptr, false);
  } catch (const Json::exception&) {
    return Json(Json::value_t::discarded);
  }
}

// Ours, with limits nlohmann does not have lifted.
Json our_parse(const std::string& text) {
  JsonLimits limits;
  limits.max_depth = 100000;
  try {
    return parse_json_limited(text, limits);
  } catch (const InputError&) {
    return Json(Json::value_t::discarded);
  }
}

// True when both refuse `text`, or both accept it with the same tree.
bool agrees(const std::string& text) {
  const Json theirs = nlohmann_parse(text);
  const Json ours = our_parse(text);
  if (!theirs.is_discarded() && text.find('\0') != std::string::npos) {
    // nlohmann's lexer takes a NUL outside strings for the end of input and ignores what
    // follows; RFC 8259 calls that trailing garbage, and so does this parser.
    return ours.is_discarded();
  }
  if (theirs.is_discarded() || ours.is_discarded()) {
    return theirs.is_discarded() && ours.is_discarded();
  }
  return same_tree(ours, theirs);
}

// clang-format off
const std::vector<std::string> kValid = {
    "0", "-0", "1", "-1", "0.0", "-0.0", "1.5", "-1.5", "1e3", "1E3", "1e+3", "1e-3", "1.25e-7",
    "123456789", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
    "-9223372036854775809", "18446744073709551615", "18446744073709551616",
    "123456789012345678901234567890", "-123456789012345678901234567890", "1e308",
    "1.7976931348623157e308", "4.9e-324", "1e-400", "-1e-400", "2.2250738585072014e-308", "0.1",
    "3.141592653589793", "100000000000000000000000e-10", "0e99999", "true", "false", "null",
    R"("")", R"("a")", R"("\"\\\/\b\f\n\r\t")", R"("\u0000")", R"("\u001f\u007f")",
    R"("\u00e9\u20ac\ud83d\ude00")", R"("\uD83D\uDE00")",
    "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", "\"\x7f\"", "\"\xef\xbf\xbf\"",
    "\"\xf4\x8f\xbf\xbf\"", "\"\xed\x9f\xbf\"", "\"\xee\x80\x80\"",
    R"("a string of plain ASCII long enough to take the eight-byte steps")",
    R"("escapes \" late in a longer string \\ after the eight-byte steps\n")", "[]", "{}", "[[]]",
    "[{}]", R"({"a":{}})", " \t\r\n[ 1 , 2 ]\n ", R"({ "a" : 1 , "b" : [ true ] })",
    "\xEF\xBB\xBF{}", R"({"dup":1,"dup":2})", R"({"a":1,"b":2,"a":3})",
    R"({"k":{"dup":[1],"dup":{"z":1}}})", R"([1,-1,1.0,"1",true,null,{},[]])", R"({"":""})",
    R"({"\u0000":"nul key"})", R"({"a\/b":"slash"})"
};
// clang-format on

// clang-format off
const std::vector<std::string> kInvalid = {
    "", " ", "[", "]", "{", "}", "[1,]", "[,1]", "[1 2]", R"({"a":1,})", R"({"a" 1})", R"({"a":})",
    R"({a:1})", R"({1:1})", "{,}", R"({"a":1 "b":2})", "[1]]", "{}}", "{} x", "[] []", "01", "-01",
    "00", "1.", ".5", "-", "+1", "1e", "1e+", "1.e3", "-.5", "0x10", "NaN", "-NaN", "Infinity",
    "-Infinity", "nan", "inf", "1e400", "-1e400", "1e99999", "tru", "trUe", "nul", "fals", "True",
    "NULL", "trues", "\"", "\"abc", "\"\\\"", "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"", "\"\\uD800\"",
    "\"\\uDC00\"", "\"\\uD800\\u0041\"", "\"\\uD800x\"", "\"\\uDBFF\\uDBFF\"", "\"\x01\"",
    "\"\x1f\"", "\"a\nb\"", "\"\t\"", std::string("\"\0\"", 3), "\"\xff\"", "\"\x80\"",
    "\"\xc0\xaf\"", "\"\xc1\xbf\"", "\"\xc3\"", "\"\xc3(\"", "\"\xe0\x80\xaf\"", "\"\xe0\x9f\xbf\"",
    "\"\xed\xa0\x80\"", "\"\xed\xbf\xbf\"", "\"\xf0\x80\x80\xaf\"", "\"\xf0\x8f\xbf\xbf\"",
    "\"\xf4\x90\x80\x80\"", "\"\xf5\x80\x80\x80\"", "\"\xf8\x88\x80\x80\x80\"", "\"\xe2\x82\"",
    "\xEF\xBB{}", "\xEF{}", "[1,2", R"(["a")", "/* comment */ 1", "[1] // comment", "'a'", "[\x0c]",
    "\v1", "1 2", "[1e400]"
};
// clang-format on

}  // namespace

TEST_CASE("the parser agrees with nlohmann on valid JSON, number types included", "[json]") {
  for (const std::string& text : kValid) {
    INFO(text);
    REQUIRE_FALSE(nlohmann_parse(text).is_discarded());
    CHECK(agrees(text));
  }
}

TEST_CASE("the parser refuses what nlohmann refuses", "[json]") {
  for (const std::string& text : kInvalid) {
    INFO(text);
    CHECK(nlohmann_parse(text).is_discarded());
    CHECK(our_parse(text).is_discarded());
  }
  // Stricter than nlohmann, which stops at a NUL after the document.
  CHECK(our_parse(std::string("[1]\0", 4)).is_discarded());
  CHECK(our_parse(std::string("[1]\0[2]", 6)).is_discarded());
  // A number overflowing a double is malformed, not an internal error.
  CHECK_THROWS_AS(parse_json_limited("[1e400]", {}), InputError);
}

TEST_CASE("the parser types numbers as nlohmann does", "[json]") {
  CHECK(our_parse("0").is_number_unsigned());
  CHECK(our_parse("42").is_number_unsigned());
  CHECK(our_parse("-0").is_number_integer());
  CHECK_FALSE(our_parse("-0").is_number_unsigned());
  CHECK(our_parse("-9223372036854775808").get<int64_t>() == INT64_MIN);
  CHECK(our_parse("-9223372036854775809").is_number_float());
  CHECK(our_parse("18446744073709551615").get<uint64_t>() == UINT64_MAX);
  CHECK(our_parse("18446744073709551616").is_number_float());
  CHECK(our_parse("1.0").is_number_float());
  CHECK(our_parse("1e2").is_number_float());
}

TEST_CASE("every one-byte change of a review agrees with nlohmann", "[json]") {
  // Deterministic mutations of small documents: each byte replaced by bytes that matter to the
  // grammar, deleted, or followed by one; the verdicts and trees must agree.
  const std::vector<std::string> seeds = {
      R"({"apiVersion":"v1","n":[1,-2,3.5e-1,true,false,null],"s":"a\"b\u00e9","o":{"k":{}}})",
      "[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\",\"\\ud83d\\ude00\",-0.0,1E+2,0]",
  };
  const std::string replacements = std::string("\"\\{}[],:0-+.eE1 \tnatu/x", 23) +
                                   std::string("\x00\x1f\x7f\x80\xc3\xed\xf0\xff", 8);
  std::size_t checked = 0;
  for (const std::string& seed : seeds) {
    REQUIRE(agrees(seed));
    for (std::size_t i = 0; i <= seed.size(); ++i) {
      for (char r : replacements) {
        std::string replaced = seed;
        if (i < seed.size()) {
          replaced[i] = r;
          INFO(replaced);
          CHECK(agrees(replaced));
        }
        std::string inserted = seed;
        inserted.insert(i, 1, r);
        INFO(inserted);
        CHECK(agrees(inserted));
        checked += 2;
      }
      if (i < seed.size()) {
        std::string deleted = seed;
        deleted.erase(i, 1);
        INFO(deleted);
        CHECK(agrees(deleted));
      }
    }
  }
  CHECK(checked > 1000);
}

TEST_CASE("the parser's limits and messages", "[json]") {
  JsonLimits limits;
  limits.max_depth = 3;
  CHECK_NOTHROW(parse_json_limited("[[[1]]]", limits));
  try {
    parse_json_limited("[[{\"a\":[1]}]]", limits);
    FAIL("deeper than the limit was accepted");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()) == "request body: JSON nested deeper than 3 levels at byte 7");
  }
  limits.max_string_bytes = 8;  // counted from the opening quote, escapes raw
  CHECK_NOTHROW(parse_json_limited(R"(["1234567"])", limits));
  CHECK_THROWS_WITH(parse_json_limited(R"(["12345678"])", limits),
                    Catch::Contains("a string at byte 1 is longer than 8 bytes"));
  CHECK_THROWS_WITH(parse_json_limited(R"({"12345678":1})", limits),
                    Catch::Contains("is longer than 8 bytes"));
  CHECK_THROWS_WITH(parse_json_limited(R"(["\n\n\n\n"])", limits),
                    Catch::Contains("is longer than 8 bytes"));
  CHECK_THROWS_WITH(parse_json_limited("\"123456789012", limits),
                    Catch::Contains("is longer than 8 bytes"));
  CHECK_THROWS_WITH(parse_json_limited("[1,]", {}, "doc"),
                    Catch::Equals("doc: malformed JSON: unexpected character at byte 3"));
  CHECK_THROWS_WITH(parse_json_limited("\"\xff\"", {}),
                    Catch::Contains("malformed JSON: invalid UTF-8 in a string at byte 1"));
  CHECK_THROWS_WITH(parse_json_limited("[1] x", {}),
                    Catch::Contains("malformed JSON: unexpected text after the document"));
  CHECK_THROWS_WITH(parse_json_limited("1e400", {}),
                    Catch::Contains("malformed JSON: a number too large for a double"));
}

TEST_CASE("a shape keeps only what it names, and still checks the rest", "[json]") {
  static constexpr JsonShape kAll{.all = true};
  static constexpr JsonShape::Member kItemMembers[] = {{"name", &kAll}};
  static constexpr JsonShape kItem{.members = kItemMembers};
  static constexpr JsonShape kItems{.items = &kItem};
  static constexpr JsonShape::Member kRootMembers[] = {{"keep", &kAll}, {"list", &kItems}};
  static constexpr JsonShape kRoot{.members = kRootMembers};

  const std::string text =
      R"({"drop":{"deep":[1,2.5,"\u00e9",true,null,{"x":"y"}]},"keep":{"a":[1,{"b":2}]},)"
      R"("list":[{"name":"n1","image":"i","args":["-v"]},{"image":"j"},"s",[{"name":"k"}]],)"
      R"("keep":{"a":3}})";
  const Json kept = parse_json_limited(text, {}, "doc", &kRoot);
  // Duplicate keys as ever: first position, last value; an item of an unexpected type whole.
  CHECK(same_tree(kept, Json::parse(R"({"keep":{"a":3},
      "list":[{"name":"n1"},{},"s",[{"name":"k"}]]})")));
  // A root of another type than its shape expects is kept whole.
  CHECK(same_tree(parse_json_limited(R"([{"drop":1}])", {}, "doc", &kRoot),
                  Json::parse(R"([{"drop":1}])")));
  CHECK(same_tree(parse_json_limited(R"({"list":{"image":"i"}})", {}, "doc", &kRoot),
                  Json::parse(R"({"list":{"image":"i"}})")));

  // What is not kept fails exactly as it fails when kept: same message, same byte.
  JsonLimits limits;
  limits.max_depth = 4;
  limits.max_string_bytes = 16;
  for (const std::string bad :
       {R"({"drop":[1,]})", R"({"drop":"\x"})", R"({"drop":"\ud800"})", "{\"drop\":\"\xff\"}",
        "{\"drop\":\"a\tb\"}", R"({"drop":01})", R"({"drop":1e400})", R"({"drop":tru})",
        R"({"drop":[[[[1]]]]})", R"({"drop":"01234567890123456789"})",
        R"({"drop":{"0123456789abcdefg":1}})", R"({"drop":{"a" 1}})", R"({"drop":{1:1}})",
        R"({"drop":[1})", R"({"drop":1} x)", R"({"list":[{"image":[1,]}]})",
        R"({"drop":"\u00e9\n\"01234567890"})"}) {
    INFO(bad);
    std::string whole;
    std::string shaped;
    try {
      parse_json_limited(bad, limits, "doc");
    } catch (const InputError& e) {
      whole = e.what();
    }
    try {
      parse_json_limited(bad, limits, "doc", &kRoot);
    } catch (const InputError& e) {
      shaped = e.what();
    }
    CHECK_FALSE(whole.empty());
    CHECK(shaped == whole);
  }
}
