"""Network namespaces for the data-plane tier, made and torn down by the tier itself.

The tier runs inside private mount and pid namespaces (dataplane.py re-executes itself under
`unshare --mount --pid --fork --kill-child`): every namespace here is held by a process of that
pid namespace, so when the tier ends — success, failure, SIGINT, SIGTERM or SIGKILL — its pid 1
dies, the kernel kills the rest, and the network namespaces, veths and bridge go with them. No
`ip netns add` (which writes /run/netns), nothing in the host's network namespace, no host sysctl.

Topology, link-local IPv4 and a unique-local IPv6 prefix, no default route anywhere (nothing can
leave):

    pod ns "p<i>"  vp ----+
    peer ns "peer" vp ----+---- br0 (169.254.100.1, fd9c:5e4a:17::1) in the "aws" ns
                                 lo: the Lattice service and the AWS stand-ins' addresses

A pod has routes only to the Lattice ranges and the stand-ins' addresses, via br0.
"""

import os
import signal
import subprocess
import time

BRIDGE_V4 = "169.254.100.1"
BRIDGE_V6 = "fe80::1"
# The pod network's IPv6 prefix: a unique local one (nothing routes it anywhere), because a pod
# with only a link-local address cannot have its IPv6 calls redirected to ::1: the replies of
# the redirected connection would need the link's scope. Real IPv6 pods have global addresses.
POD_NET_V6 = "fd9c:5e4a:17::"
NODE_V4 = BRIDGE_V4  # the "node": its address is the bridge's, as on a kubelet with bridge CNI


class Namespace:
    """A network namespace held by a `sleep` process; `run` executes commands inside it."""

    def __init__(self, name):
        self.name = name
        self.holder = subprocess.Popen(["unshare", "--net", "sleep", "1000000"])
        self.path = f"/proc/{self.holder.pid}/ns/net"
        # The holder has unshared once its namespace differs from ours.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                if os.readlink(self.path) != os.readlink("/proc/self/ns/net"):
                    break
            except FileNotFoundError:
                pass
            time.sleep(0.01)
        else:
            raise RuntimeError(f"namespace {name}: unshare --net did not start")
        self.run("ip", "link", "set", "lo", "up")

    def prefix(self):
        return ["nsenter", f"--net={self.path}", "--"]

    def run(self, *cmd, check=True, timeout=30, env=None, stdin=None):
        """Runs cmd in the namespace; returns the CompletedProcess (text)."""
        done = subprocess.run(self.prefix() + list(cmd), capture_output=True, text=True,
                              timeout=timeout, env=env, input=stdin)
        if check and done.returncode != 0:
            raise RuntimeError(f"[{self.name}] {' '.join(cmd)}: exit {done.returncode}: "
                               f"{done.stderr.strip() or done.stdout.strip()}")
        return done

    def popen(self, cmd, **kwargs):
        return subprocess.Popen(self.prefix() + list(cmd), **kwargs)

    def close(self):
        if self.holder.poll() is None:
            self.holder.send_signal(signal.SIGKILL)
            self.holder.wait()


class Network:
    """The "aws" namespace with its bridge, and the pods and peers attached to it."""

    def __init__(self, run_id, aws_addresses):
        self.run_id = run_id
        self.aws = Namespace(f"aws-{run_id}")
        self.namespaces = [self.aws]
        self.next_host = 10
        a = self.aws
        a.run("ip", "link", "add", "br0", "type", "bridge")
        a.run("ip", "link", "set", "br0", "up")
        a.run("ip", "addr", "add", f"{BRIDGE_V4}/24", "dev", "br0")
        a.run("ip", "addr", "add", f"{BRIDGE_V6}/64", "dev", "br0", "nodad")
        a.run("ip", "addr", "add", f"{POD_NET_V6}1/64", "dev", "br0", "nodad")
        for address in aws_addresses:
            six = ":" in address
            a.run("ip", "addr", "add", f"{address}/{128 if six else 32}", "dev", "lo")

    def attach(self, name, routes_v4, routes_v6):
        """A new namespace on the bridge with routes to `routes_v4`/`routes_v6` (CIDRs) only.
        Returns (namespace, ipv4 address, ipv6 address)."""
        host = self.next_host
        self.next_host += 1
        ns = Namespace(f"{name}-{self.run_id}")
        self.namespaces.append(ns)
        veth = f"va{host}"
        self.aws.run("ip", "link", "add", veth, "type", "veth", "peer", "name", "vp", "netns",
                     str(ns.holder.pid))
        self.aws.run("ip", "link", "set", veth, "master", "br0", "up")
        v4 = f"169.254.100.{host}"
        v6 = f"{POD_NET_V6}{host:x}"
        ns.run("ip", "link", "set", "vp", "up")
        ns.run("ip", "addr", "add", f"{v4}/24", "dev", "vp")
        ns.run("ip", "addr", "add", f"{v6}/64", "dev", "vp", "nodad")
        for cidr in routes_v4:
            ns.run("ip", "route", "add", cidr, "via", BRIDGE_V4)
        for cidr in routes_v6:
            ns.run("ip", "-6", "route", "add", cidr, "via", BRIDGE_V6, "dev", "vp")
        return ns, v4, v6

    def close(self):
        for ns in reversed(self.namespaces):
            ns.close()
