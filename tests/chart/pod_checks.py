"""The config file, the Deployment and its neighbours, and the checksum annotations."""

import json
import os
import subprocess

from chartlib import (BASE, TMP, expect, expect_eq, template, template_fails, find, config_of,
                      pod_annotations, provided_pems, mounted_secret)

# ---------------------------------------------------------------------------------------------
# the config file


CONFIG_KEYS = {"region", "signingName", "sidecarMode", "ipv6", "iptablesMode", "excludeNamespaces",
               "proxy", "init"}
PROXY_KEYS = {"image", "port", "uid", "upstreamScheme", "unsignedPayload", "logFailedRequests",
              "logSigningProcess", "verbose", "allowNodeCredentials", "extraArgs", "roleArn",
              "host", "signHost", "caBundle", "resources"}
INIT_KEYS = {"image", "cidrs", "ipv6Cidrs", "excludePorts", "includePorts", "resources"}


def test_config():
    # The binary's defaults (SPEC 4a): proxy port 19471, failed requests logged only (no session
    # tokens in logs), no node credentials, port 443 never captured, the proxy pinned to 1.11.1,
    # and the webhook's own image (at the appVersion) for iptables-init. No caBundle.
    config = config_of(template(kube_version="1.30.0"))
    expect_eq(config, {
        "region": "us-west-2", "signingName": "vpc-lattice-svcs", "sidecarMode": "native",
        "ipv6": "auto", "iptablesMode": "auto", "excludeNamespaces": [],
        "proxy": {"image": "public.ecr.aws/aws-observability/aws-sigv4-proxy:1.11.1",
                  "port": 19471, "uid": 101, "upstreamScheme": "http", "unsignedPayload": True,
                  "logFailedRequests": True, "logSigningProcess": False, "verbose": False,
                  "allowNodeCredentials": False, "extraArgs": [],
                  "resources": {"requests": {"cpu": "25m", "memory": "32Mi"},
                                "limits": {"cpu": "500m", "memory": "256Mi"}}},
        "init": {"image": "ghcr.io/sigv4-injector/sigv4-injector:0.1.0",
                 "cidrs": ["169.254.171.0/24"], "ipv6Cidrs": ["fd00:ec2:80::/64"],
                 "excludePorts": [443], "includePorts": [],
                 "resources": {"requests": {"cpu": "10m", "memory": "16Mi"},
                               "limits": {"cpu": "100m", "memory": "64Mi"}}},
    }, "default config.yaml")
    init_image()
    ca_bundle()
    # `--set ...=null` is how a --set clears a list: port 443 captured again, as the workshop did.
    expect_eq(config_of(template("--set", "injection.init.excludePorts=null"))["init"]
              ["excludePorts"], [], "excludePorts=null")

    # Per-namespace resources (issue 17) reach the file as given; none by default.
    expect("namespaces" not in config, "no namespaces key by default")
    namespaces = {"team-a": {"proxy": {"resources": {"requests": {"cpu": "100m"}}},
                             "init": {"resources": {"limits": {"memory": "128Mi"}}}}}
    expect_eq(config_of(template("--set-json", "injection.namespaces=" + json.dumps(namespaces)))
              .get("namespaces"), namespaces, "injection.namespaces in config.yaml")

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
        "--set", "injection.proxy.host=svc.example",
        "--set", "injection.proxy.signHost=sign.example",
        "--set", "injection.proxy.port=15001", "--set", "injection.proxy.verbose=true",
        "--set", "injection.proxy.extraArgs={--strip,Foo}", "--set", "injection.ipv6=off",
        "--set", "injection.iptablesMode=nft", "--set", "injection.init.excludePorts={22,443}",
        "--set", "injection.excludeNamespaces={a,b}", "--set", "injection.signingName=execute-api",
        "--set", "injection.proxy.allowNodeCredentials=true",
        "--set", "injection.proxy.caBundle.configMap=private-ca",
        "--set", "injection.proxy.caBundle.key=root.pem",
        "--set", "injection.init.image=public.ecr.aws/d2c6w7a3/iptables"))
    expect_eq(set(config), CONFIG_KEYS, "config keys")
    expect_eq(set(config["proxy"]), PROXY_KEYS, "proxy keys")
    expect_eq(set(config["init"]), INIT_KEYS, "init keys")
    expect_eq((config["proxy"]["roleArn"], config["proxy"]["host"], config["proxy"]["signHost"],
               config["proxy"]["port"], config["proxy"]["verbose"], config["proxy"]["extraArgs"],
               config["ipv6"], config["iptablesMode"], config["init"]["excludePorts"],
               config["excludeNamespaces"], config["signingName"],
               config["proxy"]["allowNodeCredentials"], config["proxy"]["caBundle"],
               config["init"]["image"]),
              ("arn:aws:iam::123456789012:role/signer", "svc.example", "sign.example", 15001,
               True, ["--strip", "Foo"], "off", "nft", [22, 443], ["a", "b"], "execute-api",
               True, {"configMap": "private-ca", "key": "root.pem"},
               "public.ecr.aws/d2c6w7a3/iptables"),
              "values in config.yaml")


def init_image():
    """An empty injection.init.image is the webhook's image as the Deployment runs it."""
    for args, image in (
            (["--set", "image.tag=9.9.9"], "ghcr.io/sigv4-injector/sigv4-injector:9.9.9"),
            (["--set", "image.repository=registry.example/sigv4-injector",
              "--set", "image.digest=sha256:" + "a" * 64],
             "registry.example/sigv4-injector@sha256:" + "a" * 64),
            (["--set", "image.tag=9.9.9", "--set", "injection.init.image=corp/iptables:1"],
             "corp/iptables:1")):
        objs = template(*args)
        expect_eq(config_of(objs)["init"]["image"], image, "init image with %s" % " ".join(args))
        webhook = find(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"]
        if "injection.init.image=corp/iptables:1" not in args:
            expect_eq(webhook, image, "init image is the webhook's (%s)" % " ".join(args))


def ca_bundle():
    """caBundle reaches the file as the binary reads it; half- or doubly-set values fail early."""
    for args, want in ((["--set", "injection.proxy.caBundle.secret=corp-ca"],
                        {"secret": "corp-ca"}),
                       (["--set", "injection.proxy.caBundle.configMap=corp-ca",
                         "--set", "injection.proxy.caBundle.key=bundle.pem"],
                        {"configMap": "corp-ca", "key": "bundle.pem"})):
        expect_eq(config_of(template(*args))["proxy"]["caBundle"], want,
                  "caBundle with %s" % " ".join(args))
    for args, message in (
            (["--set", "injection.proxy.caBundle.secret=a",
              "--set", "injection.proxy.caBundle.configMap=b"], "configMap or secret, not both"),
            (["--set", "injection.proxy.caBundle.key=x.pem"], "neither configMap nor secret")):
        err = template_fails(*(BASE + args))
        expect(message in err, "%s should fail saying %r:\n%s" % (args, message, err))


def test_binary():
    """The config the chart renders is accepted by the real binary, means what it says, and with
    the chart's defaults injects exactly what the binary's own defaults inject."""
    binary = os.environ.get("SIGV4_BIN", "")
    if not (binary and os.access(binary, os.X_OK)):
        print("  SKIP chart.binary: SIGV4_BIN (the built sigv4-injector) not available")
        return
    pod = json.dumps({"apiVersion": "v1", "kind": "Pod",
                      "metadata": {"name": "app", "namespace": "app1"},
                      "spec": {"containers": [{"name": "app", "image": "app:1"}]}})

    def inject(objs=None):
        """The pod injected by the binary, with the chart's config file or (None) none."""
        cmd = [binary, "inject", "-f", "-", "-o", "json"]
        if objs is not None:
            path = os.path.join(TMP, "config.yaml")
            with open(path, "w") as f:
                f.write(find(objs, "ConfigMap")["data"]["config.yaml"])
            cmd += ["--config", path]
        proc = subprocess.run(cmd, input=pod, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
        expect(proc.returncode == 0, "the binary rejects the chart's config:\n" + proc.stderr)
        return json.loads(proc.stdout)

    def proxy_of(spec, mode):
        where = spec["initContainers"] if mode == "native" else spec["containers"]
        proxies = [c for c in where if c["name"] == "sigv4proxy"]
        expect(proxies, "no sigv4proxy among the %s containers: %s" % (mode, json.dumps(spec)))
        return proxies[0]

    # The chart's defaults are the binary's: on 1.28 (legacy, the binary's default mode, and the
    # region the binary defaults to) the two inject the same pod, byte for byte.
    defaults = inject(template(kube_version="1.28.0"))
    expect_eq(defaults, inject(), "pod injected with the chart's default config vs none")
    spec = defaults["spec"]
    proxy = proxy_of(spec, "legacy")
    expect_eq(proxy["args"], ["--name", "vpc-lattice-svcs", "--region", "us-west-2",
                              "--upstream-url-scheme", "http", "--unsigned-payload",
                              "--log-failed-requests", "--port", ":19471"],
              "default proxy args: no -v, no --log-signing-process")
    expect_eq(proxy["env"], [{"name": "AWS_REGION", "value": "us-west-2"},
                             {"name": "AWS_EC2_METADATA_DISABLED", "value": "true"}],
              "default proxy env: no node credentials")
    expect_eq([c["image"] for c in spec["initContainers"] if c["name"] == "iptables-init"],
              [find(template(), "Deployment")["spec"]["template"]["spec"]["containers"][0]
               ["image"]], "iptables-init runs the webhook's image")

    # Per-namespace resources: the binary gives them to pods of that namespace (the test pod's).
    namespaces = {"app1": {"proxy": {"resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}},
                           "init": {"resources": {"limits": {"cpu": "200m"}}}}}
    spec = inject(template("--set-json", "injection.namespaces=" + json.dumps(namespaces),
                           kube_version="1.30.0"))["spec"]
    expect_eq(proxy_of(spec, "native")["resources"],
              {"requests": {"cpu": "100m", "memory": "64Mi"},
               "limits": {"cpu": "500m", "memory": "256Mi"}}, "namespace's proxy resources")
    expect_eq([c["resources"]["limits"] for c in spec["initContainers"]
               if c["name"] == "iptables-init"], [{"cpu": "200m", "memory": "64Mi"}],
              "namespace's init resources")

    for version, args, port, mode in (
            ("1.30.0", [], 19471, "native"),
            ("1.28.0", ["--set", "injection.proxy.port=15001",
                        "--set", "injection.proxy.roleArn=arn:aws:iam::123456789012:role/x",
                        "--set", "injection.proxy.host=h.example",
                        "--set", "injection.proxy.signHost=s.example",
                        "--set", "injection.proxy.extraArgs={--verbose}",
                        "--set", "injection.proxy.allowNodeCredentials=true",
                        "--set", "injection.proxy.caBundle.secret=corp-ca",
                        "--set", "injection.proxy.caBundle.key=root.pem",
                        "--set", "injection.init.excludePorts={22}",
                        "--set", "injection.init.includePorts={80,443}",
                        "--set", "injection.excludeNamespaces={other}",
                        "--set", "injection.ipv6=off", "--set", "injection.iptablesMode=nft"],
             15001, "legacy")):
        spec = inject(template(*args, kube_version=version))["spec"]
        proxy = proxy_of(spec, mode)
        expect_eq([p["containerPort"] for p in proxy.get("ports", [])], [port],
                  "proxy port from the chart's config (%s)" % (" ".join(args) or "defaults"))
        if args:
            expect("AWS_EC2_METADATA_DISABLED" not in [e["name"] for e in proxy["env"]],
                   "allowNodeCredentials=true leaves IMDS to the proxy: %s" % proxy["env"])
            volume = [v for v in spec.get("volumes", []) if "secret" in v]
            expect_eq([v["secret"] for v in volume],
                      [{"secretName": "corp-ca", "items": [{"key": "root.pem",
                                                            "path": "ca.crt"}]}],
                      "caBundle volume from the chart's config")
            expect_eq([m["name"] for m in proxy.get("volumeMounts", [])], [volume[0]["name"]],
                      "caBundle mounted into the sidecar")


# ---------------------------------------------------------------------------------------------
# Deployment, Service, PDB, ServiceAccount


def test_deployment():
    objs = template()
    deployment_defaults(objs)
    neighbours(objs)
    deployment_values()
    long_names()


def deployment_defaults(objs):
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
        "--metrics-listen", ":9090", "--log-format", "json", "--log-level", "info",
        "--shutdown-delay", "5"], "server args")
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


def neighbours(objs):
    """Service, PDB, ServiceAccount and labels, against the Deployment's selector."""
    selector = find(objs, "Deployment")["spec"]["selector"]["matchLabels"]
    service = find(objs, "Service")
    # The metrics port stays off the Service by default (network_checks.py covers the value).
    expect_eq(service["spec"]["ports"], [
        {"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}],
        "service ports")
    expect_eq(service["spec"]["selector"], selector, "service selector")
    pdb = find(objs, "PodDisruptionBudget")
    expect_eq((pdb["spec"]["minAvailable"], pdb["spec"]["selector"]["matchLabels"]),
              (1, selector), "PDB")
    expect_eq(find(objs, "ServiceAccount")["automountServiceAccountToken"], False, "SA token")
    expect_eq(find(objs, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"],
              find(objs, "ServiceAccount")["metadata"]["name"], "the pods' ServiceAccount")
    for obj in objs:
        labels = obj["metadata"].get("labels", {})
        for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance",
                    "app.kubernetes.io/version", "app.kubernetes.io/managed-by"):
            expect(key in labels, "%s %s lacks label %s" % (obj["kind"], obj["metadata"]["name"],
                                                            key))


def deployment_values():
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


def long_names():
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
