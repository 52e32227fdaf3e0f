"""The data-plane scenarios: each injects a real manifest, runs the pod it gets, and checks what
really happens on the wire (the stand-ins' records), in the pod's iptables and in the proxy's log.
Every `tier.check` is one PASS/FAIL line. SPEC §4a's defaults are the checks marked 4a."""

import secrets
import subprocess
import sys

from netns import NODE_V4
from world import (CUSTOM_NAME, LATTICE_NAME, LATTICE_V6_NAME, body_json, sha256, tcp_connect)

ACCESS_DENIED = "AccessDeniedException"
PROXY_IMAGE = "public.ecr.aws/aws-observability/aws-sigv4-proxy:1.11.1"
PROXY_PORT = 19471


def path(tag):
    """A request path no other request of the run uses, to find its records."""
    return f"/{tag}-{secrets.token_hex(4)}"


def expect_signed(tier, pod, name, url, p, principal, method="GET", data=None):
    """The app's call to `url` + path `p` is answered 200 by Lattice, signed once by
    `principal`, and came from the pod."""
    code, status, body = pod.app(url + p, method=method, data=data)
    hits = tier.records(p)
    answer = body_json(body)
    ok = (code == 0 and status == 200 and answer.get("principal") == principal and
          len(hits) == 1 and hits[0].get("verified") and hits[0].get("peer") in
          (pod.address, pod.v6, f"::ffff:{pod.address}"))
    tier.check(name, ok, f"curl {code}, HTTP {status}, body {body[:300]!r}, records {hits}")
    return answer, hits


def expect_unsigned(tier, pod, name, url, p):
    """The app's call reaches Lattice unsigned and gets Lattice's 403."""
    code, status, body = pod.app(url + p)
    hits = tier.records(p)
    ok = (status == 403 and ACCESS_DENIED in body and len(hits) == 1 and
          not hits[0].get("signed"))
    tier.check(name, ok, f"curl {code}, HTTP {status}, body {body[:300]!r}, records {hits}")


def init_ok(tier, pod, name):
    r = pod.init_result
    return tier.check(f"{name}: iptables-init exits 0", r.returncode == 0,
                      f"exit {r.returncode}: {r.stderr.strip()[-800:]} {r.stdout[-400:]}")


def tables_names(pod):
    """The legacy tables present in the pod's namespace (listing them would create them)."""
    out = pod.ns.run("cat", "/proc/net/ip_tables_names", "/proc/net/ip6_tables_names",
                     check=False).stdout
    return out.split()


def default_pod(tier):
    """The workshop app with Pod Identity, injected with the defaults (4a): signed over IPv4
    and IPv6, bodies intact, one Lattice hit per call, peers refused, no secrets logged, TLS
    not captured, the script re-runnable, no legacy tables left by probing."""
    done, spec = tier.inject()
    proxy = next(c for c in spec["containers"] if c["name"] == "sigv4proxy")
    tier.check("default: proxy image pinned to the version this tier runs (4a)",
               proxy["image"] == PROXY_IMAGE, proxy["image"])
    with tier.running(spec) as pod:
        if not init_ok(tier, pod, "default"):
            return
        rules = pod.iptables_rules("iptables-nft")
        tier.check("default: auto joins nft in an empty namespace",
                   "EGRESS_PROXY" in rules and "EGRESS_PROXY" not in
                   pod.iptables_rules("iptables-legacy"), rules)
        tier.check("default: probing the backend leaves no legacy tables (4a)",
                   tables_names(pod) == [], f"legacy tables: {tables_names(pod)}")
        expect_signed(tier, pod, "default: IPv4 call signed with Pod Identity and accepted",
                      f"http://{LATTICE_NAME}", path("v4"), "pod-identity")
        expect_signed(tier, pod, "default: IPv6 call signed with Pod Identity and accepted",
                      f"http://{LATTICE_V6_NAME}", path("v6"), "pod-identity")
        body = "secret-body-" + secrets.token_hex(8) + "x" * 65536
        p = path("post")
        answer, hits = expect_signed(tier, pod, "default: signed POST accepted",
                                     f"http://{LATTICE_NAME}", p, "pod-identity",
                                     method="POST", data=body)
        tier.check("default: the POST body arrives intact",
                   answer.get("body_sha256") == sha256(body) and
                   answer.get("body_len") == len(body), str(answer)[:300])
        log = pod.log()
        token = tier.keys["pod-identity"]["token"]
        tier.check("default: the proxy's log holds no session token and no body (4a)",
                   token not in log and "secret-body-" not in log, log[-1500:])
        port = pod.proxy_port()
        peer, peer_v4, peer_v6 = tier.peer()
        try:
            v4 = tcp_connect(peer, peer_v4, pod.address, port)
            v6 = tcp_connect(peer, peer_v6, pod.v6, port)
            tier.check("default: a peer is refused the proxy port over IPv4 (4a)",
                       v4 == "refused", v4)
            tier.check("default: a peer is refused the proxy port over IPv6 (4a)",
                       v6 == "refused", v6)
            p = path("relay")
            code, status, _ = _peer_curl(peer, f"http://{pod.address}:{port}{p}", LATTICE_NAME)
            tier.check("default: a peer cannot have its request signed (no open relay) (4a)",
                       code == 7 and tier.records(p) == [], f"curl {code}, HTTP {status}")
        finally:
            peer.close()
        expect_signed(tier, pod, "default: the app still gets 200 with the guard in place",
                      f"http://{LATTICE_NAME}", path("after-peer"), "pod-identity")
        p = path("tls")
        code, status, body = pod.app(f"https://{LATTICE_NAME}{p}",
                                     extra=["--cacert", tier.ca[0]])
        hits = tier.records(p)
        tier.check("default: https:// passes uncaptured, TLS straight to Lattice (4a)",
                   code == 0 and status == 403 and len(hits) == 1 and hits[0].get("tls") and
                   not hits[0].get("signed"),
                   f"curl {code}, HTTP {status}, {body[:200]!r}, records {hits}")
        before = pod.iptables_rules("iptables-nft") + pod.iptables_rules("ip6tables-nft")
        again = pod.run_init()
        after = pod.iptables_rules("iptables-nft") + pod.iptables_rules("ip6tables-nft")
        tier.check("default: re-running the script changes no rule",
                   again.returncode == 0 and before == after,
                   f"exit {again.returncode}\n{before}\n---\n{after}")
        pod.stop_proxy()
        p = path("stopped")
        code, status, _ = pod.app(f"http://{LATTICE_NAME}{p}")
        tier.check("default: proxy stopped: the app is refused at once, nothing reaches Lattice",
                   code == 7 and tier.records(p) == [], f"curl {code}, HTTP {status}")


def _peer_curl(ns, url, host):
    done = ns.run("curl", "-sS", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}",
                  "-H", f"Host: {host}", url, check=False)
    return done.returncode, done.stdout.strip(), done.stderr.strip()


def without_rules(tier):
    """Contrast: the same pod without iptables-init's rules calls Lattice unsigned."""
    _, spec = tier.inject()
    with tier.running(spec, init=False) as pod:
        expect_unsigned(tier, pod, "no rules: the call arrives unsigned and Lattice answers 403",
                        f"http://{LATTICE_NAME}", path("norules"))


def no_identity(tier):
    """A pod without Pod Identity or IRSA, IMDS reachable: fails closed (4a)."""
    node = tier.keys["node"]["id"]

    def signed_as_node():
        return [r for r in tier.service_records("lattice") if r.get("access_key_id") == node]

    imds_before = len(tier.service_records("imds"))
    node_before = len(signed_as_node())
    _, spec = tier.inject("app1-no-identity")
    with tier.running(spec) as pod:
        if not init_ok(tier, pod, "no identity"):
            return
        p = path("noid")
        code, status, body = pod.app(f"http://{LATTICE_NAME}{p}")
        tier.check("no identity: the proxy answers 502 and nothing reaches Lattice (4a)",
                   status == 502 and tier.records(p) == [], f"HTTP {status} {body[:200]!r}")
        tier.check("no identity: nothing is signed with the node's key, IMDS is not asked (4a)",
                   len(signed_as_node()) == node_before and
                   len(tier.service_records("imds")) == imds_before,
                   f"node-signed {signed_as_node()[node_before:]}")


def node_credentials(tier):
    """proxy.allowNodeCredentials: true restores the workshop's fallback to the node's role."""
    _, spec = tier.inject("app1-no-identity", config="proxy:\n  allowNodeCredentials: true\n")
    with tier.running(spec) as pod:
        if init_ok(tier, pod, "allowNodeCredentials"):
            expect_signed(tier, pod, "allowNodeCredentials: signed with the node's key via IMDS",
                          f"http://{LATTICE_NAME}", path("node"), "node")


def debug_logging(tier):
    """log-level: debug brings back -v --log-signing-process, which log the session token."""
    _, spec = tier.inject(annotations={"sigv4-injector.io/log-level": "debug"})
    with tier.running(spec) as pod:
        if not init_ok(tier, pod, "log-level debug"):
            return
        body = "secret-body-" + secrets.token_hex(8)
        expect_signed(tier, pod, "log-level debug: signed POST accepted", f"http://{LATTICE_NAME}",
                      path("debug"), "pod-identity", method="POST", data=body)
        log = pod.log()
        tier.check("log-level debug: the log holds the session token and the body, as "
                   "documented (4a)", tier.keys["pod-identity"]["token"] in log and body in log,
                   log[-1500:])


def irsa(tier):
    """IRSA: the proxy's SDK exchanges the web identity token at STS (reached through the
    hosts entry; AWS_CA_BUNDLE is the test's, for the stand-in's private CA) and signs."""
    _, spec = tier.inject("app1-irsa")
    with tier.running(spec, extra_env={"AWS_CA_BUNDLE": tier.ca[0]}) as pod:
        if not init_ok(tier, pod, "IRSA"):
            return
        expect_signed(tier, pod, "IRSA: call signed with the role from STS and accepted",
                      f"http://{LATTICE_NAME}", path("irsa"), "irsa")
        sts = [r for r in tier.service_records("sts") if r.get("status") == 200]
        tier.check("IRSA: STS AssumeRoleWithWebIdentity answered the pod's token", len(sts) >= 1,
                   str(tier.service_records("sts"))[:500])


def upstream_https(tier):
    """upstream-scheme https: the app calls http://, the proxy upgrades and verifies Lattice's
    certificate against the CA bundle given by annotation; without it, verification fails."""
    _, spec = tier.inject(annotations={"sigv4-injector.io/upstream-scheme": "https",
                                       "sigv4-injector.io/ca-bundle": "configmap/lattice-ca"})
    with tier.running(spec) as pod:
        if init_ok(tier, pod, "upstream https + CA bundle"):
            _, hits = expect_signed(tier, pod, "upstream https + CA bundle: upgraded, verified, "
                                    "signed and accepted (4a)", f"http://{LATTICE_NAME}",
                                    path("https-ca"), "pod-identity")
            tier.check("upstream https + CA bundle: the request reached the HTTPS listener",
                       bool(hits) and hits[0].get("tls"), str(hits))
    _, spec = tier.inject(annotations={"sigv4-injector.io/upstream-scheme": "https"})
    with tier.running(spec) as pod:
        p = path("https-noca")
        code, status, body = pod.app(f"http://{LATTICE_NAME}{p}")
        tier.check("upstream https without the CA: certificate refused, nothing signed arrives",
                   status == 502 and not [r for r in tier.records(p) if r.get("verified")],
                   f"HTTP {status} {body[:200]!r} {tier.records(p)}")


def port_collision(tier):
    """An app declaring the proxy's port keeps it: the proxy moves, consistently (4a)."""
    done, spec = tier.inject(ports=[PROXY_PORT])
    proxy = next(c for c in spec["containers"] if c["name"] == "sigv4proxy")
    moved = proxy["ports"][0]["containerPort"]
    script = next(c for c in spec["initContainers"] if c["name"] == "iptables-init")["command"][2]
    tier.check("port collision: the proxy moves to a free port, used everywhere, with a warning",
               moved != PROXY_PORT and f":{moved}" in proxy["args"] and
               f"PROXY_PORT={moved}" in script and str(moved) in done.stderr,
               f"port {moved}, args {proxy['args']}, stderr {done.stderr}")
    with tier.running(spec) as pod:
        app = pod.ns.popen([sys.executable, "-m", "http.server", str(PROXY_PORT), "--bind",
                            "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            pod.wait_listening(PROXY_PORT)
            if init_ok(tier, pod, "port collision"):
                expect_signed(tier, pod, "port collision: the moved proxy signs the app's call",
                              f"http://{LATTICE_NAME}", path("moved"), "pod-identity")
                code, status, _ = pod.app(f"http://127.0.0.1:{PROXY_PORT}/")
                tier.check("port collision: the app's own server still answers on its port",
                           status == 200, f"curl {code}, HTTP {status}")
        finally:
            app.kill()
            app.wait()
    done, _ = tier.inject(ports=[PROXY_PORT],
                          annotations={"sigv4-injector.io/proxy-port": str(PROXY_PORT)})
    tier.check("port collision: an explicit proxy-port the app declares is denied, named (4a)",
               done.returncode == 1 and "sigv4-injector.io/proxy-port" in done.stderr,
               f"exit {done.returncode}: {done.stderr.strip()}")


def backends(tier):
    """iptablesMode legacy and nft put the rules where they say; auto joins the backend that
    already holds rules."""
    for mode in ("legacy", "nft"):
        _, spec = tier.inject(config=f"iptablesMode: {mode}\n")
        with tier.running(spec) as pod:
            if not init_ok(tier, pod, f"forced {mode}"):
                continue
            other = "nft" if mode == "legacy" else "legacy"
            tier.check(f"forced {mode}: rules in {mode}, none in {other}",
                       "EGRESS_PROXY" in pod.iptables_rules(f"iptables-{mode}") and
                       "EGRESS_PROXY" not in pod.iptables_rules(f"iptables-{other}"),
                       pod.iptables_rules(f"iptables-{mode}"))
            expect_signed(tier, pod, f"forced {mode}: signed and accepted",
                          f"http://{LATTICE_NAME}", path(mode), "pod-identity")
    _, spec = tier.inject()
    with tier.running(spec, init=False, proxy=False) as pod:
        pod.ns.run("iptables-legacy", "-t", "nat", "-N", "NODE_RULES")
        pod.ns.run("iptables-legacy", "-t", "nat", "-A", "OUTPUT", "-j", "NODE_RULES")
        pod.init_result = pod.run_init()
        pod.start_proxy()
        if init_ok(tier, pod, "auto with legacy rules"):
            tier.check("auto: joins legacy, which already holds rules",
                       "EGRESS_PROXY" in pod.iptables_rules("iptables-legacy") and
                       "EGRESS_PROXY" not in pod.iptables_rules("iptables-nft"),
                       pod.iptables_rules("iptables-legacy"))
            expect_signed(tier, pod, "auto with legacy rules: signed and accepted",
                          f"http://{LATTICE_NAME}", path("auto-legacy"), "pod-identity")


def port_overrides(tier):
    """exclude-ports, include-ports and cidrs annotations change what is captured."""
    url = f"http://{LATTICE_NAME}"
    _, spec = tier.inject(annotations={"sigv4-injector.io/exclude-ports": "443,8081"})
    with tier.running(spec) as pod:
        if init_ok(tier, pod, "exclude-ports"):
            expect_unsigned(tier, pod, "exclude-ports 8081: port 8081 is not captured",
                            url + ":8081", path("excl"))
            expect_signed(tier, pod, "exclude-ports 8081: port 80 still is", url, path("excl80"),
                          "pod-identity")
    _, spec = tier.inject(annotations={"sigv4-injector.io/include-ports": "8082"})
    with tier.running(spec) as pod:
        if init_ok(tier, pod, "include-ports"):
            expect_signed(tier, pod, "include-ports 8082: port 8082 is captured", url + ":8082",
                          path("incl"), "pod-identity")
            expect_unsigned(tier, pod, "include-ports 8082: port 80 is not", url, path("incl80"))
    _, spec = tier.inject(annotations={"sigv4-injector.io/cidrs": "169.254.190.0/24"})
    with tier.running(spec) as pod:
        if init_ok(tier, pod, "cidrs"):
            expect_signed(tier, pod, "cidrs 169.254.190.0/24: that range is captured",
                          f"http://{CUSTOM_NAME}", path("cidr"), "pod-identity")
            expect_unsigned(tier, pod, "cidrs 169.254.190.0/24: the Lattice range no longer is",
                            url, path("cidr-lattice"))


def native(tier):
    """Native mode: the node (the kubelet's startup probe) reaches the proxy port, peers do
    not."""
    _, spec = tier.inject(config="sidecarMode: native\n")
    with tier.running(spec) as pod:
        if not init_ok(tier, pod, "native"):
            return
        port = pod.proxy_port()
        probe = tcp_connect(tier.network.aws, NODE_V4, pod.address, port, dev="br0")
        tier.check("native: the node's startup probe reaches the proxy port", probe == "connected",
                   probe)
        peer, peer_v4, _ = tier.peer()
        try:
            refused = tcp_connect(peer, peer_v4, pod.address, port)
            tier.check("native: a peer is still refused (4a)", refused == "refused", refused)
        finally:
            peer.close()
        expect_signed(tier, pod, "native: signed and accepted", f"http://{LATTICE_NAME}",
                      path("native"), "pod-identity")


def workshop(tier):
    """Contrast: the workshop's hand-injected containers (tests/reference), run the same way,
    show each defect §4a's defaults remove — so each 4a check above is known to fail on them."""
    done = tier.convert(tier.reference("workshop-app1-injected-by-hand.yaml"))
    spec = next(d for d in done["items"] if d["kind"] == "Deployment")["spec"]["template"]["spec"]
    with tier.running(spec) as pod:
        if not init_ok(tier, pod, "workshop (contrast)"):
            return
        port = pod.proxy_port()
        p = path("ws-relay")
        peer, _, _ = tier.peer()
        try:
            code, status, _ = _peer_curl(peer, f"http://{pod.address}:{port}{p}", LATTICE_NAME)
        finally:
            peer.close()
        hits = [r for r in tier.records(p) if r.get("verified")]
        tier.check("workshop (contrast): a peer gets its call signed through the pod's proxy",
                   status == "200" and len(hits) == 1, f"curl {code}, HTTP {status}, {hits}")
        tier.check("workshop (contrast): without Pod Identity it signs as the node (IMDS)",
                   bool(hits) and hits[0].get("principal") == "node", str(hits))
        tier.check("workshop (contrast): its log holds the session token",
                   tier.keys["node"]["token"] in pod.log(), pod.log()[-500:])
        p = path("ws-tls")
        code, status, body = pod.app(f"https://{LATTICE_NAME}{p}", extra=["--cacert", tier.ca[0]])
        tier.check("workshop (contrast): https:// to Lattice is captured and breaks",
                   code != 0 and not [r for r in tier.records(p) if r.get("status")],
                   f"curl {code}, HTTP {status}, {body[:200]!r}")


SCENARIOS = [
    ("workshop", workshop),
    ("default", default_pod),
    ("without-rules", without_rules),
    ("no-identity", no_identity),
    ("node-credentials", node_credentials),
    ("debug-logging", debug_logging),
    ("irsa", irsa),
    ("upstream-https", upstream_https),
    ("port-collision", port_collision),
    ("backends", backends),
    ("port-overrides", port_overrides),
    ("native", native),
]
