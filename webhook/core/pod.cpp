#include "pod.h"

namespace sigv4 {
namespace {

const Json& null_json() {
  static const Json kNull;
  return kNull;
}

const JsonNode& array_field(const JsonNode& obj, std::string_view key) {
  const JsonNode& value = field(obj, key);
  return value.is_array() ? value : null_node();
}

}  // namespace

const Json& field(const Json& obj, std::string_view key) {
  if (!obj.is_object()) {
    return null_json();
  }
  auto it = obj.find(key);
  return it == obj.end() ? null_json() : *it;
}

const JsonNode& field(const JsonNode& obj, std::string_view key) {
  const JsonNode* value = obj.find(key);
  return value != nullptr ? *value : null_node();
}

std::string_view string_field(const Json& obj, std::string_view key) {
  const Json& value = field(obj, key);
  return value.is_string() ? std::string_view(value.get_ref<const std::string&>())
                           : std::string_view();
}

std::string_view string_field(const JsonNode& obj, std::string_view key) {
  return field(obj, key).string();
}

std::string_view annotation(const JsonNode& pod, std::string_view key) {
  return string_field(field(field(pod, "metadata"), "annotations"), key);
}

std::string_view label(const JsonNode& pod, std::string_view key) {
  return string_field(field(field(pod, "metadata"), "labels"), key);
}

const JsonNode& containers(const JsonNode& pod) {
  return array_field(field(pod, "spec"), "containers");
}

const JsonNode& init_containers(const JsonNode& pod) {
  return array_field(field(pod, "spec"), "initContainers");
}

}  // namespace sigv4
