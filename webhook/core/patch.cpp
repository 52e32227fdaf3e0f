#include "patch.h"

#include <algorithm>

#include "pod.h"
#include "spec.h"

namespace sigv4 {
namespace {

constexpr const char* kStatusKey = "sigv4-injector.io/status";
constexpr const char* kVersionKey = "sigv4-injector.io/version";
constexpr const char* kDefaultContainerKey = "kubectl.kubernetes.io/default-container";

// Built member by member: an initializer list first builds each pair as a two-element array
// and then checks its shape, which cost more than the operation itself.
Json add(std::string path, Json value) {
  Json op(Json::value_t::object);
  auto& members = op.get_ref<Json::object_t&>();
  members.reserve(3);
  members.emplace_back("op", "add");
  members.emplace_back("path", std::move(path));
  members.emplace_back("value", std::move(value));
  return op;
}

// The annotations to add: ours, and the default container when the user has none.
Json new_annotations(const Json& pod, std::string_view version) {
  Json out(Json::value_t::object);
  auto& members = out.get_ref<Json::object_t&>();
  members.reserve(3);
  members.emplace_back(kStatusKey, "injected");
  members.emplace_back(kVersionKey, version);
  const Json& list = containers(pod);
  if (annotation(pod, kDefaultContainerKey).empty() && list.is_array() && !list.empty()) {
    std::string_view first = string_field(list.front(), "name");
    if (!first.empty()) {
      members.emplace_back(kDefaultContainerKey, first);
    }
  }
  return out;
}

void add_annotations(const Json& pod, std::string_view version, Json& ops) {
  Json wanted = new_annotations(pod, version);
  const Json& metadata = field(pod, "metadata");
  if (!metadata.is_object()) {
    ops.push_back(add("/metadata", Json{{"annotations", std::move(wanted)}}));
    return;
  }
  if (!field(metadata, "annotations").is_object()) {
    ops.push_back(add("/metadata/annotations", std::move(wanted)));
    return;
  }
  for (auto& [key, value] : wanted.get_ref<Json::object_t&>()) {
    ops.push_back(add("/metadata/annotations/" + escape_json_pointer(key), std::move(value)));
  }
}

// Adds `items` to spec.<list>, at the front or the end, creating the array when missing.
void add_to_list(const Json& spec, const char* list, Json items, bool at_front, Json& ops) {
  std::string base = std::string("/spec/") + list;
  if (!field(spec, list).is_array()) {
    ops.push_back(add(base, std::move(items)));
    return;
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    ops.push_back(
        add(at_front ? base + "/" + std::to_string(i) : base + "/-", std::move(items[i])));
  }
}

// The index of the sidecar and the list holding it ("containers" or "initContainers").
bool find_proxy(const Json& pod, const char*& list, std::size_t& index) {
  for (const char* name : {"containers", "initContainers"}) {
    const Json& items = field(field(pod, "spec"), name);
    if (!items.is_array()) {
      continue;
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (string_field(items[i], "name") == kProxyContainerName) {
        list = name;
        index = i;
        return true;
      }
    }
  }
  return false;
}

// Adds to the container at `base` the entries of `wanted` whose `key` it does not have yet.
void sync_entries(const Json& container, const std::string& base, const char* array,
                  const char* key, const Json& wanted, Json& ops) {
  if (wanted.empty()) {
    return;
  }
  const Json& have = field(container, array);
  Json missing = Json::array();
  for (const auto& w : wanted) {
    std::string_view k = string_field(w, key);
    bool present = have.is_array() && std::any_of(have.begin(), have.end(), [&](const Json& h) {
                     return string_field(h, key) == k;
                   });
    if (!present) {
      missing.push_back(w);
    }
  }
  if (missing.empty()) {
    return;
  }
  if (!have.is_array()) {
    ops.push_back(add(base + "/" + array, std::move(missing)));
    return;
  }
  for (auto& m : missing) {
    ops.push_back(add(base + "/" + array + "/-", std::move(m)));
  }
}

}  // namespace

std::string escape_json_pointer(std::string_view token) {
  std::string out;
  out.reserve(token.size() + 4);
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

Json injection_patch(const Json& pod, const Config& settings, std::string_view version) {
  Json ops = Json::array();
  add_annotations(pod, version, ops);
  Json init = init_container(settings);
  Json proxy = proxy_container(settings, pod);
  static const Json kEmptySpec = Json::object();
  const Json* spec = &field(pod, "spec");
  if (!spec->is_object()) {
    ops.push_back(add("/spec", Json::object()));
    spec = &kEmptySpec;
  }
  if (settings.sidecar_mode == SidecarMode::kNative) {
    // Native: capture and proxy first, so user init containers are signed too.
    add_to_list(*spec, "initContainers", Json::array({std::move(init), std::move(proxy)}), true,
                ops);
  } else {
    // Legacy: capture last among init containers (theirs run uncaptured), proxy after the app.
    add_to_list(*spec, "initContainers", Json::array({std::move(init)}), false, ops);
    add_to_list(*spec, "containers", Json::array({std::move(proxy)}), false, ops);
  }
  return ops;
}

Json credential_sync_patch(const Json& pod) {
  Json ops = Json::array();
  const char* list = nullptr;
  std::size_t index = 0;
  if (annotation(pod, kStatusKey).empty() || !find_proxy(pod, list, index)) {
    return ops;
  }
  Json sources = credential_sources(pod);
  const Json& container = field(pod, "spec")[list][index];
  std::string base = std::string("/spec/") + list + "/" + std::to_string(index);
  sync_entries(container, base, "env", "name", sources["env"], ops);
  sync_entries(container, base, "volumeMounts", "mountPath", sources["volumeMounts"], ops);
  return ops;
}

}  // namespace sigv4
