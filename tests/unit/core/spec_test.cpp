#include <catch2/catch.hpp>

#include "core/spec.h"
#include "test_util.h"

using namespace sigv4;
using test::credential_sources;
using test::proxy_container;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("the script fails loudly and is re-runnable", "[spec]") {
  std::string s = iptables_script(default_config());
  CHECK(s.rfind("set -eu\n", 0) == 0);
  // Re-run: an existing chain is flushed instead of failing, the jump is added only once.
  CHECK(contains(s, "-t nat -N EGRESS_PROXY 2>/dev/null || \"$ipt\" -t nat -F EGRESS_PROXY"));
  CHECK(contains(s, "-t nat -C OUTPUT -p tcp -d \"$cidr\" -j EGRESS_PROXY 2>/dev/null ||"));
  CHECK(contains(s, "-m owner --uid-owner \"$PROXY_UID\" -j RETURN"));
  CHECK(contains(s, "-j REDIRECT --to-ports \"$PROXY_PORT\""));
  CHECK(contains(s, "PROXY_PORT=19471 PROXY_UID=101"));
  CHECK(contains(s, "EXCLUDE_PORTS=\"443\" INCLUDE_PORTS=\"\"\n"));  // TLS is never captured
  CHECK(contains(s, "capture \"$v4\" 169.254.171.0/24\n"));
  CHECK(contains(s, "MODE=auto"));
  // The proxy port is refused to peers, once however often the script runs, and the legacy
  // tables are counted from /proc before any listing could create them.
  CHECK(contains(s,
                 "-C INPUT ! -i lo -p tcp --dport \"$PROXY_PORT\" -j REJECT --reject-with "
                 "tcp-reset 2>/dev/null ||"));
  CHECK(contains(s, "v4=$(backend iptables)\nguard \"$v4\"\ncapture \"$v4\""));
  CHECK(contains(s,
                 "then\n  v6=$(backend ip6tables)\n  guard \"$v6\"\n"
                 "  capture \"$v6\" fd00:ec2:80::/64\n"));
  CHECK(contains(s, "grep -qx nat \"$names\""));
  CHECK(s.find("/proc/net/ip_tables_names") < s.find("-t nat -S"));
}

TEST_CASE("the script follows the settings", "[spec]") {
  Config c = default_config();
  c.proxy.port = 15001;
  c.proxy.uid = 1337;
  c.init.exclude_ports = {22, 443};
  c.init.include_ports = {80};
  c.init.cidrs = {"169.254.171.0/24", "10.0.0.0/8"};
  c.iptables_mode = IptablesMode::kLegacy;
  std::string s = iptables_script(c);
  CHECK(contains(s, "PROXY_PORT=15001 PROXY_UID=1337"));
  CHECK(contains(s, "EXCLUDE_PORTS=\"22 443\" INCLUDE_PORTS=\"80\""));
  CHECK(contains(s, "capture \"$v4\" 169.254.171.0/24 10.0.0.0/8\n"));
  CHECK(contains(s, "MODE=legacy"));

  SECTION("IPv6 on applies ip6tables unconditionally") {
    c.ipv6 = Ipv6Mode::kOn;
    std::string on = iptables_script(c);
    CHECK(contains(on, "v6=$(backend ip6tables)\nguard \"$v6\"\ncapture \"$v6\" fd00:ec2:80::/64"));
    CHECK_FALSE(contains(on, "/proc/net/if_inet6"));
  }
  SECTION("IPv6 auto applies it wherever an interface but lo has IPv6, failing loudly there") {
    c.ipv6 = Ipv6Mode::kAuto;
    CHECK(contains(iptables_script(c),
                   "if grep -qv ' lo$' /proc/net/if_inet6 2>/dev/null; then\n"
                   "  v6=$(backend ip6tables)\n  guard \"$v6\"\n"
                   "  capture \"$v6\" fd00:ec2:80::/64\nelse"));
  }
  SECTION("IPv6 off captures nothing over IPv6, but still guards the port where IPv6 is") {
    c.ipv6 = Ipv6Mode::kOff;
    std::string off = iptables_script(c);
    CHECK_FALSE(contains(off, "capture \"$v6\""));
    CHECK(contains(off,
                   "if grep -qv ' lo$' /proc/net/if_inet6 2>/dev/null; then\n"
                   "  v6=$(backend ip6tables)\n  guard \"$v6\"\nelse"));
  }
  SECTION("no IPv4 CIDRs: IPv4 is guarded, not captured") {
    c.init.cidrs.clear();
    std::string v6_only = iptables_script(c);
    CHECK_FALSE(contains(v6_only, "capture \"$v4\""));
    CHECK(contains(v6_only, "v4=$(backend iptables)\nguard \"$v4\"\n"));
  }
  SECTION("no excluded ports when the settings list none") {
    c.init.exclude_ports.clear();
    CHECK(contains(iptables_script(c), "EXCLUDE_PORTS=\"\" INCLUDE_PORTS=\"80\""));
  }
}

TEST_CASE("the init container has the capabilities and nothing more", "[spec]") {
  Json init = init_container(default_config());
  CHECK(init["name"] == "iptables-init");
  CHECK(init["command"][0] == "/bin/sh");
  CHECK(init["command"][1] == "-c");
  CHECK(init["securityContext"]["capabilities"]["add"] == Json::array({"NET_ADMIN", "NET_RAW"}));
  CHECK(init["securityContext"]["capabilities"]["drop"] == Json::array({"ALL"}));
  CHECK(init["securityContext"]["runAsUser"] == 0);
  CHECK(init["securityContext"]["runAsNonRoot"] == false);
  CHECK(init["resources"]["limits"]["memory"] == "64Mi");
  CHECK(init["resources"]["requests"]["cpu"] == "10m");
}

TEST_CASE("the proxy container is hardened and carries the workshop args less debug logging",
          "[spec]") {
  Json pod = test::make_pod();
  Json proxy = proxy_container(default_config(), pod);
  CHECK(proxy["name"] == "sigv4proxy");
  // The workshop's args but -v --log-signing-process (SPEC 4a: they log the session token).
  CHECK(proxy["args"] ==
        Json::array({"--name", "vpc-lattice-svcs", "--region", "us-west-2", "--upstream-url-scheme",
                     "http", "--unsigned-payload", "--log-failed-requests", "--port", ":19471"}));
  CHECK(proxy["ports"] ==
        Json::array({Json{{"name", "proxy"}, {"containerPort", 19471}, {"protocol", "TCP"}}}));
  CHECK(proxy["env"] ==
        Json::array({Json{{"name", "AWS_REGION"}, {"value", "us-west-2"}},
                     Json{{"name", "AWS_EC2_METADATA_DISABLED"}, {"value", "true"}}}));
  const Json& sc = proxy["securityContext"];
  CHECK(sc["runAsUser"] == 101);
  CHECK(sc["runAsNonRoot"] == true);
  CHECK(sc["allowPrivilegeEscalation"] == false);
  CHECK(sc["readOnlyRootFilesystem"] == true);
  CHECK(sc["capabilities"]["drop"] == Json::array({"ALL"}));
  CHECK(proxy["resources"]["requests"].contains("cpu"));
  CHECK(proxy["resources"]["limits"].contains("memory"));
  CHECK_FALSE(proxy.contains("restartPolicy"));
  CHECK_FALSE(proxy.contains("volumeMounts"));
}

TEST_CASE("optional proxy flags follow the settings", "[spec]") {
  Config c = default_config();
  c.proxy.role_arn = "arn:aws:iam::123456789012:role/r";
  c.proxy.host = "h.example.com";
  c.proxy.sign_host = "s.example.com";
  c.proxy.extra_args = {"--strip", "X-Debug"};
  c.proxy.unsigned_payload = false;
  c.proxy.verbose = false;
  c.proxy.log_signing_process = false;
  Json args = proxy_args(c);
  std::string all = args.dump();
  CHECK(contains(all, R"("--role-arn","arn:aws:iam::123456789012:role/r")"));
  CHECK(contains(all, R"("--host","h.example.com")"));
  CHECK(contains(all, R"("--sign-host","s.example.com")"));
  CHECK(contains(all, R"("--strip","X-Debug"])"));
  CHECK_FALSE(contains(all, "--unsigned-payload"));
  CHECK_FALSE(contains(all, "\"-v\""));
  CHECK_FALSE(contains(all, "--log-signing-process"));
}

TEST_CASE("native mode adds restartPolicy Always and a tcpSocket startup probe", "[spec]") {
  Config c = default_config();
  c.sidecar_mode = SidecarMode::kNative;
  c.proxy.port = 15001;
  Json proxy = proxy_container(c, test::make_pod());
  CHECK(proxy["restartPolicy"] == "Always");
  CHECK(proxy["startupProbe"]["tcpSocket"]["port"] == 15001);
}

TEST_CASE("credential env and token mounts are copied from the app container", "[spec]") {
  Json pod = test::make_pod();
  pod["spec"]["containers"].push_back(Json::parse(R"({
    "name": "worker", "image": "w",
    "env": [
      {"name": "OTHER", "value": "x"},
      {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
      {"name": "AWS_ROLE_ARN", "value": "arn:aws:iam::123456789012:role/r"},
      {"name": "AWS_WEB_IDENTITY_TOKEN_FILE",
       "value": "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"}],
    "volumeMounts": [
      {"name": "data", "mountPath": "/data"},
      {"name": "aws-iam-token", "mountPath": "/var/run/secrets/eks.amazonaws.com/serviceaccount",
       "readOnly": true}]})"));
  Json proxy = proxy_container(default_config(), pod);
  REQUIRE(proxy["env"].size() == 5);
  CHECK(proxy["env"][0]["name"] == "AWS_REGION");
  CHECK(proxy["env"][1]["name"] == "AWS_EC2_METADATA_DISABLED");
  CHECK(proxy["env"][2]["name"] == "AWS_STS_REGIONAL_ENDPOINTS");
  CHECK(proxy["env"][3]["name"] == "AWS_ROLE_ARN");
  CHECK(proxy["env"][4]["name"] == "AWS_WEB_IDENTITY_TOKEN_FILE");
  REQUIRE(proxy["volumeMounts"].size() == 1);
  CHECK(proxy["volumeMounts"][0]["name"] == "aws-iam-token");
}

TEST_CASE("Pod Identity env is copied too", "[spec]") {
  Json pod = test::make_pod();
  pod["spec"]["containers"][0]["env"] = Json::parse(R"([
    {"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": "http://169.254.170.23/v1/credentials"},
    {"name": "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
     "value": "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"}])");
  pod["spec"]["containers"][0]["volumeMounts"] = Json::parse(R"([
    {"name": "eks-pod-identity-token",
     "mountPath": "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount", "readOnly": true},
    {"name": "near-miss", "mountPath": "/var/run/secrets/pods.eks.amazonaws.com/service"}])");
  Json sources = credential_sources(pod);
  CHECK(sources["env"].size() == 2);
  REQUIRE(sources["volumeMounts"].size() == 1);
  CHECK(sources["volumeMounts"][0]["name"] == "eks-pod-identity-token");
}

TEST_CASE("the containers follow the settings of each call, not the last ones cached", "[spec]") {
  // The templates are kept per thread for the last settings; alternating settings must rebuild.
  Config a = default_config();
  Config b = default_config();
  b.proxy.port = 15001;
  b.init.cidrs.push_back("10.0.0.0/8");
  const Json init_a = init_container(a);
  const Json proxy_a = proxy_container(a, test::make_pod());
  for (int round = 0; round < 2; ++round) {
    CHECK(contains(init_container(b)["command"][2].get<std::string>(), "PROXY_PORT=15001"));
    CHECK(proxy_container(b, test::make_pod())["ports"][0]["containerPort"] == 15001);
    CHECK(init_container(a) == init_a);
    CHECK(proxy_container(a, test::make_pod()) == proxy_a);
  }
  CHECK(contains(init_a["command"][2].get<std::string>(), "PROXY_PORT=19471"));
  // A copy: changing what one call returned does not change the next.
  Json changed = init_container(a);
  changed["image"] = "changed";
  CHECK(init_container(a) == init_a);
}

TEST_CASE("native mode with token mounts keeps the field order", "[spec]") {
  Config c = default_config();
  c.sidecar_mode = SidecarMode::kNative;
  Json pod = test::make_pod();
  pod["spec"]["containers"][0]["env"] = Json::parse(R"([
    {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": "/var/run/secrets/eks/token"}])");
  pod["spec"]["containers"][0]["volumeMounts"] =
      Json::parse(R"([{"name": "aws-iam-token", "mountPath": "/var/run/secrets/eks"}])");
  Json proxy = proxy_container(c, pod);
  std::vector<std::string> keys;
  for (const auto& item : proxy.items()) {
    keys.push_back(item.key());
  }
  CHECK(keys == std::vector<std::string>{"name", "image", "args", "ports", "env", "resources",
                                         "securityContext", "volumeMounts", "restartPolicy",
                                         "startupProbe"});
  CHECK(proxy["env"].size() == 3);
}

TEST_CASE("proxy logging: failed requests only, unless log-level says otherwise", "[spec]") {
  struct Row {
    const char* log_level;  // sigv4-injector.io/log-level, "" for none
    std::vector<std::string> logging_args;
  };
  auto row = GENERATE(values<Row>({
      {"", {"--log-failed-requests"}},
      {"info", {"--log-failed-requests"}},
      {"debug", {"--log-failed-requests", "-v", "--log-signing-process"}},
      {"off", {}},
  }));
  INFO("log-level " << row.log_level);
  Json annotations = Json::object();
  if (*row.log_level != '\0') {
    annotations["sigv4-injector.io/log-level"] = row.log_level;
  }
  Json want = Json::array({"--name", "vpc-lattice-svcs", "--region", "us-west-2",
                           "--upstream-url-scheme", "http", "--unsigned-payload"});
  for (const auto& arg : row.logging_args) {
    want.push_back(arg);
  }
  want.push_back("--port");
  want.push_back(":19471");
  CHECK(proxy_args(test::apply_overrides(default_config(), annotations)) == want);
}

TEST_CASE("the sidecar's env: no node credentials unless allowed, the CA bundle's directory",
          "[spec]") {
  const Json region = {{"name", "AWS_REGION"}, {"value", "us-west-2"}};
  const Json no_imds = {{"name", "AWS_EC2_METADATA_DISABLED"}, {"value", "true"}};
  const Json cert_dir = {{"name", "SSL_CERT_DIR"},
                         {"value", "/var/run/secrets/sigv4-injector.io/ca-bundle"}};
  struct Row {
    bool allow_node_credentials;
    bool ca_bundle;
    SidecarMode mode;
    Json env;
  };
  auto row = GENERATE_COPY(values<Row>({
      {false, false, SidecarMode::kLegacy, Json::array({region, no_imds})},
      {true, false, SidecarMode::kLegacy, Json::array({region})},
      {false, true, SidecarMode::kLegacy, Json::array({region, no_imds, cert_dir})},
      {true, true, SidecarMode::kLegacy, Json::array({region, cert_dir})},
      {false, false, SidecarMode::kNative, Json::array({region, no_imds})},
      {true, false, SidecarMode::kNative, Json::array({region})},
  }));
  Config c = default_config();
  c.proxy.allow_node_credentials = row.allow_node_credentials;
  c.sidecar_mode = row.mode;
  if (row.ca_bundle) {
    c.proxy.ca_bundle = {CaBundle::Kind::kConfigMap, "private-ca"};
  }
  INFO(row.env.dump());
  Json proxy = proxy_container(c, test::make_pod());
  CHECK(proxy["env"] == row.env);
  if (row.ca_bundle) {
    CHECK(proxy["volumeMounts"] ==
          Json::array({{{"name", "sigv4-injector-ca-bundle"},
                        {"mountPath", "/var/run/secrets/sigv4-injector.io/ca-bundle"},
                        {"readOnly", true}}}));
  } else {
    CHECK_FALSE(proxy.contains("volumeMounts"));
  }
}

TEST_CASE("the init container reads the node's address only in native mode", "[spec]") {
  // The kubelet's startup probe of a native sidecar comes from the node: the script lets
  // HOST_IP through the guard. A legacy sidecar has no probe, so no peer is let through.
  auto mode = GENERATE(SidecarMode::kLegacy, SidecarMode::kNative);
  Config c = default_config();
  c.sidecar_mode = mode;
  Json init = init_container(c);
  if (mode == SidecarMode::kNative) {
    CHECK(init["env"] ==
          Json::array({{{"name", "HOST_IP"},
                        {"valueFrom", {{"fieldRef", {{"fieldPath", "status.hostIP"}}}}}}}));
  } else {
    CHECK_FALSE(init.contains("env"));
  }
  CHECK(init["command"][2] == iptables_script(c));
}

TEST_CASE("the CA bundle's volume projects the key as ca.crt", "[spec]") {
  struct Row {
    CaBundle bundle;
    Json volume;
  };
  auto row = GENERATE(values<Row>({
      {{}, nullptr},
      {{CaBundle::Kind::kConfigMap, "private-ca"},
       {{"name", "sigv4-injector-ca-bundle"},
        {"configMap",
         {{"name", "private-ca"}, {"items", {{{"key", "ca.crt"}, {"path", "ca.crt"}}}}}}}},
      {{CaBundle::Kind::kSecret, "lattice-tls", "root.pem"},
       {{"name", "sigv4-injector-ca-bundle"},
        {"secret",
         {{"secretName", "lattice-tls"}, {"items", {{{"key", "root.pem"}, {"path", "ca.crt"}}}}}}}},
  }));
  Config c = default_config();
  c.proxy.ca_bundle = row.bundle;
  const std::string text = ca_bundle_volume_text(c);
  if (row.volume.is_null()) {
    CHECK(text.empty());
  } else {
    CHECK(Json::parse(text) == row.volume);
  }
}
