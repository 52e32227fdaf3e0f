#include "json_lex.h"

#include <algorithm>
#include <charconv>
#include <clocale>
#include <cmath>
#include <cstdlib>

#include "errors.h"
#include "utf8.h"

namespace sigv4 {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

void JsonLexer::fail_at(const std::string& reason, const char* at) const {
  throw InputError(std::string(what_),
                   "malformed JSON: " + reason + " at byte " + std::to_string(at - begin_));
}

void JsonLexer::too_deep() const {
  throw InputError(std::string(what_), "JSON nested deeper than " +
                                           std::to_string(limits_.max_depth) + " levels at byte " +
                                           std::to_string(p_ - begin_));
}

void JsonLexer::too_long(const char* open) const {
  throw InputError(std::string(what_), "a string at byte " + std::to_string(open - begin_) +
                                           " is longer than " +
                                           std::to_string(limits_.max_string_bytes) + " bytes");
}

void JsonLexer::finish_string(const char* open, const char* s, std::string& out) {
  for (;;) {
    check_length(open, s);
    if (s == end_) {
      fail_at("unterminated string", open);
    }
    const auto c = static_cast<unsigned char>(*s);
    if (c == '"') {
      break;
    }
    if (c == '\\') {
      s = escape(s, out);
    } else if (c < 0x20) {
      fail_at("control character in a string", s);
    } else {
      char32_t cp = 0;
      const std::size_t n = next_code_point({s, static_cast<std::size_t>(end_ - s)}, 0, cp);
      if (n == 0) {
        fail_at("invalid UTF-8 in a string", s);
      }
      out.append(s, n);
      s += n;
    }
    const char* run = scan_plain(s, end_);
    out.append(s, run);
    s = run;
  }
  p_ = s + 1;
}

long JsonLexer::hex4(const char* s) const {
  if (end_ - s < 4) {
    return -1;
  }
  long v = 0;
  for (int i = 0; i < 4; ++i) {
    const char c = s[i];
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      return -1;
    }
    v = v << 4 | d;
  }
  return v;
}

const char* JsonLexer::escape(const char* s, std::string& out) const {
  if (end_ - s < 2) {
    fail_at("unterminated string", s);
  }
  switch (s[1]) {
    case '"':
      out += '"';
      return s + 2;
    case '\\':
      out += '\\';
      return s + 2;
    case '/':
      out += '/';
      return s + 2;
    case 'b':
      out += '\b';
      return s + 2;
    case 'f':
      out += '\f';
      return s + 2;
    case 'n':
      out += '\n';
      return s + 2;
    case 'r':
      out += '\r';
      return s + 2;
    case 't':
      out += '\t';
      return s + 2;
    case 'u':
      break;
    default:
      fail_at("invalid escape in a string", s);
  }
  const long first = hex4(s + 2);
  if (first < 0) {
    fail_at("invalid \\u escape", s);
  }
  if (first >= 0xDC00 && first <= 0xDFFF) {
    fail_at("a low surrogate without a high one in a \\u escape", s);
  }
  if (first < 0xD800 || first > 0xDBFF) {
    append_utf8(out, static_cast<char32_t>(first));
    return s + 6;
  }
  // A high surrogate: the low one must follow as another \u escape.
  const long second = end_ - s >= 8 && s[6] == '\\' && s[7] == 'u' ? hex4(s + 8) : -1;
  if (second < 0xDC00 || second > 0xDFFF) {
    fail_at("a high surrogate without a low one in a \\u escape", s);
  }
  append_utf8(out, 0x10000 + ((static_cast<char32_t>(first) - 0xD800) << 10) +
                       (static_cast<char32_t>(second) - 0xDC00));
  return s + 12;
}

// A number at the cursor, typed as JsonNumber says.
JsonNumber JsonLexer::number() {
  const char* const start = p_;
  const char* s = p_;
  const bool negative = *s == '-';
  if (negative) {
    ++s;
  }
  if (s == end_ || !is_digit(*s)) {
    fail_at(negative ? "invalid number" : "unexpected character", start);
  }
  if (*s == '0') {
    ++s;
    if (s != end_ && is_digit(*s)) {
      fail_at("a number with a leading zero", start);
    }
  } else {
    while (s != end_ && is_digit(*s)) {
      ++s;
    }
  }
  const char* const digits_end = s;
  bool integral = true;
  if (s != end_ && *s == '.') {
    integral = false;
    ++s;
    if (s == end_ || !is_digit(*s)) {
      fail_at("invalid number", start);
    }
    while (s != end_ && is_digit(*s)) {
      ++s;
    }
  }
  if (s != end_ && (*s == 'e' || *s == 'E')) {
    integral = false;
    ++s;
    if (s != end_ && (*s == '+' || *s == '-')) {
      ++s;
    }
    if (s == end_ || !is_digit(*s)) {
      fail_at("invalid number", start);
    }
    while (s != end_ && is_digit(*s)) {
      ++s;
    }
  }
  p_ = s;
  if (integral) {
    std::uint64_t v = 0;
    bool fits = true;
    for (const char* d = start + (negative ? 1 : 0); d != digits_end && fits; ++d) {
      fits = !__builtin_mul_overflow(v, 10, &v) &&
             !__builtin_add_overflow(v, static_cast<std::uint64_t>(*d - '0'), &v);
    }
    if (fits && !negative) {
      return {.kind = JsonNumber::Kind::kUnsigned, .unsigned_value = v};
    }
    constexpr std::uint64_t kMinMagnitude = std::uint64_t{1} << 63;  // -INT64_MIN
    if (fits && v <= kMinMagnitude) {
      const auto i = v == kMinMagnitude ? INT64_MIN : -static_cast<std::int64_t>(v);
      return {.kind = JsonNumber::Kind::kInteger, .integer_value = i};
    }
  }
  return {.kind = JsonNumber::Kind::kReal, .real_value = to_double(start, s)};
}

double JsonLexer::to_double(const char* start, const char* end) const {
  double d = 0;
  const auto [ptr, ec] = std::from_chars(start, end, d);
  if (ec == std::errc::result_out_of_range) {
    // Overflow or underflow: strtod tells them apart (underflow gives 0 or a subnormal,
    // as nlohmann's strtod does).
    std::string token(start, end);
    // strtod reads the locale's decimal point (as nlohmann's own conversion allows for).
    if (const char point = *std::localeconv()->decimal_point; point != '.') {
      std::replace(token.begin(), token.end(), '.', point);
    }
    d = std::strtod(token.c_str(), nullptr);
  } else if (ec != std::errc() || ptr != end) {
    fail_at("invalid number", start);
  }
  if (!std::isfinite(d)) {
    fail_at("a number too large for a double", start);
  }
  return d;
}

}  // namespace sigv4
