"""The AWS stand-ins on the node (tests/dataplane/standins.py): the Lattice service verifying
SigV4 and refusing what Lattice refuses, and the EKS Pod Identity agent. They listen on the
node's `lo` at the link-local addresses pods reach through their default route, so the pod's
call really crosses the pod network. The Pod Identity stand-in accepts one pod's projected token
(as the real agent accepts only tokens of pods with an association), so it is restarted with the
token of the pod under test."""
import json
import os
import secrets
import subprocess
import sys

import cluster

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
POD_IDENTITY = "169.254.170.23"
LATTICE = "169.254.171.17"
TOKEN_DIR = "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount"

# What the EKS Pod Identity webhook adds to a container: inserted into manifests after the env
# entry they already have (the workshop's `value: "Hello from app1-v1"`), at 8 spaces.
POD_IDENTITY_ENV = f"""        - name: AWS_CONTAINER_CREDENTIALS_FULL_URI
          value: http://{POD_IDENTITY}/v1/credentials
        - name: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
          value: {TOKEN_DIR}/eks-pod-identity-token
        volumeMounts:
        - name: eks-pod-identity-token
          mountPath: {TOKEN_DIR}
          readOnly: true
      volumes:
      - name: eks-pod-identity-token
        projected:
          sources:
          - serviceAccountToken:
              audience: pods.eks.amazonaws.com
              expirationSeconds: 86400
              path: eks-pod-identity-token
"""


class StandIns:
    def __init__(self, w):
        self.w = w
        self.proc = None
        self.records_path = f"{w}/records.jsonl"
        self.seen = 0
        for ip in (POD_IDENTITY, LATTICE):
            subprocess.run(["ip", "addr", "add", f"{ip}/32", "dev", "lo"], check=True)

    def serve(self, token):
        """(Re)starts the stand-ins; the Pod Identity agent accepts exactly `token`."""
        self.stop()
        akid = "ASIA" + secrets.token_hex(8).upper()
        cfg = {"records": self.records_path, "region": "us-west-2", "service": "vpc-lattice-svcs",
               "keys": {akid: {"secret": secrets.token_urlsafe(30), "token": "IQoJ" + secrets.token_urlsafe(60),
                               "principal": "pod-identity"}},
               "lattice": {"http": [[LATTICE, 80]]},
               "pod_identity": {"listen": [[POD_IDENTITY, 80]], "token": token, "access_key_id": akid}}
        with open(f"{self.w}/standins.json", "w") as f:
            json.dump(cfg, f)
        self.proc = cluster.Proc("standins", [sys.executable, os.path.join(ROOT, "tests/dataplane/standins.py"),
                                              "--config", f"{self.w}/standins.json"], self.w)
        cluster.wait_until("stand-ins ready", lambda: "standins: ready" in open(self.proc.log_path).read(),
                           15, self.proc, 0.1)

    def stop(self):
        if self.proc:
            self.proc.stop(5)
            self.proc = None

    def new_records(self):
        """The records written since the last call."""
        try:
            with open(self.records_path) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return []
        new, self.seen = lines[self.seen:], len(lines)
        return [json.loads(line) for line in new]


def describe(rec):
    return (f"{rec['service']} {rec.get('method')} {rec.get('path')} -> {rec.get('status')} "
            f"signed={rec.get('signed')} verified={rec.get('verified')} principal={rec.get('principal')} "
            f"peer={rec.get('peer')}")
