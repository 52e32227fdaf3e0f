"""The one-node cluster, started inside the namespaces node.py makes: the node's own mounts and
network (setup_namespace), containerd with its own config, root, state and socket, the control
plane of tests/e2e/cluster.py with what a node needs (Node authorizer, NodeRestriction, the
apiserver -> kubelet certificates, aggregator routing), kube-scheduler, and a kubelet registered
as `sigv4-node`. Facts behind each setting: docs/node.md."""
import glob
import json
import os
import shutil
import subprocess
import time

import cluster
import images

NODE = "sigv4-node"
BRIDGE_IP = "10.213.0.1"  # the node IP lives on the CNI bridge (no dummy module here)
SUBNET = "10.213.0.0/24"
# the kubelet writes these global sysctls: private files are bind-mounted in their place
SHIELDED_SYSCTLS = ("vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
                    "kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes")


def run(*argv, **kw):
    return subprocess.run(argv, check=True, **kw)


def setup_namespace(w, runtime_root):
    """The node's view, in the private mount/net namespaces: tmpfs over /run /var/lib /var/log,
    its own sysfs and cgroup mounts (one child cgroup of ours per v1 hierarchy, listed by the
    host side in w/hierarchies), the shielded sysctls, lo up and the bridge with the node IP; no
    default route, so nothing leaves."""
    os.environ["PATH"] = f"{runtime_root}/usr/bin:{runtime_root}/usr/sbin:" + os.environ["PATH"]
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
    for key in SHIELDED_SYSCTLS:
        private = f"{w}/sysctl/{key}"
        os.makedirs(os.path.dirname(private), exist_ok=True)
        shutil.copy(f"/proc/sys/{key}", private)
        run("mount", "--bind", private, f"/proc/sys/{key}")
    run("ip", "link", "set", "lo", "up")
    run("hostname", NODE)
    run("ip", "link", "add", "cni0", "type", "bridge")
    run("ip", "addr", "add", f"{BRIDGE_IP}/24", "dev", "cni0")
    run("ip", "link", "set", "cni0", "up")


def containerd_config(w, runtime_root):
    os.makedirs(f"{w}/cni/net.d", exist_ok=True)
    with open(f"{w}/cni/net.d/10-node.conflist", "w") as f:
        json.dump({"cniVersion": "1.0.0", "name": "node", "plugins": [
            {"type": "bridge", "bridge": "cni0", "isGateway": True, "ipMasq": False,
             "ipam": {"type": "host-local", "ranges": [[{"subnet": SUBNET, "gateway": BRIDGE_IP}]],
                      # pods get a default route via the bridge, as on any node (else connect()
                      # to a Lattice address fails before the nat rule can redirect it); the
                      # node itself has none, so nothing leaves the machine
                      "routes": [{"dst": "0.0.0.0/0"}],
                      "dataDir": "/var/lib/cni/networks"}},
            {"type": "loopback"}]}, f)
    path = f"{w}/containerd.toml"
    with open(path, "w") as f:
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
  sandbox_image = "{images.PAUSE}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "{runtime_root}/usr/sbin/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{runtime_root}/usr/lib/cni"
    conf_dir = "{w}/cni/net.d"
    max_conf_num = 1
""")
    return path


class NodeControlPlane(cluster.ControlPlane):
    """cluster.ControlPlane plus the flags a real node needs, and kube-scheduler."""

    def _spawn(self, name, argv):
        if name == "kube-apiserver":
            d = self.dir
            self._node_credentials()
            argv = [{"RBAC": "Node,RBAC"}.get(a, a) for a in argv]  # --authorization-mode
            argv = [a + ",NodeRestriction" if a.startswith("NamespaceLifecycle,") else a for a in argv]
            argv = argv + ["--kubelet-preferred-address-types=InternalIP",  # no DNS
                           "--enable-aggregator-routing=true",  # Services reached without kube-proxy
                           "--kubelet-certificate-authority", f"{d}/ca.crt",
                           "--kubelet-client-certificate", f"{d}/apiserver-kubelet-client.crt",
                           "--kubelet-client-key", f"{d}/apiserver-kubelet-client.key"]
        return super()._spawn(name, argv)

    def _cert(self, name, subj, ext):
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
        self._cert("kubelet-client", f"/O=system:nodes/CN=system:node:{NODE}", "extendedKeyUsage=clientAuth\n")
        self._cert("kubelet-serving", f"/CN={NODE}",
                   f"subjectAltName=IP:{BRIDGE_IP},DNS:{NODE}\nextendedKeyUsage=serverAuth\n")
        self._cert("apiserver-kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client",
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
        self._spawn("kube-scheduler", [
            os.path.join(self.k8s_bin, "kube-scheduler"), "--kubeconfig", self.kubeconfig,
            "--authentication-kubeconfig", self.kubeconfig, "--authorization-kubeconfig", self.kubeconfig,
            "--leader-elect=false", "--bind-address", "127.0.0.1", "--secure-port", str(port),
            "--profiling=false", "--v", "1"])


def kubelet_config(w, sock, d):
    os.makedirs(f"{w}/volume-plugins", exist_ok=True)
    cfg = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
        "containerRuntimeEndpoint": f"unix://{sock}",
        "volumePluginDir": f"{w}/volume-plugins",  # else it creates /usr/libexec/kubernetes on the host
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


class Node:
    """containerd + control plane + scheduler + kubelet, and what scenarios need of them."""

    def __init__(self, w, runtime_root, k8s_bin, helm, log):
        self.w, self.runtime_root, self.k8s_bin, self.helm, self.log = w, runtime_root, k8s_bin, helm, log
        self.cp = NodeControlPlane(k8s_bin, w, log=log)
        self.procs = []
        self.sock = f"{w}/containerd.sock"
        self.ctr = ["ctr", "-a", self.sock, "-n", "k8s.io"]

    def start(self):
        t0 = time.monotonic()
        containerd = cluster.Proc("containerd", ["containerd", "--config",
                                                 containerd_config(self.w, self.runtime_root)], self.w)
        self.procs.append(containerd)
        cluster.wait_until("containerd", lambda: subprocess.run(
            self.ctr + ["version"], capture_output=True).returncode == 0, 30, containerd, 0.05)
        t = time.monotonic()
        for tar in ("pause", "app", "project", "proxy"):
            run(*self.ctr, "images", "import", "--snapshotter", "overlayfs", f"{self.w}/{tar}.tar",
                stdout=subprocess.DEVNULL)
        self.log(f"containerd up, 4 images imported in {time.monotonic() - t:.1f}s")
        self.cp.start()
        self.cp.start_scheduler()
        kubelet = cluster.Proc("kubelet", [
            os.path.join(self.k8s_bin, "kubelet"), "--config", kubelet_config(self.w, self.sock, self.cp.dir),
            "--kubeconfig", self.cp.kubelet_kubeconfig(), "--node-ip", BRIDGE_IP,
            "--hostname-override", NODE, "--v", "2"], self.w, env=self.cp.env)
        self.procs.append(kubelet)
        cluster.wait_until("node Ready", lambda: "True" in self.k(
            "get", "node", NODE, "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
            check=False).stdout, 120, kubelet, 0.5)
        self.log(f"node {NODE} Ready ({time.monotonic() - t0:.1f}s after containerd started)")

    def stop(self):
        for p in reversed(self.procs[1:]):  # the kubelet, then the control plane, then containerd
            p.stop(10)
        self.cp.stop()
        if self.procs:
            self.procs[0].stop(10)

    def diagnostics(self, lines=15):
        return "\n".join(p.tail(lines) for p in self.procs + self.cp.procs)

    # -- what scenarios use ------------------------------------------------------------------
    def k(self, *args, **kw):
        return self.cp.kubectl(*args, **kw)

    def get(self, *args):
        return self.cp.kubectl_json("get", *args)

    def helm_run(self, *args, timeout=240):
        return subprocess.run([self.helm, "--kubeconfig", self.cp.kubeconfig, *args], capture_output=True,
                              text=True, env=self.cp.env, timeout=timeout)

    def namespace(self, name, labels=()):
        self.k("create", "namespace", name)
        if labels:
            self.k("label", "namespace", name, *labels)
        self.cp.wait_service_account(name)

    def wait(self, what, probe, timeout, interval=0.5):
        return cluster.wait_until(what, probe, timeout, None, interval)

    def container_pid(self, pod, container):
        """The host pid (in our pid namespace) of a running container's process, from containerd."""
        cid = next(c["containerID"] for c in pod["status"].get("containerStatuses", []) +
                   pod["status"].get("initContainerStatuses", []) if c["name"] == container).split("//", 1)[1]
        tasks = subprocess.run(self.ctr + ["task", "ls"], capture_output=True, text=True, check=True).stdout
        return next(line.split()[1] for line in tasks.splitlines() if line.startswith(cid))

    def in_netns(self, pid, *argv):
        return subprocess.run(["nsenter", "-t", str(pid), "-n", *argv], capture_output=True, text=True)

    def pod_token(self, pod, volume):
        """A projected token as the kubelet wrote it for a pod (no exec needed)."""
        uid = pod["metadata"]["uid"]
        path = glob.glob(f"/var/lib/kubelet/pods/{uid}/volumes/kubernetes.io~projected/{volume}/*")
        return open(path[0]).read().strip() if path else None
