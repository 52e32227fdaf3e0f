"""Reviews crafted to cost CPU (issue 16), against the real server over TLS: annotation keys that
all share one std::hash (libstdc++'s murmur-based _Hash_bytes, whose seed is a constant), an
"already injected" pod crafted for the credential sync, and a pod crafted for the matching of
token files and mounts. Each ~4 MiB review may cost the server's process at most 5x the CPU of
an ordinary 4 MiB review (utime + stime from /proc/PID/stat; the quadratic code cost 140x to
400x). Then two attackers at once, while a good client's reviews and /healthz keep being
answered, each within the apiserver's webhook timeout.

The costs are compared in CPU seconds, not time, so they hold on a loaded machine; the one bound
in time is the apiserver's own (5 s) on a good client's answer, which the old code missed by
seconds."""

import http.client
import itertools
import json
import os
import random
import ssl
import threading

import hostile
import server_harness as h

BODY_BYTES = 4_000_000  # each review, just under the 4 MiB limit
MAX_RATIO = 5.0
ORDINARY_CPU = 1.0      # seconds of server CPU to measure the ordinary review over (at least)
MAX_REPEATS = 64
WEBHOOK_TIMEOUT = 5     # seconds: the chart's webhook.timeoutSeconds, the apiserver's bound
ANSWER_TIMEOUT = 600    # bound on one crafted review (the quadratic code took 3 to 10 s)
ATTACK_ROUNDS = 6       # crafted reviews per attacker, at least
GOOD_ROUNDS = 10        # good reviews and probes answered during the attack, at least

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of the process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


# --- keys sharing one std::hash -------------------------------------------------------------
# _Hash_bytes(key, len, seed) starts from h = seed ^ (len * M) and takes 8-byte blocks k as
# h = (h ^ mix(k)) * M, every step invertible, M odd. With the seed a constant, the state is
# known: for any first block, the second block that brings the state to a chosen value can be
# computed (kept when it is ASCII, 1 in 256), so every such 16-byte head has one hash. And two
# blocks whose mixes differ only in the top bit, then two more alike, leave the state as it was
# ((x ^ 2^63) * M == (x * M) ^ 2^63): each such segment appended doubles the keys.
MASK = (1 << 64) - 1
MUL = 0xC6A4A7935BD1E995
MUL_INVERSE = pow(MUL, -1, 1 << 64)
SEED = 0xC70F6907
TOP = 1 << 63
HIGH_BITS = 0x8080808080808080
SEGMENTS = 2  # after the head: 4 keys a head, 48 bytes a key


def mix(k):
    k = (k * MUL) & MASK
    k ^= k >> 47
    return (k * MUL) & MASK


def unmix(y):
    y = (y * MUL_INVERSE) & MASK
    y ^= y >> 47
    return (y * MUL_INVERSE) & MASK


def block(value):
    return value.to_bytes(8, "little")


def segments(count):
    """`count` pairs of 16-byte segments that leave the hash state alike."""
    rng = random.Random(16)
    out = []
    for _ in range(count):
        pair = [b"", b""]
        for _ in range(2):
            while True:
                a = int.from_bytes(bytes(rng.randrange(0x20, 0x7F) for _ in range(8)), "little")
                b = unmix(mix(a) ^ TOP)
                if b & HIGH_BITS == 0:
                    pair[0] += block(a)
                    pair[1] += block(b)
                    break
        out.append(pair)
    return out


def colliding_keys(count):
    """At least `count` distinct ASCII keys of 16 * (1 + SEGMENTS) bytes sharing one hash.
    Control characters among them go out escaped."""
    length = 16 * (1 + SEGMENTS)
    state = SEED ^ ((length * MUL) & MASK)
    target = 0  # the state after the head, whatever it is: the same for every key
    tails = [b"".join(choice) for choice in itertools.product(*segments(SEGMENTS))]
    keys = []
    serial = 0
    while len(keys) < count:
        first = ("%08x" % serial).encode()
        serial += 1
        after_first = ((state ^ mix(int.from_bytes(first, "little"))) * MUL) & MASK
        second = unmix(((target * MUL_INVERSE) & MASK) ^ after_first)
        if second & HIGH_BITS == 0:
            keys.extend((first + block(second) + tail).decode() for tail in tails)
    return keys


# --- the reviews ----------------------------------------------------------------------------
def dumps(value):
    return json.dumps(value, separators=(",", ":"))


def sized(make, what):
    """The pod make(n) for the largest n whose review fits BODY_BYTES, and that review."""
    def size(n):
        return len(dumps(h.review(make(n))))
    # Pods grow about linearly in n: estimate, then bisect around the estimate.
    base = size(1)
    per = (size(1025) - base) / 1024
    low, high = 1, int((BODY_BYTES - base) / per * 1.02) + 2
    while size(high) <= BODY_BYTES:
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if size(middle) <= BODY_BYTES:
            low = middle
        else:
            high = middle
    pod_object = make(low)
    body = dumps(h.review(pod_object, uid=what)).encode()
    h.check(BODY_BYTES * 0.9 < len(body) <= BODY_BYTES, f"{what}: a body of {len(body)} bytes")
    return pod_object, body


def ordinary_pod(n):
    """A big pod as they come: n env vars, none of them credentials."""
    pod_object = h.pod(name="ordinary")
    pod_object["spec"]["containers"][0]["env"] = [
        {"name": f"SETTING_{i:06d}", "value": f"value-{i:06d}-" + "v" * 24} for i in range(n)]
    return pod_object


HASH_KEYS = []


def colliding_pod(n):
    """n annotations whose keys all share one std::hash."""
    if len(HASH_KEYS) < n:
        HASH_KEYS[:] = colliding_keys(n)
    pod_object = h.pod(name="colliding")
    pod_object["metadata"]["annotations"] = {key: "" for key in HASH_KEYS[:n]}
    return pod_object


def injected_pod(n):
    """Already injected, crafted for the credential sync: the app carries n credential env
    entries and n token mounts, the sidecar has every one of them, each after n that differ.
    Nothing is missing: the answer carries no patch, all the work is matching."""
    dirs = [f"/var/run/m{i}" for i in range(n)]
    app = {"name": "app", "image": "nginx",
           "env": [{"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": d + "/token"} for d in dirs],
           "volumeMounts": [{"name": "t", "mountPath": d} for d in dirs]}
    proxy = {"name": "sigv4proxy", "image": "proxy",
             "env": [{"name": f"X{i}"} for i in range(n)]
             + [{"name": "AWS_WEB_IDENTITY_TOKEN_FILE"}],
             "volumeMounts": [{"name": "x", "mountPath": f"/x{i}"} for i in range(n)]
             + app["volumeMounts"]}
    pod_object = h.pod(name="injected")
    pod_object["metadata"]["annotations"] = {"sigv4-injector.io/status": "injected"}
    pod_object["spec"]["containers"] = [app, proxy]
    return pod_object


def token_pod(n):
    """To inject, crafted for the token mounts: n token-file env entries and n mounts, none of
    which holds a token file."""
    pod_object = h.pod(name="tokens")
    app = pod_object["spec"]["containers"][0]
    app["env"] = [{"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": f"/t/{i}/token"}
                  for i in range(n)]
    app["volumeMounts"] = [{"name": "m", "mountPath": f"/m/{i}"} for i in range(n)]
    return pod_object


def verify(status, data, uid, pod_object, patched):
    """None when the answer is right for the crafted pod, else what is wrong."""
    if not patched:
        problem = hostile.verify_answer(status, data, uid, pod_object, expect_inject=False)
        if problem is None and "patch" in json.loads(data)["response"]:
            problem = "a patch for a pod that needs none"
        return problem
    return hostile.verify_answer(status, data, uid, pod_object)


# --- measuring ------------------------------------------------------------------------------
def post(server, body, conn):
    status, _, data = server.post_review(body, conn=conn)
    return status, data


def measure(server, name, pod_object, body, patched, repeats=None, budget=None):
    """Posts `body` `repeats` times (or until the server spent ORDINARY_CPU on it) on one
    connection; returns (repeats, server CPU seconds). Stops early once `budget` is spent."""
    conn = server.connect(timeout=ANSWER_TIMEOUT)
    done = 0
    start = cpu_seconds(server.proc.pid)
    spent = 0.0
    try:
        while True:
            status, data = post(server, body, conn)
            done += 1
            spent = cpu_seconds(server.proc.pid) - start
            problem = verify(status, data, name, pod_object, patched)
            if problem:
                h.check(False, f"{name}: the answer is right ({problem})")
            if repeats is not None and done >= repeats:
                break
            if repeats is None and (spent >= ORDINARY_CPU or done >= MAX_REPEATS):
                break
            if budget is not None and spent > budget:
                break
    finally:
        conn.close()
    return done, spent


def check_cpu(server, cases):
    ordinary_object, ordinary_body = cases["ordinary"][:2]
    repeats, ordinary = measure(server, "ordinary", ordinary_object, ordinary_body, True)
    per_review = ordinary / repeats
    print(f"# ordinary: {repeats} reviews, {ordinary:.2f} s CPU, {per_review * 1000:.1f} ms each",
          flush=True)
    h.check(ordinary > 0, "the ordinary review costs measurable CPU")
    measured = {}
    for name in ("colliding", "injected", "tokens"):
        pod_object, body, patched = cases[name]
        done, spent = measure(server, name, pod_object, body, patched, repeats=repeats,
                              budget=MAX_RATIO * ordinary)
        measured[name] = spent / done
        print(f"# {name}: {done} reviews, {spent:.2f} s CPU, {measured[name] * 1000:.1f} ms each",
              flush=True)
    for name, each in measured.items():
        h.check(each <= MAX_RATIO * per_review,
                f"{name}: {each * 1000:.1f} ms of CPU a review, at most {MAX_RATIO:.0f}x the "
                f"ordinary review's {per_review * 1000:.1f} ms ({each / per_review:.1f}x)")


# --- under attack ---------------------------------------------------------------------------
class Attacker:
    """A thread posting crafted reviews (of every kind, in turn) until stopped, and at least
    ATTACK_ROUNDS of them."""

    def __init__(self, server, cases, stop):
        self.server, self.cases, self.stop = server, cases, stop
        self.sent = 0
        self.problems = []
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        names = ("colliding", "injected", "tokens")
        conn = None
        while self.sent < ATTACK_ROUNDS or not self.stop.is_set():
            name = names[self.sent % len(names)]
            pod_object, body, patched = self.cases[name]
            try:
                conn = conn or self.server.connect(timeout=ANSWER_TIMEOUT)
                status, data = post(self.server, body, conn)
            except (OSError, http.client.HTTPException, ssl.SSLError) as error:
                self.problems.append(f"{name}: {error!r}")
                return
            problem = verify(status, data, name, pod_object, patched)
            if problem:
                self.problems.append(f"{name}: {problem}")
            self.sent += 1
        conn.close()


def check_under_attack(server, cases):
    stop = threading.Event()
    attackers = [Attacker(server, cases, stop) for _ in range(2)]
    good = h.pod(name="good")
    answered = 0
    failures = []
    try:
        while (any(a.thread.is_alive() for a in attackers) or answered < GOOD_ROUNDS) \
                and not failures:
            uid = f"good-{answered}"
            try:
                conn = server.connect(timeout=WEBHOOK_TIMEOUT)
                try:
                    status, data = post(server, dumps(h.review(good, uid=uid)), conn)
                    problem = hostile.verify_answer(status, data, uid, good)
                    health, _, _ = server.request("GET", "/healthz", conn=conn)
                finally:
                    conn.close()
            except (OSError, http.client.HTTPException, ssl.SSLError) as error:
                problem, health = f"no answer within {WEBHOOK_TIMEOUT} s: {error!r}", 200
            if problem or health != 200:
                failures.append(f"{uid}: {problem or f'/healthz {health}'}")
            answered += 1
            if answered >= GOOD_ROUNDS:
                stop.set()
    finally:
        stop.set()
    h.check(not failures, f"during the attack: {answered} good reviews and /healthz probes, each "
            f"answered right within {WEBHOOK_TIMEOUT} s ({failures[:2]})")
    for a in attackers:
        a.thread.join(timeout=ANSWER_TIMEOUT)
        h.check(not a.thread.is_alive() and not a.problems and a.sent >= ATTACK_ROUNDS,
                f"an attacker got {a.sent} right answers ({a.problems[:2]})")


def main():
    cases = {}
    for name, make, patched in (("ordinary", ordinary_pod, True),
                                ("colliding", colliding_pod, True),
                                ("injected", injected_pod, False),
                                ("tokens", token_pod, True)):
        cases[name] = sized(make, name) + (patched,)
    certs = h.make_certs(os.path.join(h.TMP, "certs"))
    server = h.Server(["--tls-cert-file", certs + "/tls.crt", "--tls-key-file", certs + "/tls.key"],
                      cafile=certs + "/ca.crt").wait_ready()
    try:
        check_cpu(server, cases)
        check_under_attack(server, cases)
        errors = server.metrics()
        internal = sum(v for k, v in errors.items()
                       if k.startswith("sigv4_injector_admission_requests_total")
                       and 'result="error"' in k)
        h.check(internal == 0, f"no review counted as an internal error ({internal})")
        h.check(server.terminate() == 0, "SIGTERM -> exit 0 (no leak reported under ASan)")
    finally:
        server.kill()


if __name__ == "__main__":
    h.run("test_hostile_cpu", main)
