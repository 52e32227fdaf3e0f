// JsonDoc, what a review is read through, against nlohmann's tree of the same text: the same
// values, the same duplicate-key rule (first position, last value), the same compact text.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "codec/errors.h"
#include "codec/json_doc.h"
#include "codec/json_parse.h"
#include "codec/json_text.h"

using namespace sigv4;

TEST_CASE("a parsed JsonDoc reads as nlohmann's tree of the same text", "[json]") {
  const char* text = GENERATE(
      R"({"a":1,"b":[1,2,{"c":null}],"d":{"e":"f","g":[]},"h":{}})", R"([])", R"({})",
      R"("just a string")", R"(42)", R"(-7)", R"(18446744073709551615)", R"(-9223372036854775808)",
      R"(-0.0)", R"(1.5e300)", R"(0.1)", R"(true)", R"(null)", R"({"dup":1,"x":2,"dup":3})",
      R"({"k":{"dup":[1],"dup":{"z":1}}})", R"({"a":1,"a":2,"b":3,"a":4,"b":5})",
      R"([[[]],[{}],[[1,[2,[3]]]]])", R"({"u":"\u00e9\ud83d\ude00 \"q\" \\ \n\t"})",
      R"({"\u006bey":"v","k\"q":"\/"})", R"({"":{"":""}})", R"([{"a":1},{"a":2,"b":[{"c":[]}]}])",
      R"({"d":{"x":1},"d":[2,3],"e":"s"})");
  INFO(text);
  const Json tree = Json::parse(text);
  const JsonDoc doc = parse_json_doc(text, {});
  CHECK(to_json(doc.root()) == tree);
  std::string ours;
  append_json_text(ours, doc.root());
  CHECK(ours == to_json_text(tree));
  CHECK(doc.root().size() == (tree.is_structured() ? tree.size() : 0));
  CHECK(std::string(doc.root().type_name()) == tree.type_name());
  // And a document copied from the tree reads the same.
  const JsonDoc copy = JsonDoc::from_json(tree);
  CHECK(to_json(copy.root()) == tree);
}

TEST_CASE("JsonDoc lookups and iteration follow first position, last value", "[json]") {
  const std::string text = R"({"a":1,"b":{"x":true},"a":"two","c":[],"b":{"y":false}})";
  const JsonDoc doc = parse_json_doc(text, {});
  const JsonNode& root = doc.root();
  REQUIRE(root.is_object());
  CHECK(root.size() == 3);
  REQUIRE(root.find("a") != nullptr);
  CHECK(root.find("a")->string() == "two");
  CHECK(root.find("b")->find("x") == nullptr);
  CHECK(root.find("b")->find("y")->is_boolean());
  CHECK(root.find("missing") == nullptr);
  std::vector<std::string> keys;
  for (const JsonNode& member : root) {
    keys.emplace_back(member.key());
  }
  CHECK(keys == std::vector<std::string>{"a", "b", "c"});
  CHECK(root.front().string() == "two");
  CHECK(root.find("c")->empty());
  CHECK(root.find("c")->front().is_null());
  // Accessors of another type give the neutral value, never throw.
  CHECK(root.find("a")->integer() == 0);
  CHECK(root.string().empty());
  CHECK(root.find("a")->find("x") == nullptr);
}

TEST_CASE("JsonDoc numbers keep nlohmann's types", "[json]") {
  const JsonDoc doc = parse_json_doc(R"([1,-1,18446744073709551615,2.5])", {});
  std::vector<JsonNode::Type> types;
  for (const JsonNode& item : doc.root()) {
    types.push_back(item.type());
  }
  CHECK(types == std::vector<JsonNode::Type>{JsonNode::Type::kUnsigned, JsonNode::Type::kInteger,
                                             JsonNode::Type::kUnsigned, JsonNode::Type::kFloat});
  auto it = doc.root().begin();
  CHECK(it->integer() == 1);
  ++it;
  CHECK(it->integer() == -1);
  ++it;
  CHECK(it->is_number_integer());
  CHECK(it->integer() == -1);  // as nlohmann's get<int64_t>() gives 2^64-1
  ++it;
  CHECK(!it->is_number_integer());
  CHECK(it->real() == 2.5);
}

TEST_CASE("JsonDoc copies decoded strings and views plain ones", "[json]") {
  const std::string text = R"({"plain":"abc","esc\u0061ped":"x\ny"})";
  const JsonDoc doc = parse_json_doc(text, {});
  const JsonNode& plain = *doc.root().find("plain");
  CHECK(plain.string().data() >= text.data());
  CHECK(plain.string().data() < text.data() + text.size());
  const JsonNode* escaped = doc.root().find("escaped");
  REQUIRE(escaped != nullptr);
  CHECK(escaped->string() == "x\ny");
  CHECK((escaped->string().data() < text.data() ||
         escaped->string().data() >= text.data() + text.size()));
}

TEST_CASE("JsonDoc holds objects of many keys and deep nesting", "[json]") {
  // Past the scanning limit, duplicates are found through a hash index.
  std::string text = "{";
  for (int i = 0; i < 1000; ++i) {
    text += "\"k" + std::to_string(i % 700) + "\":" + std::to_string(i) + ",";
  }
  text.back() = '}';
  const JsonDoc wide = parse_json_doc(text, {});
  CHECK(wide.root().size() == 700);
  CHECK(wide.root().find("k5")->integer() == 705);
  CHECK(to_json(wide.root()) == Json::parse(text));
  // Nesting costs no recursion to build or free.
  JsonLimits deep;
  deep.max_depth = 100000;
  std::string nested;
  for (int i = 0; i < 50000; ++i) {
    nested += R"({"a":[1,"two",)";
  }
  nested += "null";
  for (int i = 0; i < 50000; ++i) {
    nested += "]}";
  }
  const JsonDoc tall = parse_json_doc(nested, deep);
  CHECK(tall.root().find("a")->size() == 3);
  CHECK_THROWS_AS(parse_json_doc(nested, {}), InputError);
}
