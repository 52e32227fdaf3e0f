#!/usr/bin/env python3
"""End-to-end tests of sigv4-injector against a real control plane on loopback (issue #5).

    tests/e2e/e2e.py --bin build/sigv4-injector            run every scenario (make e2e)
    tests/e2e/e2e.py --bin build/sigv4-injector --demo     the workshop demo (make demo-stored)

Starts etcd, kube-apiserver and kube-controller-manager (cluster.py) and `sigv4-injector serve`
(webhook.py), registers the chart's MutatingWebhookConfiguration and drives kubectl
(scenarios.py). Prints PASS/FAIL per scenario and a final `N passed, N failed`; exits 1 on any
failure. Everything runs on 127.0.0.1 in a private temp dir, removed on exit (E2E_KEEP=1 keeps
it). Tools are fetched or built on first use: etcd (Debian etcd-server), kube-apiserver,
kube-controller-manager and kubectl at the same release (scripts/k8s-tools.sh), helm
(scripts/tools.sh helm). Environment: E2E_ONLY=name,... runs a subset; E2E_DEADLINE (s, default 900) bounds
the run once the tools are built; DEMO_ONCE=1 makes --demo exit after printing.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cluster import ControlPlane, child_env  # noqa: E402
from harness import LABEL, LABELED_NS, PLAIN_NS, Env  # noqa: E402
import corpus  # noqa: E402
from scenarios import SCENARIOS, deploy_workshop  # noqa: E402
from webhook import LEGACY_CONFIG, Webhook  # noqa: E402


def say(*args):
    """print, never failing: cleanup must go on when stdout is a closed pipe (`| head`)."""
    try:
        print(*args, flush=True)
    except OSError:
        pass


def tool(src, *argv):
    """Runs a project script that prints a path on its last stdout line (progress on stderr)."""
    r = subprocess.run([os.path.join(src, "scripts", argv[0]), *argv[1:]], stdout=subprocess.PIPE,
                       text=True, timeout=2400)
    if r.returncode != 0:
        raise RuntimeError(f"scripts/{' '.join(argv)} failed ({r.returncode})")
    return r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""


def prepare_tools(src):
    t0 = time.monotonic()
    subprocess.run([os.path.join(src, "scripts", "deps.sh"), "etcd-server"], check=True,
                   timeout=900)
    for name in ("etcd", "openssl"):
        if shutil.which(name) is None:
            raise RuntimeError(f"{name} not found on PATH")
    k8s_bin = tool(src, "k8s-tools.sh")
    helm = tool(src, "tools.sh", "helm")
    kube_version = tool(src, "k8s-tools.sh", "--version")
    say(f"tools: kubernetes {kube_version} in {k8s_bin}, helm {helm} "
        f"({time.monotonic() - t0:.0f}s)")
    return k8s_bin, helm, kube_version


def run_scenarios(env):
    only = [s for s in os.environ.get("E2E_ONLY", "").split(",") if s]
    passed = failed = 0
    # The corpus tier (issue 17) runs last: it only dry-runs, in namespaces of its own.
    for name, fn in SCENARIOS + [("corpus", corpus.run)]:
        if only and name not in only and not name.startswith("chart-webhook"):
            continue
        t0 = time.monotonic()
        try:
            fn(env)
        except Exception as e:  # noqa: BLE001 -- a scenario fails on anything, the run goes on
            failed += 1
            say(f"FAIL  {name}  ({time.monotonic() - t0:.1f}s): {e}")
            tail = env.wh.diagnostics()
            if tail:
                say(tail)
            if env.wh.proc is None:  # a scenario died with the webhook stopped: restart it
                try:
                    env.wh.start(LEGACY_CONFIG)
                except Exception as e2:  # noqa: BLE001
                    say(f"      (webhook restart failed: {e2})")
        else:
            passed += 1
            say(f"PASS  {name}  ({time.monotonic() - t0:.1f}s)")
    return passed, failed


def demo(env, src):
    cp = env.cp
    example = os.path.join(src, "examples", "workshop-app1.yaml")
    env.register_default()
    say(f"== namespace app1 labelled {LABEL}=enabled; kubectl apply -f {example}")
    pod = deploy_workshop(cp, example)
    say(f"== stored pod {pod['metadata']['name']} (as the apiserver keeps it)")
    spec = pod["spec"]
    for kind in ("initContainers", "containers"):
        for c in spec.get(kind, []):
            extra = f"  restartPolicy={c['restartPolicy']}" if c.get("restartPolicy") else ""
            say(f"  {kind[:-1]:<14} {c['name']:<14} {c['image']}{extra}")
    init = next((c for c in spec.get("initContainers", []) if c["name"] == "iptables-init"), None)
    if init:
        say("== iptables-init script")
        say((init.get("command") or [""])[-1].rstrip())
    say(f"== annotations: {pod['metadata'].get('annotations', {})}")
    # Then what the stored pod does: its own script and sidecar run for real (tests/dataplane).
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(pod, f)
    try:
        subprocess.run([sys.executable, os.path.join(src, "tests", "dataplane", "dataplane.py"),
                        "--demo-pod", f.name], check=True, timeout=600)
    finally:
        os.unlink(f.name)
    say(f"\nexport KUBECONFIG={cp.kubeconfig}   # kubectl against this control plane, e.g.")
    say(f"{cp.kubectl_bin} -n app1 get pods -o yaml")
    say(f"webhook https://127.0.0.1:{env.wh.port} (log {env.wh.proc.log_path}), "
        f"metrics http://127.0.0.1:{env.wh.metrics_port}/metrics")
    if os.environ.get("DEMO_ONCE"):
        return 0
    say("running; Ctrl-C to stop")
    while all(p.popen.poll() is None for p in cp.procs) and env.wh.proc.popen.poll() is None:
        time.sleep(1)
    say("a component exited:\n" + cp.diagnostics() + "\n" + env.wh.diagnostics())
    return 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--bin", required=True, help="the built sigv4-injector")
    ap.add_argument("--src", default=os.path.dirname(os.path.dirname(here)), help="repo root")
    ap.add_argument("--demo", action="store_true", help="interactive workshop demo")
    args = ap.parse_args()
    binary, src = os.path.abspath(args.bin), os.path.abspath(args.src)

    # SIGTERM (ctest timeout, CI cancel) and the overall deadline unwind through `finally`.
    def stop(signum, _frame):
        raise SystemExit(f"e2e: stopped by signal {signum}")
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGALRM, stop)

    t_start = time.monotonic()
    k8s_bin, helm, kube_version = prepare_tools(src)  # each bounded by its own timeout
    signal.alarm(int(os.environ.get("E2E_DEADLINE", "900")) if not args.demo else 0)
    workdir = tempfile.mkdtemp(prefix="sigv4-e2e-")
    cp = ControlPlane(k8s_bin, workdir, log=say)
    wh = Webhook(binary, workdir, child_env(workdir))
    ok = False
    try:
        try:
            cp.start()
            wh.make_certs()
            wh.start(LEGACY_CONFIG)
        except Exception as e:  # noqa: BLE001 -- report setup like a scenario, then stop
            say(f"FAIL  setup: {e}")
            say("0 passed, 1 failed")
            return 1
        say(f"webhook: serving on {wh.url_base}, metrics on 127.0.0.1:{wh.metrics_port}")
        env = Env(cp, wh, helm, src, kube_version)
        env.namespace(LABELED_NS, {LABEL: "enabled"})  # also where registration probes go
        env.namespace(PLAIN_NS)
        if args.demo:
            try:
                code = demo(env, src)
            except Exception as e:  # noqa: BLE001
                say(f"demo failed: {e}")
                code = 1
            ok = code == 0
            return code
        passed, failed = run_scenarios(env)
        ok = failed == 0
        say(f"e2e: {time.monotonic() - t_start:.0f}s in total")
        say(f"{passed} passed, {failed} failed")
        return 0 if ok else 1
    except KeyboardInterrupt:
        say("\ninterrupted")
        ok = args.demo  # Ctrl-C is how the demo ends
        return 0 if args.demo else 130
    finally:
        signal.alarm(0)
        if not ok:
            say(cp.diagnostics())
        try:
            wh.stop()
        finally:
            cp.stop()
        if os.environ.get("E2E_KEEP"):
            say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
