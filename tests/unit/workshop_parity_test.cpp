// The injected workshop Deployment must match, in substance, what the workshop wrote by hand
// (tests/reference/workshop-app1-injected-by-hand.yaml): same rules, args, port, UID, capability.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "core/inject.h"
#include "core/manifests.h"

using namespace sigv4;

namespace {

Json deployment_spec(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  auto docs = read_documents(text.str(), path);
  for (auto& doc : docs) {
    if (doc["kind"] == "Deployment") {
      inject_documents(docs, default_config(), path);
      for (const auto& d : docs) {
        if (d["kind"] == "Deployment") {
          return d["spec"]["template"]["spec"];
        }
      }
    }
  }
  FAIL("no Deployment in " << path);
  return {};
}

const Json& named(const Json& list, const std::string& name) {
  for (const auto& c : list) {
    if (c["name"] == name) {
      return c;
    }
  }
  FAIL("no container " << name);
  return list;
}

std::multiset<std::string> args_of(const Json& c) {
  std::multiset<std::string> out;
  for (const auto& a : c["args"]) {
    out.insert(a.get<std::string>());
  }
  return out;
}

}  // namespace

TEST_CASE("the injected workshop Deployment matches the hand-injected one", "[golden][parity]") {
  // The reference already holds the containers: our input is the same file without them.
  Json ours = deployment_spec(SIGV4_TESTDATA_DIR "/workshop-deployment/input.yaml");
  std::ifstream in(SIGV4_REFERENCE_DIR "/workshop-app1-injected-by-hand.yaml");
  std::stringstream text;
  text << in.rdbuf();
  Json reference;
  for (const auto& doc : read_documents(text.str(), "reference")) {
    if (doc["kind"] == "Deployment") {
      reference = doc["spec"]["template"]["spec"];
    }
  }
  REQUIRE(reference.is_object());

  auto container_names = [](const Json& list) {
    std::vector<std::string> out;
    for (const auto& c : list) {
      out.push_back(c["name"]);
    }
    return out;
  };
  CHECK(container_names(ours["containers"]) == container_names(reference["containers"]));
  CHECK(container_names(ours["initContainers"]) == container_names(reference["initContainers"]));

  const Json& proxy = named(ours["containers"], "sigv4proxy");
  const Json& ref_proxy = named(reference["containers"], "sigv4proxy");
  auto expected_args = args_of(ref_proxy);
  expected_args.insert("--port");  // we state the listen address the workshop left implicit
  expected_args.insert(":8080");
  CHECK(args_of(proxy) == expected_args);
  CHECK(nlohmann::json::parse(proxy["ports"].dump()) ==
        nlohmann::json::parse(ref_proxy["ports"].dump()));
  CHECK(proxy["securityContext"]["runAsUser"] == ref_proxy["securityContext"]["runAsUser"]);

  const Json& init = named(ours["initContainers"], "iptables-init");
  const Json& ref_init = named(reference["initContainers"], "iptables-init");
  CHECK(init["image"] == ref_init["image"]);
  CHECK(init["command"][0] == ref_init["command"][0]);
  CHECK(init["command"][1] == ref_init["command"][1]);
  for (const auto& cap : ref_init["securityContext"]["capabilities"]["add"]) {
    const Json& ours_add = init["securityContext"]["capabilities"]["add"];
    CHECK(std::find(ours_add.begin(), ours_add.end(), cap) != ours_add.end());
  }
  // The rules themselves are proven by running the script against real iptables in a network
  // namespace (tests/integration/test_iptables_script.sh); here: the same parameters.
  std::string script = init["command"][2];
  CHECK(script.find("PROXY_PORT=8080 PROXY_UID=101") != std::string::npos);
  CHECK(script.find("capture \"$v4\" 169.254.171.0/24\n") != std::string::npos);
}
