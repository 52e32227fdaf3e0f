"""What the scenarios share: the Env (control plane, webhook, helm, chart), the chart's webhook
registration, pod manifests and the checks on what the apiserver stored."""

import json
import os

from cluster import wait_until
from webhook import document_of_kind, render_chart

LABEL = "sigv4-injector.io/inject"
LABELED_NS = "e2e-labeled"
PLAIN_NS = "e2e-plain"
COMPAT_ANNOTATION = "vpc-lattices-svcs.amazonaws.com/agent-inject"


class Env:
    """What every scenario gets: the control plane, the webhook, helm and the chart."""

    def __init__(self, cp, wh, helm, src, kube_version):
        self.cp, self.wh, self.helm, self.src = cp, wh, helm, src
        self.kube_version = kube_version
        self.chart = os.path.join(src, "charts", "sigv4-injector")
        self.ca_bundle = os.path.join(wh.certs_dir, "ca.crt")
        self.serial = 0

    def name(self, prefix):
        self.serial += 1
        return f"{prefix}-{self.serial}"

    # -- registration --------------------------------------------------------------------------
    def register(self, failure_policy="Fail", compat=False):
        """Applies the chart's MutatingWebhookConfiguration (and only it), pointed at the local
        webhook with the chart's urlBase and provided-CA values."""
        values = {"region": "us-west-2", "webhook.urlBase": self.wh.url_base,
                  "certs.mode": "provided", "certs.provided.caBundle": "@" + self.ca_bundle,
                  "certs.provided.tlsCrt": "@" + os.path.join(self.wh.certs_dir, "tls.crt"),
                  "certs.provided.tlsKey": "@" + os.path.join(self.wh.certs_dir, "tls.key"),
                  "webhook.failurePolicy": failure_policy,
                  "compat.annotations.enabled": str(compat).lower()}
        docs = render_chart(self.helm, self.chart, self.cp.env, values, self.kube_version)
        self.cp.kubectl("apply", "-f", "-", input=document_of_kind(docs, "MutatingWebhookConfiguration"))

    def wait_effective(self, what, predicate, timeout=30):
        """The apiserver picks up a registration change asynchronously: dry-run probe pods until
        predicate(returncode, stored_pod_or_None, stderr) holds."""
        def probe():
            r = self.create_pod(LABELED_NS, self.name("probe"), dry_run=True, check=False)
            pod = json.loads(r.stdout) if r.returncode == 0 else None
            return predicate(r.returncode, pod, r.stderr)
        wait_until(what, probe, timeout, interval=0.1)

    def register_default(self):
        self.register()
        self.wait_effective("default registration in effect",
                            lambda rc, pod, _: rc == 0 and injected(pod))

    # -- objects -------------------------------------------------------------------------------
    def namespace(self, name, labels=None):
        self.cp.kubectl("create", "namespace", name)
        if labels:
            self.cp.kubectl("label", "namespace", name, *[f"{k}={v}" for k, v in labels.items()])
        self.cp.wait_service_account(name)

    def create_pod(self, ns, name, labels=None, annotations=None, host_network=False,
                   dry_run=False, check=True):
        """kubectl create of a one-container pod; returns the CompletedProcess (stdout is the
        stored pod as JSON)."""
        pod = pod_manifest(name, labels, annotations, host_network)
        args = ["create", "-n", ns, "-f", "-", "-o", "json"]
        if dry_run:
            args.append("--dry-run=server")
        return self.cp.kubectl(*args, input=json.dumps(pod), check=check)

    def stored_pod(self, ns, name):
        return self.cp.kubectl_json("get", "pod", "-n", ns, name)

    def assert_not_called(self, action):
        """Runs action() and checks the webhook's request counter did not move."""
        before = self.wh.requests_total()
        result = action()
        after = self.wh.requests_total()
        if after != before:
            raise AssertionError(f"webhook was called ({before:g} -> {after:g} requests)")
        return result


def pod_manifest(name, labels=None, annotations=None, host_network=False):
    spec = {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]}
    if host_network:
        spec["hostNetwork"] = True
    metadata = {"name": name}
    if labels:
        metadata["labels"] = labels
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def names(containers):
    return [c["name"] for c in containers or []]


def injected(pod):
    spec = pod["spec"]
    init, main = names(spec.get("initContainers")), names(spec.get("containers"))
    return "iptables-init" in init and ("sigv4proxy" in main or "sigv4proxy" in init)


def assert_injected(pod, mode="legacy"):
    spec = pod["spec"]
    init, main = names(spec.get("initContainers")), names(spec.get("containers"))
    where = f"initContainers={init} containers={main}"
    if "iptables-init" not in init:
        raise AssertionError(f"no iptables-init init container: {where}")
    if mode == "legacy" and main[-1:] != ["sigv4proxy"]:
        raise AssertionError(f"legacy mode: sigv4proxy is not the last container: {where}")
    if mode == "native":
        if init[:2] != ["iptables-init", "sigv4proxy"] or "sigv4proxy" in main:
            raise AssertionError(f"native mode: expected iptables-init, sigv4proxy first: {where}")
        proxy = spec["initContainers"][1]
        if proxy.get("restartPolicy") != "Always":
            raise AssertionError(f"native sigv4proxy stored without restartPolicy: Always: {proxy}")
    status = pod["metadata"].get("annotations", {}).get("sigv4-injector.io/status", "")
    if not status.startswith("injected"):
        raise AssertionError(f"annotation sigv4-injector.io/status is {status!r}")


def assert_not_injected(pod):
    spec = pod["spec"]
    found = {"iptables-init", "sigv4proxy"} & set(
        names(spec.get("initContainers")) + names(spec.get("containers")))
    if found:
        raise AssertionError(f"pod was injected ({sorted(found)})")
