#include "pod.h"

namespace sigv4 {
namespace {

const JsonNode& array_field(const JsonNode& obj, std::string_view key) {
  const JsonNode& value = field(obj, key);
  return value.is_array() ? value : null_node();
}

}  // namespace

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
