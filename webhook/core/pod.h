#pragma once

#include <string>
#include <string_view>

#include "codec/json_doc.h"

namespace sigv4 {

// The parts of an untrusted pod the core reads, through the tolerant field()/string_field() of
// codec/json_doc.h: a field of the wrong type counts as absent.

// metadata.annotations[key] / metadata.labels[key] as a string, else "".
std::string_view annotation(const JsonNode& pod, std::string_view key);
std::string_view label(const JsonNode& pod, std::string_view key);

// The pod's spec.containers / spec.initContainers (the null value when absent or not arrays).
const JsonNode& containers(const JsonNode& pod);
const JsonNode& init_containers(const JsonNode& pod);

}  // namespace sigv4
