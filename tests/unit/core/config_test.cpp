#include <catch2/catch.hpp>

#include "codec/errors.h"
#include "core/config.h"

using namespace sigv4;

namespace {

// The key named by the error load_config throws for `yaml`.
std::string error_key(const std::string& yaml) {
  try {
    load_config(yaml);
  } catch (const InputError& e) {
    return e.where();
  }
  return "(accepted)";
}

}  // namespace

TEST_CASE("defaults reproduce the workshop except the SPEC 4a differences", "[config]") {
  Config c = default_config();
  // The workshop's choices, kept.
  CHECK(c.region == "us-west-2");
  CHECK(c.signing_name == "vpc-lattice-svcs");
  CHECK(c.proxy.uid == 101);
  CHECK(c.proxy.upstream_scheme == "http");
  CHECK(c.proxy.unsigned_payload);
  CHECK(c.proxy.log_failed_requests);
  CHECK(c.init.cidrs == std::vector<std::string>{"169.254.171.0/24"});
  CHECK(c.init.include_ports.empty());
  CHECK(c.sidecar_mode == SidecarMode::kLegacy);
  CHECK(c.proxy.extra_args.empty());
  CHECK(c.proxy.role_arn.empty());
  CHECK(c.proxy.host.empty());
  CHECK(c.proxy.sign_host.empty());
  // SPEC 4a, each difference from the workshop:
  // a proxy port apps do not use (the workshop's 8080 collides with 4% of real templates);
  CHECK(c.proxy.port == 19471);
  CHECK(kDefaultProxyPort == 19471);
  // no secrets in logs (the workshop's -v --log-signing-process log the session token);
  CHECK_FALSE(c.proxy.verbose);
  CHECK_FALSE(c.proxy.log_signing_process);
  // never the node's identity (the sidecar gets AWS_EC2_METADATA_DISABLED=true);
  CHECK_FALSE(c.proxy.allow_node_credentials);
  // TLS is never captured (the workshop excludes no port);
  CHECK(c.init.exclude_ports == std::vector<int>{443});
  // no private CA unless asked for;
  CHECK(c.proxy.ca_bundle == CaBundle{});
  // pinned, trusted images (the workshop: public.ecr.aws/d2c6w7a3/iptables and an untagged proxy).
  CHECK(c.init.image == std::string("ghcr.io/sigv4-injector/sigv4-injector:") + SIGV4_VERSION);
  CHECK(c.init.image.rfind(std::string(kImageRepository) + ":", 0) == 0);
  CHECK(c.proxy.image == "public.ecr.aws/aws-observability/aws-sigv4-proxy:1.11.1");
  CHECK_NOTHROW(validate_config(c));
}

TEST_CASE("a full config file loads", "[config]") {
  Config c = load_config(R"(
region: eu-west-1
signingName: vpc-lattice-svcs
sidecarMode: native
ipv6: "off"
iptablesMode: nft
excludeNamespaces: [batch]
proxy:
  image: example.com/proxy:1.11
  port: 15001
  uid: 1337
  upstreamScheme: https
  unsignedPayload: false
  logFailedRequests: true
  logSigningProcess: false
  verbose: false
  extraArgs: ["--transport.idle-conn-timeout", "30s"]
  roleArn: arn:aws:iam::123456789012:role/caller
  resources: {requests: {cpu: 10m, memory: 20Mi}, limits: {cpu: "1", memory: 100Mi}}
init:
  image: example.com/iptables:1
  cidrs: [169.254.171.0/24, 10.1.0.0/16]
  ipv6Cidrs: []
  excludePorts: [22]
  includePorts: []
)");
  CHECK(c.region == "eu-west-1");
  CHECK(c.sidecar_mode == SidecarMode::kNative);
  CHECK(c.ipv6 == Ipv6Mode::kOff);
  CHECK(c.iptables_mode == IptablesMode::kNft);
  CHECK(c.exclude_namespaces == std::vector<std::string>{"batch"});
  CHECK(c.proxy.port == 15001);
  CHECK(c.proxy.uid == 1337);
  CHECK_FALSE(c.proxy.unsigned_payload);
  CHECK(c.proxy.extra_args.size() == 2);
  CHECK(c.proxy.resources.cpu_limit == "1");
  CHECK(c.init.cidrs.size() == 2);
  CHECK(c.init.ipv6_cidrs.empty());
  CHECK(c.init.exclude_ports == std::vector<int>{22});
  CHECK(c.init.resources.cpu_request == "10m");  // untouched keys keep their defaults
}

TEST_CASE("an empty config file gives the defaults", "[config]") {
  CHECK(load_config("").region == default_config().region);
  CHECK(load_config("# nothing\n") == default_config());
  CHECK(load_config("# nothing\n").proxy.port == 19471);
}

TEST_CASE("config errors name the key", "[config]") {
  CHECK(error_key("regoin: us-west-2") == "regoin");
  CHECK(error_key("proxy:\n  prot: 1") == "proxy.prot");
  CHECK(error_key("proxy:\n  port: 70000") == "proxy.port");
  CHECK(error_key("proxy:\n  uid: 0") == "proxy.uid");
  CHECK(error_key("proxy:\n  uid: [1]") == "proxy.uid");
  CHECK(error_key("proxy:\n  verbose: maybe") == "proxy.verbose");
  CHECK(error_key("proxy:\n  upstreamScheme: ftp") == "proxy.upstreamScheme");
  CHECK(error_key("proxy:\n  image: ''") == "proxy.image");
  CHECK(error_key("proxy:\n  roleArn: nope") == "proxy.roleArn");
  CHECK(error_key("proxy:\n  resources:\n    limits:\n      cpu: lots") ==
        "proxy.resources.limits.cpu");
  CHECK(error_key("proxy:\n  resources:\n    requests:\n      memory: 1Gi") ==
        "proxy.resources.requests.memory");
  CHECK(error_key("proxy:\n  resources:\n    requests:\n      gpu: 1") ==
        "proxy.resources.requests.gpu");
  CHECK(error_key("init:\n  cidrs: [1.2.3.4/40]") == "init.cidrs[0]");
  CHECK(error_key("init:\n  cidrs: []\n  ipv6Cidrs: []") == "init.cidrs");
  CHECK(error_key("init:\n  ipv6Cidrs: [169.254.0.0/16]") == "init.ipv6Cidrs[0]");
  CHECK(error_key("init:\n  excludePorts: [0]") == "init.excludePorts[0]");
  CHECK(error_key("init:\n  cidrs: 10.0.0.0/8") == "init.cidrs");
  CHECK(error_key("sidecarMode: sometimes") == "sidecarMode");
  CHECK(error_key("ipv6: maybe") == "ipv6");
  CHECK(error_key("iptablesMode: ebpf") == "iptablesMode");
  CHECK(error_key("region: Mars") == "region");
  CHECK(error_key("- a list") == "config");
  CHECK(error_key("proxy: [") == "config");
  CHECK(error_key("proxy: 3") == "proxy");
}

TEST_CASE("proxy.allowNodeCredentials and proxy.caBundle load", "[config]") {
  using Kind = CaBundle::Kind;
  struct Good {
    const char* yaml;
    bool allow_node_credentials;
    CaBundle ca_bundle;
  };
  auto row = GENERATE(values<Good>({
      {"proxy:\n  allowNodeCredentials: true", true, {}},
      {"proxy:\n  allowNodeCredentials: false", false, {}},
      {"proxy:\n  caBundle: {configMap: private-ca}", false, {Kind::kConfigMap, "private-ca"}},
      {"proxy:\n  caBundle: {secret: lattice-ca}", false, {Kind::kSecret, "lattice-ca"}},
      {"proxy:\n  caBundle: {secret: lattice-ca, key: tls.crt}",
       false,
       {Kind::kSecret, "lattice-ca", "tls.crt"}},
      {"proxy:\n  caBundle:\n    key: root_ca-2.pem\n    configMap: ca.example.com",
       false,
       {Kind::kConfigMap, "ca.example.com", "root_ca-2.pem"}},
      {"proxy:\n  caBundle: {configMap: 0.a-b.c, key: .ca..crt}",
       false,
       {Kind::kConfigMap, "0.a-b.c", ".ca..crt"}},
      {"proxy:\n  caBundle: {configMap: a}\n  allowNodeCredentials: true",
       true,
       {Kind::kConfigMap, "a"}},
      {"proxy:\n  caBundle: null", false, {}},
  }));
  INFO(row.yaml);
  Config c = load_config(row.yaml);
  CHECK(c.proxy.allow_node_credentials == row.allow_node_credentials);
  CHECK(c.proxy.ca_bundle == row.ca_bundle);
  // Nothing else moves.
  Config rest = c;
  rest.proxy.allow_node_credentials = false;
  rest.proxy.ca_bundle = {};
  CHECK(rest == default_config());
}

TEST_CASE("bad proxy.allowNodeCredentials and proxy.caBundle name the key", "[config]") {
  struct Bad {
    const char* yaml;
    const char* key;
  };
  auto row = GENERATE(values<Bad>({
      {"proxy:\n  allowNodeCredentials: maybe", "proxy.allowNodeCredentials"},
      {"proxy:\n  allowNodeCredentials: [true]", "proxy.allowNodeCredentials"},
      {"proxy:\n  caBundle: private-ca", "proxy.caBundle"},
      {"proxy:\n  caBundle: [private-ca]", "proxy.caBundle"},
      {"proxy:\n  caBundle: {}", "proxy.caBundle"},
      {"proxy:\n  caBundle: {key: ca.crt}", "proxy.caBundle"},
      // both a ConfigMap and a Secret: the second one named is the error
      {"proxy:\n  caBundle: {configMap: a, secret: b}", "proxy.caBundle.secret"},
      {"proxy:\n  caBundle: {secret: b, configMap: a}", "proxy.caBundle.configMap"},
      // bad object names (DNS-1123 subdomains), for either kind
      {"proxy:\n  caBundle: {configMap: Private-CA}", "proxy.caBundle.configMap"},
      {"proxy:\n  caBundle: {configMap: private_ca}", "proxy.caBundle.configMap"},
      {"proxy:\n  caBundle: {configMap: -ca}", "proxy.caBundle.configMap"},
      {"proxy:\n  caBundle: {configMap: ''}", "proxy.caBundle.configMap"},
      {"proxy:\n  caBundle: {configMap: [a]}", "proxy.caBundle.configMap"},
      {"proxy:\n  caBundle: {secret: ca.}", "proxy.caBundle.secret"},
      {"proxy:\n  caBundle: {secret: a/b}", "proxy.caBundle.secret"},
      {"proxy:\n  caBundle: {secret: ca crt}", "proxy.caBundle.secret"},
      {"proxy:\n  caBundle: {secret: ca..example}", "proxy.caBundle.secret"},
      {"proxy:\n  caBundle: {configMap: ca.-example}", "proxy.caBundle.configMap"},
      {"proxy:\n  caBundle: {configMap: ca-.example}", "proxy.caBundle.configMap"},
      // bad data keys
      {"proxy:\n  caBundle: {configMap: ca, key: ''}", "proxy.caBundle.key"},
      {"proxy:\n  caBundle: {configMap: ca, key: ..}", "proxy.caBundle.key"},
      {"proxy:\n  caBundle: {configMap: ca, key: .}", "proxy.caBundle.key"},
      {"proxy:\n  caBundle: {configMap: ca, key: ..data}", "proxy.caBundle.key"},
      {"proxy:\n  caBundle: {secret: ca, key: a/ca.crt}", "proxy.caBundle.key"},
      {"proxy:\n  caBundle: {secret: ca, key: 'ca crt'}", "proxy.caBundle.key"},
      {"proxy:\n  caBundle: {secret: ca, key: {a: b}}", "proxy.caBundle.key"},
      // unknown subkeys
      {"proxy:\n  caBundle: {configmap: ca}", "proxy.caBundle.configmap"},
      {"proxy:\n  caBundle: {configMap: ca, path: ca.crt}", "proxy.caBundle.path"},
      {"proxy:\n  caBundle: {secretName: ca}", "proxy.caBundle.secretName"},
      {"proxy:\n  allowNodeCredential: true", "proxy.allowNodeCredential"},
  }));
  INFO(row.yaml);
  CHECK(error_key(row.yaml) == row.key);
}

TEST_CASE("a CA bundle's name and key are at most 253 characters", "[config]") {
  const std::string longest(253, 'a');
  CHECK(error_key("proxy:\n  caBundle: {secret: " + longest + ", key: " + longest + "}") ==
        "(accepted)");
  CHECK(error_key("proxy:\n  caBundle: {configMap: " + longest + "a}") ==
        "proxy.caBundle.configMap");
  CHECK(error_key("proxy:\n  caBundle: {secret: ca, key: " + longest + "a}") ==
        "proxy.caBundle.key");
}

TEST_CASE("namespaces: per-namespace resources load and lay over the config's", "[config]") {
  const Config c = load_config(R"(
proxy:
  resources: {limits: {memory: 512Mi}}
namespaces:
  team-a:
    proxy: {resources: {requests: {cpu: 200m}}}
    init: {resources: {limits: {cpu: 300m, memory: 128Mi}}}
  team-b: {}
)");
  REQUIRE(c.namespaces.size() == 2);
  const Config a = for_namespace(c, "team-a");
  CHECK(a.namespaces.empty());
  CHECK(a.proxy.resources == Resources{"200m", "32Mi", "500m", "512Mi"});
  CHECK(a.init.resources == Resources{"10m", "16Mi", "300m", "128Mi"});
  const Config b = for_namespace(c, "team-b");
  CHECK(b.proxy.resources == Resources{"25m", "32Mi", "500m", "512Mi"});
  CHECK(for_namespace(c, "elsewhere").init.resources == default_config().init.resources);
  CHECK(load_config("namespaces: {}").namespaces.empty());
}

TEST_CASE("bad namespaces entries name the key", "[config]") {
  CHECK(error_key("namespaces: [a]") == "namespaces");
  CHECK(error_key("namespaces:\n  Team_A: {}") == "namespaces.Team_A");
  CHECK(error_key("namespaces:\n  a: {sidecar: {}}") == "namespaces.a.sidecar");
  CHECK(error_key("namespaces:\n  a: {proxy: {image: x}}") == "namespaces.a.proxy.image");
  CHECK(error_key("namespaces:\n  a: {init: {resources: {requests: {cpu: lots}}}}") ==
        "namespaces.a.init.resources.requests.cpu");
  CHECK(error_key("namespaces:\n  a: {proxy: {resources: {requests: {gpu: 1}}}}") ==
        "namespaces.a.proxy.resources.requests.gpu");
  // A request above the config's limit, once laid over it.
  CHECK(error_key("namespaces:\n  a: {proxy: {resources: {requests: {cpu: '1'}}}}") ==
        "namespaces.a.proxy.resources.requests.cpu");
  CHECK(error_key("namespaces:\n  a: {init: {resources: {limits: {memory: 1Mi}}}}") ==
        "namespaces.a.init.resources.requests.memory");
}
