#pragma once

// The formats (webhook/codec/), and which JSON tree is for what. There are two, each for a job:
//
// - Json (here; nlohmann::ordered_json) is a mutable tree that keeps the field order the user
//   wrote. The CLI reads manifests into it (yaml::read, parse_json_limited), patches them and
//   prints them back (yaml::write, dump); the core builds the injected containers and a patch's
//   operations in it before writing them out (to_json_text).
// - JsonDoc and JsonNode (json_doc.h) are a read-only document that views the text it was parsed
//   from: the webhook reads an AdmissionReview through it (parse_json_doc), and the core decides
//   on every pod through it. A review is parsed with a handful of allocations instead of one or
//   two per value, which was most of a review's cost.
//
// Both follow nlohmann's rules (duplicate keys: first position, last value; the same number
// types) and write the same compact text (append_json_text), so a pod reads and writes alike
// through either. The ways across: JsonDoc::from_json hands a manifest's pod (or a test's) to the
// core; to_json copies a user's value from the review into a patch being built.
//
// Readers: json_parse.h (untrusted JSON within bounds, into either tree), yaml.h (YAML as kubectl
// reads it, into Json). Writers: json_text.h (compact JSON), yaml.h (YAML as kubectl writes it),
// base64.h. Lookups that stay n log n on crafted keys: sorted_keys.h. The one error type for
// untrusted input: errors.h (InputError). Nothing here knows what a pod is.

#include <string_view>

#include <nlohmann/json.hpp>

namespace sigv4 {

using Json = nlohmann::ordered_json;

// Tolerant reading of an untrusted tree, where a field of the wrong type counts as absent (the
// same functions for a JsonNode are in json_doc.h).
// obj[key] when obj is an object holding key, else the null value.
const Json& field(const Json& obj, std::string_view key);
// obj[key] as a string when it is one, else "".
std::string_view string_field(const Json& obj, std::string_view key);

}  // namespace sigv4
