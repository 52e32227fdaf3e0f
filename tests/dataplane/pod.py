"""Runs an injected pod's containers the way a container runtime would, in the pod's namespace.

What runs is exactly what `sigv4-injector inject` emitted: the `iptables-init` command as root
with only the capabilities its securityContext adds and no_new_privs; the `sigv4proxy` args, env
and volumeMounts with the real aws-sigv4-proxy binary as its runAsUser, no capabilities,
no_new_privs, a clean environment (only the container's env) and a private mount namespace in
which only its volumeMounts are visible under /run; the app as another UID (curl). Only the image
is not used: the proxy binary is the one built from the released source, the init script runs on
this machine's iptables.
"""

import os
import shlex
import shutil
import subprocess
import time

APP_UID = 1000
PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def find_container(spec, name):
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or []:
            if c.get("name") == name:
                return c
    raise KeyError(f"no container {name} in the injected pod")


def container_env(container, field_values):
    """The container's env as a dict: values, and fieldRef values from `field_values`."""
    env = {}
    for e in container.get("env") or []:
        if "value" in e:
            env[e["name"]] = e["value"]
        elif "valueFrom" in e and "fieldRef" in e["valueFrom"]:
            env[e["name"]] = field_values[e["valueFrom"]["fieldRef"]["fieldPath"]]
        else:
            raise ValueError(f"env {e['name']}: only value and fieldRef are run here")
    return env


def capability_args(security_context):
    """setpriv flags for a securityContext: bounding set = the caps added, nothing inherited."""
    caps = (security_context.get("capabilities") or {})
    added = [c.lower() for c in caps.get("add") or []]
    bounding = ",".join(["-all"] + [f"+{c}" for c in added])
    flags = ["--bounding-set", bounding, "--inh-caps", "-all"]
    if security_context.get("allowPrivilegeEscalation") is False:
        flags.append("--no-new-privs")
    return flags


def as_user(uid, security_context):
    return (["setpriv", "--reuid", str(uid), "--regid", str(uid), "--clear-groups"] +
            capability_args(security_context) + ["--"])


class InjectedPod:
    """One injected pod in network namespace `ns`.

    address, v6: the pod's IPv4 and IPv6 addresses; spec: the pod spec emitted by the injector;
    volumes: {volume name: host dir with its files}; node_ip: what status.hostIP resolves to;
    proxy_binary: the real aws-sigv4-proxy; workdir: this pod's scratch folder."""

    def __init__(self, ns, address, v6, spec, volumes, node_ip, proxy_binary, workdir):
        self.ns = ns
        self.address = address
        self.v6 = v6
        self.spec = spec
        self.volumes = volumes
        self.node_ip = node_ip
        self.workdir = workdir
        os.makedirs(workdir, mode=0o755, exist_ok=True)
        # The "image": the binary where UID 101 can read it, as in the proxy's scratch image.
        self.proxy_binary = os.path.join(workdir, "aws-sigv4-proxy")
        shutil.copy(proxy_binary, self.proxy_binary)
        os.chmod(self.proxy_binary, 0o755)
        self.proxy = None
        self.proxy_log = os.path.join(workdir, "proxy.log")

    # --- iptables-init -----------------------------------------------------------------------

    def init_container(self):
        return find_container(self.spec, "iptables-init")

    def run_init(self, script=None):
        """Runs iptables-init's command (or `script` through the same shell) as the container
        would; returns the CompletedProcess."""
        c = self.init_container()
        sc = c.get("securityContext") or {}
        command = list(c["command"])
        if script is not None:
            command[-1] = script
        env = {"PATH": PATH, **container_env(c, {"status.hostIP": self.node_ip})}
        cmd = as_user(sc.get("runAsUser", 0), sc) + ["env", "-i"] + \
            [f"{k}={v}" for k, v in env.items()] + command
        return self.ns.run(*cmd, check=False)

    # --- sigv4proxy ----------------------------------------------------------------------------

    def proxy_container(self):
        return find_container(self.spec, "sigv4proxy")

    def proxy_port(self):
        for p in self.proxy_container().get("ports") or []:
            if p.get("name") == "proxy":
                return p["containerPort"]
        raise KeyError("sigv4proxy declares no port named proxy")

    def _mount_script(self, container):
        """Shell lines giving the proxy a private /run with only its volumeMounts, and hiding
        every volume's source folder."""
        lines = ["set -e", "mount -t tmpfs -o mode=755 tmpfs /run"]
        for m in container.get("volumeMounts") or []:
            source = self.volumes[m["name"]]
            target = m["mountPath"]
            if not target.startswith(("/run/", "/var/run/")):
                raise ValueError(f"mountPath {target}: the tier mounts only under /run")
            lines.append(f"mkdir -p {shlex.quote(target)}")
            lines.append(f"mount --bind {shlex.quote(source)} {shlex.quote(target)}")
            if m.get("readOnly"):
                lines.append(f"mount -o remount,bind,ro {shlex.quote(target)}")
        roots = sorted({os.path.dirname(d) for d in self.volumes.values()})
        for root in roots:
            lines.append(f"mount -t tmpfs -o mode=755 tmpfs {shlex.quote(root)}")
        return "\n".join(lines)

    def start_proxy(self, extra_env=None, wait=True):
        """Starts the sidecar as injected (plus `extra_env`, for what a test must add, such as
        AWS_CA_BUNDLE for the STS stand-in) and waits until it listens."""
        c = self.proxy_container()
        sc = c.get("securityContext") or {}
        env = container_env(c, {"status.hostIP": self.node_ip})
        env.update(extra_env or {})
        run = as_user(sc["runAsUser"], sc) + ["env", "-i"] + \
            [f"{k}={v}" for k, v in env.items()] + [self.proxy_binary] + list(c.get("args") or [])
        script = self._mount_script(c) + "\nexec " + " ".join(shlex.quote(a) for a in run)
        log = open(self.proxy_log, "ab")
        self.proxy = self.ns.popen(["unshare", "--mount", "--propagation", "private",
                                    "sh", "-c", script], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if wait:
            self.wait_listening(self.proxy_port())

    def wait_listening(self, port, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proxy is not None and self.proxy.poll() is not None:
                raise RuntimeError(f"the proxy exited {self.proxy.returncode}: {self.log()}")
            out = self.ns.run("ss", "-Hltn", f"sport = :{port}", check=False).stdout
            if out.strip():
                return
            time.sleep(0.05)
        raise RuntimeError(f"nothing listens on :{port} after {timeout} s: {self.log()}")

    def stop_proxy(self):
        if self.proxy is not None and self.proxy.poll() is None:
            self.proxy.terminate()
            try:
                self.proxy.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proxy.kill()
                self.proxy.wait()
        self.proxy = None

    def log(self):
        with open(self.proxy_log, errors="replace") as f:
            return f.read()

    # --- the app -------------------------------------------------------------------------------

    def app(self, url, method="GET", data=None, extra=(), uid=APP_UID):
        """The app's call: curl as `uid` with no capabilities. Returns (curl exit, HTTP status,
        body)."""
        cmd = ["setpriv", "--reuid", str(uid), "--regid", str(uid), "--clear-groups",
               "--no-new-privs", "--bounding-set", "-all", "--inh-caps", "-all", "--",
               "curl", "-sS", "--noproxy", "*", "--max-time", "10", "-X", method,
               "-o", "-", "-w", "\n%{http_code}", *extra, url]
        if data is not None:
            cmd[-1:-1] = ["--data-binary", "@-", "-H", "Content-Type: application/octet-stream"]
        done = self.ns.run(*cmd, check=False, stdin=data, env={"PATH": PATH})
        body, _, status = done.stdout.rpartition("\n")
        return done.returncode, int(status or 0), body or done.stderr.strip()

    def iptables_rules(self, binary):
        """`BINARY-save` of the pod (filter and nat), without counters and comments."""
        out = self.ns.run(f"{binary}-save", check=False).stdout
        return "\n".join(l for l in out.splitlines() if not l.startswith(("#", ":")))

    def close(self):
        self.stop_proxy()
