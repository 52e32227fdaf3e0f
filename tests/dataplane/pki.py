"""A throw-away test PKI for the data-plane stand-ins, made with the `openssl` command.

    ca = make_ca(dir)                                   -> (dir/ca.crt, dir/ca.key)
    make_leaf(dir, "lattice", ca, dns=[...], ips=[...]) -> (dir/lattice.crt, dir/lattice.key)

Keys are ECDSA P-256 (fast to make, accepted by Go and Python). Certificates are valid from now
for 7 days (network namespaces share the host's clock). The leaf carries the
given DNS and IP subjectAltNames (Go verifies only SANs, never the CN), serverAuth usage, and is
signed by the CA; trust the CA with SSL_CERT_FILE (Go), AWS_CA_BUNDLE (aws-sdk-go) or cafile=.
Each call writes fresh files, replacing older ones of the same name.

    python3 tests/dataplane/pki.py DIR [DNS-or-IP ...]   # CA plus a leaf "server" for the names
"""

import ipaddress
import os
import subprocess
import sys
from pathlib import Path

DAYS = 7
_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def _openssl(*args, cwd):
    """Runs openssl; raises RuntimeError with its output when it fails."""
    run = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed:\n{run.stdout}{run.stderr}")


def make_ca(directory):
    """Creates a self-signed CA in `directory`; returns (ca_crt, ca_key) paths."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    crt, key = d / "ca.crt", d / "ca.key"
    _openssl("req", "-x509", *_KEY, "-keyout", str(key), "-out", str(crt), "-days", str(DAYS),
             "-subj", "/CN=sigv4-injector data-plane test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    return str(crt), str(key)


def make_leaf(directory, name, ca, dns=(), ips=()):
    """Creates `name`.crt/.key in `directory`, signed by `ca` = (ca_crt, ca_key), for the given
    DNS names and IP addresses; returns (crt, key) paths. Fails when no name is given."""
    if not dns and not ips:
        raise ValueError("make_leaf needs at least one DNS name or IP address")
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    crt, key, csr, ext = (d / f"{name}.{s}" for s in ("crt", "key", "csr", "ext"))
    sans = [f"DNS:{n}" for n in dns] + [f"IP:{ipaddress.ip_address(i)}" for i in ips]
    ext.write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        f"subjectAltName={','.join(sans)}\n"
    )
    cn = (list(dns) or [str(i) for i in ips])[0][:64]
    _openssl("req", "-new", *_KEY, "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={cn}", cwd=d)
    serial = str(int.from_bytes(os.urandom(8), "big"))  # unique, so clients never mix up leaves
    _openssl("x509", "-req", "-in", str(csr), "-CA", ca[0], "-CAkey", ca[1], "-set_serial", serial,
             "-days", str(DAYS),
             "-extfile", str(ext), "-out", str(crt), cwd=d)
    csr.unlink()
    ext.unlink()
    return str(crt), str(key)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    authority = make_ca(out)
    names = sys.argv[2:] or ["localhost", "127.0.0.1"]
    addresses = []
    for n in names:
        try:
            addresses.append(str(ipaddress.ip_address(n)))
        except ValueError:
            pass
    hostnames = [n for n in names if n not in addresses]
    print(*authority, *make_leaf(out, "server", authority, hostnames, addresses), sep="\n")
