// The service-account token mount (spec.cpp, service_account_mount; issue 15's pod-create
// figures): the ServiceAccount admission plugin runs before webhooks and mounts its
// kube-api-access-* volume into every container; re-run after our patch, it would mount it into
// the two containers we add, and that change makes the apiserver call every IfNeeded webhook
// again. Both injected containers carry that mount already, so the final pod is the same and the
// plugin's re-run changes nothing.
#include <catch2/catch.hpp>

#include <string>

#include "core/config.h"
#include "core/mutator.h"
#include "test_util.h"

using namespace sigv4;
using test::admit;
using test::container;

namespace {

const Json kTokenMount = {{"name", "kube-api-access-x7k2p"},
                          {"readOnly", true},
                          {"mountPath", "/var/run/secrets/kubernetes.io/serviceaccount"}};

// The mounts of an injected container at the service-account path.
Json token_mounts(const Json& c) {
  Json out = Json::array();
  for (const auto& m : c.value("volumeMounts", Json::array())) {
    if (m["mountPath"] == "/var/run/secrets/kubernetes.io/serviceaccount") {
      out.push_back(m);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("the injected containers carry the ServiceAccount plugin's token mount",
          "[spec][service-account]") {
  struct Row {
    const char* name;
    Json app_mounts;  // spec.containers[0].volumeMounts (null: none)
    Json irsa_file;   // AWS_WEB_IDENTITY_TOKEN_FILE on the app (null: none)
    bool copied;
  };
  const Row rows[] = {
      {"the plugin's mount", Json::array({kTokenMount}), nullptr, true},
      {"no mount (automountServiceAccountToken: false)", nullptr, nullptr, false},
      {"a volume of the user's at that path",
       Json::array({{{"name", "my-token"},
                     {"mountPath", "/var/run/secrets/kubernetes.io/serviceaccount"}}}),
       nullptr, false},
      {"IRSA reading its token from that mount: once only", Json::array({kTokenMount}),
       "/var/run/secrets/kubernetes.io/serviceaccount/token", true},
  };
  for (const auto mode : {SidecarMode::kLegacy, SidecarMode::kNative}) {
    for (const Row& row : rows) {
      DYNAMIC_SECTION(row.name << " (" << to_string(mode) << ")") {
        Json pod = test::make_pod();
        Json& app = pod["spec"]["containers"][0];
        if (!row.app_mounts.is_null()) {
          app["volumeMounts"] = row.app_mounts;
        }
        if (!row.irsa_file.is_null()) {
          app["env"] = {{{"name", "AWS_ROLE_ARN"}, {"value", "arn:aws:iam::123456789012:role/r"}},
                        {{"name", "AWS_WEB_IDENTITY_TOKEN_FILE"}, {"value", row.irsa_file}}};
        }
        Config config = default_config();
        config.sidecar_mode = mode;
        const test::Admitted a = admit(pod, config);
        REQUIRE(a.mutation.decision.inject);
        const Json& init = container(a.pod, "initContainers", "iptables-init");
        const Json& proxy = test::sidecar(a.pod, mode);
        const Json want = row.copied ? Json::array({kTokenMount}) : Json::array();
        CHECK(token_mounts(init) == want);
        CHECK(token_mounts(proxy) == want);
        if (!row.copied) {
          CHECK_FALSE(init.contains("volumeMounts"));
        }
        // The app keeps its own mounts.
        CHECK(container(a.pod, "containers", "app") == app);
      }
    }
  }
}
