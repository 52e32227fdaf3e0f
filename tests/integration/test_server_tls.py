"""TLS of `serve` and the `certs` subcommand: TLS 1.2 with forward-secret AEAD suites and TLS 1.3
accepted, older versions refused, the service DNS names and IP SANs verify, --self-signed serves,
and usage errors exit 2."""

import json
import os
import socket
import ssl
import subprocess
import warnings

import server_harness as h


def handshake(port, context, hostname="127.0.0.1"):
    """Returns (version, cipher name) of a completed handshake, or the error."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
            with context.wrap_socket(raw, server_hostname=hostname) as conn:
                return conn.version(), conn.cipher()[0]
    except (ssl.SSLError, OSError) as error:
        return None, repr(error)


def versioned_context(cafile, minimum, maximum):
    ctx = ssl.create_default_context(cafile=cafile)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0/1.1, on purpose
        ctx.minimum_version = minimum
        ctx.maximum_version = maximum
    return ctx


def check_versions(server, cafile):
    version, cipher = handshake(server.port, versioned_context(
        cafile, ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2))
    h.check(version == "TLSv1.2" and cipher.startswith("ECDHE-") and
            ("GCM" in cipher or "CHACHA20" in cipher),
            f"TLS 1.2 with a forward-secret AEAD suite ({version}, {cipher})")
    version, cipher = handshake(server.port, versioned_context(
        cafile, ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_3))
    h.check(version == "TLSv1.3", f"TLS 1.3 ({version}, {cipher})")
    old = versioned_context(cafile, ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1)
    old.set_ciphers("DEFAULT:@SECLEVEL=0")
    version, error = handshake(server.port, old)
    h.check(version is None, f"TLS 1.0/1.1 refused ({error[:60]})")
    weak = versioned_context(cafile, ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2)
    weak.set_ciphers("AES128-SHA:@SECLEVEL=0")
    version, error = handshake(server.port, weak)
    h.check(version is None, f"TLS 1.2 without forward secrecy refused ({error[:60]})")


def check_names(server, cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    for name in ("svc", "svc.ns", "svc.ns.svc", "svc.ns.svc.cluster.local"):
        version, _ = handshake(server.port, ctx, hostname=name)
        h.check(version is not None, f"certificate verifies for {name}")
    version, _ = handshake(server.port, ctx, hostname="other.ns.svc")
    h.check(version is None, "certificate does not verify for other.ns.svc")


def check_self_signed():
    server = h.Server(["--self-signed", "--region", "ap-south-1", "--sidecar-mode", "native"])
    server.wait_ready()
    try:
        status, _, data = server.post_review(h.review(h.pod()))
        h.check(status == 200, "--self-signed serves reviews")
        patch = json.dumps(h.decode_patch(json.loads(data)))
        h.check('"ap-south-1"' in patch, "--region overrides the region")
        h.check('"restartPolicy": "Always"' in patch, "--sidecar-mode native: a native sidecar")
        h.check(server.terminate() == 0, "--self-signed: SIGTERM -> exit 0")
    finally:
        server.kill()


def run_cli(*args):
    return subprocess.run([h.BIN, *args], capture_output=True, text=True)


def check_usage():
    for command in ("serve", "certs"):
        result = run_cli(command, "--help")
        h.check(result.returncode == 0 and "Usage" in result.stdout, f"{command} --help exits 0")
    cases = [("serve", "--bogus"), ("serve", "--listen", "nope"), ("serve",),
             ("serve", "--self-signed", "--tls-cert-file", "x", "--tls-key-file", "y"),
             ("serve", "--self-signed", "--log-format", "xml"),
             ("certs", "--service", "s"), ("certs", "--service", "s", "--namespace", "n",
                                           "--out-dir", h.TMP, "--days", "0")]
    for args in cases:
        result = run_cli(*args)
        h.check(result.returncode == 2 and result.stderr.strip(),
                f"usage error {' '.join(args)!r} exits 2 with a message")
    result = run_cli("certs", "--service", "s", "--namespace", "n",
                     "--out-dir", os.path.join(h.TMP, "bad-ip"), "--ip", "300.1.1.1")
    h.check(result.returncode == 1 and "300.1.1.1" in result.stderr,
            "certs with an invalid --ip exits 1 naming it")


def main():
    certs = h.make_certs(os.path.join(h.TMP, "certs"), service="svc", namespace="ns")
    mode = os.stat(os.path.join(certs, "tls.key")).st_mode & 0o777
    h.check(mode == 0o600, f"tls.key is written with mode 0600 ({oct(mode)})")
    cafile = certs + "/ca.crt"
    server = h.Server(["--tls-cert-file", certs + "/tls.crt", "--tls-key-file", certs + "/tls.key"],
                      cafile=cafile).wait_ready()
    try:
        check_versions(server, cafile)
        check_names(server, cafile)
        h.check(server.terminate() == 0, "SIGTERM -> exit 0")
    finally:
        server.kill()
    check_self_signed()
    check_usage()


h.run("test_server_tls", main)
