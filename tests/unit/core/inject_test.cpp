// inject_documents: which objects the CLI injects (group/version, typed lists, workload opt-out)
// and the pod templates it refuses rather than inject a broken object (issue 17).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "codec/errors.h"
#include "codec/manifests.h"
#include "core/config.h"
#include "core/inject.h"

using namespace sigv4;

namespace {

std::vector<InjectReport> run(std::vector<Json>& docs) {
  return inject_documents(docs, default_config(), "f.yaml");
}

std::string error_of(const std::string& yaml) {
  auto docs = read_documents(yaml, "f.yaml");
  try {
    run(docs);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

const char* kTemplate = R"(
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: a}}
    spec:
      containers: [{name: app, image: nginx}]
)";

}  // namespace

// apiVersion            kind                   injected   reason when not
// v1                    Pod                    yes
// apps/v1               Deployment & co        yes
// v1                    ReplicationController  yes
// batch/v1              Job, CronJob           yes
// extensions/v1beta1 &c Deployment & co        no         "... is not served any more; use apps/v1"
// example.com/v1        Deployment             no         "not the built-in Deployment (apps/v1)"
// anything              Service, ConfigMap ... no         "not a pod or workload kind"
TEST_CASE("only the built-in kinds at their served group/version are injectable", "[inject]") {
  struct Case {
    const char* api_version;
    const char* kind;
    const char* pointer_or_reason;
    bool injectable;
  };
  auto c = GENERATE(values<Case>({
      {"v1", "Pod", "", true},
      {"apps/v1", "Deployment", "/spec/template", true},
      {"apps/v1", "StatefulSet", "/spec/template", true},
      {"apps/v1", "DaemonSet", "/spec/template", true},
      {"apps/v1", "ReplicaSet", "/spec/template", true},
      {"v1", "ReplicationController", "/spec/template", true},
      {"batch/v1", "Job", "/spec/template", true},
      {"batch/v1", "CronJob", "/spec/jobTemplate/spec/template", true},
      {"extensions/v1beta1", "Deployment", "extensions/v1beta1 is not served any more; use apps/v1",
       false},
      {"apps/v1beta2", "DaemonSet", "apps/v1beta2 is not served any more; use apps/v1", false},
      {"batch/v1beta1", "CronJob", "batch/v1beta1 is not served any more; use batch/v1", false},
      {"example.com/v1", "Deployment", "not the built-in Deployment (apps/v1)", false},
      {"batch.volcano.sh/v1alpha1", "Job", "not the built-in Job (batch/v1)", false},
      {"apps/v1", "Pod", "not the built-in Pod (v1)", false},
      {"", "Pod", "no apiVersion; Pod is v1", false},
      {"v1", "Service", "not a pod or workload kind", false},
  }));
  const PodKind k = pod_kind(c.api_version, c.kind);
  CHECK(k.injectable == c.injectable);
  CHECK((c.injectable ? k.pointer : k.reason) == c.pointer_or_reason);
}

TEST_CASE("typed lists are walked, their items named by the list", "[inject]") {
  auto docs = read_documents(
      "apiVersion: apps/v1\nkind: DeploymentList\nitems:\n- metadata: {name: d}\n"
      "  spec: {template: {spec: {containers: [{name: app, image: nginx}]}}}\n",
      "f.yaml");
  auto reports = run(docs);
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].where == "f.yaml: document 0 items[0] (Deployment d)");
  CHECK(reports[0].mutation.decision.inject);
  const Json& item = docs[0]["items"][0];
  CHECK_FALSE(item.contains("kind"));  // written back as it was
  CHECK(item["spec"]["template"]["spec"]["containers"].size() == 2);
  for (const char* bad : {"items: x\n", "items: {a: 1}\n", "items: [1]\n"}) {
    INFO(bad);
    CHECK_THAT(error_of(std::string("apiVersion: v1\nkind: PodList\n") + bad),
               Catch::Matchers::StartsWith("f.yaml: document 0"));
  }
  auto empty = read_documents("apiVersion: v1\nkind: PodList\nitems: null\n", "f.yaml");
  CHECK(run(empty).empty());
}

TEST_CASE("objects passed through say why", "[inject]") {
  auto docs = read_documents(
      std::string("apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: old}\n"
                  "spec:") +
          kTemplate + "---\napiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: ns1}\n",
      "f.yaml");
  const Json before = docs;
  auto reports = run(docs);
  REQUIRE(reports.size() == 2);
  CHECK(reports[0].where == "f.yaml: document 0 (Deployment old, extensions/v1beta1)");
  CHECK(reports[0].passed_through == "extensions/v1beta1 is not served any more; use apps/v1");
  CHECK(reports[1].where == "f.yaml: document 1 (Service ns1/s, v1)");
  CHECK(Json(docs) == before);
}

TEST_CASE("a workload opted out on its own metadata is not injected", "[inject]") {
  auto c = GENERATE(as<std::string>{}, "labels: {sigv4-injector.io/inject: disabled}",
                    "annotations: {sigv4-injector.io/inject: \"false\"}");
  auto docs = read_documents(
      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, " + c + "}\nspec:" + kTemplate,
      "f.yaml");
  const Json before = docs[0];
  auto reports = run(docs);
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].workload_opted_out);
  CHECK(reports[0].mutation.decision.reasons_string() == "opted-out");
  CHECK(docs[0] == before);
}

TEST_CASE("broken pod templates are errors naming the field", "[inject]") {
  struct Case {
    const char* yaml;   // a Deployment's spec
    const char* error;  // what follows "f.yaml: document 0 (Deployment d): "
  };
  auto c = GENERATE(values<Case>({
      {"spec: oops", "spec: expected a map, got a string"},
      {"spec: {}", "spec.template: missing"},
      {"spec: {template: 3}", "spec.template: expected a map, got a number"},
      {"spec: {template: {}}", "spec.template.spec: missing"},
      {"spec: {template: {spec: {}}}", "spec.template.spec.containers: missing"},
      {"spec: {template: {spec: {containers: null}}}", "spec.template.spec.containers: missing"},
      {"spec: {template: {spec: {containers: []}}}", "spec.template.spec.containers: empty"},
      {"spec: {template: {spec: {containers: {app: {image: i}}}}}",
       "spec.template.spec.containers: expected a list, got a map"},
      {"spec: {template: {spec: {containers: [app]}}}",
       "spec.template.spec.containers[0]: expected a map, got a string"},
      {"spec: {template: {spec: {containers: [{}], initContainers: {}}}}",
       "spec.template.spec.initContainers: expected a list, got a map"},
      {"spec: {template: {spec: {containers: [{}], volumes: [x]}}}",
       "spec.template.spec.volumes[0]: expected a map, got a string"},
      {"spec: {template: {metadata: [], spec: {containers: [{}]}}}",
       "spec.template.metadata: expected a map, got a list"},
      {"spec: {template: {metadata: {annotations: [a]}, spec: {containers: [{}]}}}",
       "spec.template.metadata.annotations: expected a map of strings, got a list"},
      {"spec: {template: {metadata: {labels: {a: true}}, spec: {containers: [{}]}}}",
       "spec.template.metadata.labels.a: expected a string, got a boolean"},
  }));
  INFO(c.yaml);
  CHECK_THAT(
      error_of(std::string("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n") +
               c.yaml + "\n"),
      Catch::Matchers::StartsWith(std::string("f.yaml: document 0 (Deployment d): ") + c.error));
  // Other kinds and other groups pass such shapes through: they are not ours to judge.
  CHECK(error_of(std::string("apiVersion: example.com/v1\nkind: Deployment\n") + c.yaml + "\n")
            .empty());
}

TEST_CASE("broken pods and CronJob templates name their own paths", "[inject]") {
  CHECK_THAT(error_of("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: {}}\n"),
             Catch::Matchers::StartsWith(
                 "f.yaml: document 0 (Pod p): spec.containers: expected a list, got a map"));
  CHECK_THAT(error_of("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\n"
                      "spec: {jobTemplate: {spec: {}}}\n"),
             Catch::Matchers::StartsWith(
                 "f.yaml: document 0 (CronJob c): spec.jobTemplate.spec.template: missing"));
}
