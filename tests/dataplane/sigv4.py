"""AWS Signature Version 4 verifier for the data-plane stand-ins (pure: no I/O, no clock).

verify() answers what an AWS endpoint (here: the VPC Lattice service `vpc-lattice-svcs`) decides
about one HTTP request signed in the Authorization header (AWS4-HMAC-SHA256): who signed it, or
why it is refused. It is checked against botocore's signer by test_sigv4.py.

Canonical request, as AWS builds it for non-S3 services:
  METHOD \\n URI \\n QUERY \\n HEADERS \\n \\n SIGNED-HEADERS \\n PAYLOAD-HASH
  URI      the wire path (already percent-encoded), dot segments and empty segments removed, then
           URI-encoded once more (every byte but A-Z a-z 0-9 - . _ ~ and '/'; "%" becomes "%25").
  QUERY    each name and value percent-decoded and re-encoded, pairs sorted by name then value.
  HEADERS  the signed headers: lowercased names, values trimmed, runs of spaces collapsed,
           values of a repeated header joined with ','.
  PAYLOAD  the x-amz-content-sha256 header when present (UNSIGNED-PAYLOAD), else sha256(body).

Real signers deviate from that text in two places, and a client request that one of them signed
must still verify, so each request is also tried against these forms (result.form names the one
that matched; "uri=normalized query=spec" is the spec's):
  - aws-sdk-go v1 (which aws-sigv4-proxy uses) does not remove dot or empty segments
    (uri=literal), and sorts the query by decoded names and values, which differs from the
    spec's order for non-ASCII names; it puts that canonical query on the wire (query=raw);
  - botocore signs the query of a URL as given, only sorting its pairs (query=raw-sorted).
"""

import hashlib
import hmac
import re
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timezone

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
MAX_SKEW_SECONDS = 300  # AWS accepts requests signed within 5 minutes of its clock
_UNRESERVED = "-_.~"  # with ASCII letters and digits: never percent-encoded


@dataclass
class Result:
    """The verdict. `code` is a stable token for tests; `reason` the human text (AWS wording).
    access_key_id and principal name the key of the Credential, also when refused."""

    ok: bool
    code: str = "ok"
    reason: str | None = None
    principal: str | None = None
    access_key_id: str | None = None
    signed_headers: list[str] = field(default_factory=list)
    unsigned_payload: bool = False  # the request carried x-amz-content-sha256: UNSIGNED-PAYLOAD
    form: str | None = None  # which canonical form matched (see the module comment)
    canonical_request: str | None = None  # the spec form, to debug a mismatch


def _refuse(code, reason, **known):
    return Result(ok=False, code=code, reason=reason, **known)


def header_pairs(headers):
    """Returns [(lowercased name, value), ...] from a list of pairs, an email.message.Message
    (http.server's headers: items() yields repeated headers) or a dict of str or list values."""
    items = headers.items() if hasattr(headers, "items") else headers
    pairs = []
    for name, value in items:
        values = value if isinstance(value, (list, tuple)) else [value]
        pairs.extend((name.lower(), str(v)) for v in values)
    return pairs


def uri_encode(text, keep_slash=False):
    """Percent-encodes every byte of `text` (str as UTF-8, or bytes) but the unreserved
    characters (and '/')."""
    return urllib.parse.quote(text, safe=_UNRESERVED + ("/" if keep_slash else ""))


def remove_dot_segments(path):
    """RFC 3986 5.2.4 plus the removal of empty segments ("//"), as AWS normalizes paths."""
    out = []
    for segment in path.split("/"):
        if segment == "..":
            if out:
                out.pop()
        elif segment not in ("", "."):
            out.append(segment)
    lead = "/" if path.startswith("/") else ""
    trail = "/" if path.endswith("/") and out else ""
    return lead + "/".join(out) + trail


def canonical_uris(raw_path):
    """The candidate canonical URIs for a wire path: [(form, uri)], the spec's first."""
    path = raw_path or "/"
    normalized = uri_encode(remove_dot_segments(path) or "/", keep_slash=True)
    literal = uri_encode(path, keep_slash=True)
    return [("uri=normalized", normalized), ("uri=literal", literal)]


def canonical_queries(raw_query):
    """The candidate canonical query strings for a wire query: [(form, query)], the spec's first."""
    pairs = [p.partition("=") for p in raw_query.split("&") if p] if raw_query else []
    spec = sorted(
        (uri_encode(urllib.parse.unquote_to_bytes(k)), uri_encode(urllib.parse.unquote_to_bytes(v)))
        for k, _, v in pairs
    )
    raw_sorted = sorted((k, v) for k, _, v in pairs)
    return [
        ("query=spec", "&".join(f"{k}={v}" for k, v in spec)),
        ("query=raw-sorted", "&".join(f"{k}={v}" for k, v in raw_sorted)),
        ("query=raw", raw_query or ""),
    ]


def canonical_headers(pairs, signed):
    """The canonical header block (with its trailing newline) for the signed header names."""
    lines = []
    for name in signed:
        values = [re.sub(" +", " ", v.strip()) for n, v in pairs if n == name]
        lines.append(f"{name}:{','.join(values)}\n")
    return "".join(lines)


def parse_authorization(value):
    """Splits `AWS4-HMAC-SHA256 Credential=.., SignedHeaders=.., Signature=..` into
    (algorithm, {Credential, SignedHeaders, Signature}); raises ValueError when malformed."""
    algorithm, _, rest = value.strip().partition(" ")
    fields = {}
    for part in rest.split(","):
        name, eq, val = part.strip().partition("=")
        if not eq:
            raise ValueError(f"'{part.strip()}' is not name=value")
        fields[name] = val.strip()
    missing = [f for f in ("Credential", "SignedHeaders", "Signature") if not fields.get(f)]
    if missing:
        raise ValueError("missing " + ", ".join(missing))
    return algorithm, fields


def signing_key(secret, date, region, service):
    """The SigV4 signing key: HMAC chain over date, region, service and "aws4_request"."""
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def string_to_sign(amz_date, scope, canonical_request):
    digest = hashlib.sha256(canonical_request.encode()).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def _header(pairs, name):
    values = [v for n, v in pairs if n == name]
    return values[0].strip() if values else None


def _check_time(amz_date, now, max_skew):
    """Returns (code, reason) when x-amz-date is malformed or too far from `now`, else None."""
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return "bad-date", f"x-amz-date '{amz_date}' is not in the form YYYYMMDD'T'HHMMSS'Z'"
    skew = signed_at.timestamp() - now
    stamp = lambda t: datetime.fromtimestamp(t, timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    if skew < -max_skew:
        return "clock-skew", f"Signature expired: {amz_date} is now earlier than {stamp(now - max_skew)}"
    if skew > max_skew:
        return "clock-skew", f"Signature not yet current: {amz_date} is still later than {stamp(now + max_skew)}"
    return None


def verify(method, raw_path, raw_query, headers, body, now, keys, region, service,
           require_unsigned_payload=False, max_skew=MAX_SKEW_SECONDS):
    """Verifies one request; returns a Result (never raises on request content).

    raw_path/raw_query: as sent on the wire (percent-encoded; query without '?').
    headers: pairs, an email.message.Message or a dict. body: the bytes received.
    now: seconds since the epoch. keys: {access_key_id: {"secret", "token", "principal"}}.
    require_unsigned_payload: refuse unless x-amz-content-sha256 is UNSIGNED-PAYLOAD, as Lattice
    (which does not support payload signing) documents.
    """
    pairs = header_pairs(headers)
    auths = [v for n, v in pairs if n == "authorization"]
    if not auths:
        return _refuse("missing-authorization", "Missing Authorization header (request not signed)")
    if len(auths) > 1:
        return _refuse("malformed-authorization", "more than one Authorization header")
    try:
        algorithm, fields = parse_authorization(auths[0])
    except ValueError as err:
        return _refuse("malformed-authorization", f"Authorization header is malformed: {err}")
    if algorithm != ALGORITHM:
        return _refuse("unsupported-algorithm", f"unsupported signing algorithm '{algorithm}'")

    scope_parts = fields["Credential"].split("/")
    if len(scope_parts) != 5 or scope_parts[4] != "aws4_request":
        return _refuse("malformed-authorization",
                       f"Credential '{fields['Credential']}' is not AKID/date/region/service/aws4_request")
    akid, scope_date, scope_region, scope_service, _ = scope_parts
    key = keys.get(akid)
    if key is None:
        return _refuse("unknown-key", f"The security token included in the request is invalid "
                                      f"(unknown access key {akid})", access_key_id=akid)
    known = {"access_key_id": akid, "principal": key.get("principal")}
    signed = fields["SignedHeaders"].split(";")
    known["signed_headers"] = signed

    amz_date = _header(pairs, "x-amz-date")
    if amz_date is None:
        return _refuse("missing-date", "Missing x-amz-date header", **known)
    bad_time = _check_time(amz_date, now, max_skew)
    if bad_time and bad_time[0] == "bad-date":
        return _refuse(*bad_time, **known)
    if scope_date != amz_date[:8]:
        return _refuse("wrong-scope-date", f"Date in Credential scope ({scope_date}) does not match "
                                           f"YYYYMMDD from x-amz-date ({amz_date[:8]})", **known)
    if scope_region != region:
        return _refuse("wrong-region", f"Credential should be scoped to a valid region: "
                                       f"'{scope_region}' is not '{region}'", **known)
    if scope_service != service:
        return _refuse("wrong-service", f"Credential should be scoped to correct service: "
                                        f"'{scope_service}' is not '{service}'", **known)
    if bad_time:
        return _refuse(*bad_time, **known)

    if signed != sorted(set(signed)) or any(n != n.lower() or not n for n in signed):
        return _refuse("malformed-authorization",
                       f"SignedHeaders '{fields['SignedHeaders']}' are not sorted, unique, lowercase", **known)
    token = _header(pairs, "x-amz-security-token")
    if key.get("token"):
        if token is None:
            return _refuse("missing-token", "Missing x-amz-security-token for temporary credentials", **known)
        if not hmac.compare_digest(token.encode(), key["token"].encode()):
            return _refuse("wrong-token", "The security token included in the request is invalid", **known)
    elif token is not None:
        return _refuse("unexpected-token", "The security token included in the request is invalid "
                                           "(this access key takes no session token)", **known)
    for required, code in (("host", "host-not-signed"), ("x-amz-date", "date-not-signed")):
        if required not in signed:
            return _refuse(code, f"'{required}' must be a signed header", **known)
    present = {n for n, _ in pairs}
    for name in signed:
        if name not in present:
            return _refuse("signed-header-missing", f"signed header '{name}' is not in the request", **known)


    body_hash = hashlib.sha256(body or b"").hexdigest()
    declared = _header(pairs, "x-amz-content-sha256")
    known["unsigned_payload"] = declared == UNSIGNED_PAYLOAD
    if declared is not None and declared not in (UNSIGNED_PAYLOAD, body_hash):
        return _refuse("bad-payload-hash", "x-amz-content-sha256 is neither UNSIGNED-PAYLOAD nor "
                                           "the sha256 of the body received", **known)
    if require_unsigned_payload and declared != UNSIGNED_PAYLOAD:
        return _refuse("payload-not-unsigned", "payload signing is not supported: send "
                                               "x-amz-content-sha256: UNSIGNED-PAYLOAD", **known)
    payload_hash = declared if declared is not None else body_hash

    scope = "/".join(scope_parts[1:])
    k_signing = signing_key(key["secret"], scope_date, scope_region, scope_service)
    headers_block = canonical_headers(pairs, signed)
    spec_request = None
    tried = set()
    for uri_form, uri in canonical_uris(raw_path):
        for query_form, query in canonical_queries(raw_query):
            canonical = "\n".join([method.upper(), uri, query, headers_block,
                                   ";".join(signed), payload_hash])
            spec_request = spec_request or canonical
            if canonical in tried:
                continue
            tried.add(canonical)
            expected = hmac.new(k_signing, string_to_sign(amz_date, scope, canonical).encode(),
                                hashlib.sha256).hexdigest()
            if hmac.compare_digest(expected, fields["Signature"].lower()):
                return Result(ok=True, form=f"{uri_form} {query_form}",
                              canonical_request=canonical, **known)
    return _refuse("signature-mismatch", "The request signature we calculated does not match the "
                                         "signature you provided. Check your AWS Secret Access Key "
                                         "and signing method.",
                   canonical_request=spec_request, **known)
