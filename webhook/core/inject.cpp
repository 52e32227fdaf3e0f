#include "inject.h"

#include <algorithm>
#include <iterator>

#include "codec/errors.h"
#include "codec/manifests.h"
#include "decision.h"
#include "pod.h"
#include "pod_text.h"

namespace sigv4 {
namespace {

struct KindRow {
  std::string_view kind;
  std::string_view api_version;  // the one served version of the built-in kind
  std::string_view pointer;
};

// kind                   served apiVersion  pod (template)
constexpr KindRow kKinds[] = {
    {"Pod", "v1", ""},
    {"Deployment", "apps/v1", "/spec/template"},
    {"StatefulSet", "apps/v1", "/spec/template"},
    {"DaemonSet", "apps/v1", "/spec/template"},
    {"ReplicaSet", "apps/v1", "/spec/template"},
    {"ReplicationController", "v1", "/spec/template"},
    {"Job", "batch/v1", "/spec/template"},
    {"CronJob", "batch/v1", "/spec/jobTemplate/spec/template"},
};

// Group/versions the built-in workload kinds were once served at (removed in 1.16, 1.22, 1.25).
constexpr std::string_view kRemoved[] = {"extensions/v1beta1", "apps/v1beta1", "apps/v1beta2",
                                         "batch/v1beta1", "batch/v2alpha1"};

// "Deployment app1/web", each part escaped and cut (pod_text's clip): it goes to stderr and into
// error messages, and the input is whatever the user's file holds.
std::string describe(const Json& doc) {
  const Json& metadata = field(doc, "metadata");
  std::string ns = clip(string_field(metadata, "namespace"));
  std::string name = clip(string_field(metadata, "name"));
  if (name.empty()) {
    name = clip(string_field(metadata, "generateName"));
  }
  std::string out = clip(string_field(doc, "kind"));
  if (!name.empty() || !ns.empty()) {
    out += " " + (ns.empty() ? "" : ns + "/") + name;
  }
  return out;
}

std::string type_name(const Json& v) {
  if (v.is_null()) {
    return "null";
  }
  if (v.is_array()) {
    return "a list";
  }
  if (v.is_object()) {
    return "a map";
  }
  return std::string("a ") + v.type_name();
}

// "/spec/template" -> "spec.template."; "" -> "".
std::string dotted(const std::string& pointer) {
  std::string out;
  for (char c : pointer.empty() ? pointer : pointer.substr(1)) {
    out += c == '/' ? '.' : c;
  }
  return pointer.empty() ? out : out + ".";
}

// Refuses a pod (template) we would inject whose shape would lose the user's data or inject a
// pod that runs only the proxy: the path of every level, metadata maps of strings, a non-empty
// list of container objects, lists of objects for initContainers and volumes.
void check_pod(const Json& doc, const std::string& pointer, const std::string& where) {
  const Json* node = &doc;
  std::string path;
  auto fail = [&](const std::string& at, const std::string& what) {
    throw InputError(where + ": " + at, what);
  };
  std::size_t start = 1;
  for (std::size_t i = 1; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
      const std::string key = pointer.substr(start, i - start);
      start = i + 1;
      path += (path.empty() ? "" : ".") + key;
      if (!node->is_object() || !node->contains(key)) {
        fail(path, "missing: the pod template to inject into");
      }
      node = &(*node)[key];
      if (!node->is_object()) {
        fail(path, "expected a map, got " + type_name(*node));
      }
    }
  }
  const std::string at = dotted(pointer);
  const Json& metadata = field(*node, "metadata");
  if (!metadata.is_null() && !metadata.is_object()) {
    fail(at + "metadata", "expected a map, got " + type_name(metadata));
  }
  for (const char* key : {"annotations", "labels"}) {
    const Json& map = field(metadata, key);
    if (map.is_null()) {
      continue;
    }
    if (!map.is_object()) {
      fail(at + "metadata." + key, "expected a map of strings, got " + type_name(map));
    }
    for (const auto& [k, v] : map.items()) {
      if (!v.is_string() && !v.is_null()) {
        fail(at + "metadata." + key + "." + clip(k),
             "expected a string, got " + type_name(v) + " (quote it)");
      }
    }
  }
  const Json& spec = field(*node, "spec");
  if (!spec.is_object()) {
    fail(at + "spec", node->contains("spec") ? "expected a map, got " + type_name(spec)
                                             : "missing: a pod needs spec.containers");
  }
  for (const char* key : {"containers", "initContainers", "volumes"}) {
    const Json& list = field(spec, key);
    const std::string list_path = at + "spec." + key;
    if (list.is_null() && std::string_view(key) != "containers") {
      continue;
    }
    if (!list.is_array()) {
      fail(list_path, list.is_null() ? "missing: a pod needs at least one container"
                                     : "expected a list, got " + type_name(list));
    }
    if (list.empty() && std::string_view(key) == "containers") {
      fail(list_path, "empty: a pod needs at least one container");
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (!list[i].is_object()) {
        fail(list_path + "[" + std::to_string(i) + "]",
             "expected a map, got " + type_name(list[i]));
      }
    }
  }
}

// A workload (not a Pod) opted out on its own metadata, which the webhook never sees.
bool workload_opted_out(const Json& doc) {
  const Json& metadata = field(doc, "metadata");
  for (const char* key : {"labels", "annotations"}) {
    if (is_opt_out(string_field(field(metadata, key), kInjectKey))) {
      return true;
    }
  }
  return false;
}

void inject_document(Json& doc, const Config& config, const std::string& where,
                     std::string_view default_namespace, std::vector<InjectReport>& reports);

void inject_list(Json& doc, const Config& config, const std::string& where,
                 std::string_view default_namespace, std::vector<InjectReport>& reports) {
  auto& items = doc["items"];
  if (items.is_null()) {
    return;
  }
  if (!items.is_array()) {
    throw InputError(where + ": items", "expected a list of objects, got " + type_name(items));
  }
  const std::string_view kind = string_field(doc, "kind");
  const Json item_kind = std::string(kind.substr(0, kind.size() - 4));
  const Json item_version = field(doc, "apiVersion");
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string item_where = where + " items[" + std::to_string(i) + "]";
    if (!items[i].is_object()) {
      throw InputError(item_where, "expected an object, got " + type_name(items[i]));
    }
    if (items[i].contains("kind") || items[i].contains("apiVersion")) {
      inject_document(items[i], config, item_where, default_namespace, reports);
      continue;
    }
    // As kubectl: the list's kind and apiVersion name the item. Decided on that, written as it was
    // (on an error the documents are not written at all).
    items[i]["kind"] = item_kind;
    items[i]["apiVersion"] = item_version;
    inject_document(items[i], config, item_where, default_namespace, reports);
    items[i].erase("kind");
    items[i].erase("apiVersion");
  }
}

void inject_document(Json& doc, const Config& config, const std::string& where,
                     std::string_view default_namespace, std::vector<InjectReport>& reports) {
  if (is_list(doc)) {
    inject_list(doc, config, where, default_namespace, reports);
    return;
  }
  const std::string_view kind = string_field(doc, "kind");
  const std::string_view api_version = string_field(doc, "apiVersion");
  PodKind target = pod_kind(api_version, kind);
  if (!target.injectable) {
    InjectReport report;
    report.where =
        where + " (" + describe(doc) + (api_version.empty() ? "" : ", ") + clip(api_version) + ")";
    report.passed_through = target.reason;
    reports.push_back(std::move(report));
    return;
  }
  const std::string& pointer = target.pointer;
  const std::string located = where + " (" + describe(doc) + ")";
  check_pod(doc, pointer, located);
  if (kind != "Pod" && workload_opted_out(doc)) {
    InjectReport report;
    report.where = located;
    report.mutation.decision.reasons.push_back(Reason::kOptedOut);
    report.workload_opted_out = true;
    reports.push_back(std::move(report));
    return;
  }
  Json& pod = pointer.empty() ? doc : doc[Json::json_pointer(pointer)];
  PodRequest request;
  request.namespace_name = string_field(field(doc, "metadata"), "namespace");
  if (request.namespace_name.empty()) {
    request.namespace_name = default_namespace;
  }
  const JsonDoc view = JsonDoc::from_json(pod);
  request.pod = &view.root();
  // Templates carry no ownerReferences: the workload kind says who will own the pods.
  request.owner_kind = (kind == "Job" || kind == "CronJob") ? "Job" : "";
  InjectReport report{located, mutate_pod(request, config, Route::kMutate), "", false};
  if (report.mutation.denial) {
    std::string field_path =
        pointer.empty() ? "metadata.annotations" : pointer.substr(1) + "/metadata/annotations";
    throw InputError(report.where + ": " + field_path, *report.mutation.denial);
  }
  if (!report.mutation.patch.empty()) {
    pod = pod.patch(patch_operations(report.mutation));
  }
  reports.push_back(std::move(report));
}

}  // namespace

PodKind pod_kind(std::string_view api_version, std::string_view kind) {
  PodKind out;
  for (const auto& row : kKinds) {
    if (row.kind != kind) {
      continue;
    }
    if (row.api_version == api_version) {
      out.injectable = true;
      out.pointer = row.pointer;
      return out;
    }
    const std::string served = std::string(row.api_version);
    if (std::find(std::begin(kRemoved), std::end(kRemoved), api_version) != std::end(kRemoved)) {
      out.reason = std::string(api_version) + " is not served any more; use " + served;
    } else if (api_version.empty()) {
      out.reason = "no apiVersion; " + std::string(kind) + " is " + served;
    } else {
      out.reason = "not the built-in " + std::string(kind) + " (" + served + ")";
    }
    return out;
  }
  out.reason = kind.empty() ? "no kind" : "not a pod or workload kind";
  return out;
}

std::vector<InjectReport> inject_documents(std::vector<Json>& documents, const Config& config,
                                           std::string_view source,
                                           std::string_view default_namespace) {
  std::vector<InjectReport> reports;
  for (std::size_t i = 0; i < documents.size(); ++i) {
    inject_document(documents[i], config, std::string(source) + ": document " + std::to_string(i),
                    default_namespace, reports);
  }
  return reports;
}

}  // namespace sigv4
