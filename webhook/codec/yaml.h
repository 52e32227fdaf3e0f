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
// values JSON cannot hold, and alias expansions or nesting past the reader's bounds. Errors count
// documents from `first_document` and lines from `first_line` + 1 (the text is the tail of a
// stream that began as JSON).
std::vector<Json> read(std::string_view text, std::string_view source,
                       std::size_t first_document = 0, std::size_t first_line = 0);

// One document as block-style YAML ending in a newline.
std::string write(const Json& document);

// The JSON value of a plain (unquoted, untagged) scalar, resolved as kubectl's YAML library
// does (YAML 1.1 booleans and nulls, Go integer syntax, `_` digit separators); `where` names it
// in errors (numbers out of range, .inf and .nan).
Json resolve_plain(const std::string& text, const std::string& where);

// What a scalar resolves to in kubectl's YAML library (go-yaml v2), which decides what a key
// becomes (sigs.k8s.io/yaml turns int, float and bool keys into strings and refuses the rest).
enum class ScalarKind { kNull, kBool, kInt, kUint, kFloat, kStr, kTimestamp };
struct Scalar {
  ScalarKind kind;
  Json value;         // kFloat may be infinite or NaN; kUint is a float; kTimestamp is the text
  double number = 0;  // a kFloat's value before a whole one became an integer (-0.0 stays)
};

// Resolves a plain scalar's text (timestamps only when `timestamps`, as go-yaml does for
// untagged and !!timestamp scalars). Floats out of range and malformed numbers stay strings.
Scalar resolve_scalar(const std::string& text, bool timestamps);

// Whether `s` is a timestamp to go-yaml v2 (2006-1-2, with a time after T, t or a space).
bool go_timestamp(std::string_view s);

// A scalar as kubectl reads it from yaml-cpp's tag (yaml_tag.cpp): "?" plain (resolved), "!"
// quoted or non-specific and custom tags (a string), or a YAML tag, which must match what it
// tags (!!binary is decoded). Throws InputError naming `where` when it does not.
Scalar tagged_scalar(const std::string& tag, const std::string& text, const std::string& where);

// Go's strconv.FormatFloat(f, 'g', -1, 32), which sigs.k8s.io/yaml uses for a float key.
std::string go_float32_key(double d);

// Whether a string key could meet a converted one (true, 1, 1.5, .inf ...).
bool looks_converted(const std::string& k);

}  // namespace sigv4::yaml
