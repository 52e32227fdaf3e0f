"""make bench's create-to-Ready figures on the node (node.py --bench): the same one-container pod
created with `kubectl create` in a namespace that did not opt in and in one that did (native
sidecar, and legacy through the pod annotation), timed from the create to the pod's Ready condition as the apiserver reports it, and
each phase of the injected pod from the kubelet's container statuses. Figures, not checks."""
import json
import statistics
import time

import images


def pod(name, annotations=None):
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "annotations": annotations or {}}, "spec": {
        # Always: in legacy mode a run-to-completion pod is not injected (job-legacy-mode).
        "restartPolicy": "Always", "terminationGracePeriodSeconds": 0,
        "containers": [{"name": "app", "image": images.APP, "imagePullPolicy": "Never",
                        "command": ["/bin/sh", "-c", "exec sleep 3600"]}]}})


def ts(text):
    return time.mktime(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def measure(run, count, out_json=None):
    n = run.node
    n.namespace("plain")
    n.namespace("injected", ["sigv4-injector.io/inject=enabled"])
    kinds = (("uninjected", "plain", None), ("injected (native)", "injected", None),
             ("injected (legacy)", "injected", {"sigv4-injector.io/sidecar-mode": "legacy"}))
    times = {label: [] for label, _, _ in kinds}
    phases = []
    for i in range(count):
        for label, ns, annotations in kinds:
            name = f"ready-{i}-{len(times[label])}-{'legacy' if annotations else 'pod'}"
            t = time.monotonic()
            n.k("create", "-n", ns, "-f", "-", input=pod(name, annotations))
            n.k("wait", "--for=condition=Ready", f"pod/{name}", "-n", ns, "--timeout=90s", timeout=120)
            times[label].append(time.monotonic() - t)
            if label == "injected (native)":
                p = n.get("pod", "-n", ns, name)
                st = {c["name"]: c for c in p["status"].get("initContainerStatuses", []) +
                      p["status"]["containerStatuses"]}
                created = ts(p["metadata"]["creationTimestamp"])
                phases.append({
                    "iptables-init done": ts(st["iptables-init"]["state"]["terminated"]["finishedAt"]) - created,
                    "proxy started": ts(st["sigv4proxy"]["state"]["running"]["startedAt"]) - created,
                    "app started": ts(st["app"]["state"]["running"]["startedAt"]) - created})
            n.k("delete", "pod", name, "-n", ns, "--wait=false")
    result = {}
    for label, v in times.items():
        v = sorted(v)
        result[label] = {"n": len(v), "min": v[0], "median": statistics.median(v), "max": v[-1]}
        print(f"create -> Ready, {label:<18} over {len(v)}: min {v[0]:.2f} s, median "
              f"{statistics.median(v):.2f} s, max {v[-1]:.2f} s", flush=True)
    for key in phases[0] if phases else []:
        v = [p[key] for p in phases]
        print(f"  native pod, {key:<18} after the create (1 s steps): median {statistics.median(v):.0f} s, "
              f"max {max(v):.0f} s", flush=True)
    if out_json:
        with open(out_json, "w") as f:
            json.dump({"create_to_ready_seconds": result}, f, indent=1)
    return result
