"""The world of the data-plane tier: names, addresses and credentials shared by the runner
(dataplane.py) and the scenarios (scenarios.py), and small helpers both use."""

import hashlib
import json
import secrets
import sys

REGION = "us-west-2"
# Lattice service names as VPC Lattice generates them, and the stand-ins' addresses.
LATTICE_NAME = "app2-0123456789abcdef0.7d67968.vpc-lattice-svcs.us-west-2.on.aws"
LATTICE_V6_NAME = "app3-0123456789abcdef1.7d67968.vpc-lattice-svcs.us-west-2.on.aws"
CUSTOM_NAME = "app4-0123456789abcdef2.7d67968.vpc-lattice-svcs.us-west-2.on.aws"
LATTICE_V4 = "169.254.171.17"
LATTICE_V6 = "fd00:ec2:80::17"
CUSTOM_V4 = "169.254.190.17"  # outside the Lattice range: reached through a cidrs override
POD_IDENTITY = "169.254.170.23"
IMDS = "169.254.169.254"
STS = "169.254.172.10"
STS_NAMES = [f"sts.{REGION}.amazonaws.com", "sts.amazonaws.com"]
ROLE_ARN = "arn:aws:iam::111122223333:role/app1"
# The pod's only routes: the Lattice ranges and the stand-ins.
POD_ROUTES_V4 = ["169.254.171.0/24", "169.254.190.0/24", f"{POD_IDENTITY}/32", f"{IMDS}/32",
                 f"{STS}/32"]
POD_ROUTES_V6 = ["fd00:ec2:80::/64"]
TOOLS = ["unshare", "nsenter", "setpriv", "ip", "ss", "curl", "openssl", "iptables-legacy",
         "iptables-nft", "ip6tables-legacy", "ip6tables-nft", "iptables-legacy-save",
         "iptables-nft-save", "ip6tables-legacy-save", "ip6tables-nft-save"]


def key(principal):
    """Fresh temporary credentials for `principal`, as an AWS credential endpoint hands out."""
    return {"id": "ASIA" + secrets.token_hex(8).upper(), "secret": secrets.token_urlsafe(30),
            "token": "IQoJb3JpZ2luX2VjE" + secrets.token_urlsafe(60), "principal": principal}


TCP_CONNECT = """
import socket, sys
source, host, port, dev = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
if host.startswith("fe80:"):  # link-local: the scope is the interface
    scope = socket.if_nametoindex(dev)
    s = socket.socket(socket.AF_INET6)
    s.bind((source, 0, 0, scope))
    target = (host, port, 0, scope)
elif ":" in host:
    s = socket.socket(socket.AF_INET6)
    s.bind((source, 0))
    target = (host, port)
else:
    s = socket.socket(socket.AF_INET)
    s.bind((source, 0))
    target = (host, port)
s.settimeout(5)
try:
    s.connect(target)
    print("connected")
except ConnectionRefusedError:
    print("refused")
except OSError as e:
    print(type(e).__name__, e)
"""


def tcp_connect(ns, source, host, port, dev="vp"):
    """From `ns`, bound to `source` on `dev`, opens a TCP connection to host:port (as a kubelet
    tcpSocket probe does): "connected", "refused", or what else happened."""
    return ns.run(sys.executable, "-c", TCP_CONNECT, source, host, str(port), dev,
                  check=False).stdout.strip()


def body_json(body):
    try:
        return json.loads(body)
    except ValueError:
        return {}


def sha256(data):
    return hashlib.sha256(data.encode()).hexdigest()


