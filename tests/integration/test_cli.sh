#!/usr/bin/env bash
# The CLI's contract (SPEC §7): subcommands, --help everywhere, exit codes 0/1/2, errors that
# name the file, the document index and the field, stdin, output formats, idempotence.
set -uo pipefail
BIN=${SIGV4_BIN:?} SRC=${SIGV4_SRC:?}
TMP=${SIGV4_TMP:-$(mktemp -d)}
mkdir -p "$TMP"
passed=0 failed=0

# expect NAME WANT_EXIT PATTERN -- CMD...: runs CMD, checks its exit code and that its output
# (stdout+stderr) matches the extended regex PATTERN.
expect() {
  local name=$1 want=$2 pattern=$3
  shift 4
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [[ $rc -eq $want ]] && grep -Eq -- "$pattern" <<<"$out"; then
    echo "ok   $name"; passed=$((passed + 1))
  else
    echo "FAIL $name (exit $rc, want $want; pattern $pattern)"
    head -20 <<<"$out" | sed 's/^/     /'
    failed=$((failed + 1))
  fi
}

W="$SRC/examples/workshop-app1.yaml"
expect "version" 0 '^sigv4-injector [0-9]+\.[0-9]+\.[0-9]+' -- "$BIN" version
expect "top-level help" 0 'Commands:' -- "$BIN" --help
for cmd in inject patch serve certs version; do
  expect "$cmd --help" 0 'Usage: sigv4-injector' -- "$BIN" "$cmd" --help
done
expect "no command is a usage error" 2 'Usage' -- "$BIN"
expect "unknown command" 2 'unknown command "frobnicate"' -- "$BIN" frobnicate
expect "unknown flag" 2 'unknown flag "--bogus"' -- "$BIN" inject -f "$W" --bogus
expect "missing -f" 2 '-f FILE is required' -- "$BIN" inject
expect "bad -o" 2 'expected yaml\|json' -- "$BIN" inject -f "$W" -o xml
expect "bad --sidecar-mode" 2 'legacy\|native' -- "$BIN" inject -f "$W" --sidecar-mode maybe
expect "bad --region" 2 'region' -- "$BIN" inject -f "$W" --region Mars
expect "missing file" 1 'nope.yaml: cannot read' -- "$BIN" inject -f "$TMP/nope.yaml"

expect "workshop injected" 0 'name: sigv4proxy' -- "$BIN" inject -f "$W"
expect "decision on stderr" 0 'document 1 \(Deployment app1/app1-v1\): injected' -- "$BIN" inject -f "$W"
expect "stdin" 0 'name: iptables-init' -- sh -c "'$BIN' inject -f - < '$W'"
expect "json output" 0 '"kind": "Deployment"' -- "$BIN" inject -f "$W" -o json
expect "--region flag" 0 'eu-north-1' -- "$BIN" inject -f "$W" --region eu-north-1
expect "--sidecar-mode native" 0 'restartPolicy: Always' -- "$BIN" inject -f "$W" --sidecar-mode native

"$BIN" inject -f "$W" >"$TMP/once.yaml" 2>/dev/null
"$BIN" inject -f "$TMP/once.yaml" >"$TMP/twice.yaml" 2>"$TMP/twice.err"
if cmp -s "$TMP/once.yaml" "$TMP/twice.yaml" && grep -q 'already-injected' "$TMP/twice.err"; then
  echo "ok   inject of its own output changes nothing"; passed=$((passed + 1))
else
  echo "FAIL inject of its own output changes nothing"; diff "$TMP/once.yaml" "$TMP/twice.yaml" | head; failed=$((failed + 1))
fi

cat >"$TMP/bad-doc.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: s}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: ns1}
spec:
  template:
    metadata:
      annotations: {sigv4-injector.io/proxy-port: "99999"}
    spec:
      containers: [{name: c, image: i}]
YAML
expect "invalid override names file, document, field, annotation and value" 1 \
  'bad-doc.yaml: document 1 \(Deployment ns1/d\): spec/template/metadata/annotations: .*sigv4-injector.io/proxy-port.*"99999"' \
  -- "$BIN" inject -f "$TMP/bad-doc.yaml"
printf 'kind: Pod\n---\nmetadata: [unclosed\n' >"$TMP/broken.yaml"
expect "YAML syntax error names the file and line" 1 'broken.yaml: line [0-9]+' -- "$BIN" inject -f "$TMP/broken.yaml"
printf 'region: us-west-2\nproxy:\n  prot: 1\n' >"$TMP/bad-config.yaml"
expect "config error names the file and key" 1 'bad-config.yaml: proxy.prot: unknown key' \
  -- "$BIN" inject -f "$W" --config "$TMP/bad-config.yaml"
printf 'region: eu-west-3\nsidecarMode: native\n' >"$TMP/config.yaml"
expect "--config applies" 0 'eu-west-3' -- "$BIN" inject -f "$W" --config "$TMP/config.yaml"
expect "flags beat the config file" 0 'ap-east-1' -- "$BIN" inject -f "$W" --config "$TMP/config.yaml" --region ap-east-1

P="$SRC/tests/corpus/pods/01-minimal.inject-legacy.json"
expect "patch of a Pod prints a JSONPatch" 0 '"op": "add"' -- "$BIN" patch -f "$P"
expect "patch of a skipped Pod prints []" 0 '^\[\]$' -- "$BIN" patch -f "$SRC/tests/corpus/pods/16-opted-out.skip.json"
expect "patch of a denied Pod exits 1" 1 'proxy-port' -- "$BIN" patch -f "$SRC/tests/corpus/pods/25-bad-override.deny.json"
expect "patch of a review prints the response" 0 '"patchType": "JSONPatch"' -- "$BIN" patch -f "$SRC/examples/admission-review.json"
expect "patch of a review on /mutate/annotated" 0 '"allowed": true' -- "$BIN" patch -f "$SRC/examples/admission-review.json" --path /mutate/annotated
expect "patch of a Service is refused" 1 'expected Pod or AdmissionReview' -- sh -c "printf 'kind: Service\n' | '$BIN' patch -f -"
expect "patch of a malformed review names the field" 1 'request.uid' -- sh -c \
  "printf '{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{}}' | '$BIN' patch -f -"

# -n/--namespace (issue 17): the namespace of objects that name none picks the config's
# per-namespace resources; an object's own metadata.namespace wins.
printf 'namespaces:\n  team-a:\n    proxy: {resources: {requests: {cpu: 150m}}}\n' >"$TMP/ns.yaml"
printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"app","image":"a"}]}}' >"$TMP/no-ns.json"
printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"team-b"},"spec":{"containers":[{"name":"app","image":"a"}]}}' >"$TMP/team-b.json"
expect "inject -n picks the namespace's resources" 0 '"cpu": "150m"' -- "$BIN" inject -f "$TMP/no-ns.json" -o json --config "$TMP/ns.yaml" -n team-a
expect "inject --namespace=NS" 0 '"cpu": "150m"' -- "$BIN" inject -f "$TMP/no-ns.json" -o json --config "$TMP/ns.yaml" --namespace=team-a
expect "inject without -n: the config's resources" 0 '"cpu": "25m"' -- "$BIN" inject -f "$TMP/no-ns.json" -o json --config "$TMP/ns.yaml"
expect "metadata.namespace wins over -n" 0 '"cpu": "25m"' -- "$BIN" inject -f "$TMP/team-b.json" -o json --config "$TMP/ns.yaml" -n team-a
expect "patch -n picks the namespace's resources" 0 '"cpu": "150m"' -- "$BIN" patch -f "$TMP/no-ns.json" --config "$TMP/ns.yaml" -n team-a
expect "patch --path /mutate/pod-security warns about Pod Security" 0 'warning: sigv4-injector: this namespace enforces Pod Security' -- "$BIN" patch -f "$TMP/no-ns.json" --path /mutate/pod-security
expect "patch --path /mutate/annotated/pod-security" 0 '^\[\]$' -- "$BIN" patch -f "$TMP/no-ns.json" --path /mutate/annotated/pod-security
expect "patch --path /other is a usage error" 2 'expected /mutate' -- "$BIN" patch -f "$TMP/no-ns.json" --path /mutate/other

# Texts from the input are escaped and bounded on stderr, whatever the input holds.
python3 -c 'n = "x" * 100000
print("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\",\"annotations\":{\"%s\":1}},\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"b\"}]}}" % (n, n))' >"$TMP/long-names.json"
expect "a 100 kB name and key: the error is bounded" 1 '^.{1,1100}$' -- "$BIN" inject -f "$TMP/long-names.json"
expect "the error names the field, cut" 1 'metadata\.annotations\.x+\.\.\.\(100000 bytes\): expected a string' -- "$BIN" inject -f "$TMP/long-names.json"
printf 'apiVersion: example.com/v1\nkind: Deployment\nmetadata: {name: "\\e[31mred"}\n' >"$TMP/escape.yaml"
expect "control characters in a name are escaped on stderr" 0 'Deployment \\x1b\[31mred, example.com/v1\): passed through' -- "$BIN" inject -f "$TMP/escape.yaml"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
