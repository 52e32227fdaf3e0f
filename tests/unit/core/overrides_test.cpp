#include <catch2/catch.hpp>

#include <string>

#include "codec/errors.h"
#include "core/overrides.h"
#include "core/validate.h"
#include "test_util.h"

using namespace sigv4;
using test::apply_overrides;
using test::requested_sidecar_mode;

namespace {

Config with(const char* key, const char* value) {
  return apply_overrides(default_config(), Json{{key, value}});
}

}  // namespace

TEST_CASE("good override values take effect", "[overrides]") {
  CHECK(with("sigv4-injector.io/region", "eu-central-1").region == "eu-central-1");
  CHECK(with("sigv4-injector.io/region", "us-gov-west-1").region == "us-gov-west-1");
  CHECK(with("sigv4-injector.io/signing-name", "execute-api").signing_name == "execute-api");
  CHECK(with("sigv4-injector.io/host", "svc.example.com:8443").proxy.host ==
        "svc.example.com:8443");
  CHECK(with("sigv4-injector.io/sign-host", "svc-123.vpc-lattice-svcs.us-west-2.on.aws")
            .proxy.sign_host == "svc-123.vpc-lattice-svcs.us-west-2.on.aws");
  CHECK(with("sigv4-injector.io/role-arn", "arn:aws:iam::123456789012:role/app/caller")
            .proxy.role_arn == "arn:aws:iam::123456789012:role/app/caller");
  CHECK(with("sigv4-injector.io/upstream-scheme", "https").proxy.upstream_scheme == "https");
  CHECK(with("sigv4-injector.io/proxy-image", "example.com/proxy:1.11").proxy.image ==
        "example.com/proxy:1.11");
  CHECK(with("sigv4-injector.io/init-image", "example.com/ipt@sha256:abc").init.image ==
        "example.com/ipt@sha256:abc");
  CHECK(with("sigv4-injector.io/proxy-port", "15001").proxy.port == 15001);
  CHECK(with("sigv4-injector.io/proxy-uid", "1337").proxy.uid == 1337);
  CHECK(with("sigv4-injector.io/exclude-ports", "22, 443").init.exclude_ports ==
        std::vector<int>{22, 443});
  CHECK(with("sigv4-injector.io/include-ports", "80").init.include_ports == std::vector<int>{80});
  CHECK(with("sigv4-injector.io/sidecar-mode", "native").sidecar_mode == SidecarMode::kNative);
  CHECK(with("sigv4-injector.io/cpu-request", "50m").proxy.resources.cpu_request == "50m");
  CHECK(with("sigv4-injector.io/memory-request", "64Mi").proxy.resources.memory_request == "64Mi");
  CHECK(with("sigv4-injector.io/cpu-limit", "1").proxy.resources.cpu_limit == "1");
  CHECK(with("sigv4-injector.io/memory-limit", "1Gi").proxy.resources.memory_limit == "1Gi");
  Config off = with("sigv4-injector.io/log-level", "off");
  CHECK_FALSE(off.proxy.verbose);
  CHECK_FALSE(off.proxy.log_failed_requests);
  Config info = with("sigv4-injector.io/log-level", "info");
  CHECK(info.proxy.log_failed_requests);
  CHECK_FALSE(info.proxy.log_signing_process);
  CHECK_FALSE(info.proxy.verbose);
  Config debug = with("sigv4-injector.io/log-level", "debug");
  CHECK(debug.proxy.log_failed_requests);
  CHECK(debug.proxy.log_signing_process);
  CHECK(debug.proxy.verbose);
}

TEST_CASE("the ca-bundle annotation names a ConfigMap or Secret and a key", "[overrides]") {
  using Kind = CaBundle::Kind;
  struct Good {
    const char* value;
    CaBundle bundle;
  };
  auto row = GENERATE(values<Good>({
      {"configmap/private-ca", {Kind::kConfigMap, "private-ca", "ca.crt"}},
      {"secret/private-ca", {Kind::kSecret, "private-ca", "ca.crt"}},
      {"configmap/private-ca/root.pem", {Kind::kConfigMap, "private-ca", "root.pem"}},
      {"secret/lattice.example.com/tls.crt", {Kind::kSecret, "lattice.example.com", "tls.crt"}},
      {"secret/0ca/ROOT_CA-2.crt", {Kind::kSecret, "0ca", "ROOT_CA-2.crt"}},
      {"configmap/a.b-c.d/.hidden..pem", {Kind::kConfigMap, "a.b-c.d", ".hidden..pem"}},
  }));
  INFO(row.value);
  Config c = with("sigv4-injector.io/ca-bundle", row.value);
  CHECK(c.proxy.ca_bundle == row.bundle);
  c.proxy.ca_bundle = {};
  CHECK(c == default_config());  // nothing else moves
}

TEST_CASE("the ca-bundle annotation wins over proxy.caBundle", "[overrides]") {
  Config base = default_config();
  base.proxy.ca_bundle = {CaBundle::Kind::kConfigMap, "cluster-ca", "bundle.pem"};
  CHECK(apply_overrides(base, Json::object()).proxy.ca_bundle == base.proxy.ca_bundle);
  Config c = apply_overrides(base, Json{{"sigv4-injector.io/ca-bundle", "secret/team-ca"}});
  CHECK(c.proxy.ca_bundle == CaBundle{CaBundle::Kind::kSecret, "team-ca", "ca.crt"});
}

TEST_CASE("cidrs split by family", "[overrides]") {
  Config c = with("sigv4-injector.io/cidrs", "10.0.0.0/8, fd00::/64");
  CHECK(c.init.cidrs == std::vector<std::string>{"10.0.0.0/8"});
  CHECK(c.init.ipv6_cidrs == std::vector<std::string>{"fd00::/64"});
}

TEST_CASE("bad override values name the annotation and the value", "[overrides]") {
  struct Bad {
    const char* key;
    const char* value;
  };
  auto bad = GENERATE(values<Bad>({
      {"sigv4-injector.io/region", "Mars"},
      {"sigv4-injector.io/region", ""},
      {"sigv4-injector.io/signing-name", "a b"},
      {"sigv4-injector.io/host", "bad host"},
      {"sigv4-injector.io/host", "h:99999"},
      {"sigv4-injector.io/role-arn", "arn:aws:iam::12:role/x"},
      {"sigv4-injector.io/role-arn", "role/x"},
      {"sigv4-injector.io/upstream-scheme", "ftp"},
      {"sigv4-injector.io/proxy-image", "has space"},
      {"sigv4-injector.io/init-image", ""},
      {"sigv4-injector.io/proxy-port", "0"},
      {"sigv4-injector.io/proxy-port", "99999"},
      {"sigv4-injector.io/proxy-port", "80a"},
      {"sigv4-injector.io/proxy-uid", "0"},
      {"sigv4-injector.io/proxy-uid", "-5"},
      {"sigv4-injector.io/cidrs", "169.254.171.0/33"},
      {"sigv4-injector.io/cidrs", "300.1.1.1/24"},
      {"sigv4-injector.io/cidrs", ","},
      {"sigv4-injector.io/exclude-ports", "22,x"},
      {"sigv4-injector.io/include-ports", "70000"},
      {"sigv4-injector.io/sidecar-mode", "sidecar"},
      {"sigv4-injector.io/log-level", "trace"},
      {"sigv4-injector.io/cpu-request", "lots"},
      {"sigv4-injector.io/memory-limit", "-1Gi"},
      {"sigv4-injector.io/memory-request", "0"},
      {"sigv4-injector.io/cpu-request", "2"},     // above the default 500m limit
      {"sigv4-injector.io/regoin", "us-west-2"},  // typo: unknown key
      {"sigv4-injector.io/ca-bundle", ""},
      {"sigv4-injector.io/ca-bundle", "private-ca"},
      {"sigv4-injector.io/ca-bundle", "configmap"},
      {"sigv4-injector.io/ca-bundle", "configmap/"},
      {"sigv4-injector.io/ca-bundle", "ConfigMap/private-ca"},
      {"sigv4-injector.io/ca-bundle", "configMap/private-ca"},
      {"sigv4-injector.io/ca-bundle", "secrets/private-ca"},
      {"sigv4-injector.io/ca-bundle", "pvc/private-ca"},
      {"sigv4-injector.io/ca-bundle", "configmap/Private-CA"},
      {"sigv4-injector.io/ca-bundle", "secret/private_ca"},
      {"sigv4-injector.io/ca-bundle", "secret/-ca"},
      {"sigv4-injector.io/ca-bundle", "secret/ca-"},
      {"sigv4-injector.io/ca-bundle", "secret/ca..example"},
      {"sigv4-injector.io/ca-bundle", "configmap/ca-.example"},
      {"sigv4-injector.io/ca-bundle", "configmap/ca.-example"},
      {"sigv4-injector.io/ca-bundle", "secret/ca/..data"},
      {"sigv4-injector.io/ca-bundle", "secret/ca/."},
      {"sigv4-injector.io/ca-bundle", "configmap//ca.crt"},
      {"sigv4-injector.io/ca-bundle", "configmap/private-ca/"},
      {"sigv4-injector.io/ca-bundle", "configmap/private-ca/.."},
      {"sigv4-injector.io/ca-bundle", "configmap/private-ca/a/ca.crt"},
      {"sigv4-injector.io/ca-bundle", "secret/private-ca/ca crt"},
      {"sigv4-injector.io/ca-bundle", " secret/private-ca"},
      {"sidecar.aws.signing-proxy/unsigned-payload", "maybe"},
      {"sidecar.aws.signing-proxy/upstream-url-scheme", "gopher"},
  }));
  INFO(bad.key << "=" << bad.value);
  try {
    with(bad.key, bad.value);
    FAIL("accepted");
  } catch (const OverrideError& e) {
    CHECK(e.annotation() == bad.key);
    CHECK(std::string(e.what()).find(std::string("\"") + bad.value + "\"") != std::string::npos);
  }
}

TEST_CASE("non-string annotation values are refused", "[overrides]") {
  CHECK_THROWS_AS(apply_overrides(default_config(), Json{{"sigv4-injector.io/proxy-port", 80}}),
                  OverrideError);
}

TEST_CASE("our annotations win over the compat ones", "[overrides]") {
  Json annotations = {{"sidecar.aws.signing-proxy/region", "eu-west-1"},
                      {"sidecar.aws.signing-proxy/name", "execute-api"},
                      {"sidecar.aws.signing-proxy/unsigned-payload", "false"},
                      {"sigv4-injector.io/region", "ap-south-1"}};
  Config c = apply_overrides(default_config(), annotations);
  CHECK(c.region == "ap-south-1");
  CHECK(c.signing_name == "execute-api");
  CHECK_FALSE(c.proxy.unsigned_payload);
}

TEST_CASE("non-override keys of ours and foreign keys are ignored", "[overrides]") {
  Json annotations = {{"sigv4-injector.io/inject", "enabled"},
                      {"sigv4-injector.io/status", "injected"},
                      {"example.com/anything", "x"}};
  CHECK(apply_overrides(default_config(), annotations).region == "us-west-2");
  CHECK(apply_overrides(default_config(), Json()).region == "us-west-2");
}

TEST_CASE("requested sidecar mode falls back on absent or invalid values", "[overrides]") {
  CHECK(requested_sidecar_mode(Json{{"sigv4-injector.io/sidecar-mode", "native"}},
                               SidecarMode::kLegacy) == SidecarMode::kNative);
  CHECK(requested_sidecar_mode(Json{{"sigv4-injector.io/sidecar-mode", "bogus"}},
                               SidecarMode::kLegacy) == SidecarMode::kLegacy);
  CHECK(requested_sidecar_mode(Json(), SidecarMode::kNative) == SidecarMode::kNative);
}

TEST_CASE("override values with NUL or control characters are refused naming the annotation",
          "[overrides]") {
  struct Row {
    const char* key;
    std::string value;
    const char* what;  // how the message names the character
  };
  using std::string_literals::operator""s;
  auto row = GENERATE(values<Row>({
      // inet_pton stops at the NUL: this once reached the root init script as a CIDR.
      {"sigv4-injector.io/cidrs", "10.0.0.1\0$(reboot)/8"s, "a NUL byte at byte 8"},
      {"sigv4-injector.io/cidrs", "10.0.0.0/8\n169.254.171.0/24", "\\x0a at byte 10"},
      {"sigv4-injector.io/exclude-ports", "443\t", "\\x09 at byte 3"},
      {"sigv4-injector.io/region", "us-west-2\x1b[2J", "\\x1b at byte 9"},
      {"sigv4-injector.io/role-arn", "arn:aws:iam::123456789012:role/a\x7f", "\\x7f at byte 32"},
      {"sigv4-injector.io/proxy-image", "img\xc2\x85", "C1 control character U+0085 at byte 3"},
      {"sigv4-injector.io/cpu-request", "100m\0"s, "a NUL byte at byte 4"},
      {"sigv4-injector.io/log-level", "\rdebug", "\\x0d at byte 0"},
      {"sidecar.aws.signing-proxy/region", "us-west-2\0"s, "a NUL byte at byte 9"},
      {"sidecar.aws.signing-proxy/host", "\x01h", "\\x01 at byte 0"},
  }));
  INFO(row.key);
  try {
    apply_overrides(default_config(), Json{{row.key, row.value}});
    FAIL("accepted");
  } catch (const OverrideError& e) {
    const std::string message = e.what();
    CHECK(e.annotation() == row.key);
    CHECK(message.find("must not contain NUL or control characters") != std::string::npos);
    CHECK(message.find(row.what) != std::string::npos);
    for (char c : message) {  // the value is quoted escaped, never raw
      CHECK((static_cast<unsigned char>(c) >= 0x20 && c != 0x7f));
    }
  }
}

TEST_CASE("a CIDR is only an address and a prefix, whatever inet_pton accepts", "[overrides]") {
  using std::string_literals::operator""s;
  const std::string bad = GENERATE("10.0.0.1\0$(reboot)/8"s, "10.0.0.1\0/8"s, "10.0.0.1 /8"s,
                                   "fd00::\0;id/64"s, "10.0.0.1/8\0"s, "10.0.0.1%lo/8"s);
  INFO(bad);
  CHECK_FALSE(check_ipv4_cidr(bad).empty());
  CHECK_FALSE(check_ipv6_cidr(bad).empty());
  CHECK(check_ipv4_cidr("10.0.0.1/8").empty());
  CHECK(check_ipv6_cidr("fd00:ec2:80::/64").empty());
  CHECK(check_ipv6_cidr("::ffff:10.0.0.1/128").empty());
}

TEST_CASE("CPU and memory overrides must be exact whole millicores and bytes", "[overrides]") {
  struct Row {
    const char* key;
    const char* value;
    const char* limit_key;  // set to limit_value alongside, when not empty
    const char* limit_value;
    const char* why;  // "" when accepted
  };
  auto row = GENERATE(values<Row>({
      // 1.0000000000000001 is 1.0 as a double: it passed request <= limit, and the apiserver
      // (which rounds it up to 1000000001n) then refused the pod.
      {"sigv4-injector.io/cpu-request", "1.0000000000000001", "sigv4-injector.io/cpu-limit", "1",
       "more precise than 1n"},
      {"sigv4-injector.io/cpu-request", "1.0001", "sigv4-injector.io/cpu-limit", "2",
       "whole millicores"},
      {"sigv4-injector.io/cpu-limit", "1500u", "", "", "whole millicores"},
      {"sigv4-injector.io/memory-request", "1.5", "", "", "whole bytes"},
      {"sigv4-injector.io/memory-limit", "8Ei", "", "", "too large"},
      {"sigv4-injector.io/cpu-request", "0", "", "", "positive CPU quantity"},
      {"sigv4-injector.io/memory-request", "0Mi", "", "", "positive memory quantity"},
      {"sigv4-injector.io/cpu-request", "1001m", "sigv4-injector.io/cpu-limit", "1",
       "request 1001m exceeds limit 1"},
      {"sigv4-injector.io/memory-request", "1Gi", "sigv4-injector.io/memory-limit", "1G",
       "request 1Gi exceeds limit 1G"},
      {"sigv4-injector.io/memory-request", "9223372036854775807", "sigv4-injector.io/memory-limit",
       "9223372036854775806", "exceeds limit"},
      {"sigv4-injector.io/cpu-request", "1000m", "sigv4-injector.io/cpu-limit", "1", ""},
      {"sigv4-injector.io/cpu-request", "0.5", "sigv4-injector.io/cpu-limit", "500m", ""},
      {"sigv4-injector.io/memory-request", "1G", "sigv4-injector.io/memory-limit", "1Gi", ""},
      {"sigv4-injector.io/memory-limit", "7Ei", "", "", ""},
  }));
  INFO(row.key << "=" << row.value);
  Json annotations = {{row.key, row.value}};
  if (*row.limit_key != '\0') {
    annotations[row.limit_key] = row.limit_value;
  }
  if (*row.why == '\0') {
    CHECK_NOTHROW(apply_overrides(default_config(), annotations));
    return;
  }
  try {
    apply_overrides(default_config(), annotations);
    FAIL("accepted");
  } catch (const OverrideError& e) {
    CHECK(e.annotation() == row.key);
    CHECK(std::string(e.what()).find(row.why) != std::string::npos);
  }
}

TEST_CASE("a denial quotes a huge annotation key and value cut short", "[overrides]") {
  const std::string key = "sigv4-injector.io/" + std::string(1 << 20, 'k');
  const std::string value(1 << 20, 'v');
  try {
    apply_overrides(default_config(), Json{{key, value}});
    FAIL("accepted");
  } catch (const OverrideError& e) {
    const std::string message = e.what();
    CHECK(message.size() < 600);
    CHECK(message.find("sigv4-injector.io/kkkk") == 0);
    CHECK(message.find("(1048594 bytes)") != std::string::npos);  // the key's whole size
    CHECK(message.find("(1048576 bytes)") != std::string::npos);  // the value's
    CHECK(message.find("unknown sigv4-injector.io annotation") != std::string::npos);
  }
}
