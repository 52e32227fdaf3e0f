#include <catch2/catch.hpp>

#include "core/config.h"
#include "core/decision.h"
#include "test_util.h"

using namespace sigv4;

namespace {

// Mirrors the decision table in decision.cpp row for row.
struct Row {
  const char* name;
  const char* kind;
  const char* operation;
  const char* pod_patch;  // merged into the base pod (JSON merge patch)
  const char* namespace_name;
  Route route;
  SidecarMode mode;
  const char* owner_kind;
  bool inject;
  std::vector<Reason> reasons;
};

}  // namespace

TEST_CASE("decide follows the decision table", "[decision]") {
  const Route M = Route::kMutate;
  const Route A = Route::kMutateAnnotated;
  const SidecarMode L = SidecarMode::kLegacy;
  const SidecarMode N = SidecarMode::kNative;
  auto row = GENERATE_COPY(values<Row>({
      {"1 not a pod", "Service", "CREATE", "{}", "app1", M, L, "", false, {Reason::kNotAPod}},
      {"2 not create", "Pod", "UPDATE", "{}", "app1", M, L, "", false, {Reason::kNotCreate}},
      {"3 opted out by label",
       "Pod",
       "CREATE",
       R"({"metadata":{"labels":{"sigv4-injector.io/inject":"disabled"}}})",
       "app1",
       M,
       L,
       "",
       false,
       {Reason::kOptedOut}},
      {"3 opted out by annotation",
       "Pod",
       "CREATE",
       R"({"metadata":{"annotations":{"sigv4-injector.io/inject":"false"}}})",
       "app1",
       M,
       L,
       "",
       false,
       {Reason::kOptedOut}},
      {"4 already injected by status",
       "Pod",
       "CREATE",
       R"({"metadata":{"annotations":{"sigv4-injector.io/status":"injected"}}})",
       "app1",
       M,
       L,
       "",
       false,
       {Reason::kAlreadyInjected}},
      {"4 already injected by container",
       "Pod",
       "CREATE",
       R"({"spec":{"initContainers":[{"name":"iptables-init","image":"x"}]}})",
       "app1",
       M,
       L,
       "",
       false,
       {Reason::kAlreadyInjected}},
      {"5 host network",
       "Pod",
       "CREATE",
       R"({"spec":{"hostNetwork":true}})",
       "app1",
       M,
       L,
       "",
       false,
       {Reason::kHostNetwork}},
      {"6 excluded namespace",
       "Pod",
       "CREATE",
       "{}",
       "batch-system",
       M,
       L,
       "",
       false,
       {Reason::kExcludedNamespace}},
      {"7 annotated route without annotation",
       "Pod",
       "CREATE",
       "{}",
       "app1",
       A,
       L,
       "",
       false,
       {Reason::kNoAnnotation}},
      {"7 annotated route with workshop annotation",
       "Pod",
       "CREATE",
       R"({"metadata":{"annotations":{"vpc-lattices-svcs.amazonaws.com/agent-inject":"true"}}})",
       "app1",
       A,
       L,
       "",
       true,
       {Reason::kAnnotated}},
      {"7 annotated route with compat annotation",
       "Pod",
       "CREATE",
       R"({"metadata":{"annotations":{"sidecar.aws.signing-proxy/inject":"true"}}})",
       "app1",
       A,
       L,
       "",
       true,
       {Reason::kAnnotated}},
      {"8 job in legacy mode",
       "Pod",
       "CREATE",
       R"({"metadata":{"ownerReferences":[{"apiVersion":"batch/v1","kind":"Job","name":"j"}]}})",
       "app1",
       M,
       L,
       "",
       false,
       {Reason::kJobLegacyMode}},
      {"8 job template in legacy mode",
       "Pod",
       "CREATE",
       "{}",
       "app1",
       M,
       L,
       "Job",
       false,
       {Reason::kJobLegacyMode}},
      {"8 job in native mode",
       "Pod",
       "CREATE",
       "{}",
       "app1",
       M,
       N,
       "Job",
       true,
       {Reason::kSelected}},
      {"8 job asking native by annotation",
       "Pod",
       "CREATE",
       R"({"metadata":{"annotations":{"sigv4-injector.io/sidecar-mode":"native"}}})",
       "app1",
       M,
       L,
       "Job",
       true,
       {Reason::kSelected}},
      {"8 job opting in explicitly",
       "Pod",
       "CREATE",
       R"({"metadata":{"labels":{"sigv4-injector.io/inject":"enabled"}}})",
       "app1",
       M,
       L,
       "Job",
       true,
       {Reason::kSelected}},
      {"3+5 reasons are all collected",
       "Pod",
       "CREATE",
       R"({"metadata":{"labels":{"sigv4-injector.io/inject":"disabled"}},"spec":{"hostNetwork":true}})",
       "app1",
       M,
       L,
       "",
       false,
       {Reason::kOptedOut, Reason::kHostNetwork}},
      {"- plain pod", "Pod", "CREATE", "{}", "app1", M, L, "", true, {Reason::kSelected}},
      {"- hostNetwork false",
       "Pod",
       "CREATE",
       R"({"spec":{"hostNetwork":false}})",
       "app1",
       M,
       L,
       "",
       true,
       {Reason::kSelected}},
      {"- wrong types count as absent",
       "Pod",
       "CREATE",
       R"({"metadata":{"labels":"x","annotations":[1]},"spec":{"hostNetwork":"yes"}})",
       "app1",
       M,
       L,
       "",
       true,
       {Reason::kSelected}},
  }));
  Config config = default_config();
  config.exclude_namespaces = {"batch-system"};
  config.sidecar_mode = row.mode;
  Json pod = test::make_pod();
  pod.merge_patch(Json::parse(row.pod_patch));
  const JsonDoc doc = JsonDoc::from_json(pod);
  PodRequest request{row.kind, row.operation, row.namespace_name, &doc.root(), row.owner_kind};
  Decision d = decide(request, config, row.route);
  INFO(row.name << ": got " << d.reasons_string());
  CHECK(d.inject == row.inject);
  CHECK(d.reasons == row.reasons);
}

TEST_CASE("decide refuses a missing or non-object pod", "[decision]") {
  const JsonDoc not_object = JsonDoc::from_json(Json::array());
  PodRequest request{"Pod", "CREATE", "ns", &not_object.root(), ""};
  CHECK(decide(request, default_config(), Route::kMutate).has(Reason::kNotAPod));
  request.pod = nullptr;
  CHECK(decide(request, default_config(), Route::kMutate).has(Reason::kNotAPod));
}

TEST_CASE("reason names are the documented codes", "[decision]") {
  CHECK(to_string(Reason::kOptedOut) == "opted-out");
  CHECK(to_string(Reason::kAlreadyInjected) == "already-injected");
  CHECK(to_string(Reason::kHostNetwork) == "host-network");
  CHECK(to_string(Reason::kExcludedNamespace) == "excluded-namespace");
  CHECK(to_string(Reason::kJobLegacyMode) == "job-legacy-mode");
  CHECK(to_string(Reason::kNotAPod) == "not-a-pod");
  CHECK(to_string(Reason::kNotCreate) == "not-create");
  CHECK(to_string(Reason::kNoAnnotation) == "no-annotation");
  CHECK(is_warning(Reason::kHostNetwork));
  CHECK(is_warning(Reason::kJobLegacyMode));
  CHECK_FALSE(is_warning(Reason::kOptedOut));
}
