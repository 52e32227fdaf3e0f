#!/usr/bin/env bash
# Builds the real aws-sigv4-proxy (the sidecar sigv4-injector injects) from its vendored release
# source, fully offline, into .cache/proxy/<version>/ (git-ignored) and prints the binary's path.
#
#   scripts/proxy.sh              build if needed, print the binary path
#   scripts/proxy.sh --version    print the pinned version
#
# Why from source: the upstream go.mod says `module aws-sigv4-proxy`, so the Go module proxy
# refuses it, and its image cannot be pulled here. The tarball (a `git archive` of tag v1.11.1
# with vendor/) lives in ../shared/third_party/aws-sigv4-proxy/; SIGV4_PROXY_SRC overrides it.
# Its sha256 is checked before every build. SIGV4_PROXY_CACHE overrides the cache root.
#
# Builds only when the binary is missing or was built from another tarball (a .complete stamp
# records the checksum), so tests may call it every time. Parallel callers build once (flock).
# Progress goes to stderr; stdout carries only the path.
set -euo pipefail

VERSION=1.11.1
SHA256=9b59572c6a2b4810a8fd016bbc999835160e5190056212b0e3add5812b27bf63

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ ${1:-} == --version ]]; then
  echo "$VERSION"
  exit 0
fi

src=${SIGV4_PROXY_SRC:-$root/../shared/third_party/aws-sigv4-proxy/aws-sigv4-proxy-$VERSION.tar.gz}
cache=${SIGV4_PROXY_CACHE:-$root/.cache/proxy}/$VERSION
bin=$cache/aws-sigv4-proxy
stamp=$cache/.complete

log() { echo "proxy: $*" >&2; }

# built: the binary exists and the stamp names the pinned tarball's checksum.
built() {
  [[ -x $bin && -f $stamp && $(cat "$stamp") == "$SHA256" ]]
}

if built; then
  echo "$bin"
  exit 0
fi

mkdir -p "$cache"
# Test tiers run in parallel and may all ask for the proxy: a second caller waits for the first.
exec 9>"$cache/.lock"
if ! flock -n 9; then
  log "another build of aws-sigv4-proxy $VERSION is running; waiting for it"
  flock 9
fi
if built; then
  echo "$bin"
  exit 0
fi

if [[ ! -f $src ]]; then
  log "source tarball not found: $src"
  log "expected aws-sigv4-proxy-$VERSION.tar.gz (set SIGV4_PROXY_SRC to its path)"
  exit 1
fi
actual=$(sha256sum "$src" | cut -d' ' -f1)
if [[ $actual != "$SHA256" ]]; then
  log "checksum mismatch for $src"
  log "  expected $SHA256"
  log "  got      $actual"
  exit 1
fi
if ! command -v go >/dev/null; then
  log "Go is required to build aws-sigv4-proxy $VERSION (https://go.dev/dl/)"
  exit 1
fi

log "building aws-sigv4-proxy $VERSION (first run only, 15-90 s)"
start=$SECONDS
work=$(mktemp -d "${TMPDIR:-/tmp}/aws-sigv4-proxy.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -xzf "$src" -C "$work"
srcdir=$work/aws-sigv4-proxy-$VERSION
if [[ ! -d $srcdir ]]; then
  log "tarball does not contain aws-sigv4-proxy-$VERSION/"
  exit 1
fi

rm -f "$stamp"
# Offline: vendored modules only, no proxy, no toolchain download. CGO off gives a static binary
# like the upstream FROM-scratch image. Build into the temp dir, then move into place atomically.
(
  cd "$srcdir"
  CGO_ENABLED=0 GOFLAGS="-mod=vendor -buildvcs=false" GOPROXY=off GOTOOLCHAIN=local \
    go build -trimpath -ldflags "-s -w" -o "$work/aws-sigv4-proxy" ./cmd/aws-sigv4-proxy >&2
)
mv -f "$work/aws-sigv4-proxy" "$bin"
seconds=$((SECONDS - start))
echo "$seconds" >"$cache/build-seconds"
echo "$SHA256" >"$stamp"
log "built in $seconds s"
echo "$bin"
