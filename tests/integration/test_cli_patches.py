#!/usr/bin/env python3
"""Every patch the CLI produces for the pod corpus (tests/corpus/pods) is applied with
`kubectl patch --local --type=json` (the apiserver's own RFC 6902 code) and the result checked:
the injected containers are where the mode puts them, nothing of the user's pod is lost or
reordered, SPEC 4a holds (one proxy port used everywhere and declared by no other container,
no node credentials, the CA bundle mounted when asked), and a second `patch` on the result is
empty. File names carry the expectation:
NN-name.<inject-legacy|inject-native|skip|deny>.json."""
import json
import os
import pathlib
import subprocess
import sys

BIN = os.environ["SIGV4_BIN"]
SRC = pathlib.Path(os.environ["SIGV4_SRC"])
TMP = pathlib.Path(os.environ.get("SIGV4_TMP", "/tmp/sigv4-cli-patches"))
OURS = ("sigv4-injector.io/status", "sigv4-injector.io/version",
        "kubectl.kubernetes.io/default-container")
CA_VOLUME = "sigv4-injector-ca-bundle"
CA_MOUNT = {"name": CA_VOLUME, "mountPath": "/var/run/secrets/sigv4-injector.io/ca-bundle",
            "readOnly": True}
failures = []


def run(args, stdin=None):
    return subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=120)


def kubectl_patch(pod_file, patch):
    patch_file = TMP / "patch.json"
    patch_file.write_text(json.dumps(patch))
    r = run(["kubectl", "patch", "--local", "-f", str(pod_file), "--type=json",
             "--patch-file", str(patch_file), "-o", "json"])
    if r.returncode != 0:
        raise AssertionError("kubectl patch failed: " + r.stderr.strip())
    return json.loads(r.stdout)


def names(pod, key):
    return [c.get("name") for c in pod.get("spec", {}).get(key) or []]


def strip_injection(pod, had_volumes=True):
    """The pod with what the injector adds taken out: must equal the original."""
    pod = json.loads(json.dumps(pod))
    volumes = pod.get("spec", {}).get("volumes")
    if isinstance(volumes, list):
        kept = [v for v in volumes if v.get("name") != CA_VOLUME]
        if kept or had_volumes:
            pod["spec"]["volumes"] = kept
        else:
            del pod["spec"]["volumes"]
    for key in ("containers", "initContainers"):
        items = pod.get("spec", {}).get(key)
        if items is None:
            continue
        kept = [c for c in items if c.get("name") not in ("sigv4proxy", "iptables-init")]
        if kept:
            pod["spec"][key] = kept
        else:
            del pod["spec"][key]
    ann = pod.get("metadata", {}).get("annotations")
    if ann is None:
        pod.get("metadata", {}).pop("annotations", None)
    if isinstance(ann, dict):
        for k in OURS:
            ann.pop(k, None)
        if not ann:
            del pod["metadata"]["annotations"]
    return pod


def check(case, cond, what):
    if not cond:
        failures.append(f"{case}: {what}")
    return cond


def check_injected(case, original, patched, mode):
    init, main = names(patched, "initContainers"), names(patched, "containers")
    user_init = names(original, "initContainers")
    user_main = names(original, "containers")
    if mode == "native":
        check(case, init == ["iptables-init", "sigv4proxy"] + user_init,
              f"native init order {init}")
        check(case, main == user_main, f"containers changed {main}")
        proxy = patched["spec"]["initContainers"][1]
        check(case, proxy.get("restartPolicy") == "Always", "native sidecar restartPolicy")
        check(case, "tcpSocket" in proxy.get("startupProbe", {}), "native startupProbe")
    else:
        check(case, init == user_init + ["iptables-init"], f"legacy init order {init}")
        check(case, main == user_main + ["sigv4proxy"], f"legacy containers {main}")
    ann = patched["metadata"]["annotations"]
    check(case, ann.get("sigv4-injector.io/status") == "injected", "status annotation")
    user_ann = (original.get("metadata", {}).get("annotations") or {})
    want_default = user_ann.get("kubectl.kubernetes.io/default-container", user_main[0])
    check(case, ann.get("kubectl.kubernetes.io/default-container") == want_default,
          "default-container annotation")
    # Both injected containers carry requests and limits (LimitRange defaults do not reach
    # them), except in a pod with pod-level resources, which they then share (SPEC 4a).
    shared = bool(original.get("spec", {}).get("resources"))
    for c in patched["spec"].get("initContainers", []) + patched["spec"]["containers"]:
        if c["name"] in ("sigv4proxy", "iptables-init"):
            res = c.get("resources", {})
            if shared:
                check(case, not res.get("requests") and not res.get("limits"),
                      f"{c['name']} shares the pod-level resources")
            else:
                check(case, res.get("requests") and res.get("limits"),
                      f"{c['name']} requests and limits")
    check_secure_defaults(case, original, patched, mode)
    had_volumes = "volumes" in original.get("spec", {})
    check(case, strip_injection(patched, had_volumes) == strip_injection(original),
          "user's pod changed besides the injection")


def check_secure_defaults(case, original, patched, mode):
    """SPEC 4a on every injected pod: one proxy port, used everywhere and declared by no other
    container; no node credentials; the CA bundle mounted exactly when asked for."""
    spec = patched["spec"]
    every = spec.get("initContainers", []) + spec["containers"]
    proxy = next(c for c in every if c["name"] == "sigv4proxy")
    init = next(c for c in every if c["name"] == "iptables-init")
    port = int(proxy["args"][proxy["args"].index("--port") + 1].lstrip(":"))
    check(case, proxy["ports"] == [{"name": "proxy", "containerPort": port, "protocol": "TCP"}],
          f"proxy containerPort {proxy['ports']} is not --port {port}")
    check(case, f"PROXY_PORT={port} " in init["command"][2], f"script PROXY_PORT is not {port}")
    if mode == "native":
        check(case, proxy["startupProbe"]["tcpSocket"]["port"] == port, "probe port")
    declared = {p.get("containerPort") for c in every if c["name"] != "sigv4proxy"
                for p in c.get("ports") or []}
    check(case, port not in declared, f"proxy port {port} declared by another container")
    env = {e["name"]: e.get("value") for e in proxy.get("env", [])}
    check(case, env.get("AWS_EC2_METADATA_DISABLED") == "true", "AWS_EC2_METADATA_DISABLED")
    ann = original.get("metadata", {}).get("annotations") or {}
    volumes = [v for v in spec.get("volumes") or [] if v.get("name") == CA_VOLUME]
    if "sigv4-injector.io/ca-bundle" in ann:
        check(case, len(volumes) == 1, f"CA bundle volume {volumes}")
        check(case, (proxy.get("volumeMounts") or [None])[-1] == CA_MOUNT, "CA bundle mount last")
        check(case, env.get("SSL_CERT_DIR") == CA_MOUNT["mountPath"], "SSL_CERT_DIR")
    else:
        check(case, not volumes and "SSL_CERT_DIR" not in env, "CA bundle without asking")


def run_case(path):
    case = path.name
    expect = path.name.split(".")[1]
    original = kubectl_patch(path, [])  # kubectl's own view of the file, as the baseline
    r = run([BIN, "patch", "-f", str(path)])
    if expect == "deny":
        check(case, r.returncode == 1, f"exit {r.returncode}, want 1")
        check(case, "sigv4-injector.io/" in r.stderr, f"message names the annotation: {r.stderr}")
        return
    if not check(case, r.returncode == 0, f"patch exit {r.returncode}: {r.stderr}"):
        return
    patch = json.loads(r.stdout)
    check(case, all(op["op"] == "add" for op in patch), "only add operations")
    patched = kubectl_patch(path, patch)
    if expect == "skip":
        check(case, patch == [], f"skip produced a patch: {patch}")
    else:
        check_injected(case, original, patched, expect.split("-")[1])
    # Re-invocation: the webhook's reinvocationPolicy IfNeeded must find nothing to do.
    out = TMP / "patched.json"
    out.write_text(json.dumps(patched))
    again = run([BIN, "patch", "-f", str(out)])
    check(case, again.returncode == 0 and json.loads(again.stdout) == [],
          f"second patch not empty: {again.stdout} {again.stderr}")


def main():
    TMP.mkdir(parents=True, exist_ok=True)
    corpus = sorted((SRC / "tests/corpus/pods").glob("*.json"))
    if len(corpus) < 20:
        print(f"corpus too small: {len(corpus)}")
        return 1
    for path in corpus:
        before = len(failures)
        try:
            run_case(path)
        except Exception as e:  # a broken case is a failure, the others still run
            failures.append(f"{path.name}: {e}")
        print(("ok   " if len(failures) == before else "FAIL ") + path.name)
    for f in failures:
        print("  " + f)
    failed = len({f.split(":")[0] for f in failures})
    print(f"{len(corpus) - failed} passed, {failed} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
