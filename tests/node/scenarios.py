"""The node tier's scenarios, in order, each checked against what really runs on the node.

Each scenario is a function of a Run; every check prints one `PASS  name: what was seen` or
`FAIL  name: what was seen` line. A scenario that raises is one FAIL line; when a scenario the
rest depend on fails (`node`, `helm`), the rest are reported as not run, not left to time out.
"""
import json
import os
import re
import subprocess
import threading
import time
from collections import Counter

import aws
import images
import nodecluster

STATUS = "sigv4-injector.io/status"
WEBHOOK_NS = "sigv4-injector"
WEBHOOK_PODS = "app.kubernetes.io/name=sigv4-injector"


class Failed(Exception):
    """A required check failed (already reported): the scenario stops here."""


class Run:
    def __init__(self, node, w, bundle, chart, log):
        self.node, self.w, self.bundle, self.chart, self.log = node, w, bundle, chart, log
        self.passed = self.failed = 0
        self.standins = None
        self.facts = {}  # what later scenarios (and the demo) reuse

    def check(self, name, ok, detail, required=False):
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}", flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            if required:
                raise Failed(name)
        return ok


# ------------------------------------------------------------------------------------ helpers
def workshop(namespace, deployment_only=False):
    """examples/workshop-app1.yaml with the app swapped for the app image (it waits; the checks
    exec into it) and the env + projected token the EKS Pod Identity webhook would add."""
    with open(f"{images.ROOT}/examples/workshop-app1.yaml") as f:
        text = f.read()
    if deployment_only:
        text = next(d for d in text.split("\n---\n") if "kind: Deployment" in d) + "\n"
    text = text.replace("namespace: app1", f"namespace: {namespace}").replace(
        "image: public.ecr.aws/seb-demo/http-server:latest",
        f"image: {images.APP}\n        imagePullPolicy: Never\n"
        "        command: [/bin/sh, -c, 'echo app up; exec sleep 3600']")
    marker = '          value: "Hello from app1-v1"\n'
    assert marker in text
    return text.replace(marker, marker + aws.POD_IDENTITY_ENV)


def statuses(pod):
    st = pod["status"]
    return {c["name"]: c for c in st.get("initContainerStatuses", []) + st.get("containerStatuses", [])}


def ready(pod):
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))


def one_pod(r, ns, selector):
    pods = r.node.get("pods", "-n", ns, "-l", selector)["items"]
    return pods[0] if pods else None


def wait_pod_ready(r, ns, selector, timeout=120):
    return r.node.wait(f"a Ready pod {selector} in {ns}", lambda: (lambda p: p if p and ready(p) else None)(
        one_pod(r, ns, selector)), timeout, 0.5)


def dry_create(r, ns, name):
    """A server-side dry-run pod create: through admission, stored nowhere, run nowhere."""
    # restartPolicy Always: in legacy mode a run-to-completion pod is skipped (job-legacy-mode).
    p = r.node.k("run", name, "-n", ns, "--image", images.APP, "--restart", "Always", "--dry-run=server",
                 "-o", "json", "--", "sleep", "1", check=False)
    if p.returncode:
        return "refused", p.stderr.strip()
    status = json.loads(p.stdout)["metadata"].get("annotations", {}).get(STATUS, "")
    return ("injected" if status.startswith("injected") else f"not injected ({status or 'no status'})"), p.stderr.strip()


class Creates:
    """Dry-run creates in loops on a few threads (denser in time than one, so a short window in
    which a replica refuses is hit), while something happens to the webhook."""

    def __init__(self, r, ns, threads=3):
        self.r, self.ns, self.results, self.stop = r, ns, [], threading.Event()
        self.threads = [threading.Thread(target=self._loop, args=(t,)) for t in range(threads)]

    def _loop(self, t):
        i = 0
        while not self.stop.is_set():
            i += 1
            self.results.append(dry_create(self.r, self.ns, f"loop-{t}-{i}"))

    def __enter__(self):
        for th in self.threads:
            th.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for th in self.threads:
            th.join()

    def summary(self):
        counts = Counter(outcome for outcome, _ in self.results)
        errors = [e[:200] for outcome, e in self.results if outcome != "injected"][:2]
        return counts, f"{len(self.results)} creates: {dict(counts)}" + (f" {errors}" if errors else "")


def rules(r, pid):
    """The nat and filter rules of a network namespace (our pid's), of both backends, as -S text."""
    out = {}
    for backend in ("nft", "legacy"):
        for v in ("iptables", "ip6tables"):
            for table in ("nat", "filter"):
                p = r.node.in_netns(pid, f"{v}-{backend}", "-t", table, "-S")
                out[f"{v}-{backend} {table}"] = [x for x in p.stdout.splitlines() if x.startswith("-A")]
    return out


def signed_call(r, ns, pod, container, path):
    """The app's plain HTTP call to the Lattice stand-in; returns (curl result, new records)."""
    r.standins.serve(r.node.pod_token(pod, "eks-pod-identity-token"))
    r.standins.new_records()
    p = r.node.k("exec", "-n", ns, pod["metadata"]["name"], "-c", container, "--", "curl", "-sS", "-m", "10",
                 "-w", "\\nHTTP %{http_code}", f"http://{aws.LATTICE}{path}", check=False)
    return p, r.standins.new_records()


def check_signed(r, name, p, records, peer):
    lattice = [x for x in records if x["service"] == "lattice"]
    ok = (p.returncode == 0 and p.stdout.rstrip().endswith("HTTP 200") and len(lattice) == 1 and
          lattice[0]["signed"] and lattice[0]["verified"] and lattice[0]["principal"] == "pod-identity"
          and lattice[0]["peer"].split(":")[0] == peer)
    creds = [x for x in records if x["service"] == "pod-identity"]
    r.check(name, ok, f"curl http://{aws.LATTICE}/... from the app -> {p.stdout.strip().splitlines()[-1:]} "
            f"{p.stderr.strip()[:200]}; stand-in saw: {[aws.describe(x) for x in lattice]}; credentials "
            f"fetched from the Pod Identity stand-in: {[x.get('status') for x in creds]}")


def container_names(spec):
    return [c["name"] for c in spec.get("initContainers", [])], [c["name"] for c in spec["containers"]]


# ---------------------------------------------------------------------------------- scenarios
def node(r):
    n = r.node
    nd = n.get("node", nodecluster.NODE)
    cond = {c["type"]: c["status"] for c in nd["status"]["conditions"]}
    addr = [a["address"] for a in nd["status"]["addresses"] if a["type"] == "InternalIP"]
    r.check("node.ready", cond.get("Ready") == "True" and addr == [nodecluster.BRIDGE_IP],
            f"node {nodecluster.NODE} Ready={cond.get('Ready')} InternalIP={addr} kubelet "
            f"{nd['status']['nodeInfo']['kubeletVersion']} runtime {nd['status']['nodeInfo']['containerRuntimeVersion']}",
            required=True)
    t = time.monotonic()
    n.k("run", "bb", "--image", images.APP, "--image-pull-policy", "Never", "--restart", "Never",
        "--", "/bin/sh", "-c", "exec sleep 3600")
    pod = wait_pod_ready(r, "default", "run=bb", 90)
    r.facts["bb_ip"] = pod["status"]["podIP"]
    r.check("node.pod-runs", pod["status"]["podIP"].startswith("10.213.0."),
            f"an uninjected pod (bb) Running and Ready in {time.monotonic() - t:.1f}s at {pod['status']['podIP']}",
            required=True)


def helm_install(r):
    n = r.node
    t = time.monotonic()
    p = n.helm_run("install", "sigv4-injector", r.chart, "-n", WEBHOOK_NS, "--create-namespace",
                   "--set", "region=us-west-2", "--wait", "--timeout", "180s")
    r.check("helm.install", p.returncode == 0,
            f"helm install --set region=us-west-2 (nothing else: the image is the chart's default "
            f"{images.project_ref()}): rc {p.returncode} in {time.monotonic() - t:.1f}s {p.stderr.strip()[-600:]}",
            required=True)
    n.k("wait", "--for=condition=Ready", "pod", "-n", WEBHOOK_NS, "--all", "--timeout=120s", timeout=150)
    pods = n.get("pods", "-n", WEBHOOK_NS, "-l", WEBHOOK_PODS)["items"]
    probes = {(c.get("readinessProbe", {}).get("httpGet", {}).get("scheme"),
               c.get("livenessProbe", {}).get("httpGet", {}).get("scheme")) for p in pods for c in p["spec"]["containers"]}
    ok = (len(pods) == 2 and all(ready(p) for p in pods) and probes == {("HTTPS", "HTTPS")} and
          all(c["image"] == images.project_ref() for p in pods for c in p["spec"]["containers"]))
    r.check("helm.replicas-ready", ok,
            f"{len(pods)} webhook pods {[(p['metadata']['name'], p['status']['phase'], ready(p)) for p in pods]}, "
            f"Ready through the kubelet's probes (readiness, liveness schemes {probes})", required=True)
    eps = n.get("endpointslices", "-n", WEBHOOK_NS, "-l", "kubernetes.io/service-name=sigv4-injector")["items"]
    addrs = sorted(a for e in eps for ep in e.get("endpoints") or [] if ep.get("conditions", {}).get("ready")
                   for a in ep["addresses"])
    r.check("helm.service-endpoints", addrs == sorted(p["status"]["podIP"] for p in pods),
            f"the Service's ready endpoints {addrs} are the two pods")
    n.namespace("probe", ["sigv4-injector.io/inject=enabled"])
    outcome = n.wait("admission through the Service", lambda: (lambda o: o if o[0] == "injected" else None)(
        dry_create(r, "probe", "probe")), 30, 0.5)
    r.check("helm.admission", outcome[0] == "injected",
            "the apiserver calls the webhook pods through the Service (aggregator routing, no kube-proxy): "
            "a dry-run create in a labelled namespace is injected", required=True)


def app1(r):
    n = r.node
    t = time.monotonic()
    n.k("apply", "-f", "-", input=workshop("app1"))
    n.k("label", "namespace", "app1", "sigv4-injector.io/inject=enabled", "--overwrite")
    n.cp.wait_service_account("app1")
    try:
        pod = wait_pod_ready(r, "app1", "app=app1-v1", 120)
    finally:
        p = one_pod(r, "app1", "app=app1-v1")
        if p and not ready(p):
            print(json.dumps(p["status"], indent=1)[:3000])
    r.facts["app1_pod"] = pod
    name = pod["metadata"]["name"]
    st = statuses(pod)
    init, main = container_names(pod["spec"])
    status = pod["metadata"].get("annotations", {}).get(STATUS, "")
    r.check("app1.running", init == ["iptables-init", "sigv4proxy"] and main == ["app1-v1"] and
            status.startswith("injected") and all(c.get("ready") or c["name"] == "iptables-init" for c in st.values()),
            f"workshop Deployment in the labelled namespace: pod {name} Ready in {time.monotonic() - t:.1f}s, "
            f"initContainers {init}, containers {main}, {STATUS}={status!r}", required=True)
    term = st["iptables-init"]["state"].get("terminated", {})
    r.check("app1.iptables-init", term.get("exitCode") == 0 and term.get("reason") == "Completed",
            f"iptables-init exited {term.get('exitCode')} ({term.get('reason')}) at {term.get('finishedAt')}")

    # native gating: the kubelet starts the app only once the sidecar's startup probe passed
    proxy_spec = pod["spec"]["initContainers"][1]
    probe = proxy_spec.get("startupProbe")
    proxy_started = st["sigv4proxy"]["state"].get("running", {}).get("startedAt")
    app_started = st["app1-v1"]["state"].get("running", {}).get("startedAt")
    events = n.get("events", "-n", "app1", "--field-selector", f"involvedObject.name={name}")["items"]
    # in the order they were written (their timestamps have one-second steps)
    events.sort(key=lambda e: int(e["metadata"]["resourceVersion"]))
    seq = [e["reason"] + ":" + (e.get("involvedObject", {}).get("fieldPath") or "").replace("spec.", "").replace("{", ".").rstrip("}")
           for e in events]

    def first(reason, c):
        return next((i for i, s in enumerate(seq) if s == f"{reason}:{c}"), None)
    a, b = first("Started", "initContainers.sigv4proxy"), first("Created", "containers.app1-v1")
    r.check("app1.native-gating", proxy_spec.get("restartPolicy") == "Always" and probe is not None and
            st["sigv4proxy"].get("started") is True and proxy_started and app_started and
            proxy_started <= app_started and a is not None and b is not None and a < b,
            f"sigv4proxy is a native sidecar with startupProbe {json.dumps(probe)}; started {proxy_started}, app "
            f"started {app_started}; events in order: {seq}")

    pid = n.container_pid(pod, "app1-v1")
    in_pod = rules(r, pid)
    on_node = {k: v for k, v in rules(r, 1).items() if v}
    nat = [x for k, v in in_pod.items() if k.endswith("nat") and v for x in v]
    flt = [x for k, v in in_pod.items() if k.endswith("filter") and v for x in v]
    port = "19471"
    r.facts["rules"] = {k: v for k, v in in_pod.items() if v}
    r.check("app1.rules-in-pod", any("REDIRECT" in x and port in x for x in nat) and
            any("REJECT" in x and port in x for x in flt),
            "the rules iptables-init installed, read in the pod's netns (nsenter into the app's pid "
            f"{pid}): " + "; ".join(f"{k}: {len(v)}" for k, v in in_pod.items() if v))
    r.check("app1.rules-not-on-node", not on_node,
            f"the node's netns has no rules in any table of either backend: {on_node or 'none'}")

    p, records = signed_call(r, "app1", pod, "app1-v1", "/orders?id=7")
    check_signed(r, "app1.signed-call", p, records, pod["status"]["podIP"])
    r.facts["signed"] = (p.stdout.strip(), records)

    # contrast: the same call from a pod without the sidecar is refused, as Lattice refuses it
    q = n.k("exec", "bb", "--", "curl", "-sS", "-m", "10", "-w", "\\nHTTP %{http_code}",
            f"http://{aws.LATTICE}/orders?id=7", check=False)
    recs = [x for x in r.standins.new_records() if x["service"] == "lattice"]
    r.check("app1.unsigned-refused", q.stdout.rstrip().endswith("HTTP 403") and recs and not recs[0]["signed"],
            f"the same call from the uninjected pod bb: {q.stdout.strip().splitlines()[-1:]}; stand-in saw "
            f"{[aws.describe(x) for x in recs]}")
    ip = pod["status"]["podIP"]
    q = n.k("exec", "bb", "--", "curl", "-sS", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}",
            f"http://{ip}:{port}/", check=False)
    recs = r.standins.new_records()
    r.check("app1.proxy-not-shared", q.returncode != 0 and q.stdout in ("", "000") and not recs,
            f"another pod (bb) -> {ip}:{port}, this pod's proxy: curl rc {q.returncode} "
            f"{q.stderr.strip()[:120]!r}; nothing reached the stand-ins: {not recs}")


JOB = """apiVersion: batch/v1
kind: Job
metadata: {{name: signed-once, namespace: app1}}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: call
        image: {app}
        imagePullPolicy: Never
        command: [/bin/sh, -c, 'for i in $(seq 60); do c=$(curl -sS -m 10 -o /tmp/out -w "%{{http_code}}" http://{lattice}/job); echo "try $i: HTTP $c $(cat /tmp/out)"; [ "$c" = 200 ] && exit 0; sleep 0.5; done; exit 1']
        env:
        - name: PodName
          value: "Hello from app1-v1"
"""


def job(r):
    n = r.node
    t = time.monotonic()
    n.k("apply", "-f", "-", input=JOB.format(app=images.APP, lattice=aws.LATTICE) + aws.POD_IDENTITY_ENV)
    # the Pod Identity stand-in learns the Job pod's token as soon as the kubelet has written it;
    # until then the Job's calls are refused and it retries
    pod = n.wait("the Job pod's token", lambda: (lambda p: p if p and n.pod_token(p, "eks-pod-identity-token")
                                                 else None)(one_pod(r, "app1", "job-name=signed-once")), 60, 0.2)
    r.standins.serve(n.pod_token(pod, "eks-pod-identity-token"))
    done = n.k("wait", "--for=condition=Complete", "job/signed-once", "-n", "app1", "--timeout=120s",
               check=False, timeout=150)
    pod = one_pod(r, "app1", "job-name=signed-once")
    st = statuses(pod)
    log = n.k("logs", "-n", "app1", pod["metadata"]["name"], "-c", "call", check=False).stdout.strip()
    lattice = [x for x in r.standins.new_records() if x["service"] == "lattice" and x.get("status") == 200]
    r.check("job.complete", done.returncode == 0 and pod["status"]["phase"] == "Succeeded" and
            st["call"]["state"].get("terminated", {}).get("exitCode") == 0 and lattice and lattice[-1]["verified"],
            f"native-sidecar Job Complete in {time.monotonic() - t:.1f}s, pod {pod['status']['phase']}; "
            f"sigv4proxy {json.dumps(st['sigv4proxy']['state'])[:160]}; call's last line "
            f"{log.splitlines()[-1:] if log else None}")


def cli(r):
    n = r.node
    conf = n.k("get", "configmap", "sigv4-injector", "-n", WEBHOOK_NS, "-o", "jsonpath={.data.config\\.yaml}").stdout
    with open(f"{r.w}/cli-config.yaml", "w") as f:
        f.write(conf)
    p = subprocess.run([f"{r.bundle}/bin/sigv4-injector", "inject", "-f", "-", "--config", f"{r.w}/cli-config.yaml"],
                       input=workshop("cli", deployment_only=True), capture_output=True, text=True,
                       env=dict(os.environ, LD_LIBRARY_PATH=f"{r.bundle}/lib"))
    r.check("cli.inject", p.returncode == 0 and "sigv4proxy" in p.stdout,
            "sigv4-injector inject -f workshop.yaml --config <the chart's ConfigMap> (the bundle in the image): "
            f"rc {p.returncode} {p.stderr.strip()[:300]}", required=True)
    t = time.monotonic()
    n.namespace("cli")  # not labelled: only the CLI injects here
    n.k("apply", "-f", "-", input=p.stdout)
    pod = wait_pod_ready(r, "cli", "app=app1-v1", 120)
    webhook_pod = r.facts.get("app1_pod")

    def injected(spec):
        """The injected containers, with the per-pod name of the service-account token volume
        (kube-api-access-<random>) made generic."""
        text = json.dumps([c for c in spec.get("initContainers", []) + spec["containers"]
                           if c["name"] in ("iptables-init", "sigv4proxy")], sort_keys=True)
        return json.loads(re.sub(r"kube-api-access-[a-z0-9]+", "kube-api-access-*", text))
    ours, theirs = injected(pod["spec"]), injected(webhook_pod["spec"]) if webhook_pod else None
    diff = [f"{a['name']}.{k}: {json.dumps(a.get(k))[:200]} vs {json.dumps(b.get(k))[:200]}"
            for a, b in zip(ours, theirs or []) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    r.check("cli.same-as-webhook", theirs is not None and ours == theirs and
            container_names(pod["spec"]) == container_names(webhook_pod["spec"]),
            f"the CLI-injected pod Ready in {time.monotonic() - t:.1f}s with containers "
            f"{container_names(pod['spec'])}; its injected containers "
            + (f"differ from the webhook's in app1: {diff}" if diff or ours != theirs else
               "are identical to the webhook's in app1 (the service-account token volume's name aside)"))
    q, records = signed_call(r, "cli", pod, "app1-v1", "/cli")
    check_signed(r, "cli.signed-call", q, records, pod["status"]["podIP"])


def resilience(r):
    n = r.node
    victim = n.get("pods", "-n", WEBHOOK_NS, "-l", WEBHOOK_PODS)["items"][0]["metadata"]["name"]
    t = time.monotonic()
    with Creates(r, "app1") as c:
        time.sleep(1)
        n.k("delete", "pod", "-n", WEBHOOK_NS, victim, "--wait=false")
        time.sleep(1)
        n.k("rollout", "status", "deployment/sigv4-injector", "-n", WEBHOOK_NS, "--timeout=90s", timeout=120)
        time.sleep(2)
    counts, text = c.summary()
    r.check("resilience.one-pod-deleted", counts["injected"] >= 5 and counts["injected"] == len(c.results),
            f"webhook pod {victim} deleted during {text} ({time.monotonic() - t:.1f}s)")
    t = time.monotonic()
    n.k("scale", "deployment/sigv4-injector", "-n", WEBHOOK_NS, "--replicas=0")
    n.k("wait", "--for=delete", "pod", "-n", WEBHOOK_NS, "-l", WEBHOOK_PODS, "--timeout=60s", check=False, timeout=90)
    down = dry_create(r, "app1", "down")
    r.check("resilience.refused-when-down", down[0] == "refused" and "sigv4-injector" in down[1],
            f"no webhook pod left: an opted-in pod is refused (failurePolicy Fail) with: {down[1][:300]!r}")
    other = dry_create(r, "default", "other")
    r.check("resilience.others-unaffected", other[0] != "refused",
            f"meanwhile a pod in a namespace that did not opt in: {other[0]} {other[1][:200]}")
    n.k("scale", "deployment/sigv4-injector", "-n", WEBHOOK_NS, "--replicas=2")
    n.k("rollout", "status", "deployment/sigv4-injector", "-n", WEBHOOK_NS, "--timeout=90s", timeout=120)
    back = n.wait("admission back", lambda: dry_create(r, "app1", "back")[0] == "injected", 30, 0.2)
    r.check("resilience.recovers", back, f"scaled back to 2: opted-in pods injected again "
            f"{time.monotonic() - t:.1f}s after scaling to 0")


def upgrade(r):
    n = r.node

    def webhook_pods():
        return n.get("pods", "-n", WEBHOOK_NS, "-l", WEBHOOK_PODS)["items"]
    before = webhook_pods()
    checksum = {p["metadata"]["annotations"].get("checksum/config") for p in before}
    t = time.monotonic()
    with Creates(r, "app1") as c:
        p = n.helm_run("upgrade", "sigv4-injector", r.chart, "-n", WEBHOOK_NS, "--set", "region=us-west-2",
                       "--set", "sidecarMode=legacy", "--wait", "--timeout", "180s")
        n.k("rollout", "status", "deployment/sigv4-injector", "-n", WEBHOOK_NS, "--timeout=120s", timeout=150)
        time.sleep(2)
    after = [x for x in webhook_pods() if not x["metadata"].get("deletionTimestamp")]
    checksum_after = {x["metadata"]["annotations"].get("checksum/config") for x in after}
    names_before = {x["metadata"]["name"] for x in before}
    r.check("upgrade.rolls", p.returncode == 0 and len(after) == 2 and not names_before & {x["metadata"]["name"]
                                                                                            for x in after}
            and checksum != checksum_after and all(ready(x) for x in after),
            f"helm upgrade --set sidecarMode=legacy rc {p.returncode} in {time.monotonic() - t:.1f}s: checksum/config "
            f"{[s[:12] for s in checksum]} -> {[s[:12] for s in checksum_after]}, pods {sorted(names_before)} -> "
            f"{sorted(x['metadata']['name'] for x in after)} {p.stderr.strip()[-300:]}")
    counts, text = c.summary()
    r.check("upgrade.admission-kept", counts["injected"] >= 5 and counts["injected"] == len(c.results),
            f"during the roll: {text}")

    # legacy mode now: a Job's pod is skipped with the warning kubectl shows; a plain pod runs
    jobpod = {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "job-pod", "namespace": "app1", "ownerReferences": [{
            "apiVersion": "batch/v1", "kind": "Job", "name": "legacy-job", "controller": True,
            "uid": "00000000-0000-0000-0000-000000000001"}]},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": images.APP}]}}
    q = n.k("create", "-f", "-", "--dry-run=server", "-o", "json", input=json.dumps(jobpod), check=False)
    status = json.loads(q.stdout)["metadata"].get("annotations", {}).get(STATUS, "") if q.returncode == 0 else ""
    spec = json.loads(q.stdout)["spec"] if q.returncode == 0 else {}
    names = container_names(spec) if spec else None
    r.check("legacy.job-skipped", q.returncode == 0 and names == ([], ["c"]) and not status and
            "Warning: sigv4-injector: not injected (job-legacy-mode)" in q.stderr,
            f"a Job's pod in legacy mode: accepted as written (containers {names}, no {STATUS}); "
            f"kubectl shows {q.stderr.strip()[:300]!r}")
    t = time.monotonic()
    n.k("run", "legacy-pod", "-n", "app1", "--image", images.APP, "--image-pull-policy", "Never",
        "--restart", "Always", "--", "/bin/sh", "-c", "exec sleep 3600")
    pod = wait_pod_ready(r, "app1", "run=legacy-pod", 120)
    init, main = container_names(pod["spec"])
    r.check("legacy.pod-runs", init == ["iptables-init"] and main == ["legacy-pod", "sigv4proxy"],
            f"a pod injected in legacy mode Ready in {time.monotonic() - t:.1f}s: initContainers {init}, "
            f"containers {main}")


def uninstall(r):
    n = r.node
    t = time.monotonic()
    p = n.helm_run("uninstall", "sigv4-injector", "-n", WEBHOOK_NS, "--wait", "--timeout", "120s", timeout=150)
    n.k("wait", "--for=delete", "pod", "-n", WEBHOOK_NS, "-l", WEBHOOK_PODS, "--timeout=60s", check=False, timeout=90)
    kinds = ("deployments,replicasets,pods,services,endpointslices,configmaps,secrets,serviceaccounts,"
             "poddisruptionbudgets,roles,rolebindings,clusterroles,clusterrolebindings,networkpolicies,"
             "mutatingwebhookconfigurations")
    left = n.k("get", kinds, "-A", "-l", "app.kubernetes.io/instance=sigv4-injector", "-o", "name",
               check=False).stdout.split()
    hooks = n.k("get", "mutatingwebhookconfigurations", "-o", "name", check=False).stdout.split()
    r.check("uninstall.clean", p.returncode == 0 and not left and not hooks,
            f"helm uninstall rc {p.returncode} in {time.monotonic() - t:.1f}s; objects left {left}, webhook "
            f"configurations {hooks}")
    pod = one_pod(r, "app1", "app=app1-v1")
    before = r.facts.get("app1_pod", {}).get("metadata", {}).get("uid")
    r.check("uninstall.pods-keep-running", pod and ready(pod) and pod["metadata"]["uid"] == before and
            all(c.get("restartCount", 0) == 0 for c in statuses(pod).values()),
            f"the injected app1 pod (same uid, no restarts) still {pod and pod['status']['phase']}, Ready "
            f"{pod and ready(pod)}")
    after = dry_create(r, "app1", "after")
    r.check("uninstall.admission-gone", after[0].startswith("not injected"),
            f"a new pod in the still-labelled namespace: {after[0]} (nothing calls a webhook any more)")


SCENARIOS = [("node", node, True), ("helm", helm_install, True), ("app1", app1, False), ("job", job, False),
             ("cli", cli, False), ("resilience", resilience, False), ("upgrade", upgrade, False),
             ("uninstall", uninstall, False)]
