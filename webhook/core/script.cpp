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
backend() {
  if [ "$MODE" != auto ]; then
    variant "$1" "$MODE" && return 0
    echo "sigv4-injector: no $1 for the $MODE backend in this image" >&2; return 1
  fi
  best=""; best_rules=-1
  for b in nft legacy; do
    bin=$(variant "$1" "$b") || continue
    rules=$("$bin" -t nat -S 2>/dev/null) || continue
    n=$(printf '%s\n' "$rules" | grep -c -e '^-A' -e '^-N' || true)
    if [ "$n" -gt "$best_rules" ]; then best=$bin; best_rules=$n; fi
  done
  [ -n "$best" ] || { echo "sigv4-injector: no working $1 backend" >&2; return 1; }
  echo "$best"
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
  if (!s.init.cidrs.empty()) {
    out << "v4=$(backend iptables)\n"
        << "capture \"$v4\" " << join(s.init.cidrs) << "\n";
  }
  if (!s.init.ipv6_cidrs.empty()) {
    std::string cidrs = join(s.init.ipv6_cidrs);
    if (s.ipv6 == Ipv6Mode::kOn) {
      out << "v6=$(backend ip6tables)\n"
          << "capture \"$v6\" " << cidrs << "\n";
    } else if (s.ipv6 == Ipv6Mode::kAuto) {
      out << "if [ -e /proc/net/if_inet6 ] && v6=$(backend ip6tables 2>/dev/null); then\n"
          << "  capture \"$v6\" " << cidrs << "\n"
          << "else\n"
          << "  echo \"sigv4-injector: no IPv6 in this pod: ip6tables rules skipped\"\n"
          << "fi\n";
    }
  }
  return out.str();
}

}  // namespace sigv4
