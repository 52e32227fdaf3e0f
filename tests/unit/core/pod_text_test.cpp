// Text written from pod data (core/pod_text.h): quoted escaped and cut short, messages and the
// list of warnings bounded whatever the pod holds.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "codec/json.h"
#include "core/pod_text.h"

using namespace sigv4;

namespace {

// True when `s` is valid UTF-8 (nlohmann's strict dump throws otherwise).
bool valid_utf8(const std::string& s) {
  try {
    (void)Json(s).dump();
    return true;
  } catch (const Json::exception&) {
    return false;
  }
}

bool has_raw_control(const std::string& s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) {
      return true;
    }
  }
  return s.find("\xc2\x85") != std::string::npos;
}

}  // namespace

TEST_CASE("clip escapes what a terminal would act on and what is not UTF-8", "[pod_text]") {
  struct Row {
    std::string in;
    std::string out;
  };
  auto row = GENERATE(values<Row>({
      {"web-7d4b9", "web-7d4b9"},
      {"", ""},
      {"a\"b\\c", R"(a\"b\\c)"},
      {"\n\t\r", R"(\n\t\r)"},
      {std::string("\x00\x01\x1b[31m\x7f", 8), R"(\x00\x01\x1b[31m\x7f)"},
      {"caf\xc3\xa9 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xf0\x9f\x98\x80"},
      {"\xc2\x85\xc2\x9b", R"(\u0085\u009b)"},  // C1 controls (NEL, CSI)
      {"a\xe2\x80\xae"
       "b\xe2\x81\xa6",
       R"(a\u202eb\u2066)"},                        // bidi overrides
      {"\xe2\x80\xa8", R"(\u2028)"},                // line separator
      {"\xff\xfe", R"(\xff\xfe)"},                  // not UTF-8
      {"\xc0\xaf", R"(\xc0\xaf)"},                  // overlong '/'
      {"\xed\xa0\x80", R"(\xed\xa0\x80)"},          // a surrogate
      {"\xf4\x90\x80\x80", R"(\xf4\x90\x80\x80)"},  // above U+10FFFF
      {"\xe2\x80", R"(\xe2\x80)"},                  // cut short
  }));
  CHECK(clip(row.in) == row.out);
  CHECK(quote(row.in) == "\"" + row.out + "\"");
}

TEST_CASE("clip cuts long text at a character or escape boundary and says how long it was",
          "[pod_text]") {
  struct Row {
    std::string in;
    std::size_t max;
    std::string out;
  };
  auto row = GENERATE(values<Row>({
      {std::string(200, 'a'), 10, "aaaaaaaaaa...(200 bytes)"},
      {std::string(10, 'a'), 10, "aaaaaaaaaa"},
      {std::string("a\x00", 2), 4, R"(a...(2 bytes))"},  // "\x00" needs 4 more bytes
      {"\xc3\xa9\xc3\xa9\xc3\xa9", 3, "\xc3\xa9...(6 bytes)"},
      {"ab\\", 3, "ab...(3 bytes)"},
      {std::string(70000, 'k'), 128, std::string(128, 'k') + "...(70000 bytes)"},
  }));
  CHECK(clip(row.in, row.max) == row.out);
}

TEST_CASE("clip of any bytes is printable UTF-8 within its bound", "[pod_text]") {
  // Every byte value, in runs and mixed with multi-byte characters, at several bounds.
  std::string all;
  for (int b = 0; b < 256; ++b) {
    all += static_cast<char>(b);
    all += "\xc3\xa9";
  }
  const std::size_t max = GENERATE(0, 1, 5, 64, 128, 4096);
  for (std::size_t start = 0; start < all.size(); start += 37) {
    const std::string in = all.substr(start) + all.substr(0, start);
    const std::string out = clip(in, max);
    INFO("start " << start << " max " << max);
    CHECK(out.size() <= max + kClipMarkBytes);
    CHECK(valid_utf8(out));
    CHECK_FALSE(has_raw_control(out));
  }
  CHECK(clip(std::string(1 << 20, '\0')).size() <= kMaxQuotedBytes + kClipMarkBytes);
}

TEST_CASE("bound_message keeps short messages and cuts long ones to the bound", "[pod_text]") {
  CHECK(bound_message("sigv4-injector: fine") == "sigv4-injector: fine");
  const std::string exact(kMaxMessageBytes, 'x');
  CHECK(bound_message(exact) == exact);
  const std::string longer = bound_message(std::string(5000, 'x'));
  CHECK(longer.size() <= kMaxMessageBytes);
  CHECK(longer.substr(longer.size() - 26) == "...(truncated, 5000 bytes)");
  std::string accents;
  for (int i = 0; i < 1000; ++i) {
    accents += "\xc3\xa9";
  }
  for (std::size_t max : {64, 65, 100, 101, 1024}) {
    const std::string cut = bound_message(accents, max);
    INFO(max);
    CHECK(cut.size() <= max);
    CHECK(valid_utf8(cut));  // never half a character before the mark
  }
}

TEST_CASE("bound_warnings caps the count with a summary and bounds each", "[pod_text]") {
  struct Row {
    std::size_t count;
    std::size_t kept;
    const char* last;  // the last warning kept ("" when it is an original)
  };
  auto row = GENERATE(values<Row>({
      {0, 0, ""},
      {1, 1, ""},
      {kMaxWarnings, kMaxWarnings, ""},
      {kMaxWarnings + 1, kMaxWarnings, "sigv4-injector: 2 more warnings not shown"},
      {100000, kMaxWarnings, "sigv4-injector: 99993 more warnings not shown"},
  }));
  std::vector<std::string> warnings;
  for (std::size_t i = 0; i < row.count; ++i) {
    warnings.push_back("w" + std::to_string(i) + std::string(i % 2 == 0 ? 10 : 100000, '!'));
  }
  bound_warnings(warnings);
  REQUIRE(warnings.size() == row.kept);
  for (const std::string& w : warnings) {
    CHECK(w.size() <= kMaxMessageBytes);
  }
  if (*row.last != '\0') {
    CHECK(warnings.back() == row.last);
  }
  if (row.kept > 0) {
    CHECK(warnings.front() == "w0" + std::string(10, '!'));
  }
}
