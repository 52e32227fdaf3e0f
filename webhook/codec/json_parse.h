#pragma once

// The reader for untrusted JSON: what the webhook parses a review with, and the CLI a JSON
// manifest. Its bounds and the shape it keeps are declared here; json_parse.cpp holds the parser.

#include <cstddef>
#include <span>
#include <string_view>

#include "json.h"
#include "json_doc.h"

namespace sigv4 {

// Bounds applied to untrusted JSON while it is parsed (iteratively, so depth costs no stack):
// nesting deeper than `max_depth` and single strings longer than `max_string_bytes` are refused
// before anything deeper or longer is built.
struct JsonLimits {
  std::size_t max_depth = 100;
  std::size_t max_string_bytes = std::size_t{1} << 20;
};

// Which parts of a JSON document to build. A shape with `members` keeps only those keys of an
// object, each with the shape of its value; `items` is the shape of an array's elements; `all`
// keeps everything below. A value of another type than its shape expects is kept whole. What is
// not kept is still parsed as strictly (same errors, same limits), just never allocated.
struct JsonShape {
  struct Member {
    std::string_view key;
    const JsonShape* shape;
  };
  std::span<const Member> members = {};
  const JsonShape* items = nullptr;
  bool all = false;
};

// Parses untrusted JSON text within `limits`, as strictly as Json::parse and
// into the same tree (duplicate keys: first position, last value), keeping what `keep` names
// (null: everything). Throws InputError (mapped to HTTP 400) for malformed JSON, too deep nesting
// or oversized strings; `what` names the document, the message the byte offset.
Json parse_json_limited(std::string_view text, const JsonLimits& limits,
                        std::string_view what = "request body", const JsonShape* keep = nullptr);

// The same parse into a JsonDoc (what a review is read through), which views `text`: the text
// must outlive the document.
JsonDoc parse_json_doc(std::string_view text, const JsonLimits& limits,
                       std::string_view what = "request body", const JsonShape* keep = nullptr);

}  // namespace sigv4
