#!/usr/bin/env bash
# Runs the init container's script against real iptables (legacy and nft) inside network
# namespaces this test creates (unshare --net: the host's iptables are never touched), and checks
# the rules it leaves: the workshop's four rules, as the workshop's own script produces them, plus
# SPEC 4a's (port 443 not captured, the proxy port refused to peers but loopback); safe to re-run;
# loud on failure; the options (ports, IPv6, backend choice, HOST_IP) do what they say; the
# backend probe creates no legacy tables.
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
# Runs "$@" in a new network namespace shaped like a pod's: an interface besides lo that has an
# IPv6 link-local address (a veth pair, as there is no dummy module), as a pod's eth0 has even in
# an IPv4 cluster; prints its output. in_netns_lo_only: a namespace with nothing but lo.
# A namespace with eth0 up, as a pod's is when its init containers run: the kernel gives eth0 its
# link-local IPv6 address once the link has carrier, which the linkwatch worker may deliver late
# on a loaded machine, so wait for it (the script decides on ip6tables from the addresses).
in_netns() {
  unshare --net sh -c "ip link add eth0 type veth peer name peer0 && ip link set eth0 up &&
                       ip link set peer0 up &&
                       for i in \$(seq 100); do
                         ip -6 addr show dev eth0 | grep -q inet6 && break; sleep 0.05
                       done && $1" 2>&1
}
in_netns_lo_only() { unshare --net sh -c "$1" 2>&1; }

workshop_script=$(python3 - "$SRC/tests/reference/workshop-app1-injected-by-hand.yaml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
# The folded block after "- >" in the iptables-init command.
block = text.split("- >\n", 1)[1].split("      containers:", 1)[0]
print(" ".join(line.strip() for line in block.splitlines() if line.strip()))
PY
)
nat_rules() { echo "$1 -t nat -S | grep -v '^-P'"; }
input_rules() { echo "$1 -S INPUT | grep -v '^-P'"; }
# The script $1 run in a subshell (its set -eu stays there) with its progress lines dropped;
# errors still show.
quietly() { printf '(\n%s\n) >/dev/null\n' "$1"; }

PORT=19471  # SPEC 4a: the default proxy port (the workshop's is 8080)
REJECT="! -i lo -p tcp -m tcp --dport $PORT -j REJECT --reject-with tcp-reset"
default=$(script_for '{}')

# The workshop's rules, with SPEC 4a's differences made explicitly: its port 8080 is our 19471,
# and port 443 RETURNs before the REDIRECT (TLS is never captured). Nothing else may differ.
workshop_ours=$(echo "$workshop_script" | sed "s/--to-ports 8080/--to-ports $PORT/")
for backend in legacy nft; do
  want=$(in_netns "$(echo "$workshop_ours" | sed "s/iptables /iptables-$backend /g")
                   $(nat_rules iptables-$backend)")
  expected=$(sed "/-j REDIRECT/i -A EGRESS_PROXY -p tcp -m tcp --dport 443 -j RETURN" <<<"$want")
  got=$(in_netns "$(quietly "$(sed "s/^MODE=auto/MODE=$backend/" <<<"$default")")
                  $(nat_rules iptables-$backend)")
  [[ $(grep -c . <<<"$want") -eq 4 && "$want" == *"--to-ports $PORT"* &&
     $(grep -c . <<<"$expected") -eq 5 && "$got" == "$expected" ]]
  result "$backend: the workshop's rules, plus the 443 RETURN" $? "want (the workshop's, port $PORT):
$want
expected (plus SPEC 4a):
$expected
got:
$got"
done

for backend in legacy nft; do
  got=$(in_netns "ip link set lo up; $(quietly "$(sed "s/^MODE=auto/MODE=$backend/" <<<"$default")")
                  echo v4; $(input_rules iptables-$backend); echo v6; $(input_rules ip6tables-$backend)")
  [[ "$got" == "v4
-A INPUT $REJECT
v6
-A INPUT $REJECT" ]]
  result "$backend: the proxy port is refused to peers (iptables and ip6tables INPUT)" $? "$got"
done

got=$(in_netns "ip link set lo up; $default
$default
$(nat_rules iptables-nft); $(input_rules iptables-nft); $(input_rules ip6tables-nft)")
[[ $(grep -c -- '-A OUTPUT' <<<"$got") -eq 1 && $(grep -c -- '-j REDIRECT' <<<"$got") -eq 1 &&
   $(grep -c -- '--dport 443 -j RETURN' <<<"$got") -eq 1 &&
   $(grep -c -- "-A INPUT $REJECT" <<<"$got") -eq 2 ]]
result "re-run: exits 0, no duplicate rules, no duplicate guard" $? "$got"

# HOST_IP (the node, for a native sidecar's startup probe) is let through before the REJECT, in
# its own family only.
got=$(in_netns "ip link set lo up; export HOST_IP=10.1.2.3; $(quietly "$default")
                echo v4; $(input_rules iptables-nft); echo v6; $(input_rules ip6tables-nft)")
[[ "$got" == "v4
-A INPUT -s 10.1.2.3/32 ! -i lo -p tcp -m tcp --dport $PORT -j ACCEPT
-A INPUT $REJECT
v6
-A INPUT $REJECT" ]]
result "HOST_IP=10.1.2.3: an ACCEPT for the node before the REJECT, IPv4 only" $? "$got"

got=$(in_netns "ip link set lo up; export HOST_IP=fd00:1::7; $(quietly "$default")
                echo v4; $(input_rules iptables-nft)
                echo v6; $(input_rules ip6tables-nft)")
[[ "$got" == "v4
-A INPUT $REJECT
v6
-A INPUT -s fd00:1::7/128 ! -i lo -p tcp -m tcp --dport $PORT -j ACCEPT
-A INPUT $REJECT" ]]
result "HOST_IP=fd00:1::7: the ACCEPT only in ip6tables" $? "$got"

got=$(in_netns "ip link set lo up; export HOST_IP=10.1.2.3; $(quietly "$default"); $(quietly "$default")
                $(input_rules iptables-nft)")
[[ $(grep -c -- '-j ACCEPT' <<<"$got") -eq 1 && $(grep -c -- '-j REJECT' <<<"$got") -eq 1 ]]
result "HOST_IP: re-run adds no duplicate ACCEPT" $? "$got"

# A REJECT left by a run without HOST_IP does not shadow the ACCEPT a later run adds.
got=$(in_netns "ip link set lo up; $(quietly "$default"); export HOST_IP=10.1.2.3
                $(quietly "$default"); $(input_rules iptables-nft)")
[[ "$got" == "-A INPUT -s 10.1.2.3/32 ! -i lo -p tcp -m tcp --dport $PORT -j ACCEPT
-A INPUT $REJECT" ]]
result "HOST_IP after a run without it: the ACCEPT still precedes the REJECT" $? "$got"

# Only lo: no peer can reach the pod over IPv6, so ip6tables is left alone; the IPv4 guard stays.
got=$(in_netns_lo_only "ip link set lo up; $default; echo v4; $(input_rules iptables-nft)
                        echo v6; $(input_rules ip6tables-nft)")
[[ "$got" == *"no IPv6 in this pod: ip6tables rules skipped"* &&
   "$got" == *"v4
-A INPUT $REJECT
v6" && "$got" != *"v6
-A"* ]]
result "no IPv6 address but lo's: ip6tables skipped, IPv4 guarded" $? "$got"

got=$(in_netns "$default; $(nat_rules iptables-nft); $(nat_rules iptables-legacy)")
[[ "$got" == *"-A EGRESS_PROXY -p tcp -j REDIRECT --to-ports $PORT"* ]] &&
  [[ $(grep -c -- '-N EGRESS_PROXY' <<<"$got") -eq 1 ]]
result "auto: one backend chosen (nft when the namespace is empty)" $? "$got"

# Listing a legacy table creates it (and an nft pod with empty legacy tables warns on every
# listing): the probe reads /proc/net/ip*_tables_names instead. Nothing here lists legacy tables.
got=$(in_netns "ip link set lo up; $(quietly "$default")
                echo ip_tables_names:; cat /proc/net/ip_tables_names 2>/dev/null
                echo ip6_tables_names:; cat /proc/net/ip6_tables_names 2>/dev/null
                echo nft:; $(nat_rules iptables-nft) | grep -c REDIRECT")
[[ "$got" == "ip_tables_names:
ip6_tables_names:
nft:
1" ]]
result "auto on an empty namespace creates no legacy tables" $? "$got"

got=$(in_netns "iptables-legacy -t nat -N USER_CHAIN; $default; $(nat_rules iptables-legacy)")
[[ "$got" == *"-A EGRESS_PROXY -p tcp -j REDIRECT --to-ports $PORT"* ]]
result "auto: follows the backend already holding a chain (legacy)" $? "$got"

got=$(in_netns "iptables-legacy -t nat -A OUTPUT -d 10.0.0.0/8 -p tcp -j RETURN; $(quietly "$default")
                echo legacy:; $(nat_rules iptables-legacy); $(input_rules iptables-legacy)
                echo nft:; ($(nat_rules iptables-nft); $(input_rules iptables-nft)) 2>/dev/null")
[[ "$got" == "legacy:
-N EGRESS_PROXY
-A OUTPUT -d 10.0.0.0/8 -p tcp -j RETURN
-A OUTPUT -d 169.254.171.0/24 -p tcp -j EGRESS_PROXY"*"-A EGRESS_PROXY -p tcp -j REDIRECT --to-ports $PORT
-A INPUT $REJECT
nft:" ]]
result "auto: joins legacy when it holds a nat rule (capture and guard)" $? "$got"

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

got=$(in_netns "ip link set lo up; $(quietly "$(script_for '{"sigv4-injector.io/proxy-port":"15001"}')")
                $(input_rules iptables-nft); $(input_rules ip6tables-nft)")
[[ $(grep -c -- "-A INPUT ! -i lo -p tcp -m tcp --dport 15001 -j REJECT" <<<"$got") -eq 2 &&
   "$got" != *"$PORT"* ]]
result "proxy-port: the guard follows the port" $? "$got"

# A container declaring the proxy port moves the proxy (SPEC 4a): the script's REDIRECT and guard
# use the port the sidecar listens on.
cat >"$TMP/busy.json" <<JSON
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"app1"},
 "spec":{"containers":[{"name":"app","image":"nginx","ports":[{"containerPort":$PORT}]}]}}
JSON
busy=$("$BIN" inject -f "$TMP/busy.json" -o json 2>/dev/null | python3 -c '
import json, sys
pod = json.load(sys.stdin)
init = [c for c in pod["spec"]["initContainers"] if c["name"] == "iptables-init"][0]
proxy = [c for c in pod["spec"]["containers"] if c["name"] == "sigv4proxy"][0]
sys.stdout.write(proxy["args"][proxy["args"].index("--port") + 1] + "\n" + init["command"][2])')
got=$(in_netns "$(quietly "$(tail -n +2 <<<"$busy")"); $(nat_rules iptables-nft); $(input_rules iptables-nft)")
[[ $(head -1 <<<"$busy") == ":19472" &&
   "$got" == *"-A EGRESS_PROXY -p tcp -j REDIRECT --to-ports 19472"* &&
   "$got" == *"-A INPUT ! -i lo -p tcp -m tcp --dport 19472 -j REJECT"* ]]
result "a declared proxy port: the sidecar, REDIRECT and guard all move to 19472" $? "$(head -1 <<<"$busy")
$got"

got=$(in_netns "$(script_for '{"sigv4-injector.io/include-ports":"80,8081"}'); $(nat_rules iptables-nft)")
[[ "$got" == *"--dport 80 -j REDIRECT --to-ports $PORT"* &&
   "$got" == *"--dport 8081 -j REDIRECT --to-ports $PORT"* &&
   "$got" != *"-p tcp -j REDIRECT"* ]]
result "include-ports: only those ports are redirected" $? "$got"

got=$(in_netns "ip link set lo up; $default; $(nat_rules ip6tables-nft)")
[[ "$got" == *"-A OUTPUT -d fd00:ec2:80::/64 -p tcp -j EGRESS_PROXY"* &&
   "$got" == *"-A EGRESS_PROXY -p tcp -m tcp --dport 443 -j RETURN"* ]]
result "IPv6 auto: ip6tables rules for the Lattice IPv6 range" $? "$got"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
