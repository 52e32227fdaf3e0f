"""The MutatingWebhookConfiguration and the certificates of each mode."""

import base64
import json

from chartlib import (NAMESPACE, FULLNAME, BASE, CRD_KINDS, TMP, expect, expect_eq, template,
                      template_fails, find, kinds, PEMS, provided_pems, b64, mounted_secret,
                      openssl_verify)

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
    entries = [("namespace.sigv4-injector.io", "/mutate", [enabled, not_excluded], [not_disabled],
                "Fail"),
               ("object.sigv4-injector.io", "/mutate", [not_disabled, not_excluded], [enabled],
                "Fail")]
    if compat:
        entries.append(("annotated.sigv4-injector.io", "/mutate/annotated",
                        [not_disabled, not_excluded], [not_disabled], "Ignore"))
    # Each entry is split by the namespace's Pod Security level: the twin for namespaces enforcing
    # baseline or restricted calls the path's /pod-security twin (issue 17).
    levels = ["baseline", "restricted"]
    out = []
    for name, path, namespace_sel, object_sel, policy in entries:
        for prefix, suffix, operator in (("", "", "NotIn"), ("pod-security.", "/pod-security", "In")):
            ps = {"key": "pod-security.kubernetes.io/enforce", "operator": operator,
                  "values": levels}
            out.append(expected_entry(prefix + name, path + suffix, namespace_sel + [ps],
                                      object_sel, client_config, failure_policy=policy))
    return out


def webhooks_without_ca(mwc):
    entries = json.loads(json.dumps(mwc["webhooks"]))
    bundles = [e["clientConfig"].pop("caBundle", None) for e in entries]
    return entries, bundles


def test_webhook():
    # Default (helm certs): two entries, exactly as SPEC §3 and §8 say, each with its Pod Security
    # twin, one caBundle for all.
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
        policy = "Fail" if "annotated." in entry["name"] else "Ignore"
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


SERVICE_NAMES = ["%s.%s.svc" % (FULLNAME, NAMESPACE),
                 "%s.%s.svc.cluster.local" % (FULLNAME, NAMESPACE)]


def test_certs():
    certs_helm()
    certs_cert_manager()
    certs_provided()
    print("  SKIP helm-mode Secret reuse on upgrade: `lookup` needs a real cluster "
          "(an end-to-end check; see docs/chart.md)")


def certs_helm():
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
    for name in SERVICE_NAMES + ["IP Address:127.0.0.1"]:
        expect(name in sans, "serving cert lacks SAN %s: %s" % (name, sans))
    expect_eq(kinds(objs), ["ConfigMap", "Deployment", "MutatingWebhookConfiguration",
                            "PodDisruptionBudget", "Secret", "Service", "ServiceAccount"],
              "objects in helm mode")


def certs_cert_manager():
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
    for name in SERVICE_NAMES:
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


def certs_provided():
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
