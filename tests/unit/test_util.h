#pragma once

#include <string>

#include "core/json.h"

namespace sigv4::test {

// A minimal valid pod with one app container, in namespace "app1".
inline Json make_pod() {
  return Json::parse(R"({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web", "namespace": "app1"},
    "spec": {"containers": [{"name": "app", "image": "nginx"}]}
  })");
}

// The names of spec.<list>'s containers, in order.
inline std::vector<std::string> names(const Json& pod, const char* list) {
  std::vector<std::string> out;
  if (pod.contains("spec") && pod["spec"].contains(list)) {
    for (const auto& c : pod["spec"][list]) {
      out.push_back(c.value("name", ""));
    }
  }
  return out;
}

}  // namespace sigv4::test
