#include "patch.h"

#include <initializer_list>
#include <utility>
#include <vector>

#include "codec/json_text.h"
#include "codec/sorted_keys.h"
#include "pod.h"
#include "spec.h"

namespace sigv4 {
namespace {

constexpr const char* kStatusKey = "sigv4-injector.io/status";
constexpr const char* kVersionKey = "sigv4-injector.io/version";
constexpr const char* kDefaultContainerKey = "kubectl.kubernetes.io/default-container";

// Starts one `add` operation of the patch text `out` (which begins with its `[`); the caller
// appends the value's JSON text, then `}`.
void open_add(std::string& out, std::string_view path) {
  if (out.size() > 1) {
    out += ',';
  }
  out += R"({"op":"add","path":)";
  append_json_string(out, path);
  out += R"(,"value":)";
}

void add_text(PieceText& out, std::string_view path, const PieceText& value) {
  open_add(out.text, path);
  out.append(value);
  out.text += '}';
}

// The annotations to add, as key and value: ours, and the default container when the user has
// none.
std::vector<std::pair<std::string_view, std::string_view>> new_annotations(
    const JsonNode& pod, std::string_view version) {
  std::vector<std::pair<std::string_view, std::string_view>> out = {{kStatusKey, "injected"},
                                                                    {kVersionKey, version}};
  const JsonNode& list = containers(pod);
  if (annotation(pod, kDefaultContainerKey).empty() && list.is_array() && !list.empty()) {
    std::string_view first = string_field(list.front(), "name");
    if (!first.empty()) {
      out.emplace_back(kDefaultContainerKey, first);
    }
  }
  return out;
}

void add_annotations(const JsonNode& pod, std::string_view version, std::string& out) {
  const auto wanted = new_annotations(pod, version);
  auto append_map = [&] {
    append_joined(
        out, '{', wanted,
        [&out](const auto& entry) {
          append_json_string(out, entry.first);
          out += ':';
          append_json_string(out, entry.second);
        },
        '}');
  };
  const JsonNode& metadata = field(pod, "metadata");
  if (!metadata.is_object()) {
    open_add(out, "/metadata");
    out += R"({"annotations":)";
    append_map();
    out += "}}";
    return;
  }
  if (!field(metadata, "annotations").is_object()) {
    open_add(out, "/metadata/annotations");
    append_map();
    out += '}';
    return;
  }
  for (const auto& [key, value] : wanted) {
    open_add(out, "/metadata/annotations/" + escape_json_pointer(key));
    append_json_string(out, value);
    out += '}';
  }
}

// Adds the containers `items` (JSON text) to spec.<list>, at the front or the end, creating the
// array when missing.
void add_to_list(const JsonNode& spec, const char* list,
                 std::initializer_list<const PieceText*> items, bool at_front, PieceText& out) {
  const std::string base = std::string("/spec/") + list;
  if (!field(spec, list).is_array()) {
    open_add(out.text, base);
    append_joined(
        out.text, '[', items, [&out](const PieceText* item) { out.append(*item); }, ']');
    out.text += '}';
    return;
  }
  std::size_t index = 0;
  for (const PieceText* item : items) {
    add_text(out, at_front ? base + "/" + std::to_string(index++) : base + "/-", *item);
  }
}

// `add` for the credential sync, which builds a tree: it is rare (re-invocation) and small.
Json add(std::string path, Json value) {
  Json op(Json::value_t::object);
  auto& members = op.get_ref<Json::object_t&>();
  members.reserve(3);
  members.emplace_back("op", "add");
  members.emplace_back("path", std::move(path));
  members.emplace_back("value", std::move(value));
  return op;
}

// The index of the sidecar and the list holding it ("containers" or "initContainers").
bool find_proxy(const JsonNode& pod, const char*& list, std::size_t& index) {
  for (const char* name : {"containers", "initContainers"}) {
    const JsonNode& items = field(field(pod, "spec"), name);
    if (!items.is_array()) {
      continue;
    }
    std::size_t i = 0;
    for (const JsonNode& item : items) {
      if (string_field(item, "name") == kProxyContainerName) {
        list = name;
        index = i;
        return true;
      }
      ++i;
    }
  }
  return false;
}

// Adds to the container at `base` the entries of `wanted` whose `key` it does not have yet.
// The keys it has are sorted once: comparing each wanted entry with each entry it has was
// quadratic in a crafted pod.
void sync_entries(const JsonNode& container, const std::string& base, const char* array,
                  const char* key, const std::vector<const JsonNode*>& wanted, Json& ops) {
  if (wanted.empty()) {
    return;
  }
  const JsonNode& have = field(container, array);
  std::vector<std::string_view> have_keys;
  if (have.is_array()) {
    have_keys.reserve(have.size());
    for (const JsonNode& h : have) {
      have_keys.push_back(string_field(h, key));
    }
  }
  const StringSet present(std::move(have_keys));
  // Only what is missing is copied into the patch: nearly always nothing.
  Json missing = Json::array();
  for (const JsonNode* w : wanted) {
    if (!present.contains(string_field(*w, key))) {
      missing.push_back(to_json(*w));
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

std::string injection_patch(const JsonNode& pod, const Config& settings, std::string_view version,
                            std::string* base64) {
  // Written as text: the containers are the cached text of their settings (spec.cpp), so a
  // review neither copies nor serialises them, and their base64 is cached with them.
  PieceText out;
  out.text.reserve(4096);
  out.text += '[';
  add_annotations(pod, version, out.text);
  // Both containers carry the pod's service-account token mount: looked up once.
  const JsonNode* token_mount = service_account_mount(pod);
  PieceText init;
  append_init_container(init, settings, token_mount);
  PieceText proxy;
  proxy.text.reserve(1024);
  append_proxy_container(proxy, settings, pod, token_mount);
  const JsonNode* spec = &field(pod, "spec");
  if (!spec->is_object()) {
    open_add(out.text, "/spec");
    out.text += "{}}";
    spec = &null_node();  // the spec added is empty: every list is missing from it
  }
  if (settings.sidecar_mode == SidecarMode::kNative) {
    // Native: capture and proxy first, so user init containers are signed too.
    add_to_list(*spec, "initContainers", {&init, &proxy}, true, out);
  } else {
    // Legacy: capture last among init containers (theirs run uncaptured), proxy after the app.
    add_to_list(*spec, "initContainers", {&init}, false, out);
    add_to_list(*spec, "containers", {&proxy}, false, out);
  }
  if (settings.proxy.ca_bundle.kind != CaBundle::Kind::kNone) {
    PieceText volume;
    volume.text = ca_bundle_volume_text(settings);
    add_to_list(*spec, "volumes", {&volume}, false, out);
  }
  out.text += ']';
  if (base64 != nullptr) {
    *base64 = out.base64();
  }
  return std::move(out.text);
}

Json credential_sync_patch(const JsonNode& pod) {
  Json ops = Json::array();
  const char* list = nullptr;
  std::size_t index = 0;
  if (annotation(pod, kStatusKey).empty() || !find_proxy(pod, list, index)) {
    return ops;
  }
  const Credentials sources = find_credentials(pod);
  const JsonNode& container =
      *std::next(field(field(pod, "spec"), list).begin(), static_cast<std::ptrdiff_t>(index));
  std::string base = std::string("/spec/") + list + "/" + std::to_string(index);
  sync_entries(container, base, "env", "name", sources.env, ops);
  sync_entries(container, base, "volumeMounts", "mountPath", sources.mounts, ops);
  return ops;
}

}  // namespace sigv4
