"""A real control plane on loopback, in the spirit of controller-runtime's envtest.

etcd + kube-apiserver + kube-controller-manager, each on free 127.0.0.1 ports, with certificates,
a service-account key pair and an admin token generated per run in a private temp dir. No kubelet:
pods are stored (that is what admission decides) but never run.
"""

import ctypes
import json
import os
import random
import signal
import socket
import ssl
import subprocess
import time
import urllib.request

ADMIN_TOKEN = "e2e-admin-token"


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """Returns a 127.0.0.1 port that was free a moment ago. Picked below the ephemeral range, so
    neither outgoing connections nor other tests binding port 0 take it while a component
    restarts on it (the webhook's URL is registered once); port 0's pick as a fallback."""
    low = _ephemeral_low()
    for _ in range(50):
        port = random.randrange(10000, max(low, 10001))
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what, probe, timeout, proc=None, interval=0.1):
    """Polls probe() until it returns a truthy value; raises naming `what` after timeout seconds,
    or at once if proc (a Proc) has exited."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited ({proc.popen.returncode}) while waiting for "
                               f"{what}:\n{proc.tail()}")
        try:
            value = probe()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 -- any probe error means "not yet"
            last = e
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what} (last error: {last})"
                       + (f"\n{proc.tail()}" if proc else ""))


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, timeout=60)


def _die_with_parent():
    """Runs in the child before exec: SIGKILL it if the harness dies without cleaning up (e.g. a
    ctest timeout's SIGKILL), so no apiserver or etcd outlives the run."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Proc:
    """A child process in its own process group, logging to DIR/NAME.log."""

    def __init__(self, name, argv, workdir, env=None):
        self.name = name
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True,
                                      env=env, preexec_fn=_die_with_parent)

    def tail(self, lines=25):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(f"  [{self.name}] {line}" for line in text[-lines:])

    def stop(self, timeout=15):
        """SIGTERM, then SIGKILL after timeout seconds; returns the exit code."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(10)
        self.log.close()
        return self.popen.returncode


def child_env(workdir):
    """The environment of every child: no proxies for loopback, a private HOME-ish state."""
    env = dict(os.environ)
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(key, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["KUBECACHEDIR"] = os.path.join(workdir, "kubecache")
    for key in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
        env[key] = os.path.join(workdir, "helm", key.lower())
    return env


class ControlPlane:
    """etcd, kube-apiserver and kube-controller-manager. start() returns when the apiserver is
    ready and the controllers run (the default ServiceAccount exists); stop() is idempotent."""

    def __init__(self, k8s_bin, workdir, log=print):
        self.k8s_bin = k8s_bin
        self.dir = os.path.join(workdir, "cluster")
        os.makedirs(self.dir)
        self.env = child_env(workdir)
        self.log = log
        self.procs = []
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        self.ca = os.path.join(self.dir, "ca.crt")
        self.port = None
        # kubectl of the same release (scripts/k8s-tools.sh builds it), else the one on PATH
        built = os.path.join(k8s_bin, "kubectl")
        self.kubectl_bin = built if os.access(built, os.X_OK) else "kubectl"

    # -- certificates and credentials ---------------------------------------------------------
    def _credentials(self):
        d = self.dir
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
                "ca.crt", "-days", "2", "-subj", "/CN=e2e-cluster-ca", cwd=d)
        with open(os.path.join(d, "apiserver.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,"
                    "DNS:kubernetes.default,DNS:kubernetes.default.svc\n"
                    "extendedKeyUsage=serverAuth\n")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "apiserver.key", "-out",
                "apiserver.csr", "-subj", "/CN=kube-apiserver", cwd=d)
        openssl("x509", "-req", "-in", "apiserver.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", "apiserver.crt", "-days", "2", "-extfile",
                "apiserver.ext", cwd=d)
        openssl("genrsa", "-out", "sa.key", "2048", cwd=d)
        openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=d)
        with open(os.path.join(d, "tokens.csv"), "w") as f:
            f.write(f'{ADMIN_TOKEN},admin,admin-uid,"system:masters"\n')

    def _write_kubeconfig(self):
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": "e2e",
            "clusters": [{"name": "e2e", "cluster": {
                "server": f"https://127.0.0.1:{self.port}", "certificate-authority": self.ca}}],
            "users": [{"name": "admin", "user": {"token": ADMIN_TOKEN}}],
            "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": "admin"}}],
        }
        with open(self.kubeconfig, "w") as f:
            json.dump(config, f, indent=2)  # JSON is YAML

    # -- components -------------------------------------------------------------------------
    def _spawn(self, name, argv):
        proc = Proc(name, argv, self.dir, env=self.env)
        self.procs.append(proc)
        return proc

    def _start_etcd(self):
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        proc = self._spawn("etcd", [
            "etcd", "--name", "e2e", "--data-dir", os.path.join(self.dir, "etcd"),
            "--listen-client-urls", self.etcd_url, "--advertise-client-urls", self.etcd_url,
            "--listen-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-cluster", f"e2e=http://127.0.0.1:{peer}",
            "--logger", "zap", "--log-level", "warn"])

        def healthy():
            with urllib.request.urlopen(self.etcd_url + "/health", timeout=2) as r:
                return json.load(r).get("health") == "true"
        wait_until("etcd /health", healthy, 30, proc)

    def _start_apiserver(self):
        d = self.dir
        self.port = free_port()
        proc = self._spawn("kube-apiserver", [
            os.path.join(self.k8s_bin, "kube-apiserver"),
            "--etcd-servers", self.etcd_url,
            "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
            "--secure-port", str(self.port), "--cert-dir", os.path.join(d, "apiserver-certs"),
            "--tls-cert-file", os.path.join(d, "apiserver.crt"),
            "--tls-private-key-file", os.path.join(d, "apiserver.key"),
            "--client-ca-file", self.ca,
            "--token-auth-file", os.path.join(d, "tokens.csv"),
            "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
            "--service-account-key-file", os.path.join(d, "sa.pub"),
            "--service-account-signing-key-file", os.path.join(d, "sa.key"),
            "--authorization-mode", "RBAC",
            "--enable-admission-plugins", "NamespaceLifecycle,LimitRanger,ServiceAccount,"
            "DefaultTolerationSeconds,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,"
            "ResourceQuota",
            "--service-cluster-ip-range", "10.0.0.0/24",
            "--allow-privileged=true", "--endpoint-reconciler-type", "none",
            "--profiling=false", "--v", "1"])
        self._write_kubeconfig()
        ctx = ssl.create_default_context(cafile=self.ca)

        def ready():
            req = urllib.request.Request(f"https://127.0.0.1:{self.port}/readyz",
                                         headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
            with urllib.request.urlopen(req, context=ctx, timeout=5) as r:
                return r.status == 200
        wait_until("kube-apiserver /readyz", ready, 120, proc, interval=0.25)

    def _start_controller_manager(self):
        d = self.dir
        port = free_port()
        proc = self._spawn("kube-controller-manager", [
            os.path.join(self.k8s_bin, "kube-controller-manager"),
            "--kubeconfig", self.kubeconfig, "--leader-elect=false",
            "--bind-address", "127.0.0.1", "--secure-port", str(port),
            "--cert-dir", os.path.join(d, "kcm-certs"),
            "--service-account-private-key-file", os.path.join(d, "sa.key"),
            "--root-ca-file", self.ca, "--controllers", "*",
            "--profiling=false", "--v", "1"])
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # its self-signed serving cert; only /healthz is read

        def healthy():
            with urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz", context=ctx,
                                        timeout=5) as r:
                return r.status == 200
        wait_until("kube-controller-manager /healthz", healthy, 60, proc, interval=0.25)
        self.kcm = proc

    def start(self):
        t0 = time.monotonic()
        self._credentials()
        self._start_etcd()
        self._start_apiserver()
        self.log(f"cluster: kube-apiserver ready on https://127.0.0.1:{self.port} "
                 f"({time.monotonic() - t0:.1f}s)")
        self._start_controller_manager()
        self.wait_service_account("default")
        self.log(f"cluster: controllers running ({time.monotonic() - t0:.1f}s)")

    def wait_service_account(self, namespace, timeout=60):
        """Waits for the ServiceAccount controller to create `default` in namespace (pods are
        refused by the ServiceAccount admission plugin until then)."""
        wait_until(f"serviceaccount {namespace}/default",
                   lambda: self.kubectl("get", "serviceaccount", "default", "-n", namespace,
                                        check=False).returncode == 0,
                   timeout, self.kcm, interval=0.2)

    def kubectl(self, *args, input=None, check=True, timeout=90):
        """Runs kubectl against this cluster; returns the CompletedProcess (text)."""
        argv = [self.kubectl_bin, "--kubeconfig", self.kubeconfig, "--request-timeout", "60s", *args]
        r = subprocess.run(argv, input=input, capture_output=True, text=True, env=self.env,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"`kubectl {' '.join(args)}` failed ({r.returncode}): "
                                 f"{r.stderr.strip()}")
        return r

    def kubectl_json(self, *args):
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def diagnostics(self):
        return "\n".join(p.tail() for p in self.procs)

    def stop(self):
        for proc in reversed(self.procs):
            proc.stop()
        self.procs = []
