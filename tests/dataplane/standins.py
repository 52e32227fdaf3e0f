"""Stand-ins for the AWS endpoints an injected pod talks to, for the data-plane tests.

    python3 tests/dataplane/standins.py --config FILE [--verbose]

One process serves every stand-in of a JSON config (any section may be absent):

  {"records": "/path/records.jsonl", "region": "us-west-2", "service": "vpc-lattice-svcs",
   "keys": {"AKID": {"secret": "...", "token": "..." or null, "principal": "pod-identity"}},
   "lattice": {"http": [["169.254.171.17", 80], ["fd00:ec2:80::17", 80]],
               "https": [["169.254.171.17", 443]], "cert": "lattice.crt", "key": "lattice.key",
               "service_arn": "arn:...:service/svc-..." (optional),
               "require_unsigned_payload": false (optional; real Lattice requires it)},
   "pod_identity": {"listen": [["169.254.170.23", 80]], "token": "<expected Authorization>",
                    "access_key_id": "AKID", "target_hosts": ["169.254.170.23"] (optional)},
   "sts": {"listen": [["169.254.172.10", 443]], "cert": "sts.crt", "key": "sts.key",
           "role_arn": "arn:...", "web_identity_token": "<expected token>", "access_key_id": "AKID"},
   "imds": {"listen": [["169.254.169.254", 80]], "role": "node-role", "access_key_id": "AKID",
            "v2_only": false (optional)}}

  "cert"/"key" are always a TLS certificate and private key file; the key a credential endpoint
  hands out is "access_key_id" (in pod_identity and imds "key" is accepted for it too).

  Lattice       verifies SigV4 (sigv4.py) against "keys": 200 with a JSON echo when signed,
                403 `AccessDeniedException: ...` (text/plain) when not signed or refused.
  Pod Identity  GET /v1/credentials with Authorization == token: the key's credentials (JSON).
  STS           POST / AssumeRoleWithWebIdentity (unsigned; RoleArn and WebIdentityToken must
                match) and AssumeRole (SigV4 for "sts" by any key, RoleArn must match): XML.
  IMDS          IMDSv2 tokens and IMDSv1; iam/security-credentials/<role>: the key's credentials.

Each listener binds the exact address and port given (port 0 picks one); AF_INET6 when the
address has a ':'. Stdout gets `standins: listening <service> <url>` per listener, then
`standins: ready` once all are bound; SIGTERM/SIGINT stop it with exit 0. Every request (and every
failed TLS handshake) appends one JSON line to "records", written before the answer is sent:
  service, listener, peer, method, path, query, host, status, signed (carried an AWS4
  Authorization header), verified, principal, access_key_id, code, reason, body_len,
  body_sha256, tls, time, headers (as received), plus unsigned_payload/signed_headers/form for
  Lattice.
"""

import argparse
import hashlib
import json
import os
import secrets
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sigv4  # noqa: E402

ACCOUNT = "111122223333"
MAX_BODY = 64 << 20
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"


class Reply:
    def __init__(self, status, content_type, body, **fields):
        self.status, self.content_type = status, content_type
        self.body = body.encode() if isinstance(body, str) else body
        self.fields = fields  # extra record fields


def expiration(hours=1):
    return (datetime.now(timezone.utc) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def text(status, message):
    return Reply(status, "text/plain; charset=utf-8", message + "\n", reason=message)


class App:
    """The config and the state shared by all listeners."""

    def __init__(self, config):
        self.config = config
        self.keys = config.get("keys", {})
        self.region = config.get("region", "us-west-2")
        self.service = config.get("service", "vpc-lattice-svcs")
        self.records = open(config["records"], "a", encoding="utf-8")
        self.imds_tokens = {}  # token -> expiry (epoch seconds)
        self.lock = threading.Lock()  # guards records and imds_tokens
        for section in ("pod_identity", "sts", "imds"):
            if config.get(section) and self.access_key_id(section) not in self.keys:
                raise ValueError(f"{section}: access_key_id {self.access_key_id(section)!r} is not in keys")

    def record(self, record):
        """Appends one JSON line to the records file, durably, from any thread."""
        line = json.dumps(record, sort_keys=True) + "\n"
        with self.lock:
            self.records.write(line)
            self.records.flush()
            os.fsync(self.records.fileno())

    def access_key_id(self, section):
        cfg = self.config[section]
        return cfg.get("access_key_id") if section == "sts" else cfg.get("access_key_id", cfg.get("key"))

    def credentials(self, section):
        """(akid, secret, token) of the key a credential endpoint section hands out."""
        akid = self.access_key_id(section)
        key = self.keys[akid]
        return akid, key["secret"], key.get("token") or ""

    # --- Lattice ------------------------------------------------------------------------------
    def lattice(self, req):
        cfg = self.config["lattice"]
        result = sigv4.verify(req.method, req.path, req.query, req.headers, req.body, time.time(),
                              self.keys, self.region, self.service,
                              require_unsigned_payload=cfg.get("require_unsigned_payload", False))
        fields = {"verified": result.ok, "principal": result.principal if result.ok else None,
                  "access_key_id": result.access_key_id, "code": result.code,
                  "unsigned_payload": result.unsigned_payload, "signed_headers": result.signed_headers,
                  "form": result.form}
        if result.ok:
            echo = {"principal": result.principal, "access_key_id": result.access_key_id,
                    "method": req.method, "path": req.path, "query": req.query, "host": req.host,
                    "body_len": len(req.body), "body_sha256": hashlib.sha256(req.body).hexdigest(),
                    "unsigned_payload": result.unsigned_payload}
            return Reply(200, "application/json", json.dumps(echo), **fields)
        arn = cfg.get("service_arn", f"arn:aws:vpc-lattice:{self.region}:{ACCOUNT}:service/svc-0123456789abcdef0")
        if result.code == "missing-authorization":
            message = (f"AccessDeniedException: User: anonymous is not authorized to perform: "
                       f"{self.service}:Invoke on resource: {arn}{req.path} because no network-based "
                       f"policy allows the {self.service}:Invoke action")
        else:
            message = (f"AccessDeniedException: The request signature is invalid ({result.code}): "
                       f"{result.reason}")
        reply = text(403, message)
        reply.fields.update(fields, reason=result.reason, canonical_request=result.canonical_request)
        return reply

    # --- EKS Pod Identity agent ---------------------------------------------------------------
    def pod_identity(self, req):
        cfg = self.config["pod_identity"]
        if req.path != "/v1/credentials":
            return text(404, "404 page not found")
        hosts = cfg.get("target_hosts")  # the real agent answers only on its link-local address
        host = urllib.parse.urlsplit(f"//{req.host}").hostname
        if hosts and host not in hosts:
            return text(403, f"Access Denied. Called agent through invalid address, please use "
                             f"either {hosts} address not {host}")
        token = req.header("authorization")
        if not token:
            return text(400, "Service account token cannot be empty")
        if not secrets.compare_digest(token.encode(), cfg["token"].encode()):
            return text(403, "Access Denied. The service account token is not valid for this pod")
        akid, secret, session = self.credentials("pod_identity")
        body = {"AccessKeyId": akid, "SecretAccessKey": secret, "Token": session,
                "AccountId": ACCOUNT, "Expiration": expiration()}
        return Reply(200, "application/json", json.dumps(body), access_key_id=akid)

    # --- STS ----------------------------------------------------------------------------------
    def sts(self, req):
        cfg = self.config["sts"]
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(req.body.decode("utf-8", "replace")).items()}
        action = form.get("Action", "")
        fields = {"action": action, "role_arn": form.get("RoleArn")}
        if req.method != "POST" or req.path != "/":
            return sts_error(400, "InvalidAction", "Could not find operation", fields)
        if action == "AssumeRoleWithWebIdentity":
            token = form.get("WebIdentityToken", "")
            if not token:
                return sts_error(400, "MissingParameter", "The request must contain the parameter WebIdentityToken", fields)
            if not secrets.compare_digest(token.encode(), cfg["web_identity_token"].encode()):
                return sts_error(400, "InvalidIdentityToken", "Incorrect token audience or signature", fields)
            subject = "system:serviceaccount:app:app"
        elif action == "AssumeRole":
            result = sigv4.verify(req.method, req.path, req.query, req.headers, req.body, time.time(),
                                  self.keys, self.region, "sts")
            fields.update(verified=result.ok, code=result.code, principal=result.principal)
            if not result.ok:
                return sts_error(403, "SignatureDoesNotMatch", result.reason, fields)
            subject = None
        else:
            return sts_error(400, "InvalidAction", f"Could not find operation {action} for version 2011-06-15", fields)
        if form.get("RoleArn") != cfg["role_arn"]:
            return sts_error(403, "AccessDenied", f"Not authorized to perform sts:{action}", fields)
        akid, secret, session = self.credentials("sts")
        name = escape(form.get("RoleSessionName", "session"))
        role = cfg["role_arn"].rsplit("/", 1)[-1]
        extra = f"<SubjectFromWebIdentityToken>{subject}</SubjectFromWebIdentityToken>" if subject else ""
        xml = (f'<{action}Response xmlns="{STS_NS}"><{action}Result>{extra}'
               f"<AssumedRoleUser><Arn>arn:aws:sts::{ACCOUNT}:assumed-role/{escape(role)}/{name}</Arn>"
               f"<AssumedRoleId>AROAEXAMPLEROLEID0001:{name}</AssumedRoleId></AssumedRoleUser>"
               f"<Credentials><AccessKeyId>{akid}</AccessKeyId><SecretAccessKey>{escape(secret)}</SecretAccessKey>"
               f"<SessionToken>{escape(session)}</SessionToken><Expiration>{expiration()}</Expiration></Credentials>"
               f"</{action}Result><ResponseMetadata><RequestId>{request_id()}</RequestId></ResponseMetadata>"
               f"</{action}Response>")
        return Reply(200, "text/xml", xml, access_key_id=akid, **fields)

    # --- EC2 instance metadata ----------------------------------------------------------------
    def imds(self, req):
        cfg = self.config["imds"]
        if req.path == "/latest/api/token":
            if req.method != "PUT":
                return text(405, "Method Not Allowed")
            if req.header("x-forwarded-for"):
                return text(403, "Forbidden")
            ttl = req.header("x-aws-ec2-metadata-token-ttl-seconds") or ""
            if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                return text(400, "Bad Request")
            token = secrets.token_urlsafe(32)
            with self.lock:
                self.imds_tokens[token] = time.time() + int(ttl)
            return Reply(200, "text/plain", token, imds="v2-token")
        token = req.header("x-aws-ec2-metadata-token")
        if token is not None:
            with self.lock:
                valid = self.imds_tokens.get(token, 0) > time.time()
            if not valid:
                return text(401, "Unauthorized")
        elif cfg.get("v2_only"):
            return text(401, "Unauthorized")
        version = "v2" if token else "v1"
        base = "/latest/meta-data/iam/security-credentials/"
        if req.method != "GET":
            return text(405, "Method Not Allowed")
        if req.path == base:
            return Reply(200, "text/plain", cfg["role"], imds=version)
        if req.path == base + cfg["role"]:
            akid, secret, session = self.credentials("imds")
            body = {"Code": "Success", "LastUpdated": expiration(0), "Type": "AWS-HMAC",
                    "AccessKeyId": akid, "SecretAccessKey": secret, "Token": session,
                    "Expiration": expiration()}
            return Reply(200, "text/plain", json.dumps(body), imds=version, access_key_id=akid)
        return text(404, "Not Found")


def sts_error(status, code, message, fields):
    kind = "Sender" if status < 500 else "Receiver"
    xml = (f'<ErrorResponse xmlns="{STS_NS}"><Error><Type>{kind}</Type><Code>{code}</Code>'
           f"<Message>{escape(message or '')}</Message></Error><RequestId>{request_id()}</RequestId></ErrorResponse>")
    return Reply(status, "text/xml", xml, reason=f"{code}: {message}", **fields)


def request_id():
    return "-".join(secrets.token_hex(n) for n in (4, 2, 2, 2, 6))


class Request:
    """What a stand-in sees of one request."""

    def __init__(self, handler, body):
        target = handler.path
        if not target.startswith("/"):  # absolute-form target (a client speaking to a proxy)
            parts = urllib.parse.urlsplit(target)
            target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        self.method = handler.command
        self.path, _, self.query = target.partition("?")
        self.headers = handler.headers.items()
        self.host = handler.headers.get("Host", "")
        self.body = body

    def header(self, name):
        return next((v for n, v in self.headers if n.lower() == name), None)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Go's client expects
    timeout = 120  # longer than aws-sigv4-proxy's 40 s idle timeout: the client closes first
    server_version = "standins"

    def do_any(self):
        server = self.server
        try:
            body = self.read_body()
        except ValueError as err:
            self.close_connection = True
            self.answer(text(400, f"bad request body: {err}"), None, b"")
            return
        req = Request(self, body)
        try:
            reply = getattr(server.app, server.service.replace("-", "_"))(req)
        except Exception as err:  # a stand-in bug must show in the records, not hang the client
            reply = text(500, f"stand-in error: {type(err).__name__}: {err}")
        self.answer(reply, req, body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_any

    def read_body(self):
        """The request body by Content-Length or chunked transfer coding."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline(1024).split(b";")[0].strip(), 16)  # ValueError if bad
                if size == 0:
                    while self.rfile.readline(8192).strip():  # trailers
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(8)
                if sum(map(len, chunks)) > MAX_BODY:
                    raise ValueError("body too large")
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            raise ValueError(f"Content-Length {length}")
        return self.rfile.read(length)

    def answer(self, reply, req, body):
        """Records the exchange, then sends the reply."""
        auth = req.header("authorization") if req else None
        record = {
            "service": self.server.service, "listener": self.server.url, "peer": self.client_address[0],
            "method": self.command, "path": req.path if req else self.path, "query": req.query if req else "",
            "host": req.host if req else self.headers.get("Host"), "status": reply.status,
            "signed": bool(auth and auth.strip().startswith("AWS4")), "verified": False,
            "principal": None, "access_key_id": None, "code": None, "reason": None,
            "body_len": len(body), "body_sha256": hashlib.sha256(body).hexdigest(),
            "tls": self.server.tls is not None, "time": time.time(),
            "headers": [[n, v] for n, v in self.headers.items()],
        }
        record.update(reply.fields)
        self.server.app.record(record)
        if self.server.verbose:
            print(f"standins: {self.server.service} {self.command} {record['path']} -> {reply.status}",
                  file=sys.stderr, flush=True)
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    def log_message(self, *args):  # records replace the access log
        pass


class Server(ThreadingHTTPServer):
    """One listener of one stand-in; TLS handshakes run in the connection's thread."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, app, service, address, port, tls=None, verbose=False):
        self.app, self.service, self.tls, self.verbose = app, service, tls, verbose
        self.address_family = socket.AF_INET6 if ":" in address else socket.AF_INET
        super().__init__((address, port), Handler)
        host = f"[{address}]" if ":" in address else address
        self.url = f"{'https' if tls else 'http'}://{host}:{self.server_address[1]}"

    def server_bind(self):
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        super().server_bind()

    def finish_request(self, request, client_address):
        if self.tls is None:
            return super().finish_request(request, client_address)
        request.settimeout(Handler.timeout)
        try:
            conn = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLEOFError, ConnectionError, TimeoutError):
            return  # connected and left (a port probe): nothing to record
        except (ssl.SSLError, OSError) as err:
            self.app.record({"service": self.service, "listener": self.url, "peer": client_address[0],
                                    "status": None, "tls": True, "time": time.time(), "signed": False,
                                    "verified": False, "reason": f"TLS handshake failed: {err}"})
            return
        try:
            super().finish_request(conn, client_address)
        finally:
            self.shutdown_request(conn)

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)


def tls_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def listeners(config):
    """[(service, address, port, tls_context_or_None)] for every configured listener."""
    out = []
    lattice = config.get("lattice")
    if lattice:
        out += [("lattice", a, p, None) for a, p in lattice.get("http", [])]
        if lattice.get("https"):
            ctx = tls_context(lattice["cert"], lattice["key"])
            out += [("lattice", a, p, ctx) for a, p in lattice["https"]]
    if config.get("pod_identity"):
        out += [("pod-identity", a, p, None) for a, p in config["pod_identity"]["listen"]]
    if config.get("sts"):
        ctx = tls_context(config["sts"]["cert"], config["sts"]["key"])
        out += [("sts", a, p, ctx) for a, p in config["sts"]["listen"]]
    if config.get("imds"):
        out += [("imds", a, p, None) for a, p in config["imds"]["listen"]]
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True, help="JSON config (see the module docstring)")
    parser.add_argument("--verbose", action="store_true", help="one stderr line per request")
    args = parser.parse_args()
    with open(args.config, encoding="utf-8") as f:
        config = json.load(f)
    servers = []
    try:
        app = App(config)
        for service, address, port, ctx in listeners(config):
            servers.append(Server(app, service, address, port, ctx, args.verbose))
    except (OSError, KeyError, ValueError) as err:
        sys.exit(f"standins: cannot start: {type(err).__name__}: {err}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    for server in servers:
        threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True).start()
        print(f"standins: listening {server.service} {server.url}", flush=True)
    print("standins: ready", flush=True)
    while not stop.wait(0.2):
        pass
    for server in servers:
        server.shutdown()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
