#!/usr/bin/env bash
# Builds the pinned Go test tools into .cache/tools/bin (git-ignored) and prints the binary's path.
#
#   scripts/tools.sh helm        -> .cache/tools/bin/helm
#   scripts/tools.sh kubecheck   -> .cache/tools/bin/kubecheck (offline typed-schema manifest check)
#
# Builds only when the binary is missing or its pinned version changed (a stamp file records the
# version), so it is cheap to call from every test. Progress goes to stderr; stdout carries only
# the path. Tools come from the Go module proxy with `go install` (no prebuilt downloads: this
# network reaches package registries only).
#
# kubeconform is not built: it validates against JSON schemas fetched from the internet at run
# time, which is not reachable here and on CI; kubecheck (tests/chart/kubecheck) decodes every
# rendered object strictly into the real k8s.io/api types instead, offline.
set -euo pipefail

# Pinned versions. Bumping one rebuilds that tool on the next call.
HELM_VERSION=v3.21.4
# The Kubernetes version `helm template` and `helm lint` assume without a cluster: helm's release
# build sets it from its client-go (v0.36 -> 1.36); a plain `go install` would leave 1.20.
HELM_K8S_MINOR=36

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin_dir=${SIGV4_TOOLS_DIR:-$root/.cache/tools}/bin
mkdir -p "$bin_dir"

log() { echo "tools: $*" >&2; }

# build NAME VERSION COMMAND... : runs COMMAND with GOBIN set unless NAME is built at VERSION.
build() {
  local name=$1 version=$2
  shift 2
  local stamp=$bin_dir/.$name.version
  if [[ -x $bin_dir/$name && -f $stamp && $(cat "$stamp") == "$version" ]]; then
    echo "$bin_dir/$name"
    return 0
  fi
  command -v go >/dev/null || { log "go is required to build $name"; exit 1; }
  # Test tiers run in parallel and may all ask for the same tool: build it once.
  exec 9>"$bin_dir/.$name.lock"
  flock 9
  if [[ -x $bin_dir/$name && -f $stamp && $(cat "$stamp") == "$version" ]]; then
    exec 9>&-
    echo "$bin_dir/$name"
    return 0
  fi
  log "building $name $version (first run only; a few minutes on 2 cores)..."
  local start=$SECONDS
  rm -f "$stamp"
  # -p 1 keeps a shared 2-core machine usable; CGO off gives a static, portable binary.
  GOBIN=$bin_dir CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -buildvcs=false" "$@" >&2
  echo "$version" >"$stamp"
  exec 9>&-
  log "built $name $version in $((SECONDS - start))s"
  echo "$bin_dir/$name"
}

case ${1:-} in
  helm)
    ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
    for pkg in chartutil lint/rules; do
      ldflags+=" -X helm.sh/helm/v3/pkg/$pkg.k8sVersionMajor=1"
      ldflags+=" -X helm.sh/helm/v3/pkg/$pkg.k8sVersionMinor=$HELM_K8S_MINOR"
    done
    build helm "$HELM_VERSION+k8s1.$HELM_K8S_MINOR" go install -p 1 -trimpath -ldflags "$ldflags" \
      "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
    ;;
  kubecheck)
    # Versioned by its sources, so an edit to the checker rebuilds it.
    src=$root/tests/chart/kubecheck
    version=$(cat "$src/go.mod" "$src/go.sum" "$src"/*.go | sha256sum | cut -c1-16)
    (cd "$src" && build kubecheck "$version" go install -p 1 -trimpath -ldflags "-s -w" .)
    ;;
  *)
    echo "usage: scripts/tools.sh helm|kubecheck" >&2
    exit 2
    ;;
esac
