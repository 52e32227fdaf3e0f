#include "inject.h"

#include "errors.h"
#include "manifests.h"
#include "pod.h"

namespace sigv4 {
namespace {

std::string describe(const Json& doc) {
  const Json& metadata = field(doc, "metadata");
  std::string ns(string_field(metadata, "namespace"));
  std::string name(string_field(metadata, "name"));
  if (name.empty()) {
    name = std::string(string_field(metadata, "generateName"));
  }
  return std::string(string_field(doc, "kind")) + " " + (ns.empty() ? "" : ns + "/") + name;
}

void inject_document(Json& doc, const Config& config, const std::string& where,
                     std::string_view default_namespace, std::vector<InjectReport>& reports) {
  if (string_field(doc, "kind") == "List" && field(doc, "items").is_array()) {
    auto& items = doc["items"];
    for (std::size_t i = 0; i < items.size(); ++i) {
      inject_document(items[i], config, where + " items[" + std::to_string(i) + "]",
                      default_namespace, reports);
    }
    return;
  }
  std::string pointer;
  if (!pod_template_pointer(doc, pointer)) {
    return;
  }
  Json& pod = pointer.empty() ? doc : doc[Json::json_pointer(pointer)];
  std::string_view kind = string_field(doc, "kind");
  PodRequest request;
  request.namespace_name = string_field(field(doc, "metadata"), "namespace");
  if (request.namespace_name.empty()) {
    request.namespace_name = default_namespace;
  }
  const JsonDoc view = JsonDoc::from_json(pod);
  request.pod = &view.root();
  // Templates carry no ownerReferences: the workload kind says who will own the pods.
  request.owner_kind = (kind == "Job" || kind == "CronJob") ? "Job" : "";
  InjectReport report{where + " (" + describe(doc) + ")",
                      mutate_pod(request, config, Route::kMutate)};
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
