#include "pod.h"

namespace sigv4 {
namespace {

const Json& null_json() {
  static const Json kNull;
  return kNull;
}

const Json& array_field(const Json& obj, std::string_view key) {
  const Json& value = field(obj, key);
  return value.is_array() ? value : null_json();
}

}  // namespace

const Json& field(const Json& obj, std::string_view key) {
  if (!obj.is_object()) {
    return null_json();
  }
  auto it = obj.find(key);
  return it == obj.end() ? null_json() : *it;
}

std::string_view string_field(const Json& obj, std::string_view key) {
  const Json& value = field(obj, key);
  return value.is_string() ? std::string_view(value.get_ref<const std::string&>())
                           : std::string_view();
}

std::string_view annotation(const Json& pod, std::string_view key) {
  return string_field(field(field(pod, "metadata"), "annotations"), key);
}

std::string_view label(const Json& pod, std::string_view key) {
  return string_field(field(field(pod, "metadata"), "labels"), key);
}

const Json& containers(const Json& pod) { return array_field(field(pod, "spec"), "containers"); }

const Json& init_containers(const Json& pod) {
  return array_field(field(pod, "spec"), "initContainers");
}

}  // namespace sigv4
