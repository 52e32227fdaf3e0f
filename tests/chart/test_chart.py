#!/usr/bin/env python3
"""Checks of charts/sigv4-injector: lint, schema, and what `helm template` renders.

    tests/chart/test_chart.py GROUP     (lint, webhook, certs, config, deployment, schema, checksum)
    tests/chart/test_chart.py all

Builds its tools itself (scripts/tools.sh helm|kubecheck), so a fresh machine needs only Go.
Every render is also checked by kubecheck: each object is decoded strictly into its real
k8s.io/api type (unknown fields, wrong types, invalid metadata fail), which is what
`kubectl create --dry-run=client` would do if it could: kubectl needs an apiserver for that.
kubecheck also turns the YAML into JSON, since python3 here has no YAML parser.

Not checked here: reuse of the helm-mode Secret on upgrade, because `lookup` returns nothing
without a cluster. It belongs with the end-to-end tier (a real apiserver); see docs/chart.md.
"""

import base64
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHART = os.path.join(ROOT, "charts", "sigv4-injector")
RELEASE = "sigv4-injector"
NAMESPACE = "sigv4-injector"
FULLNAME = "sigv4-injector"  # the release name contains the chart name
BASE = ["--set", "region=us-west-2"]
CRD_KINDS = ["Issuer", "Certificate"]  # cert-manager's: no typed schema offline


def tool(name):
    out = subprocess.run([os.path.join(ROOT, "scripts", "tools.sh"), name],
                         check=True, stdout=subprocess.PIPE, text=True)
    return out.stdout.strip()


HELM = tool("helm")
KUBECHECK = tool("kubecheck")


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
    hits = [o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
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


# ---------------------------------------------------------------------------------------------
# lint


def test_lint():
    for strict in ([], ["--strict"]):
        for extra in ([], BASE, BASE + ["--set", "compat.annotations.enabled=true"],
                      BASE + ["--set", "certs.mode=cert-manager"], BASE + provided_pems()):
            proc = run([HELM, "lint", CHART, "-n", NAMESPACE] + strict + extra)
            expect("0 chart(s) failed" in proc.stdout, proc.stdout)
            expect("[WARNING]" not in proc.stdout and "[ERROR]" not in proc.stdout, proc.stdout)
    check_values_documented()
    # The chart as shipped lints clean (lint does not enforce `required`); an install without a
    # region is refused by the render itself (test_schema).


def check_values_documented():
    """Every key of values.yaml has a comment right above it (STYLE rule 13; the entries of a
    resources block are documented by its own comment), and every value the schema allows is in
    values.yaml with its default, so nothing is settable but undocumented."""
    with open(os.path.join(CHART, "values.yaml")) as f:
        lines = f.read().split("\n")
    stack = []  # (indent, key) of the enclosing keys
    for number, line in enumerate(lines, 1):
        match = re.match(r"^( *)([A-Za-z][\w.-]*):", line)
        if not match:
            continue
        indent = len(match.group(1))
        stack = [(i, k) for i, k in stack if i < indent]
        in_resources = any(k == "resources" for _, k in stack)
        stack.append((indent, match.group(2)))
        expect(in_resources or lines[number - 2].strip().startswith("#"),
               "values.yaml:%d: %s has no comment above it" % (number, match.group(2)))

    values = json.loads(subprocess.run([KUBECHECK, "-yaml-to-json", os.path.join(CHART, "values.yaml")],
                                       check=True, stdout=subprocess.PIPE, text=True).stdout)[0]
    with open(os.path.join(CHART, "values.schema.json")) as f:
        schema = json.load(f)

    def walk(node, value, path):
        expect(node.get("additionalProperties") is not None or node.get("type") != "object",
               "schema %s: objects must set additionalProperties" % (path or "root"))
        for key, sub in node.get("properties", {}).items():
            here = path + "." + key if path else key
            expect(isinstance(value, dict) and key in value,
                   "%s is in values.schema.json but not in values.yaml" % here)
            # resources and affinity are Kubernetes objects: their fields are optional.
            if sub.get("type") == "object" and key not in ("resources", "affinity"):
                walk(sub, value[key], here)

    expect(schema.get("additionalProperties") is False, "schema root allows unknown values")
    walk(schema, values, "")


# ---------------------------------------------------------------------------------------------
# the MutatingWebhookConfiguration


def expected_entry(name, path, namespace_sel, object_sel, client_config, failure_policy="Fail"):
    return {
        "name": name,
        "admissionReviewVersions": ["v1"],
        "sideEffects": "None",
        "failurePolicy": failure_policy,
        "timeoutSeconds": 5,
        "reinvocationPolicy": "IfNeeded",
        "matchPolicy": "Equivalent",
        "clientConfig": client_config(path),
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                   "resources": ["pods"], "scope": "Namespaced"}],
        "namespaceSelector": {"matchExpressions": namespace_sel},
        "objectSelector": {"matchExpressions": object_sel},
    }


def expected_webhooks(compat=False, client_config=None, excluded=("kube-system", NAMESPACE)):
    def service(path):
        return {"service": {"name": FULLNAME, "namespace": NAMESPACE, "path": path, "port": 443}}

    client_config = client_config or service
    not_excluded = {"key": "kubernetes.io/metadata.name", "operator": "NotIn",
                    "values": list(excluded)}
    enabled = {"key": "sigv4-injector.io/inject", "operator": "In", "values": ["enabled"]}
    not_disabled = {"key": "sigv4-injector.io/inject", "operator": "NotIn", "values": ["disabled"]}
    entries = [
        expected_entry("namespace.sigv4-injector.io", "/mutate", [enabled, not_excluded],
                       [not_disabled], client_config),
        expected_entry("object.sigv4-injector.io", "/mutate", [not_disabled, not_excluded],
                       [enabled], client_config),
    ]
    if compat:
        entries.append(expected_entry("annotated.sigv4-injector.io", "/mutate/annotated",
                                      [not_disabled, not_excluded], [not_disabled],
                                      client_config, failure_policy="Ignore"))
    return entries


def webhooks_without_ca(mwc):
    entries = json.loads(json.dumps(mwc["webhooks"]))
    bundles = [e["clientConfig"].pop("caBundle", None) for e in entries]
    return entries, bundles


def test_webhook():
    # Default (helm certs): two entries, exactly as SPEC §3 and §8 say, one caBundle for all.
    objs = template()
    mwc = find(objs, "MutatingWebhookConfiguration")
    expect_eq(mwc["metadata"]["name"], FULLNAME, "webhook configuration name")
    entries, bundles = webhooks_without_ca(mwc)
    expect_eq(entries, expected_webhooks(), "webhook entries (default)")
    expect(bundles[0] and len(set(bundles)) == 1, "every entry carries the same caBundle")
    expect("annotations" not in mwc["metadata"], "no inject-ca-from outside cert-manager mode")
    expect(not [o for o in objs if o["kind"] in ("Role", "RoleBinding", "ClusterRole",
                                                   "ClusterRoleBinding")],
           "the webhook needs no RBAC")

    # The compat entry exists only when asked for.
    objs = template("--set", "compat.annotations.enabled=true")
    entries, _ = webhooks_without_ca(find(objs, "MutatingWebhookConfiguration"))
    expect_eq(entries, expected_webhooks(compat=True), "webhook entries (compat)")

    # Values that change the entries.
    objs = template("--set", "webhook.failurePolicy=Ignore", "--set", "webhook.timeoutSeconds=3",
                    "--set", "injection.excludeNamespaces={legacy-apps}",
                    "--set", "compat.annotations.enabled=true",
                    "--set", "compat.annotations.failurePolicy=Fail")
    for entry in find(objs, "MutatingWebhookConfiguration")["webhooks"]:
        policy = "Fail" if entry["name"].startswith("annotated.") else "Ignore"
        expect_eq((entry["failurePolicy"], entry["timeoutSeconds"]), (policy, 3),
                  "failurePolicy and timeoutSeconds from values")
        expect_eq(entry["namespaceSelector"]["matchExpressions"][1]["values"],
                  ["kube-system", NAMESPACE, "legacy-apps"], "excludeNamespaces in the selector")

    # urlBase: the apiserver calls a URL (path appended per entry) instead of the Service.
    objs = template("--set", "webhook.urlBase=https://127.0.0.1:8443/",
                    "--set", "compat.annotations.enabled=true", *provided_pems())
    entries, bundles = webhooks_without_ca(find(objs, "MutatingWebhookConfiguration"))
    expect_eq(entries, expected_webhooks(
        compat=True, client_config=lambda path: {"url": "https://127.0.0.1:8443" + path}),
        "webhook entries (urlBase)")
    expect_eq(set(bundles), {b64(PEMS["ca.crt"])}, "caBundle with urlBase")


# ---------------------------------------------------------------------------------------------
# certificates


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


def test_certs():
    service_names = ["%s.%s.svc" % (FULLNAME, NAMESPACE),
                     "%s.%s.svc.cluster.local" % (FULLNAME, NAMESPACE)]

    # helm: a Secret with a CA-signed serving cert for the Service names; the caBundle is its CA.
    objs = template("--set", "certs.extraIpAddresses={127.0.0.1}")
    secret = find(objs, "Secret")
    expect_eq(secret["type"], "kubernetes.io/tls", "helm-mode Secret type")
    expect_eq(mounted_secret(objs), secret["metadata"]["name"], "the pod mounts the Secret")
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    mwc = find(objs, "MutatingWebhookConfiguration")
    expect_eq(mwc["webhooks"][0]["clientConfig"]["caBundle"], secret["data"]["ca.crt"],
              "helm-mode caBundle is the Secret's CA")
    sans = openssl_verify(data["ca.crt"], data["tls.crt"])
    for name in service_names + ["IP Address:127.0.0.1"]:
        expect(name in sans, "serving cert lacks SAN %s: %s" % (name, sans))
    expect_eq(kinds(objs), ["ConfigMap", "Deployment", "MutatingWebhookConfiguration",
                            "PodDisruptionBudget", "Secret", "Service", "ServiceAccount"],
              "objects in helm mode")

    # cert-manager, own CA: Issuer -> CA Certificate -> CA Issuer -> serving Certificate, and
    # the CA injected from the serving Certificate.
    objs = template("--set", "certs.mode=cert-manager")
    mwc = find(objs, "MutatingWebhookConfiguration")
    serving = find(objs, "Certificate", FULLNAME + "-serving")
    expect_eq(mwc["metadata"]["annotations"],
              {"cert-manager.io/inject-ca-from": "%s/%s-serving" % (NAMESPACE, FULLNAME)},
              "inject-ca-from annotation")
    expect(all("caBundle" not in e["clientConfig"] for e in mwc["webhooks"]),
           "no caBundle in cert-manager mode (cert-manager injects it)")
    expect(not [o for o in objs if o["kind"] == "Secret"], "cert-manager writes the Secret")
    expect_eq(serving["spec"]["secretName"], mounted_secret(objs), "pod mounts the issued Secret")
    for name in service_names:
        expect(name in serving["spec"]["dnsNames"], "Certificate lacks dnsName " + name)
    selfsigned = find(objs, "Issuer", FULLNAME + "-selfsigned")
    ca_cert = find(objs, "Certificate", FULLNAME + "-ca")
    ca_issuer = find(objs, "Issuer", FULLNAME + "-ca")
    expect("selfSigned" in selfsigned["spec"], "first Issuer is self-signed")
    expect_eq((ca_cert["spec"]["isCA"], ca_cert["spec"]["issuerRef"]["name"]),
              (True, selfsigned["metadata"]["name"]), "CA Certificate from the self-signed Issuer")
    expect_eq(ca_issuer["spec"]["ca"]["secretName"], ca_cert["spec"]["secretName"],
              "CA Issuer uses the CA Certificate's Secret")
    expect_eq(serving["spec"]["issuerRef"]["name"], ca_issuer["metadata"]["name"],
              "serving Certificate from the CA Issuer")

    # cert-manager with the user's issuer: no issuers of our own.
    objs = template("--set", "certs.mode=cert-manager",
                    "--set", "certs.certManager.issuerRef.name=corp-ca",
                    "--set", "certs.certManager.issuerRef.kind=ClusterIssuer")
    expect_eq([o["kind"] for o in objs if o["kind"] in CRD_KINDS], ["Certificate"],
              "only the serving Certificate with a user issuer")
    expect_eq(find(objs, "Certificate")["spec"]["issuerRef"],
              {"name": "corp-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"},
              "user issuerRef")

    # provided, PEMs in values: a Secret of them, caBundle from values.
    objs = template(*provided_pems())
    secret = find(objs, "Secret")
    expect_eq(secret["data"], {"ca.crt": b64(PEMS["ca.crt"]), "tls.crt": b64(PEMS["tls.crt"]),
                               "tls.key": b64(PEMS["tls.key"])}, "provided Secret")
    for entry in find(objs, "MutatingWebhookConfiguration")["webhooks"]:
        expect_eq(entry["clientConfig"]["caBundle"], b64(PEMS["ca.crt"]), "provided caBundle")

    # provided, existing Secret: nothing rendered for it, the pod mounts it.
    objs = template("--set", "certs.mode=provided", "--set", "certs.provided.existingSecret=mine",
                    "--set-file", "certs.provided.caBundle=%s/certs/ca.crt" % TMP)
    expect(not [o for o in objs if o["kind"] == "Secret"], "no Secret with existingSecret")
    expect_eq(mounted_secret(objs), "mine", "pod mounts existingSecret")

    # provided without a caBundle is refused, with the value's name.
    err = template_fails(*BASE, "--set", "certs.mode=provided",
                         "--set", "certs.provided.existingSecret=mine")
    expect("certs.provided.caBundle is required" in err, "missing caBundle message: " + err)
    print("  SKIP helm-mode Secret reuse on upgrade: `lookup` needs a real cluster "
          "(an end-to-end check; see docs/chart.md)")


# ---------------------------------------------------------------------------------------------
# the config file


CONFIG_KEYS = {"region", "signingName", "sidecarMode", "ipv6", "iptablesMode", "excludeNamespaces",
               "proxy", "init"}
PROXY_KEYS = {"image", "port", "uid", "upstreamScheme", "unsignedPayload", "logFailedRequests",
              "logSigningProcess", "verbose", "extraArgs", "roleArn", "host", "signHost",
              "resources"}
INIT_KEYS = {"image", "cidrs", "ipv6Cidrs", "excludePorts", "includePorts", "resources"}


def test_config():
    config = config_of(template(kube_version="1.30.0"))
    expect_eq(config, {
        "region": "us-west-2", "signingName": "vpc-lattice-svcs", "sidecarMode": "native",
        "ipv6": "auto", "iptablesMode": "auto", "excludeNamespaces": [],
        "proxy": {"image": "public.ecr.aws/aws-observability/aws-sigv4-proxy:latest",
                  "port": 8080, "uid": 101, "upstreamScheme": "http", "unsignedPayload": True,
                  "logFailedRequests": True, "logSigningProcess": True, "verbose": True,
                  "extraArgs": [],
                  "resources": {"requests": {"cpu": "25m", "memory": "32Mi"},
                                "limits": {"cpu": "500m", "memory": "256Mi"}}},
        "init": {"image": "public.ecr.aws/d2c6w7a3/iptables", "cidrs": ["169.254.171.0/24"],
                 "ipv6Cidrs": ["fd00:ec2:80::/64"], "excludePorts": [], "includePorts": [],
                 "resources": {"requests": {"cpu": "10m", "memory": "16Mi"},
                               "limits": {"cpu": "100m", "memory": "64Mi"}}},
    }, "default config.yaml")

    # sidecarMode auto follows the cluster version; an explicit mode wins.
    for version, args, mode in (("1.30.0", [], "native"), ("1.29.0", [], "native"),
                                ("1.28.0", [], "legacy"),
                                ("1.30.0", ["--set", "sidecarMode=legacy"], "legacy"),
                                ("1.28.0", ["--set", "sidecarMode=native"], "native")):
        expect_eq(config_of(template(*args, kube_version=version))["sidecarMode"], mode,
                  "sidecarMode with kube %s %s" % (version, " ".join(args)))

    # Every value reaches the file, under the binary's keys only.
    config = config_of(template(
        "--set", "injection.proxy.roleArn=arn:aws:iam::123456789012:role/signer",
        "--set", "injection.proxy.host=svc.example", "--set", "injection.proxy.signHost=sign.example",
        "--set", "injection.proxy.port=15001", "--set", "injection.proxy.verbose=false",
        "--set", "injection.proxy.extraArgs={--strip,Foo}", "--set", "injection.ipv6=off",
        "--set", "injection.iptablesMode=nft", "--set", "injection.init.excludePorts={22,443}",
        "--set", "injection.excludeNamespaces={a,b}", "--set", "injection.signingName=execute-api"))
    expect_eq(set(config), CONFIG_KEYS, "config keys")
    expect_eq(set(config["proxy"]), PROXY_KEYS, "proxy keys")
    expect_eq(set(config["init"]), INIT_KEYS, "init keys")
    expect_eq((config["proxy"]["roleArn"], config["proxy"]["host"], config["proxy"]["signHost"],
               config["proxy"]["port"], config["proxy"]["verbose"], config["proxy"]["extraArgs"],
               config["ipv6"], config["iptablesMode"], config["init"]["excludePorts"],
               config["excludeNamespaces"], config["signingName"]),
              ("arn:aws:iam::123456789012:role/signer", "svc.example", "sign.example", 15001,
               False, ["--strip", "Foo"], "off", "nft", [22, 443], ["a", "b"], "execute-api"),
              "values in config.yaml")


def test_binary():
    """The config the chart renders is accepted by the real binary, and means what it says."""
    binary = os.environ.get("SIGV4_BIN", "")
    if not (binary and os.access(binary, os.X_OK)):
        print("  SKIP chart.binary: SIGV4_BIN (the built sigv4-injector) not available")
        return
    pod = json.dumps({"apiVersion": "v1", "kind": "Pod",
                      "metadata": {"name": "app", "namespace": "app1"},
                      "spec": {"containers": [{"name": "app", "image": "app:1"}]}})
    for version, args, port, mode in (
            ("1.30.0", [], 8080, "native"),
            ("1.28.0", ["--set", "injection.proxy.port=15001",
                        "--set", "injection.proxy.roleArn=arn:aws:iam::123456789012:role/x",
                        "--set", "injection.proxy.host=h.example",
                        "--set", "injection.proxy.signHost=s.example",
                        "--set", "injection.proxy.extraArgs={--verbose}",
                        "--set", "injection.init.excludePorts={22}",
                        "--set", "injection.init.includePorts={80,443}",
                        "--set", "injection.excludeNamespaces={other}",
                        "--set", "injection.ipv6=off", "--set", "injection.iptablesMode=nft"],
             15001, "legacy")):
        objs = template(*args, kube_version=version)
        path = os.path.join(TMP, "config.yaml")
        with open(path, "w") as f:
            f.write(find(objs, "ConfigMap")["data"]["config.yaml"])
        proc = subprocess.run([binary, "inject", "-f", "-", "--config", path, "-o", "json"],
                              input=pod, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
        expect(proc.returncode == 0, "the binary rejects the chart's config (%s):\n%s"
               % (" ".join(args) or "defaults", proc.stderr))
        spec = json.loads(proc.stdout)["spec"]
        where = spec["initContainers"] if mode == "native" else spec["containers"]
        proxies = [c for c in where if c["name"] == "sigv4proxy"]
        expect(proxies, "no sigv4proxy among the %s containers: %s" % (mode, json.dumps(spec)))
        expect_eq([p["containerPort"] for p in proxies[0].get("ports", [])], [port],
                  "proxy port from the chart's config")


# ---------------------------------------------------------------------------------------------
# Deployment, Service, PDB, ServiceAccount


def test_deployment():
    objs = template()
    deploy = find(objs, "Deployment")
    spec = deploy["spec"]
    pod = spec["template"]["spec"]
    expect_eq(spec["replicas"], 2, "replicas")
    expect_eq(pod["automountServiceAccountToken"], False, "no API token in the pod")
    expect_eq(pod["securityContext"]["seccompProfile"], {"type": "RuntimeDefault"}, "seccomp")
    expect_eq(pod["securityContext"]["runAsNonRoot"], True, "pod runAsNonRoot")
    term = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
    expect_eq(term["podAffinityTerm"]["topologyKey"], "kubernetes.io/hostname", "anti-affinity")
    expect_eq(term["podAffinityTerm"]["labelSelector"]["matchLabels"],
              spec["selector"]["matchLabels"], "anti-affinity selects our pods")
    for key, value in spec["selector"]["matchLabels"].items():
        expect_eq(spec["template"]["metadata"]["labels"].get(key), value, "selector matches pods")

    (container,) = pod["containers"]
    expect_eq(container["image"], "ghcr.io/sigv4-injector/sigv4-injector:0.1.0", "image")
    expect_eq(container["args"], [
        "serve", "--listen", ":8443",
        "--tls-cert-file", "/etc/sigv4-injector/tls/tls.crt",
        "--tls-key-file", "/etc/sigv4-injector/tls/tls.key",
        "--config", "/etc/sigv4-injector/config.yaml",
        "--metrics-listen", ":9090", "--log-format", "json", "--log-level", "info"], "server args")
    expect_eq(container["ports"], [
        {"name": "https", "containerPort": 8443, "protocol": "TCP"},
        {"name": "metrics", "containerPort": 9090, "protocol": "TCP"}], "container ports")
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        expect_eq(container[probe]["httpGet"], {"path": path, "port": "https", "scheme": "HTTPS"},
                  probe)
    sc = container["securityContext"]
    expect_eq((sc["runAsNonRoot"], sc["allowPrivilegeEscalation"], sc["readOnlyRootFilesystem"],
               sc["capabilities"]), (True, False, True, {"drop": ["ALL"]}),
              "container securityContext")
    expect(container["resources"]["requests"] and container["resources"]["limits"],
           "requests and limits")
    expect_eq(container["volumeMounts"], [{"name": "config", "mountPath": "/etc/sigv4-injector",
                                           "readOnly": True}], "one read-only mount")

    service = find(objs, "Service")
    expect_eq(service["spec"]["ports"], [
        {"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"},
        {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"}],
        "service ports")
    expect_eq(service["spec"]["selector"], spec["selector"]["matchLabels"], "service selector")
    pdb = find(objs, "PodDisruptionBudget")
    expect_eq((pdb["spec"]["minAvailable"], pdb["spec"]["selector"]["matchLabels"]),
              (1, spec["selector"]["matchLabels"]), "PDB")
    expect_eq(find(objs, "ServiceAccount")["automountServiceAccountToken"], False, "SA token")
    expect_eq(pod["serviceAccountName"], find(objs, "ServiceAccount")["metadata"]["name"], "SA")
    for obj in objs:
        labels = obj["metadata"].get("labels", {})
        for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance",
                    "app.kubernetes.io/version", "app.kubernetes.io/managed-by"):
            expect(key in labels, "%s %s lacks label %s" % (obj["kind"], obj["metadata"]["name"],
                                                            key))

    # Scheduling values pass through; one replica gets no PDB (it would block node drains).
    objs = template("--set", "replicaCount=1", "--set", "nodeSelector.pool=system",
                    "--set", "tolerations[0].key=dedicated",
                    "--set", "tolerations[0].operator=Exists",
                    "--set", "priorityClassName=system-cluster-critical",
                    "--set", "podAnnotations.team=platform", "--set", "image.tag=9.9.9",
                    "--set", "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
                             ".nodeSelectorTerms[0].matchExpressions[0].key=pool",
                    "--set", "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
                             ".nodeSelectorTerms[0].matchExpressions[0].operator=Exists")
    pod = find(objs, "Deployment")["spec"]["template"]
    expect_eq(pod["spec"]["nodeSelector"], {"pool": "system"}, "nodeSelector")
    expect_eq(pod["spec"]["tolerations"], [{"key": "dedicated", "operator": "Exists"}],
              "tolerations")
    expect_eq(pod["spec"]["priorityClassName"], "system-cluster-critical", "priorityClassName")
    expect_eq(list(pod["spec"]["affinity"]), ["nodeAffinity"], "affinity replaces the default")
    expect_eq(pod["metadata"]["annotations"]["team"], "platform", "podAnnotations")
    expect_eq(pod["spec"]["containers"][0]["image"],
              "ghcr.io/sigv4-injector/sigv4-injector:9.9.9", "image tag")
    expect(not [o for o in objs if o["kind"] == "PodDisruptionBudget"], "no PDB for 1 replica")

    # Long names are cut to 63 characters, keeping suffixes so that no two objects collide.
    for mode in ("helm", "cert-manager"):
        objs = template("--set", "fullnameOverride=" + "a" * 80, "--set", "certs.mode=" + mode)
        expect_eq(find(objs, "Deployment")["metadata"]["name"], "a" * 63, "fullname truncated")
        names = [(o["kind"], o["metadata"]["name"]) for o in objs]
        expect(all(len(n) <= 63 for _, n in names), "a name over 63 characters: %s" % names)
        expect(len(set(names)) == len(names), "two objects share a name: %s" % names)
        secret = ("a" * 59) + "-tls"
        expect_eq(mounted_secret(objs), secret, "suffixed Secret name")


# ---------------------------------------------------------------------------------------------
# values.schema.json


def test_schema():
    for bad, word in ((["--set", "foo=bar"], "foo"),
                      (["--set", "injection.proxy.foo=1"], "foo"),
                      (["--set", "certs.helm.bogus=true"], "bogus"),
                      (["--set", "certs.mode=vault"], "mode"),
                      (["--set", "webhook.failurePolicy=Maybe"], "failurePolicy"),
                      (["--set", "webhook.timeoutSeconds=60"], "timeoutSeconds"),
                      (["--set", "sidecarMode=sometimes"], "sidecarMode"),
                      (["--set", "injection.proxy.port=70000"], "port"),
                      (["--set", "region=Oregon"], "region")):
        err = template_fails(*(BASE + bad))
        expect("schema" in err and word in err,
               "%s should be rejected by the schema naming %s:\n%s" % (bad, word, err))
    err = template_fails()
    expect("region is required" in err, "missing region message: " + err)


# ---------------------------------------------------------------------------------------------
# checksum annotations


def test_checksum():
    pems = provided_pems()
    base = pod_annotations(template(*pems))
    expect(base["checksum/config"] and base["checksum/certs"], "checksum annotations present")
    expect_eq(pod_annotations(template(*pems)), base, "same values, same checksums")
    changed = pod_annotations(template(*pems, "--set", "injection.proxy.port=9000"))
    expect(changed["checksum/config"] != base["checksum/config"], "config change rolls the pods")
    expect_eq(changed["checksum/certs"], base["checksum/certs"], "certs checksum unchanged")
    # (--set-file: helm applies it after --set, so it overrides provided_pems' own)
    changed = pod_annotations(template(*pems, "--set-file",
                                       "certs.provided.tlsCrt=%s/certs/ca.crt" % TMP))
    expect(changed["checksum/certs"] != base["checksum/certs"], "cert change rolls the pods")
    expect_eq(changed["checksum/config"], base["checksum/config"], "config checksum unchanged")
    # In helm mode the checksum is of the generated cert itself (new here at every render, as
    # `lookup` finds no Secret without a cluster; reused, hence stable, on a real upgrade).
    one, two = pod_annotations(template()), pod_annotations(template())
    expect(one["checksum/certs"] != two["checksum/certs"], "helm-mode checksum follows the cert")


# ---------------------------------------------------------------------------------------------
# kubecheck itself: it must reject what kubectl's validation would


def test_kubecheck():
    good = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: b}\ndata: {k: v}\n"
    bad = {
        "unknown field": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a, namespace: b}"
                         "\nspec: {replicaz: 2}\n",
        "wrong type": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: b}\n"
                      "data: {k: 1}\n",
        "bad name": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: A_b, namespace: b}\n",
        "no namespace": "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n",
        "unknown kind": "apiVersion: example.io/v1\nkind: Widget\nmetadata: {name: a, namespace: b}\n",
        "duplicate key": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, name: b}\n",
    }
    for what, doc in [("good", good)] + list(bad.items()):
        proc = subprocess.run([KUBECHECK, "-"], input=doc, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        expect((proc.returncode == 0) == (what == "good"),
               "kubecheck on %s: exit %d %s" % (what, proc.returncode, proc.stderr))


TESTS = {"kubecheck": test_kubecheck, "lint": test_lint, "webhook": test_webhook, "certs": test_certs, "config": test_config,
         "binary": test_binary,
         "deployment": test_deployment, "schema": test_schema, "checksum": test_checksum}


def main(argv):
    names = list(TESTS) if argv[1:] in ([], ["all"]) else argv[1:]
    failed = 0
    for name in names:
        try:
            TESTS[name]()
            print("PASS chart.%s" % name)
        except Failure as err:
            failed += 1
            print("FAIL chart.%s: %s" % (name, err))
    return 1 if failed else 0


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="chart-test-") as TMP:
        sys.exit(main(sys.argv))
