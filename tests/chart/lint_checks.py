"""Lint, values documentation, schema rejections, and kubecheck itself."""

import json
import os
import re
import subprocess

from chartlib import (CHART, NAMESPACE, BASE, HELM, KUBECHECK, expect, run, template_fails,
                      provided_pems)

# ---------------------------------------------------------------------------------------------
# lint


def test_lint():
    for strict in ([], ["--strict"]):
        for extra in ([], BASE, BASE + ["--set", "compat.annotations.enabled=true"],
                      BASE + ["--set", "certs.mode=cert-manager"], BASE + provided_pems(),
                      BASE + ["--set", "networkPolicy.enabled=true",
                              "--set", "networkPolicy.apiserver.cidrs={10.0.0.0/16}",
                              "--set", "networkPolicy.scraper.podSelector.matchLabels.app=prom",
                              "--set", "metrics.prometheusRule.enabled=true",
                              "--set", "metrics.service.enabled=true"]):
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

    converted = subprocess.run([KUBECHECK, "-yaml-to-json", os.path.join(CHART, "values.yaml")],
                               check=True, stdout=subprocess.PIPE, text=True)
    values = json.loads(converted.stdout)[0]
    with open(os.path.join(CHART, "values.schema.json")) as f:
        schema = json.load(f)

    def walk(node, value, path):
        expect(node.get("additionalProperties") is not None or node.get("type") != "object",
               "schema %s: objects must set additionalProperties" % (path or "root"))
        for key, sub in node.get("properties", {}).items():
            here = path + "." + key if path else key
            expect(isinstance(value, dict) and key in value,
                   "%s is in values.schema.json but not in values.yaml" % here)
            # resources, affinity and label selectors are Kubernetes objects: their fields are
            # optional.
            if sub.get("type") == "object" and key not in (
                    "resources", "affinity", "namespaceSelector", "podSelector"):
                walk(sub, value[key], here)

    expect(schema.get("additionalProperties") is False, "schema root allows unknown values")
    walk(schema, values, "")



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
                      (["--set", "injection.proxy.allowNodeCredentials=yes"],
                       "allowNodeCredentials"),
                      (["--set", "injection.proxy.caBundle.bundle=x"], "bundle"),
                      (["--set", "injection.proxy.caBundle.configMap=Private_CA"], "configMap"),
                      (["--set", "injection.proxy.caBundle.secret=-ca"], "secret"),
                      (["--set", "injection.proxy.caBundle.key=certs/ca.pem"], "key"),
                      (["--set", "region=Oregon"], "region"),
                      (["--set", "injection.namespaces.Team_A.proxy.resources.requests.cpu=1"],
                       "Team_A"),
                      (["--set", "injection.namespaces.a.proxy.image=x"], "image"),
                      (["--set", "injection.namespaces.a.init.resources.requests.gpu=1"],
                       "gpu"),
                      # The binary's config reads cpu and memory only: a value it would refuse
                      # at start must not pass the schema.
                      (["--set", "injection.proxy.resources.limits.ephemeral-storage=1Gi"],
                       "ephemeral-storage"),
                      (["--set", "injection.init.resources.requests.ephemeral-storage=1Gi"],
                       "ephemeral-storage")):
        err = template_fails(*(BASE + bad))
        expect("schema" in err and word in err,
               "%s should be rejected by the schema naming %s:\n%s" % (bad, word, err))
    err = template_fails()
    expect("region is required" in err, "missing region message: " + err)



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
        "unknown kind": "apiVersion: example.io/v1\nkind: Widget\n"
                        "metadata: {name: a, namespace: b}\n",
        "duplicate key": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, name: b}\n",
    }
    for what, doc in [("good", good)] + list(bad.items()):
        proc = subprocess.run([KUBECHECK, "-"], input=doc, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        expect((proc.returncode == 0) == (what == "good"),
               "kubecheck on %s: exit %d %s" % (what, proc.returncode, proc.stderr))
