"""Helpers of the hostile-input and fault tests: a good client that keeps reviewing (and
verifying every answer) while a test attacks the server, and a minimal RFC 6902 applier.

Standard library only; servers are started with server_harness."""

import base64
import http.client
import json
import ssl
import threading

import server_harness as h

# Bounds that only limit how long a failing test hangs.
PROGRESS_TIMEOUT = 60.0


def apply_patch(document, patch):
    """Applies an RFC 6902 patch of add/replace/remove/test operations; raises on any error."""
    doc = json.loads(json.dumps(document))
    for op in patch:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        parent = doc
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        last = parts[-1] if parts else None
        kind = op["op"]
        if kind == "add":
            if isinstance(parent, list):
                index = len(parent) if last == "-" else int(last)
                if not 0 <= index <= len(parent):
                    raise IndexError(op["path"])
                parent.insert(index, op["value"])
            elif last is None:
                doc = op["value"]
            else:
                parent[last] = op["value"]
        elif kind == "replace":
            parent[int(last) if isinstance(parent, list) else last] = op["value"]
        elif kind == "remove":
            del parent[int(last) if isinstance(parent, list) else last]
        elif kind == "test":
            if (parent[int(last)] if isinstance(parent, list) else parent[last]) != op["value"]:
                raise ValueError("test failed: " + op["path"])
        else:
            raise ValueError("unexpected op " + kind)
    return doc


def verify_answer(status, data, uid, pod_object, expect_inject=True):
    """Returns None when the answer is a correct review of `pod_object`, else what is wrong."""
    if status != 200:
        return f"status {status}"
    try:
        answer = json.loads(data)
        response = answer["response"]
    except (ValueError, KeyError, TypeError) as error:
        return f"unparsable answer {error}"
    if response.get("uid") != uid or response.get("allowed") is not True:
        return f"uid/allowed wrong: {response.get('uid')} {response.get('allowed')}"
    if not expect_inject:
        return None
    try:
        patch = json.loads(base64.b64decode(response["patch"]))
        patched = apply_patch(pod_object, patch)
        spec = patched["spec"]
        names = [c.get("name") for key in ("containers", "initContainers")
                 if isinstance(spec.get(key), list) for c in spec[key] if isinstance(c, dict)]
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as error:
        return f"patch does not apply: {error!r}"
    if "sigv4proxy" not in names or "iptables-init" not in names:
        return f"patched pod lacks the injected containers: {names}"
    return None


class GoodClient:
    """A thread reviewing a typical pod over keep-alive, verifying each answer, until stopped.
    Connection errors reconnect (a hostile neighbour may not break a good client's answers,
    but the test may restart or stop the server); wrong answers are recorded as failures."""

    def __init__(self, server, name="good"):
        self.server = server
        self.name = name
        self.ok = 0
        self.failures = []
        self.errors = 0
        self.cond = threading.Condition()
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        pod_object = h.pod(name="good")
        conn = None
        serial = 0
        while not self.stop_event.is_set():
            serial += 1
            uid = f"{self.name}-{serial}"
            try:
                conn = conn or self.server.connect(timeout=60)
                status, _, data = self.server.post_review(h.review(pod_object, uid=uid),
                                                          conn=conn)
            except (OSError, http.client.HTTPException, ssl.SSLError):
                with self.cond:
                    self.errors += 1
                if conn is not None:
                    conn.close()
                conn = None
                self.stop_event.wait(0.05)
                continue
            problem = verify_answer(status, data, uid, pod_object)
            with self.cond:
                if problem:
                    self.failures.append(f"{uid}: {problem}")
                else:
                    self.ok += 1
                self.cond.notify_all()
        if conn is not None:
            conn.close()

    def answered(self):
        with self.cond:
            return self.ok

    def wait_for_more(self, count, what):
        """Waits until `count` more reviews were answered correctly (bounded)."""
        target = self.answered() + count
        with self.cond:
            done = self.cond.wait_for(lambda: self.ok >= target or self.failures,
                                      timeout=PROGRESS_TIMEOUT)
        h.check(done and not self.failures,
                f"{what}: the good client got {count} more correct answers "
                f"(failures: {self.failures[:3]})")

    def stop(self):
        self.stop_event.set()
        self.thread.join(timeout=PROGRESS_TIMEOUT)
        h.check(not self.failures, f"{self.name}: {self.ok} correct answers, no wrong answer "
                f"({self.failures[:3]})")


def internal_errors(server):
    """Reviews the server counted as internal errors (result="error"), from its metrics."""
    return sum(v for k, v in server.metrics().items()
               if k.startswith("sigv4_injector_admission_requests_total") and 'result="error"' in k)
