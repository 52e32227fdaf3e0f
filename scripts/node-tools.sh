#!/usr/bin/env bash
# The node's runtime from Debian, for tests/node: containerd, runc, the CNI plugins and
# busybox-static, fetched with `apt-get download` and unpacked with `dpkg-deb -x` into
# .cache/node/root (no dpkg database entry, no maintainer script, no service started). Only when
# missing; prints the cache folder (its root/ holds the unpacked packages) on stdout, progress on
# stderr.
#
#   scripts/node-tools.sh      unpack if needed, print the cache folder
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${NODE_CACHE:-$root/.cache/node}
packages=(containerd runc containernetworking-plugins busybox-static)

unpacked() { [[ -x $cache/root/usr/bin/containerd && -x $cache/root/bin/busybox && -f $cache/.complete ]]; }

if unpacked; then
  echo "$cache"
  exit 0
fi
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if unpacked; then
  echo "$cache"
  exit 0
fi
start=$SECONDS
echo "node-tools: fetching ${packages[*]} from Debian (unpacked, not installed)" >&2
rm -rf "$cache/debs" "$cache/root"
mkdir -p "$cache/debs" "$cache/root"
# apt-get download runs as the _apt user where it can: let it write here.
chmod 777 "$cache/debs"
if ! (cd "$cache/debs" && apt-get download -q "${packages[@]}" >&2); then
  echo "node-tools: apt-get download failed; refreshing the package lists once" >&2
  apt-get update -qq >&2
  (cd "$cache/debs" && apt-get download -q "${packages[@]}" >&2)
fi
for deb in "$cache"/debs/*.deb; do
  dpkg-deb -x "$deb" "$cache/root"
done
touch "$cache/.complete"
echo "node-tools: done in $((SECONDS - start)) s" >&2
echo "$cache"
