"""Faults around the running server: certificate files deleted or corrupted (a key that does
not match, garbage) at reload, the config file broken or removed at reload, SIGTERM under load,
and the metrics port taken at start. The old state keeps serving, nothing in flight is lost,
and a start that cannot bind exits non-zero with a clear error. (Rotation and a truncated
certificate are covered by test_server_reload.py; SIGTERM with idle in-flight requests by
test_server_shutdown.py.) And nobody reading the server's stderr: reviews go on, no line lost."""

import http.client
import json
import os
import re
import shutil
import socket
import ssl
import threading

import hostile
import server_harness as h

LOAD_CLIENTS = 4


def region_of(server):
    _, _, data = server.post_review(h.review(h.pod(), uid="region"))
    text = json.dumps(h.decode_patch(json.loads(data)) or [])
    match = re.search(r'"AWS_REGION", "value": "([a-z0-9-]+)"', text)
    return match.group(1) if match else None


def failures_of(server, what):
    return server.metrics()[f'sigv4_injector_{what}_reloads_total{{result="failure"}}']


def check_cert_faults(server, certs):
    crt, key = certs + "/tls.crt", certs + "/tls.key"
    saved = {path: open(path, "rb").read() for path in (crt, key)}
    other = h.make_certs(os.path.join(h.TMP, "other"))
    faults = (
        ("both files deleted", lambda: (os.remove(crt), os.remove(key))),
        ("key replaced by another certificate's key", lambda: shutil.copy(other + "/tls.key", key)),
        ("certificate replaced by garbage bytes",
         lambda: open(crt, "wb").write(os.urandom(3000))),
        ("certificate emptied", lambda: open(crt, "wb").close()),
    )
    for what, fault in faults:
        before = failures_of(server, "cert")
        fault()
        h.wait_until(lambda: failures_of(server, "cert") > before, h.RELOAD_TIMEOUT,
                     f"cert reload fails when the {what}")
        status, _, data = server.post_review(h.review(h.pod(), uid="cert-fault"))
        h.check(hostile.verify_answer(status, data, "cert-fault", h.pod()) is None,
                f"{what}: new TLS connections still served with the old certificate")
        for path, content in saved.items():
            with open(path + ".new", "wb") as f:
                f.write(content)
            os.replace(path + ".new", path)
        h.wait_until(lambda: server.get("/readyz")[0] == 200, h.RELOAD_TIMEOUT,
                     f"ready again once the files are restored ({what})")


def check_config_faults(server, config):
    with open(config, "w") as f:
        f.write("region: eu-west-1\n")
    h.wait_until(lambda: region_of(server) == "eu-west-1", h.RELOAD_TIMEOUT, "config reloaded")
    def write(content):
        # Atomically, as the kubelet updates a ConfigMap volume: a reload never sees half a file.
        with open(config + ".new", "wb") as f:
            f.write(content.encode() if isinstance(content, str) else content)
        os.replace(config + ".new", config)

    # Nine levels of nine-fold aliases under a known key (9^9 strings if expanded).
    levels = ["&l0 [" + ", ".join(["x"] * 9) + "]"] + [
        f"&l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9)]
    bomb = "region: eu-west-1\nproxy:\n  extraArgs: [" + ", ".join(levels) + "]\n"
    faults = (
        ("removed", lambda: os.remove(config)),
        ("garbage bytes", lambda: write(b"\x00\xff{[\x01" * 100)),
        ("a list instead of a mapping", lambda: write("- region\n")),
        ("a deep YAML nest", lambda: write("[" * 100000)),
        ("an alias bomb", lambda: write(bomb)),
        ("an unknown key", lambda: write("region: eu-west-1\nregoin: x\n")),
    )
    for what, fault in faults:
        before = failures_of(server, "config")
        fault()
        h.wait_until(lambda: failures_of(server, "config") > before, h.RELOAD_TIMEOUT,
                     f"config reload fails when the file is {what}")
        h.check(region_of(server) == "eu-west-1", f"config {what}: the old config keeps serving")
        h.check(server.get("/readyz")[0] == 200, f"config {what}: still ready")
    write("region: us-east-2\n")
    h.wait_until(lambda: region_of(server) == "us-east-2", h.RELOAD_TIMEOUT,
                 "a good config after the faults is loaded")


class Loader:
    """A client thread posting reviews over keep-alive until its connection fails, recording
    every uid answered and any wrong answer."""

    def __init__(self, server, name):
        self.server, self.name = server, name
        self.answered, self.failures = set(), []
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        pod_object = h.pod(name=self.name)
        try:
            conn = self.server.connect(timeout=60)
            for serial in range(1_000_000):
                uid = f"{self.name}-{serial}"
                status, _, data = self.server.post_review(h.review(pod_object, uid=uid), conn=conn)
                problem = hostile.verify_answer(status, data, uid, pod_object)
                if problem:
                    self.failures.append(f"{uid}: {problem}")
                    return
                self.answered.add(uid)
        except (OSError, http.client.HTTPException, ssl.SSLError):
            return  # the server closed the connection at shutdown


def check_sigterm_under_load(certs):
    server = h.Server(["--tls-cert-file", certs + "/tls.crt", "--tls-key-file", certs + "/tls.key",
                       "--log-format", "json"], cafile=certs + "/ca.crt").wait_ready()
    try:
        loaders = [Loader(server, f"load{i}") for i in range(LOAD_CLIENTS)]
        h.wait_until(lambda: all(len(l.answered) >= 20 for l in loaders), h.READY_TIMEOUT,
                     f"{LOAD_CLIENTS} clients under load")
        server.proc.send_signal(15)
        code = server.proc.wait(timeout=60)
        server.reader.join(timeout=10)
        for loader in loaders:
            loader.thread.join(timeout=60)
        h.check(code == 0, f"SIGTERM under load -> exit 0 (got {code})")
        h.check(not any(l.failures for l in loaders),
                f"no wrong answer under load ({[l.failures[:1] for l in loaders]})")
        reviewed = set()
        for line in server.log_text().splitlines():
            if line.startswith("{") and '"review"' in line:
                uid = json.loads(line).get("uid", "")
                if uid.startswith("load"):
                    reviewed.add(uid)
        answered = set().union(*(l.answered for l in loaders))
        lost = reviewed - answered
        h.check(reviewed and not lost, f"every review the server handled reached its client "
                f"({len(reviewed)} reviewed, {len(answered)} answered, lost {sorted(lost)[:5]})")
    finally:
        server.kill()


def check_stuck_stderr(certs):
    """Nobody reads the server's stderr (a stuck container runtime): reviews go on being
    answered while the log lines wait in the server, and none is lost once stderr is read."""
    server = h.Server(["--tls-cert-file", certs + "/tls.crt", "--tls-key-file", certs + "/tls.key"],
                      cafile=certs + "/ca.crt").wait_ready()
    count = 2000  # about 360 KB of log lines: far past the pipe's 64 KB, far below the 4 MiB bound
    try:
        server.hold_log()
        held_at = server.log_count()
        failures = []
        answered = []

        def client(first):
            try:
                conn = server.connect(timeout=20)
                for i in range(first, count, 4):
                    status, _, data = server.post_review(h.review(h.pod(), uid=f"stuck-{i}"),
                                                         conn=conn)
                    problem = hostile.verify_answer(status, data, f"stuck-{i}", h.pod())
                    if problem:
                        failures.append(problem)
                    else:
                        answered.append(i)
                conn.close()
            except (OSError, http.client.HTTPException) as error:  # a timeout: the server stalled
                failures.append(f"client {first}: {error!r}")

        threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        h.check(not failures and len(answered) == count,
                f"{count} reviews answered while nobody reads stderr ({failures[:2]})")
        h.check(server.log_count() < held_at + count // 2,
                "most of their log lines were still waiting in the server")
        server.release_log()
        h.wait_until(lambda: server.log_text().count("uid=stuck-") == count, h.READY_TIMEOUT,
                     f"once stderr is read, all {count} review lines arrive")
        h.check(server.terminate() == 0, "SIGTERM -> exit 0")
    finally:
        server.release_log()
        server.kill()


def check_metrics_port_taken(certs):
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    try:
        server = h.Server(["--tls-cert-file", certs + "/tls.crt", "--tls-key-file",
                           certs + "/tls.key", "--metrics-listen", f"127.0.0.1:{port}"])
        code = server.proc.wait(timeout=60)
        server.reader.join(timeout=10)
        log = server.log_text()
        h.check(code != 0, f"metrics port taken: exit non-zero (got {code})")
        h.check("cannot bind" in log and str(port) in log,
                f"the error says it cannot bind and names the address: {log[-300:]!r}")
    finally:
        blocker.close()


def main():
    certs = h.make_certs(os.path.join(h.TMP, "certs"))
    config = os.path.join(h.TMP, "config.yaml")
    with open(config, "w") as f:
        f.write("region: us-west-2\n")
    server = h.Server(["--tls-cert-file", certs + "/tls.crt", "--tls-key-file", certs + "/tls.key",
                       "--config", config, "--reload-interval", "0.1"],
                      cafile=certs + "/ca.crt").wait_ready()
    good = hostile.GoodClient(server)
    try:
        check_cert_faults(server, certs)
        good.wait_for_more(5, "after the certificate faults")
        check_config_faults(server, config)
        good.wait_for_more(5, "after the config faults")
        good.stop()
        h.check(server.terminate() == 0, "SIGTERM -> exit 0")
    finally:
        good.stop_event.set()
        server.kill()
    check_sigterm_under_load(certs)
    check_stuck_stderr(certs)
    check_metrics_port_taken(certs)


if __name__ == "__main__":
    h.run("test_hostile_faults", main)
