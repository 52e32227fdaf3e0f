// The iptables script of the init container (declared in spec.h).
#include <sstream>

#include "spec.h"

namespace sigv4 {
namespace {

// Shell functions shared by every script; parameters come from the variables set above them.
constexpr const char* kFunctions =
    R"SH(# variant BIN BACKEND: the binary of iptables|ip6tables for the legacy|nft backend, if present.
variant() {
  if command -v "$1-$2" >/dev/null 2>&1; then echo "$1-$2"; return 0; fi
  version=$("$1" -V 2>/dev/null) || return 1
  case "$version" in *nf_tables*) found=nft ;; *) found=legacy ;; esac
  [ "$found" = "$2" ] && echo "$1"
}
# backend BIN: the binary for MODE; auto picks the backend already holding rules in this
# network namespace (so ours land beside them), else the first that works, nft before legacy.
# Legacy tables are counted from /proc/net/ip*_tables_names first: listing a legacy table creates
# it, and an nft pod left with empty legacy tables warns on every listing.
backend() {
  if [ "$MODE" != auto ]; then
    variant "$1" "$MODE" && return 0
    echo "sigv4-injector: no $1 for the $MODE backend in this image" >&2; return 1
  fi
  case "$1" in ip6tables) names=/proc/net/ip6_tables_names ;; *) names=/proc/net/ip_tables_names ;; esac
  best=""; best_rules=-1
  for b in nft legacy; do
    bin=$(variant "$1" "$b") || continue
    n=0
    if [ "$b" = legacy ]; then
      n=$(grep -c . "$names" 2>/dev/null || true)
      [ -n "$n" ] || n=0
    fi
    if [ "$b" = nft ] || grep -qx nat "$names" 2>/dev/null; then
      rules=$("$bin" -t nat -S 2>/dev/null) || continue
      n=$((n + $(printf '%s\n' "$rules" | grep -c -e '^-A' -e '^-N' || true)))
    fi
    if [ "$n" -gt "$best_rules" ]; then best=$bin; best_rules=$n; fi
  done
  [ -n "$best" ] || { echo "sigv4-injector: no working $1 backend" >&2; return 1; }
  echo "$best"
}
# guard BIN: refuses the proxy port to every peer but the pod itself (loopback), so the pod is no
# signing relay for its network; the node's address (HOST_IP, set for the kubelet's startup
# probe of a native sidecar) is let through.
guard() {
  ipt=$1; allow=""
  case "${HOST_IP:-}" in *:*) host_family=6 ;; *) host_family=4 ;; esac
  case "$ipt" in ip6tables*) family=6 ;; *) family=4 ;; esac
  if [ -n "${HOST_IP:-}" ] && [ "$host_family" = "$family" ]; then allow=$HOST_IP; fi
  if [ -n "$allow" ]; then
    # Inserted first: it must precede a REJECT left by an earlier run without HOST_IP.
    "$ipt" -C INPUT ! -i lo -p tcp --dport "$PROXY_PORT" -s "$allow" -j ACCEPT 2>/dev/null ||
      "$ipt" -I INPUT 1 ! -i lo -p tcp --dport "$PROXY_PORT" -s "$allow" -j ACCEPT
  fi
  "$ipt" -C INPUT ! -i lo -p tcp --dport "$PROXY_PORT" -j REJECT --reject-with tcp-reset 2>/dev/null ||
    "$ipt" -A INPUT ! -i lo -p tcp --dport "$PROXY_PORT" -j REJECT --reject-with tcp-reset
  echo "sigv4-injector: $ipt: port $PROXY_PORT refused to peers${allow:+ but the node $allow}"
}
# capture BIN CIDR...: (re)builds the EGRESS_PROXY chain and jumps to it for each CIDR.
capture() {
  ipt=$1; shift
  "$ipt" -t nat -N EGRESS_PROXY 2>/dev/null || "$ipt" -t nat -F EGRESS_PROXY
  "$ipt" -t nat -A EGRESS_PROXY -m owner --uid-owner "$PROXY_UID" -j RETURN
  for port in $EXCLUDE_PORTS; do
    "$ipt" -t nat -A EGRESS_PROXY -p tcp --dport "$port" -j RETURN
  done
  if [ -z "$INCLUDE_PORTS" ]; then
    "$ipt" -t nat -A EGRESS_PROXY -p tcp -j REDIRECT --to-ports "$PROXY_PORT"
  fi
  for port in $INCLUDE_PORTS; do
    "$ipt" -t nat -A EGRESS_PROXY -p tcp --dport "$port" -j REDIRECT --to-ports "$PROXY_PORT"
  done
  for cidr in "$@"; do
    "$ipt" -t nat -C OUTPUT -p tcp -d "$cidr" -j EGRESS_PROXY 2>/dev/null ||
      "$ipt" -t nat -A OUTPUT -p tcp -d "$cidr" -j EGRESS_PROXY
  done
  echo "sigv4-injector: $ipt: TCP to $* -> 127.0.0.1:$PROXY_PORT (except UID $PROXY_UID)"
}
)SH";

template <typename List>
std::string join(const List& items) {
  std::ostringstream out;
  bool first = true;
  for (const auto& item : items) {
    out << (first ? "" : " ") << item;
    first = false;
  }
  return out.str();
}

}  // namespace

std::string iptables_script(const Config& s) {
  std::ostringstream out;
  out << "set -eu\n"
      << "# sigv4-injector: send the pod's TCP connections to VPC Lattice through the SigV4\n"
      << "# signing proxy. Fails loudly; safe to re-run.\n"
      << "MODE=" << to_string(s.iptables_mode) << " PROXY_PORT=" << s.proxy.port
      << " PROXY_UID=" << s.proxy.uid << "\n"
      << "EXCLUDE_PORTS=\"" << join(s.init.exclude_ports) << "\" INCLUDE_PORTS=\""
      << join(s.init.include_ports) << "\"\n"
      << kFunctions;
  // IPv4 always: the proxy listens on every address, so the guard is needed even when only
  // IPv6 is captured.
  out << "v4=$(backend iptables)\n"
      << "guard \"$v4\"\n";
  if (!s.init.cidrs.empty()) {
    out << "capture \"$v4\" " << join(s.init.cidrs) << "\n";
  }
  const bool capture6 = !s.init.ipv6_cidrs.empty() && s.ipv6 != Ipv6Mode::kOff;
  const std::string capture6_line =
      capture6 ? "capture \"$v6\" " + join(s.init.ipv6_cidrs) + "\n" : std::string();
  if (capture6 && s.ipv6 == Ipv6Mode::kOn) {
    out << "v6=$(backend ip6tables)\n"
        << "guard \"$v6\"\n"
        << capture6_line;
  } else {
    // Pods of IPv4 clusters have IPv6 link-local addresses too: wherever an interface but lo
    // has an IPv6 address, peers can reach the proxy over IPv6, so the guard is required there
    // (a failing ip6tables fails the script) and the capture follows it.
    out << "if grep -qv ' lo$' /proc/net/if_inet6 2>/dev/null; then\n"
        << "  v6=$(backend ip6tables)\n"
        << "  guard \"$v6\"\n"
        << (capture6 ? "  " + capture6_line : std::string()) << "else\n"
        << "  echo \"sigv4-injector: no IPv6 in this pod: ip6tables rules skipped\"\n"
        << "fi\n";
  }
  return out.str();
}

}  // namespace sigv4
