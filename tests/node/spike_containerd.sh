#!/usr/bin/env bash
# Spike for the real-node tier (issue 15): Debian's containerd + runc, started privately, runs
# containers from images built here (tests/node/oci.py, tests/node/pause.c), no registry.
#
#   bash tests/node/spike_containerd.sh
#   KEEP=1 keeps the temp dir; NODE_CACHE=dir (default .cache/node, scripts/node-tools.sh) holds the
#   unpacked .debs;
#   with $NODE_CACHE/bin/crictl (go install sigs.k8s.io/cri-tools/cmd/crictl) a pod goes through the
#   CRI; with KUBELET=path/to/kubelet too, a standalone kubelet runs a static pod; HOLD=secs waits.
#
# Nothing of the host changes: the .debs are fetched with `apt-get download` and unpacked with
# `dpkg-deb -x` (scripts/node-tools.sh) into $NODE_CACHE (no dpkg database entry, no postinst, no service); containerd and
# all it starts live in private mount, pid, net, uts, ipc and cgroup namespaces with tmpfs over
# /run, /var/lib and /var/log; its cgroups sit in one child cgroup of ours per v1 hierarchy, removed
# at the end. Killing the namespace's pid 1 ends every process in it: on EXIT/INT/TERM we kill
# unshare (--kill-child), and if this script is SIGKILLed, unshare gets SIGKILL from the kernel
# (setpriv --pdeathsig); the next run removes the temp dir and cgroups whose owner pid is gone.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${NODE_CACHE:-$("$HERE/../../scripts/node-tools.sh")}
TAG=sigv4-node-spike
APP=localhost/sigv4-injector/app:test
PAUSE=localhost/sigv4-injector/pause:test

hold() { if [[ -n ${HOLD:-} ]]; then log "holding ${HOLD}s (Ctrl-C ends it)"; sleep "$HOLD" & wait $!; fi; }
log() { printf '%s %s\n' "$(date +%T.%3N)" "$*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2fs", b - a }'; }

# ---------------------------------------------------------------- inside the namespaces (pid 1)
inside() {
  local W=$1 R=$CACHE/root
  [[ $$ == 1 && -f $W/hierarchies ]] || { echo "--inside is for the namespaces this script makes" >&2; exit 2; }
  export PATH=$R/usr/bin:$R/usr/sbin:/usr/sbin:/usr/bin:/sbin:/bin
  trap 'exit 130' INT TERM  # pid 1 ignores signals it has no handler for
  for d in /run /var/lib /var/log; do mount -t tmpfs -o mode=755 tmpfs "$d"; done
  mount -t sysfs sysfs /sys  # a sysfs of this net namespace (/sys/class/net), not the host's
  mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
  local dir opts
  while read -r dir opts; do  # each v1 hierarchy, seen from our cgroup namespace: rooted at our cgroup
    mkdir -p "/sys/fs/cgroup/$dir"
    mount -t cgroup -o "$opts" cgroup "/sys/fs/cgroup/$dir"
  done <"$W/hierarchies"
  cp -P "$W"/cglinks/* /sys/fs/cgroup/ 2>/dev/null || true  # cpu -> cpu,cpuacct and the like
  ip link set lo up; hostname sigv4-node
  log "inside: pid $$, cgroup $(grep memory /proc/self/cgroup), hierarchies: $(ls /sys/fs/cgroup | xargs)"

  # overlayfs on the containerd root's file system (ext4 under /tmp) and on tmpfs
  local snap=native fs
  for fs in "$W" /var/lib; do
    mkdir -p "$fs/ovl/"{l,u,w,m}
    if mount -t overlay overlay -o "lowerdir=$fs/ovl/l,upperdir=$fs/ovl/u,workdir=$fs/ovl/w" "$fs/ovl/m"; then
      log "overlay on $(stat -fc %T "$fs") ($fs): works"; umount "$fs/ovl/m"; [[ $fs == "$W" ]] && snap=overlayfs
    else log "overlay on $(stat -fc %T "$fs") ($fs): FAILS"; fi
    rm -rf "$fs/ovl"
  done

  mkdir -p "$W/cni/net.d" "$W/root" "$W/opt"
  cat >"$W/cni/net.d/10-spike.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "spike", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.213.0.0/24"}]]}},
  {"type": "loopback"}]}
EOF
  cat >"$W/config.toml" <<EOF
version = 2
root = "$W/root"
state = "/run/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$W/containerd.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$W/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE"
  restrict_oom_score_adj = ${RESTRICT_OOM:-true}
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "$snap"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "$R/usr/sbin/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$R/usr/lib/cni"
    conf_dir = "$W/cni/net.d"
    max_conf_num = 1
EOF
  local t sock=$W/containerd.sock
  ctr() { command ctr -a "$sock" -n k8s.io "$@"; }
  t=$(now)
  containerd --config "$W/config.toml" >"$W/containerd.log" 2>&1 &
  until ctr version >/dev/null 2>&1; do
    kill -0 $! 2>/dev/null || { tail -30 "$W/containerd.log"; log "containerd died"; return 1; }
    sleep 0.05
  done
  log "containerd ready in $(since "$t") (snapshotter $snap)"
  ctr plugins ls >"$W/plugins.txt"
  grep -E 'cri|overlayfs|native' "$W/plugins.txt" | sed 's/^/  /'
  if grep -q 'io.containerd.grpc.v1 *cri .* ok' "$W/plugins.txt"; then log "CRI plugin: ok"; else log "CRI plugin: NOT ok"; fi

  for img in pause app; do
    t=$(now)
    ctr images import --snapshotter "$snap" "$W/$img.tar" >/dev/null
    log "import $img.tar ($(stat -c %s "$W/$img.tar") bytes) in $(since "$t")"
  done
  ctr images ls | sed 's/^/  /'

  t=$(now)
  ctr run --rm --snapshotter "$snap" "$APP" spike-app /bin/sh -c \
    'echo "hello from $(hostname) as $(id -u), pid $$"; cat /proc/self/cgroup | grep memory' | sed 's/^/  app: /'
  log "ctr run --rm app: done in $(since "$t")"

  t=$(now)
  local rc=0
  ctr run --rm --snapshotter "$snap" "$PAUSE" spike-pause &
  until ctr task ls 2>/dev/null | grep -q 'spike-pause.*RUNNING'; do sleep 0.05; done
  ctr task ls | sed 's/^/  /'
  ctr task kill -s SIGTERM spike-pause
  wait $! || rc=$?
  log "pause: run, SIGTERM, exit status $rc, in $(since "$t")"

  if [[ -x $CACHE/bin/crictl ]]; then cri_probe "$W" "$sock"; else log "crictl: not in $CACHE/bin (Debian has no cri-tools), CRI not exercised"; fi
  if [[ -n ${KUBELET:-} && -x $CACHE/bin/crictl ]]; then kubelet_probe "$W" "$sock"; else hold; fi
  log "containerd warnings/errors:"
  grep -E 'level=(warning|error|fatal)' "$W/containerd.log" | sed -E 's/^time="[^"]*" //; s/^/  /' | sort | uniq -c | sort -rn | head -20
}

# A pod sandbox (the pause image, CNI bridge) and a container in it, through the CRI like a kubelet.
cri_probe() {
  local W=$1 C=("$CACHE/bin/crictl" --config "$W/crictl.yaml") t pod ctr
  printf 'runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\ntimeout: 30\n' "$2" "$2" >"$W/crictl.yaml"
  "${C[@]}" version | sed 's/^/  /'
  "${C[@]}" info -o go-template --template '{{range .status.conditions}}{{.type}}={{.status}} {{end}}' | sed 's/^/  cri conditions: /'
  "${C[@]}" images | sed 's/^/  /'
  cat >"$W/pod.json" <<'EOF'
{"metadata": {"name": "spike", "namespace": "default", "uid": "spike-uid", "attempt": 0},
 "log_directory": "/var/log/pods/spike", "linux": {"cgroup_parent": "/kubepods/podspike"}}
EOF
  cat >"$W/ctr.json" <<EOF
{"metadata": {"name": "app"}, "image": {"image": "$APP"}, "log_path": "app.log",
 "command": ["/bin/sh", "-c", "ip addr show eth0 | grep 'inet '; echo app-ok; sleep 30"],
 "linux": {"resources": {"oom_score_adj": -997},
           "security_context": {"capabilities": {"add_capabilities": ["NET_ADMIN"]}}}}
EOF
  t=$(now)
  pod=$("${C[@]}" runp "$W/pod.json") || { log "crictl runp FAILED"; tail -5 "$W/containerd.log"; return 1; }
  log "crictl runp (pause sandbox + CNI) in $(since "$t")"
  t=$(now)
  ctr=$("${C[@]}" create "$pod" "$W/ctr.json" "$W/pod.json") && "${C[@]}" start "$ctr" >/dev/null
  sleep 1
  log "crictl create+start in $(since "$t"):"; sed 's/^/  app.log: /' /var/log/pods/spike/app.log
  "${C[@]}" exec "$ctr" /bin/busybox cat /proc/1/oom_score_adj | sed 's/^/  oom_score_adj asked -997, got: /'
  local v rule=(-t nat -A OUTPUT -p tcp --dport 80 -j REDIRECT --to-ports 8080)
  for v in legacy nft; do  # the bundled iptables (ldd + xtables modules), in the pod's netns
    "${C[@]}" exec "$ctr" "/usr/sbin/iptables-$v" "${rule[@]}" &&
      "${C[@]}" exec "$ctr" "/usr/sbin/iptables-$v" -t nat -S OUTPUT | grep -- '-A' | sed "s/^/  pod iptables-$v: /"
    printf '  node iptables-%s nat OUTPUT rules: %s\n' "$v" "$("iptables-$v" -t nat -S OUTPUT 2>/dev/null | grep -c -- '-A' || true)"
  done
  "${C[@]}" stopp "$pod" >/dev/null && "${C[@]}" rmp "$pod" >/dev/null && log "crictl stopp/rmp: ok"
}

# A standalone kubelet (no apiserver) runs a static pod: native sidecar with a startup probe + app.
kubelet_probe() {
  local W=$1 sock=$2 C=("$CACHE/bin/crictl" --config "$W/crictl.yaml") t f v kpid
  [[ -n $W && -d $W ]] || return 1
  mkdir -p "$W/manifests" "$W/sysctl" "$W/volume-plugins"
  # the kubelet sets these global sysctls: give it private files in their place (this mount ns only)
  for f in vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops \
           kernel/keys/root_maxkeys kernel/keys/root_maxbytes; do
    v=$W/sysctl/$f; mkdir -p "${v%/*}"; cat "/proc/sys/$f" >"$v"; cp "$v" "$v.host"
    mount --bind "$v" "/proc/sys/$f"
  done
  cat >"$W/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://$sock
staticPodPath: $W/manifests
volumePluginDir: $W/volume-plugins
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
makeIPTablesUtilChains: false
oomScoreAdj: 0
enableServer: false
authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
fileCheckFrequency: 1s
syncFrequency: 5s
YAML
  cat >"$W/manifests/spike.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: spike, namespace: default}
spec:
  initContainers:
  - name: proxy
    image: $APP
    imagePullPolicy: Never
    restartPolicy: Always
    command: [/bin/sh, -c, 'echo proxy up; sleep 3; : >/tmp/ready; echo proxy ready; exec sleep 3600']
    startupProbe: {exec: {command: [/bin/busybox, test, -f, /tmp/ready]}, periodSeconds: 1, failureThreshold: 30}
  containers:
  - name: app
    image: $APP
    imagePullPolicy: Never
    command: [/bin/sh, -c, 'echo app started; exec sleep 3600']
YAML
  t=$(now)
  "$KUBELET" --config "$W/kubelet.yaml" --v=2 >"$W/kubelet.log" 2>&1 &
  kpid=$!
  until "${C[@]}" ps --name '^app$' -q 2>/dev/null | grep -q .; do
    kill -0 "$kpid" 2>/dev/null || { tail -20 "$W/kubelet.log"; log "kubelet died"; return 1; }
    if awk -v a="$t" -v b="$(now)" 'BEGIN { exit !(b - a > 90) }'; then log "kubelet: no app after 90s"; break; fi
    sleep 0.2
  done
  log "kubelet $("$KUBELET" --version | cut -d' ' -f2): static pod's app running $(since "$t") after kubelet start"
  sleep 1
  "${C[@]}" ps -a | sed 's/^/  /'
  for f in /var/log/pods/*/*/0.log; do [[ -f $f ]] && sed "s|^|  ${f#/var/log/pods/}: |" "$f"; done
  "${C[@]}" exec "$("${C[@]}" ps --name '^app$' -q | head -1)" /bin/busybox cat /proc/1/oom_score_adj | sed 's/^/  app oom_score_adj: /' || true
  grep -E '^[EW][0-9]{4}' "$W/kubelet.log" | sed -E 's/^([EW])[0-9]{4} [0-9:.]+ +[0-9]+ /\1 /' | cut -c1-200 |
    sort | uniq -c | sort -rn | head -25 | sed 's/^/  kubelet: /'
  for f in vm/overcommit_memory kernel/panic kernel/panic_on_oops; do
    printf '  shielded %s: host %s, kubelet wrote %s\n' "$f" "$(cat "$W/sysctl/$f.host")" "$(cat "$W/sysctl/$f")"
  done
  hold
  kill "$kpid"; wait "$kpid" 2>/dev/null || true
}

# ---------------------------------------------------------------- on the host
if [[ ${1:-} == --inside ]]; then inside "$2"; exit; fi

[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }
if [[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]]; then
  echo "cgroup v2 (unified) host: this spike handles v1 only (mount cgroup2 in the cgroupns instead)" >&2
  exit 1
fi

# the v1 hierarchies: mount point, then its hierarchy's mount options (cpu,cpuacct / none,name=systemd)
hierarchies() {
  awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break
         if ($(i + 1) != "cgroup") next
         n = split($(i + 3), o, ","); opts = ""
         for (j = 1; j <= n; j++) if (o[j] !~ /^(rw|ro|relatime|noexec|nosuid|nodev|clone_children|xattr|release_agent=.*)$/)
           opts = opts (opts == "" ? "" : ",") o[j]
         print $5, opts }' /proc/self/mountinfo
}
# our cgroup directory in the hierarchy mounted at $1 with options $2
cg_dir() {
  local key=${2#none,} path
  path=$(awk -F: -v k="$key" '$2 == k { print $3 }' /proc/self/cgroup)
  [[ -n $path ]] || { echo "no line for $key in /proc/self/cgroup" >&2; return 1; }
  echo "$1${path%/}"
}
cleanup_stale() {  # leftovers of runs that died by SIGKILL
  local d pid mnt h
  for d in /tmp/$TAG.*; do
    [[ -d $d ]] || continue
    pid=$(cat "$d/owner" 2>/dev/null || echo 0)
    kill -0 "$pid" 2>/dev/null || { log "removing stale $d"; rm -rf "$d"; }
  done
  while read -r mnt h; do
    for d in $(find "$mnt" -maxdepth 4 -type d -name "$TAG-*" 2>/dev/null); do
      [[ -d $d ]] || continue
      kill -0 "${d##*-}" 2>/dev/null || find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
  done < <(hierarchies)
}

fetch() {  # containerd, runc, CNI plugins, busybox from Debian, unpacked without installing
  NODE_CACHE=$CACHE "$HERE/../../scripts/node-tools.sh" >/dev/null
}

W=$(mktemp -d /tmp/$TAG.XXXXXX)
echo $$ >"$W/owner"
CGS=()
NS_PID=
teardown() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  # unshare ignores TERM; its death SIGKILLs the namespace's pid 1 (--kill-child), so all in it
  [[ -n $NS_PID ]] && kill -KILL "$NS_PID" 2>/dev/null && wait "$NS_PID" 2>/dev/null
  sleep 0.2  # the kernel reaps the namespace's processes
  local d i
  for d in "${CGS[@]}"; do  # the namespace's processes are gone: remove its cgroups, deepest first
    for i in $(seq 50); do
      find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; [[ -d $d ]] || break; sleep 0.1
    done
    [[ -d $d ]] && log "could not remove cgroup $d"
  done
  if [[ ${KEEP:-0} == 1 ]]; then log "kept $W"; else rm -rf "$W"; fi
  exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT TERM

cleanup_stale
fetch
log "versions: $("$CACHE/root/usr/bin/containerd" --version | cut -d' ' -f3-) | runc $("$CACHE/root/usr/sbin/runc" --version | head -1 | cut -d' ' -f3) | CNI plugins $(dpkg-deb -f "$CACHE"/debs/containernetworking-plugins_*.deb Version)"

t0=$(now)
gcc -static -Os -s -Wall -Wextra -o "$W/pause" "$HERE/pause.c"
python3 "$HERE/oci.py" "$W/pause.tar" "$PAUSE" --file "$W/pause:/pause" --entrypoint /pause --user 65535:65535 >/dev/null
python3 "$HERE/oci.py" "$W/app.tar" "$APP" --file "$CACHE/root/bin/busybox:/bin/busybox" \
  --symlink /bin/sh:busybox --symlink /bin/sleep:busybox --symlink /bin/ip:busybox --dir /tmp:1777 --dir /run --cmd /bin/sh \
  --elf /usr/sbin/xtables-legacy-multi:/usr/sbin/xtables-legacy-multi --elf /usr/sbin/xtables-nft-multi:/usr/sbin/xtables-nft-multi \
  --tree /usr/lib/x86_64-linux-gnu/xtables:/usr/lib/x86_64-linux-gnu/xtables \
  --symlink /usr/sbin/iptables-legacy:xtables-legacy-multi --symlink /usr/sbin/iptables-nft:xtables-nft-multi >/dev/null
log "built pause and images in $(since "$t0")"

: >"$W/hierarchies"; mkdir "$W/cglinks"
while read -r mnt opts; do  # one child cgroup of ours per v1 hierarchy; the namespace is rooted there
  d=$(cg_dir "$mnt" "$opts")/$TAG-$$
  mkdir "$d"; CGS+=("$d"); echo "${mnt##*/} $opts" >>"$W/hierarchies"
  if [[ $opts == *cpuset* ]]; then cat "${d%/*}/cpuset.cpus" >"$d/cpuset.cpus"; cat "${d%/*}/cpuset.mems" >"$d/cpuset.mems"; fi
done < <(hierarchies)
find /sys/fs/cgroup -maxdepth 1 -type l -exec cp -P {} "$W/cglinks/" \;
procs=$(printf '%s/cgroup.procs ' "${CGS[@]}")

nice -n 10 bash -c 'for f in '"$procs"'; do echo $$ >"$f"; done
  exec setpriv --pdeathsig KILL unshare --mount --pid --fork --mount-proc --net --uts --ipc --cgroup --kill-child bash "$0" --inside "$1"' \
  "$HERE/spike_containerd.sh" "$W" &
NS_PID=$!
wait "$NS_PID"
NS_PID=
log "spike done in $(since "$t0")"
