#pragma once

// AdmissionReview bodies for the benchmarks, shaped like what kube-apiserver sends: compact
// JSON, a Deployment-created pod after the built-in admission plugins ran (ServiceAccount's
// projected token volume, DefaultTolerationSeconds), no managedFields (the apiserver sets them
// after admission). Larger pods grow by env vars of a fixed size, so the cost per KB is
// comparable across sizes.

#include <cstddef>
#include <string>

#include "codec/json.h"

namespace sigv4::bench {

inline Json env_var(const std::string& name, const std::string& value) {
  return Json{{"name", name}, {"value", value}};
}

inline Json probe(const char* path, int delay) {
  return Json{{"httpGet", {{"path", path}, {"port", 3000}, {"scheme", "HTTP"}}},
              {"initialDelaySeconds", delay},
              {"timeoutSeconds", 1},
              {"periodSeconds", 10},
              {"successThreshold", 1},
              {"failureThreshold", 3}};
}

inline Json app_container() {
  return Json{
      {"name", "checkout"},
      {"image", "123456789012.dkr.ecr.us-west-2.amazonaws.com/shop/checkout:v2.14.3"},
      {"ports", Json::array({{{"name", "http"}, {"containerPort", 3000}, {"protocol", "TCP"}}})},
      {"env",
       Json::array({env_var("LOG_LEVEL", "info"),
                    env_var("PORT", "3000"),
                    env_var("PAYMENTS_URL", "http://payments.shop.svc.cluster.local"),
                    env_var("INVENTORY_URL",
                            "http://inventory-svc-0a1b2c3d.7d67968.vpc-lattice-svcs"
                            ".us-west-2.on.aws"),
                    env_var("AWS_REGION", "us-west-2"),
                    {{"name", "POD_NAME"},
                     {"valueFrom",
                      {{"fieldRef", {{"apiVersion", "v1"}, {"fieldPath", "metadata.name"}}}}}}})},
      {"resources",
       {{"limits", {{"cpu", "1"}, {"memory", "512Mi"}}},
        {"requests", {{"cpu", "250m"}, {"memory", "256Mi"}}}}},
      {"volumeMounts",
       Json::array({{{"name", "config"}, {"mountPath", "/etc/checkout"}, {"readOnly", true}},
                    {{"name", "kube-api-access-x7k2p"},
                     {"readOnly", true},
                     {"mountPath", "/var/run/secrets/kubernetes.io/serviceaccount"}}})},
      {"livenessProbe", probe("/healthz", 10)},
      {"readinessProbe", probe("/ready", 5)},
      {"terminationMessagePath", "/dev/termination-log"},
      {"terminationMessagePolicy", "File"},
      {"imagePullPolicy", "IfNotPresent"},
      {"securityContext",
       {{"runAsNonRoot", true},
        {"allowPrivilegeEscalation", false},
        {"capabilities", {{"drop", Json::array({"ALL"})}}}}}};
}

inline Json log_container() {
  return Json{{"name", "log-router"},
              {"image", "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0"},
              {"env", Json::array({env_var("FLB_LOG_LEVEL", "warn"),
                                   env_var("CLUSTER_NAME", "prod-us-west-2")})},
              {"resources", {{"requests", {{"cpu", "50m"}, {"memory", "64Mi"}}}}},
              {"volumeMounts",
               Json::array({{{"name", "varlog"}, {"mountPath", "/var/log"}},
                            {{"name", "kube-api-access-x7k2p"},
                             {"readOnly", true},
                             {"mountPath", "/var/run/secrets/kubernetes.io/serviceaccount"}}})},
              {"terminationMessagePath", "/dev/termination-log"},
              {"terminationMessagePolicy", "File"},
              {"imagePullPolicy", "IfNotPresent"}};
}

inline Json token_volume() {
  return Json{
      {"name", "kube-api-access-x7k2p"},
      {"projected",
       {{"sources",
         Json::array({{{"serviceAccountToken", {{"expirationSeconds", 3607}, {"path", "token"}}}},
                      {{"configMap",
                        {{"name", "kube-root-ca.crt"},
                         {"items", Json::array({{{"key", "ca.crt"}, {"path", "ca.crt"}}})}}}},
                      {{"downwardAPI",
                        {{"items", Json::array({{{"path", "namespace"},
                                                 {"fieldRef",
                                                  {{"apiVersion", "v1"},
                                                   {"fieldPath", "metadata.namespace"}}}}})}}}}})},
        {"defaultMode", 420}}}};
}

inline Json toleration(const char* key) {
  return Json{
      {"key", key}, {"operator", "Exists"}, {"effect", "NoExecute"}, {"tolerationSeconds", 300}};
}

// The typical pod: about 4 KB of review once serialised.
inline Json typical_pod() {
  Json metadata = {
      {"generateName", "checkout-7d9f8c6b54-"},
      {"namespace", "shop"},
      {"creationTimestamp", nullptr},
      {"labels",
       {{"app.kubernetes.io/name", "checkout"},
        {"app.kubernetes.io/part-of", "shop"},
        {"app.kubernetes.io/version", "2.14.3"},
        {"pod-template-hash", "7d9f8c6b54"}}},
      {"annotations",
       {{"kubectl.kubernetes.io/restartedAt", "2026-11-20T09:14:03Z"},
        {"prometheus.io/scrape", "true"},
        {"prometheus.io/port", "9102"}}},
      {"ownerReferences", Json::array({{{"apiVersion", "apps/v1"},
                                        {"kind", "ReplicaSet"},
                                        {"name", "checkout-7d9f8c6b54"},
                                        {"uid", "5b0f1c2e-8a4d-4e3b-9c7a-2f1e0d9c8b7a"},
                                        {"controller", true},
                                        {"blockOwnerDeletion", true}}})}};
  Json spec = {
      {"volumes", Json::array({{{"name", "config"},
                                {"configMap", {{"name", "checkout-config"}, {"defaultMode", 420}}}},
                               {{"name", "varlog"}, {"emptyDir", Json::object()}},
                               token_volume()})},
      {"containers", Json::array({app_container(), log_container()})},
      {"restartPolicy", "Always"},
      {"terminationGracePeriodSeconds", 30},
      {"dnsPolicy", "ClusterFirst"},
      {"serviceAccountName", "checkout"},
      {"serviceAccount", "checkout"},
      {"securityContext", {{"runAsUser", 1000}, {"fsGroup", 2000}}},
      {"schedulerName", "default-scheduler"},
      {"tolerations", Json::array({toleration("node.kubernetes.io/not-ready"),
                                   toleration("node.kubernetes.io/unreachable")})},
      {"priority", 0},
      {"enableServiceLinks", true},
      {"preemptionPolicy", "PreemptLowerPriority"}};
  return Json{{"kind", "Pod"},
              {"apiVersion", "v1"},
              {"metadata", std::move(metadata)},
              {"spec", std::move(spec)},
              {"status", Json::object()}};
}

inline std::string review_body(const Json& pod) {
  Json gvk = {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}};
  Json gvr = {{"group", ""}, {"version", "v1"}, {"resource", "pods"}};
  Json request = {
      {"uid", "0f7b1c9e-2d4a-4c8e-9b3f-6a5d4e3c2b1a"},
      {"kind", gvk},
      {"resource", gvr},
      {"requestKind", gvk},
      {"requestResource", gvr},
      {"namespace", "shop"},
      {"operation", "CREATE"},
      {"userInfo",
       {{"username", "system:serviceaccount:kube-system:replicaset-controller"},
        {"uid", "8c1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a"},
        {"groups", Json::array({"system:serviceaccounts", "system:serviceaccounts:kube-system",
                                "system:authenticated"})}}},
      {"object", pod},
      {"oldObject", nullptr},
      {"dryRun", false},
      {"options", {{"kind", "CreateOptions"}, {"apiVersion", "meta.k8s.io/v1"}}}};
  return Json{{"kind", "AdmissionReview"},
              {"apiVersion", "admission.k8s.io/v1"},
              {"request", std::move(request)}}
      .dump();
}

// One filler env var: 80 bytes of compact JSON with the comma.
inline Json filler_env(std::size_t i) {
  std::string digits = std::to_string(i % 1000000);
  return env_var("CONFIG_" + std::string(6 - digits.size(), '0') + digits,
                 "value-of-a-setting-read-by-the-app-at-start-00000");
}

// The smallest realistic pod: one container, as a ReplicaSet creates it (about 1 KB of review).
inline Json small_pod() {
  return Json{
      {"kind", "Pod"},
      {"apiVersion", "v1"},
      {"metadata",
       {{"generateName", "web-6d9f7c8b5-"},
        {"namespace", "shop"},
        {"labels", {{"app", "web"}, {"pod-template-hash", "6d9f7c8b5"}}}}},
      {"spec",
       {{"containers",
         Json::array({{{"name", "web"}, {"image", "nginx:1.27"}, {"resources", Json::object()}}})},
        {"restartPolicy", "Always"},
        {"dnsPolicy", "ClusterFirst"}}}};
}

// A review of about `bytes`: the small pod below 4 KB, else the typical pod with filler env vars
// shared between its two containers.
inline std::string review_of_size(std::size_t bytes) {
  if (bytes < 4096) {
    return review_body(small_pod());
  }
  Json pod = typical_pod();
  const std::size_t base = review_body(pod).size();
  const std::size_t per_var = filler_env(0).dump().size() + 1;
  const std::size_t count = bytes > base ? (bytes - base) / per_var : 0;
  Json& containers = pod["spec"]["containers"];
  for (std::size_t i = 0; i < count; ++i) {
    containers[i % 2]["env"].push_back(filler_env(i));
  }
  return review_body(pod);
}

// The typical pod with `count` env vars on its app container (the "1,500 env vars" case).
inline std::string review_with_env(std::size_t count) {
  Json pod = typical_pod();
  Json& env = pod["spec"]["containers"][0]["env"];
  while (env.size() < count) {
    env.push_back(filler_env(env.size()));
  }
  return review_body(pod);
}

}  // namespace sigv4::bench
