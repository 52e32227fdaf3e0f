// The one UTF-8 decoder (codec/utf8.h) that the JSON lexer, the YAML reader and writer, the
// manifest reader and pod_text share: RFC 3629's well-formed sequences, and nothing else.

#include <catch2/catch.hpp>
#include <string>
#include <string_view>

#include "codec/utf8.h"

using sigv4::append_utf8;
using sigv4::next_code_point;
using sigv4::valid_utf8;

TEST_CASE("next_code_point decodes the well-formed sequences", "[utf8]") {
  struct Row {
    std::string_view bytes;
    char32_t cp;
  };
  const auto row = GENERATE(values<Row>({
      {"A", U'A'},
      {"\x7F", 0x7F},
      {"\xC2\x80", 0x80},
      {"\xDF\xBF", 0x7FF},
      {"\xE0\xA0\x80", 0x800},
      {"\xED\x9F\xBF", 0xD7FF},
      {"\xEE\x80\x80", 0xE000},
      {"\xEF\xBF\xBF", 0xFFFF},
      {"\xF0\x90\x80\x80", 0x10000},
      {"\xF4\x8F\xBF\xBF", 0x10FFFF},
  }));
  char32_t cp = 0;
  CHECK(next_code_point(row.bytes, 0, cp) == row.bytes.size());
  CHECK(cp == row.cp);
  std::string encoded;
  append_utf8(encoded, row.cp);
  CHECK(encoded == row.bytes);
  CHECK(valid_utf8(row.bytes));
}

TEST_CASE("next_code_point refuses what is not well-formed", "[utf8]") {
  const auto bytes = GENERATE(values<std::string_view>({
      "\x80",              // a continuation byte alone
      "\xC0\x80",          // overlong NUL
      "\xC1\xBF",          // overlong 0x7F
      "\xE0\x9F\xBF",      // overlong 0x7FF
      "\xF0\x8F\xBF\xBF",  // overlong 0xFFFF
      "\xED\xA0\x80",      // a high surrogate
      "\xED\xBF\xBF",      // a low surrogate
      "\xF4\x90\x80\x80",  // past U+10FFFF
      "\xF8\x88\x80\x80",  // a five-byte lead
      "\xFF",              // never in UTF-8
      "\xC3",              // truncated
      "\xE2\x82",          // truncated
      "\xE2\x28\xA1",      // a continuation that is not one
  }));
  char32_t cp = 0;
  CHECK(next_code_point(bytes, 0, cp) == 0);
  CHECK_FALSE(valid_utf8(bytes));
  CHECK_FALSE(valid_utf8(std::string("ok ") + std::string(bytes) + " ok"));
}

TEST_CASE("next_code_point reads from an offset and stops at the view's end", "[utf8]") {
  const std::string_view text = "a\xC3\xA9z\xE2\x82";
  char32_t cp = 0;
  CHECK(next_code_point(text, 1, cp) == 2);
  CHECK(cp == 0xE9);
  CHECK(next_code_point(text, 3, cp) == 1);
  CHECK(next_code_point(text, 4, cp) == 0);  // the text ends inside the character
  CHECK(next_code_point(text.substr(0, 2), 1, cp) == 0);
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
