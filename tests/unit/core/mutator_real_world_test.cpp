// Issue 17, real-world pods: never turn an accepted pod into a rejected or broken one. Windows
// pods, run-to-completion pods in legacy mode and container-less pods are skipped with a warning;
// the Pod Security twins of the paths and a LimitRange's mark on the pod add warnings naming the
// way out; the config's per-namespace resources sit between the config and the pod's annotations.
// Every case applies the patch and looks at the pod.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "core/config.h"
#include "core/mutator.h"
#include "test_util.h"

using namespace sigv4;
using test::container;

namespace {

struct Admitted {
  Mutation mutation;
  Json pod;
};

Admitted admit(const Json& pod, const Config& config, Route route = Route::kMutate,
               const char* ns = "app1") {
  const JsonDoc doc = JsonDoc::from_json(pod);
  PodRequest request{"Pod", "CREATE", ns, &doc.root(), ""};
  Admitted out{mutate_pod(request, config, route), pod};
  if (!out.mutation.patch.empty()) {
    out.pod = pod.patch(Json::parse(out.mutation.patch));
  }
  return out;
}

// The one warning containing `needle`, or "" when none does.
std::string warning_with(const Mutation& m, const std::string& needle) {
  for (const auto& w : m.warnings) {
    if (w.find(needle) != std::string::npos) {
      return w;
    }
  }
  return "";
}

Config config_in(SidecarMode mode) {
  Config c = default_config();
  c.sidecar_mode = mode;
  return c;
}

const SidecarMode kModes[] = {SidecarMode::kLegacy, SidecarMode::kNative};

}  // namespace

TEST_CASE("a Windows pod is left alone, with a warning saying why", "[mutator][issue17]") {
  for (const char* patch : {R"({"spec":{"os":{"name":"windows"}}})",
                            R"({"spec":{"nodeSelector":{"kubernetes.io/os":"windows"}}})"}) {
    for (SidecarMode mode : kModes) {
      Json pod = test::make_pod();
      pod.merge_patch(Json::parse(patch));
      const Admitted a = admit(pod, config_in(mode));
      INFO(patch << " " << to_string(mode));
      CHECK_FALSE(a.mutation.decision.inject);
      CHECK(a.mutation.decision.reasons == std::vector<Reason>{Reason::kWindows});
      CHECK(a.pod == pod);
      const std::string w = warning_with(a.mutation, "(windows)");
      CHECK(w.find("apiserver rejects") != std::string::npos);
      CHECK(w.find("sigv4-injector.io/inject: disabled") != std::string::npos);
    }
  }
}

TEST_CASE("a bare run-to-completion pod is skipped in legacy mode only", "[mutator][issue17]") {
  for (const char* policy : {"Never", "OnFailure"}) {
    Json pod = test::make_pod();
    pod["spec"]["restartPolicy"] = policy;
    const Admitted legacy = admit(pod, config_in(SidecarMode::kLegacy));
    CHECK(legacy.pod == pod);
    CHECK(legacy.mutation.decision.has(Reason::kJobLegacyMode));
    CHECK(warning_with(legacy.mutation, "restartPolicy Never/OnFailure") != "");
    const Admitted native = admit(pod, config_in(SidecarMode::kNative));
    CHECK(test::names(native.pod, "initContainers") ==
          std::vector<std::string>{"iptables-init", "sigv4proxy"});
    // The explicit opt-in still injects the legacy sidecar, as for Jobs.
    pod["metadata"]["annotations"] = {{"sigv4-injector.io/inject", "enabled"}};
    const Admitted opted = admit(pod, config_in(SidecarMode::kLegacy));
    CHECK(test::names(opted.pod, "containers") == std::vector<std::string>{"app", "sigv4proxy"});
  }
}

TEST_CASE("a pod without containers stays invalid", "[mutator][issue17]") {
  for (const char* spec : {R"({})", R"({"containers":[]})", R"({"containers":"app"})"}) {
    for (SidecarMode mode : kModes) {
      Json pod = test::make_pod();
      pod["spec"] = Json::parse(spec);
      pod["spec"]["initContainers"] = Json::array({{{"name", "setup"}, {"image", "busybox"}}});
      const Admitted a = admit(pod, config_in(mode));
      INFO(spec << " " << to_string(mode));
      CHECK(a.mutation.patch.empty());
      CHECK(a.pod == pod);
      CHECK(a.mutation.decision.has(Reason::kNoContainers));
      CHECK(warning_with(a.mutation, "(no-containers)") != "");
    }
  }
}

TEST_CASE("the Pod Security twins inject as their base path and warn", "[mutator][issue17]") {
  const std::string kWayOut = "pod-security.kubernetes.io/enforce=privileged";
  for (SidecarMode mode : kModes) {
    Json pod = test::make_pod();
    pod["metadata"]["annotations"] = {{"sidecar.aws.signing-proxy/inject", "true"}};
    const Config config = config_in(mode);
    const Admitted base = admit(pod, config, Route::kMutate);
    const Admitted twin = admit(pod, config, Route::kMutatePodSecurity);
    CHECK(twin.pod == base.pod);
    CHECK(warning_with(base.mutation, kWayOut) == "");
    const std::string w = warning_with(twin.mutation, kWayOut);
    CHECK(w.find("NET_ADMIN and NET_RAW") != std::string::npos);
    CHECK(w.find("docs/configuration.md") != std::string::npos);
    CHECK(twin.mutation.warnings.size() == base.mutation.warnings.size() + 1);
    const Admitted annotated = admit(pod, config, Route::kMutateAnnotatedPodSecurity);
    CHECK(annotated.mutation.decision.has(Reason::kAnnotated));
    CHECK(annotated.pod == base.pod);
    CHECK(warning_with(annotated.mutation, kWayOut) != "");
    // Injected before admission (by the CLI): the pod meets Pod Security all the same.
    const Admitted again = admit(base.pod, config, Route::kMutatePodSecurity);
    CHECK(again.mutation.decision.has(Reason::kAlreadyInjected));
    CHECK(warning_with(again.mutation, kWayOut) != "");
    // A pod that ends up without iptables-init is none of Pod Security's concern.
    Json out = pod;
    out["metadata"]["labels"] = {{"sigv4-injector.io/inject", "disabled"}};
    CHECK(admit(out, config, Route::kMutatePodSecurity).mutation.warnings.empty());
    Json bare = test::make_pod();
    CHECK(admit(bare, config, Route::kMutateAnnotatedPodSecurity).mutation.warnings.empty());
  }
}

TEST_CASE("a LimitRange's mark on the pod adds a warning naming the resources",
          "[mutator][issue17]") {
  const std::string kMark = "a LimitRange acts in this namespace";
  for (SidecarMode mode : kModes) {
    Json pod = test::make_pod();
    CHECK(warning_with(admit(pod, config_in(mode)).mutation, kMark) == "");
    pod["metadata"]["annotations"] = {
        {"kubernetes.io/limit-ranger", "LimitRanger plugin set: cpu request for container app"}};
    const Admitted a = admit(pod, config_in(mode));
    REQUIRE(a.mutation.decision.inject);
    const std::string w = warning_with(a.mutation, kMark);
    CHECK(w.find("sigv4proxy cpu 25m/500m, memory 32Mi/256Mi") != std::string::npos);
    CHECK(w.find("iptables-init cpu 10m/100m, memory 16Mi/64Mi") != std::string::npos);
    CHECK(w.find("namespaces.<name>.proxy.resources") != std::string::npos);
    CHECK(w.find("sigv4-injector.io/cpu-request") != std::string::npos);
    // A pod injected before (by the CLI, or by this webhook before a re-invocation) gets the
    // same text, read from its containers, so the apiserver shows it once.
    const Admitted again = admit(a.pod, config_in(mode));
    REQUIRE(again.mutation.decision.has(Reason::kAlreadyInjected));
    CHECK(warning_with(again.mutation, kMark) == w);
    Json unmarked = a.pod;
    unmarked["metadata"]["annotations"].erase("kubernetes.io/limit-ranger");
    CHECK(warning_with(admit(unmarked, config_in(mode)).mutation, kMark) == "");
    // Pod-level resources: the injected containers set none, so the LimitRange's defaults
    // reach them and count against the pod's: the warning says to leave room.
    pod["spec"]["resources"] = {{"limits", {{"cpu", "1"}, {"memory", "1Gi"}}}};
    const Admitted shared = admit(pod, config_in(mode));
    REQUIRE(shared.mutation.decision.inject);
    const std::string pod_level = warning_with(shared.mutation, kMark);
    CHECK(pod_level.find("gives its default requests and limits to the injected containers") !=
          std::string::npos);
    CHECK(pod_level.find("request/limit") == std::string::npos);
    CHECK(warning_with(shared.mutation, "pod-level spec.resources") != "");
    CHECK(warning_with(admit(shared.pod, config_in(mode)).mutation, kMark) == pod_level);
    // Re-invoked after LimitRanger gave the injected containers its defaults: the same text.
    Json defaulted = shared.pod;
    for (const char* list : {"containers", "initContainers"}) {
      for (Json& c : defaulted["spec"][list]) {
        c["resources"] = {{"requests", {{"cpu", "100m"}}}, {"limits", {{"cpu", "200m"}}}};
      }
    }
    CHECK(warning_with(admit(defaulted, config_in(mode)).mutation, kMark) == pod_level);
  }
}

TEST_CASE("per-namespace resources: config < namespace < pod annotations", "[mutator][issue17]") {
  Config config = load_config(R"(
proxy:
  resources: {requests: {cpu: 30m}}
namespaces:
  app1:
    proxy: {resources: {requests: {cpu: 100m, memory: 64Mi}}}
    init: {resources: {requests: {cpu: 50m}, limits: {cpu: 200m}}}
)");
  for (SidecarMode mode : kModes) {
    config.sidecar_mode = mode;
    Json pod = test::make_pod();
    const Admitted a = admit(pod, config);
    const Json& proxy = test::sidecar(a.pod, mode);
    CHECK(proxy["resources"]["requests"] == Json{{"cpu", "100m"}, {"memory", "64Mi"}});
    CHECK(proxy["resources"]["limits"] == Json{{"cpu", "500m"}, {"memory", "256Mi"}});
    const Json& init = container(a.pod, "initContainers", "iptables-init");
    CHECK(init["resources"]["requests"] == Json{{"cpu", "50m"}, {"memory", "16Mi"}});
    CHECK(init["resources"]["limits"] == Json{{"cpu", "200m"}, {"memory", "64Mi"}});
    // Another namespace gets the config's.
    const Admitted other = admit(pod, config, Route::kMutate, "app2");
    CHECK(test::sidecar(other.pod, mode)["resources"]["requests"] ==
          Json{{"cpu", "30m"}, {"memory", "32Mi"}});
    // The pod's annotations win over the namespace's.
    pod["metadata"]["annotations"] = {{"sigv4-injector.io/cpu-request", "75m"},
                                      {"kubernetes.io/limit-ranger", "set"}};
    const Admitted annotated = admit(pod, config);
    CHECK(test::sidecar(annotated.pod, mode)["resources"]["requests"] ==
          Json{{"cpu", "75m"}, {"memory", "64Mi"}});
    // The LimitRange warning names what the pod gets.
    const std::string w = warning_with(annotated.mutation, "LimitRange");
    CHECK(w.find("sigv4proxy cpu 75m/500m, memory 64Mi/256Mi") != std::string::npos);
    CHECK(w.find("iptables-init cpu 50m/200m") != std::string::npos);
    CHECK(w.find("namespace app1") != std::string::npos);
    // Pod-level resources: none of them, and the warning names the namespace's request.
    pod["metadata"].erase("annotations");
    pod["spec"]["resources"] = {{"limits", {{"cpu", "2"}}}};
    const Admitted shared = admit(pod, config);
    CHECK(test::sidecar(shared.pod, mode)["resources"] ==
          Json{{"requests", Json::object()}, {"limits", Json::object()}});
    CHECK(warning_with(shared.mutation, "100m CPU, 64Mi memory") != "");
  }
}

TEST_CASE("a pod that opted out gets no warning for the skips it asked for", "[mutator][issue17]") {
  for (SidecarMode mode : kModes) {
    Json pod = test::make_pod();
    pod["spec"]["os"] = {{"name", "windows"}};
    pod["spec"]["hostNetwork"] = true;
    pod["spec"]["restartPolicy"] = "Never";
    const Admitted warned = admit(pod, config_in(mode));
    CHECK_FALSE(warned.mutation.decision.inject);
    CHECK(warning_with(warned.mutation, "(windows)") != "");
    CHECK(warning_with(warned.mutation, "(host-network)") != "");
    pod["metadata"]["annotations"] = {{"sigv4-injector.io/inject", "disabled"}};
    const Admitted quiet = admit(pod, config_in(mode));
    CHECK(quiet.mutation.decision.has(Reason::kOptedOut));
    CHECK(quiet.mutation.decision.has(Reason::kWindows));
    CHECK(quiet.mutation.warnings.empty());
  }
}
