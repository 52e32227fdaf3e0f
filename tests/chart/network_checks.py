"""Who can reach the webhook pods: the metrics port off the Service by default, the optional
NetworkPolicy (apiserver peers to the webhook port, the named scraper to the metrics port), and
the optional PrometheusRule with the certificate alerts (issue 16)."""

import os
import re

from chartlib import ROOT, BASE, expect, expect_eq, find, kinds, template, template_fails

NP_ON = ["--set", "networkPolicy.enabled=true"]
CIDRS = ["--set", "networkPolicy.apiserver.cidrs={10.0.0.0/16,fd00:ec2::/56}"]
SCRAPER = ["--set", "networkPolicy.scraper.namespaceSelector.matchLabels.team=monitoring",
           "--set", "networkPolicy.scraper.podSelector.matchLabels.app=prometheus"]


def test_network():
    defaults()
    metrics_on_service()
    network_policy()
    network_policy_refusals()
    prometheus_rule()


def defaults():
    objs = template()
    ports = find(objs, "Service")["spec"]["ports"]
    expect_eq([p["name"] for p in ports], ["https"], "default Service ports: the webhook only")
    container = find(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    expect("metrics" in [p["name"] for p in container["ports"]],
           "the metrics container port stays, for scraping the pods")
    expect(not [o for o in objs if o["kind"] in ("NetworkPolicy", "PrometheusRule")],
           "no NetworkPolicy and no PrometheusRule by default: %s" % kinds(objs))


def metrics_on_service():
    objs = template("--set", "metrics.service.enabled=true", "--set", "server.metricsPort=9191")
    expect_eq(find(objs, "Service")["spec"]["ports"][1],
              {"name": "metrics", "port": 9191, "targetPort": "metrics", "protocol": "TCP"},
              "metrics.service.enabled puts the metrics port back on the Service")


def network_policy():
    objs = template(*NP_ON, *CIDRS, *SCRAPER, "--set", "server.port=9443",
                    "--set", "server.metricsPort=9191",
                    "--set", "networkPolicy.apiserver.peers[0].namespaceSelector.matchLabels"
                             ".kubernetes\\.io/metadata\\.name=kube-system",
                    "--set", "networkPolicy.apiserver.peers[0].podSelector.matchLabels"
                             ".k8s-app=konnectivity-agent")
    policy = find(objs, "NetworkPolicy")
    spec = policy["spec"]
    expect_eq(spec["podSelector"]["matchLabels"],
              find(objs, "Deployment")["spec"]["selector"]["matchLabels"],
              "the policy selects the webhook pods")
    expect_eq(spec["policyTypes"], ["Ingress"], "policyTypes")
    webhook, metrics = spec["ingress"]
    expect_eq(webhook, {
        "from": [{"ipBlock": {"cidr": "10.0.0.0/16"}}, {"ipBlock": {"cidr": "fd00:ec2::/56"}},
                 {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name":
                                                        "kube-system"}},
                  "podSelector": {"matchLabels": {"k8s-app": "konnectivity-agent"}}}],
        "ports": [{"protocol": "TCP", "port": 9443}]}, "the apiserver's rule")
    expect_eq(metrics, {
        "from": [{"namespaceSelector": {"matchLabels": {"team": "monitoring"}},
                  "podSelector": {"matchLabels": {"app": "prometheus"}}}],
        "ports": [{"protocol": "TCP", "port": 9191}]}, "the scraper's rule")

    # No scraper named: one rule, so the metrics port admits nobody.
    spec = find(template(*NP_ON, *CIDRS), "NetworkPolicy")["spec"]
    expect_eq([r["ports"][0]["port"] for r in spec["ingress"]], [8443],
              "without a scraper only the webhook port is open")
    expect(all(r.get("from") for r in spec["ingress"]), "no rule without peers")


def network_policy_refusals():
    err = template_fails(*BASE, *NP_ON)
    expect("networkPolicy.apiserver.cidrs" in err,
           "enabled without apiserver peers must fail naming the value: " + err)
    for bad, word in ((["--set", "networkPolicy.apiserver.cidrs={10.0.0.0}"], "cidrs"),
                      (["--set", "networkPolicy.apiserver.peers[0].ipBlock.cidr=1.2.3.4/32"],
                       "ipBlock"),
                      (["--set", "networkPolicy.scraper.namespace=monitoring"], "namespace"),
                      (["--set", "metrics.service=true"], "service"),
                      (["--set", "metrics.prometheusRule.expiryWarningDays=0"],
                       "expiryWarningDays")):
        err = template_fails(*BASE, *NP_ON, *bad)
        expect("schema" in err and word in err,
               "%s should be rejected by the schema naming %s:\n%s" % (bad, word, err))


def prometheus_rule():
    objs = template("--set", "metrics.prometheusRule.enabled=true",
                    "--set", "metrics.prometheusRule.expiryWarningDays=10",
                    "--set", "metrics.prometheusRule.labels.release=prometheus")
    rule = find(objs, "PrometheusRule")
    expect_eq(rule["metadata"]["labels"].get("release"), "prometheus", "extra labels")
    rules = rule["spec"]["groups"][0]["rules"]
    expect_eq([r["alert"] for r in rules],
              ["Sigv4InjectorCertReloadFailing", "Sigv4InjectorCertExpiringSoon"], "alerts")
    expect("< 10 * 86400" in rules[1]["expr"], "expiryWarningDays: " + rules[1]["expr"])
    expect("{{ $labels.instance }}" in rules[0]["annotations"]["summary"],
           "Prometheus templates pass through Helm untouched")
    # Every metric the rules use is one the server exports.
    with open(os.path.join(ROOT, "webhook", "server", "metrics.cpp")) as f:
        exported = set(re.findall(r'"(sigv4_injector_\w+)"', f.read()))
    used = {m for r in rules for m in re.findall(r"sigv4_injector_\w+", r["expr"])}
    expect(used and used <= exported, "rules use metrics the server does not export: %s"
           % sorted(used - exported))
