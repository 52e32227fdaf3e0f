#include "base64.h"

#include <bit>
#include <cstdint>
#include <cstring>
#include <utility>

namespace sigv4 {

void append_base64(std::string& out, std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  // Every 12-bit value as its two output characters: a group of three bytes is two lookups
  // and two 2-byte stores instead of four of each (the patch is kilobytes, encoded per review).
  static constexpr auto kPairs = [] {
    std::array<std::array<char, 2>, 4096> pairs{};
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      pairs[i] = {kAlphabet[i >> 6], kAlphabet[i & 63]};
    }
    return pairs;
  }();
  // Sized once and written by index: appending char by char cost more than the encoding.
  const std::size_t mark = out.size();
  out.resize(mark + (data.size() + 2) / 3 * 4, '=');
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  char* o = out.data() + mark;
  std::size_t i = 0;
  if constexpr (std::endian::native == std::endian::little) {
    // Six bytes per step from one 8-byte load (byte-swapped so the first byte is on top): four
    // 12-bit indices, four 2-character stores.
    for (; i + 8 <= data.size(); i += 6) {
      std::uint64_t w;
      std::memcpy(&w, in + i, 8);
      w = __builtin_bswap64(w);
      std::memcpy(o, kPairs[w >> 52].data(), 2);
      std::memcpy(o + 2, kPairs[w >> 40 & 0xFFF].data(), 2);
      std::memcpy(o + 4, kPairs[w >> 28 & 0xFFF].data(), 2);
      std::memcpy(o + 6, kPairs[w >> 16 & 0xFFF].data(), 2);
      o += 8;
    }
  }
  for (; i + 2 < data.size(); i += 3) {
    const unsigned n = unsigned{in[i]} << 16 | unsigned{in[i + 1]} << 8 | unsigned{in[i + 2]};
    std::memcpy(o, kPairs[n >> 12].data(), 2);
    std::memcpy(o + 2, kPairs[n & 0xFFF].data(), 2);
    o += 4;
  }
  if (i < data.size()) {
    unsigned n = unsigned{in[i]} << 16;
    if (i + 1 < data.size()) {
      n |= unsigned{in[i + 1]} << 8;
    }
    o[0] = kAlphabet[n >> 18 & 63];
    o[1] = kAlphabet[n >> 12 & 63];
    if (i + 1 < data.size()) {
      o[2] = kAlphabet[n >> 6 & 63];
    }
  }
}

std::string base64_encode(std::string_view data) {
  std::string out;
  append_base64(out, data);
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (text.size() % 4 != 0) {
    return std::nullopt;
  }
  std::string bytes;
  bytes.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    unsigned long quantum = 0;
    std::size_t pad = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        ++pad;
        quantum <<= 6;
        continue;
      }
      const std::size_t v = kAlphabet.find(c);
      if (v == std::string_view::npos || pad > 0) {
        return std::nullopt;
      }
      quantum = quantum << 6 | v;
    }
    bytes += static_cast<char>(quantum >> 16 & 0xff);
    if (pad < 2) {
      bytes += static_cast<char>(quantum >> 8 & 0xff);
    }
    if (pad < 1) {
      bytes += static_cast<char>(quantum & 0xff);
    }
  }
  return bytes;
}

Base64Piece make_base64_piece(std::string text) {
  Base64Piece piece{std::move(text), {}};
  const std::string_view t = piece.text;
  for (std::size_t k = 0; k < 3 && k <= t.size(); ++k) {
    piece.encoded[k] = base64_encode(t.substr(k, (t.size() - k) / 3 * 3));
  }
  return piece;
}

void PieceText::append(const Base64Piece& piece) {
  spans_.push_back({text.size(), &piece});
  text += piece.text;
}

void PieceText::append(const PieceText& other) {
  const std::size_t shift = text.size();
  for (const Span& span : other.spans_) {
    spans_.push_back({span.offset + shift, span.piece});
  }
  text += other.text;
}

std::string PieceText::base64() const {
  std::string out;
  out.reserve((text.size() + 2) / 3 * 4);
  const std::string_view t = text;
  std::size_t done = 0;  // bytes of `text` encoded so far, a multiple of 3
  for (const Span& span : spans_) {
    // Encode up to the first group boundary inside the piece, then copy the piece's encoding
    // from that boundary on; the bytes after its last whole group are encoded with what follows.
    const std::size_t k = (3 - span.offset % 3) % 3;
    if (span.offset < done || k > span.piece->text.size()) {
      continue;  // a piece too short to reach a boundary: encoded as plain text
    }
    append_base64(out, t.substr(done, span.offset + k - done));
    const std::string& cached = span.piece->encoded[k];
    out += cached;
    done = span.offset + k + cached.size() / 4 * 3;
  }
  append_base64(out, t.substr(done));
  return out;
}

}  // namespace sigv4
