// A private CA for the proxy's upstream HTTPS (SPEC 4a; config proxy.caBundle, annotation
// sigv4-injector.io/ca-bundle): the patch adds the pod volume `sigv4-injector-ca-bundle` (the key
// projected as ca.crt), a read-only mount of it in the sidecar after any token mounts, and
// SSL_CERT_DIR naming the mount. Tested by applying the patch and comparing the resulting pod.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/mutator.h"
#include "test_util.h"

using namespace sigv4;
using test::admit;
using test::container;

namespace {

constexpr const char* kCaAnnotation = "sigv4-injector.io/ca-bundle";
constexpr const char* kMountPath = "/var/run/secrets/sigv4-injector.io/ca-bundle";

const Json kCaMount = {
    {"name", "sigv4-injector-ca-bundle"}, {"mountPath", kMountPath}, {"readOnly", true}};

Json config_map_volume(const char* name, const char* key) {
  return {{"name", "sigv4-injector-ca-bundle"},
          {"configMap",
           {{"name", name}, {"items", Json::array({{{"key", key}, {"path", "ca.crt"}}})}}}};
}

Json secret_volume(const char* name, const char* key) {
  return {{"name", "sigv4-injector-ca-bundle"},
          {"secret",
           {{"secretName", name}, {"items", Json::array({{{"key", key}, {"path", "ca.crt"}}})}}}};
}

const Json kIrsaEnv = Json::parse(R"([
  {"name": "AWS_ROLE_ARN", "value": "arn:aws:iam::123456789012:role/r"},
  {"name": "AWS_WEB_IDENTITY_TOKEN_FILE",
   "value": "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"}])");
const Json kTokenMount = {{"name", "aws-iam-token"},
                          {"mountPath", "/var/run/secrets/eks.amazonaws.com/serviceaccount"},
                          {"readOnly", true}};

}  // namespace

TEST_CASE("a CA bundle adds a volume, a read-only sidecar mount and SSL_CERT_DIR",
          "[patch][ca-bundle]") {
  const SidecarMode L = SidecarMode::kLegacy;
  const SidecarMode N = SidecarMode::kNative;
  struct Row {
    const char* name;
    SidecarMode mode;
    bool config_bundle;      // proxy.caBundle: {configMap: cluster-ca}
    const char* annotation;  // sigv4-injector.io/ca-bundle ("" for none)
    bool pod_volumes;        // the pod has volumes of its own
    bool irsa;               // the app carries IRSA env and its token mount
    Json volume;             // the volume expected
  };
  const Json from_config = config_map_volume("cluster-ca", "ca.crt");
  const Json from_annotation = secret_volume("team-ca", "root.pem");
  auto row = GENERATE_COPY(values<Row>({
      {"config, no volumes", L, true, "", false, false, from_config},
      {"config, the pod's volumes", L, true, "", true, false, from_config},
      {"config, token mounts", L, true, "", true, true, from_config},
      {"config, native", N, true, "", false, false, from_config},
      {"config, native, token mounts", N, true, "", true, true, from_config},
      {"annotation, no volumes", L, false, "secret/team-ca/root.pem", false, false,
       from_annotation},
      {"annotation, the pod's volumes", L, false, "secret/team-ca/root.pem", true, false,
       from_annotation},
      {"annotation, token mounts, native", N, false, "secret/team-ca/root.pem", true, true,
       from_annotation},
      {"annotation over config", L, true, "secret/team-ca/root.pem", true, true, from_annotation},
      {"annotation, default key", N, false, "configmap/team-ca", false, true,
       config_map_volume("team-ca", "ca.crt")},
  }));
  INFO(row.name);
  Json pod = test::make_pod();
  if (row.pod_volumes) {
    pod["spec"]["volumes"] = Json::array({{{"name", "data"}, {"emptyDir", Json::object()}}});
    pod["spec"]["containers"][0]["volumeMounts"] =
        Json::array({{{"name", "data"}, {"mountPath", "/data"}}});
  }
  if (row.irsa) {
    pod["spec"]["containers"][0]["env"] = kIrsaEnv;
    pod["spec"]["containers"][0]["volumeMounts"].push_back(kTokenMount);
    pod["spec"]["volumes"].push_back({{"name", "aws-iam-token"}, {"projected", Json::object()}});
  }
  if (*row.annotation != '\0') {
    pod["metadata"]["annotations"] = {{kCaAnnotation, row.annotation}};
  }
  Config config = default_config();
  config.sidecar_mode = row.mode;
  if (row.config_bundle) {
    config.proxy.ca_bundle = {CaBundle::Kind::kConfigMap, "cluster-ca"};
  }

  const test::Admitted a = admit(pod, config);
  REQUIRE(a.mutation.decision.inject);
  for (const auto& op : Json::parse(a.mutation.patch)) {
    CHECK(op["op"] == "add");
  }
  // The volume comes last, after the pod's own.
  Json volumes = pod["spec"].value("volumes", Json::array());
  volumes.push_back(row.volume);
  CHECK(a.pod["spec"]["volumes"] == volumes);
  // One volumeMounts array: the token mount first, then the CA bundle's.
  const Json& proxy =
      container(a.pod, row.mode == N ? "initContainers" : "containers", "sigv4proxy");
  CHECK(proxy["volumeMounts"] ==
        (row.irsa ? Json::array({kTokenMount, kCaMount}) : Json::array({kCaMount})));
  Json env = Json::array({{{"name", "AWS_REGION"}, {"value", "us-west-2"}},
                          {{"name", "AWS_EC2_METADATA_DISABLED"}, {"value", "true"}},
                          {{"name", "SSL_CERT_DIR"}, {"value", kMountPath}}});
  if (row.irsa) {
    env.insert(env.end(), kIrsaEnv.begin(), kIrsaEnv.end());
  }
  CHECK(proxy["env"] == env);
  // Nothing else of the pod changes, and the iptables-init container mounts nothing.
  CHECK(test::without_injection(a.pod) == test::without_injection(pod));
  CHECK_FALSE(container(a.pod, "initContainers", "iptables-init").contains("volumeMounts"));
  // Re-invocation adds nothing: no second volume, no second mount.
  const test::Admitted again = admit(a.pod, config);
  CHECK(again.mutation.decision.has(Reason::kAlreadyInjected));
  CHECK(again.mutation.patch.empty());
}

TEST_CASE("without a CA bundle nothing is mounted and the pod's volumes are untouched",
          "[patch][ca-bundle]") {
  auto mode = GENERATE(SidecarMode::kLegacy, SidecarMode::kNative);
  auto has_volumes = GENERATE(false, true);
  Json pod = test::make_pod();
  if (has_volumes) {
    pod["spec"]["volumes"] = Json::array({{{"name", "data"}, {"emptyDir", Json::object()}}});
  }
  Config config = default_config();
  config.sidecar_mode = mode;
  const test::Admitted a = admit(pod, config);
  REQUIRE(a.mutation.decision.inject);
  CHECK(a.pod["spec"].contains("volumes") == has_volumes);
  if (has_volumes) {
    CHECK(a.pod["spec"]["volumes"] == pod["spec"]["volumes"]);
  }
  const Json& proxy = test::sidecar(a.pod, mode);
  CHECK_FALSE(proxy.contains("volumeMounts"));
  CHECK(std::none_of(proxy["env"].begin(), proxy["env"].end(),
                     [](const Json& e) { return e["name"] == "SSL_CERT_DIR"; }));
}

TEST_CASE("AWS_EC2_METADATA_DISABLED is on the sidecar unless the config allows node credentials",
          "[patch]") {
  auto mode = GENERATE(SidecarMode::kLegacy, SidecarMode::kNative);
  auto allow = GENERATE(false, true);
  auto irsa = GENERATE(false, true);
  Json pod = test::make_pod();
  if (irsa) {
    pod["spec"]["containers"][0]["env"] = kIrsaEnv;
  }
  Config config = default_config();
  config.sidecar_mode = mode;
  config.proxy.allow_node_credentials = allow;
  const test::Admitted a = admit(pod, config);
  const Json& proxy = test::sidecar(a.pod, mode);
  Json env = Json::array({{{"name", "AWS_REGION"}, {"value", "us-west-2"}}});
  if (!allow) {
    env.push_back({{"name", "AWS_EC2_METADATA_DISABLED"}, {"value", "true"}});
  }
  if (irsa) {
    env.insert(env.end(), kIrsaEnv.begin(), kIrsaEnv.end());
  }
  CHECK(proxy["env"] == env);
  // The app's own env is left alone either way.
  CHECK(container(a.pod, "containers", "app") == pod["spec"]["containers"][0]);
}

TEST_CASE("a bad ca-bundle annotation denies the pod naming the annotation and value",
          "[mutator][ca-bundle]") {
  auto value = GENERATE("private-ca", "configmap", "configmap/", "cm/private-ca",
                        "Secret/private-ca", "configmap/Private-CA", "secret/private_ca",
                        "secret/private-ca/", "secret/private-ca/a/b", "configmap/ca/..");
  INFO(value);
  Json pod = test::make_pod();
  pod["metadata"]["annotations"] = {{kCaAnnotation, value}};
  Json review = {{"apiVersion", "admission.k8s.io/v1"},
                 {"kind", "AdmissionReview"},
                 {"request",
                  {{"uid", "u1"},
                   {"kind", {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}},
                   {"namespace", "app1"},
                   {"operation", "CREATE"},
                   {"object", pod}}}};
  const ReviewResult r = test::review(review, default_config(), Route::kMutate);
  const Json resp = Json::parse(r.response)["response"];
  CHECK(resp["allowed"] == false);
  CHECK(resp["status"]["code"] == 400);
  const std::string message = resp["status"]["message"];
  CHECK(message.find(kCaAnnotation) != std::string::npos);
  CHECK(message.find(std::string("\"") + value + "\"") != std::string::npos);
  CHECK_FALSE(resp.contains("patch"));
  CHECK(r.mutation.decision.reasons == std::vector<Reason>{Reason::kInvalidOverride});
}

TEST_CASE("credential sync adds token mounts beside the CA bundle's mount", "[patch][ca-bundle]") {
  // The IRSA webhook may run after ours (reinvocation): its env and token mount are then copied
  // into the sidecar's existing volumeMounts array, after the CA bundle's.
  auto mode = GENERATE(SidecarMode::kLegacy, SidecarMode::kNative);
  Config config = default_config();
  config.sidecar_mode = mode;
  config.proxy.ca_bundle = {CaBundle::Kind::kSecret, "team-ca"};
  Json pod = admit(test::make_pod(), config).pod;
  pod["spec"]["containers"][0]["env"] = kIrsaEnv;
  pod["spec"]["containers"][0]["volumeMounts"] = Json::array({kTokenMount});
  const Json ops = test::credential_sync_patch(pod);
  for (const auto& op : ops) {
    CHECK(op["op"] == "add");
  }
  const Json synced = pod.patch(ops);
  const Json& proxy = test::sidecar(synced, mode);
  CHECK(proxy["volumeMounts"] == Json::array({kCaMount, kTokenMount}));
  CHECK(proxy["env"].size() == 5);
  CHECK(synced["spec"]["volumes"] == Json::array({secret_volume("team-ca", "ca.crt")}));
  CHECK(test::credential_sync_patch(synced).empty());
}
