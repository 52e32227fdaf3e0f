// The proxy port a pod gets (mutator.cpp, settle_proxy_port; SPEC 4a "a proxy port apps do not
// use"): the configured port unless a container or init container of the pod declares it (any
// protocol), then the next free one above it, wrapping to 1024, used for --port, the REDIRECT,
// the containerPort and the native startup probe, with a warning; a colliding port chosen by the
// pod's own proxy-port annotation denies the pod.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/mutator.h"
#include "core/pod_text.h"
#include "test_util.h"

using namespace sigv4;
using test::admit;
using test::container;

namespace {

constexpr const char* kPortAnnotation = "sigv4-injector.io/proxy-port";

Json port(int number, const char* protocol = "TCP") {
  return Json{{"containerPort", number}, {"protocol", protocol}};
}

// Every place the injected pod names the proxy port says `want`.
void check_proxy_port(const Json& pod, SidecarMode mode, int want) {
  const Json& proxy = test::sidecar(pod, mode);
  const Json& args = proxy["args"];
  auto flag = std::find(args.begin(), args.end(), "--port");
  REQUIRE(flag != args.end());
  REQUIRE(std::next(flag) != args.end());
  // Appended, not `":" + to_string(...)`, which trips GCC 12's -Wrestrict false positive at -O3.
  std::string listen = ":";
  listen += std::to_string(want);
  CHECK(*std::next(flag) == listen);
  CHECK(std::count(args.begin(), args.end(), "--port") == 1);
  CHECK(proxy["ports"] ==
        Json::array({{{"name", "proxy"}, {"containerPort", want}, {"protocol", "TCP"}}}));
  if (mode == SidecarMode::kNative) {
    CHECK(proxy["startupProbe"]["tcpSocket"]["port"] == want);
  } else {
    CHECK_FALSE(proxy.contains("startupProbe"));
  }
  const Json& init = container(pod, "initContainers", "iptables-init");
  if (mode == SidecarMode::kNative) {  // the node's address, for the probe through the guard
    CHECK(init["env"] ==
          Json::array({{{"name", "HOST_IP"},
                        {"valueFrom", {{"fieldRef", {{"fieldPath", "status.hostIP"}}}}}}}));
  } else {
    CHECK_FALSE(init.contains("env"));
  }
  const std::string script = init["command"][2];
  CHECK(script.find("PROXY_PORT=" + std::to_string(want) + " PROXY_UID=101\n") !=
        std::string::npos);
}

// `who`: how the warning names the declaring containers, e.g. `container "app"`.
std::string relocation_warning(int from, int to, const std::string& who = "container \"app\"") {
  return "sigv4-injector: " + who + " of this pod declares port " + std::to_string(from) +
         ", the signing proxy's; the proxy uses " + std::to_string(to) +
         " instead (set sigv4-injector.io/proxy-port to choose one)";
}

// The name of the first container, then init container, of `pod` declaring `port`.
std::string first_declaring(const Json& pod, int port) {
  for (const char* list : {"containers", "initContainers"}) {
    for (const Json& c : pod["spec"].value(list, Json::array())) {
      for (const Json& p : c.value("ports", Json::array())) {
        if (p.is_object() && p.value("containerPort", Json()) == port) {
          return c["name"];
        }
      }
    }
  }
  return "";
}

}  // namespace

TEST_CASE("the proxy moves off a port the pod declares, everywhere, with a warning",
          "[mutator][port]") {
  const SidecarMode L = SidecarMode::kLegacy;
  const SidecarMode N = SidecarMode::kNative;
  struct Row {
    const char* name;
    Json app_ports;    // spec.containers[0].ports (null: none)
    Json other_ports;  // a second container's ports (null: no second container)
    Json init_ports;   // a user init container's ports (null: no init container)
    SidecarMode mode;
    int config_port;         // proxy.port of the config
    const char* annotation;  // sigv4-injector.io/proxy-port ("" for none)
    int want;
  };
  auto row = GENERATE_COPY(values<Row>({
      {"no ports", nullptr, nullptr, nullptr, L, 19471, "", 19471},
      {"other ports", Json::array({port(80), port(8080)}), nullptr, nullptr, L, 19471, "", 19471},
      {"the app declares it", Json::array({port(19471)}), nullptr, nullptr, L, 19471, "", 19472},
      {"the app declares it, native", Json::array({port(19471)}), nullptr, nullptr, N, 19471, "",
       19472},
      {"it and the next", Json::array({port(19472), port(19471)}), nullptr, nullptr, L, 19471, "",
       19473},
      {"it and the next in two containers", Json::array({port(19471)}), Json::array({port(19472)}),
       nullptr, L, 19471, "", 19473},
      {"only the next", Json::array({port(19472)}), nullptr, nullptr, L, 19471, "", 19471},
      {"an init container declares it", nullptr, nullptr, Json::array({port(19471)}), L, 19471, "",
       19472},
      {"an init container declares it, native", nullptr, nullptr, Json::array({port(19471)}), N,
       19471, "", 19472},
      {"UDP counts too", Json::array({port(19471, "UDP")}), nullptr, nullptr, L, 19471, "", 19472},
      {"SCTP counts too", Json::array({port(19471, "SCTP")}), nullptr, nullptr, N, 19471, "",
       19472},
      {"a configured port moves too", Json::array({port(8080)}), nullptr, nullptr, L, 8080, "",
       8081},
      {"wraps to 1024", Json::array({port(65535)}), nullptr, nullptr, L, 65535, "", 1024},
      {"wraps past 1024", Json::array({port(65535), port(1024)}), nullptr, nullptr, N, 65535, "",
       1025},
      {"an annotated port nobody declares", Json::array({port(19471)}), nullptr, nullptr, L, 19471,
       "15001", 15001},
      {"odd port values are not ports",
       Json::array({Json{{"containerPort", "19471"}}, Json{{"containerPort", 19471.5}},
                    Json{{"containerPort", -19471}}, Json{{"containerPort", 19471 + 65536}},
                    Json{{"name", "no-number"}}, Json("19471")}),
       nullptr, nullptr, L, 19471, "", 19471},
  }));
  INFO(row.name);
  Json pod = test::make_pod();
  if (!row.app_ports.is_null()) {
    pod["spec"]["containers"][0]["ports"] = row.app_ports;
  }
  if (!row.other_ports.is_null()) {
    pod["spec"]["containers"].push_back(
        {{"name", "other"}, {"image", "o"}, {"ports", row.other_ports}});
  }
  if (!row.init_ports.is_null()) {
    pod["spec"]["initContainers"] =
        Json::array({{{"name", "setup"}, {"image", "s"}, {"ports", row.init_ports}}});
  }
  if (*row.annotation != '\0') {
    pod["metadata"]["annotations"] = {{kPortAnnotation, row.annotation}};
  }
  Config config = default_config();
  config.sidecar_mode = row.mode;
  config.proxy.port = row.config_port;

  const test::Admitted a = admit(pod, config);
  REQUIRE(a.mutation.decision.inject);
  REQUIRE_FALSE(a.mutation.denial);
  check_proxy_port(a.pod, row.mode, row.want);
  const int from = *row.annotation != '\0' ? std::stoi(row.annotation) : row.config_port;
  if (row.want == from) {
    CHECK(a.mutation.warnings.empty());
  } else {
    const std::string who = "container \"" + first_declaring(pod, from) + "\"";
    CHECK(a.mutation.warnings == std::vector<std::string>{relocation_warning(from, row.want, who)});
  }
  // The user's containers keep their ports, and the injected pod is not injected again.
  CHECK(container(a.pod, "containers", "app") == pod["spec"]["containers"][0]);
  CHECK(admit(a.pod, config).mutation.decision.has(Reason::kAlreadyInjected));
}

TEST_CASE("a proxy-port annotation that collides with a declared port denies the pod",
          "[mutator][port]") {
  struct Row {
    const char* name;
    const char* annotation;
    Json app_ports;
    Json init_ports;
    SidecarMode mode;
  };
  auto row = GENERATE_COPY(values<Row>({
      {"the default port, named explicitly", "19471", Json::array({port(19471)}), nullptr,
       SidecarMode::kLegacy},
      {"another port", "15001", Json::array({port(80), port(15001)}), nullptr,
       SidecarMode::kLegacy},
      {"declared by an init container", "15001", nullptr, Json::array({port(15001)}),
       SidecarMode::kNative},
      {"declared for UDP", "15001", Json::array({port(15001, "UDP")}), nullptr,
       SidecarMode::kLegacy},
  }));
  INFO(row.name);
  Json pod = test::make_pod();
  pod["metadata"]["annotations"] = {{kPortAnnotation, row.annotation}};
  if (!row.app_ports.is_null()) {
    pod["spec"]["containers"][0]["ports"] = row.app_ports;
  }
  if (!row.init_ports.is_null()) {
    pod["spec"]["initContainers"] =
        Json::array({{{"name", "setup"}, {"image", "s"}, {"ports", row.init_ports}}});
  }
  Config config = default_config();
  config.sidecar_mode = row.mode;

  const test::Admitted a = admit(pod, config);
  CHECK_FALSE(a.mutation.decision.inject);
  CHECK(a.mutation.decision.reasons == std::vector<Reason>{Reason::kInvalidOverride});
  CHECK(a.mutation.patch.empty());
  CHECK(a.mutation.warnings.empty());
  REQUIRE(a.mutation.denial);
  CHECK(*a.mutation.denial == std::string("sigv4-injector: annotation ") + kPortAnnotation +
                                  ": port " + row.annotation + " is declared by container \"" +
                                  first_declaring(pod, std::stoi(row.annotation)) +
                                  "\" of this pod; choose a port no container uses");

  // Through the webhook's door: allowed false, 400, the message naming the annotation.
  Json review = {{"apiVersion", "admission.k8s.io/v1"},
                 {"kind", "AdmissionReview"},
                 {"request",
                  {{"uid", "u1"},
                   {"kind", {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}},
                   {"namespace", "app1"},
                   {"operation", "CREATE"},
                   {"object", pod}}}};
  const Json resp = Json::parse(test::review(review, config, Route::kMutate).response)["response"];
  CHECK(resp["allowed"] == false);
  CHECK(resp["status"]["code"] == 400);
  CHECK(resp["status"]["message"] == *a.mutation.denial);
  CHECK_FALSE(resp.contains("patch"));
  CHECK_FALSE(resp.contains("warnings"));
}

TEST_CASE("a pod declaring thousands of ports still gets an answer", "[mutator][port]") {
  // The declared ports are gathered in one pass over the pod into a bitset, then the free port is
  // found in it: a pod of n ports costs O(n), never a rescan of the pod per candidate port (which
  // for the pods below would be billions of lookups).
  auto app_with = [](int first, int last, int skip) {
    Json ports = Json::array();
    for (int p = first; p <= last; ++p) {
      if (p != skip) {
        ports.push_back({{"containerPort", p}});
      }
    }
    return ports;
  };
  SECTION("5,000 consecutive ports from the proxy's") {
    Json pod = test::make_pod();
    pod["spec"]["containers"][0]["ports"] = app_with(19471, 24470, 0);
    const test::Admitted a = admit(pod, default_config());
    REQUIRE(a.mutation.decision.inject);
    check_proxy_port(a.pod, SidecarMode::kLegacy, 24471);
    CHECK(a.mutation.warnings == std::vector<std::string>{relocation_warning(19471, 24471)});
  }
  SECTION("every port from 1024 up but one, over many containers: the search wraps") {
    Json pod = test::make_pod();
    Json all = app_with(1024, 65535, 2000);
    pod["spec"]["containers"] = Json::array();
    for (std::size_t i = 0; i < all.size(); i += 4096) {
      Json ports(all.begin() + static_cast<std::ptrdiff_t>(i),
                 all.begin() + static_cast<std::ptrdiff_t>(std::min(all.size(), i + 4096)));
      std::string name = "c";
      name += std::to_string(i);  // not "c" + ...: GCC 12's -Wrestrict false positive at -O3
      pod["spec"]["containers"].push_back(
          {{"name", std::move(name)}, {"image", "i"}, {"ports", std::move(ports)}});
    }
    Config native = default_config();
    native.sidecar_mode = SidecarMode::kNative;
    const test::Admitted a = admit(pod, native);
    REQUIRE(a.mutation.decision.inject);
    check_proxy_port(a.pod, SidecarMode::kNative, 2000);
  }
  SECTION("every port: denied, nothing injected") {
    Json pod = test::make_pod();
    pod["spec"]["containers"][0]["ports"] = app_with(1, 65535, 0);
    const test::Admitted a = admit(pod, default_config());
    CHECK_FALSE(a.mutation.decision.inject);
    CHECK(a.mutation.patch.empty());
    REQUIRE(a.mutation.denial);
    CHECK(a.mutation.denial->find("no free port") != std::string::npos);
  }
}

TEST_CASE("the port warning quotes one container name cut short, however many declare the port",
          "[mutator][port]") {
  // The attack of issue 16: many containers, each with a huge name, each declaring the proxy
  // port. One warning, the first name quoted within its bound, the others counted.
  Json pod = test::make_pod();
  pod["spec"]["containers"] = Json::array();
  for (int i = 0; i < 300; ++i) {
    std::string name = std::to_string(i);
    name += std::string(10000, 'x');
    pod["spec"]["containers"].push_back(
        {{"name", std::move(name)},
         {"image", "i"},
         {"ports", Json::array({port(19471), port(19472), port(19473)})}});
  }
  const test::Admitted a = admit(pod, default_config());
  REQUIRE(a.mutation.decision.inject);
  check_proxy_port(a.pod, SidecarMode::kLegacy, 19474);
  REQUIRE(a.mutation.warnings.size() == 1);
  const std::string& warning = a.mutation.warnings[0];
  CHECK(warning.size() <= kMaxMessageBytes);
  CHECK(warning.find("container \"0xxxxxxx") != std::string::npos);
  CHECK(warning.find("...(10001 bytes)\" (and 299 others) of this pod declares port 19471") !=
        std::string::npos);

  // The same pod naming the port by annotation: denied, the message as bounded.
  pod["metadata"]["annotations"] = {{kPortAnnotation, "19472"}};
  const test::Admitted denied = admit(pod, default_config());
  REQUIRE(denied.mutation.denial);
  CHECK(denied.mutation.denial->size() <= kMaxMessageBytes);
  CHECK(denied.mutation.denial->find("(and 299 others) of this pod") != std::string::npos);
}

TEST_CASE("a container name with control characters is quoted escaped", "[mutator][port]") {
  Json pod = test::make_pod();
  pod["spec"]["containers"][0]["name"] = std::string("a\x1b[31m\0\"b", 9);
  pod["spec"]["containers"][0]["ports"] = Json::array({port(19471)});
  const test::Admitted a = admit(pod, default_config());
  REQUIRE(a.mutation.warnings.size() == 1);
  CHECK(a.mutation.warnings[0].find(R"(container "a\x1b[31m\x00\"b" of this pod)") !=
        std::string::npos);
}
