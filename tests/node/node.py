#!/usr/bin/env python3
"""The real-node tier: a one-node Kubernetes cluster on this machine, in private namespaces, with
the chart installed by helm and injected pods running (docs/node.md).

    tests/node/node.py [--only node,helm,app1,...]       every scenario; PASS/FAIL lines, `N passed, N failed`
    tests/node/node.py --demo                            make demo: the workshop app on the node, until Ctrl-C
    tests/node/node.py --bench [--count N] [--json F]    make bench: create -> Ready, injected vs not

Host side (this process): builds the images (images.py), makes one child cgroup per v1 hierarchy,
and starts `pause -- node.py --inside DIR` as pid 1 of new mount, pid, net, uts, ipc and cgroup
namespaces (unshare --kill-child, PR_SET_PDEATHSIG: if this process dies, they die). Inside:
the node's mounts and network (nodecluster.setup_namespace), containerd, the control plane,
kube-scheduler and a kubelet (nodecluster.Node), then the scenarios (scenarios.py). Torn down on
success, failure, SIGINT and SIGTERM; after a SIGKILL the next run removes what is left.

Environment: NODE_CACHE (default: scripts/node-tools.sh, containerd/runc/CNI/busybox from Debian
unpacked into .cache/node), K8S_BIN (default: scripts/k8s-tools.sh, the pinned release), HELM
(default: scripts/tools.sh helm), PROXY_BIN (default: scripts/proxy.sh), STATIC_DIR (default
build-static: make static's bundle, built when missing), NODE_ONLY (as --only), NODE_KEEP=1 keeps
the run's directory, DEMO_ONCE=1 makes --demo exit after printing.
"""
import argparse
import glob
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
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))  # cluster.py
sys.path.insert(0, HERE)  # first: tests/e2e has a scenarios.py too
import images  # noqa: E402

TAG = "sigv4-node"
T0 = time.monotonic()


def log(msg):
    try:
        print(f"{time.strftime('%H:%M:%S')} +{time.monotonic() - T0:6.1f}s {msg}", flush=True)
    except OSError:
        pass


def tool(*argv):
    """A path a project script builds or unpacks on first use (its progress goes to stderr)."""
    r = subprocess.run([os.path.join(ROOT, "scripts", argv[0]), *argv[1:]], stdout=subprocess.PIPE,
                       text=True, timeout=3000)
    if r.returncode:
        raise RuntimeError(f"scripts/{' '.join(argv)} failed ({r.returncode})")
    return r.stdout.strip().splitlines()[-1]


# ------------------------------------------------------------------------------------- inside
def check_dockerfile(run):
    """The Dockerfile builds, for users with a container engine, the tree this tier builds without
    one: the same paths, commands and config (dockerfile.py)."""
    import dockerfile
    project = images.project_image(run.bundle, os.path.join(os.environ["NODE_CACHE"], "root/bin/busybox"))
    problems = dockerfile.mismatches(dockerfile.contract(os.path.join(ROOT, "Dockerfile")), project, run.bundle)
    run.check("image.dockerfile", not problems, "the project image's tree and config "
              + ("differ from the Dockerfile's final stage: " + "; ".join(problems) if problems
                 else "hold everything the Dockerfile's final stage requires"))


def inside(w, only, demo, bench):
    import nodecluster
    import scenarios
    from aws import StandIns
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
    t_all = time.monotonic()
    runtime_root = os.path.join(os.environ["NODE_CACHE"], "root")
    nodecluster.setup_namespace(w, runtime_root)
    node = nodecluster.Node(w, runtime_root, os.environ["K8S_BIN"], os.environ["HELM"], log)
    run = scenarios.Run(node, w, os.environ["BUNDLE"], os.path.join(ROOT, "charts/sigv4-injector"), log)
    try:
        check_dockerfile(run)
        node.start()
        run.standins = StandIns(w)
        stop_after = None
        for name, fn, critical in scenarios.SCENARIOS:
            if (demo and name not in ("node", "helm", "app1")) or (bench and name not in ("node", "helm")):
                continue
            if only and name not in only and name not in ("node", "helm", "app1"):  # what the rest build on
                continue
            if stop_after:
                run.check(name, False, f"not run: {stop_after} failed")
                continue
            t = time.monotonic()
            log(f"--- {name}")
            try:
                fn(run)
            except scenarios.Failed:
                if critical:
                    stop_after = name
            except Exception as e:  # noqa: BLE001 -- a scenario fails on anything, the run goes on
                run.check(name, False, f"{type(e).__name__}: {e}")
                if critical:
                    stop_after = name
            log(f"--- {name} done in {time.monotonic() - t:.1f}s")
        if run.failed:
            print(node.diagnostics(), flush=True)
        log(f"scenarios done; {time.monotonic() - t_all:.1f}s inside the namespaces")
        if bench and not run.failed:
            import readiness
            readiness.measure(run, bench["count"], bench["json"])
        if demo:
            import demo as demo_mod
            demo_mod.show(run)
            if not os.environ.get("DEMO_ONCE"):
                with open(f"{w}/holding", "w") as f:  # the host side then says how to reach the node
                    f.write(node.cp.kubeconfig)
                signal.pause()
    finally:
        if run.standins:
            run.standins.stop()
        node.stop()
        print(f"{run.passed} passed, {run.failed} failed", flush=True)
    sys.exit(1 if run.failed else 0)


# ---------------------------------------------------------------------------------- host side
def hierarchies():
    """(mount point, options) of each cgroup v1 hierarchy mounted on the host."""
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
        for root, _dirs, _files in os.walk(d, topdown=False):
            try:
                os.rmdir(root)
            except OSError:
                pass
        if not os.path.isdir(d):
            return
        time.sleep(0.1)
    log(f"could not remove cgroup {d}")


def cleanup_stale():
    """What a SIGKILLed run left: its directory (and mounts under it) and its cgroups."""
    for d in glob.glob(f"/tmp/{TAG}.*"):
        try:
            os.kill(int(open(f"{d}/owner").read()), 0)
        except (OSError, ValueError):
            log(f"removing what an earlier run left: {d}")
            subprocess.run(["umount", "-R", "-l", d], capture_output=True)
            shutil.rmtree(d, ignore_errors=True)
    for mnt, _ in hierarchies():
        for d in glob.glob(f"{mnt}/**/{TAG}-*", recursive=True)[:20]:
            try:
                os.kill(int(d.rsplit("-", 1)[1]), 0)
            except (OSError, ValueError):
                rm_cgroup(d)


def cgroup_version_problem():
    """Why this host's cgroups cannot hold the node, or None. The kubelet runs on cgroup v1 here
    with one child cgroup of ours per hierarchy; a pure v2 host (cgroup2fs at /sys/fs/cgroup)
    would need the v2 controllers delegated to a subtree of ours, which this tier does not do yet."""
    fs = subprocess.run(["stat", "-fc", "%T", "/sys/fs/cgroup"], capture_output=True, text=True).stdout.strip()
    if fs == "cgroup2fs":
        return ("this host has cgroup v2 only (/sys/fs/cgroup is cgroup2fs); the node tier runs the kubelet "
                "on cgroup v1 hierarchies (see docs/node.md, 'cgroup v2')")
    names = {o for _, opts in hierarchies() for o in opts.split(",")}
    missing = {"cpu", "memory", "pids", "cpuset"} - names
    if missing:
        return f"cgroup v1 controllers the kubelet needs are not mounted: {sorted(missing)}"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--inside")
    ap.add_argument("--only", default=os.environ.get("NODE_ONLY", ""))
    ap.add_argument("--demo", action="store_true")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--json")
    a = ap.parse_args()
    bench = {"count": a.count, "json": a.json and os.path.abspath(a.json)} if a.bench else None
    only = [s for s in a.only.split(",") if s]
    if a.inside:
        if os.getppid() != 1 or os.getpid() != 2:
            sys.exit("--inside is for the namespaces this script makes")
        inside(a.inside, only, a.demo, bench)
        return
    if os.getuid() != 0:
        print("SKIP: the node tier needs root (namespaces, mounts, cgroups)")
        sys.exit(77)
    problem = cgroup_version_problem()
    if problem:
        print(f"SKIP: {problem}")
        sys.exit(77)
    cleanup_stale()
    t = time.monotonic()
    log("tools: containerd, runc, CNI plugins, busybox (scripts/node-tools.sh); Kubernetes "
        "(scripts/k8s-tools.sh); helm; the proxy (scripts/proxy.sh); first run builds them")
    env = {"NODE_CACHE": os.environ.get("NODE_CACHE") or tool("node-tools.sh"),
           "K8S_BIN": os.environ.get("K8S_BIN") or tool("k8s-tools.sh"),
           "HELM": os.environ.get("HELM") or tool("tools.sh", "helm"),
           "PROXY_BIN": os.environ.get("PROXY_BIN") or tool("proxy.sh")}
    log(f"tools ready in {time.monotonic() - t:.1f}s: kubernetes {tool('k8s-tools.sh', '--version')}")
    w = tempfile.mkdtemp(prefix=f"{TAG}.", dir="/tmp")
    with open(f"{w}/owner", "w") as f:
        f.write(str(os.getpid()))
    cgs, ns = [], None

    def teardown():
        nonlocal ns
        if ns is not None and ns.poll() is None:
            ns.kill()  # unshare --kill-child: the namespaces' pid 1 dies, and with it everything in them
            ns.wait()
        ns = None
        time.sleep(0.3)
        for d in cgs:
            rm_cgroup(d)
        if os.environ.get("NODE_KEEP") == "1":
            log(f"kept {w}")
        else:
            subprocess.run(["umount", "-R", "-l", w], capture_output=True)
            shutil.rmtree(w, ignore_errors=True)

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    rc = 1
    try:
        static_dir = os.environ.get("STATIC_DIR") or os.path.join(ROOT, "build-static")
        _, bundle = images.build(w, env["NODE_CACHE"], static_dir, env["PROXY_BIN"], log)
        env["BUNDLE"] = bundle
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
                f"{w}/pause", "--", sys.executable, os.path.abspath(__file__), "--inside", w,
                "--only", ",".join(only)] + (["--demo"] if a.demo else []) + \
            (["--bench", "--count", str(a.count)] + (["--json", bench["json"]] if a.json else []) if a.bench else [])
        ns = subprocess.Popen(argv, preexec_fn=enter_cgroups, env={**os.environ, **env})
        try:
            while a.demo and ns.poll() is None and not os.path.exists(f"{w}/holding"):
                time.sleep(0.5)
            if a.demo and ns.poll() is None:
                with open(f"/proc/{ns.pid}/task/{ns.pid}/children") as f:
                    init_pid = f.read().split()[0]  # unshare's child: the namespaces' pid 1
                log("the node runs until Ctrl-C; from another shell:\n"
                    f"    nsenter -t {init_pid} -a {env['K8S_BIN']}/kubectl --kubeconfig {open(f'{w}/holding').read()} get pods -A")
            rc = ns.wait()
        except KeyboardInterrupt:
            ns.send_signal(signal.SIGINT)  # Ctrl-C reached the namespaces too; let them stop cleanly
            try:
                rc = ns.wait(60)
            except subprocess.TimeoutExpired:
                rc = 130
        ns = None
        log(f"node tier done, rc {rc}, {time.monotonic() - T0:.1f}s in all")
    except KeyboardInterrupt:
        rc = 130
    finally:
        teardown()
    sys.exit(rc)


if __name__ == "__main__":
    main()
