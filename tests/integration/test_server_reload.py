"""Reloads without restart: the serving certificate rotates while a client loops (no failed
request, the new certificate is served), a broken certificate keeps the old one serving and
the replica ready (test_hostile_rotation.py says why), and the config file reloads (a bad one is
refused and the old one kept)."""

import hashlib
import json
import os
import shutil
import threading

import server_harness as h


class Looper:
    """Posts reviews on fresh TLS connections (one handshake each) until stopped, recording the
    certificate fingerprint of each answer and any failure."""

    def __init__(self, server, cafile):
        self.server = server
        self.cafile = cafile
        self.fingerprints = []
        self.failures = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        body = json.dumps(h.review(h.pod()))
        while not self.stop.is_set():
            conn = self.server.connect()
            try:
                conn.connect()
                der = conn.sock.getpeercert(binary_form=True)
                status, _, _ = self.server.post_review(body, conn=conn)
                with self.lock:
                    self.fingerprints.append(hashlib.sha256(der).hexdigest())
                    if status != 200:
                        self.failures.append(f"HTTP {status}")
            except Exception as error:  # noqa: BLE001 - every failure counts
                with self.lock:
                    self.failures.append(repr(error))
            finally:
                conn.close()

    def seen(self, fingerprint):
        with self.lock:
            return self.fingerprints.count(fingerprint)

    def last(self):
        with self.lock:
            return self.fingerprints[-1] if self.fingerprints else None

    def finish(self):
        self.stop.set()
        self.thread.join(timeout=60)
        return self.failures


def check_rotation(server, certs_dir, looper, old, new_dir):
    new = h.der_fingerprint(os.path.join(new_dir, "tls.crt"))
    h.wait_until(lambda: looper.seen(old) >= 5, h.RELOAD_TIMEOUT, "client loop served the first cert")
    h.swap_symlink(os.path.join(certs_dir, "current"), new_dir)
    h.wait_until(lambda: looper.seen(new) >= 5, h.RELOAD_TIMEOUT,
                 "new certificate served after rotation")
    h.check(looper.last() == new, "the latest handshake serves the new certificate")
    h.check(server.get("/readyz")[0] == 200, "ready after a good rotation")
    return new


def check_broken_cert(server, certs_dir, looper, serving):
    start = server.log_count()
    with open(os.path.join(certs_dir, "current", "tls.crt"), "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n")
    server.wait_log(r"certificate reload failed", start=start)
    h.check(server.get("/readyz")[0] == 200,
            "/readyz stays 200 with a broken certificate: the previous one is valid")
    count = looper.seen(serving)
    h.wait_until(lambda: looper.seen(serving) >= count + 5, h.RELOAD_TIMEOUT,
                 "the previous certificate keeps serving")
    metrics = server.metrics()
    h.check(metrics['sigv4_injector_cert_reloads_total{result="failure"}'] >= 1,
            "cert_reloads_total{result=failure} counted")


def check_cert_reload(server, certs_dir, cafile):
    looper = Looper(server, cafile)
    try:
        first = h.der_fingerprint(os.path.join(certs_dir, "v1", "tls.crt"))
        serving = check_rotation(server, certs_dir, looper, first, os.path.join(certs_dir, "v2"))
        check_broken_cert(server, certs_dir, looper, serving)
        restored = check_rotation(server, certs_dir, looper, serving,
                                  os.path.join(certs_dir, "v3"))
        h.check(server.get("/readyz")[0] == 200, "ready once a good certificate is back")
        h.check(restored != serving, "third certificate served")
    finally:
        failures = looper.finish()
    h.check(not failures, f"no failed request during rotations ({len(looper.fingerprints)} "
            f"requests, failures: {failures[:3]})")


def region_of(server):
    _, _, data = server.post_review(h.review(h.pod(), uid="region"))
    patch = h.decode_patch(json.loads(data)) or []
    text = json.dumps(patch)
    for region in ("us-west-2", "eu-west-1"):
        if f'"--region", "{region}"' in text or f'"AWS_REGION", "value": "{region}"' in text:
            return region
    return None


def replace_file(path, text):
    """Writes `path` atomically, as Kubernetes updates a ConfigMap volume: written in place
    (truncate, then write), a reload every 0.1 s can read the empty file in between, which is a
    valid config of its own and counts a second reload."""
    with open(path + ".new", "w") as f:
        f.write(text)
    os.replace(path + ".new", path)


def check_config_reload(server, config):
    h.check(region_of(server) == "us-west-2", "initial config: region us-west-2 in the patch")
    before = server.metrics()
    replace_file(config, "region: eu-west-1\n")
    h.wait_until(lambda: region_of(server) == "eu-west-1", h.RELOAD_TIMEOUT,
                 "edited config reloaded: region eu-west-1")
    success = 'sigv4_injector_config_reloads_total{result="success"}'
    failure = 'sigv4_injector_config_reloads_total{result="failure"}'
    h.check(server.metrics()[success] == before[success] + 1, "config_reloads{success} +1")
    start = server.log_count()
    replace_file(config, "region: eu-west-1\nproxy:\n  port: not-a-port\n")
    line = server.wait_log(r".*config reload failed.*", start=start).group(0)
    h.check("proxy.port" in line, f"the failure names the key: {line}")
    h.check(server.metrics()[failure] == before[failure] + 1, "config_reloads{failure} +1")
    h.check(region_of(server) == "eu-west-1", "the previous config keeps serving")
    h.check(server.get("/readyz")[0] == 200, "still ready with the previous config")


def check_bad_config_at_start(certs):
    bad = os.path.join(h.TMP, "bad-config.yaml")
    with open(bad, "w") as f:
        f.write("regoin: us-west-2\n")
    server = h.Server(["--tls-cert-file", certs + "/tls.crt", "--tls-key-file",
                       certs + "/tls.key", "--config", bad])
    code = server.proc.wait(timeout=60)
    server.reader.join(timeout=10)
    h.check(code != 0 and "regoin" in server.log_text(),
            f"invalid config at start: exit {code}, error names the key")


def main():
    certs_dir = os.path.join(h.TMP, "rotating")
    shutil.rmtree(certs_dir, ignore_errors=True)
    for version in ("v1", "v2", "v3"):
        h.make_certs(os.path.join(certs_dir, version))
    cafile = os.path.join(certs_dir, "cas.pem")
    with open(cafile, "w") as out:
        for version in ("v1", "v2", "v3"):
            with open(os.path.join(certs_dir, version, "ca.crt")) as f:
                out.write(f.read())
    os.symlink(os.path.join(certs_dir, "v1"), os.path.join(certs_dir, "current"))
    config, server = h.reloading_server(os.path.join(certs_dir, "current"), cafile)
    try:
        check_cert_reload(server, certs_dir, cafile)
        check_config_reload(server, config)
        h.check(server.terminate() == 0, "SIGTERM -> exit 0")
    finally:
        server.kill()
    check_bad_config_at_start(os.path.join(certs_dir, "v1"))


h.run("test_server_reload", main)
