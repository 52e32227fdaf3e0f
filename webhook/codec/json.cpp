#include "json.h"

namespace sigv4 {

const Json& field(const Json& obj, std::string_view key) {
  static const Json kNull;
  if (!obj.is_object()) {
    return kNull;
  }
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

std::string_view string_field(const Json& obj, std::string_view key) {
  const Json& value = field(obj, key);
  return value.is_string() ? std::string_view(value.get_ref<const std::string&>())
                           : std::string_view();
}

}  // namespace sigv4
