// codec/base64.h: the encoder behind every patch's `patch` field (and its cached pieces), and the
// decoder behind YAML's !!binary, checked against RFC 4648's test vectors and each other.

#include <catch2/catch.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "codec/base64.h"

using namespace std::literals;
using sigv4::append_base64;
using sigv4::base64_decode;
using sigv4::base64_encode;
using sigv4::Base64Piece;
using sigv4::make_base64_piece;
using sigv4::PieceText;

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

TEST_CASE("PieceText's base64 equals the base64 of its text", "[base64]") {
  // Pieces of every length modulo 3 (0 to 7 bytes, and a long one), at every phase of a 3-byte
  // group, next to each other and between plain text of every length.
  const Base64Piece long_piece = make_base64_piece(std::string(1000, 'L') + "\xff\x01");
  for (std::size_t lead = 0; lead < 4; ++lead) {
    for (std::size_t size = 0; size < 8; ++size) {
      for (std::size_t gap = 0; gap < 4; ++gap) {
        const Base64Piece piece =
            make_base64_piece(std::string(size, static_cast<char>('a' + size)));
        PieceText t;
        t.text.append(lead, '[');
        t.append(piece);
        t.text.append(gap, ',');
        t.append(long_piece);
        t.append(piece);
        PieceText outer;
        outer.text += "{\"x\":";
        outer.append(t);
        outer.text.append(gap, '}');
        INFO("lead " << lead << " size " << size << " gap " << gap);
        CHECK(t.base64() == base64_encode(t.text));
        CHECK(outer.base64() == base64_encode(outer.text));
      }
    }
  }
  CHECK(PieceText().base64().empty());
}

TEST_CASE("base64 round-trips every byte at every phase, and appends", "[base64]") {
  CHECK(base64_decode(base64_encode(std::string("\xff\x00\x10", 3))) ==
        std::string("\xff\x00\x10", 3));
  // Every byte value in every position of a group of three, and every tail length.
  std::string all;
  for (int round = 0; round < 3; ++round) {
    for (int b = 0; b < 256; ++b) {
      all += static_cast<char>(b);
    }
    all += 'x';
  }
  for (std::size_t cut = 0; cut < 3; ++cut) {
    const std::string data = all.substr(cut);
    CHECK(base64_decode(base64_encode(data)) == data);
  }
  CHECK(base64_encode("\xfb\xff\xbf") == "+/+/");
  // Every length across the wide steps, appended after what is already there.
  for (std::size_t n = 0; n <= 40; ++n) {
    const std::string data = all.substr(250, n);
    std::string out = "prefix:";
    append_base64(out, data);
    CHECK(out.substr(0, 7) == "prefix:");
    CHECK(base64_decode(out.substr(7)) == data);
    CHECK(out.size() == 7 + (n + 2) / 3 * 4);
  }
}
