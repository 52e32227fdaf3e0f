#!/usr/bin/env python3
"""The data-plane tier: what an injected pod does, run for real.

    python3 tests/dataplane/dataplane.py --bin build/sigv4-injector [--only WORD] [--keep]

For each scenario, `sigv4-injector inject` (the webhook's code path) injects a real manifest; the
pod it emits then runs in a network namespace of its own (pod.py): the `iptables-init` script as
root with only NET_ADMIN and NET_RAW, the real aws-sigv4-proxy (scripts/proxy.sh builds it from
the released source) as UID 101 with no capabilities and only its injected env and mounts, and
the app — curl as UID 1000 — calling a VPC Lattice DNS name over plain HTTP. Stand-ins for AWS
(standins.py: a Lattice service that verifies SigV4 and refuses like Lattice, the EKS Pod
Identity agent, STS, IMDS) answer in an "aws" namespace across a bridge (netns.py). Every check
prints one PASS/FAIL line; the run closes with `N passed, N failed`.

Isolation: the tier re-executes itself under `unshare --mount --pid --fork --kill-child`, mounts
a tmpfs over /run and binds its own /etc/hosts there, and holds each network namespace with a
process of its private pid namespace: when it ends, however it ends, the kernel tears everything
down. The host's network namespace, iptables, sysctls and /run/netns are never touched.
"""

import argparse
import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PR_SET_PDEATHSIG = 1

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import netns  # noqa: E402
import pki  # noqa: E402
from world import (CUSTOM_NAME, CUSTOM_V4, IMDS, LATTICE_NAME, LATTICE_V4,  # noqa: E402
                   LATTICE_V6, LATTICE_V6_NAME, POD_IDENTITY, POD_ROUTES_V4, POD_ROUTES_V6,
                   REGION, ROLE_ARN, STS, STS_NAMES, TOOLS, key)
from pod import InjectedPod  # noqa: E402
from demo import demo_pod  # noqa: E402
from scenarios import SCENARIOS  # noqa: E402

class Tier:
    """The shared world of one run: the network, the stand-ins, the credentials, the results."""

    def __init__(self, args, workdir):
        self.args = args
        self.bin = os.path.abspath(args.bin)
        self.proxy = args.proxy
        self.workdir = Path(workdir)
        self.run_id = f"{os.getpid()}{secrets.token_hex(2)}"
        self.passed = 0
        self.failed = 0
        self.pods = 0
        self.injections = 0
        self.keys = {p: key(p) for p in ("pod-identity", "irsa", "node")}
        self.pod_identity_token = "eks-pod-identity." + secrets.token_urlsafe(24)
        self.irsa_token = "eyJhbGciOiJSUzI1NiJ9." + secrets.token_urlsafe(40)
        self.records_path = self.workdir / "records.jsonl"
        self.network = None
        self.standins = None

    # --- results ---------------------------------------------------------------------------

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"PASS {name}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {name}" + (f": {detail}" if detail else ""), flush=True)
        return ok

    # --- the world -------------------------------------------------------------------------

    def start(self):
        w = self.workdir
        hosts = ["127.0.0.1 localhost", "::1 localhost", f"{LATTICE_V4} {LATTICE_NAME}",
                 f"{LATTICE_V6} {LATTICE_V6_NAME}", f"{CUSTOM_V4} {CUSTOM_NAME}"]
        hosts += [f"{STS} {n}" for n in STS_NAMES]
        (w / "hosts").write_text("\n".join(hosts) + "\n")
        subprocess.run(["mount", "--bind", str(w / "hosts"), "/etc/hosts"], check=True)
        self.ca = pki.make_ca(w / "pki")
        lattice = pki.make_leaf(w / "pki", "lattice", self.ca,
                                dns=[LATTICE_NAME, LATTICE_V6_NAME, CUSTOM_NAME],
                                ips=[LATTICE_V4, LATTICE_V6])
        sts = pki.make_leaf(w / "pki", "sts", self.ca, dns=STS_NAMES)
        for path in (w / "pki").iterdir():
            os.chmod(path, 0o644)  # the proxy (UID 101) reads the CA for AWS_CA_BUNDLE
        self.network = netns.Network(self.run_id, [LATTICE_V4, LATTICE_V6, CUSTOM_V4,
                                                   POD_IDENTITY, IMDS, STS])
        lattice_ports = [80, 8081, 8082]
        config = {
            "records": str(self.records_path), "region": REGION, "service": "vpc-lattice-svcs",
            "keys": {k["id"]: {"secret": k["secret"], "token": k["token"],
                               "principal": k["principal"]} for k in self.keys.values()},
            "lattice": {"http": [[LATTICE_V4, p] for p in lattice_ports] +
                        [[LATTICE_V6, 80], [CUSTOM_V4, 80]],
                        "https": [[LATTICE_V4, 443], [LATTICE_V6, 443]],
                        "cert": lattice[0], "key": lattice[1]},
            "pod_identity": {"listen": [[POD_IDENTITY, 80]], "token": self.pod_identity_token,
                             "access_key_id": self.keys["pod-identity"]["id"]},
            "sts": {"listen": [[STS, 443]], "cert": sts[0], "key": sts[1], "role_arn": ROLE_ARN,
                    "web_identity_token": self.irsa_token,
                    "access_key_id": self.keys["irsa"]["id"]},
            "imds": {"listen": [[IMDS, 80]], "role": "node-role",
                     "access_key_id": self.keys["node"]["id"]},
        }
        (w / "standins.json").write_text(json.dumps(config, indent=1))
        self.standins = self.network.aws.popen(
            [sys.executable, str(HERE / "standins.py"), "--config", str(w / "standins.json")],
            stdout=subprocess.PIPE, stderr=open(w / "standins.log", "wb"), text=True)
        for line in self.standins.stdout:
            if line.strip() == "standins: ready":
                break
        else:
            raise RuntimeError("the AWS stand-ins did not start: " +
                               (w / "standins.log").read_text()[-2000:])

    def stop(self):
        if self.standins is not None and self.standins.poll() is None:
            self.standins.terminate()
            self.standins.wait(timeout=10)
        if self.network is not None:
            self.network.close()

    def records(self, path_prefix):
        """What the stand-ins saw for requests whose path starts with `path_prefix`."""
        if not self.records_path.exists():
            return []
        out = []
        with open(self.records_path) as f:
            for line in f:
                r = json.loads(line)
                if (r.get("path") or "").startswith(path_prefix):
                    out.append(r)
        return out

    def service_records(self, service):
        if not self.records_path.exists():
            return []
        with open(self.records_path) as f:
            return [r for r in map(json.loads, f) if r.get("service") == service]

    # --- pods ------------------------------------------------------------------------------

    def inject(self, manifest="app1-pod-identity", annotations=None, config=None, ports=None):
        """Runs `sigv4-injector inject` on a testdata manifest with these pod annotations,
        config text and app container ports; returns (CompletedProcess, pod spec or None)."""
        self.injections += 1
        d = self.workdir / f"inject{self.injections}"
        d.mkdir(mode=0o755)
        doc = json.loads((HERE / "testdata" / f"{manifest}.json").read_text())
        template = doc["spec"]["template"]
        if annotations:
            template["metadata"].setdefault("annotations", {}).update(annotations)
        if ports is not None:
            template["spec"]["containers"][0]["ports"] = [{"containerPort": p} for p in ports]
        (d / "manifest.json").write_text(json.dumps(doc))
        cmd = [self.bin, "inject", "-f", str(d / "manifest.json"), "-o", "json"]
        if config is not None:
            (d / "config.yaml").write_text(config)
            cmd += ["--config", str(d / "config.yaml")]
        done = subprocess.run(cmd, capture_output=True, text=True)
        spec = None
        if done.returncode == 0:
            spec = json.loads(done.stdout)["spec"]["template"]["spec"]
        return done, spec

    def reference(self, name):
        return ROOT / "tests" / "reference" / name

    def convert(self, manifest):
        """A YAML manifest as JSON, read by the injector: already-injected pods pass through."""
        done = subprocess.run([self.bin, "inject", "-f", str(manifest), "-o", "json"],
                              capture_output=True, text=True, check=True)
        return json.loads(done.stdout)

    def pod(self, spec):
        """The pod of `spec` in a new network namespace on the bridge, its volumes filled."""
        self.pods += 1
        d = self.workdir / f"pod{self.pods}"
        volumes = {}
        files = {"eks-pod-identity-token": ("eks-pod-identity-token", self.pod_identity_token),
                 "aws-iam-token": ("token", self.irsa_token),
                 "sigv4-injector-ca-bundle": ("ca.crt", Path(self.ca[0]).read_text())}
        # Volumes this tier has no content for (a stored pod's kube-api-access-*) are empty.
        for v in spec.get("volumes") or []:
            files.setdefault(v["name"], None)
        for name, entry in files.items():
            v = d / "volumes" / name
            v.mkdir(parents=True, mode=0o755)
            if entry is not None:
                filename, content = entry
                (v / filename).write_text(content)
                os.chmod(v / filename, 0o644)
            volumes[name] = str(v)
        ns, v4, v6 = self.network.attach(f"p{self.pods}", POD_ROUTES_V4, POD_ROUTES_V6)
        return InjectedPod(ns, v4, v6, spec, volumes, netns.NODE_V4, self.proxy, str(d))

    @contextlib.contextmanager
    def running(self, spec, init=True, proxy=True, extra_env=None):
        """The pod of `spec` with iptables-init run (its result in pod.init_result) and the proxy
        started; torn down on leaving."""
        pod = self.pod(spec)
        try:
            pod.init_result = pod.run_init() if init else None
            if proxy:
                pod.start_proxy(extra_env)
            yield pod
        finally:
            pod.close()
            pod.ns.close()

    def peer(self):
        """Another pod on the same network, with no route but the bridge."""
        ns, v4, v6 = self.network.attach(f"peer{self.pods}", [], [])
        return ns, v4, v6


def outer(args):
    """Checks what the tier needs, builds the proxy, and re-executes inside private
    namespaces."""
    if os.geteuid() != 0:
        print("dataplane: needs root (network namespaces, iptables, setpriv)")
        return 1
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        print(f"dataplane: missing {' '.join(missing)}: run scripts/deps.sh (make test does)")
        return 1
    if not args.proxy:
        args.proxy = subprocess.run([str(ROOT / "scripts" / "proxy.sh")], check=True,
                                    capture_output=False, stdout=subprocess.PIPE,
                                    text=True).stdout.strip()
    argv = [sys.executable, os.path.abspath(__file__), "--inner", "--bin",
            os.path.abspath(args.bin), "--proxy", args.proxy]
    if args.only:
        argv += ["--only", args.only]
    argv += [flag for flag, on in (("--keep", args.keep), ("--verbose", args.verbose)) if on]
    if args.demo_pod:
        argv += ["--demo-pod", os.path.abspath(args.demo_pod)]
    # unshare ignores SIGINT and SIGTERM while it waits for its child, and its child is pid 1 of
    # the new pid namespace: so this process stays, and ends unshare with SIGKILL when it is
    # told to stop or dies itself (PR_SET_PDEATHSIG); unshare's --kill-child then sends the
    # tier SIGTERM, on which it tears down and reports.
    libc = ctypes.CDLL(None, use_errno=True)

    def die_with_parent():
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

    child = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "--pid",
                              "--fork", "--kill-child=SIGTERM", "--mount-proc", *argv],
                             preexec_fn=die_with_parent)

    def forward(_signum, _frame):
        child.kill()

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    code = child.wait()
    return 130 if code < 0 else code


class Stop(BaseException):
    """SIGTERM or SIGINT: unwinds every scenario (their `finally` tear down) to the report."""


def inner(args):
    def stop(signum, _frame):
        raise Stop(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs", "/run"], check=True)
    workdir = tempfile.mkdtemp(prefix="sigv4-dataplane-")
    os.chmod(workdir, 0o755)
    tier = Tier(args, workdir)
    start = time.monotonic()
    code = 1
    try:
        tier.start()
        print(f"dataplane: stand-ins up in {time.monotonic() - start:.1f} s "
              f"(run {tier.run_id}, {workdir})", flush=True)
        if args.demo_pod:
            code = demo_pod(tier, json.loads(Path(args.demo_pod).read_text()))
            return code
        for name, scenario in SCENARIOS:
            if args.only and args.only not in name:
                continue
            began = time.monotonic()
            try:
                scenario(tier)
            except Exception as e:  # a scenario that cannot run is one failure, not the end
                tier.check(f"{name}: runs", False, f"{type(e).__name__}: {e}")
            if args.verbose:
                print(f"     ({name}: {time.monotonic() - began:.1f} s)", flush=True)
        code = 0 if tier.failed == 0 else 1
    except Stop as s:
        print(f"dataplane: stopped by {s}; tearing down", flush=True)
        code = 130
    finally:
        tier.stop()
        if args.keep:
            print(f"dataplane: kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"dataplane: {time.monotonic() - start:.1f} s", flush=True)
    print(f"{tier.passed} passed, {tier.failed} failed", flush=True)
    return code


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", default=str(ROOT / "build" / "sigv4-injector"))
    parser.add_argument("--proxy", help="aws-sigv4-proxy binary (default: scripts/proxy.sh)")
    parser.add_argument("--only", help="run only the scenarios whose name contains this")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--verbose", action="store_true", help="time each scenario")
    parser.add_argument("--demo-pod", metavar="FILE",
                        help="run this stored Pod (JSON) for make demo instead of the checks")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.exit(inner(args) if args.inner else outer(args))


if __name__ == "__main__":
    main()
