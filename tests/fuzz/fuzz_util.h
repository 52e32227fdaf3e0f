#pragma once

// Helpers shared by the fuzz targets: an invariant check that aborts (so libFuzzer and the
// replay driver report the input), base64 decoding of patches, and a sample pod.
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "codec/json.h"

namespace sigv4::fuzz {

// Aborts with a message when an invariant does not hold: a finding, not an expected error.
inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
    std::abort();
  }
}

// Decodes standard base64 (with padding); nullopt for anything else.
inline std::optional<std::string> base64_decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') {
      return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
      return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
      return c - '0' + 52;
    }
    return c == '+' ? 62 : c == '/' ? 63 : -1;
  };
  if (in.size() % 4 != 0) {
    return std::nullopt;
  }
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      char c = in[i + static_cast<std::size_t>(j)];
      if (c == '=' && i + 4 == in.size() && j >= 2) {
        v[j] = 0;
        ++pad;
        continue;
      }
      if (pad > 0 || (v[j] = value(c)) < 0) {
        return std::nullopt;
      }
    }
    unsigned n = static_cast<unsigned>(v[0]) << 18 | static_cast<unsigned>(v[1]) << 12 |
                 static_cast<unsigned>(v[2]) << 6 | static_cast<unsigned>(v[3]);
    out += static_cast<char>(n >> 16 & 0xff);
    if (pad < 2) {
      out += static_cast<char>(n >> 8 & 0xff);
    }
    if (pad < 1) {
      out += static_cast<char>(n & 0xff);
    }
  }
  return out;
}

// A minimal valid pod with one app container, in namespace "app1".
inline Json sample_pod() {
  return Json::parse(R"({"apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web", "namespace": "app1"},
    "spec": {"containers": [{"name": "app", "image": "nginx",
                             "ports": [{"containerPort": 80}]}]}})");
}

}  // namespace sigv4::fuzz
