#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "json.h"

// YAML as kubectl reads and writes it, for the dry-run CLI: the reader turns a YAML stream into
// JSON documents, the writer turns JSON documents back into YAML that reads back the same.
namespace sigv4::yaml {

// Reads every document of a YAML stream (empty documents dropped). Throws InputError naming
// `source`, the line and what is wrong for text that is not printable UTF-8, syntax errors,
// values JSON cannot hold, and alias expansions or nesting past the reader's bounds.
std::vector<Json> read(std::string_view text, std::string_view source);

// One document as block-style YAML ending in a newline.
std::string write(const Json& document);

// The JSON value of a plain (unquoted, untagged) scalar, resolved as kubectl's YAML library
// does (YAML 1.1 booleans and nulls, Go integer syntax, `_` digit separators); `where` names it
// in errors (numbers out of range, .inf and .nan).
Json resolve_plain(const std::string& text, const std::string& where);

// Decodes the code point at s[i]; returns its length in bytes, 0 where the UTF-8 is not
// well-formed (overlong forms, surrogates, code points past U+10FFFF, truncated sequences).
std::size_t next_code_point(std::string_view s, std::size_t i, unsigned long& cp);

// Whether `s` is well-formed UTF-8.
bool valid_utf8(std::string_view s);

}  // namespace sigv4::yaml
