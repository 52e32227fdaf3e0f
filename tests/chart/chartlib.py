"""Shared pieces of the chart checks: the tools, rendering, lookups and assertions.

Every render goes through kubecheck: each object is decoded strictly into its real k8s.io/api
type (unknown fields, wrong types, invalid metadata fail), which is what `kubectl create
--dry-run=client` would do if it could (kubectl needs an apiserver even for client-side
validation). kubecheck also turns the YAML into JSON, since python3 here has no YAML parser.
"""

import atexit
import base64
import json
import os
import shutil
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHART = os.path.join(ROOT, "charts", "sigv4-injector")
RELEASE = "sigv4-injector"
NAMESPACE = "sigv4-injector"
FULLNAME = "sigv4-injector"  # the release name contains the chart name
BASE = ["--set", "region=us-west-2"]
# cert-manager's and the Prometheus Operator's: no typed schema offline
CRD_KINDS = ["Issuer", "Certificate", "PrometheusRule"]


def tool(name):
    out = subprocess.run([os.path.join(ROOT, "scripts", "tools.sh"), name],
                         check=True, stdout=subprocess.PIPE, text=True)
    return out.stdout.strip()


HELM = tool("helm")
KUBECHECK = tool("kubecheck")
TMP = tempfile.mkdtemp(prefix="chart-test-")
atexit.register(shutil.rmtree, TMP, ignore_errors=True)


class Failure(Exception):
    pass


def expect(cond, message):
    if not cond:
        raise Failure(message)


def expect_eq(actual, expected, what):
    if actual != expected:
        raise Failure("%s:\n  expected %s\n  actual   %s" % (
            what, json.dumps(expected, sort_keys=True), json.dumps(actual, sort_keys=True)))


def run(args, ok=True):
    proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=dict(os.environ, HELM_CACHE_HOME=TMP, HELM_CONFIG_HOME=TMP,
                                   HELM_DATA_HOME=TMP))
    if ok and proc.returncode != 0:
        raise Failure("%s failed (%d):\n%s%s" % (" ".join(args), proc.returncode, proc.stdout,
                                                  proc.stderr))
    return proc


def template(*args, kube_version=None):
    """Renders the chart and returns its objects, after checking each with kubecheck."""
    cmd = [HELM, "template", RELEASE, CHART, "-n", NAMESPACE] + BASE + list(args)
    if kube_version:
        cmd += ["--kube-version", kube_version]
    rendered = run(cmd).stdout
    allow = [a for k in CRD_KINDS for a in ("-allow-kind", k)]
    proc = subprocess.run([KUBECHECK, "-o", "json"] + allow + ["-"], input=rendered,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise Failure("rendered objects are invalid (%s):\n%s" % (" ".join(args), proc.stderr))
    return json.loads(proc.stdout)


def template_fails(*args):
    """Renders expecting failure; returns helm's error text."""
    proc = run([HELM, "template", RELEASE, CHART, "-n", NAMESPACE] + list(args), ok=False)
    expect(proc.returncode != 0, "helm template %s should fail but rendered" % " ".join(args))
    return proc.stderr


def find(objs, kind, name=None):
    hits = [o for o in objs
            if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    expect(len(hits) == 1, "expected one %s %s, found %d" % (kind, name or "", len(hits)))
    return hits[0]


def kinds(objs):
    return sorted(o["kind"] for o in objs)


def config_of(objs):
    text = find(objs, "ConfigMap")["data"]["config.yaml"]
    out = subprocess.run([KUBECHECK, "-yaml-to-json", "-"], input=text, check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out)[0]


def pod_annotations(objs):
    return find(objs, "Deployment")["spec"]["template"]["metadata"]["annotations"]


# Certificates made by certs/gen-certs.sh, for certs.mode=provided.
PEMS = {}


def provided_pems():
    if not PEMS:
        out = os.path.join(TMP, "certs")
        subprocess.run([os.path.join(ROOT, "certs", "gen-certs.sh"), FULLNAME, NAMESPACE, out,
                        "127.0.0.1"], check=True, stderr=subprocess.DEVNULL)
        for name in ("ca.crt", "tls.crt", "tls.key"):
            with open(os.path.join(out, name)) as f:
                PEMS[name] = f.read()
    return ["--set-file", "certs.provided.caBundle=%s/ca.crt" % os.path.join(TMP, "certs"),
            "--set-file", "certs.provided.tlsCrt=%s/tls.crt" % os.path.join(TMP, "certs"),
            "--set-file", "certs.provided.tlsKey=%s/tls.key" % os.path.join(TMP, "certs"),
            "--set", "certs.mode=provided"]


def b64(text):
    return base64.b64encode(text.encode()).decode()


def mounted_secret(objs):
    volume = find(objs, "Deployment")["spec"]["template"]["spec"]["volumes"][0]
    secrets = [s["secret"] for s in volume["projected"]["sources"] if "secret" in s]
    expect_eq([i["path"] for i in secrets[0]["items"]], ["tls/tls.crt", "tls/tls.key"],
              "cert files in the pod")
    return secrets[0]["name"]


def openssl_verify(ca_pem, cert_pem):
    ca, cert = os.path.join(TMP, "v-ca.pem"), os.path.join(TMP, "v-cert.pem")
    for path, text in ((ca, ca_pem), (cert, cert_pem)):
        with open(path, "w") as f:
            f.write(text)
    proc = run(["openssl", "verify", "-CAfile", ca, cert], ok=False)
    expect(proc.returncode == 0, "serving cert does not verify against the caBundle: "
           + proc.stdout + proc.stderr)
    return run(["openssl", "x509", "-in", cert, "-noout", "-ext", "subjectAltName"]).stdout
