#pragma once

// The tokens of JSON text, for the parser (json_parse.cpp): whitespace, the literals, strings
// (UTF-8 validated, escapes decoded) and numbers (typed as nlohmann types them), each checked
// against the JsonLimits. Every error is an InputError naming the document and the byte offset.
// Objects, arrays and which of their values to keep are the parser's.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "json_parse.h"
#include "json_scan.h"

namespace sigv4 {

// A number as nlohmann types it: without a fraction or exponent, a non-negative integer is
// kUnsigned and a negative one kInteger, each if it fits 64 bits; anything else a finite kReal.
struct JsonNumber {
  enum class Kind : std::uint8_t { kUnsigned, kInteger, kReal };
  Kind kind = Kind::kUnsigned;
  std::uint64_t unsigned_value = 0;
  std::int64_t integer_value = 0;
  double real_value = 0;
};

class JsonLexer {
 public:
  JsonLexer(std::string_view text, const JsonLimits& limits, std::string_view what)
      : begin_(text.data()),
        p_(text.data()),
        end_(text.data() + text.size()),
        limits_(limits),
        what_(what) {}

  bool at_end() const { return p_ == end_; }
  // The byte at the cursor; not at_end().
  char peek() const { return *p_; }
  void advance() { ++p_; }

  // Past a byte order mark at the start, which nlohmann skips too.
  void skip_bom() {
    if (end_ - p_ >= 3 && std::memcmp(p_, "\xEF\xBB\xBF", 3) == 0) {
      p_ += 3;
    }
  }

  void skip_space() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) {
      ++p_;
    }
  }

  // `word` (true, false or null) at the cursor, and past it.
  void literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::memcmp(p_, word.data(), word.size()) != 0) {
      fail("invalid literal");
    }
    p_ += word.size();
  }

  // The string at the cursor (its opening quote), decoded; the cursor moves past the closing
  // quote. The limit counts raw bytes from the opening quote, as the pre-scan this parser
  // replaced did. Plain strings (no escapes, no UTF-8: nearly all) are viewed in the text
  // (stable() is true), others decoded into a scratch buffer valid until the next string.
  std::string_view string() {
    const char* const open = p_;
    const char* s = scan_plain(open + 1, end_);
    if (s != end_ && *s == '"') {
      check_length(open, s);
      p_ = s + 1;
      stable_ = true;
      return {open + 1, static_cast<std::size_t>(s - open - 1)};
    }
    scratch_.assign(open + 1, s);
    finish_string(open, s, scratch_);
    stable_ = false;
    return scratch_;
  }
  // Whether the last string() views the text itself (it outlives the parse).
  bool stable() const { return stable_; }

  // The string at the cursor checked as string() checks it, but not kept.
  void skip_string() {
    const char* const open = p_;
    const char* s = scan_plain(open + 1, end_);
    if (s != end_ && *s == '"') {
      check_length(open, s);
      p_ = s + 1;
      return;
    }
    scratch_.clear();
    finish_string(open, s, scratch_);
  }

  // The number at the cursor, and past it; its value is checked even when the caller keeps
  // nothing of it.
  JsonNumber number();

  // Fails at the cursor: "malformed JSON: <reason> at byte N".
  [[noreturn]] void fail(const std::string& reason) const { fail_at(reason, p_); }
  [[noreturn]] void fail_at(const std::string& reason, const char* at) const;
  // Fails at the cursor for a container that would nest deeper than the limits allow.
  [[noreturn]] void too_deep() const;

 private:
  void check_length(const char* open, const char* at) const {
    if (static_cast<std::size_t>(at - open) > limits_.max_string_bytes) {
      too_long(open);
    }
  }
  [[noreturn]] void too_long(const char* open) const;
  // The rest of the string opened at `open` from `s` (where a plain run stopped) into `out`.
  void finish_string(const char* open, const char* s, std::string& out);
  // The four hex digits at s, or -1.
  long hex4(const char* s) const;
  // The escape at s (a backslash) appended to out; returns the byte after it.
  const char* escape(const char* s, std::string& out) const;
  double to_double(const char* start, const char* end) const;

  const char* begin_;
  const char* p_;
  const char* end_;
  const JsonLimits& limits_;
  std::string_view what_;
  std::string scratch_;  // where escaped strings are decoded
  bool stable_ = false;
};

}  // namespace sigv4
