#include <catch2/catch.hpp>

#include "codec/json_text.h"
#include "core/patch.h"
#include "test_util.h"

using namespace sigv4;
using test::credential_sync_patch;
using test::injection_patch;
using test::names;

namespace {

Json inject(const Json& pod, SidecarMode mode = SidecarMode::kLegacy) {
  Config c = default_config();
  c.sidecar_mode = mode;
  const std::string text = injection_patch(pod, c, "9.9.9");
  Json ops = Json::parse(text);
  CHECK(to_json_text(ops) == text);  // compact, as the webhook sends it
  for (const auto& op : ops) {
    REQUIRE(op["op"] == "add");  // minimal: only adds, never replace/remove
  }
  return pod.patch(ops);
}

}  // namespace

TEST_CASE("JSON pointer escaping replaces ~ before /", "[patch]") {
  CHECK(escape_json_pointer("plain") == "plain");
  CHECK(escape_json_pointer("a/b") == "a~1b");
  CHECK(escape_json_pointer("a~b") == "a~0b");
  CHECK(escape_json_pointer("~/") == "~0~1");
  CHECK(escape_json_pointer("~1") == "~01");  // not "~1" read back as "/"
  CHECK(escape_json_pointer("") == "");
}

TEST_CASE("legacy mode: iptables-init last among init containers, proxy after the app", "[patch]") {
  Json pod = test::make_pod();
  SECTION("no init containers: the array is created") {
    Json out = inject(pod);
    CHECK(names(out, "initContainers") == std::vector<std::string>{"iptables-init"});
    CHECK(names(out, "containers") == std::vector<std::string>{"app", "sigv4proxy"});
  }
  SECTION("user init containers run first, uncaptured") {
    pod["spec"]["initContainers"] = Json::array({{{"name", "migrate"}, {"image", "m"}}});
    Json out = inject(pod);
    CHECK(names(out, "initContainers") == std::vector<std::string>{"migrate", "iptables-init"});
    CHECK(test::without_injection(out) == test::without_injection(pod));
  }
}

TEST_CASE("native mode: iptables-init then sigv4proxy first", "[patch]") {
  Json pod = test::make_pod();
  SECTION("no init containers") {
    Json out = inject(pod, SidecarMode::kNative);
    CHECK(names(out, "initContainers") == std::vector<std::string>{"iptables-init", "sigv4proxy"});
    CHECK(names(out, "containers") == std::vector<std::string>{"app"});
    CHECK(out["spec"]["initContainers"][1]["restartPolicy"] == "Always");
  }
  SECTION("user init containers come after, so they are signed too") {
    pod["spec"]["initContainers"] =
        Json::array({{{"name", "a"}, {"image", "a"}}, {{"name", "b"}, {"image", "b"}}});
    Json out = inject(pod, SidecarMode::kNative);
    CHECK(names(out, "initContainers") ==
          std::vector<std::string>{"iptables-init", "sigv4proxy", "a", "b"});
  }
}

TEST_CASE("annotations: created when missing, added key by key otherwise", "[patch]") {
  Json pod = test::make_pod();
  SECTION("no annotations map") {
    Json out = inject(pod);
    CHECK(out["metadata"]["annotations"]["sigv4-injector.io/status"] == "injected");
    CHECK(out["metadata"]["annotations"]["sigv4-injector.io/version"] == "9.9.9");
    CHECK(out["metadata"]["annotations"]["kubectl.kubernetes.io/default-container"] == "app");
  }
  SECTION("keys with / and ~ survive beside ours") {
    pod["metadata"]["annotations"] = {{"example.com/a~b", "1"}, {"x~1y", "2"}};
    Json out = inject(pod);
    CHECK(out["metadata"]["annotations"]["example.com/a~b"] == "1");
    CHECK(out["metadata"]["annotations"]["x~1y"] == "2");
    CHECK(out["metadata"]["annotations"]["sigv4-injector.io/status"] == "injected");
    CHECK(test::without_injection(out) == test::without_injection(pod));
  }
  SECTION("a user's default container is kept") {
    pod["metadata"]["annotations"] = {{"kubectl.kubernetes.io/default-container", "other"}};
    Json out = inject(pod);
    CHECK(out["metadata"]["annotations"]["kubectl.kubernetes.io/default-container"] == "other");
  }
  SECTION("no metadata at all") {
    pod.erase("metadata");
    Json out = inject(pod);
    CHECK(out["metadata"]["annotations"]["sigv4-injector.io/status"] == "injected");
  }
  SECTION("annotations: null is replaced by a map") {
    pod["metadata"]["annotations"] = nullptr;
    CHECK(inject(pod)["metadata"]["annotations"].size() == 3);
  }
}

TEST_CASE("a pod without spec gets one", "[patch]") {
  Json pod = {{"metadata", {{"name", "x"}}}};
  Json out = inject(pod);
  CHECK(names(out, "initContainers") == std::vector<std::string>{"iptables-init"});
}

TEST_CASE("unknown fields of the user's pod are kept", "[patch]") {
  Json pod = test::make_pod();
  pod["spec"]["futureField"] = {{"x", 1}};
  pod["spec"]["containers"][0]["restartPolicy"] = "Always";
  Json out = inject(pod);
  CHECK(out["spec"]["futureField"]["x"] == 1);
  CHECK(out["spec"]["containers"][0]["restartPolicy"] == "Always");
}

TEST_CASE("credential sync copies env that appeared after injection, once", "[patch]") {
  Json pod = inject(test::make_pod());
  CHECK(credential_sync_patch(pod).empty());
  pod["spec"]["containers"][0]["env"] = Json::parse(R"([
    {"name": "AWS_ROLE_ARN", "value": "arn:aws:iam::123456789012:role/r"},
    {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"}])");
  pod["spec"]["containers"][0]["volumeMounts"] = Json::parse(
      R"([{"name": "aws-iam-token", "mountPath": "/var/run/secrets/eks.amazonaws.com/serviceaccount"}])");
  Json ops = credential_sync_patch(pod);
  REQUIRE_FALSE(ops.empty());
  Json synced = pod.patch(ops);
  const Json& proxy = synced["spec"]["containers"][1];
  CHECK(proxy["env"] == Json::array({{{"name", "AWS_REGION"}, {"value", "us-west-2"}},
                                     {{"name", "AWS_EC2_METADATA_DISABLED"}, {"value", "true"}},
                                     pod["spec"]["containers"][0]["env"][0],
                                     pod["spec"]["containers"][0]["env"][1]}));
  CHECK(proxy["volumeMounts"] == pod["spec"]["containers"][0]["volumeMounts"]);
  CHECK(credential_sync_patch(synced).empty());  // idempotent
}

TEST_CASE("credential sync leaves hand-injected pods alone", "[patch]") {
  Json pod = test::make_pod();
  pod["spec"]["containers"].push_back({{"name", "sigv4proxy"}, {"image", "p"}});
  pod["spec"]["containers"][0]["env"] =
      Json::parse(R"([{"name": "AWS_ROLE_ARN", "value": "arn:aws:iam::123456789012:role/r"}])");
  CHECK(credential_sync_patch(pod).empty());
}
