"""The webhook's HTTP contract over real TLS (SPEC section 6): statuses, v1 and v1beta1 answers,
patches that kubectl applies, bounded JSON nesting, and the metrics that count it all."""

import json
import os
import socket
import subprocess

import server_harness as h


def status_of(server, method, path, body=None, content_type="application/json"):
    headers = {"Content-Type": content_type} if content_type else {}
    status, _, data = server.request(method, path, body=body, headers=headers)
    return status, data


def check_error(server, method, path, expected, what, body=None, content_type="application/json"):
    status, data = status_of(server, method, path, body, content_type)
    message = ""
    if data:
        try:
            message = json.loads(data).get("message", "")
        except ValueError:
            message = data.decode(errors="replace")
    h.check(status == expected and message, f"{what} -> {expected} with a message ({message!r})")


def check_statuses(server):
    good = json.dumps(h.review(h.pod()))
    check_error(server, "POST", "/mutate", 400, "malformed JSON", body="{not json")
    check_error(server, "POST", "/mutate", 400, "wrong kind",
                body=good.replace('"kind": "AdmissionReview"', '"kind": "Pod"', 1))
    check_error(server, "POST", "/mutate", 400, "wrong version",
                body=good.replace("admission.k8s.io/v1", "admission.k8s.io/v2", 1))
    no_uid = h.review(h.pod())
    del no_uid["request"]["uid"]
    check_error(server, "POST", "/mutate", 400, "missing uid", body=json.dumps(no_uid))
    check_error(server, "POST", "/mutate/annotated", 400, "empty body on /mutate/annotated",
                body="")
    big = '{"pad": "' + "x" * (4 * 1024 * 1024) + '"}'
    check_error(server, "POST", "/mutate", 413, "body over 4 MiB", body=big)
    check_error(server, "POST", "/mutate", 415, "text/plain content type", body=good,
                content_type="text/plain")
    check_error(server, "POST", "/mutate", 415, "no content type", body=good, content_type=None)
    check_error(server, "GET", "/mutate", 405, "GET /mutate")
    check_error(server, "PUT", "/mutate/annotated", 405, "PUT /mutate/annotated", body=good)
    check_error(server, "POST", "/healthz", 405, "POST /healthz", body="{}")
    check_error(server, "GET", "/nope", 404, "unknown path")
    check_error(server, "POST", "/mutate/x", 404, "unknown path under /mutate", body=good)
    check_error(server, "POST", "/mutate/pod-security/x", 404, "unknown path under a twin",
                body=good)
    status, headers, _ = server.request("GET", "/mutate")
    h.check(headers.get("Allow") == "POST", "405 names the allowed method (Allow: POST)")
    h.check(server.get("/healthz")[0] == 200, "GET /healthz -> 200")
    h.check(server.get("/readyz")[0] == 200, "GET /readyz -> 200")


def post_chunked(server, body):
    conn = server.connect()
    try:
        chunks = (body[i:i + 65536].encode() for i in range(0, len(body), 65536))
        conn.request("POST", "/mutate", body=chunks, encode_chunked=True,
                     headers={"Content-Type": "application/json",
                              "Transfer-Encoding": "chunked"})
        return conn.getresponse().status
    finally:
        conn.close()


def check_transport(server):
    good = json.dumps(h.review(h.pod(), uid="query"))
    status, _, _ = server.post_review(good, path="/mutate?timeout=10s")
    h.check(status == 200, "POST /mutate?timeout=10s (as the apiserver sends it) -> 200")
    h.check(post_chunked(server, good) == 200, "chunked review -> 200")
    big = '{"pad": "' + "x" * (5 * 1024 * 1024) + '"}'
    h.check(post_chunked(server, big) == 413, "chunked body over 4 MiB -> 413")


def send_chunked_raw(server, method, path, total):
    """Streams `total` bytes as a chunked body over TLS; see send_chunked."""
    conn = server.context().wrap_socket(socket.create_connection(("127.0.0.1", server.port),
                                                                 timeout=30),
                                        server_hostname="127.0.0.1")
    return send_chunked(conn, method, path, total)


def send_chunked(conn, method, path, total):
    """Streams `total` bytes as a chunked body on `conn`, ignoring the server hanging up early;
    returns the status line of the answer, if any."""
    try:
        conn.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"Transfer-Encoding: chunked\r\n\r\n".encode())
        chunk = b"%x\r\n" % 65536 + b"[" * 65536 + b"\r\n"
        try:
            for _ in range(total // 65536):
                conn.sendall(chunk)
            conn.sendall(b"0\r\n\r\n")
        except OSError:
            pass
        try:
            return conn.recv(4096).split(b"\r\n")[0].decode()
        except OSError as error:
            return repr(error)
    finally:
        conn.close()


def sanitized():
    """Whether the binary is an ASan build (its memory figures then mean nothing)."""
    deps = subprocess.run(["ldd", h.BIN], capture_output=True, text=True).stdout
    return "libasan" in deps or "ASAN_OPTIONS" in os.environ


def peak_rss_kib(server):
    with open(f"/proc/{server.proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def check_unbounded_bodies(server):
    """Chunked bodies bypass cpp-httplib's own payload limit: none may be buffered whole. Each
    body is 20 MiB, over the 16 MiB the server drains before hanging up; buffering one whole
    would raise the peak RSS by at least that much."""
    total = 20 * 1024 * 1024
    before = peak_rss_kib(server)
    for method, path, expected in (("POST", "/mutate", "413"), ("POST", "/elsewhere", "404"),
                                   ("PUT", "/readyz", "405")):
        status = send_chunked_raw(server, method, path, total)
        h.check(expected in status, f"20 MiB chunked {method} {path} -> {expected} ({status})")
    plain = socket.create_connection(("127.0.0.1", server.metrics_port), timeout=30)
    status = send_chunked(plain, "POST", "/metrics", total)
    h.check("400" in status, f"20 MiB chunked POST to the metrics port -> 400 ({status})")
    grown = (peak_rss_kib(server) - before) // 1024
    if sanitized():
        print(f"skip - peak RSS (grew {grown} MiB) under a sanitizer build, whose quarantine "
              "keeps freed memory")
    else:
        h.check(grown < 16, f"peak RSS grew by {grown} MiB (< 16) for 4 x 20 MiB chunked bodies")
    h.check(server.get("/healthz")[0] == 200, "server alive after huge chunked bodies")


def check_versions(server):
    for version in ("admission.k8s.io/v1", "admission.k8s.io/v1beta1"):
        status, _, data = server.post_review(h.review(h.pod(), uid="u-" + version[-6:],
                                                      version=version))
        answer = json.loads(data)
        h.check(status == 200 and answer["apiVersion"] == version
                and answer["kind"] == "AdmissionReview",
                f"{version} review answered as {version}")
        response = answer["response"]
        h.check(response["uid"] == "u-" + version[-6:] and response["allowed"] is True
                and response.get("patchType") == "JSONPatch",
                f"{version}: uid echoed, allowed, patchType JSONPatch")


def check_patch_applies(server):
    pod_object = h.pod(name="app", initContainers=[{"name": "setup", "image": "busybox"}])
    status, _, data = server.post_review(h.review(pod_object, uid="kubectl"))
    patch = h.decode_patch(json.loads(data))
    h.check(status == 200 and patch, "injecting review carries a patch")
    pod_file = os.path.join(h.TMP, "pod.json")
    with open(pod_file, "w") as f:
        json.dump(pod_object, f)
    result = subprocess.run(["kubectl", "patch", "--local", "--type=json", "-p", json.dumps(patch),
                             "-f", pod_file, "-o", "json"], capture_output=True, text=True)
    h.check(result.returncode == 0, f"kubectl patch --local applies the patch {result.stderr}")
    patched = json.loads(result.stdout)
    names = [c["name"] for c in patched["spec"]["containers"]]
    init_names = [c["name"] for c in patched["spec"]["initContainers"]]
    h.check("sigv4proxy" in names + init_names and "iptables-init" in init_names,
            f"patched pod has the sidecar and init container ({names}, {init_names})")
    h.check(names[0] == "app" and "setup" in init_names, "user containers are kept")


def check_skip_and_annotated(server):
    status, _, data = server.post_review(h.review(h.pod(hostNetwork=True), uid="hostnet"))
    response = json.loads(data)["response"]
    h.check(status == 200 and response["allowed"] and "patch" not in response
            and response.get("warnings"), "hostNetwork pod: allowed, no patch, a warning")
    status, _, data = server.post_review(h.review(h.pod(), uid="annotated"),
                                         path="/mutate/annotated")
    response = json.loads(data)["response"]
    h.check(status == 200 and "patch" not in response,
            "/mutate/annotated without the opt-in annotation: no patch")
    # The Pod Security twins answer as their base path, with the Pod Security warning.
    for path, patched in (("/mutate/pod-security", True),
                          ("/mutate/annotated/pod-security", False)):
        status, _, data = server.post_review(h.review(h.pod(), uid="ps"), path=path)
        response = json.loads(data)["response"]
        warned = any("enforce=privileged" in w for w in response.get("warnings", []))
        h.check(status == 200 and ("patch" in response) == patched and warned == patched,
                f"{path}: as its base path, warned when injected")


def check_deep_nesting(server):
    depth = 200_000
    for opener, closer, kind in (("[", "]", "arrays"), ('{"a":', "}", "objects")):
        body = ('{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":'
                + opener * depth + "1" * (kind == "objects") + closer * depth + "}")
        status, _ = status_of(server, "POST", "/mutate", body)
        h.check(status == 400, f"{depth}-deep nested {kind} -> 400")
        h.check(server.get("/healthz")[0] == 200, f"server alive after deep {kind}")
    long_string = '{"apiVersion":"' + "v" * (2 * 1024 * 1024) + '"}'
    status, _ = status_of(server, "POST", "/mutate", long_string)
    h.check(status == 400, "a 2 MiB string -> 400")
    status, _, _ = server.post_review(h.review(h.pod(), uid="after"))
    h.check(status == 200, "server still reviews after hostile bodies")


def check_metrics(before, after):
    def delta(key):
        return after.get(key, 0) - before.get(key, 0)

    mutate = 'sigv4_injector_admission_requests_total{path="/mutate",result="%s"}'
    h.check(delta(mutate % "injected") == 6, "requests_total{result=injected} moved by 6")
    h.check(delta(mutate % "skipped") == 1, "requests_total{result=skipped} moved by 1")
    h.check(delta(mutate % "bad-request") == 7, "requests_total{result=bad-request} moved by 7")
    h.check(delta(mutate % "too-large") == 3, "requests_total{result=too-large} moved by 3")
    h.check(delta(mutate % "unsupported-media-type") == 2, "unsupported-media-type moved by 2")
    h.check(delta(mutate % "method-not-allowed") == 2, "method-not-allowed moved by 2 (GETs)")
    twin = 'sigv4_injector_admission_requests_total{path="%s",result="%s"}'
    h.check(delta(twin % ("/mutate/pod-security", "injected")) == 1
            and delta(twin % ("/mutate/annotated/pod-security", "skipped")) == 1,
            "the Pod Security twins counted under their own paths")
    h.check(delta("sigv4_injector_injections_total") == 7, "injections_total moved by 7")
    h.check(delta('sigv4_injector_skips_total{reason="host-network"}') == 1,
            "skips_total{reason=host-network} moved by 1")
    h.check(delta('sigv4_injector_skips_total{reason="no-annotation"}') == 2,
            "skips_total{reason=no-annotation} moved by 2")
    count = "sigv4_injector_admission_duration_seconds_count"
    first = 'sigv4_injector_admission_duration_seconds_bucket{le="5e-05"}'
    h.check(delta(count) == 18 and first in after, "duration histogram counts, first bucket 50us")
    h.check(after.get("sigv4_injector_ready") == 1, "ready gauge is 1")


def tunables_of(server):
    with open(f"/proc/{server.proc.pid}/environ", "rb") as f:
        env = dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
    return env.get(b"GLIBC_TUNABLES", b"").decode()


def check_malloc_tuning(server, certs):
    """`serve` re-executes itself with a larger per-thread malloc cache, unless the operator set
    GLIBC_TUNABLES (kept as it is); either way it is the same process, serving."""
    h.check(tunables_of(server) == "glibc.malloc.tcache_count=200",
            "serve runs with glibc.malloc.tcache_count=200")
    os.environ["GLIBC_TUNABLES"] = "glibc.malloc.tcache_count=7"
    try:
        own = h.Server(["--tls-cert-file", certs + "/tls.crt", "--tls-key-file",
                        certs + "/tls.key"], cafile=certs + "/ca.crt").wait_ready()
    finally:
        del os.environ["GLIBC_TUNABLES"]
    try:
        h.check(tunables_of(own) == "glibc.malloc.tcache_count=7",
                "an operator's GLIBC_TUNABLES is kept")
        h.check(own.post_review(h.review(h.pod()))[0] == 200, "and it serves reviews")
    finally:
        own.terminate()


def main():
    certs = h.make_certs(os.path.join(h.TMP, "certs"))
    server = h.Server(["--tls-cert-file", certs + "/tls.crt", "--tls-key-file", certs + "/tls.key",
                       "--log-format", "json"], cafile=certs + "/ca.crt").wait_ready()
    try:
        before = server.metrics()
        check_malloc_tuning(server, certs)
        check_statuses(server)
        check_transport(server)
        check_versions(server)
        check_patch_applies(server)
        check_skip_and_annotated(server)
        check_deep_nesting(server)
        check_unbounded_bodies(server)
        check_metrics(before, server.metrics())
        review_line = server.wait_log(r'.*"msg":"review".*"uid":"kubectl".*').group(0)
        fields = json.loads(server.log_text().splitlines()[0])
        h.check("time" in fields and "level" in fields, "JSON log lines parse as JSON")
        h.check('"namespace":"app1"' in review_line and '"pod":"app"' in review_line
                and '"decision":"inject"' in review_line and '"duration_us"' in review_line,
                f"review log line has uid, namespace, pod, decision, duration: {review_line}")
        h.check(server.terminate() == 0, "SIGTERM -> exit 0")
    finally:
        server.kill()


h.run("test_server_http", main)
