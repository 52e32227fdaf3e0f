#!/usr/bin/env python3
"""Every performance figure of SPEC section 9, as a table: `make bench` (after scripts/bench.sh
built build-bench/ in Release).

1. In-process: build-bench/tests/bench/review_bench (Google Benchmark), median of repetitions.
2. Over the wire, loopback only: `sigv4-injector serve` with a real certificate, and nginx
   answering the same review's canned response over the same certificate, both driven by `hey`
   over TLS keep-alive: a fixed 2,000 reviews/s run and a saturated run (-c 32), each repeated;
   medians reported. Server-side p99 comes from the server's own histogram (bucket deltas of
   /metrics scraped before and after the run), peak RSS from /proc/PID/status VmHWM, cold start
   is exec to the first /readyz 200.

Standard library only. Nothing here asserts: the table says pass or fail per target.
"""

import argparse
import json
import os
import re
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

RATE = 2000  # reviews/s of the fixed-rate run
RATE_WORKERS = 8  # hey's -q is per worker: 8 x 250/s
SATURATED_WORKERS = 32


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


# ---------------------------------------------------------------------------------------------
# In-process


def in_process(bench_bin, repetitions):
    out = run([bench_bin, f"--benchmark_repetitions={repetitions}",
               "--benchmark_report_aggregates_only=true", "--benchmark_format=json"])
    rows = []
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        name = b["run_name"]
        row = {"name": name, "us": b["real_time"], "cpu_us": b["cpu_time"]}
        if "body_KB" in b:
            row["kb"] = b["body_KB"]
            row["us_per_kb"] = b["per_KB"] * 1e6
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------
# Over the wire


class Proc:
    """A server process with its log in a file; `pid` for /proc."""

    def __init__(self, cmd, log_path):
        self.log = open(log_path, "w")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def vm_hwm_kb(self, pid=None):
        with open(f"/proc/{pid or self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0


# Built once, before any timing: loading the system CA bundle takes ~100 ms of Python.
CLIENT_TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
CLIENT_TLS.check_hostname = False
CLIENT_TLS.verify_mode = ssl.CERT_NONE


def wait_ready(port, t0, timeout=10.0):
    """Polls GET /readyz over TLS every ms; returns seconds from t0 to the first 200."""
    ctx = CLIENT_TLS
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as raw:
                with ctx.wrap_socket(raw) as s:
                    s.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    if s.recv(64).startswith(b"HTTP/1.1 200"):
                        return time.monotonic() - t0
        except OSError:
            pass
        time.sleep(0.001)
    raise RuntimeError(f"no /readyz 200 on port {port} within {timeout}s")


def start_server(binary, work, cert, key, log_name="serve.log"):
    port, metrics_port = free_port(), free_port()
    proc = Proc([binary, "serve", "--listen", f"127.0.0.1:{port}",
                 "--metrics-listen", f"127.0.0.1:{metrics_port}",
                 "--tls-cert-file", cert, "--tls-key-file", key],
                os.path.join(work, log_name))
    ready = wait_ready(port, proc.t0)
    return proc, port, metrics_port, ready


def cold_start(binary, work, cert, key, times):
    results = []
    for i in range(times):
        proc, _, _, ready = start_server(binary, work, cert, key, f"cold-{i}.log")
        proc.stop()
        results.append(ready)
    return statistics.median(results)


NGINX_CONF = """daemon off;
worker_processes 2;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {work}/nginx-body;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  client_max_body_size 4m;
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    location = /readyz {{ return 200 'ok'; }}
    location / {{
      default_type application/json;
{sets}
      return 200 "{body}";
    }}
  }}
}}
"""


def start_nginx(work, cert, key, canned):
    if "$" in canned:
        raise RuntimeError("the canned response cannot be quoted in nginx.conf")
    # A config parameter holds at most 4 KB: the body is set in pieces and joined by `return`.
    pieces = [canned[i:i + 2000] for i in range(0, len(canned), 2000)]
    sets = "\n".join(f"      set $c{i} '" + p.replace("\\", "\\\\").replace("'", "\\'") + "';"
                     for i, p in enumerate(pieces))
    joined = "".join(f"$c{i}" for i in range(len(pieces)))
    port = free_port()
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(work=work, port=port, cert=cert, key=key, sets=sets, body=joined))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    proc = Proc([nginx, "-p", work, "-c", conf], os.path.join(work, "nginx.log"))
    wait_ready(port, proc.t0)
    return proc, port


def nginx_hwm_kb(proc):
    """Peak RSS of nginx: the master plus its workers."""
    total = proc.vm_hwm_kb()
    for child in run(["ps", "-o", "pid=", "--ppid", str(proc.proc.pid)]).split():
        total += proc.vm_hwm_kb(int(child))
    return total


def hey(url, body_file, seconds, workers, qps=None):
    cmd = ["hey", "-z", f"{seconds}s", "-c", str(workers), "-m", "POST",
           "-T", "application/json", "-D", body_file]
    if qps:
        cmd += ["-q", str(qps)]
    out = run(cmd + [url])
    pct = {int(m.group(1)): float(m.group(2)) * 1000
           for m in re.finditer(r"^\s+(\d+)% in ([\d.]+) secs", out, re.M)}
    statuses = {int(m.group(1)): int(m.group(2))
                for m in re.finditer(r"\[(\d+)\]\s+(\d+) responses", out)}
    errors = sum(int(m.group(1)) for m in re.finditer(r"^\s+\[(\d+)\]\s+\S", out.split(
        "Error distribution:")[1], re.M)) if "Error distribution:" in out else 0
    ok = statuses.get(200, 0)
    bad = sum(n for code, n in statuses.items() if code != 200) + errors
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": pct.get(50), "p99_ms": pct.get(99), "ok": ok, "errors": bad}


def scrape_histogram(metrics_port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read()
    buckets = {}
    for m in re.finditer(r'^sigv4_injector_admission_duration_seconds_bucket\{[^}]*le="([^"]+)"'
                         r'[^}]*\}\s+(\S+)', text.decode(), re.M):
        le = float("inf") if m.group(1) == "+Inf" else float(m.group(1))
        buckets[le] = buckets.get(le, 0) + float(m.group(2))
    return buckets


def histogram_quantile(q, before, after):
    """Prometheus-style quantile (linear within the bucket) of the observations in between."""
    les = sorted(after)
    counts = [after[le] - before.get(le, 0) for le in les]
    total = counts[-1] if counts else 0
    if total <= 0:
        return None
    rank = q * total
    prev_le, prev_count = 0.0, 0.0
    for le, count in zip(les, counts):
        if count >= rank:
            if le == float("inf"):
                return prev_le * 1000
            return (prev_le + (le - prev_le) * (rank - prev_count) / max(count - prev_count, 1e-9)) * 1000
        prev_le, prev_count = le, count
    return None


def wire(binary, work, fixtures, seconds, repeats):
    cert, key = os.path.join(work, "tls.crt"), os.path.join(work, "tls.key")
    body = os.path.join(fixtures, "review-4k.json")
    with open(os.path.join(fixtures, "response-4k.json")) as f:
        canned = f.read()
    figures = {"cold_start_ms": cold_start(binary, work, cert, key, 5) * 1000}
    server, port, metrics_port, _ = start_server(binary, work, cert, key)
    nginx = None
    runs = {k: [] for k in ("ours_rate", "nginx_rate", "ours_sat", "nginx_sat")}
    try:
        nginx, nginx_port = start_nginx(work, cert, key, canned)
        for _ in range(repeats):
            for kind, workers, qps in (("rate", RATE_WORKERS, RATE // RATE_WORKERS),
                                       ("sat", SATURATED_WORKERS, None)):
                runs[f"nginx_{kind}"].append(
                    hey(f"https://127.0.0.1:{nginx_port}/mutate", body, seconds, workers, qps))
                before = scrape_histogram(metrics_port)
                r = hey(f"https://127.0.0.1:{port}/mutate", body, seconds, workers, qps)
                after = scrape_histogram(metrics_port)
                r["server_p99_ms"] = histogram_quantile(0.99, before, after)
                r["server_p50_ms"] = histogram_quantile(0.50, before, after)
                runs[f"ours_{kind}"].append(r)
        figures["rss_mb"] = server.vm_hwm_kb() / 1024
        figures["nginx_rss_mb"] = nginx_hwm_kb(nginx) / 1024
    finally:
        server.stop()
        if nginx:
            nginx.stop()
    for name, results in runs.items():
        figures[name] = {k: statistics.median(r[k] for r in results)
                         for k in results[0] if results[0][k] is not None}
        figures[name]["errors"] = sum(r["errors"] for r in results)
        figures[name]["runs"] = len(results)
    return figures


# ---------------------------------------------------------------------------------------------
# Report


def verdict(ok):
    return "pass" if ok else "FAIL"


def report(rows, wire_figures):
    lines = ["", "In-process review handling (parse, decide, patch, serialise; median of "
             "repetitions; CPU time, wall in brackets: the host is shared)",
             f"{'case':<26}{'body KB':>9}{'CPU us':>10}{'(wall)':>10}{'us/KB':>8}  target"]
    targets = {"BM_Review/4096": 50, "BM_Review/65536": 5000, "BM_ReviewEnv/1500": 5000}
    for r in rows:
        if "kb" not in r:
            continue
        t = targets.get(r["name"])
        tgt = f"<= {t} us {verdict(r['cpu_us'] <= t)}" if t else ""
        per_kb = r["cpu_us"] / r["kb"]
        lines.append(f"{r['name']:<26}{r['kb']:>9.1f}{r['cpu_us']:>10.1f}{'(%.0f)' % r['us']:>10}"
                     f"{per_kb:>8.1f}  {tgt}")
    if wire_figures:
        w = wire_figures
        o, n = w["ours_rate"], w["nginx_rate"]
        os_, ns = w["ours_sat"], w["nginx_sat"]
        lines += ["", f"Over TLS keep-alive, 4 KB review, hey (median of {o['runs']} runs each)",
                  f"{'run':<28}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'srv p99':>9}{'errors':>8}"]
        for label, r in (("sigv4-injector @2000/s", o), ("nginx canned @2000/s", n),
                         ("sigv4-injector saturated", os_), ("nginx canned saturated", ns)):
            srv = f"{r['server_p99_ms']:.3f}" if "server_p99_ms" in r else "-"
            lines.append(f"{label:<28}{r['rps']:>9.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}"
                         f"{srv:>9}{r['errors']:>8}")
        p99_ratio = o["p99_ms"] / n["p99_ms"]
        sat_ratio = os_["rps"] / ns["rps"]
        lines += ["", "Targets",
                  f"  server-side p99 at 2000/s   {o.get('server_p99_ms', float('nan')):8.3f} ms"
                  f"   <= 1 ms      {verdict(o.get('server_p99_ms', 9) <= 1)}",
                  f"  client p99 / nginx p99      {p99_ratio:8.2f} x    <= 1.5 x     "
                  f"{verdict(p99_ratio <= 1.5)}",
                  f"  saturated / nginx           {sat_ratio:8.2f} x    >= 0.5 x     "
                  f"{verdict(sat_ratio >= 0.5)}",
                  f"  peak RSS (VmHWM)            {w['rss_mb']:8.1f} MB   <= 30 MB     "
                  f"{verdict(w['rss_mb'] <= 30)}   (nginx {w['nginx_rss_mb']:.1f} MB)",
                  f"  cold start to /readyz 200   {w['cold_start_ms']:8.1f} ms   <= 100 ms    "
                  f"{verdict(w['cold_start_ms'] <= 100)}",
                  f"  errors                      {o['errors'] + os_['errors']:8d}        0"]
    return "\n".join(lines)


def plot(rows, out_png, work):
    data = os.path.join(work, "review-time.dat")
    with open(data, "w") as f:
        for r in rows:
            if r["name"].startswith("BM_Review/"):
                f.write(f"{r['kb']} {r['cpu_us']} {r['cpu_us'] / r['kb']}\n")
    script = f"""set terminal png size 720,420
set output '{out_png}'
set logscale xy
set xlabel 'pod review body (KB)'
set ylabel 'CPU microseconds (median)'
set key top left
set grid
plot '{data}' using 1:2 with linespoints title 'time per review', \\
     '{data}' using 1:3 with linespoints title 'time per KB'
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build-dir", default="build-bench")
    p.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", "10")))
    p.add_argument("--repeats", type=int, default=int(os.environ.get("BENCH_REPEATS", "3")))
    p.add_argument("--skip-wire", action="store_true")
    p.add_argument("--skip-in-process", action="store_true")
    p.add_argument("--json", help="also write every figure here")
    p.add_argument("--plot", help="write the time-per-review chart (PNG) here")
    a = p.parse_args()
    binary = os.path.join(a.build_dir, "sigv4-injector")
    bench_bin = os.path.join(a.build_dir, "tests", "bench", "review_bench")
    work = tempfile.mkdtemp(prefix="sigv4-bench-")
    rows = [] if a.skip_in_process else in_process(bench_bin, max(a.repeats, 3) + 2)
    wire_figures = None
    if not a.skip_wire:
        run([binary, "certs", "--service", "sigv4-injector", "--namespace", "bench",
             "--out-dir", work, "--ip", "127.0.0.1"])
        run([bench_bin, "--write-fixtures", work])
        wire_figures = wire(binary, work, work, a.seconds, a.repeats)
    print(report(rows, wire_figures))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"in_process": rows, "wire": wire_figures}, f, indent=2)
    if a.plot and rows and shutil.which("gnuplot"):
        plot(rows, a.plot, work)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
