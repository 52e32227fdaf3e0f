#include "utf8.h"

namespace sigv4 {

std::size_t next_code_point(std::string_view s, std::size_t i, char32_t& cp) {
  auto c = static_cast<unsigned char>(s[i]);
  std::size_t extra = 0;
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  if (c >= 0xf0 && c <= 0xf7) {
    extra = 3;
  } else if (c >= 0xe0 && c <= 0xef) {
    extra = 2;
  } else if (c >= 0xc0 && c <= 0xdf) {
    extra = 1;
  } else {
    return 0;
  }
  if (s.size() - i <= extra) {
    return 0;
  }
  cp = c & (0x3fu >> extra);
  for (std::size_t k = 1; k <= extra; ++k) {
    auto next = static_cast<unsigned char>(s[i + k]);
    if ((next & 0xc0) != 0x80) {
      return 0;
    }
    cp = cp << 6 | (next & 0x3fu);
  }
  constexpr char32_t kMin[] = {0, 0x80, 0x800, 0x10000};
  if (cp < kMin[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    return 0;
  }
  return extra + 1;
}

bool valid_utf8(std::string_view s) {
  char32_t cp = 0;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t length = next_code_point(s, i, cp);
    if (length == 0) {
      return false;
    }
    i += length;
  }
  return true;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | cp >> 6);
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | cp >> 12);
    out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | cp >> 18);
    out += static_cast<char>(0x80 | (cp >> 12 & 0x3F));
    out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string replace_invalid_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    char32_t cp = 0;
    const std::size_t length = next_code_point(bytes, i, cp);
    if (length == 0) {
      out += "\xef\xbf\xbd";
      ++i;
    } else {
      out.append(bytes, i, length);
      i += length;
    }
  }
  return out;
}

}  // namespace sigv4
