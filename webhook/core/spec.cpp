#include "spec.h"

#include <algorithm>
#include <array>
#include <optional>
#include <string_view>

#include "codec/json_text.h"
#include "codec/sorted_keys.h"
#include "pod.h"

namespace sigv4 {
namespace {

// The env the EKS Pod Identity and IRSA webhooks add to app containers; the proxy's AWS SDK
// needs the same to sign with the pod's identity.
constexpr std::array<std::string_view, 5> kCredentialEnv = {
    "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_STS_REGIONAL_ENDPOINTS"};
constexpr std::array<std::string_view, 2> kTokenFileEnv = {
    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"};

Json resources(const Resources& r) {
  Json requests = Json::object();
  Json limits = Json::object();
  if (!r.cpu_request.empty()) {
    requests["cpu"] = r.cpu_request;
  }
  if (!r.memory_request.empty()) {
    requests["memory"] = r.memory_request;
  }
  if (!r.cpu_limit.empty()) {
    limits["cpu"] = r.cpu_limit;
  }
  if (!r.memory_limit.empty()) {
    limits["memory"] = r.memory_limit;
  }
  return Json{{"requests", requests}, {"limits", limits}};
}

bool is_credential_env(std::string_view name) {
  return std::find(kCredentialEnv.begin(), kCredentialEnv.end(), name) != kCredentialEnv.end();
}

// True when one of `paths` lies inside the directory `dir` (or is it), trailing slashes of
// `dir` ignored: two binary searches (`probe` is their scratch), where comparing each path with
// each mount was quadratic in a crafted pod.
bool any_within(const StringSet& paths, std::string_view dir, std::string& probe) {
  while (dir.size() > 1 && dir.back() == '/') {
    dir.remove_suffix(1);
  }
  if (paths.contains(dir)) {
    return true;
  }
  probe.assign(dir);
  probe += '/';
  return paths.contains_prefixed(probe);
}

constexpr std::string_view kServiceAccountMountPath =
    "/var/run/secrets/kubernetes.io/serviceaccount";
constexpr std::string_view kServiceAccountVolumePrefix = "kube-api-access-";

// The first app container carrying any credential env (not our own sidecar).
const JsonNode* credential_container(const JsonNode& pod) {
  const JsonNode& list = containers(pod);
  if (!list.is_array()) {
    return nullptr;
  }
  for (const auto& c : list) {
    if (string_field(c, "name") == kProxyContainerName) {
      continue;
    }
    const JsonNode& env = field(c, "env");
    if (env.is_array() && std::any_of(env.begin(), env.end(), [](const JsonNode& e) {
          return is_credential_env(string_field(e, "name"));
        })) {
      return &c;
    }
  }
  return nullptr;
}

}  // namespace

Credentials find_credentials(const JsonNode& pod) {
  Credentials out;
  const JsonNode* source = credential_container(pod);
  if (source == nullptr) {
    return out;
  }
  std::vector<std::string_view> token_files;
  for (const auto& e : field(*source, "env")) {
    std::string_view name = string_field(e, "name");
    if (!is_credential_env(name)) {
      continue;
    }
    out.env.push_back(&e);
    if (std::find(kTokenFileEnv.begin(), kTokenFileEnv.end(), name) != kTokenFileEnv.end()) {
      token_files.push_back(string_field(e, "value"));
    }
  }
  const JsonNode& source_mounts = field(*source, "volumeMounts");
  if (source_mounts.is_array() && !token_files.empty()) {
    const StringSet files(std::move(token_files));
    std::string probe;
    for (const auto& m : source_mounts) {
      std::string_view dir = string_field(m, "mountPath");
      if (!dir.empty() && any_within(files, dir, probe)) {
        out.mounts.push_back(&m);
      }
    }
  }
  return out;
}

const JsonNode* service_account_mount(const JsonNode& pod) {
  for (const JsonNode* list : {&containers(pod), &init_containers(pod)}) {
    if (!list->is_array()) {
      continue;
    }
    for (const auto& c : *list) {
      const std::string_view name = string_field(c, "name");
      const JsonNode& mounts = field(c, "volumeMounts");
      if (name == kProxyContainerName || name == kInitContainerName || !mounts.is_array()) {
        continue;
      }
      for (const auto& m : mounts) {
        if (string_field(m, "mountPath") == kServiceAccountMountPath &&
            string_field(m, "name").substr(0, kServiceAccountVolumePrefix.size()) ==
                kServiceAccountVolumePrefix) {
          return &m;
        }
      }
    }
  }
  return nullptr;
}

Json credential_sources(const JsonNode& pod) {
  Credentials found = find_credentials(pod);
  Json env = Json::array();
  for (const JsonNode* e : found.env) {
    env.push_back(to_json(*e));
  }
  Json mounts = Json::array();
  for (const JsonNode* m : found.mounts) {
    mounts.push_back(to_json(*m));
  }
  // Member by member: an initializer list would rebuild both arrays as pairs first.
  Json out(Json::value_t::object);
  auto& members = out.get_ref<Json::object_t&>();
  members.reserve(2);
  members.emplace_back("env", std::move(env));
  members.emplace_back("volumeMounts", std::move(mounts));
  return out;
}

Json proxy_args(const Config& s) {
  Json args = Json::array({"--name", s.signing_name, "--region", s.region, "--upstream-url-scheme",
                           s.proxy.upstream_scheme});
  if (s.proxy.unsigned_payload) {
    args.push_back("--unsigned-payload");
  }
  if (s.proxy.log_failed_requests) {
    args.push_back("--log-failed-requests");
  }
  if (s.proxy.verbose) {
    args.push_back("-v");
  }
  if (s.proxy.log_signing_process) {
    args.push_back("--log-signing-process");
  }
  // Appended, not `":" + to_string(...)`, which trips GCC 12's -Wrestrict false positive at -O3.
  std::string listen = ":";
  listen += std::to_string(s.proxy.port);
  args.push_back("--port");
  args.push_back(listen);
  const std::pair<const char*, const std::string*> optional[] = {
      {"--role-arn", &s.proxy.role_arn},
      {"--host", &s.proxy.host},
      {"--sign-host", &s.proxy.sign_host}};
  for (const auto& [flag, value] : optional) {
    if (!value->empty()) {
      args.push_back(flag);
      args.push_back(*value);
    }
  }
  for (const auto& extra : s.proxy.extra_args) {
    args.push_back(extra);
  }
  return args;
}

namespace {

Json build_init_container(const Config& s) {
  Json c = {
      {"name", kInitContainerName},
      {"image", s.init.image},
      {"command", Json::array({"/bin/sh", "-c", iptables_script(s)})},
      {"resources", resources(s.init.resources)},
      {"securityContext",
       {{"runAsUser", 0},
        {"runAsNonRoot", false},
        {"allowPrivilegeEscalation", false},
        {"privileged", false},
        {"capabilities",
         {{"add", Json::array({"NET_ADMIN", "NET_RAW"})}, {"drop", Json::array({"ALL"})}}}}},
      {"terminationMessagePolicy", "FallbackToLogsOnError"},
  };
  if (s.sidecar_mode == SidecarMode::kNative) {
    // The kubelet's startup probe of the proxy comes from the node: the script lets the node's
    // address through the guard that refuses every other peer (iptables_script).
    c["env"] = Json::array({Json{{"name", "HOST_IP"},
                                 {"valueFrom", {{"fieldRef", {{"fieldPath", "status.hostIP"}}}}}}});
  }
  return c;
}

// The sidecar's env for these settings, before any credential env copied from the pod.
Json proxy_env(const Config& s) {
  Json env = Json::array({Json{{"name", "AWS_REGION"}, {"value", s.region}}});
  if (!s.proxy.allow_node_credentials) {
    // The SDK's last resort is IMDS, the node's instance role: a pod without Pod Identity or
    // IRSA must fail closed rather than sign as the node.
    env.push_back(Json{{"name", "AWS_EC2_METADATA_DISABLED"}, {"value", "true"}});
  }
  if (s.proxy.ca_bundle.kind != CaBundle::Kind::kNone) {
    // Go adds every certificate in SSL_CERT_DIR to the system roots it verifies against.
    env.push_back(Json{{"name", "SSL_CERT_DIR"}, {"value", kCaBundleMountPath}});
  }
  return env;
}

// The sidecar for a pod without credential env or token mounts.
Json build_proxy_container(const Config& s) {
  Json c = {
      {"name", kProxyContainerName},
      {"image", s.proxy.image},
      {"args", proxy_args(s)},
      {"ports", Json::array({Json{
                    {"name", "proxy"}, {"containerPort", s.proxy.port}, {"protocol", "TCP"}}})},
      {"env", proxy_env(s)},
      {"resources", resources(s.proxy.resources)},
      {"securityContext",
       {{"runAsUser", s.proxy.uid},
        {"runAsNonRoot", true},
        {"allowPrivilegeEscalation", false},
        {"readOnlyRootFilesystem", true},
        {"capabilities", {{"drop", Json::array({"ALL"})}}},
        {"seccompProfile", {{"type", "RuntimeDefault"}}}}},
  };
  if (s.sidecar_mode == SidecarMode::kNative) {
    c["restartPolicy"] = "Always";
    c["startupProbe"] = {
        {"tcpSocket", {{"port", s.proxy.port}}}, {"periodSeconds", 1}, {"failureThreshold", 30}};
  }
  return c;
}

// The sidecar's text in three pieces, so that a pod's credential env and token mounts go in
// without building a tree: `head` ends inside the env array (after proxy_env's entries), `middle`
// closes it and runs to the end of securityContext, `tail` holds the native-mode fields and the
// closing brace. volumeMounts, when there are any, goes between `middle` and `tail`: the pod's
// token mounts, then `ca_mount` (the CA bundle's, empty without one).
struct ProxyText {
  Base64Piece head;
  Base64Piece middle;
  Base64Piece tail;
  std::string ca_mount;
};

std::string ca_mount_text(const Config& s) {
  if (s.proxy.ca_bundle.kind == CaBundle::Kind::kNone) {
    return {};
  }
  return to_json_text(
      Json{{"name", kCaBundleVolumeName}, {"mountPath", kCaBundleMountPath}, {"readOnly", true}});
}

ProxyText split_proxy_text(const Json& proxy) {
  std::string head;
  std::string middle;
  std::string tail;
  std::string* piece = &head;
  *piece += '{';
  bool first = true;
  for (const auto& [key, value] : proxy.items()) {
    if (!first) {
      *piece += ',';
    }
    first = false;
    append_json_string(*piece, key);
    *piece += ':';
    if (key == "env") {
      std::string env = to_json_text(value);
      env.pop_back();  // the array's `]`, written at the start of `middle`
      *piece += env;
      piece = &middle;
      *piece += ']';
    } else {
      append_json_text(*piece, value);
    }
    if (key == "securityContext") {
      piece = &tail;
    }
  }
  *piece += '}';
  return {make_base64_piece(std::move(head)),
          make_base64_piece(std::move(middle)),
          make_base64_piece(std::move(tail)),
          {}};
}

// The two containers for one set of settings, which every pod reviewed with them shares, as
// JSON text: building them (the iptables script, args, resources, securityContext) and then
// copying and serialising them per review was most of a review. Kept per thread, for the last
// settings seen: the server reviews on many threads, each reusing its own copy without locks;
// the key is the whole Config, compared field by field, so a reload, a per-pod override or a
// field added later can never be served a stale container.
struct Templates {
  Config settings;
  std::string init;        // the whole init container
  Base64Piece init_open;   // the same without its closing brace, where a pod's mount goes
  Base64Piece init_close;  // "}"
  ProxyText proxy;
};

const Templates& templates(const Config& s) {
  thread_local std::optional<Templates> memo;
  if (!memo || !(memo->settings == s)) {
    memo.reset();  // a throw below leaves no half-built entry
    std::string init = to_json_text(build_init_container(s));
    memo.emplace(Templates{s, init, make_base64_piece(init.substr(0, init.size() - 1)),
                           make_base64_piece("}"), split_proxy_text(build_proxy_container(s))});
    memo->proxy.ca_mount = ca_mount_text(s);
  }
  return *memo;
}

}  // namespace

const std::string& init_container_text(const Config& s) { return templates(s).init; }

void append_init_container(PieceText& out, const Config& s, const JsonNode* token_mount) {
  const Templates& t = templates(s);
  out.append(t.init_open);
  if (token_mount != nullptr) {
    out.text += R"(,"volumeMounts":[)";
    append_json_text(out.text, *token_mount);
    out.text += ']';
  }
  out.append(t.init_close);
}

void append_proxy_container(PieceText& out, const Config& s, const JsonNode& pod,
                            const JsonNode* token_mount) {
  const ProxyText& pieces = templates(s).proxy;
  Credentials found = find_credentials(pod);
  if (token_mount != nullptr &&
      std::find(found.mounts.begin(), found.mounts.end(), token_mount) == found.mounts.end()) {
    found.mounts.push_back(token_mount);  // unless IRSA's token file is that very mount
  }
  out.append(pieces.head);
  for (const JsonNode* e : found.env) {
    out.text += ',';
    append_json_text(out.text, *e);
  }
  out.append(pieces.middle);
  if (!found.mounts.empty() || !pieces.ca_mount.empty()) {
    out.text += R"(,"volumeMounts":)";
    append_joined(
        out.text, '[', found.mounts,
        [&out](const JsonNode* mount) { append_json_text(out.text, *mount); }, ']');
    if (!pieces.ca_mount.empty()) {
      // Into the array just closed: its `]` becomes a comma (or nothing) and returns after.
      out.text.pop_back();
      out.text += found.mounts.empty() ? "" : ",";
      out.text += pieces.ca_mount;
      out.text += ']';
    }
  }
  out.append(pieces.tail);
}

std::string ca_bundle_volume_text(const Config& s) {
  const CaBundle& b = s.proxy.ca_bundle;
  if (b.kind == CaBundle::Kind::kNone) {
    return {};
  }
  Json items = Json::array({Json{{"key", b.key}, {"path", "ca.crt"}}});
  Json source = b.kind == CaBundle::Kind::kSecret
                    ? Json{{"secretName", b.name}, {"items", std::move(items)}}
                    : Json{{"name", b.name}, {"items", std::move(items)}};
  return to_json_text(
      Json{{"name", kCaBundleVolumeName},
           {b.kind == CaBundle::Kind::kSecret ? "secret" : "configMap", std::move(source)}});
}

Json init_container(const Config& s) { return Json::parse(init_container_text(s)); }

Json proxy_container(const Config& s, const JsonNode& pod) {
  PieceText out;
  append_proxy_container(out, s, pod, service_account_mount(pod));
  return Json::parse(out.text);
}

}  // namespace sigv4
