"""make demo: what the node scenarios `node`, `helm` and `app1` left running, shown to a user —
the chart's webhook pods, the workshop pod with its containers, the iptables rules read inside the
pod's network namespace, and the app's plain HTTP request signed by the real proxy and accepted."""
import aws
import scenarios


def show(run):
    n = run.node
    pod = run.facts.get("app1_pod")
    print("\n== kubectl get pods -A -o wide", flush=True)
    print(n.k("get", "pods", "-A", "-o", "wide", check=False).stdout, flush=True)
    if not pod:
        print("the workshop pod did not come up: see the FAIL lines above")
        return
    name = pod["metadata"]["name"]
    pod = n.get("pod", "-n", "app1", name)
    print(f"== the workshop pod app1/{name}, injected by the webhook "
          f"({scenarios.STATUS}: {pod['metadata']['annotations'].get(scenarios.STATUS)})")
    for c in pod["spec"].get("initContainers", []) + pod["spec"]["containers"]:
        st = scenarios.statuses(pod)[c["name"]]
        state = next(iter(st["state"]))
        extra = st["state"][state].get("reason") or ""
        kind = ("native sidecar" if c.get("restartPolicy") == "Always" else "init container") \
            if c in pod["spec"].get("initContainers", []) else "container"
        print(f"  {c['name']:<14} {kind:<15} {state} {extra:<10} ready={st.get('ready')}  image {c['image']}")
    print("\n== iptables rules, read inside the pod's network namespace (none in the node's)")
    for table, lines in run.facts.get("rules", {}).items():
        print(f"  [{table}]")
        for line in lines:
            print(f"    {line}")
    out, records = run.facts.get("signed", ("", []))
    print(f"\n== the app's plain HTTP call: kubectl exec -n app1 {name} -c app1-v1 -- "
          f"curl http://{aws.LATTICE}/orders?id=7")
    for line in out.splitlines():
        print(f"  {line}")
    for rec in records:
        print(f"  the {rec['service']} stand-in saw: {aws.describe(rec)}")
        if rec["service"] == "lattice":
            auth = next((v for k, v in rec.get("headers") or [] if k.lower() == "authorization"), None)
            if auth:
                print(f"    Authorization: {auth[:140]}...")
    print(f"\n{run.passed} checks passed, {run.failed} failed so far", flush=True)
