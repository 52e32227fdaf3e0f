#!/usr/bin/env python3
"""A one-node Kubernetes cluster on this machine, in private namespaces (issue 15, work in progress).

    python3 tests/node/node.py [--steps node,helm,app1] [--hold SECONDS] [--keep]

Inside ONE set of private mount/pid/net/uts/ipc/cgroup namespaces (one child cgroup of ours per
v1 hierarchy, tmpfs over /run /var/lib /var/log, private files bind-mounted over the /proc/sys
entries the kubelet writes) it starts etcd, kube-apiserver, kube-controller-manager
(tests/e2e/cluster.py's ControlPlane), kube-scheduler, containerd and a kubelet registered with
the apiserver; imports locally built images (pause,
app = busybox + curl, the project image tagged as the chart's default, the real aws-sigv4-proxy)
and then, step by step:
  node  - the node Ready and a busybox pod Running
  helm  - `helm install` of the chart: both webhook replicas Ready through the kubelet's probes,
          the apiserver calling them through the Service (aggregator routing, no kube-proxy)
  app1  - namespace app1 labelled, the workshop Deployment (app image swapped) injected and Running
Everything is torn down on exit, SIGINT and SIGTERM (SIGKILL of the namespace's pid 1); after a
SIGKILL of this script the kernel kills the namespace (pdeathsig) and the next run removes leftovers.

Environment: NODE_CACHE (default: scripts/node-tools.sh, the Debian containerd/runc/CNI/busybox
unpacked into .cache/node), K8S_BIN (default: scripts/k8s-tools.sh, the pinned release),
STATIC_DIR (default build-static: `make static`'s bundle, built when missing), PROXY_BIN
(default: scripts/proxy.sh).
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import oci  # noqa: E402
import cluster  # noqa: E402

TAG = "sigv4-node"
STATIC_DIR = os.environ.get("STATIC_DIR", os.path.join(ROOT, "build-static"))


def tool(script, env=None):
    """The path a project script builds or unpacks on first use (progress on stderr)."""
    return subprocess.run([os.path.join(ROOT, "scripts", script)], check=True, text=True,
                          stdout=subprocess.PIPE, env=env).stdout.strip()


# The runtime (containerd, runc, CNI plugins, busybox) and Kubernetes at the pinned release, from
# the project's scripts unless given.
CACHE = os.environ.get("NODE_CACHE") or tool("node-tools.sh")
K8S_BIN = os.environ.get("K8S_BIN") or tool("k8s-tools.sh")
PAUSE = "localhost/sigv4-injector/pause:test"
APP = "localhost/sigv4-injector/app:test"
PROXY_REF = "public.ecr.aws/aws-observability/aws-sigv4-proxy:1.11.1"
BRIDGE_IP = "10.213.0.1"
SUBNET = "10.213.0.0/24"
T0 = time.monotonic()


def log(msg):
    print(f"{time.strftime('%H:%M:%S')} +{time.monotonic() - T0:6.1f}s {msg}", flush=True)


def run(*argv, check=True, **kw):
    return subprocess.run(argv, check=check, **kw)


def chart_version():
    with open(os.path.join(ROOT, "charts/sigv4-injector/Chart.yaml")) as f:
        return re.search(r'^appVersion:\s*"?([^"\s]+)', f.read(), re.M).group(1)


# ------------------------------------------------------------------------------------ images
def build_images(w):
    t = time.monotonic()
    R = os.path.join(CACHE, "root")
    busybox = os.path.join(R, "bin/busybox")
    run("gcc", "-static", "-Os", "-s", "-o", f"{w}/pause", f"{HERE}/pause.c")
    img = oci.Image(entrypoint=["/pause"], user="65535:65535")
    img.add_file("/pause", src=f"{w}/pause", mode=0o755)
    img.write(f"{w}/pause.tar", PAUSE)

    def busybox_into(img, applets=("sh", "sleep", "grep", "cat", "ls", "ip", "wget", "id",
                                   "hostname", "echo", "test", "nc", "ps", "env")):
        img.add_file("/bin/busybox", src=busybox, mode=0o755)
        for a in applets:
            img.add_symlink(f"/bin/{a}", "busybox")
        img.add_dir("/tmp", 0o1777)
        img.add_dir("/run", 0o755)

    # app: busybox + curl (with its libraries)
    img = oci.Image(cmd=["/bin/sh"])
    busybox_into(img)
    if os.path.exists("/usr/bin/curl"):
        img.add_elf("/usr/bin/curl", "/usr/bin/curl")
    img.write(f"{w}/app.tar", APP)

    # the project image, laid out like the Dockerfile's: bundle + glibc + iptables + sh/grep
    bundle = os.path.join(STATIC_DIR, "bundle")
    if not os.path.exists(os.path.join(bundle, "bin/sigv4-injector")):
        log(f"building the project's bundle (make static) into {STATIC_DIR}")
        subprocess.run([os.path.join(ROOT, "scripts", "static.sh")], check=True,
                       env={**os.environ, "STATIC_DIR": STATIC_DIR})
    ref = f"ghcr.io/sigv4-injector/sigv4-injector:{chart_version()}"
    img = oci.Image(entrypoint=["/usr/local/bin/sigv4-injector"], cmd=["serve"], user="65532:65532",
                    env=["PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                         "LD_LIBRARY_PATH=/usr/local/lib/sigv4-injector"])
    busybox_into(img)
    binpath = os.path.join(bundle, "bin/sigv4-injector")
    img.add_file("/usr/local/bin/sigv4-injector", src=binpath, mode=0o755)
    for lib in sorted(glob.glob(os.path.join(bundle, "lib/*"))):
        img.add_file(f"/usr/local/lib/sigv4-injector/{os.path.basename(lib)}", src=lib, mode=0o755)
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(bundle, "lib"))
    out = subprocess.run(["ldd", binpath], capture_output=True, text=True, env=env, check=True).stdout
    for m in re.finditer(r"(/\S+)", out):  # glibc and the loader, where the binary looks for them
        lib = m.group(1)
        if not lib.startswith(bundle) and os.path.exists(lib) and oci._norm(lib) not in img.entries:
            img.add_file(lib, src=lib, mode=0o755)
    for multi in ("xtables-legacy-multi", "xtables-nft-multi"):
        img.add_elf(f"/usr/sbin/{multi}", f"/usr/sbin/{multi}")
        kind = multi.split("-")[1]
        for v in ("iptables", "ip6tables"):
            for suffix in ("", "-save", "-restore"):
                img.add_symlink(f"/usr/sbin/{v}-{kind}{suffix}", multi)
    for v in ("iptables", "ip6tables"):  # Debian's default alternative: nft
        for suffix in ("", "-save", "-restore"):
            img.add_symlink(f"/usr/sbin/{v}{suffix}", f"{v}-nft{suffix}")
    img.add_tree("/usr/lib/x86_64-linux-gnu/xtables", "/usr/lib/x86_64-linux-gnu/xtables")
    img.write(f"{w}/project.tar", ref)

    # the real aws-sigv4-proxy, like its upstream FROM scratch image
    proxy = os.environ.get("PROXY_BIN") or subprocess.run(
        [os.path.join(ROOT, "scripts/proxy.sh")], capture_output=True, text=True, check=True).stdout.strip()
    img = oci.Image(entrypoint=["/aws-sigv4-proxy"])
    img.add_file("/aws-sigv4-proxy", src=proxy, mode=0o755)
    img.add_file("/etc/ssl/certs/ca-certificates.crt", src="/etc/ssl/certs/ca-certificates.crt")
    img.write(f"{w}/proxy.tar", PROXY_REF)
    log(f"images built in {time.monotonic() - t:.1f}s (project image {ref})")


# ------------------------------------------------------------------------------ inside: setup
def setup_namespace(w):
    R = os.path.join(CACHE, "root")
    os.environ["PATH"] = f"{R}/usr/bin:{R}/usr/sbin:" + os.environ["PATH"]
    for d in ("/run", "/var/lib", "/var/log"):
        run("mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs", d)
    run("mount", "-t", "sysfs", "sysfs", "/sys")
    run("mount", "-t", "tmpfs", "-o", "mode=755", "cgroup", "/sys/fs/cgroup")
    with open(f"{w}/hierarchies") as f:
        for line in f:
            d, opts = line.split()
            os.makedirs(f"/sys/fs/cgroup/{d}", exist_ok=True)
            run("mount", "-t", "cgroup", "-o", opts, "cgroup", f"/sys/fs/cgroup/{d}")
    for link in glob.glob(f"{w}/cglinks/*"):
        os.symlink(os.readlink(link), f"/sys/fs/cgroup/{os.path.basename(link)}")
    # the kubelet writes these global sysctls: private files in their place (this mount ns only)
    for key in ("vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
                "kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes"):
        v = f"{w}/sysctl/{key}"
        os.makedirs(os.path.dirname(v), exist_ok=True)
        shutil.copy(f"/proc/sys/{key}", v)
        run("mount", "--bind", v, f"/proc/sys/{key}")
    run("ip", "link", "set", "lo", "up")
    run("hostname", "sigv4-node")
    # the node IP lives on the CNI bridge (no dummy module); no default route: nothing leaves
    run("ip", "link", "add", "cni0", "type", "bridge")
    run("ip", "addr", "add", f"{BRIDGE_IP}/24", "dev", "cni0")
    run("ip", "link", "set", "cni0", "up")


def containerd_config(w):
    R = os.path.join(CACHE, "root")
    os.makedirs(f"{w}/cni/net.d", exist_ok=True)
    with open(f"{w}/cni/net.d/10-node.conflist", "w") as f:
        json.dump({"cniVersion": "1.0.0", "name": "node", "plugins": [
            {"type": "bridge", "bridge": "cni0", "isGateway": True, "ipMasq": False,
             "ipam": {"type": "host-local", "ranges": [[{"subnet": SUBNET, "gateway": BRIDGE_IP}]],
                      # pods get a default route via the bridge, as on any node; the node
                      # itself has none, so nothing leaves the machine
                      "routes": [{"dst": "0.0.0.0/0"}],
                      "dataDir": "/var/lib/cni/networks"}},
            {"type": "loopback"}]}, f)
    with open(f"{w}/containerd.toml", "w") as f:
        f.write(f"""version = 2
root = "{w}/containerd-root"
state = "/run/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "{w}/containerd.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "{w}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "{R}/usr/sbin/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{R}/usr/lib/cni"
    conf_dir = "{w}/cni/net.d"
    max_conf_num = 1
""")


POD_IDENTITY = "169.254.170.23"
LATTICE = "169.254.171.17"
TOKEN_DIR = "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount"
POD_IDENTITY_ENV = f"""          value: "Hello from app1-v1"
        - name: AWS_CONTAINER_CREDENTIALS_FULL_URI
          value: http://{POD_IDENTITY}/v1/credentials
        - name: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
          value: {TOKEN_DIR}/eks-pod-identity-token
        volumeMounts:
        - name: eks-pod-identity-token
          mountPath: {TOKEN_DIR}
          readOnly: true
      volumes:
      - name: eks-pod-identity-token
        projected:
          sources:
          - serviceAccountToken:
              audience: pods.eks.amazonaws.com
              expirationSeconds: 86400
              path: eks-pod-identity-token
"""


class NodeControlPlane(cluster.ControlPlane):
    """cluster.ControlPlane plus the flags a real node needs, and kube-scheduler."""

    def _spawn(self, name, argv):
        if name == "kube-apiserver":
            d = self.dir
            self._node_credentials()
            argv = [{"RBAC": "Node,RBAC"}.get(a, a) for a in argv]  # --authorization-mode
            argv = [a + ",NodeRestriction" if a.startswith("NamespaceLifecycle,") else a for a in argv]
            argv = argv + ["--kubelet-preferred-address-types=InternalIP",
                           "--enable-aggregator-routing=true",
                           "--kubelet-certificate-authority", f"{d}/ca.crt",
                           "--kubelet-client-certificate", f"{d}/apiserver-kubelet-client.crt",
                           "--kubelet-client-key", f"{d}/apiserver-kubelet-client.key"]
        return super()._spawn(name, argv)

    def _client_cert(self, name, subj, ext):
        d = self.dir
        with open(f"{d}/{name}.ext", "w") as f:
            f.write(ext)
        cluster.openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
                        f"{name}.csr", "-subj", subj, cwd=d)
        cluster.openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                        "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext", cwd=d)

    def _node_credentials(self):
        """The kubelet's client cert (Node authorizer + NodeRestriction), its serving cert for the
        node IP (the apiserver verifies it), and the apiserver's client cert towards kubelets."""
        self._client_cert("kubelet-client", "/O=system:nodes/CN=system:node:sigv4-node",
                          "extendedKeyUsage=clientAuth\n")
        self._client_cert("kubelet-serving", "/CN=sigv4-node",
                          f"subjectAltName=IP:{BRIDGE_IP},DNS:sigv4-node\nextendedKeyUsage=serverAuth\n")
        self._client_cert("apiserver-kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client",
                          "extendedKeyUsage=clientAuth\n")

    def kubelet_kubeconfig(self):
        d = self.dir
        path = f"{d}/kubelet.kubeconfig"
        with open(path, "w") as f:
            json.dump({"apiVersion": "v1", "kind": "Config", "current-context": "node",
                       "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{self.port}",
                                                              "certificate-authority": f"{d}/ca.crt"}}],
                       "users": [{"name": "node", "user": {"client-certificate": f"{d}/kubelet-client.crt",
                                                           "client-key": f"{d}/kubelet-client.key"}}],
                       "contexts": [{"name": "node", "context": {"cluster": "c", "user": "node"}}]}, f)
        return path

    def start_scheduler(self):
        port = cluster.free_port()
        proc = self._spawn("kube-scheduler", [
            os.path.join(self.k8s_bin, "kube-scheduler"), "--kubeconfig", self.kubeconfig,
            "--authentication-kubeconfig", self.kubeconfig, "--authorization-kubeconfig", self.kubeconfig,
            "--leader-elect=false", "--bind-address", "127.0.0.1", "--secure-port", str(port),
            "--profiling=false", "--v", "1"])
        self.scheduler = proc


def kubelet_config(w, sock, d):
    os.makedirs(f"{w}/volume-plugins", exist_ok=True)
    cfg = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
        "containerRuntimeEndpoint": f"unix://{sock}",
        "volumePluginDir": f"{w}/volume-plugins",
        "cgroupDriver": "cgroupfs", "failCgroupV1": False, "failSwapOn": False,
        "makeIPTablesUtilChains": False, "oomScoreAdj": 0,
        "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                           "x509": {"clientCAFile": f"{d}/ca.crt"}},
        "authorization": {"mode": "Webhook"},
        "tlsCertFile": f"{d}/kubelet-serving.crt", "tlsPrivateKeyFile": f"{d}/kubelet-serving.key",
        "address": BRIDGE_IP, "healthzBindAddress": "127.0.0.1",
        "syncFrequency": "5s", "nodeStatusUpdateFrequency": "5s",
        "imageGCHighThresholdPercent": 100, "imageGCLowThresholdPercent": 99,
        "evictionHard": {"memory.available": "50Mi", "nodefs.available": "1%",
                         "imagefs.available": "1%", "nodefs.inodesFree": "1%"},
        "resolvConf": "/etc/resolv.conf",
        "serializeImagePulls": False,
    }
    path = f"{w}/kubelet.json"
    with open(path, "w") as f:
        json.dump(cfg, f, indent=1)
    return path


def prove_app1(cp, ctr):
    """What really runs: the webhook's review, the rules in the pod's netns and not the node's,
    the app's plain HTTP to a Lattice address arriving at the proxy, the apiserver->kubelet path."""
    k = cp.kubectl
    pod = cp.kubectl_json("get", "pods", "-n", "app1")["items"][0]
    name = pod["metadata"]["name"]
    print(f"  status annotation: {pod['metadata'].get('annotations', {}).get('sigv4-injector.io/status')}")
    st = {c["name"]: c for c in pod["status"].get("initContainerStatuses", []) + pod["status"]["containerStatuses"]}
    probe = next((c.get("startupProbe") for c in pod["spec"].get("initContainers", []) if c["name"] == "sigv4proxy"), None)
    print(f"  native gating: iptables-init {st['iptables-init']['state'].get('terminated', {}).get('finishedAt')} exit "
          f"{st['iptables-init']['state'].get('terminated', {}).get('exitCode')}; sigv4proxy started "
          f"{st['sigv4proxy']['state'].get('running', {}).get('startedAt')} (startupProbe {json.dumps(probe)}); "
          f"app1-v1 started {st['app1-v1']['state'].get('running', {}).get('startedAt')}", flush=True)
    logs = k("logs", "-n", "sigv4-injector", "-l", "app.kubernetes.io/name=sigv4-injector", "--tail", "200",
             "--prefix", check=False).stdout
    print("  webhook log lines about app1:\n" + "\n".join(
        "    " + l[:300] for l in logs.splitlines() if "app1" in l)[-2000:], flush=True)
    app_id = next(c["containerID"] for c in pod["status"]["containerStatuses"]
                  if c["name"] == "app1-v1").split("//", 1)[1]
    tasks = subprocess.run(ctr + ["task", "ls"], capture_output=True, text=True).stdout
    pid = next(l.split()[1] for l in tasks.splitlines() if l.startswith(app_id))
    for v in ("iptables-nft", "iptables-legacy", "ip6tables-nft"):
        pod_rules = subprocess.run(["nsenter", "-t", pid, "-n", v, "-t", "nat", "-S"], capture_output=True,
                                   text=True).stdout
        node_rules = subprocess.run([v, "-t", "nat", "-S"], capture_output=True, text=True).stdout
        print(f"  {v} nat in the pod's netns (pid {pid}):\n" + "".join(
            f"    {l}\n" for l in pod_rules.splitlines() if l.startswith("-A")) +
            f"  {v} nat -A rules in the node's netns: {sum(l.startswith('-A') for l in node_rules.splitlines())}",
            flush=True)
    for cmd in (["ip", "route"], ["ip", "-6", "route"], ["iptables-nft", "-S"], ["ss", "-ltnp"]):
        out = subprocess.run(["nsenter", "-t", pid, "-n", *cmd], capture_output=True, text=True)
        print(f"  pod netns `{' '.join(cmd)}`:\n" + "".join("    " + l + "\n" for l in (out.stdout + out.stderr).splitlines()), flush=True)
    signed_call(cp, name, pod)
    r = k("exec", "-n", "app1", name, "-c", "app1-v1", "--", "curl", "-sS", "-m", "10", "-o", "/dev/null",
          "-w", "%{http_code}", "http://169.254.171.1/hello", check=False)
    print(f"  kubectl exec (apiserver -> kubelet) curl http://169.254.171.1/hello from the app: "
          f"rc {r.returncode}, HTTP {r.stdout!r} {r.stderr.strip()[:300]}", flush=True)
    print("  proxy log tail:\n" + "".join("    " + l[:300] + "\n" for l in k(
        "logs", "-n", "app1", name, "-c", "sigv4proxy", "--tail", "6", check=False).stdout.splitlines()), flush=True)


def signed_call(cp, name, pod):
    """The AWS stand-ins (tests/dataplane/standins.py) on the node, at the link-local addresses
    pods reach through their default route; the app's plain HTTP call, signed by the real proxy
    with Pod Identity credentials, verified by the Lattice stand-in. Another pod is refused."""
    k = cp.kubectl
    for ip in (POD_IDENTITY, LATTICE):
        run("ip", "addr", "add", f"{ip}/32", "dev", "lo")
    token = k("exec", "-n", "app1", name, "-c", "app1-v1", "--", "cat",
              f"{TOKEN_DIR}/eks-pod-identity-token").stdout.strip()
    start_standins(cp, token)
    t = time.monotonic()
    r = k("exec", "-n", "app1", name, "-c", "app1-v1", "--", "curl", "-sS", "-m", "10",
          f"http://{LATTICE}/orders?id=7", check=False)
    print(f"  app: curl http://{LATTICE}/orders?id=7 (plain HTTP, {time.monotonic() - t:.2f}s): "
          f"rc {r.returncode} {r.stdout.strip()[:400]} {r.stderr.strip()[:200]}", flush=True)
    print_records(cp)
    if k("get", "pod", "bb", check=False).returncode == 0:
        ip = pod["status"]["podIP"]
        r = k("exec", "bb", "--", "curl", "-sS", "-m", "5", f"http://{ip}:19471/", check=False)
        print(f"  another pod (bb) -> {ip}:19471 (the proxy): rc {r.returncode} {r.stderr.strip()[:200]}",
              flush=True)


STANDINS = {}


def print_records(cp):
    w = os.path.dirname(cp.dir)
    try:
        for line in open(f"{w}/records.jsonl"):
            rec = json.loads(line)
            print(f"  stand-in record: {rec['service']} {rec.get('method')} {rec.get('path')} "
                  f"status {rec.get('status')} signed {rec.get('signed')} verified {rec.get('verified')} "
                  f"principal {rec.get('principal')} peer {rec.get('peer')}", flush=True)
        os.rename(f"{w}/records.jsonl", f"{w}/records.{time.monotonic()}.jsonl")
    except OSError as e:
        print(f"  no stand-in records: {e}")


def start_standins(cp, token):
    """(Re)starts the stand-ins; the Pod Identity agent accepts exactly `token` (one pod's)."""
    w = os.path.dirname(cp.dir)
    old = STANDINS.pop("proc", None)
    if old:
        old.stop(5)
        cp.procs.remove(old)
    import secrets
    akid = "ASIA" + secrets.token_hex(8).upper()
    cfg = {"records": f"{w}/records.jsonl", "region": "us-west-2", "service": "vpc-lattice-svcs",
           "keys": {akid: {"secret": secrets.token_urlsafe(30), "token": "IQoJ" + secrets.token_urlsafe(60),
                           "principal": "pod-identity"}},
           "lattice": {"http": [[LATTICE, 80]]},
           "pod_identity": {"listen": [[POD_IDENTITY, 80]], "token": token, "access_key_id": akid}}
    with open(f"{w}/standins.json", "w") as f:
        json.dump(cfg, f)
    proc = cluster.Proc("standins", [sys.executable, os.path.join(ROOT, "tests/dataplane/standins.py"),
                                     "--config", f"{w}/standins.json"], w)
    cp.procs.insert(0, proc)  # stopped with the control plane
    STANDINS["proc"] = proc
    wait_for("standins ready", lambda: "standins: ready" in open(proc.log_path).read(), 15, 0.1)


def wait_for(what, probe, timeout, interval=0.5):
    return cluster.wait_until(what, probe, timeout, None, interval)


def inside(w, steps, hold):
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    t_all = time.monotonic()
    setup_namespace(w)
    log(f"namespaces set up (pid {os.getpid()}, node IP {BRIDGE_IP} on cni0)")
    procs = []
    cp = NodeControlPlane(K8S_BIN, w, log=log)
    try:
        # containerd first: it imports images while the control plane starts
        containerd_config(w)
        sock = f"{w}/containerd.sock"
        ctrd = cluster.Proc("containerd", ["containerd", "--config", f"{w}/containerd.toml"], w)
        procs.append(ctrd)
        ctr = ["ctr", "-a", sock, "-n", "k8s.io"]
        wait_for("containerd", lambda: subprocess.run(ctr + ["version"], capture_output=True).returncode == 0, 30, 0.05)
        t = time.monotonic()
        for tar in ("pause", "app", "project", "proxy"):
            run(*ctr, "images", "import", "--snapshotter", "overlayfs", f"{w}/{tar}.tar", stdout=subprocess.DEVNULL)
        log(f"containerd up, 4 images imported in {time.monotonic() - t:.1f}s")

        cp.start()
        cp.start_scheduler()
        k = cp.kubectl
        kcfg = kubelet_config(w, sock, cp.dir)
        kubelet = cluster.Proc("kubelet", [
            os.path.join(K8S_BIN, "kubelet"), "--config", kcfg, "--kubeconfig", cp.kubelet_kubeconfig(),
            "--node-ip", BRIDGE_IP, "--hostname-override", "sigv4-node", "--v", "2"], w, env=cp.env)
        procs.append(kubelet)
        t = time.monotonic()
        wait_for("node Ready", lambda: "True" in k(
            "get", "node", "sigv4-node", "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
            check=False).stdout, 120)
        log(f"node Ready {time.monotonic() - t:.1f}s after kubelet start "
            f"(bring-up total {time.monotonic() - t_all:.1f}s)")
        print(k("get", "nodes", "-o", "wide").stdout, flush=True)

        if "node" in steps:
            t = time.monotonic()
            k("run", "bb", "--image", APP, "--image-pull-policy", "Never", "--restart", "Never",
              "--", "/bin/sh", "-c", "ip addr show eth0 | grep 'inet '; echo hello; exec sleep 3600")
            k("wait", "--for=condition=Ready", "pod/bb", "--timeout=90s", timeout=120)
            log(f"busybox pod Running+Ready in {time.monotonic() - t:.1f}s")
            print(k("get", "pod", "bb", "-o", "wide").stdout, k("logs", "bb", check=False).stdout, flush=True)

        if "helm" in steps:
            t = time.monotonic()
            helm = subprocess.run([os.path.join(ROOT, "scripts/tools.sh"), "helm"], capture_output=True,
                                  text=True, check=True).stdout.strip()
            r = subprocess.run([helm, "--kubeconfig", cp.kubeconfig, "install", "sigv4-injector",
                                os.path.join(ROOT, "charts/sigv4-injector"), "-n", "sigv4-injector",
                                "--create-namespace", "--set", "region=us-west-2", "--wait", "--timeout", "180s"],
                               capture_output=True, text=True, env=cp.env, timeout=240)
            print(r.stdout[-1500:], r.stderr[-3000:], flush=True)
            print(k("get", "pods,svc,endpoints", "-n", "sigv4-injector", "-o", "wide", check=False).stdout, flush=True)
            if r.returncode != 0:
                print(k("describe", "pods", "-n", "sigv4-injector", check=False).stdout[-6000:], flush=True)
                raise RuntimeError("helm install failed")
            k("wait", "--for=condition=Ready", "pod", "-n", "sigv4-injector", "--all", "--timeout=120s", timeout=150)
            log(f"helm install: both webhook replicas Ready in {time.monotonic() - t:.1f}s")

        if "app1" in steps:
            t = time.monotonic()
            with open(os.path.join(ROOT, "examples/workshop-app1.yaml")) as f:
                text = f.read()
            text = text.replace("image: public.ecr.aws/seb-demo/http-server:latest",
                                f"image: {APP}\n        imagePullPolicy: Never\n"
                                "        command: [/bin/sh, -c, 'echo app up; exec sleep 3600']")
            # what the EKS Pod Identity webhook adds to the app container
            text = text.replace('          value: "Hello from app1-v1"\n', POD_IDENTITY_ENV)
            assert "eks-pod-identity-token" in text
            k("apply", "-f", "-", input=text)
            k("label", "namespace", "app1", "sigv4-injector.io/inject=enabled", "--overwrite")
            cp.wait_service_account("app1")

            def pod_ready():
                pods = cp.kubectl_json("get", "pods", "-n", "app1")["items"]
                return pods and all(c["type"] != "Ready" or c["status"] == "True"
                                    for c in pods[0]["status"].get("conditions", [])) and \
                    any(c["type"] == "Ready" for c in pods[0]["status"].get("conditions", []))
            try:
                wait_for("app1 pod Ready", pod_ready, 120, 1)
                log(f"app1: injected pod Ready in {time.monotonic() - t:.1f}s")
                prove_app1(cp, ctr)
            finally:
                print(k("get", "pods", "-n", "app1", "-o", "wide", check=False).stdout, flush=True)
                pods = cp.kubectl_json("get", "pods", "-n", "app1")["items"]
                for p in pods:
                    name = p["metadata"]["name"]
                    st = p["status"]
                    for c in st.get("initContainerStatuses", []) + st.get("containerStatuses", []):
                        print(f"  {name} {c['name']}: ready={c.get('ready')} started={c.get('started')} "
                              f"state={json.dumps(c.get('state'))}", flush=True)
                    for c in p["spec"].get("initContainers", []) + p["spec"]["containers"]:
                        print(f"  --- logs {c['name']}:\n" + k("logs", "-n", "app1", name, "-c", c["name"],
                                                               "--tail", "20", check=False).stdout, flush=True)
                print(k("get", "events", "-n", "app1", check=False).stdout[-3000:], flush=True)

        if "job" in steps:
            t = time.monotonic()
            job = f"""apiVersion: batch/v1
kind: Job
metadata: {{name: signed-once, namespace: app1}}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: call
        image: {APP}
        imagePullPolicy: Never
        command: [/bin/sh, -c, 'for i in $(seq 30); do c=$(curl -sS -m 10 -o /tmp/out -w "%{{http_code}}" http://{LATTICE}/job); echo "try $i: HTTP $c $(cat /tmp/out)"; [ "$c" = 200 ] && exit 0; sleep 1; done; exit 1']
        env:
""" + POD_IDENTITY_ENV.split("\n", 1)[1]
            k("apply", "-f", "-", input=job)

            def job_token():  # the projected token, as the kubelet wrote it for the Job's pod
                uid = k("get", "pods", "-n", "app1", "-l", "job-name=signed-once", "-o",
                        "jsonpath={.items[0].metadata.uid}", check=False).stdout.strip()
                f = f"/var/lib/kubelet/pods/{uid}/volumes/kubernetes.io~projected/eks-pod-identity-token/eks-pod-identity-token"
                return uid and os.path.exists(f) and open(f).read().strip()
            if STANDINS:
                start_standins(cp, wait_for("the Job pod's token", job_token, 60, 0.2))
            try:
                k("wait", "--for=condition=Complete", "job/signed-once", "-n", "app1", "--timeout=90s", timeout=120)
                log(f"job: native-sidecar Job Complete in {time.monotonic() - t:.1f}s")
            finally:
                p = cp.kubectl_json("get", "pods", "-n", "app1", "-l", "job-name=signed-once")["items"]
                for pod in p:
                    st = pod["status"]
                    print(f"  job pod {pod['metadata']['name']}: phase {st.get('phase')}, "
                          f"annotation {pod['metadata'].get('annotations', {}).get('sigv4-injector.io/status')}")
                    for c in st.get("initContainerStatuses", []) + st.get("containerStatuses", []):
                        print(f"    {c['name']}: {json.dumps(c.get('state'))[:260]}")
                    print("    call's log: " + k("logs", "-n", "app1", pod["metadata"]["name"], "-c", "call",
                                                  check=False).stdout.strip()[:600], flush=True)
                print_records(cp)

        if "cli" in steps:
            t = time.monotonic()
            conf = k("get", "configmap", "sigv4-injector", "-n", "sigv4-injector", "-o",
                     "jsonpath={.data.config\\.yaml}").stdout
            with open(f"{w}/cli-config.yaml", "w") as f:
                f.write(conf)
            with open(os.path.join(ROOT, "examples/workshop-app1.yaml")) as f:
                text = f.read()
            docs = [d for d in text.split("\n---\n") if "kind: Deployment" in d]
            text = (docs[0] + "\n").replace("namespace: app1", "namespace: cli").replace(
                "image: public.ecr.aws/seb-demo/http-server:latest",
                f"image: {APP}\n        imagePullPolicy: Never\n"
                "        command: [/bin/sh, -c, 'echo app up; exec sleep 3600']").replace(
                '          value: "Hello from app1-v1"\n', POD_IDENTITY_ENV)
            bundle = os.path.join(STATIC_DIR, "bundle")
            r = subprocess.run([f"{bundle}/bin/sigv4-injector", "inject", "-f", "-", "--config",
                                f"{w}/cli-config.yaml"], input=text, capture_output=True, text=True,
                               env=dict(os.environ, LD_LIBRARY_PATH=f"{bundle}/lib"))
            print(f"  CLI inject rc {r.returncode}: {r.stderr.strip()[:400]}", flush=True)
            k("create", "namespace", "cli")
            cp.wait_service_account("cli")
            k("apply", "-f", "-", input=r.stdout)
            k("rollout", "status", "deployment/app1-v1", "-n", "cli", "--timeout=90s", timeout=120)
            pod = cp.kubectl_json("get", "pods", "-n", "cli")["items"][0]
            name = pod["metadata"]["name"]
            k("wait", "--for=condition=Ready", f"pod/{name}", "-n", "cli", "--timeout=60s", timeout=90)
            st = pod["status"]
            log(f"cli: CLI-injected pod {name} Ready in {time.monotonic() - t:.1f}s; init "
                f"{[c['name'] for c in pod['spec'].get('initContainers', [])]} containers "
                f"{[c['name'] for c in pod['spec']['containers']]}")
            if STANDINS:
                start_standins(cp, k("exec", "-n", "cli", name, "-c", "app1-v1", "--", "cat",
                                     f"{TOKEN_DIR}/eks-pod-identity-token").stdout.strip())
                r = k("exec", "-n", "cli", name, "-c", "app1-v1", "--", "curl", "-sS", "-m", "10",
                      f"http://{LATTICE}/cli", check=False)
                print(f"  cli pod: curl http://{LATTICE}/cli: rc {r.returncode} {r.stdout.strip()[:200]}")
                print_records(cp)

        if "resilience" in steps:
            import threading

            def dry_create(ns, i):
                r = k("run", f"res-{i}", "-n", ns, "--image", APP, "--restart", "Never",
                      "--dry-run=server", "-o", "json", "--", "sleep", "1", check=False)
                if r.returncode:
                    return "refused", r.stderr.strip()[:300]
                st = json.loads(r.stdout)["metadata"].get("annotations", {}).get("sigv4-injector.io/status")
                return ("injected" if st == "injected" else f"not injected ({st})"), ""
            results, stop = [], threading.Event()

            def loop():
                i = 0
                while not stop.is_set():
                    i += 1
                    results.append(dry_create("app1", i))
            t = time.monotonic()
            victim = cp.kubectl_json("get", "pods", "-n", "sigv4-injector")["items"][0]["metadata"]["name"]
            th = threading.Thread(target=loop)
            th.start()
            try:
                time.sleep(1)
                k("delete", "pod", "-n", "sigv4-injector", victim, "--wait=false")
                time.sleep(1)
                k("rollout", "status", "deployment/sigv4-injector", "-n", "sigv4-injector", "--timeout=90s",
                  timeout=120)
                time.sleep(3)
            finally:
                stop.set()
                th.join()
            from collections import Counter
            log(f"resilience: deleted {victim} during {len(results)} dry-run creates in app1: "
                f"{dict(Counter(r for r, _ in results))} {[e for r, e in results if e][:2]} "
                f"({time.monotonic() - t:.1f}s)")
            t = time.monotonic()
            k("scale", "deployment/sigv4-injector", "-n", "sigv4-injector", "--replicas=0")
            k("wait", "--for=delete", "pod", "-n", "sigv4-injector", "-l", "app.kubernetes.io/name=sigv4-injector",
              "--timeout=60s", check=False, timeout=90)
            down_app1, down_default = dry_create("app1", "down"), dry_create("default", "down")
            log(f"resilience: no webhook pod: app1 create -> {down_app1[0]}: {down_app1[1]!r}; "
                f"default create -> {down_default[0]}")
            k("scale", "deployment/sigv4-injector", "-n", "sigv4-injector", "--replicas=2")
            k("rollout", "status", "deployment/sigv4-injector", "-n", "sigv4-injector", "--timeout=90s", timeout=120)
            back = wait_for("admission back", lambda: dry_create("app1", "back")[0] == "injected", 30, 0.2)
            log(f"resilience: webhook back, app1 create injected again: {back} ({time.monotonic() - t:.1f}s)")

        if "readiness" in steps:  # create -> Ready, injected (app1) vs not (default); not in the default steps
            k("create", "namespace", "plain", check=False)
            cp.wait_service_account("plain")
            times = {"app1": [], "plain": []}
            for i in range(5):
                for ns in ("plain", "app1"):
                    t = time.monotonic()
                    k("run", f"rt-{i}", "-n", ns, "--image", APP, "--image-pull-policy", "Never",
                      "--restart", "Never", "--", "/bin/sh", "-c", "exec sleep 3600")
                    k("wait", "--for=condition=Ready", f"pod/rt-{i}", "-n", ns, "--timeout=60s", timeout=90)
                    times[ns].append(time.monotonic() - t)
                    k("delete", "pod", f"rt-{i}", "-n", ns, "--wait=false")
            for ns, label in (("plain", "uninjected"), ("app1", "injected")):
                v = sorted(times[ns])
                log(f"readiness: {label} create->Ready (kubectl run + wait) over {len(v)}: "
                    f"min {v[0]:.2f}s median {v[len(v) // 2]:.2f}s max {v[-1]:.2f}s")

        if "upgrade" in steps:
            helm = subprocess.run([os.path.join(ROOT, "scripts/tools.sh"), "helm"], capture_output=True,
                                  text=True, check=True).stdout.strip()
            before = sorted(p["metadata"]["name"] for p in cp.kubectl_json(
                "get", "pods", "-n", "sigv4-injector")["items"])
            import threading
            results, stop = [], threading.Event()

            def creates():  # server-side dry-run creates go through admission, nothing runs
                i = 0
                while not stop.is_set():
                    i += 1
                    r = k("run", f"loop-{i}", "-n", "app1", "--image", APP, "--restart", "Never",
                          "--dry-run=server", "-o", "json", "--", "sleep", "1", check=False)
                    ok = r.returncode == 0 and json.loads(r.stdout)["metadata"].get(
                        "annotations", {}).get("sigv4-injector.io/status") == "injected"
                    results.append((ok, r.stderr.strip()[:200]))
            th = threading.Thread(target=creates)
            th.start()
            t = time.monotonic()
            try:
                r = subprocess.run([helm, "--kubeconfig", cp.kubeconfig, "upgrade", "sigv4-injector",
                                    os.path.join(ROOT, "charts/sigv4-injector"), "-n", "sigv4-injector",
                                    "--set", "region=us-west-2", "--set", "sidecarMode=legacy",
                                    "--wait", "--timeout", "180s"],
                                   capture_output=True, text=True, env=cp.env, timeout=240)
                k("rollout", "status", "deployment/sigv4-injector", "-n", "sigv4-injector", "--timeout=120s",
                  timeout=150)
                time.sleep(2)
            finally:
                stop.set()
                th.join()
            after = sorted(p["metadata"]["name"] for p in cp.kubectl_json(
                "get", "pods", "-n", "sigv4-injector")["items"])
            bad = [e for ok, e in results if not ok]
            log(f"helm upgrade (config changed) rc {r.returncode} in {time.monotonic() - t:.1f}s: pods "
                f"{before} -> {after}; {len(results)} dry-run creates during the roll, "
                f"{len(results) - len(bad)} injected, {len(bad)} not: {bad[:3]}")
            if r.returncode:
                print(r.stderr[-2000:])
            # legacy mode, after the roll: a Job is skipped with a warning; a pod runs with the proxy
            # as a plain container
            jobpod = json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {
                "name": "job-pod", "namespace": "app1", "ownerReferences": [{
                    "apiVersion": "batch/v1", "kind": "Job", "name": "legacy-job", "controller": True,
                    "uid": "00000000-0000-0000-0000-000000000001"}]},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": APP}]}})
            job = k("create", "-f", "-", "--dry-run=server", "-o", "json", input=jobpod, check=False)
            jst = json.loads(job.stdout)["metadata"].get("annotations", {}) if job.returncode == 0 else {}
            log(f"legacy mode: a Job's pod (dry-run create) rc {job.returncode}, annotations {jst}, "
                f"kubectl shows: {job.stderr.strip()[:400]!r}")
            t = time.monotonic()
            k("run", "legacy-pod", "-n", "app1", "--image", APP, "--image-pull-policy", "Never",
              "--restart", "Never", "--", "/bin/sh", "-c", "exec sleep 3600")
            k("wait", "--for=condition=Ready", "pod/legacy-pod", "-n", "app1", "--timeout=90s", check=False, timeout=120)
            lp = cp.kubectl_json("get", "pod", "legacy-pod", "-n", "app1")
            log(f"legacy mode: pod {lp['status'].get('phase')} in {time.monotonic() - t:.1f}s, init "
                f"{[c['name'] for c in lp['spec'].get('initContainers', [])]}, containers "
                f"{[(c['name'], c.get('ready')) for c in lp['status'].get('containerStatuses', [])]}")
            t = time.monotonic()
            r = subprocess.run([helm, "--kubeconfig", cp.kubeconfig, "uninstall", "sigv4-injector", "-n",
                                "sigv4-injector", "--wait", "--timeout", "120s"],
                               capture_output=True, text=True, env=cp.env, timeout=150)
            k("wait", "--for=delete", "pod", "-n", "sigv4-injector", "-l",
              "app.kubernetes.io/instance=sigv4-injector", "--timeout=60s", check=False, timeout=90)
            left = k("get", "all,configmap,secret,serviceaccount,pdb,mutatingwebhookconfiguration", "-A",
                     "-l", "app.kubernetes.io/instance=sigv4-injector", "-o", "name", check=False).stdout.split()
            webhooks = k("get", "mutatingwebhookconfiguration", "-o", "name", check=False).stdout.split()
            app = k("get", "pods", "-n", "app1", "-l", "app=app1-v1", "-o",
                    "jsonpath={range .items[*]}{.metadata.name} {.status.phase} "
                    "{.status.containerStatuses[*].ready}{end}", check=False).stdout
            log(f"helm uninstall rc {r.returncode} in {time.monotonic() - t:.1f}s: objects left {left}, "
                f"webhook configurations {webhooks}; the injected pod: {app}")

        log(f"all steps done; total {time.monotonic() - t_all:.1f}s inside")
        if hold:
            log(f"holding {hold}s; KUBECONFIG={cp.kubeconfig} (inside the namespaces: "
                f"nsenter -t <pid of node.py --inside> -a)")
            time.sleep(hold)
    except BaseException:
        for p in procs + cp.procs:
            print(p.tail(15), flush=True)
        raise
    finally:
        for p in reversed(procs[1:]):
            p.stop(10)
        cp.stop()
        procs[0].stop(10) if procs else None


# ---------------------------------------------------------------------------------- host side
def hierarchies():
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            a = line.split()
            i = a.index("-")
            if a[i + 1] != "cgroup":
                continue
            opts = [o for o in a[i + 3].split(",") if not re.match(
                r"^(rw|ro|relatime|noexec|nosuid|nodev|clone_children|xattr|release_agent=.*)$", o)]
            out.append((a[4], ",".join(opts)))
    return out


def cg_dir(mnt, opts):
    key = opts[5:] if opts.startswith("none,") else opts
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, k, path = line.rstrip("\n").split(":", 2)
            if k == key:
                return mnt + path.rstrip("/")
    raise RuntimeError(f"no line for {key} in /proc/self/cgroup")


def rm_cgroup(d):
    for _ in range(50):
        for root, dirs, _ in os.walk(d, topdown=False):
            try:
                os.rmdir(root)
            except OSError:
                pass
        if not os.path.isdir(d):
            return
        time.sleep(0.1)
    log(f"could not remove cgroup {d}")


def cleanup_stale():
    for d in glob.glob(f"/tmp/{TAG}.*"):
        try:
            pid = int(open(f"{d}/owner").read())
            os.kill(pid, 0)
        except (OSError, ValueError):
            log(f"removing stale {d}")
            subprocess.run(["umount", "-R", "-l", d], capture_output=True)
            shutil.rmtree(d, ignore_errors=True)
    for mnt, _ in hierarchies():
        for d in glob.glob(f"{mnt}/**/{TAG}-*", recursive=True)[:20]:
            try:
                os.kill(int(d.rsplit("-", 1)[1]), 0)
            except (OSError, ValueError):
                rm_cgroup(d)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--inside")
    ap.add_argument("--steps", default="node,helm,app1,job,cli,resilience,upgrade")
    ap.add_argument("--hold", type=float, default=float(os.environ.get("HOLD", 0) or 0))
    ap.add_argument("--keep", action="store_true", default=os.environ.get("KEEP") == "1")
    a = ap.parse_args()
    steps = a.steps.split(",")
    if a.inside:
        if os.getpid() != 1:
            sys.exit("--inside is for the namespaces this script makes")
        inside(a.inside, steps, a.hold)
        return
    if os.getuid() != 0:
        sys.exit("run as root")
    if subprocess.run(["stat", "-fc", "%T", "/sys/fs/cgroup"], capture_output=True, text=True).stdout.strip() == "cgroup2fs":
        sys.exit("cgroup v2 host: not handled yet (mount cgroup2 in the cgroup namespace instead)")
    cleanup_stale()
    os.environ.update(NODE_CACHE=CACHE, K8S_BIN=K8S_BIN)  # the namespaces' pid 1 reuses them
    w = tempfile.mkdtemp(prefix=f"{TAG}.", dir="/tmp")
    with open(f"{w}/owner", "w") as f:
        f.write(str(os.getpid()))
    cgs = []
    ns = None

    def teardown(*_):
        nonlocal ns
        if ns is not None and ns.poll() is None:
            ns.kill()  # unshare --kill-child: the namespace's pid 1, so everything in it, dies
            ns.wait()
        ns = None
        time.sleep(0.3)
        for d in cgs:
            rm_cgroup(d)
        if a.keep:
            log(f"kept {w}")
        else:
            subprocess.run(["umount", "-R", "-l", w], capture_output=True)
            shutil.rmtree(w, ignore_errors=True)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rc = 1
    try:
        build_images(w)
        os.makedirs(f"{w}/cglinks")
        with open(f"{w}/hierarchies", "w") as f:
            for mnt, opts in hierarchies():
                d = f"{cg_dir(mnt, opts)}/{TAG}-{os.getpid()}"
                os.mkdir(d)
                cgs.append(d)
                f.write(f"{os.path.basename(mnt)} {opts}\n")
                if "cpuset" in opts.split(","):
                    for k in ("cpuset.cpus", "cpuset.mems"):
                        shutil.copy(f"{os.path.dirname(d)}/{k}", f"{d}/{k}")
        for link in glob.glob("/sys/fs/cgroup/*"):
            if os.path.islink(link):
                os.symlink(os.readlink(link), f"{w}/cglinks/{os.path.basename(link)}")
        procs_files = [f"{d}/cgroup.procs" for d in cgs]

        def enter_cgroups():
            for p in procs_files:
                with open(p, "w") as f:
                    f.write(str(os.getpid()))
        argv = ["setpriv", "--pdeathsig", "KILL", "unshare", "--mount", "--pid", "--fork", "--mount-proc",
                "--net", "--uts", "--ipc", "--cgroup", "--kill-child",
                sys.executable, os.path.abspath(__file__), "--inside", w, "--steps", a.steps,
                "--hold", str(a.hold)]
        ns = subprocess.Popen(argv, preexec_fn=enter_cgroups)
        rc = ns.wait()
        ns = None
        log(f"node.py done, rc {rc}")
    except KeyboardInterrupt:
        rc = 130
    finally:
        teardown()
    sys.exit(rc)


if __name__ == "__main__":
    main()
