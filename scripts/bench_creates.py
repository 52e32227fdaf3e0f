#!/usr/bin/env python3
"""Pod creates through a real kube-apiserver: without a webhook, through sigv4-injector, and
through the floor — nginx answering the same review with a canned response carrying the same
patch (a Lua line echoes the review's uid, which the apiserver checks).

    python3 scripts/bench_creates.py --bin build-bench/sigv4-injector [--creates 300] [--workers 4]
                                     [--repeats 3]

Starts the e2e tier's loopback control plane (tests/e2e/cluster.py: etcd, kube-apiserver,
controller-manager at the pinned release), then for each phase creates --creates pods (the
workshop's app container, generateName) from --workers threads, each on one keep-alive HTTPS
connection to the apiserver, after a warm-up; rounds interleave the phases and medians are
printed: p50/p99 create latency, the CPU time the apiserver, etcd and the webhook spent per create
(from /proc/<pid>/stat), and how many reviews the webhook answered per create. Figures, not
assertions: the machine is shared. Part of `make bench` (scripts/bench.sh).
"""

import argparse
import base64
import http.client
import json
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

from cluster import ADMIN_TOKEN, ControlPlane, Proc, child_env, free_port, wait_until  # noqa: E402
from webhook import LEGACY_CONFIG, Webhook  # noqa: E402

POD = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"generateName": "app1-v1-", "labels": {"app": "app1-v1"}},
       "spec": {"containers": [{"name": "app1-v1",
                                "image": "public.ecr.aws/seb-demo/http-server:latest",
                                "env": [{"name": "PodName", "value": "Hello from app1-v1"}]}]}}

NGINX_CONF = """daemon off;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {work}/nginx-body;
  client_body_buffer_size 4m;
  client_max_body_size 4m;
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    location = /readyz {{ return 200 'ok'; }}
    location / {{
      default_type application/json;
      content_by_lua_file {work}/mutate.lua;
    }}
  }}
}}
"""


def cpu_seconds(pid):
    """utime + stime of a process (all its threads) and of its live children (nginx's worker),
    in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return total + sum(cpu_seconds(int(child)) for child in f.read().split())


def registration(url, ca_file, reinvocation):
    with open(ca_file, "rb") as f:
        ca = base64.b64encode(f.read()).decode()
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": "bench-creates"},
            "webhooks": [{"name": "bench.sigv4-injector.io",
                          "clientConfig": {"url": url + "/mutate", "caBundle": ca},
                          "rules": [{"operations": ["CREATE"], "apiGroups": [""],
                                     "apiVersions": ["v1"], "resources": ["pods"]}],
                          "namespaceSelector": {"matchLabels": {"bench": "webhook"}},
                          "sideEffects": "None", "admissionReviewVersions": ["v1"],
                          "failurePolicy": "Fail", "timeoutSeconds": 5,
                          "reinvocationPolicy": reinvocation, "matchPolicy": "Equivalent"}]}


def creates(cp, namespace, count, workers):
    """`count` pod creates in `namespace` from `workers` threads; returns latencies (s)."""
    ctx = ssl.create_default_context(cafile=cp.ca)
    body = json.dumps(POD)
    latencies = []
    lock = threading.Lock()
    errors = []

    def worker(n):
        conn = http.client.HTTPSConnection("127.0.0.1", cp.port, context=ctx, timeout=30)
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"}
        mine = []
        for _ in range(n):
            t0 = time.perf_counter()
            conn.request("POST", f"/api/v1/namespaces/{namespace}/pods", body, headers)
            r = conn.getresponse()
            data = r.read()
            mine.append(time.perf_counter() - t0)
            if r.status != 201:
                errors.append(f"HTTP {r.status}: {data[:300]!r}")
                break
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(count // workers,)) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"creates in {namespace} failed: {errors[0]}")
    return latencies


def injected(cp, namespace):
    pods = cp.kubectl_json("get", "pods", "-n", namespace)["items"]
    return pods and all(any(c["name"] == "sigv4proxy" for c in p["spec"]["containers"])
                        for p in pods)


def phase(cp, name, namespace, count, workers, pids):
    creates(cp, namespace, max(workers * 5, 20), workers)  # warm-up: connections, caches
    before = {k: cpu_seconds(p) for k, p in pids.items()}
    t0 = time.perf_counter()
    lat = sorted(creates(cp, namespace, count, workers))
    wall = time.perf_counter() - t0
    cpu = {k: (cpu_seconds(p) - before[k]) / len(lat) * 1000 for k, p in pids.items()}
    return {"phase": name, "creates": len(lat), "p50_ms": lat[len(lat) // 2] * 1000,
            "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000,
            "mean_ms": statistics.mean(lat) * 1000, "rate": len(lat) / wall,
            "cpu_ms": cpu}


def median_of(runs):
    """One phase's runs as one: the median of each figure."""
    out = dict(runs[0])
    for key in ("p50_ms", "p99_ms", "mean_ms", "rate", "reviews_per_create"):
        if key in out:
            out[key] = statistics.median(r[key] for r in runs)
    out["cpu_ms"] = {k: statistics.median(r["cpu_ms"][k] for r in runs) for k in out["cpu_ms"]}
    out["runs"] = len(runs)
    return out


def switch(cp, url, ca, namespace, reinvocation):
    """Registers the webhook at `url` and waits until a dry-run create in `namespace` is
    injected (the apiserver picks registrations up asynchronously)."""
    cp.kubectl("apply", "-f", "-", input=json.dumps(registration(url, ca, reinvocation)))

    last = []

    def effective():
        r = cp.kubectl("create", "-n", namespace, "-f", "-", "--dry-run=server", "-o", "json",
                       input=json.dumps(POD), check=False)
        last[:] = [r.stderr.strip()]
        return r.returncode == 0 and "sigv4proxy" in r.stdout
    try:
        wait_until(f"registration at {url}", effective, 30, interval=0.1)
    except RuntimeError as e:
        raise RuntimeError(f"{e}: {last}") from None  # noqa


def start_nginx(work, certs, patch_b64):
    port = free_port()
    prefix = '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"'
    suffix = f'","allowed":true,"patchType":"JSONPatch","patch":"{patch_b64}"}}}}'
    os.makedirs(os.path.join(work, "nginx-body"), exist_ok=True)
    # The canned answer, with the review's uid (the first "uid" of the body: request.uid), where
    # nginx's unprivileged worker can read it.
    os.chmod(work, 0o711)
    with open(os.path.join(work, "mutate.lua"), "w") as f:
        f.write("ngx.req.read_body()\n"
                "local uid = string.match(ngx.req.get_body_data() or '', '\"uid\":\"([^\"]*)\"')\n"
                f"ngx.print([[{prefix}]] .. (uid or '') .. [[{suffix}]])\n")
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(work=work, port=port, cert=os.path.join(certs, "tls.crt"),
                                  key=os.path.join(certs, "tls.key")))
    proc = Proc("nginx", [shutil.which("nginx") or "/usr/sbin/nginx", "-p", work, "-c", conf],
                work)
    ctx = ssl.create_default_context(cafile=os.path.join(certs, "ca.crt"))

    def ready():
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=2)
        conn.request("GET", "/readyz")
        return conn.getresponse().status == 200
    wait_until("nginx", ready, 30, proc)
    return proc, f"https://127.0.0.1:{port}"


def report(results):
    print("\nPod creates through kube-apiserver "
          f"({results[0]['creates']} per phase, {ARGS.workers} at a time, median of "
          f"{results[0]['runs']} rounds; CPU ms per create)")
    print(f"{'phase':<26}{'p50 ms':>8}{'p99 ms':>8}{'mean ms':>9}{'creates/s':>11}"
          f"{'apiserver':>11}{'etcd':>7}{'webhook':>9}")
    for r in results:
        c = r["cpu_ms"]
        name = r["phase"] + (f" ({r['reinvocation']})" if "reinvocation" in r else "")
        hook = c.get(r["phase"], 0.0)
        print(f"{name:<26}{r['p50_ms']:>8.2f}{r['p99_ms']:>8.2f}{r['mean_ms']:>9.2f}"
              f"{r['rate']:>11.0f}{c['apiserver']:>11.2f}{c['etcd']:>7.2f}{hook:>9.3f}")
    base = results[0]
    for r in results[1:]:
        extra = (f"; {r['reviews_per_create']:.2f} reviews per create"
                 if "reviews_per_create" in r else "")
        print(f"{r['phase']} ({r['reinvocation']}): +{r['p50_ms'] - base['p50_ms']:.2f} ms at "
              f"p50, +{r['p99_ms'] - base['p99_ms']:.2f} ms at p99 over no webhook; apiserver "
              f"+{r['cpu_ms']['apiserver'] - base['cpu_ms']['apiserver']:.2f} ms CPU per create"
              + extra)


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bin", required=True)
    p.add_argument("--creates", type=int, default=300)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--repeats", type=int, default=3, help="rounds; medians are reported")
    p.add_argument("--json", help="also write the figures here")
    ARGS = p.parse_args()
    subprocess.run([os.path.join(ROOT, "scripts", "deps.sh"), "etcd-server", "nginx",
                    "libnginx-mod-http-lua"], check=True)
    k8s_bin = subprocess.run([os.path.join(ROOT, "scripts", "k8s-tools.sh")], check=True,
                             capture_output=True, text=True).stdout.strip()
    work = tempfile.mkdtemp(prefix="sigv4-bench-creates-")
    cp = ControlPlane(k8s_bin, work, log=lambda m: print(m, flush=True))
    wh = Webhook(os.path.abspath(ARGS.bin), work, child_env(work))
    nginx = None
    try:
        cp.start()
        wh.make_certs()
        wh.start(LEGACY_CONFIG)
        for ns, labels in (("bench-plain", {}), ("bench-webhook", {"bench": "webhook"})):
            cp.kubectl("create", "namespace", ns)
            if labels:
                cp.kubectl("label", "namespace", ns, "bench=webhook")
            cp.wait_service_account(ns)
        patch = subprocess.run([ARGS.bin, "patch", "-f", "-"], input=json.dumps(
            {**POD, "metadata": {**POD["metadata"], "namespace": "bench-webhook"}}),
            check=True, capture_output=True, text=True).stdout
        nginx, nginx_url = start_nginx(work, wh.certs_dir, base64.b64encode(
            json.dumps(json.loads(patch), separators=(",", ":")).encode()).decode())
        procs = {p.name: p.popen.pid for p in cp.procs}
        pids = {"apiserver": procs["kube-apiserver"], "etcd": procs["etcd"],
                "sigv4-injector": wh.proc.popen.pid, "nginx": nginx.popen.pid}
        ca = os.path.join(wh.certs_dir, "ca.crt")
        # The chart registers with reinvocationPolicy IfNeeded; nginx's canned patch is not
        # idempotent, so the floor runs with Never, and so does a second sigv4-injector phase.
        # Rounds interleave the phases, so a noisy minute spreads over all of them.
        phases = (("no webhook", None, None), ("sigv4-injector", wh.url_base, "IfNeeded"),
                  ("sigv4-injector", wh.url_base, "Never"), ("nginx", nginx_url, "Never"))
        rounds = {i: [] for i in range(len(phases))}
        for _ in range(ARGS.repeats):
            for i, (name, url, policy) in enumerate(phases):
                if url is None:
                    rounds[i].append(phase(cp, name, "bench-plain", ARGS.creates, ARGS.workers,
                                           pids))
                    continue
                switch(cp, url, ca, "bench-webhook", policy)
                calls = wh.requests_total()
                r = phase(cp, name, "bench-webhook", ARGS.creates, ARGS.workers, pids)
                r["reinvocation"] = policy
                if name == "sigv4-injector":
                    r["reviews_per_create"] = (wh.requests_total() - calls) / (
                        r["creates"] + max(ARGS.workers * 5, 20))
                rounds[i].append(r)
        results = [median_of(rounds[i]) for i in range(len(phases))]
        if not injected(cp, "bench-webhook"):
            raise RuntimeError("a pod created through a webhook was not injected")
        report(results)
        if ARGS.json:
            with open(ARGS.json, "w") as f:
                json.dump(results, f, indent=1)
    finally:
        if nginx:
            nginx.stop()
        wh.stop()
        cp.stop()
        if os.environ.get("BENCH_KEEP"):
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
