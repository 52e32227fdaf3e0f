// parse_json_limited and parse_json_doc (declared in json_parse.h): the parser for untrusted
// JSON. Hand-written because nlohmann's lexer, driven through SAX, was half of the cost of a
// review (it reads byte by byte through an input adapter and copies every token into a scratch
// string). This one scans strings eight bytes at a time (its tokens are json_lex's) and sends
// what it keeps to a sink: the same tree as nlohmann's through JsonTree, or a JsonDoc. Same
// strictness as nlohmann::json::parse: RFC 8259 grammar, UTF-8 validated, no NaN or Infinity, no
// leading zeros, nothing after the document but whitespace.

#include "json_parse.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "json_doc.h"
#include "json_lex.h"
#include "json_tree.h"

namespace sigv4 {
namespace {

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
      : lex_(text, limits, what),
        max_depth_(limits.max_depth),
        next_(keep != nullptr ? keep : &kKeepAll),
        sink_(sink) {}

  // Iterative, not recursive: the depth of the input only grows `open_` (bounded by max_depth).
  void parse() {
    lex_.skip_bom();
    for (;;) {
      value();
      // After a value: close every container that ends here, then go on to the next value.
      for (;;) {
        lex_.skip_space();
        if (open_.empty()) {
          if (!lex_.at_end()) {
            lex_.fail("unexpected text after the document");
          }
          return;
        }
        if (lex_.at_end()) {
          lex_.fail("unexpected end of input");
        }
        const char c = lex_.peek();
        if (c == ',') {
          lex_.advance();
          if (open_.back() == '}') {
            lex_.skip_space();
            member_key();
          } else {
            next_ = item_shape(shapes_.back());
          }
          break;
        }
        if (c != open_.back()) {
          lex_.fail(open_.back() == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
        }
        lex_.advance();
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
  // One value at the cursor (after optional whitespace); a container is only opened, its
  // members follow in parse()'s loop.
  void value() {
    for (;;) {
      lex_.skip_space();
      if (lex_.at_end()) {
        lex_.fail("unexpected end of input");
      }
      switch (lex_.peek()) {
        case '{':
          open('}');
          lex_.skip_space();
          if (!lex_.at_end() && lex_.peek() == '}') {
            return;  // empty: parse() closes it
          }
          member_key();
          continue;  // the first member's value
        case '[':
          open(']');
          lex_.skip_space();
          if (!lex_.at_end() && lex_.peek() == ']') {
            return;
          }
          continue;
        case '"':
          if (next_ != nullptr) {
            const std::string_view s = lex_.string();
            sink_.string(s, lex_.stable());
          } else {
            lex_.skip_string();
          }
          return;
        case 't':
          lex_.literal("true");
          if (next_ != nullptr) {
            sink_.boolean(true);
          }
          return;
        case 'f':
          lex_.literal("false");
          if (next_ != nullptr) {
            sink_.boolean(false);
          }
          return;
        case 'n':
          lex_.literal("null");
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
    if (open_.size() + 1 > max_depth_) {
      lex_.too_deep();
    }
    lex_.advance();
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

  // `"key" :` at the cursor, leaving it at the member's value.
  void member_key() {
    if (lex_.at_end() || lex_.peek() != '"') {
      lex_.fail("expected a string as object key");
    }
    const JsonShape* parent = shapes_.back();
    if (parent == nullptr) {
      lex_.skip_string();
      next_ = nullptr;
    } else if (!filters_keys(parent)) {
      const std::string_view k = lex_.string();
      sink_.key(k, lex_.stable());
      next_ = &kKeepAll;
    } else {
      const std::string_view k = lex_.string();
      next_ = member_shape(parent, k);
      if (next_ != nullptr) {
        sink_.key(k, lex_.stable());
      }
    }
    lex_.skip_space();
    if (lex_.at_end() || lex_.peek() != ':') {
      lex_.fail("expected ':' after an object key");
    }
    lex_.advance();
  }

  void number() {
    const JsonNumber n = lex_.number();  // checked even when not kept
    if (next_ == nullptr) {
      return;
    }
    switch (n.kind) {
      case JsonNumber::Kind::kUnsigned:
        sink_.unsigned_integer(n.unsigned_value);
        return;
      case JsonNumber::Kind::kInteger:
        sink_.integer(n.integer_value);
        return;
      case JsonNumber::Kind::kReal:
        sink_.real(n.real_value);
        return;
    }
  }

  JsonLexer lex_;
  std::size_t max_depth_;
  std::string open_;                      // the closers of the open containers, innermost last
  std::vector<const JsonShape*> shapes_;  // their shapes (null: not kept), innermost last
  const JsonShape* next_;                 // the shape of the value about to be read
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
