#include "manifests.h"

#include <cctype>

#include "admission.h"
#include "yaml.h"

namespace sigv4 {
namespace {

// The JSON reader's nesting bound, the YAML reader's too.
constexpr std::size_t kMaxDepth = 512;

}  // namespace

Format detect_format(std::string_view text) {
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) != 0) {
      continue;
    }
    return (c == '{' || c == '[') ? Format::kJson : Format::kYaml;
  }
  return Format::kYaml;
}

std::vector<Json> read_documents(std::string_view text, std::string_view source) {
  std::vector<Json> docs;
  if (detect_format(text) == Format::kJson) {
    // The webhook's parser: the same tree as Json::parse, linear in the number of keys.
    JsonLimits limits;
    limits.max_depth = kMaxDepth;
    limits.max_string_bytes = text.size();
    docs.push_back(parse_json_limited(text, limits, std::string(source) + ": document 0"));
    return docs;
  }
  return yaml::read(text, source);
}

std::string write_documents(const std::vector<Json>& documents, Format format) {
  if (format == Format::kJson) {
    if (documents.size() == 1) {
      return documents.front().dump(2) + "\n";
    }
    Json list = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", documents}};
    return list.dump(2) + "\n";
  }
  std::string out;
  for (std::size_t i = 0; i < documents.size(); ++i) {
    if (i > 0) {
      out += "---\n";
    }
    out += yaml::write(documents[i]);
  }
  // A stream opening with `{` or `[` (an empty first document: `{}`, `[]`) would be read back as
  // JSON: an explicit document start keeps it YAML (found by fuzz_manifests).
  if (detect_format(out) == Format::kJson) {
    out.insert(0, "---\n");
  }
  return out;
}

bool pod_template_pointer(const Json& object, std::string& pointer) {
  if (!object.is_object()) {
    return false;
  }
  auto kind_it = object.find("kind");
  if (kind_it == object.end() || !kind_it->is_string()) {
    return false;
  }
  const auto& kind = kind_it->get_ref<const std::string&>();
  if (kind == "Pod") {
    pointer.clear();
    return true;
  }
  if (kind == "CronJob") {
    pointer = "/spec/jobTemplate/spec/template";
  } else if (kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet" ||
             kind == "ReplicaSet" || kind == "ReplicationController" || kind == "Job") {
    pointer = "/spec/template";
  } else {
    return false;
  }
  Json::json_pointer ptr(pointer);
  return object.contains(ptr) && object.at(ptr).is_object();
}

}  // namespace sigv4
