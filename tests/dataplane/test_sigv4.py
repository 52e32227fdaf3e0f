"""Checks the SigV4 verifier (sigv4.py) against an independent signer: botocore's SigV4Auth.

    python3 tests/dataplane/test_sigv4.py

Each request of CASES is signed by botocore (pinned, installed once into .cache/pylib from PyPI)
at a fixed time and must be accepted, with the same canonical request botocore built; then each
is mutated (secret, body, a signed header, path, query, method, clock, token, region, service,
key) and must be refused with the expected reason code. Two requests of AWS's published SigV4
examples are checked too. One `PASS name` / `FAIL name: why` line per check, then
`N passed, N failed`; exit 1 on any failure.

aws-sdk-go v1's deviations (literal dot segments, wire-order repeated keys) cannot be produced
with botocore; smoke_loopback.py sends such requests through the real aws-sigv4-proxy.
"""

import contextlib
import copy
import email.message
import fcntl
import os
import subprocess
import sys
import urllib.parse
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
import sigv4  # noqa: E402

BOTOCORE_VERSION = "1.44.5"
PYLIB = Path(os.environ.get("SIGV4_PYLIB", ROOT / ".cache" / "pylib"))


def ensure_botocore():
    """Installs the pinned botocore into PYLIB unless it is there; puts PYLIB first on sys.path."""
    marker = PYLIB / f"botocore-{BOTOCORE_VERSION}.dist-info"
    if not marker.is_dir():
        PYLIB.mkdir(parents=True, exist_ok=True)
        with open(PYLIB / ".install.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test runs install once
            if not marker.is_dir():
                print(f"test_sigv4: installing botocore=={BOTOCORE_VERSION} into {PYLIB} "
                      "(first run only)", file=sys.stderr, flush=True)
                run = subprocess.run(
                    [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                     "--no-input", "--target", str(PYLIB), f"botocore=={BOTOCORE_VERSION}"],
                    capture_output=True, text=True)
                if run.returncode != 0 or not marker.is_dir():
                    sys.exit(f"test_sigv4: pip install botocore failed:\n{run.stdout}{run.stderr}")
                print("test_sigv4: botocore installed", file=sys.stderr, flush=True)
    sys.path.insert(0, str(PYLIB))


REGION, SERVICE = "us-west-2", "vpc-lattice-svcs"
NOW = datetime(2026, 11, 30, 12, 0, 0)  # naive UTC, as botocore's clock returns it
NOW_TS = NOW.replace(tzinfo=timezone.utc).timestamp()
TEMP = ("ASIAPODIDENTITY00001", "podIdentitySecret/+0123456789abcdefghijkl", "IQoJb3JpZ2luX2VjEPodIdToken==")
LONG = ("AKIASTATICUSER000001", "staticUserSecret0123456789abcdefghijklmno", None)
KEYS = {
    TEMP[0]: {"secret": TEMP[1], "token": TEMP[2], "principal": "pod-identity"},
    LONG[0]: {"secret": LONG[1], "token": None, "principal": "static-user"},
}
LATTICE = "app2-0123456789abcdef0.7d67968.vpc-lattice-svcs.us-west-2.on.aws"
UNSIGNED = [("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")]  # what aws-sigv4-proxy --unsigned-payload sends

# name, method, URL as on the wire (path and query percent-encoded), extra headers, body, creds.
CASES = [
    ("get-root", "GET", "http://app.example/", [], b"", TEMP),
    ("get-lattice-dns", "GET", f"http://{LATTICE}/products", [], b"", TEMP),
    ("get-ip-port-static-key", "GET", "http://169.254.171.17:8081/a/b?x=1", [], b"", LONG),
    ("get-ipv6-host", "GET", "http://[fd00:ec2:80::17]:8080/v6", [], b"", TEMP),
    ("get-https-default-port", "GET", f"https://{LATTICE}/secure", [], b"", TEMP),
    ("post-json-body", "POST", f"http://{LATTICE}/orders",
     [("Content-Type", "application/json")], b'{"item": "lattice", "qty": 3}\n', TEMP),
    ("put-binary-body-static-key", "PUT", "http://169.254.171.17/blob",
     [("Content-Type", "application/octet-stream")], bytes(range(256)) * 4, LONG),
    ("delete-no-body", "DELETE", f"http://{LATTICE}/orders/7", [], b"", TEMP),
    ("post-unsigned-payload", "POST", f"http://{LATTICE}/orders",
     UNSIGNED + [("Content-Type", "application/json")], b'{"unsigned": true}', TEMP),
    ("get-unsigned-payload", "GET", "http://169.254.171.17:80/health", UNSIGNED, b"", TEMP),
    ("query-repeated-keys", "GET", f"http://{LATTICE}/q?b=2&a=3&a=1&a=2&B=0", [], b"", TEMP),
    ("query-odd-keys", "GET",
     f"http://{LATTICE}/q?flag&empty=&%24dollar=1&sp%20ace=a%20b&tilde~=~&slash=%2F&u=%C3%A9&plus=%2B",
     [], b"", TEMP),
    ("query-lowercase-escape", "GET", f"http://{LATTICE}/q?t=%7e&s=%2f", [], b"", TEMP),
    ("path-spaces", "GET", f"http://{LATTICE}/a%20b/c%20%20d", [], b"", TEMP),
    ("path-unicode", "GET", f"http://{LATTICE}/caf%C3%A9/%E2%9C%93", [], b"", TEMP),
    ("path-encoded-chars", "GET", f"http://{LATTICE}/a%2Fb/%25/x%3Ay/~tilde", [], b"", TEMP),
    ("path-dot-segments", "GET", f"http://{LATTICE}/a/./b/../c//d/", [], b"", TEMP),
    ("headers-spaces-repeated", "POST", f"http://{LATTICE}/h",
     [("X-Custom", "  a   b    c  "), ("X-Multi", "one"), ("X-Multi", " two  2 "),
      ("Content-Type", "text/plain;   charset=utf-8")], b"hello", LONG),
]


class Recorder:
    """Prints PASS/FAIL lines and counts them."""

    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, ok, why=""):
        if ok:
            self.passed += 1
            print(f"PASS {name}")
        else:
            self.failed += 1
            print(f"FAIL {name}: {why}")


@contextlib.contextmanager
def botocore_clock(at):
    """Makes botocore sign at `at` (naive UTC)."""
    import botocore.auth
    saved = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = lambda *args, **kwargs: at
    try:
        yield
    finally:
        botocore.auth.get_current_datetime = saved


def wire_host(url):
    """The Host header an HTTP client sends for `url` (default ports omitted)."""
    parts = urllib.parse.urlsplit(url)
    default = {"http": 80, "https": 443}[parts.scheme]
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return host if parts.port in (None, default) else f"{host}:{parts.port}"


def sign(case, creds=None, region=REGION, service=SERVICE, at=NOW):
    """Signs `case` with botocore; returns the request as a server receives it, plus the
    canonical request botocore built."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    _, method, url, headers, body, case_creds = case
    akid, secret, token = creds or case_creds
    request = AWSRequest(method=method, url=url, data=body)
    for name, value in headers:
        request.headers[name] = value  # HTTPHeaders appends: repeated headers stay repeated
    built = []

    class Recording(SigV4Auth):  # keeps the canonical request botocore signs
        def canonical_request(self, request):
            built.append(super().canonical_request(request))
            return built[-1]

    with botocore_clock(at):
        Recording(Credentials(akid, secret, token), service, region).add_auth(request)
    parts = urllib.parse.urlsplit(url)
    return {
        "method": method, "path": parts.path, "query": parts.query, "body": body,
        "headers": [("Host", wire_host(url))] + list(request.headers.items()),
    }, built[-1]


def verify(req, now=NOW_TS, keys=KEYS, **kwargs):
    return sigv4.verify(req["method"], req["path"], req["query"], req["headers"], req["body"],
                        now, keys, REGION, SERVICE, **kwargs)


def with_header(req, name, value=None):
    """A copy of `req` with every `name` header replaced by `value` (removed when None)."""
    out = copy.deepcopy(req)
    out["headers"] = [(n, v) for n, v in out["headers"] if n.lower() != name.lower()]
    if value is not None:
        out["headers"].append((name, value))
    return out


def header(req, name):
    return next((v for n, v in req["headers"] if n.lower() == name.lower()), None)


def expect(rec, name, result, code):
    """One check: `result` is accepted (code "ok") or refused with reason code `code`."""
    if code == "ok":
        rec.check(name, result.ok, f"refused: {result.code}: {result.reason}")
    else:
        rec.check(name, not result.ok and result.code == code,
                  f"expected {code}, got {'accepted' if result.ok else result.code}: {result.reason}")


def check_case(rec, case):
    name, method, url, headers, body, creds = case
    unsigned = ("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD") in headers
    req, canonical = sign(case)

    got = verify(req)
    want_form = "uri=normalized query=raw-sorted" if "lowercase" in name else "uri=normalized query=spec"
    rec.check(f"{name}/accepted", got.ok and got.principal == KEYS[creds[0]]["principal"]
              and got.canonical_request == canonical and got.form == want_form,
              f"ok={got.ok} {got.code} {got.reason} form={got.form}\n--- ours\n{got.canonical_request}"
              f"\n--- botocore\n{canonical}")

    other = (creds[0], "W" + creds[1][1:], creds[2])
    expect(rec, f"{name}/wrong-secret", verify(sign(case, creds=other)[0]), "signature-mismatch")
    tampered = dict(copy.deepcopy(req), body=(body or b"") + b"x")
    # With UNSIGNED-PAYLOAD the body is not covered: a changed body still verifies.
    expect(rec, f"{name}/body-changed", verify(tampered), "ok" if unsigned else "signature-mismatch")
    expect(rec, f"{name}/host-changed", verify(with_header(req, "Host", "evil.example")), "signature-mismatch")
    if any(n.lower() == "content-type" for n, _ in headers):
        expect(rec, f"{name}/signed-header-changed",
               verify(with_header(req, "Content-Type", "text/html")), "signature-mismatch")
        expect(rec, f"{name}/signed-header-dropped",
               verify(with_header(req, "Content-Type")), "signed-header-missing")
    expect(rec, f"{name}/path-changed", verify(dict(req, path=req["path"] + "x")), "signature-mismatch")
    expect(rec, f"{name}/query-changed",
           verify(dict(req, query=req["query"] + ("&" if req["query"] else "") + "z=1")), "signature-mismatch")
    expect(rec, f"{name}/method-changed",
           verify(dict(req, method="PATCH" if method != "PATCH" else "GET")), "signature-mismatch")
    expect(rec, f"{name}/expired", verify(req, now=NOW_TS + 301), "clock-skew")
    expect(rec, f"{name}/future", verify(req, now=NOW_TS - 301), "clock-skew")
    expect(rec, f"{name}/skew-within-5min", verify(req, now=NOW_TS + 299), "ok")
    if creds[2]:
        expect(rec, f"{name}/token-missing", verify(with_header(req, "X-Amz-Security-Token")), "missing-token")
        expect(rec, f"{name}/token-other",
               verify(with_header(req, "X-Amz-Security-Token", creds[2] + "x")), "wrong-token")
    else:
        expect(rec, f"{name}/token-unexpected",
               verify(with_header(req, "X-Amz-Security-Token", "bogus")), "unexpected-token")
        with_token = copy.deepcopy(KEYS)
        with_token[creds[0]]["token"] = "now-required"
        expect(rec, f"{name}/token-required", verify(req, keys=with_token), "missing-token")
    expect(rec, f"{name}/wrong-region", verify(sign(case, region="us-east-1")[0]), "wrong-region")
    expect(rec, f"{name}/wrong-service", verify(sign(case, service="execute-api")[0]), "wrong-service")
    stranger = ("AKIAUNKNOWNKEY000001", creds[1], creds[2])
    expect(rec, f"{name}/unknown-key", verify(sign(case, creds=stranger)[0]), "unknown-key")
    expect(rec, f"{name}/not-signed", verify(with_header(req, "Authorization")), "missing-authorization")
    expect(rec, f"{name}/bad-payload-hash",
           verify(with_header(req, "X-Amz-Content-Sha256", "0" * 64)), "bad-payload-hash")
    expect(rec, f"{name}/lattice-requires-unsigned-payload", verify(req, require_unsigned_payload=True),
           "ok" if unsigned else "payload-not-unsigned")


def check_header_rules(rec):
    """Signed-header and date rules, and the accepted shapes of `headers`."""
    req, _ = sign(CASES[5])
    auth = header(req, "Authorization")
    expect(rec, "rules/host-not-signed",
           verify(with_header(req, "Authorization", auth.replace("host;", ""))), "host-not-signed")
    expect(rec, "rules/date-not-signed",
           verify(with_header(req, "Authorization", auth.replace(";x-amz-date", ""))), "date-not-signed")
    next_day = (NOW + timedelta(days=1)).strftime("%Y%m%dT%H%M%SZ")
    expect(rec, "rules/scope-date-mismatch", verify(with_header(req, "X-Amz-Date", next_day)), "wrong-scope-date")
    expect(rec, "rules/date-missing", verify(with_header(req, "X-Amz-Date")), "missing-date")
    expect(rec, "rules/date-garbled", verify(with_header(req, "X-Amz-Date", "2026-11-30 12:00")), "bad-date")
    expect(rec, "rules/authorization-garbled",
           verify(with_header(req, "Authorization", "AWS4-HMAC-SHA256 garbage")), "malformed-authorization")
    expect(rec, "rules/sigv4a-unsupported",
           verify(with_header(req, "Authorization", auth.replace("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256"))),
           "unsupported-algorithm")
    expect(rec, "rules/two-authorizations",
           verify(dict(req, headers=req["headers"] + [("Authorization", auth)])), "malformed-authorization")
    as_dict = {}
    for name, value in req["headers"]:
        as_dict.setdefault(name, []).append(value)
    expect(rec, "rules/headers-as-dict", verify(dict(req, headers=as_dict)), "ok")
    message = email.message.Message()
    for name, value in req["headers"]:
        message[name] = value
    expect(rec, "rules/headers-as-http-message", verify(dict(req, headers=message)), "ok")


def check_published_examples(rec):
    """AWS's own SigV4 examples (IAM User Guide, and get-vanilla of the SigV4 test suite):
    fixed requests with published signatures, verified with their service and region."""
    keys = {"AKIDEXAMPLE": {"secret": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "token": None,
                            "principal": "example"}}
    at = datetime(2015, 8, 30, 12, 36, tzinfo=timezone.utc).timestamp()
    examples = [
        ("published/iam-list-users", "iam", "/", "Action=ListUsers&Version=2010-05-08",
         [("Host", "iam.amazonaws.com"), ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
         "content-type;host;x-amz-date", "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"),
        ("published/get-vanilla", "service", "/", "", [("Host", "example.amazonaws.com")],
         "host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    ]
    for name, service, path, query, headers, signed, signature in examples:
        auth = (f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/{service}/aws4_request, "
                f"SignedHeaders={signed}, Signature={signature}")
        all_headers = headers + [("X-Amz-Date", "20150830T123600Z"), ("Authorization", auth)]
        got = sigv4.verify("GET", path, query, all_headers, b"", at, keys, "us-east-1", service)
        expect(rec, name, got, "ok")


def main():
    ensure_botocore()
    rec = Recorder()
    for case in CASES:
        check_case(rec, case)
    check_header_rules(rec)
    check_published_examples(rec)
    print(f"{rec.passed} passed, {rec.failed} failed")
    return 1 if rec.failed else 0


if __name__ == "__main__":
    sys.exit(main())
