// The fast paths of the review (the SAX tree builder behind parse_json_limited, and
// to_json_text) must agree byte for byte with nlohmann's own parser and serializer.

#include <catch2/catch.hpp>

#include <string>

#include "codec/errors.h"
#include "codec/json_parse.h"
#include "codec/json_text.h"
#include "codec/json_tree.h"

using namespace sigv4;

namespace {

std::string nlohmann_text(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

TEST_CASE("parse_json_limited builds the same tree as Json::parse", "[json]") {
  const char* text = GENERATE(
      R"({"a":1,"b":[1,2,{"c":null}],"d":{"e":"f","g":[]},"h":{}})", R"([])", R"({})",
      R"("just a string")", R"(42)", R"(-7)", R"(18446744073709551615)", R"(-0.0)", R"(1.5e300)",
      R"(true)", R"(null)", R"({"dup":1,"x":2,"dup":3})", R"({"k":{"dup":[1],"dup":{"z":1}}})",
      R"([[[]],[{}],[[1,[2,[3]]]]])", R"({"u":"\u00e9\ud83d\ude00 \"q\" \\ \n\t"})",
      R"({"":{"":""}})", R"([{"a":1},{"a":2,"b":[{"c":[]}]}])");
  const Json ours = parse_json_limited(text, {});
  const Json theirs = Json::parse(text);
  CHECK(ours == theirs);
  CHECK(ours.dump() == theirs.dump());  // same key order too
}

TEST_CASE("parse_json_limited refuses what Json::parse refuses", "[json]") {
  const char* text = GENERATE(R"({"a":1,})", R"([1,2)", R"({"a" 1})", R"({} x)", "\"\xff\"",
                              R"({"a":tru})", R"()", R"([01])", "\"\x01\"");
  CHECK_THROWS_AS(Json::parse(text), Json::parse_error);
  CHECK_THROWS_AS(parse_json_limited(text, {}), InputError);
}

TEST_CASE("to_json_text writes what dump writes", "[json]") {
  Json value = Json::parse(
      R"({"ascii":"plain","esc":"q\" b\\ \b\f\n\r\t \u0001 \u001f \u007f","utf8":"\u00e9\ud83d\ude00",
          "n":[0,-1,18446744073709551615,1.5,-0.0,1e-7,3.141592653589793],"b":[true,false,null],
          "nested":{"a":[{},[],{"":""}]}})");
  CHECK(to_json_text(value) == nlohmann_text(value));
  Json invalid = std::string("bad \xff utf-8");
  CHECK(to_json_text(invalid) == nlohmann_text(invalid));
  CHECK(to_json_text(Json()) == "null");
}

TEST_CASE("large objects keep nlohmann's duplicate-key rule through the hash index", "[json]") {
  // Above the scan limit duplicates are found through an index: first position, last value.
  std::string text = "{";
  for (int i = 0; i < 200; ++i) {
    text += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  }
  text += R"("k7":"again","k199":"last","new":true})";
  Json parsed = parse_json_limited(text, JsonLimits{});
  CHECK(parsed == Json::parse(text));
  CHECK(parsed.size() == 201);
  CHECK(parsed.begin().key() == "k0");
  CHECK(parsed["k7"] == "again");
  CHECK(parsed["k199"] == "last");
}

TEST_CASE("to_json_text escapes long strings as dump does, wherever the odd byte sits", "[json]") {
  // Plain runs are skipped eight bytes at a time: put each special byte at every offset of a
  // longer string, and a UTF-8 byte after escapes already written (the writer starts over).
  const std::string specials = std::string("\"\\\b\f\n\r\t\x01\x1f\x7f", 10) + "\xc3\xa9";
  for (std::size_t at = 0; at < 20; ++at) {
    for (char special : specials) {
      std::string s(20, 'a');
      s[at] = special;
      if (static_cast<unsigned char>(special) == 0xc3) {
        s.insert(at + 1, 1, '\xa9');
        s[0] = '"';
      }
      const Json value = Json::array({s, Json{{s, s}}});
      INFO(at);
      CHECK(to_json_text(value) == nlohmann_text(value));
    }
  }
}
