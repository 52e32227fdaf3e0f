"""The e2e scenarios: each drives kubectl against the real apiserver and checks what it stored.

A scenario is a function of the Env that raises AssertionError (or anything) to fail. They run in
the order of SCENARIOS and may rely on the registration the previous one left (always the default:
chart defaults, failurePolicy Fail, webhook up with the legacy config).
"""

import json
import os
import shutil
import socket
import ssl
import subprocess
import threading

from cluster import wait_until
from harness import (COMPAT_ANNOTATION, LABEL, LABELED_NS, PLAIN_NS, assert_injected,
                     assert_not_injected, injected, pod_manifest)
from webhook import LEGACY_CONFIG, NAMESPACE, NATIVE_CONFIG, RELEASE

# -- scenarios ---------------------------------------------------------------------------------

def chart_install(env):
    """helm install of the chart (default values): every object passes the real API validation
    and is stored; helm uninstall removes them (its webhook, which has no endpoints here, too)."""
    cp = env.cp
    base = [env.helm, "--kubeconfig", cp.kubeconfig, "-n", NAMESPACE]
    run = lambda *a: _run(cp, *base, *a)  # noqa: E731
    run("install", RELEASE, env.chart, "--create-namespace", "--set", "region=us-west-2",
        "--timeout", "2m")
    manifest = run("get", "manifest", RELEASE)
    stored = json.loads(cp.kubectl("get", "-f", "-", "-o", "json", input=manifest).stdout)
    kinds = sorted(f"{o['kind']}/{o['metadata']['name']}" for o in stored.get("items", [stored]))
    for kind in ("Deployment", "Service", "ServiceAccount", "ConfigMap",
                 "MutatingWebhookConfiguration", "PodDisruptionBudget", "Secret"):
        if not any(k.startswith(kind + "/") for k in kinds):
            raise AssertionError(f"no {kind} stored by helm install (stored: {kinds})")
    run("uninstall", RELEASE, "--timeout", "2m")
    left = cp.kubectl("get", "mutatingwebhookconfigurations", "-o", "name").stdout
    if RELEASE in left:
        raise AssertionError(f"webhook configuration left after uninstall: {left}")
    print(f"      stored: {', '.join(kinds)}")


def _run(cp, *argv):
    r = subprocess.run(argv, capture_output=True, text=True, env=cp.env, timeout=300)
    if r.returncode != 0:
        raise AssertionError(f"`{' '.join(argv[1:])}` failed: {r.stderr.strip()}")
    return r.stdout


def registered(env):
    """The chart's MutatingWebhookConfiguration (urlBase, provided CA) takes effect."""
    env.register_default()


def namespace_label(env):
    before = env.wh.requests_total()
    pod = env.create_pod(LABELED_NS, env.name("ns-label"))
    assert_injected(env.stored_pod(LABELED_NS, json.loads(pod.stdout)["metadata"]["name"]))
    wait_until("the webhook's request counter to count the review",
               lambda: env.wh.requests_total() > before, 5)


def deployment(env):
    """Deployment -> ReplicaSet (controller-manager) -> pods, each stored injected."""
    name = env.name("deploy")
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": name},
              "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                       "template": {"metadata": {"labels": {"app": name}},
                                    "spec": pod_manifest("x")["spec"]}}}
    env.cp.kubectl("create", "-n", LABELED_NS, "-f", "-", input=json.dumps(deploy))
    env.cp.kubectl("wait", "-n", LABELED_NS, f"deployment/{name}",
                   "--for=jsonpath={.status.replicas}=2", "--timeout=60s")
    pods = env.cp.kubectl_json("get", "pods", "-n", LABELED_NS, "-l", f"app={name}")["items"]
    if len(pods) != 2:
        raise AssertionError(f"expected 2 pods from the ReplicaSet, found {len(pods)}")
    for pod in pods:
        if pod["metadata"].get("ownerReferences", [{}])[0].get("kind") != "ReplicaSet":
            raise AssertionError(f"pod {pod['metadata']['name']} is not owned by a ReplicaSet")
        assert_injected(pod)


def job_legacy_mode(env):
    """A Job's pod (created by the job controller) in legacy mode is skipped: a regular sidecar
    would keep it from ever completing (reason job-legacy-mode)."""
    name = env.name("job")
    skips = lambda: env.wh.metric("sigv4_injector_skips_total", 'reason="job-legacy-mode"')  # noqa: E731
    before = skips()
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
           "spec": {"template": {"spec": dict(pod_manifest("x")["spec"], restartPolicy="Never")}}}
    env.cp.kubectl("create", "-n", LABELED_NS, "-f", "-", input=json.dumps(job))

    def job_pod():
        pods = env.cp.kubectl_json("get", "pods", "-n", LABELED_NS, "-l",
                                   f"batch.kubernetes.io/job-name={name}")["items"]
        return pods[0] if pods else None
    pod = wait_until(f"the job controller to create the pod of job {name}", job_pod, 60)
    assert_not_injected(pod)
    wait_until("sigv4_injector_skips_total{reason=\"job-legacy-mode\"} to count the pod",
               lambda: skips() > before, 5)


def pod_label_opt_in(env):
    r = env.create_pod(PLAIN_NS, env.name("pod-label"), labels={LABEL: "enabled"})
    assert_injected(json.loads(r.stdout))


def pod_opt_out(env):
    r = env.assert_not_called(
        lambda: env.create_pod(LABELED_NS, env.name("opt-out"), labels={LABEL: "disabled"}))
    assert_not_injected(json.loads(r.stdout))


def unlabeled_namespace(env):
    r = env.assert_not_called(lambda: env.create_pod(PLAIN_NS, env.name("plain")))
    assert_not_injected(json.loads(r.stdout))


def kube_system(env):
    """kube-system is excluded by name, even labelled and with a pod opting in."""
    env.cp.wait_service_account("kube-system")
    env.cp.kubectl("label", "namespace", "kube-system", f"{LABEL}=enabled")
    try:
        r = env.assert_not_called(lambda: env.create_pod(
            "kube-system", env.name("kube-system"), labels={LABEL: "enabled"}))
        assert_not_injected(json.loads(r.stdout))
    finally:
        env.cp.kubectl("label", "namespace", "kube-system", f"{LABEL}-")


def invalid_override(env):
    name = env.name("invalid")
    r = env.create_pod(LABELED_NS, name, annotations={"sigv4-injector.io/proxy-port": "99999"},
                       check=False)
    if r.returncode == 0:
        raise AssertionError("pod with proxy-port 99999 was admitted")
    for needle in ("denied", "sigv4-injector.io/proxy-port", "99999"):
        if needle not in r.stderr:
            raise AssertionError(f"kubectl error does not mention {needle!r}: {r.stderr.strip()}")
    if env.cp.kubectl("get", "pod", "-n", LABELED_NS, name, check=False).returncode == 0:
        raise AssertionError("denied pod was stored")
    print(f"      kubectl: {r.stderr.strip()}")


def host_network(env):
    r = env.create_pod(LABELED_NS, env.name("hostnet"), host_network=True)
    assert_not_injected(json.loads(r.stdout))
    if "host-network" not in r.stderr or "Warning" not in r.stderr:
        raise AssertionError(f"no host-network warning on kubectl's stderr: {r.stderr!r}")
    print(f"      kubectl: {r.stderr.strip()}")


def dry_run_server(env):
    name = env.name("dry-run")
    pod = json.dumps(pod_manifest(name))
    r = env.cp.kubectl("apply", "--dry-run=server", "-n", LABELED_NS, "-f", "-", "-o", "json",
                       input=pod)
    assert_injected(json.loads(r.stdout))
    if env.cp.kubectl("get", "pod", "-n", LABELED_NS, name, check=False).returncode == 0:
        raise AssertionError("dry-run pod was stored")


def native_config(env):
    """sidecarMode: native in the config: the apiserver keeps restartPolicy: Always."""
    env.wh.stop()
    env.wh.start(NATIVE_CONFIG)
    try:
        name = env.name("native")
        env.create_pod(LABELED_NS, name)
        assert_injected(env.stored_pod(LABELED_NS, name), mode="native")
    finally:
        env.wh.stop()
        env.wh.start(LEGACY_CONFIG)


def native_annotation(env):
    name = env.name("native-annotation")
    env.create_pod(LABELED_NS, name, annotations={"sigv4-injector.io/sidecar-mode": "native"})
    assert_injected(env.stored_pod(LABELED_NS, name), mode="native")


def workshop_example(env):
    """examples/workshop-app1.yaml in a labelled app1: the Deployment's pod is stored injected,
    its own container untouched."""
    path = os.path.join(env.src, "examples", "workshop-app1.yaml")
    if not os.path.exists(path):
        raise AssertionError(f"{path} is missing")
    pod = deploy_workshop(env.cp, path)
    assert_injected(pod)
    app = pod["spec"]["containers"][0]
    if app["name"] != "app1-v1" or app["image"] != "public.ecr.aws/seb-demo/http-server:latest":
        raise AssertionError(f"app container changed: {app}")


def deploy_workshop(cp, path, timeout=60):
    """Creates and labels namespace app1, applies the workshop file, returns the stored pod."""
    cp.kubectl("create", "namespace", "app1")
    cp.kubectl("label", "namespace", "app1", f"{LABEL}=enabled")
    cp.wait_service_account("app1")
    cp.kubectl("apply", "-f", path)
    cp.kubectl("wait", "-n", "app1", "deployment/app1-v1", "--for=jsonpath={.status.replicas}=1",
               f"--timeout={timeout}s")
    pods = cp.kubectl_json("get", "pods", "-n", "app1", "-l", "app=app1-v1")["items"]
    if len(pods) != 1:
        raise AssertionError(f"expected one app1-v1 pod, found {len(pods)}")
    return pods[0]


def compat_annotation(env):
    """compat.annotations.enabled: /mutate/annotated injects the workshop's annotation."""
    env.register(compat=True)
    try:
        def annotated(rc, pod, _):
            r = env.create_pod(PLAIN_NS, env.name("probe"), dry_run=True,
                               annotations={COMPAT_ANNOTATION: "true"}, check=False)
            return r.returncode == 0 and injected(json.loads(r.stdout))
        env.wait_effective("compat registration in effect", annotated)
        r = env.create_pod(PLAIN_NS, env.name("compat"), annotations={COMPAT_ANNOTATION: "true"})
        assert_injected(json.loads(r.stdout))
        r = env.create_pod(PLAIN_NS, env.name("compat-none"))
        assert_not_injected(json.loads(r.stdout))
    finally:
        env.register()
        wait_until("compat entry removed", lambda: not_called_in_plain(env), 30)


def not_called_in_plain(env):
    try:
        env.assert_not_called(lambda: env.create_pod(PLAIN_NS, env.name("probe"), dry_run=True))
        return True
    except AssertionError:
        return False


def webhook_down_fail(env):
    """failurePolicy Fail with the webhook down: opted-in pods refused, others unaffected."""
    code = env.wh.stop()
    try:
        r = env.create_pod(LABELED_NS, env.name("down"), check=False)
        if r.returncode == 0:
            raise AssertionError("pod admitted while the webhook is down (failurePolicy Fail)")
        if "failed calling webhook" not in r.stderr or "sigv4-injector.io" not in r.stderr:
            raise AssertionError(f"unclear refusal: {r.stderr.strip()}")
        print(f"      kubectl: {r.stderr.strip()}")
        assert_not_injected(json.loads(env.create_pod(PLAIN_NS, env.name("down-plain")).stdout))
        env.create_pod("kube-system", env.name("down-kube-system"))
    finally:
        env.wh.start(LEGACY_CONFIG)
    if code != 0:
        raise AssertionError(f"serve exited {code} on SIGTERM (SPEC §6: 0)")


def webhook_down_ignore(env):
    """failurePolicy Ignore with the webhook down: opted-in pods created uninjected."""
    env.wh.stop()
    try:
        env.register(failure_policy="Ignore")
        env.wait_effective("failurePolicy Ignore in effect", lambda rc, *_: rc == 0)
        r = env.create_pod(LABELED_NS, env.name("ignore"))
        assert_not_injected(json.loads(r.stdout))
    finally:
        env.wh.start(LEGACY_CONFIG)
        env.register_default()


def served_cert(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # only reading which certificate is served
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        with ctx.wrap_socket(s) as tls:
            return tls.getpeercert(binary_form=True)


def pem_to_der(path):
    with open(path) as f:
        text = f.read()
    end = "-----END CERTIFICATE-----"
    return ssl.PEM_cert_to_DER_cert(text[:text.index(end) + len(end)])


def cert_rotation(env, rotations=3):
    """Serving cert replaced on disk while pods are created in a loop: the server reloads it
    without a restart and no admission fails. `certs` makes a new CA on every run, so, as
    cert-manager does with a CA change, the caBundle first carries the old and new CAs."""
    wh = env.wh
    staged = [wh.make_certs(os.path.join(wh.dir, f"rotation-{i}")) for i in range(rotations)]
    bundle = os.path.join(wh.dir, "ca-bundle.crt")
    with open(bundle, "w") as out:
        for d in [wh.certs_dir, *staged]:
            with open(os.path.join(d, "ca.crt")) as f:
                out.write(f.read())
    env.ca_bundle = bundle
    env.register_default()

    results = {"ok": 0, "errors": []}
    stop = threading.Event()

    def create_loop():
        while not stop.is_set():
            r = env.create_pod(LABELED_NS, env.name("rotation"), check=False)
            if r.returncode != 0:
                results["errors"].append(r.stderr.strip())
            elif not injected(json.loads(r.stdout)):
                results["errors"].append("pod stored without injection")
            else:
                results["ok"] += 1

    loop = threading.Thread(target=create_loop)
    loop.start()
    try:
        for d in staged:
            for name in ("tls.key", "tls.crt"):
                tmp = os.path.join(wh.certs_dir, f".{name}.new")
                shutil.copyfile(os.path.join(d, name), tmp)
                os.replace(tmp, os.path.join(wh.certs_dir, name))
            want = pem_to_der(os.path.join(d, "tls.crt"))
            wait_until("the webhook to serve the rotated certificate",
                       lambda: served_cert(wh.port) == want, 30, wh.proc)
            seen = results["ok"]
            wait_until("two admissions with the rotated certificate",
                       lambda: results["ok"] >= seen + 2 or results["errors"], 60)
    finally:
        stop.set()
        loop.join(120)
        # The served cert now chains to a staged CA: readiness checks after this trust the bundle.
        shutil.copyfile(bundle, os.path.join(wh.certs_dir, "ca.crt"))
    if results["errors"]:
        raise AssertionError(f"{len(results['errors'])} admission(s) failed during rotation, "
                             f"first: {results['errors'][0]}")
    print(f"      {rotations} rotations, {results['ok']} pods created and injected meanwhile")


# -- issue 17: real-world pods never turned from accepted into rejected or broken ---------------

def _create(env, ns, pod, check=True):
    """kubectl create of a pod manifest; returns the CompletedProcess."""
    return env.cp.kubectl("create", "-n", ns, "-f", "-", "-o", "json", input=json.dumps(pod),
                          check=check)


def _warned(r, *needles):
    """The webhook's warnings reach kubectl's stderr as `Warning: ...` lines."""
    for needle in needles:
        if needle not in r.stderr:
            raise AssertionError(f"kubectl's stderr lacks {needle!r}: {r.stderr.strip()!r}")
    if "Warning: sigv4-injector" not in r.stderr:
        raise AssertionError(f"no sigv4-injector warning on kubectl's stderr: {r.stderr!r}")


def windows_pod(env):
    """A pod for Windows nodes (spec.os.name, or the kubernetes.io/os node selector) is stored
    as written, with the windows warning."""
    for name, extra in ((env.name("windows-os"), {"os": {"name": "windows"}}),
                        (env.name("windows-selector"),
                         {"nodeSelector": {"kubernetes.io/os": "windows"}})):
        pod = pod_manifest(name)
        pod["spec"].update(extra)
        r = _create(env, LABELED_NS, pod)
        assert_not_injected(json.loads(r.stdout))
        _warned(r, "(windows)")
    print(f"      kubectl: {r.stderr.strip()}")


def bare_run_to_completion(env):
    """A bare pod with restartPolicy Never (kubectl run --restart=Never, Argo, Tekton) in legacy
    mode is skipped with the job-legacy-mode warning; opting in explicitly still injects it."""
    pod = pod_manifest(env.name("never"))
    pod["spec"]["restartPolicy"] = "Never"
    r = _create(env, LABELED_NS, pod)
    assert_not_injected(json.loads(r.stdout))
    _warned(r, "(job-legacy-mode)", "restartPolicy Never/OnFailure")
    print(f"      kubectl: {r.stderr.strip()}")
    pod = pod_manifest(env.name("never-opted-in"), annotations={LABEL: "enabled"})
    pod["spec"]["restartPolicy"] = "OnFailure"
    assert_injected(json.loads(_create(env, LABELED_NS, pod).stdout))


def pod_security_namespace(env):
    """A namespace enforcing Pod Security baseline: the chart's /pod-security twin entry is
    called, the pod is injected, Pod Security then refuses it for iptables-init's capabilities,
    and kubectl shows the webhook's warning naming the way out with the refusal. Labelled
    privileged, the same pod is accepted."""
    ns = env.name("e2e-psa")
    env.namespace(ns, {LABEL: "enabled", "pod-security.kubernetes.io/enforce": "baseline"})
    name = env.name("psa")
    r = _create(env, ns, pod_manifest(name), check=False)
    if r.returncode == 0:
        raise AssertionError("an injected pod was admitted in a baseline namespace")
    _warned(r, "pod-security.kubernetes.io/enforce=privileged", "NET_ADMIN")
    for needle in ("violates PodSecurity", "iptables-init", "NET_ADMIN"):
        if needle not in r.stderr:
            raise AssertionError(f"refusal lacks {needle!r}: {r.stderr.strip()}")
    path = 'path="/mutate/pod-security",result="injected"'
    if env.wh.metric("sigv4_injector_admission_requests_total", path) < 1:
        raise AssertionError(f"sigv4_injector_admission_requests_total{{{path}}} did not count")
    print(f"      kubectl: {r.stderr.strip()}")
    env.cp.kubectl("label", "namespace", ns, "--overwrite",
                   "pod-security.kubernetes.io/enforce=privileged")

    def accepted():
        r = _create(env, ns, pod_manifest(env.name("psa-probe")), check=False)
        return r.returncode == 0 and injected(json.loads(r.stdout))
    wait_until("the privileged namespace to accept the injected pod", accepted, 30)


LIMIT_RANGE = {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "minimums"},
               "spec": {"limits": [{"type": "Container", "min": {"cpu": "50m"},
                                    "defaultRequest": {"cpu": "100m"},
                                    "default": {"cpu": "200m"}}]}}


def _limit_range_namespace(env):
    ns = env.name("e2e-limits")
    env.namespace(ns, {LABEL: "enabled"})
    env.cp.kubectl("create", "-n", ns, "-f", "-", input=json.dumps(LIMIT_RANGE))
    return ns


def limit_range(env):
    """A LimitRange whose minimum the injected containers' requests are under: LimitRanger marks
    the pod (kubernetes.io/limit-ranger) before the webhook, which warns naming the resources and
    the way out; the LimitRange then refuses the pod, and kubectl shows both."""
    ns = _limit_range_namespace(env)
    r = _create(env, ns, pod_manifest(env.name("limits")), check=False)
    if r.returncode == 0:
        raise AssertionError("a pod under the LimitRange minimum was admitted")
    _warned(r, "a LimitRange acts in this namespace", "sigv4proxy cpu 25m/500m",
            f"namespace {ns}")
    if "minimum cpu usage per Container is 50m" not in r.stderr:
        raise AssertionError(f"refusal is not the LimitRange's: {r.stderr.strip()}")
    print(f"      kubectl: {r.stderr.strip()}")


def limit_range_namespace_resources(env):
    """The way out the warning names: the namespace's resources in the config make the same pod
    accepted, injected with them (the LimitRange's default reaches only the app container)."""
    ns = _limit_range_namespace(env)
    config = LEGACY_CONFIG + (f"namespaces:\n  {ns}:\n"
                              "    proxy: {resources: {requests: {cpu: 50m}}}\n"
                              "    init: {resources: {requests: {cpu: 50m}}}\n")
    env.wh.stop()
    env.wh.start(config)
    try:
        r = _create(env, ns, pod_manifest(env.name("limits-ok")))
        pod = json.loads(r.stdout)
        assert_injected(pod)
        requests = {c["name"]: c["resources"]["requests"]["cpu"]
                    for c in pod["spec"]["containers"] + pod["spec"]["initContainers"]}
        if requests != {"app": "100m", "sigv4proxy": "50m", "iptables-init": "50m"}:
            raise AssertionError(f"cpu requests stored: {requests}")
        print(f"      stored cpu requests: {requests}")
    finally:
        env.wh.stop()
        env.wh.start(LEGACY_CONFIG)


def limit_range_reinvocation(env):
    """Finding (issue 17): the apiserver re-runs LimitRanger's defaulting after a webhook changed
    the pod, so containers the webhook adds without requests or limits get the LimitRange's
    defaults (and the pod's kubernetes.io/limit-ranger annotation is rewritten naming them). The
    config here gives the injected containers none."""
    ns = _limit_range_namespace(env)
    empty = "    requests: {cpu: '', memory: ''}\n    limits: {cpu: '', memory: ''}\n"
    config = LEGACY_CONFIG + "proxy:\n  resources:\n" + empty + "init:\n  resources:\n" + empty
    env.wh.stop()
    env.wh.start(config)
    try:
        pod = json.loads(_create(env, ns, pod_manifest(env.name("reinvoke"))).stdout)
        assert_injected(pod)
        got = {c["name"]: c.get("resources", {})
               for c in pod["spec"]["containers"] + pod["spec"]["initContainers"]}
        mark = pod["metadata"].get("annotations", {}).get("kubernetes.io/limit-ranger", "")
        print(f"      stored: {got}; kubernetes.io/limit-ranger: {mark!r}")
        defaulted = {"limits": {"cpu": "200m"}, "requests": {"cpu": "100m"}}
        if got.get("sigv4proxy") != defaulted or got.get("iptables-init") != defaulted:
            raise AssertionError("LimitRanger did not default the webhook-added containers")
        if "container sigv4proxy" not in mark:
            raise AssertionError(f"limit-ranger annotation does not name sigv4proxy: {mark!r}")
    finally:
        env.wh.stop()
        env.wh.start(LEGACY_CONFIG)

def limit_range_pod_level_resources(env):
    """Pod-level spec.resources in a LimitRange namespace: the webhook gives the injected
    containers no requests of their own. Finding: LimitRanger, re-run after the webhook, gives
    them its defaults, which count against the pod-level requests, and marks the pod; the webhook,
    re-invoked, then warns to leave room for them. A pod whose pod-level requests fit only its
    app's defaults is refused with that warning (docs/configuration.md)."""
    ns = _limit_range_namespace(env)
    pod = pod_manifest(env.name("pod-level"))
    pod["spec"]["resources"] = {"requests": {"cpu": "500m"}, "limits": {"cpu": "1"}}
    r = _create(env, ns, pod)
    print(f"      kubectl: {r.stderr.strip()}")
    room = "gives its default requests and limits to the injected containers"
    if room not in r.stderr or "request/limit: sigv4proxy" in r.stderr:
        raise AssertionError(f"no pod-level LimitRange warning: {r.stderr.strip()}")
    if "pod-level spec.resources" not in r.stderr:
        raise AssertionError(f"no pod-level resources warning: {r.stderr.strip()}")
    stored = json.loads(r.stdout)
    assert_injected(stored)
    got = {c["name"]: c.get("resources", {})
           for c in stored["spec"]["containers"] + stored["spec"]["initContainers"]}
    print(f"      stored: {got}")
    # Tight pod-level requests: LimitRanger's defaults on the injected containers (re-run after
    # the webhook) may not fit them.
    pod = pod_manifest(env.name("pod-level-tight"))
    pod["spec"]["resources"] = {"requests": {"cpu": "150m"}, "limits": {"cpu": "1"}}
    r = _create(env, ns, pod, check=False)
    print(f"      tight (rc {r.returncode}): {r.stderr.strip()}")
    if r.returncode == 0 or "aggregate container requests of 200m" not in r.stderr:
        raise AssertionError("the documented refusal changed: update docs/configuration.md")
    if room not in r.stderr:
        raise AssertionError("the refusal came without the webhook's warning")


SCENARIOS = [
    ("chart-install-objects-stored", chart_install),
    ("chart-webhook-configuration-registered", registered),
    ("namespace-label-injects-pod", namespace_label),
    ("deployment-replicaset-pods-injected", deployment),
    ("job-pod-legacy-mode-skipped", job_legacy_mode),
    ("pod-label-opt-in-unlabeled-namespace", pod_label_opt_in),
    ("pod-opt-out-not-injected-not-called", pod_opt_out),
    ("unlabeled-namespace-not-called", unlabeled_namespace),
    ("kube-system-never-called", kube_system),
    ("invalid-override-denied", invalid_override),
    ("host-network-skipped-with-warning", host_network),
    ("dry-run-server", dry_run_server),
    ("native-mode-config-restartPolicy-kept", native_config),
    ("native-mode-annotation", native_annotation),
    ("workshop-example-injected", workshop_example),
    ("compat-annotation-mutate-annotated", compat_annotation),
    ("webhook-down-failurePolicy-Fail", webhook_down_fail),
    ("webhook-down-failurePolicy-Ignore", webhook_down_ignore),
    ("cert-rotation-no-failure", cert_rotation),
    ("windows-pod-skipped-with-warning", windows_pod),
    ("bare-restart-never-legacy-skipped", bare_run_to_completion),
    ("pod-security-namespace-warned-and-refused", pod_security_namespace),
    ("limit-range-warned-and-refused", limit_range),
    ("limit-range-namespace-resources-accepted", limit_range_namespace_resources),
    ("limit-range-defaults-reach-webhook-containers", limit_range_reinvocation),
    ("limit-range-pod-level-resources", limit_range_pod_level_resources),
]
