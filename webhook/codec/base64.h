#pragma once

// Base64 as the AdmissionReview's `patch` field carries it, and the cached encoding of text that
// recurs in every patch of one set of settings.

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sigv4 {

std::string base64_encode(std::string_view data);
// The bytes `text` encodes in the standard alphabet, padding required, nothing else allowed
// (no line breaks: strip them first); nullopt when it is not such base64.
std::optional<std::string> base64_decode(std::string_view text);
// Appends the base64 of `data` to `out`.
void append_base64(std::string& out, std::string_view data);

// Text that recurs inside the patches of many reviews (the containers of one set of settings),
// with its base64 computed once for each of the three places a 3-byte group boundary can fall
// in it: encoded[k] is the base64 of text[k, k + 3 * floor((size - k) / 3)).
struct Base64Piece {
  std::string text;
  std::array<std::string, 3> encoded;
};
Base64Piece make_base64_piece(std::string text);

// Text written partly from Base64Pieces, which knows its base64 at the cost of encoding only
// what lies between the pieces (a patch is mostly its two containers' cached text).
class PieceText {
 public:
  std::string text;  // written directly, or through append()
  void append(const Base64Piece& piece);
  // Appends another PieceText, its pieces included.
  void append(const PieceText& other);
  // The base64 of `text`, equal to base64_encode(text). The pieces appended must still exist.
  std::string base64() const;

 private:
  struct Span {
    std::size_t offset;
    const Base64Piece* piece;
  };
  std::vector<Span> spans_;
};

}  // namespace sigv4
