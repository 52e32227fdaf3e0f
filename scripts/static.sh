#!/usr/bin/env bash
# make static: a self-contained build of the binary — every library it needs but glibc (yaml-cpp,
# spdlog, fmt, OpenSSL, libstdc++, libgcc_s) copied beside it, found through its RPATH — then
# proof that it runs on its own: in a chroot holding only the bundle and the glibc loader,
# as a distroless/cc image would.
#
# Why not `-static`: Debian ships spdlog and fmt as shared libraries only, and the project does not
# vendor third-party source, so a fully static link is not possible from the packages the project
# builds with.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${STATIC_DIR:-build-static}

echo "static: building (Release, bundle rpath) in $out/"
cmake -S . -B "$out" -DCMAKE_BUILD_TYPE=Release -DSIGV4_TESTS=OFF -DSIGV4_BUNDLE=ON >/dev/null
cmake --build "$out" -j "$(nproc)" --target sigv4-injector >/dev/null
bundle="$out/bundle"
rm -rf "$bundle"
mkdir -p "$bundle/bin" "$bundle/lib"
cp "$out/sigv4-injector" "$bundle/bin/"
strip "$bundle/bin/sigv4-injector"
# Everything ldd resolves, except glibc itself (the runtime image provides it).
ldd "$out/sigv4-injector" | awk '$3 ~ /^\// { print $3 }' |
  grep -Ev '/(libc|libm|libpthread|libdl|librt)\.so' | xargs -I{} cp -L {} "$bundle/lib/"
echo "static: bundle $(du -sh "$bundle" | cut -f1): bin/sigv4-injector + $(ls "$bundle/lib" | tr '\n' ' ')"

# The binary finds its libraries, and theirs (spdlog's fmt), through its RPATH $ORIGIN/../lib.
rpath=$(readelf -d "$bundle/bin/sigv4-injector" | sed -n 's/.*(RPATH).*\[\(.*\)\]/\1/p')
if [[ $rpath != '$ORIGIN/../lib' ]]; then
  echo "static: the binary's RPATH is '$rpath', not '\$ORIGIN/../lib'" >&2
  exit 1
fi

# The chroot: the bundle under /opt (outside the loader's default directories, so only the
# RPATH finds its libraries), glibc's loader and libc/libm, a workshop manifest. Nothing else.
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/opt/sigv4-injector"
cp -a "$bundle/." "$root/opt/sigv4-injector/"
bin=/opt/sigv4-injector/bin/sigv4-injector
# The loader reads $ORIGIN from /proc/self/exe, as in any container: /proc is mounted in a mount
# namespace of the chroot's own (gone when its last process exits), never on the host. Each call
# execs down to the binary, so its pid is the binary's.
mkdir -p "$root/proc"
enter='mount -t proc proc "$0/proc" && exec chroot "$0" "$@"'
in_root() { unshare --mount --propagation private sh -c "$enter" "$root" "$@"; }
loader=$(ldd "$out/sigv4-injector" | awk '/ld-linux/ { print $1 }')
for lib in "$loader" $(ldd "$out/sigv4-injector" | awk '$3 ~ /\/(libc|libm)\.so/ { print $3 }'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cp examples/workshop-app1.yaml "$root/workshop.yaml"
if [[ $(id -u) -ne 0 ]]; then
  echo "static: not root, so no chroot: checking with the loader's library path only"
  "$bundle/bin/sigv4-injector" version
  exit 0
fi
echo "static: in a chroot with nothing but the bundle and glibc:"
in_root "$bin" version
in_root "$bin" inject -f /workshop.yaml 2>/dev/null | grep -c 'name: sigv4proxy' |
  grep -qx 1 && echo "  inject: the workshop Deployment gets its sidecar"
log="$root/serve.log"
unshare --mount --propagation private sh -c "$enter" "$root" "$bin" serve --self-signed \
  --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 >"$log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  grep -q 'webhook listening on' "$log" && break
  sleep 0.05
done
kill -TERM "$pid"
wait "$pid"
grep -q 'webhook listening on' "$log" && echo "  serve: TLS listener up with a self-signed cert, exited 0 on SIGTERM"
echo "static: ok"
