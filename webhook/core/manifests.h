#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "json.h"

namespace sigv4 {

enum class Format { kYaml, kJson };

// Reads one or more documents (YAML multi-document stream, or a JSON value / concatenated JSON
// values). Empty YAML documents are dropped. Throws InputError naming `source` and the document
// index for syntax errors and for values JSON cannot hold.
std::vector<Json> read_documents(std::string_view text, std::string_view source);

// Guesses whether the text is JSON (first non-space character `{` or `[`).
Format detect_format(std::string_view text);

// Writes documents as a YAML stream (separated by `---`) or as JSON (one document as is, several
// as a `List`).
std::string write_documents(const std::vector<Json>& documents, Format format);

// The JSON pointer of the pod (template) inside a workload object of a known kind: "" for a
// Pod, "/spec/template" for Deployment & co, "/spec/jobTemplate/spec/template" for CronJob.
// Returns false for other kinds or objects without that path.
bool pod_template_pointer(const Json& object, std::string& pointer);

}  // namespace sigv4
