#pragma once

#include <string>
#include <vector>

#include "admission.h"
#include "codec/base64.h"
#include "codec/json.h"
#include "codec/json_doc.h"
#include "config.h"

namespace sigv4 {

inline constexpr const char* kInitContainerName = "iptables-init";
inline constexpr const char* kProxyContainerName = "sigv4proxy";
inline constexpr const char* kChainName = "EGRESS_PROXY";
// The CA bundle's volume (proxy.caBundle, sigv4-injector.io/ca-bundle) and where the sidecar
// mounts it.
inline constexpr const char* kCaBundleVolumeName = "sigv4-injector-ca-bundle";
inline constexpr const char* kCaBundleMountPath = "/var/run/secrets/sigv4-injector.io/ca-bundle";

// The shell script the init container runs: `set -eu`, re-runnable, IPv4 (and IPv6 per
// settings) NAT rules sending TCP for the Lattice ranges to the proxy port, except the proxy's
// own UID and excluded ports; picks the iptables backend per `iptables_mode`.
std::string iptables_script(const Config& settings);

// The `iptables-init` container for these settings as compact JSON text, built once per
// settings (per thread) and shared by every pod reviewed with them.
const std::string& init_container_text(const Config& settings);

// Appends the `iptables-init` container for a pod: the cached text of its settings (base64
// precomputed), plus `token_mount`, the pod's service_account_mount(), when not null.
void append_init_container(PieceText& out, const Config& settings, const JsonNode* token_mount);

// The token mount the ServiceAccount admission plugin gave the pod's containers (a
// `kube-api-access-*` volume at /var/run/secrets/kubernetes.io/serviceaccount), or null. Both
// injected containers carry it too: the plugin would add it to them when the apiserver re-runs
// it after our patch, and that change would make it call every IfNeeded webhook again.
const JsonNode* service_account_mount(const JsonNode& pod);

// Appends the `sigv4proxy` container as compact JSON text: args, port, env, hardened
// securityContext, resources, plus the AWS credential env and token mounts found on the pod's
// app containers and `token_mount` (the pod's service_account_mount(), or null). In native mode
// it carries `restartPolicy: Always` and a tcpSocket startupProbe. Its fixed parts come from
// cached Base64Pieces.
void append_proxy_container(PieceText& out, const Config& settings, const JsonNode& pod,
                            const JsonNode* token_mount);

// The pod volume holding the CA bundle of these settings as compact JSON text, or "" when the
// settings have none.
std::string ca_bundle_volume_text(const Config& settings);

// The same two containers as trees (for tests and tools), parsed from that text.
Json init_container(const Config& settings);
Json proxy_container(const Config& settings, const JsonNode& pod);

// The AWS credential env entries (IRSA / Pod Identity) carried by the first app container that
// has any, and its volumeMounts holding their token files, in the pod's order, as pointers into
// the pod (copied only into the text or tree that carries them). O(n log n) in the entries.
struct Credentials {
  std::vector<const JsonNode*> env;
  std::vector<const JsonNode*> mounts;
};
Credentials find_credentials(const JsonNode& pod);

// The same as {"env": [...], "volumeMounts": [...]}.
Json credential_sources(const JsonNode& pod);

// The proxy's command-line arguments for these settings.
Json proxy_args(const Config& settings);

}  // namespace sigv4
