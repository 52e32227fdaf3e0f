#pragma once

// The byte scanner shared by the JSON parser (json_parse.cpp) and writer (json_text.cpp).

#include <bit>
#include <cstdint>
#include <cstring>

namespace sigv4 {

// The first byte at or after `s` that ends a plain run inside a JSON string: '"', '\\', a
// control character or a byte >= 0x80 (UTF-8, validated or escaped separately); `end` if none.
// Eight bytes per step: strings of a pod are short ASCII names and values, and a per-byte loop was
// most of the string cost.
inline const char* scan_plain(const char* s, const char* end) {
  if constexpr (std::endian::native == std::endian::little) {
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
    constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
    while (end - s >= 8) {
      std::uint64_t w;
      std::memcpy(&w, s, 8);
      const std::uint64_t quote = w ^ (kOnes * '"');
      const std::uint64_t slash = w ^ (kOnes * '\\');
      // Each term flags its lowest matching byte exactly (borrows only run upwards from a true
      // match), so the lowest flag of the union is the first byte to stop at.
      const std::uint64_t hits =
          ((quote - kOnes) & ~quote) | ((slash - kOnes) & ~slash) | ((w - kOnes * 0x20) & ~w) | w;
      if (const std::uint64_t m = hits & kHighs; m != 0) {
        return s + (std::countr_zero(m) >> 3);
      }
      s += 8;
    }
  }
  for (; s < end; ++s) {
    const auto u = static_cast<unsigned char>(*s);
    if (u == '"' || u == '\\' || u < 0x20 || u >= 0x80) {
      return s;
    }
  }
  return end;
}

}  // namespace sigv4
