"""`make demo`'s data-path part: the pod the apiserver stored, run for real.

dataplane.py --demo-pod FILE runs this on a stored Pod (JSON) inside the tier's namespaces: the
app's call without the injected containers (Lattice's 403), then with the pod's own iptables-init
script and sigv4proxy sidecar (signed and accepted), printing what each step did.
"""

from world import LATTICE_NAME

CREDENTIALS_URI = "http://169.254.170.23/v1/credentials"


def show(text=""):
    print(text, flush=True)


def lattice_saw(tier, p):
    hits = tier.records(p)
    if not hits:
        return "nothing"
    r = hits[-1]
    auth = next((v for k, v in r.get("headers") or [] if k.lower() == "authorization"), None)
    who = f"verified, signed by {r['principal']}" if r.get("verified") else "not signed"
    return (f"{r['method']} {r['path']} from {r['peer']}, {who}; answered {r['status']}" +
            (f"\n      Authorization: {auth[:110]}..." if auth else ""))


def demo_pod(tier, pod_json):
    spec = pod_json["spec"]
    name = pod_json["metadata"].get("name", "?")
    url = f"http://{LATTICE_NAME}/products"
    show(f"\n== the stored pod {name}, run for real: its own iptables-init script and sigv4proxy "
         "(the real aws-sigv4-proxy 1.11.1), in network namespaces, against a Lattice stand-in "
         "that verifies SigV4")
    with tier.running(spec, init=False, proxy=False) as pod:
        code, status, body = pod.app(url)
        show(f"-- without the injected containers: the app's curl {url}")
        show(f"   HTTP {status}: {body.strip()[:200]}")
        show(f"   Lattice saw: {lattice_saw(tier, '/products')}")
    token = tier.workdir / "eks-pod-identity-token"
    token.write_text(tier.pod_identity_token)
    token.chmod(0o644)
    with tier.running(spec, proxy=False) as pod:
        show("-- iptables-init (as root with NET_ADMIN and NET_RAW only), its output:")
        show("   " + (pod.init_result.stdout + pod.init_result.stderr).strip().replace("\n", "\n   "))
        show("-- the rules it left in the pod's network namespace:")
        for binary in ("iptables-nft", "iptables-legacy"):
            rules = pod.iptables_rules(binary)
            if "EGRESS_PROXY" in rules:
                show("   " + rules.replace("\n", "\n   "))
        show("-- sigv4proxy as UID 101, no capabilities, its injected args and env, plus the Pod "
             "Identity env the EKS Pod Identity webhook gives a pod with an association")
        pod.start_proxy({"AWS_CONTAINER_CREDENTIALS_FULL_URI": CREDENTIALS_URI,
                         "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(token)})
        code, status, body = pod.app(url)
        show(f"-- the same unsigned call from the app (UID 1000): curl {url}")
        show(f"   HTTP {status}: {body.strip()[:300]}")
        show(f"   Lattice saw: {lattice_saw(tier, '/products')}")
        return 0 if status == 200 else 1
