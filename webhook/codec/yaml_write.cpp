// The YAML writer: block style as kubectl prints it (two-space indents, sequences indented under
// their key, `|` blocks for multi-line text). Every string reads back as written: a scalar is
// plain only when it resolves to the same string, and characters YAML cannot hold raw are
// escaped inside double quotes, which yaml-cpp's emitter cannot do for U+FFFE and U+FFFF.
#include <cctype>
#include <cstdio>
#include <string_view>

#include "errors.h"
#include "utf8.h"
#include "yaml.h"

namespace sigv4::yaml {
namespace {

// Implicit keys are limited to 1024 characters as written; longer keys are written `? key`.
constexpr std::size_t kMaxImplicitKey = 1000;

// Decodes the code point at s[i] (JSON strings are valid UTF-8; a stray byte, which cannot come
// from the readers, is passed through as itself); returns its length.
std::size_t decode(std::string_view s, std::size_t i, char32_t& cp) {
  const std::size_t length = next_code_point(s, i, cp);
  if (length == 0) {
    cp = static_cast<unsigned char>(s[i]);
    return 1;
  }
  return length;
}

// Characters a plain scalar or a `|` block can hold as they are: printable, not a line break
// in YAML 1.1 (U+0085, U+2028, U+2029), not a BOM, and not a C1 control or no-break space.
bool raw_char(char32_t cp) {
  return (cp >= 0x20 && cp <= 0x7e) ||
         (cp > 0xa0 && cp <= 0xd7ff && cp != 0x2028 && cp != 0x2029) ||
         (cp >= 0xe000 && cp <= 0xfffd && cp != 0xfeff) || (cp >= 0x10000 && cp <= 0x10ffff);
}

bool all_raw(std::string_view s, bool allow_newline) {
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    i += decode(s, i, cp);
    if (!raw_char(cp) && !(allow_newline && cp == '\n')) {
      return false;
    }
  }
  return true;
}

bool blank(char c) { return c == ' ' || c == '\t' || c == '\n'; }

// Whether another YAML reader could take `s` for a number or a date: YAML 1.1 ints (0b, 0x, 0
// octal, base 60 like 1:20) and floats (1.2.3, 1e400 past range), YAML 1.2 numbers, and 1.1
// timestamps. kubectl's reader takes most as strings, but whoever reads our output next may not.
bool number_like(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    s.remove_prefix(1);
  }
  if (s.size() >= 5 && s[4] == '-' &&
      s.substr(0, 4).find_first_not_of("0123456789") == std::string_view::npos) {
    return true;  // 2001-12-14..., a YAML 1.1 timestamp
  }
  const bool starts =
      !s.empty() &&
      (std::isdigit(static_cast<unsigned char>(s[0])) != 0 ||
       (s[0] == '.' && s.size() > 1 &&
        (std::isdigit(static_cast<unsigned char>(s[1])) != 0 || s[1] == '.' || s[1] == '_')));
  return starts && s.find_first_not_of("0123456789abcdefABCDEFxXoO_.:+-") == std::string::npos;
}

// Whether `s` can be written plain and read back as the same string.
bool plain(const std::string& s) {
  if (s.empty() || s.front() == ' ' || s.back() == ' ' || s.back() == ':' || !all_raw(s, false)) {
    return false;
  }
  Json resolved;
  try {
    resolved = resolve_plain(s, "");
  } catch (const InputError&) {
    return false;
  }
  if (!resolved.is_string() || number_like(s) || s == "=" || s == "<<") {
    return false;  // `=` is YAML 1.1's value key, `<<` its merge key
  }
  // Indicators that start flow collections, anchors, tags, comments, block scalars or quotes;
  // `-`, `?` and `:` only when a blank follows.
  constexpr std::string_view kIndicators = ",[]{}#&*!|>'\"%@`";
  const char first = s.front();
  if (kIndicators.find(first) != std::string_view::npos) {
    return false;
  }
  if ((first == '-' || first == '?' || first == ':') && (s.size() == 1 || blank(s[1]))) {
    return false;
  }
  // A document marker: a top-level `---` or `...` would end the document (found by fuzzing).
  if (s.rfind("---", 0) == 0 || s.rfind("...", 0) == 0) {
    return false;
  }
  return s.find(": ") == std::string::npos && s.find(" #") == std::string::npos;
}

// Whether `s` reads back unchanged from a `|` block without chomping or indentation indicator:
// exactly one final newline, a first line not starting with a space, no trailing spaces, and
// nothing a block cannot hold raw.
bool literal(const std::string& s) {
  if (s.size() < 2 || s.back() != '\n' || s[s.size() - 2] == '\n' || s.front() == ' ' ||
      s.front() == '\n' || s.find(" \n") != std::string::npos) {
    return false;
  }
  return all_raw(s, true);
}

void quoted(std::string& out, std::string_view s) {
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const std::size_t length = decode(s, i, cp);
    switch (cp) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (raw_char(cp)) {
          out.append(s.substr(i, length));
        } else {
          char escape[16];
          std::snprintf(escape, sizeof escape,
                        cp <= 0xff     ? "\\x%02lX"
                        : cp <= 0xffff ? "\\u%04lX"
                                       : "\\U%08lX",
                        static_cast<unsigned long>(cp));
          out += escape;
        }
    }
    i += length;
  }
  out += '"';
}

void indent(std::string& out, std::size_t n) { out.append(n, ' '); }

// The lines of a `|` block (`s` passed literal()) at nesting `depth`; empty lines stay empty.
void literal_lines(std::string& out, const std::string& s, std::size_t depth) {
  for (std::size_t start = 0; start < s.size();) {
    const std::size_t end = s.find('\n', start);
    if (end > start) {
      indent(out, 2 * depth);
      out.append(s, start, end - start);
    }
    out += '\n';
    start = end + 1;
  }
}

void key(std::string& out, const std::string& k) {
  // A plain `<<` key is a merge key on the way back in (found by fuzzing): quoted it is a key.
  if (k != "<<" && plain(k)) {
    out += k;
  } else {
    quoted(out, k);
  }
}

void node(std::string& out, const Json& v, std::size_t depth, bool inline_start);

// After `key:` or `-`: a scalar or empty collection on the same line, a block below it.
void after_indicator(std::string& out, const Json& v, std::size_t depth, bool in_map) {
  if (v.is_structured() && !v.empty()) {
    if (in_map) {
      out += '\n';
      node(out, v, depth + 1, false);
    } else {
      out += ' ';
      node(out, v, depth + 1, true);
    }
    return;
  }
  if (v.is_string() && literal(v.get_ref<const std::string&>())) {
    out += " |\n";
    literal_lines(out, v.get_ref<const std::string&>(), depth + 1);
    return;
  }
  out += ' ';
  node(out, v, depth, true);
  out += '\n';
}

// Writes `v` at nesting `depth` (two spaces each); `inline_start` when the cursor already sits
// after `- ` on its first line. Collections end with a newline, scalars do not.
void node(std::string& out, const Json& v, std::size_t depth, bool inline_start) {
  switch (v.type()) {
    case Json::value_t::object:
      if (v.empty()) {
        out += "{}";
        return;
      }
      for (const auto& [k, item] : v.items()) {
        if (!inline_start) {
          indent(out, 2 * depth);
        }
        inline_start = false;
        std::string written;
        key(written, k);
        if (written.size() > kMaxImplicitKey) {  // as written: escapes count
          out += "? ";
          out += written;
          out += '\n';
          indent(out, 2 * depth);
        } else {
          out += written;
        }
        out += ':';
        after_indicator(out, item, depth, true);
      }
      return;
    case Json::value_t::array:
      if (v.empty()) {
        out += "[]";
        return;
      }
      for (const auto& item : v) {
        if (!inline_start) {
          indent(out, 2 * depth);
        }
        inline_start = false;
        out += '-';
        after_indicator(out, item, depth, false);
      }
      return;
    case Json::value_t::string: {
      const auto& s = v.get_ref<const std::string&>();
      if (plain(s)) {
        out += s;
      } else {
        quoted(out, s);
      }
      return;
    }
    case Json::value_t::null:
      out += '~';
      return;
    case Json::value_t::boolean:
      out += v.get<bool>() ? "true" : "false";
      return;
    default:
      out += v.dump();
      return;
  }
}

}  // namespace

std::string write(const Json& document) {
  std::string out;
  if (document.is_string() && literal(document.get_ref<const std::string&>())) {
    out += "|\n";
    literal_lines(out, document.get_ref<const std::string&>(), 1);
    return out;
  }
  node(out, document, 0, false);
  if (out.empty() || out.back() != '\n') {
    out += '\n';
  }
  return out;
}

}  // namespace sigv4::yaml
