#!/usr/bin/env bash
# Builds kube-apiserver and kube-controller-manager for the e2e tier from the Go module proxy, at
# the Kubernetes release pinned in scripts/k8s-tools/go.mod, into .cache/k8s/<version>/bin/.
# Rebuilds only when the pin changes. Prints the bin dir on stdout; progress goes to stderr.
#
#   scripts/k8s-tools.sh            build if needed, print the bin dir
#   scripts/k8s-tools.sh --version  print the pinned version
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
module="$root/scripts/k8s-tools"
version=$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" { print $3 }' "$module/go.mod")
if [[ -z $version ]]; then
  echo "k8s-tools: no 'require k8s.io/kubernetes vX.Y.Z' line in $module/go.mod" >&2
  exit 1
fi
if [[ ${1:-} == --version ]]; then
  echo "$version"
  exit 0
fi

cache="${SIGV4_K8S_CACHE:-$root/.cache/k8s}/$version"
bin="$cache/bin"
commands=(kube-apiserver kube-controller-manager)

built() {
  local c
  [[ -f $bin/.complete ]] || return 1
  for c in "${commands[@]}"; do
    [[ -x $bin/$c ]] || return 1
  done
}

if built; then
  echo "$bin"
  exit 0
fi

log() { echo "k8s-tools: $*" >&2; }

if ! command -v go >/dev/null; then
  log "Go is required to build Kubernetes $version (https://go.dev/dl/)"
  exit 1
fi
need=$(awk '$1 == "go" { print $2; exit }' "$module/go.mod")
have=$(go env GOVERSION | sed 's/^go//')
if [[ $(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n1) != "$need" ]]; then
  log "Kubernetes $version needs Go >= $need, found $have"
  exit 1
fi

mkdir -p "$cache"
# One builder at a time (ctest and make demo-cluster may start together): a second caller waits.
exec 9>"$cache/.lock"
if ! flock -n 9; then
  log "another build of $version is running; waiting for it"
  flock 9
fi
if built; then
  echo "$bin"
  exit 0
fi

# Elapsed-time heartbeat so CI logs show the long build is alive.
start=$SECONDS
heartbeat() {
  while sleep 60; do
    log "... still building ($(((SECONDS - start) / 60)) min)"
  done
}
# Not holding the lock nor stdout: a caller's $(...) must not wait for it.
heartbeat 9>&- >/dev/null &
beat=$!
trap 'kill "$beat" 2>/dev/null || true' EXIT

minor=$(echo "$version" | cut -d. -f2)
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"
cd "$module"
log "Kubernetes $version -> $bin (first build: ~10-20 min on 2 cores)"
log "downloading modules (go.sum pinned)"
go mod download
staging="$cache/bin.tmp"
rm -rf "$staging"
mkdir -p "$staging"
for c in "${commands[@]}"; do
  log "building $c ($(((SECONDS - start) / 60)) min elapsed)"
  go build -trimpath -ldflags "$ldflags" -o "$staging/$c" "k8s.io/kubernetes/cmd/$c"
done
touch "$staging/.complete"
rm -rf "$bin"
mv "$staging" "$bin"
log "done in $(((SECONDS - start) / 60)) min $(((SECONDS - start) % 60)) s"
echo "$bin"
