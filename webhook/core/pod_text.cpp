#include "pod_text.h"

#include <algorithm>
#include <array>
#include <utility>

#include "codec/utf8.h"

namespace sigv4 {
namespace {

constexpr std::array<char, 16> kHex = {'0', '1', '2', '3', '4', '5', '6', '7',
                                       '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};

// Code points shown escaped: C1 controls, line and paragraph separators, and the bidirectional
// controls that can make a terminal show text in another order than it is.
bool escaped_code_point(char32_t cp) {
  return (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E ||
         cp == 0x200F || cp == 0x061C;
}

// The escaped form of the character of `length` bytes at the start of `s` (`length` 1 and an
// invalid `code_point` for a byte that is not UTF-8).
void append_escaped(std::string& out, std::string_view s, std::size_t length, char32_t cp,
                    bool valid) {
  if (!valid) {
    const auto b = static_cast<unsigned char>(s[0]);
    out += "\\x";
    out += kHex[b >> 4];
    out += kHex[b & 0x0Fu];
    return;
  }
  switch (cp) {
    case '\\':
      out += "\\\\";
      return;
    case '"':
      out += "\\\"";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\t':
      out += "\\t";
      return;
    case '\r':
      out += "\\r";
      return;
    default:
      break;
  }
  if (cp < 0x20 || cp == 0x7F) {
    out += "\\x";
    out += kHex[cp >> 4];
    out += kHex[cp & 0x0Fu];
  } else if (escaped_code_point(cp)) {
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) {
      out += kHex[(cp >> shift) & 0x0Fu];
    }
  } else {
    out.append(s.data(), length);
  }
}

}  // namespace

std::string clip(std::string_view text, std::size_t max) {
  std::string out;
  out.reserve(std::min(text.size(), max) + 8);
  std::string piece;
  std::size_t i = 0;
  while (i < text.size()) {
    char32_t cp = 0;
    const std::size_t length = next_code_point(text, i, cp);
    piece.clear();
    append_escaped(piece, text.substr(i), length == 0 ? 1 : length, cp, length != 0);
    if (out.size() + piece.size() > max) {
      break;
    }
    out += piece;
    i += length == 0 ? 1 : length;
  }
  if (i < text.size()) {
    out += "...(";
    out += std::to_string(text.size());
    out += " bytes)";
  }
  return out;
}

std::string quote(std::string_view text, std::size_t max) { return '"' + clip(text, max) + '"'; }

std::string bound_message(std::string message, std::size_t max) {
  if (message.size() <= max) {
    return message;
  }
  const std::string mark = "...(truncated, " + std::to_string(message.size()) + " bytes)";
  std::size_t cut = max > mark.size() ? max - mark.size() : 0;
  // Back to the start of a character: never leave half of one before the mark.
  while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0u) == 0x80u) {
    --cut;
  }
  message.resize(cut);
  message += mark;
  return message;
}

void bound_warnings(std::vector<std::string>& warnings) {
  if (warnings.size() > kMaxWarnings) {
    const std::size_t left_out = warnings.size() - (kMaxWarnings - 1);
    warnings.resize(kMaxWarnings - 1);
    warnings.push_back("sigv4-injector: " + std::to_string(left_out) + " more warnings not shown");
  }
  for (std::string& warning : warnings) {
    warning = bound_message(std::move(warning));
  }
}

}  // namespace sigv4
