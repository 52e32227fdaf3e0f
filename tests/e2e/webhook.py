"""The real webhook (`sigv4-injector serve`) on loopback, and its registration from the chart."""

import os
import re
import ssl
import subprocess
import urllib.request

from cluster import Proc, free_port, wait_until

# The webhook's identity in the chart: the release and namespace the certs are issued for.
RELEASE = "sigv4-injector"
NAMESPACE = "sigv4-injector"

LEGACY_CONFIG = "region: us-west-2\nsidecarMode: legacy\n"
NATIVE_CONFIG = "region: us-west-2\nsidecarMode: native\n"


class Webhook:
    """One `serve` process at a time, on ports fixed for the run (the registration names them).
    Certificates come from `sigv4-injector certs` into certs_dir (ca.crt, tls.crt, tls.key)."""

    def __init__(self, binary, workdir, env):
        self.binary = binary
        self.dir = os.path.join(workdir, "webhook")
        os.makedirs(self.dir)
        self.certs_dir = os.path.join(self.dir, "certs")
        self.config_path = os.path.join(self.dir, "config.yaml")
        self.env = env
        self.port = free_port()
        self.metrics_port = free_port()
        self.proc = None
        self.runs = 0

    @property
    def url_base(self):
        return f"https://127.0.0.1:{self.port}"

    def make_certs(self, out_dir=None):
        """Runs `sigv4-injector certs` into out_dir (default: the served files)."""
        out_dir = out_dir or self.certs_dir
        subprocess.run([self.binary, "certs", "--service", RELEASE, "--namespace", NAMESPACE,
                        "--out-dir", out_dir, "--ip", "127.0.0.1"],
                       check=True, capture_output=True, text=True, timeout=60)
        for name in ("ca.crt", "tls.crt", "tls.key"):
            if not os.path.isfile(os.path.join(out_dir, name)):
                raise AssertionError(f"`sigv4-injector certs` did not write {out_dir}/{name}")
        return out_dir

    def start(self, config=LEGACY_CONFIG):
        """Starts serve with this config text; returns when /readyz answers 200 over TLS."""
        with open(self.config_path, "w") as f:
            f.write(config)
        self.runs += 1
        self.proc = Proc(f"webhook-{self.runs}", [
            self.binary, "serve", "--listen", f"127.0.0.1:{self.port}",
            "--tls-cert-file", os.path.join(self.certs_dir, "tls.crt"),
            "--tls-key-file", os.path.join(self.certs_dir, "tls.key"),
            "--metrics-listen", f"127.0.0.1:{self.metrics_port}",
            "--config", self.config_path, "--log-format", "text"], self.dir, env=self.env)
        ctx = ssl.create_default_context(cafile=os.path.join(self.certs_dir, "ca.crt"))

        def ready():
            with urllib.request.urlopen(self.url_base + "/readyz", context=ctx, timeout=2) as r:
                return r.status == 200
        wait_until("webhook /readyz", ready, 30, self.proc, interval=0.05)

    def stop(self):
        """SIGTERM; returns serve's exit code (SPEC §6: 0)."""
        if self.proc is None:
            return None
        code = self.proc.stop()
        self.proc = None
        return code

    def metric(self, name, label=""):
        """Sum of the samples of metric `name` whose label set contains `label` (e.g.
        'reason="host-network"'), from /metrics."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics",
                                    timeout=5) as r:
            text = r.read().decode()
        total = 0.0
        for line in text.splitlines():
            m = re.match(rf"{name}(\{{[^}}]*\}})?\s+(\S+)", line)
            if m and label in (m.group(1) or ""):
                total += float(m.group(2))
        return total

    def requests_total(self):
        """Sum of sigv4_injector_admission_requests_total over all label sets."""
        return self.metric("sigv4_injector_admission_requests_total")

    def diagnostics(self):
        return self.proc.tail(40) if self.proc else ""


def render_chart(helm, chart, env, values, kube_version):
    """`helm template` of the chart for this Kubernetes version with --set values (a dict;
    values starting with @ are --set-file paths); returns the rendered documents (strings)."""
    argv = [helm, "template", RELEASE, chart, "--namespace", NAMESPACE,
            "--kube-version", kube_version]
    for key, value in values.items():
        if isinstance(value, str) and value.startswith("@"):
            argv += ["--set-file", f"{key}={value[1:]}"]
        else:
            argv += ["--set", f"{key}={value}"]
    r = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    if r.returncode != 0:
        raise AssertionError(f"helm template failed: {r.stderr.strip()}")
    docs = re.split(r"(?m)^---\s*$", r.stdout)
    return [d for d in docs if d.strip()]


def document_of_kind(docs, kind):
    """The one rendered document of this kind (chart output has `kind:` at column 0)."""
    found = [d for d in docs if re.search(rf"(?m)^kind:\s*{kind}\s*$", d)]
    if len(found) != 1:
        raise AssertionError(f"expected one {kind} in the chart render, found {len(found)}")
    return found[0]
