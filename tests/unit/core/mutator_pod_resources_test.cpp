// Pod-level resources (mutator.cpp, share_pod_resources; SPEC 4a "the injected pod is valid
// wherever the original was"): when the pod sets spec.resources, the injected containers carry no
// requests or limits of their own — the apiserver refuses containers whose requests exceed the
// pod's — and the pod is warned to leave room for the proxy.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "core/config.h"
#include "core/mutator.h"
#include "test_util.h"

using namespace sigv4;
using test::admit;
using test::container;

TEST_CASE("pod-level resources: the injected containers share them, with a warning",
          "[mutator][resources]") {
  struct Row {
    const char* name;
    Json pod_resources;  // null: the pod sets none
    bool shared;
  };
  const Row rows[] = {
      {"no pod-level resources", nullptr, false},
      {"empty pod-level resources", Json::object(), false},
      {"pod-level limits", {{"limits", {{"cpu", "1"}, {"memory", "512Mi"}}}}, true},
      {"pod-level requests", {{"requests", {{"cpu", "100m"}}}}, true},
  };
  for (const auto mode : {SidecarMode::kLegacy, SidecarMode::kNative}) {
    for (const Row& row : rows) {
      DYNAMIC_SECTION(row.name << " (" << to_string(mode) << ")") {
        Json pod = test::make_pod();
        if (!row.pod_resources.is_null()) {
          pod["spec"]["resources"] = row.pod_resources;
        }
        Config config = default_config();
        config.sidecar_mode = mode;
        const test::Admitted a = admit(pod, config);
        REQUIRE(a.mutation.decision.inject);
        const Json& proxy = test::sidecar(a.pod, mode);
        const Json& init = container(a.pod, "initContainers", "iptables-init");
        const Json none = {{"requests", Json::object()}, {"limits", Json::object()}};
        if (row.shared) {
          CHECK(proxy["resources"] == none);
          CHECK(init["resources"] == none);
        } else {
          CHECK(proxy["resources"]["requests"] == Json{{"cpu", "25m"}, {"memory", "32Mi"}});
          CHECK(init["resources"]["limits"] == Json{{"cpu", "100m"}, {"memory", "64Mi"}});
        }
        const bool warned = std::any_of(
            a.mutation.warnings.begin(), a.mutation.warnings.end(), [](const std::string& w) {
              return w.find("pod-level spec.resources") != std::string::npos &&
                     w.find("25m CPU, 32Mi memory") != std::string::npos;
            });
        CHECK(warned == row.shared);
        // The pod's own resources are left as they were.
        CHECK(a.pod["spec"].value("resources", Json()) == pod["spec"].value("resources", Json()));
      }
    }
  }
}
