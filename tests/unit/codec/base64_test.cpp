// codec/base64.h: the encoder behind every patch's `patch` field, and the decoder behind YAML's
// !!binary, checked against RFC 4648's test vectors and each other.

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "codec/base64.h"
#include "codec/utf8.h"

using namespace std::literals;
using sigv4::base64_decode;
using sigv4::base64_encode;

TEST_CASE("base64 encodes and decodes RFC 4648's vectors", "[base64]") {
  struct Row {
    std::string_view bytes;
    std::string_view text;
  };
  const auto row = GENERATE(values<Row>({
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
      {"\xff\xfe\x00\x01 a longer run past one 8-byte step"sv,
       "//4AASBhIGxvbmdlciBydW4gcGFzdCBvbmUgOC1ieXRlIHN0ZXA="},
  }));
  CHECK(base64_encode(row.bytes) == row.text);
  CHECK(base64_decode(row.text) == std::string(row.bytes));
}

TEST_CASE("base64_decode refuses what is not padded standard base64", "[base64]") {
  const auto text = GENERATE(values<std::string_view>({
      "Zg",        // no padding
      "Zg=",       // short
      "Z===",      // too much padding
      "Zg==Zg==",  // padding before the end
      "Zm9v\n",    // a line break (the caller strips them)
      "Zm-v",      // the URL alphabet
      "Zm9=v===",
  }));
  CHECK_FALSE(base64_decode(text).has_value());
}

TEST_CASE("replace_invalid_utf8 writes U+FFFD for each stray byte, as Go does", "[utf8]") {
  CHECK(sigv4::replace_invalid_utf8("ok") == "ok");
  CHECK(sigv4::replace_invalid_utf8("a\xff"
                                    "b") ==
        "a\xef\xbf\xbd"
        "b");
  CHECK(sigv4::replace_invalid_utf8("\xe2\x82") == "\xef\xbf\xbd\xef\xbf\xbd");
  CHECK(sigv4::replace_invalid_utf8("\xc3\xa9") == "\xc3\xa9");
}
