// parse_json_limited and parse_json_doc (declared in json_parse.h): the parser for untrusted
// JSON. Hand-written because nlohmann's lexer, driven through SAX, was half of the cost of a
// review (it reads byte by byte through an input adapter and copies every token into a scratch
// string). This one scans strings eight bytes at a time and sends what it keeps to a sink: the
// same tree as nlohmann's through JsonTree, or a JsonDoc. Same strictness as
// nlohmann::json::parse: RFC 8259 grammar, UTF-8 validated, no NaN or Infinity, no leading
// zeros, nothing after the document but whitespace.

#include "json_parse.h"

#include <algorithm>
#include <charconv>
#include <clocale>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "errors.h"
#include "json_doc.h"
#include "json_scan.h"
#include "json_tree.h"

namespace sigv4 {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// The length of the well-formed UTF-8 sequence at `s` (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF), or 0.
std::size_t utf8_length(const unsigned char* s, const unsigned char* end) {
  const unsigned c = s[0];
  auto cont = [&](std::size_t i, unsigned lo = 0x80, unsigned hi = 0xBF) {
    return s + i < end && s[i] >= lo && s[i] <= hi;
  };
  if (c >= 0xC2 && c <= 0xDF) {
    return cont(1) ? 2 : 0;
  }
  if (c >= 0xE0 && c <= 0xEF) {
    const unsigned lo = c == 0xE0 ? 0xA0 : 0x80;
    const unsigned hi = c == 0xED ? 0x9F : 0xBF;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    const unsigned lo = c == 0xF0 ? 0x90 : 0x80;
    const unsigned hi = c == 0xF4 ? 0x8F : 0xBF;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

void append_utf8(std::string& out, std::uint32_t cp) {
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

constexpr JsonShape kKeepAll{.all = true};

// The shape of the value under `key` in an object of shape `s` (null: not kept).
const JsonShape* member_shape(const JsonShape* s, std::string_view key) {
  if (s == nullptr || s->all || s->members.empty()) {
    return s == nullptr ? nullptr : &kKeepAll;  // an object where none was expected: all of it
  }
  for (const auto& m : s->members) {
    if (m.key == key) {
      return m.shape;
    }
  }
  return nullptr;
}

// The shape of the items of an array of shape `s`.
const JsonShape* item_shape(const JsonShape* s) {
  if (s == nullptr) {
    return nullptr;
  }
  return s->items != nullptr ? s->items : &kKeepAll;
}

// Whether the keys of an object of shape `s` need reading to know what to keep.
bool filters_keys(const JsonShape* s) { return s != nullptr && !s->all && !s->members.empty(); }

// Builds a nlohmann tree from the parser's events (through JsonTree).
class TreeSink {
 public:
  void key(std::string_view k, bool /*stable*/) { tree_.key(std::string(k)); }
  void null() { tree_.add(Json(nullptr)); }
  void boolean(bool b) { tree_.add(Json(b)); }
  void integer(std::int64_t i) { tree_.add(Json(static_cast<Json::number_integer_t>(i))); }
  void unsigned_integer(std::uint64_t u) {
    tree_.add(Json(static_cast<Json::number_unsigned_t>(u)));
  }
  void real(double d) { tree_.add(Json(d)); }
  void string(std::string_view s, bool /*stable*/) { tree_.add(Json(std::string(s))); }
  void open_object() { tree_.open(); }
  void open_array() { tree_.open(); }
  void close_object() { tree_.add(tree_.close_object()); }
  void close_array() { tree_.add(tree_.close_array()); }
  Json take() { return tree_.take(); }

 private:
  JsonTree tree_;
};

// The parser, sending what `keep` names to a Sink (TreeSink, or JsonDocBuilder). Strings reach
// the sink as views: `stable` when they view the text itself (no escapes), else a scratch buffer
// the sink must copy before the next event.
template <class Sink>
class Parser {
 public:
  Parser(std::string_view text, const JsonLimits& limits, std::string_view what,
         const JsonShape* keep, Sink& sink)
      : begin_(text.data()),
        p_(text.data()),
        end_(text.data() + text.size()),
        limits_(limits),
        what_(what),
        next_(keep != nullptr ? keep : &kKeepAll),
        sink_(sink) {}

  // Iterative, not recursive: the depth of the input only grows `open_` (bounded by max_depth).
  void parse() {
    if (end_ - p_ >= 3 && std::memcmp(p_, "\xEF\xBB\xBF", 3) == 0) {
      p_ += 3;  // a byte order mark, which nlohmann skips too
    }
    for (;;) {
      value();
      // After a value: close every container that ends here, then go on to the next value.
      for (;;) {
        skip_space();
        if (open_.empty()) {
          if (p_ != end_) {
            fail("unexpected text after the document");
          }
          return;
        }
        if (p_ == end_) {
          fail("unexpected end of input");
        }
        const char c = *p_;
        if (c == ',') {
          ++p_;
          if (open_.back() == '}') {
            skip_space();
            member_key();
          } else {
            next_ = item_shape(shapes_.back());
          }
          break;
        }
        if (c != open_.back()) {
          fail(open_.back() == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
        }
        ++p_;
        open_.pop_back();
        const bool kept = shapes_.back() != nullptr;
        shapes_.pop_back();
        if (kept) {
          if (c == '}') {
            sink_.close_object();
          } else {
            sink_.close_array();
          }
        }
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& reason) const { fail_at(reason, p_); }

  [[noreturn]] void fail_at(const std::string& reason, const char* at) const {
    throw InputError(std::string(what_),
                     "malformed JSON: " + reason + " at byte " + std::to_string(at - begin_));
  }

  void skip_space() {
    while (p_ != end_ && is_space(*p_)) {
      ++p_;
    }
  }

  // One value at p_ (after optional whitespace); a container is only opened, its members
  // follow in parse()'s loop.
  void value() {
    for (;;) {
      skip_space();
      if (p_ == end_) {
        fail("unexpected end of input");
      }
      switch (*p_) {
        case '{':
          open('}');
          skip_space();
          if (p_ != end_ && *p_ == '}') {
            return;  // empty: parse() closes it
          }
          member_key();
          continue;  // the first member's value
        case '[':
          open(']');
          skip_space();
          if (p_ != end_ && *p_ == ']') {
            return;
          }
          continue;
        case '"':
          if (next_ != nullptr) {
            const std::string_view s = string();
            sink_.string(s, stable_);
          } else {
            skip_string();
          }
          return;
        case 't':
          literal("true");
          if (next_ != nullptr) {
            sink_.boolean(true);
          }
          return;
        case 'f':
          literal("false");
          if (next_ != nullptr) {
            sink_.boolean(false);
          }
          return;
        case 'n':
          literal("null");
          if (next_ != nullptr) {
            sink_.null();
          }
          return;
        default:
          number();
          return;
      }
    }
  }

  void open(char closer) {
    if (open_.size() + 1 > limits_.max_depth) {
      throw InputError(std::string(what_), "JSON nested deeper than " +
                                               std::to_string(limits_.max_depth) +
                                               " levels at byte " + std::to_string(p_ - begin_));
    }
    ++p_;
    open_.push_back(closer);
    shapes_.push_back(next_);
    if (next_ != nullptr) {
      if (closer == '}') {
        sink_.open_object();
      } else {
        sink_.open_array();
      }
    }
    if (closer == ']') {
      next_ = item_shape(next_);
    }
  }

  // `"key" :` at p_, leaving p_ at the member's value.
  void member_key() {
    if (p_ == end_ || *p_ != '"') {
      fail("expected a string as object key");
    }
    const JsonShape* parent = shapes_.back();
    if (parent == nullptr) {
      skip_string();
      next_ = nullptr;
    } else if (!filters_keys(parent)) {
      const std::string_view k = string();
      sink_.key(k, stable_);
      next_ = &kKeepAll;
    } else {
      const std::string_view k = string();
      next_ = member_shape(parent, k);
      if (next_ != nullptr) {
        sink_.key(k, stable_);
      }
    }
    skip_space();
    if (p_ == end_ || *p_ != ':') {
      fail("expected ':' after an object key");
    }
    ++p_;
  }

  void literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::memcmp(p_, word.data(), word.size()) != 0) {
      fail("invalid literal");
    }
    p_ += word.size();
  }

  void check_length(const char* open, const char* at) const {
    if (static_cast<std::size_t>(at - open) > limits_.max_string_bytes) {
      throw InputError(std::string(what_), "a string at byte " + std::to_string(open - begin_) +
                                               " is longer than " +
                                               std::to_string(limits_.max_string_bytes) + " bytes");
    }
  }

  // The string at p_ (its opening quote), decoded; p_ moves past the closing quote. The limit
  // counts raw bytes from the opening quote, as the pre-scan this parser replaced did. Plain
  // strings (no escapes, no UTF-8: nearly all) are viewed in the text (stable_), others decoded
  // into scratch_, valid until the next string.
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

  // The string at p_ checked as string() checks it, but not kept.
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

  // The rest of the string opened at `open` from `s` (where a plain run stopped) into `out`.
  void finish_string(const char* open, const char* s, std::string& out) {
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
        const auto* u = reinterpret_cast<const unsigned char*>(s);
        const std::size_t n = utf8_length(u, reinterpret_cast<const unsigned char*>(end_));
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

  // The four hex digits at s, or -1.
  long hex4(const char* s) const {
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

  // The escape at s (a backslash) appended to out; returns the byte after it.
  const char* escape(const char* s, std::string& out) const {
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
      append_utf8(out, static_cast<std::uint32_t>(first));
      return s + 6;
    }
    // A high surrogate: the low one must follow as another \u escape.
    const long second = end_ - s >= 8 && s[6] == '\\' && s[7] == 'u' ? hex4(s + 8) : -1;
    if (second < 0xDC00 || second > 0xDFFF) {
      fail_at("a high surrogate without a low one in a \\u escape", s);
    }
    append_utf8(out, 0x10000 + ((static_cast<std::uint32_t>(first) - 0xD800) << 10) +
                         (static_cast<std::uint32_t>(second) - 0xDC00));
    return s + 12;
  }

  // A number at p_, typed as nlohmann types it: without a fraction or exponent, a non-negative
  // integer is number_unsigned, a negative one number_integer, each if it fits 64 bits;
  // everything else a double, which must be finite.
  void number() {
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
        if (next_ != nullptr) {
          sink_.unsigned_integer(v);
        }
        return;
      }
      constexpr std::uint64_t kMinMagnitude = std::uint64_t{1} << 63;  // -INT64_MIN
      if (fits && v <= kMinMagnitude) {
        const auto i = v == kMinMagnitude ? INT64_MIN : -static_cast<std::int64_t>(v);
        if (next_ != nullptr) {
          sink_.integer(i);
        }
        return;
      }
    }
    const double d = to_double(start, s);  // checked (finite) even when not kept
    if (next_ != nullptr) {
      sink_.real(d);
    }
  }

  double to_double(const char* start, const char* end) const {
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

  const char* begin_;
  const char* p_;
  const char* end_;
  const JsonLimits& limits_;
  std::string_view what_;
  std::string open_;                      // the closers of the open containers, innermost last
  std::vector<const JsonShape*> shapes_;  // their shapes (null: not kept), innermost last
  const JsonShape* next_;                 // the shape of the value about to be read
  std::string scratch_;                   // where escaped strings are decoded
  bool stable_ = false;                   // whether the last string() views the text
  Sink& sink_;
};

}  // namespace

Json parse_json_limited(std::string_view text, const JsonLimits& limits, std::string_view what,
                        const JsonShape* keep) {
  TreeSink sink;
  Parser(text, limits, what, keep, sink).parse();
  return sink.take();
}

JsonDoc parse_json_doc(std::string_view text, const JsonLimits& limits, std::string_view what,
                       const JsonShape* keep) {
  // About one kept value per 40 bytes of a pod's review; the node vector grows past that.
  JsonDocBuilder sink(std::min<std::size_t>(text.size() / 40 + 16, 4096));
  Parser(text, limits, what, keep, sink).parse();
  return sink.take();
}

}  // namespace sigv4
