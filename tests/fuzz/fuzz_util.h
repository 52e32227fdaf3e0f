#pragma once

// Helpers shared by the fuzz targets: an invariant check that aborts (so libFuzzer and the
// replay driver report the input) and a sample pod.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "codec/json.h"

namespace sigv4::fuzz {

// Aborts with a message when an invariant does not hold: a finding, not an expected error.
inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
    std::abort();
  }
}

// A minimal valid pod with one app container, in namespace "app1".
inline Json sample_pod() {
  return Json::parse(R"({"apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web", "namespace": "app1"},
    "spec": {"containers": [{"name": "app", "image": "nginx",
                             "ports": [{"containerPort": 80}]}]}})");
}

}  // namespace sigv4::fuzz
