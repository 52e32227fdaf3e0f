#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "json.h"

// Manifests as kubectl reads and writes them: streams of YAML and JSON documents, and lists.

namespace sigv4 {

enum class Format { kYaml, kJson };

// Reads one or more documents (YAML multi-document stream, or a JSON value / concatenated JSON
// values). Empty YAML documents are dropped. Throws InputError naming `source` and the document
// index for syntax errors and for values JSON cannot hold.
std::vector<Json> read_documents(std::string_view text, std::string_view source);

// Guesses whether the text is JSON (first non-space character `{` or `[`).
Format detect_format(std::string_view text);

// Writes documents as a YAML stream (separated by `---`) or as JSON (one document as is, several
// as one `List`, the items of lists among them in its items as kubectl would read them: a list
// inside a List is not one kubectl can read).
std::string write_documents(const std::vector<Json>& documents, Format format);

// Whether kubectl reads `object` as a list of objects: a kind ending in List with `items`.
bool is_list(const Json& object);

// Whether the stream would be read as JSON first, as kubectl decides: its first non-space
// character (within the first 4096 bytes) is `{` or `[`.
bool starts_as_json(std::string_view text);

}  // namespace sigv4
