#!/usr/bin/env bash
# Runs the init container's script against real iptables (legacy and nft) inside network
# namespaces this test creates, and checks the rules it leaves: the workshop's four rules, the
# same as the workshop's own script produces; safe to re-run; loud on failure; the options
# (ports, IPv6, backend choice) do what they say.
set -uo pipefail
BIN=${SIGV4_BIN:?} SRC=${SIGV4_SRC:?}
TMP=${SIGV4_TMP:-$(mktemp -d)}
mkdir -p "$TMP"
passed=0 failed=0

if ! unshare --net true 2>/dev/null; then
  echo "SKIP: cannot create network namespaces here (needs root)"
  exit 77
fi
for tool in iptables-legacy iptables-nft ip6tables-legacy; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/deps.sh iptables"; exit 1; }
done

result() {  # name, condition-exit-code, detail
  if [[ $2 -eq 0 ]]; then
    echo "ok   $1"; passed=$((passed + 1))
  else
    echo "FAIL $1"; echo "$3" | sed 's/^/     /'; failed=$((failed + 1))
  fi
}

# The script the injector generates for a pod with these annotations (JSON object).
script_for() {
  local annotations=$1
  cat >"$TMP/pod.json" <<JSON
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"app1",
 "annotations":$annotations},"spec":{"containers":[{"name":"app","image":"nginx"}]}}
JSON
  "$BIN" inject -f "$TMP/pod.json" -o json 2>/dev/null | python3 -c '
import json, sys
pod = json.load(sys.stdin)
init = [c for c in pod["spec"]["initContainers"] if c["name"] == "iptables-init"][0]
sys.stdout.write(init["command"][2])'
}

# Runs "$@" in a new network namespace; prints its output.
in_netns() { unshare --net sh -c "$1" 2>&1; }

workshop_script=$(python3 - "$SRC/tests/reference/workshop-app1-injected-by-hand.yaml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
# The folded block after "- >" in the iptables-init command.
block = text.split("- >\n", 1)[1].split("      containers:", 1)[0]
print(" ".join(line.strip() for line in block.splitlines() if line.strip()))
PY
)
nat_rules() { echo "$1 -t nat -S | grep -v '^-P'"; }

default=$(script_for '{}')

for backend in legacy nft; do
  want=$(in_netns "$(echo "$workshop_script" | sed "s/iptables /iptables-$backend /g")
                   $(nat_rules iptables-$backend)")
  got=$(in_netns "$(script_for '{}' | sed "s/^MODE=auto/MODE=$backend/")
                  $(nat_rules iptables-$backend)")
  [[ -n "$want" && "$got" == *"$want"* && $(grep -c . <<<"$want") -eq 4 ]]
  result "$backend: same rules as the workshop's script" $? "want:
$want
got:
$got"
done

got=$(in_netns "$default
$default
$(nat_rules iptables-nft)")
[[ $(grep -c -- '-A OUTPUT' <<<"$got") -eq 1 && $(grep -c -- '-j REDIRECT' <<<"$got") -eq 1 ]]
result "re-run: exits 0, no duplicate rules" $? "$got"

got=$(in_netns "$default; $(nat_rules iptables-nft); $(nat_rules iptables-legacy)")
[[ "$got" == *"-A EGRESS_PROXY -p tcp -j REDIRECT --to-ports 8080"* ]] &&
  [[ $(grep -c -- '-N EGRESS_PROXY' <<<"$got") -eq 1 ]]
result "auto: one backend chosen (nft when the namespace is empty)" $? "$got"

got=$(in_netns "iptables-legacy -t nat -N USER_CHAIN; $default; $(nat_rules iptables-legacy)")
[[ "$got" == *"-A EGRESS_PROXY -p tcp -j REDIRECT --to-ports 8080"* ]]
result "auto: follows the backend already holding rules (legacy)" $? "$got"

mkdir -p "$TMP/failing"
printf '#!/bin/sh\ncase "$*" in *REDIRECT*) echo "iptables: No chain/target/match by that name." >&2; exit 1;; esac\nexec /usr/sbin/iptables-nft "$@"\n' \
  >"$TMP/failing/iptables-nft"
chmod +x "$TMP/failing/iptables-nft"
unshare --net sh -c "PATH=$TMP/failing:\$PATH; $(script_for '{}' | sed 's/^MODE=auto/MODE=nft/')" >"$TMP/fail.log" 2>&1
rc=$?
[[ $rc -ne 0 ]]
result "a failing rule fails the script (the workshop's exits 0)" $? "exit $rc: $(cat "$TMP/fail.log")"

custom=$(script_for '{"sigv4-injector.io/proxy-port":"15001","sigv4-injector.io/proxy-uid":"1337","sigv4-injector.io/exclude-ports":"22,9090","sigv4-injector.io/cidrs":"169.254.171.0/24,10.9.0.0/16"}')
got=$(in_netns "$custom; $(nat_rules iptables-nft)")
[[ "$got" == *"-A EGRESS_PROXY -m owner --uid-owner 1337 -j RETURN"* &&
   "$got" == *"-A EGRESS_PROXY -p tcp -m tcp --dport 22 -j RETURN"* &&
   "$got" == *"-A EGRESS_PROXY -p tcp -m tcp --dport 9090 -j RETURN"* &&
   "$got" == *"-A EGRESS_PROXY -p tcp -j REDIRECT --to-ports 15001"* &&
   "$got" == *"-A OUTPUT -d 10.9.0.0/16 -p tcp -j EGRESS_PROXY"* ]]
result "overrides: UID, excluded ports, port and CIDRs" $? "$got"

got=$(in_netns "$(script_for '{"sigv4-injector.io/include-ports":"80,8081"}'); $(nat_rules iptables-nft)")
[[ "$got" == *"--dport 80 -j REDIRECT --to-ports 8080"* &&
   "$got" == *"--dport 8081 -j REDIRECT --to-ports 8080"* &&
   "$got" != *"-p tcp -j REDIRECT"* ]]
result "include-ports: only those ports are redirected" $? "$got"

got=$(in_netns "ip link set lo up; $default; $(nat_rules ip6tables-nft)")
[[ "$got" == *"-A OUTPUT -d fd00:ec2:80::/64 -p tcp -j EGRESS_PROXY"* ]]
result "IPv6 auto: ip6tables rules for the Lattice IPv6 range" $? "$got"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
