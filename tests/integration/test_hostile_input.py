"""Hostile bodies through the real server (SPEC section 6): deep nesting, huge strings and
arrays, invalid UTF-8, NUL bytes, wrong JSON types in every field of the review and of the pod,
duplicate keys, out-of-range numbers, a review without a request. Each gets its status (400 for
a bad review, 200 for an odd but valid pod, 413/415/405/404 for the transport), never a 500,
while a good client keeps getting correct answers at the same time."""

import json
import os

import hostile
import server_harness as h

V1 = "admission.k8s.io/v1"


def post(server, body, path="/mutate", content_type="application/json"):
    if isinstance(body, str):
        body = body.encode()
    headers = {"Content-Type": content_type} if content_type else {}
    status, _, data = server.request("POST", path, body=body, headers=headers)
    return status, data


def error_message(data):
    try:
        return json.loads(data).get("message", "")
    except (ValueError, AttributeError):
        return ""


def check_status(server, body, expected, what, path="/mutate"):
    status, data = post(server, body, path)
    h.check(status == expected, f"{what} -> {expected} (got {status} {data[:120]!r})")
    return status, data


def wrapped(pod_text, uid="hostile"):
    """A well-formed v1 review around a raw pod JSON text."""
    return ('{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"'
            + uid + '","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE",'
            '"namespace":"app1","object":' + pod_text + "}}")


def check_size_and_depth(server):
    for depth in (101, 5000, 1_000_000):
        body = wrapped('{"metadata":{"annotations":' + "[" * depth + "]" * depth + "}}")
        check_status(server, body, 400, f"pod nested {depth} deep")
    check_status(server, wrapped('{"metadata":{"name":"' + "n" * (1 << 20 | 1) + '"}}'), 400,
                 "a pod name of 1 MiB + 1")
    check_status(server, wrapped('{"metadata":{"name":"' + "n" * (3 << 20)), 400,
                 "an unterminated 3 MiB string")
    many = wrapped('{"metadata":{"name":"arr"},"spec":{"containers":[{"name":"a","image":"b"}],'
                   '"tolerations":[' + ",".join(["{}"] * 1_000_000) + "]}}", uid="arr")
    status, data = check_status(server, many, 200, "1,000,000 empty tolerations (under 4 MiB)")
    h.check(json.loads(data)["response"]["uid"] == "arr", "huge array: uid echoed")
    env = [{"name": f"E{i}", "value": "v"} for i in range(60_000)]
    pod_object = h.pod(name="env")
    pod_object["spec"]["containers"][0]["env"] = env
    status, data = post(server, json.dumps(h.review(pod_object, uid="env")))
    h.check(hostile.verify_answer(status, data, "env", pod_object) is None,
            "a pod with 60,000 env vars is injected and the patch applies")
    check_status(server, "[" * ((4 << 20) + 1), 413, "4 MiB + 1 byte of '['")


def check_encoding(server):
    good = json.dumps(h.review(h.pod(), uid="enc"))
    for name, bad in (("invalid UTF-8", b"\xff\xfe"), ("overlong UTF-8", b"\xc0\xaf"),
                      ("a lone surrogate in UTF-8", b"\xed\xa0\x80"), ("a raw NUL", b"\x00"),
                      ("a raw control character", b"\x01")):
        body = good.replace('"web"', '"we' + "\x7f" + '"').encode().replace(b"\x7f", bad)
        check_status(server, body, 400, f"{name} inside a string")
    check_status(server, b"\x00" * 64, 400, "a body of NUL bytes")
    check_status(server, b"\xef\xbb\xbf" + good.encode(), 200, "a UTF-8 byte order mark")
    escaped = h.pod(name="nul\u0000name\ud7ff")
    escaped["metadata"]["annotations"] = {"a\u0000b": "\u0000", "emoji": "\U0001F600"}
    status, data = post(server, json.dumps(h.review(escaped, uid="esc\u0000")))
    h.check(hostile.verify_answer(status, data, "esc\u0000", escaped) is None,
            "escaped NULs and non-BMP characters: answered, uid echoed, patch applies")
    status, data = post(server, wrapped('{"metadata":{"name":"\\ud800"},"spec":{}}'))
    h.check(status in (200, 400) and (status == 400 or json.loads(data)),
            f"an escaped lone surrogate: {status}, a parsable answer")


def review_with(path, value):
    """A good v1 review with the field at `path` (a tuple of keys) set to `value`."""
    body = h.review(h.pod(), uid="types")
    node = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return body


def check_review_types(server):
    # A review field of the wrong type (or a required one missing or empty) is a malformed
    # review: 400 with a message.
    wrong = (1, -1, 1.5, True, [], [1])
    cases = {("apiVersion",): wrong + ({}, None, "", "x"), ("kind",): wrong + ({}, None, "", "x"),
             ("request",): wrong + ({}, None, "", "x", {"a": 1}),
             ("request", "uid"): wrong + ({}, None, ""), ("request", "kind"): wrong + ("x",),
             ("request", "operation"): wrong + ({},), ("request", "namespace"): wrong + ({},)}
    for path, values in cases.items():
        for value in values:
            status, data = post(server, json.dumps(review_with(path, value)))
            h.check(status == 400 and error_message(data),
                    f"review {'.'.join(path)} = {json.dumps(value)} -> 400 "
                    f"({status} {error_message(data)!r})")
    for value in (1, "x", [], True):
        status, data = post(server, json.dumps(review_with(("request", "object"), value)))
        h.check(status == 400 and "request.object" in error_message(data),
                f"request.object = {json.dumps(value)} -> 400 naming request.object")
    status, data = post(server, json.dumps({"apiVersion": V1, "kind": "AdmissionReview"}))
    h.check(status == 400 and "request" in error_message(data), "a review without request -> 400")
    for body in ("null", "[]", "1", '"AdmissionReview"', "{}", "true"):
        check_status(server, body, 400, f"a body of {body}")


def pod_paths(pod_object, prefix=()):
    """Every (path) of the pod's fields, containers and their entries included."""
    if isinstance(pod_object, dict):
        for key, value in pod_object.items():
            yield prefix + (key,)
            yield from pod_paths(value, prefix + (key,))
    elif isinstance(pod_object, list):
        for index, value in enumerate(pod_object):
            yield prefix + (index,)
            yield from pod_paths(value, prefix + (index,))


def check_pod_types(server):
    # The pod is the apiserver's business: wrong types count as absent, never a 500.
    base = h.pod(initContainers=[{"name": "setup", "image": "busybox"}])
    base["metadata"]["labels"] = {"app": "web"}
    base["metadata"]["annotations"] = {"note": "x"}
    base["metadata"]["ownerReferences"] = [{"kind": "ReplicaSet", "name": "rs"}]
    base["spec"]["containers"][0]["ports"] = [{"containerPort": 80}]
    base["spec"]["containers"][0]["env"] = [{"name": "AWS_ROLE_ARN", "value": "arn"}]
    base["spec"]["hostNetwork"] = False
    answered = 0
    for path in list(pod_paths(base)):
        for value in (1, "s", [], {}, None, True, -1e308):
            pod_object = json.loads(json.dumps(base))
            node = pod_object
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
            uid = "pod-" + "-".join(map(str, path))
            body = h.review(h.pod(), uid=uid)
            body["request"]["object"] = pod_object
            status, data = post(server, json.dumps(body))
            ok = status == 200 and json.loads(data)["response"]["uid"] == uid
            patch = data and json.loads(data)["response"].get("patch")
            if ok and patch:
                ok = hostile.verify_answer(status, data, uid, pod_object) is None
            if not ok:
                h.check(False, f"pod {'.'.join(map(str, path))} = {json.dumps(value)}: "
                        f"{status} {data[:200]!r}")
            answered += 1
    h.check(answered > 100, f"{answered} pods with a wrong-typed field: each 200, uid echoed, "
            "any patch applies")


def check_duplicates_and_numbers(server):
    dup = ('{"apiVersion":"admission.k8s.io/v1","apiVersion":"admission.k8s.io/v1",'
           '"kind":"AdmissionReview","request":{"uid":"d1","uid":"d2","kind":{"kind":"Pod"},'
           '"operation":"CREATE","object":{"metadata":{"name":"a","name":"b"},'
           '"spec":{"containers":[{"name":"a"}],"containers":[{"name":"b"}]}}}}')
    status, data = post(server, dup)
    h.check(status in (200, 400), f"duplicate keys -> {status} (a clear answer, not a 500)")
    if status == 200:
        h.check(json.loads(data)["response"]["uid"] in ("d1", "d2"), "duplicate uid: one echoed")
    for number in ("1e400", "-1e400", "18446744073709551616", "-9223372036854775809",
                   "123456789012345678901234567890", "1e-400", "-0"):
        pod_text = ('{"metadata":{"name":"num"},"spec":{"containers":[{"name":"a","image":"b",'
                    '"ports":[{"containerPort":' + number + '}]}],"terminationGracePeriodSeconds":'
                    + number + "}}")
        status, data = post(server, wrapped(pod_text, uid="num"))
        h.check(status in (200, 400), f"number {number} -> {status} (not a 500)")
        if status == 200:
            h.check(json.loads(data)["response"]["uid"] == "num", f"number {number}: uid echoed")
    port = h.pod(name="port")
    port["metadata"]["annotations"] = {"sigv4-injector.io/proxy-port": "99999999999999999999"}
    status, data = post(server, json.dumps(h.review(port, uid="port")))
    answer = json.loads(data)["response"]
    h.check(status == 200 and answer["allowed"] is False and answer["status"]["code"] == 400
            and "proxy-port" in answer["status"]["message"],
            "a proxy-port override out of range denies the pod naming the annotation")


def check_transport(server):
    good = json.dumps(h.review(h.pod(), uid="t"))
    check_status(server, "x" * (4 * 1024 * 1024 + 1), 413, "a body 1 byte over 4 MiB")
    h.check(post(server, good, content_type="text/yaml")[0] == 415, "text/yaml -> 415")
    h.check(post(server, good, content_type="application/jsonx")[0] == 415,
            "application/jsonx -> 415")
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        status, _, _ = server.request(method, "/mutate", body=good,
                                      headers={"Content-Type": "application/json"})
        h.check(status == 405, f"{method} /mutate -> 405 ({status})")
    for path in ("/mutate/", "/MUTATE", "/mutate/annotated/x", "/%00", "/" + "a" * 4000):
        h.check(post(server, good, path=path)[0] == 404, f"POST {path[:40]} -> 404")


def main():
    certs = h.make_certs(os.path.join(h.TMP, "certs"))
    server = h.Server(["--tls-cert-file", certs + "/tls.crt", "--tls-key-file", certs + "/tls.key"],
                      cafile=certs + "/ca.crt").wait_ready()
    good = hostile.GoodClient(server)
    try:
        for step in (check_size_and_depth, check_encoding, check_review_types, check_pod_types,
                     check_duplicates_and_numbers, check_transport):
            step(server)
            good.wait_for_more(3, step.__name__)
        five = hostile.internal_errors(server)
        h.check(five == 0, f"no review counted as an internal error ({five})")
        good.stop()
        h.check(server.terminate() == 0, "SIGTERM -> exit 0 (no leak reported under ASan)")
    finally:
        good.stop_event.set()
        server.kill()


if __name__ == "__main__":
    h.run("test_hostile_input", main)
