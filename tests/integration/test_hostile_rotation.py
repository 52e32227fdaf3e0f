"""A bad certificate rotation must not take the webhook out (issue 16, item 7). Every replica
reads the same Secret: when a broken certificate flipped /readyz to 503, the Service lost every
endpoint at once and pod creation failed in every opted-in namespace, although the previous
certificate was still valid and still serving.

Rotations as the kubelet does them (the `current` symlink swapped to a new directory):
- a garbage certificate, then an expired one: each reload fails, is counted and logged once,
  /readyz stays 200, and a verifying client is answered with the previous certificate;
- a certificate that expires while it is served: /readyz turns 503 (nothing valid is left),
  one log line, the ready gauge 0; a broken rotation then keeps it 503, a good one brings 200;
- an expired certificate at start: serve exits 1 naming the problem.

Certificates come from a throw-away CA made with `openssl ca`, whose -startdate/-enddate set
validity to the second (OpenSSL 3.0's `req -x509` has only -days)."""

import hashlib
import http.client
import os
import shutil
import ssl
import subprocess
import time

import server_harness as h

FAILED = r"certificate reload failed"
SHORT_LIFE = 6  # seconds a short-lived certificate is valid for after it is made


class Pki:
    """A CA in `directory` issuing P-256 serving certificates for 127.0.0.1 with chosen dates."""

    def __init__(self, directory):
        self.dir = directory
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(os.path.join(directory, "issued"))
        open(os.path.join(directory, "index.txt"), "w").close()
        with open(os.path.join(directory, "serial"), "w") as f:
            f.write("1000\n")
        self.cnf = os.path.join(directory, "ca.cnf")
        with open(self.cnf, "w") as f:
            f.write(f"[ca]\ndefault_ca = test\n[test]\ndatabase = {directory}/index.txt\n"
                    f"new_certs_dir = {directory}/issued\nserial = {directory}/serial\n"
                    "default_md = sha256\n"
                    "policy = any\nunique_subject = no\n[any]\ncommonName = supplied\n")
        self.ext = os.path.join(directory, "leaf.ext")
        with open(self.ext, "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n")
        self.crt, self.key = os.path.join(directory, "ca.crt"), os.path.join(directory, "ca.key")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", self.key, "-out", self.crt, "-days", "2",
                "-subj", "/CN=sigv4-injector rotation test CA",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def issue(self, name, not_before, not_after):
        """Writes name/tls.crt and name/tls.key valid between two Unix times; returns the dir."""
        out = os.path.join(self.dir, name)
        os.makedirs(out, exist_ok=True)
        key, csr, crt = (os.path.join(out, n) for n in ("tls.key", "tls.csr", "tls.crt"))
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
        openssl("ca", "-batch", "-notext", "-config", self.cnf, "-cert", self.crt,
                "-keyfile", self.key, "-in", csr, "-out", crt, "-extfile", self.ext,
                "-startdate", asn1_time(not_before), "-enddate", asn1_time(not_after))
        os.remove(csr)
        return out


def openssl(*args):
    run = subprocess.run(["openssl", *args], capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args[:2])} failed:\n{run.stdout}{run.stderr}")


def asn1_time(unix):
    return time.strftime("%Y%m%d%H%M%SZ", time.gmtime(unix))


def served_fingerprint(server):
    """Posts a review on a new verifying TLS connection; returns (status, sha256 of the cert)."""
    conn = server.connect()
    try:
        conn.connect()
        der = conn.sock.getpeercert(binary_form=True)
        status, _, _ = server.post_review(h.review(h.pod()), conn=conn)
        return status, hashlib.sha256(der).hexdigest()
    finally:
        conn.close()


def readyz(server):
    """GET /readyz as the kubelet probes it: over TLS without verifying the certificate (an
    expired one still answers). Returns the status, 0 when there is no answer."""
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=30,
                                       context=ssl._create_unverified_context())
    try:
        conn.request("GET", "/readyz")
        return conn.getresponse().status
    except (OSError, http.client.HTTPException):
        return 0
    finally:
        conn.close()


def count_lines(server, pattern, start):
    with server.cond:
        return sum(1 for line in server.lines[start:] if line is not None and pattern in line)


def settle(server, config, rounds=2):
    """Waits for `rounds` further complete polls of the reloader, each seen by a config edit
    being reloaded: whatever a poll would log about the certificate is logged by then."""
    for n in range(rounds):
        start = server.log_count()
        with open(config + ".new", "w") as f:
            f.write(f"region: us-west-2\n# settle {time.monotonic_ns()} {n}\n")
        os.replace(config + ".new", config)
        server.wait_log(r"config reloaded", start=start)


CERT = "sigv4_injector_cert_reloads_total"


def check_bad_rotation(server, certs, config, pki, good):
    """Broken and expired rotations keep the good certificate serving and the replica ready."""
    serving = h.der_fingerprint(os.path.join(good, "tls.crt"))
    now = time.time()
    broken = os.path.join(certs, "broken")
    os.makedirs(broken)
    shutil.copy(os.path.join(good, "tls.key"), broken)
    with open(os.path.join(broken, "tls.crt"), "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n")
    expired = pki.issue("expired", now - 2 * 86400, now - 86400)
    for what, target, error in (("garbage", broken, "no PEM certificate"),
                                ("expired", expired, "has expired")):
        before = server.metrics()
        start = server.log_count()
        h.swap_symlink(os.path.join(certs, "current"), target)
        line = server.wait_log(FAILED, start=start).string
        h.check(error in line, f"{what} rotation: the failure is logged with its cause: {line}")
        h.check(readyz(server) == 200, f"{what} rotation: /readyz stays 200")
        settle(server, config)
        h.check(readyz(server) == 200, f"{what} rotation: still 200 polls later")
        h.check(count_lines(server, FAILED, start) == 1, f"{what} rotation: one log line")
        after = server.metrics()
        h.check(after[CERT + '{result="failure"}'] == before[CERT + '{result="failure"}'] + 1,
                f"{what} rotation: {CERT}{{result=failure}} +1")
        h.check(after[CERT + '{result="success"}'] == before[CERT + '{result="success"}'],
                f"{what} rotation: no success counted")
        for gauge in ("sigv4_injector_cert_last_reload_success_timestamp_seconds",
                      "sigv4_injector_cert_expiration_timestamp_seconds"):
            h.check(after[gauge] == before[gauge] > 0, f"{what} rotation: {gauge} unchanged")
        h.check(after["sigv4_injector_ready"] == 1, f"{what} rotation: ready gauge 1")
        h.check(served_fingerprint(server) == (200, serving),
                f"{what} rotation: a verifying client is answered with the previous certificate")


def check_expiry(server, certs, config, pki):
    """A served certificate that runs out makes the replica unready until a good one arrives."""
    start = server.log_count()
    not_after = int(time.time()) + SHORT_LIFE
    short = pki.issue("short", not_after - 3600, not_after)
    h.swap_symlink(os.path.join(certs, "current"), short)
    line = server.wait_log(r"certificate reload", start=start).string
    h.check(FAILED not in line, f"the short-lived certificate loads before it expires: {line}")
    h.check(server.metrics()["sigv4_injector_cert_expiration_timestamp_seconds"] == not_after,
            "the expiration gauge is the served certificate's notAfter")
    h.wait_until(lambda: readyz(server) == 503, h.RELOAD_TIMEOUT,
                 "/readyz -> 503 once the served certificate has expired")
    h.check(server.metrics()["sigv4_injector_ready"] == 0, "ready gauge 0")
    settle(server, config)
    h.check(count_lines(server, "serving certificate has expired", start) == 1,
            "one log line for the expiry")

    start = server.log_count()
    h.swap_symlink(os.path.join(certs, "current"), os.path.join(certs, "broken"))
    line = server.wait_log(FAILED, start=start).string
    h.check("previous one has expired" in line, f"a broken rotation then says so: {line}")
    h.check(readyz(server) == 503, "still 503: nothing valid to serve")

    now = time.time()
    h.swap_symlink(os.path.join(certs, "current"), pki.issue("renewed", now - 60, now + 86400))
    h.wait_until(lambda: readyz(server) == 200, h.RELOAD_TIMEOUT,
                 "/readyz -> 200 once a valid certificate is loaded")
    renewed = h.der_fingerprint(os.path.join(certs, "renewed", "tls.crt"))
    h.check(served_fingerprint(server) == (200, renewed), "the renewed certificate serves")


def check_expired_at_start(certs, config):
    expired = os.path.join(certs, "expired")
    server = h.Server(["--tls-cert-file", expired + "/tls.crt", "--tls-key-file",
                       expired + "/tls.key", "--config", config])
    code = server.proc.wait(timeout=60)
    server.reader.join(timeout=10)
    h.check(code == 1 and "has expired" in server.log_text(),
            f"an expired certificate at start: exit {code}, the error says it has expired")


def main():
    certs = os.path.join(h.TMP, "rotation")
    pki = Pki(certs)
    now = time.time()
    good = pki.issue("good", now - 60, now + 86400)
    os.symlink(good, os.path.join(certs, "current"))
    config, server = h.reloading_server(os.path.join(certs, "current"), pki.crt)
    try:
        check_bad_rotation(server, certs, config, pki, good)
        check_expiry(server, certs, config, pki)
        h.check(server.terminate() == 0, "SIGTERM -> exit 0")
    finally:
        server.kill()
    check_expired_at_start(certs, config)


h.run("test_hostile_rotation", main)
