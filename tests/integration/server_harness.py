"""Shared helpers of the server integration tests: start `sigv4-injector serve` on ports bound
to 0, read the bound ports from its log, talk HTTPS to it, read its metrics, stop it.

Standard library only. Environment: SIGV4_BIN (the binary), SIGV4_SRC (repo root), SIGV4_TMP
(a scratch dir, created if missing)."""

import base64
import hashlib
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

BIN = os.environ.get("SIGV4_BIN", "build/sigv4-injector")
SRC = os.environ.get("SIGV4_SRC", os.getcwd())
TMP = os.environ.get("SIGV4_TMP", "/tmp/sigv4-server-tests")
os.makedirs(TMP, exist_ok=True)

# Bounds for polling (readiness, reloads); they only limit how long a failing test hangs.
READY_TIMEOUT = 30.0
RELOAD_TIMEOUT = 30.0

_checks = 0


def check(condition, what):
    """Prints what was checked; raises (exit non-zero) when it does not hold."""
    global _checks
    _checks += 1
    if not condition:
        print(f"FAIL - {what}", flush=True)
        raise AssertionError(what)
    print(f"ok - {what}", flush=True)


def finish(name):
    print(f"PASS {name}: {_checks} checks", flush=True)


def make_certs(out_dir, service="sigv4-injector", namespace="sigv4-injector"):
    """Runs `sigv4-injector certs` for 127.0.0.1; returns the directory."""
    subprocess.run([BIN, "certs", "--service", service, "--namespace", namespace,
                    "--out-dir", out_dir, "--ip", "127.0.0.1"],
                   check=True, stdout=subprocess.DEVNULL)
    return out_dir


def der_fingerprint(pem_path):
    with open(pem_path) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return hashlib.sha256(der).hexdigest()


def wait_until(predicate, timeout, what):
    """Polls `predicate` every 50 ms until it is true; fails the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            check(True, what)
            return
        time.sleep(0.05)
    check(False, f"{what} (within {timeout:.0f}s)")


class Server:
    """One `serve` process, its log lines collected by a reader thread."""

    def __init__(self, args, cafile=None):
        self.args = [BIN, "serve", "--listen", "127.0.0.1:0",
                     "--metrics-listen", "127.0.0.1:0"] + list(args)
        self.cafile = cafile
        self.lines = []
        self.cond = threading.Condition()
        self.reading = threading.Event()  # cleared: stop reading stderr (a stuck log consumer)
        self.reading.set()
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.port = None
        self.metrics_port = None

    def _read(self):
        for line in self.proc.stderr:
            self.reading.wait()
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)  # end of log
            self.cond.notify_all()

    def wait_log(self, pattern, timeout=READY_TIMEOUT, start=0):
        """Returns the regex match of the first log line (from index `start`) matching."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            index = start
            while True:
                while index < len(self.lines):
                    line = self.lines[index]
                    if line is None:
                        raise AssertionError(f"server exited before logging {pattern!r}:\n"
                                             + self.log_text())
                    match = regex.search(line)
                    if match:
                        return match
                    index += 1
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no log line {pattern!r}:\n" + self.log_text())
                self.cond.wait(remaining)

    def hold_log(self):
        """Stops reading the server's stderr (after at most the line being read)."""
        self.reading.clear()

    def release_log(self):
        self.reading.set()

    def log_text(self):
        with self.cond:
            return "\n".join(line for line in self.lines if line is not None)

    def log_count(self):
        with self.cond:
            return len(self.lines)

    def wait_ready(self):
        self.port = int(self.wait_log(r"webhook listening on 127\.0\.0\.1:(\d+)").group(1))
        self.metrics_port = int(self.wait_log(r"metrics listening on 127\.0\.0\.1:(\d+)").group(1))
        wait_until(lambda: self.get("/readyz")[0] == 200, READY_TIMEOUT, "server ready")
        return self

    def context(self):
        ctx = ssl.create_default_context(cafile=self.cafile)
        if self.cafile is None:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def connect(self, timeout=30):
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context(),
                                           timeout=timeout)

    def request(self, method, path, body=None, headers=None, conn=None):
        """One request (on `conn` when given, else a new connection); returns
        (status, headers dict, body bytes)."""
        own = conn is None
        conn = conn or self.connect()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, dict(resp.getheaders()), data
        finally:
            if own:
                conn.close()

    def get(self, path):
        try:
            return self.request("GET", path)
        except (OSError, http.client.HTTPException) as error:
            return 0, {}, str(error).encode()

    def post_review(self, review, path="/mutate", conn=None):
        body = review if isinstance(review, (bytes, str)) else json.dumps(review)
        return self.request("POST", path, body=body,
                            headers={"Content-Type": "application/json"}, conn=conn)

    def metrics(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.metrics_port, timeout=30)
        try:
            conn.request("GET", "/metrics")
            resp = conn.getresponse()
            return parse_metrics(resp.read().decode())
        finally:
            conn.close()

    def terminate(self, timeout=60):
        """SIGTERM, then waits; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        self.reader.join(timeout=10)
        return code

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def reloading_server(current, cafile):
    """A server on the cert and key under the symlinked dir `current` (as a Secret volume mounts
    them) and a minimal config file, checked every 0.1 s; returns (config path, ready Server)."""
    config = os.path.join(TMP, "config.yaml")
    with open(config, "w") as f:
        f.write("region: us-west-2\n")
    server = Server(["--tls-cert-file", current + "/tls.crt", "--tls-key-file", current + "/tls.key",
                     "--config", config, "--reload-interval", "0.1"], cafile=cafile).wait_ready()
    return config, server


def swap_symlink(link, target):
    """Atomically repoints `link` at `target`, as the kubelet does for Secret volumes."""
    tmp = link + ".tmp"
    if os.path.lexists(tmp):
        os.remove(tmp)
    os.symlink(target, tmp)
    os.replace(tmp, link)


def parse_metrics(text):
    """{'name{labels}': value} for every sample, labels as written by the server."""
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            samples[key] = float(value)
    return samples


def pod(name="web", namespace="app1", **spec_extra):
    spec = {"containers": [{"name": "app", "image": "nginx"}]}
    spec.update(spec_extra)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def review(pod_object, uid="uid-1", version="admission.k8s.io/v1", operation="CREATE"):
    return {"apiVersion": version, "kind": "AdmissionReview",
            "request": {"uid": uid, "kind": {"group": "", "version": "v1", "kind": "Pod"},
                        "resource": {"group": "", "version": "v1", "resource": "pods"},
                        "namespace": pod_object["metadata"].get("namespace", "default"),
                        "operation": operation, "object": pod_object}}


def decode_patch(response_review):
    patch = response_review["response"].get("patch")
    return json.loads(base64.b64decode(patch)) if patch else None


def run(name, body):
    """Runs a test body; any failure or exception exits non-zero."""
    try:
        body()
    except Exception as error:  # noqa: BLE001 - the test's one boundary
        print(f"FAILED {name}: {type(error).__name__}: {error}", flush=True)
        sys.exit(1)
    finish(name)
