#pragma once

// One JSON type for the whole project: insertion-ordered so that manifests and reviews keep the
// field order the user wrote when the CLI prints them back.
#include <nlohmann/json.hpp>

namespace sigv4 {

using Json = nlohmann::ordered_json;

}  // namespace sigv4
