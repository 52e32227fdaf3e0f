#pragma once

#include <string>
#include <string_view>

#include "json.h"

namespace sigv4 {

// Tolerant accessors over an untrusted pod: a field of the wrong type counts as absent.

// obj[key] when obj is an object holding key, else a null Json.
const Json& field(const Json& obj, std::string_view key);

// obj[key] as a string when it is one, else "".
std::string_view string_field(const Json& obj, std::string_view key);

// metadata.annotations[key] / metadata.labels[key] as a string, else "".
std::string_view annotation(const Json& pod, std::string_view key);
std::string_view label(const Json& pod, std::string_view key);

// The pod's spec.containers / spec.initContainers (a null Json when absent or not arrays).
const Json& containers(const Json& pod);
const Json& init_containers(const Json& pod);

}  // namespace sigv4
