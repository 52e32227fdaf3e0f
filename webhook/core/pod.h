#pragma once

#include <string>
#include <string_view>

#include "codec/json.h"
#include "codec/json_doc.h"

namespace sigv4 {

// Tolerant accessors over an untrusted pod: a field of the wrong type counts as absent. The
// JsonNode forms read a review (and the pod the mutator decides on); the Json forms read the
// CLI's manifests.

// obj[key] when obj is an object holding key, else the null value.
const Json& field(const Json& obj, std::string_view key);
const JsonNode& field(const JsonNode& obj, std::string_view key);

// obj[key] as a string when it is one, else "".
std::string_view string_field(const Json& obj, std::string_view key);
std::string_view string_field(const JsonNode& obj, std::string_view key);

// metadata.annotations[key] / metadata.labels[key] as a string, else "".
std::string_view annotation(const JsonNode& pod, std::string_view key);
std::string_view label(const JsonNode& pod, std::string_view key);

// The pod's spec.containers / spec.initContainers (the null value when absent or not arrays).
const JsonNode& containers(const JsonNode& pod);
const JsonNode& init_containers(const JsonNode& pod);

}  // namespace sigv4
