"""Idle keep-alive connections must not starve new clients: 64 connections each make one
request and stay open and idle; a 65th client must still be answered, and the 64 must still be
usable afterwards.

The keep-alive timeout is set far above the client timeout, so a server that parks a worker per
idle connection with a pool of 64 or fewer would make the 65th client time out (a failure), not
merely slow it down."""

import json
import os
import time

import server_harness as h

IDLE = 64


def main():
    certs = h.make_certs(os.path.join(h.TMP, "certs"))
    server = h.Server(["--tls-cert-file", certs + "/tls.crt", "--tls-key-file", certs + "/tls.key",
                       "--keep-alive-timeout", "300"], cafile=certs + "/ca.crt").wait_ready()
    idle = []
    try:
        for _ in range(IDLE):
            conn = server.connect(timeout=30)
            status, headers, _ = server.request("GET", "/healthz", conn=conn)
            if status != 200 or headers.get("Connection", "").lower() == "close":
                break
            idle.append(conn)
        h.check(len(idle) == IDLE, f"{IDLE} keep-alive connections opened and left idle")
        started = time.monotonic()
        status, _, data = server.post_review(json.dumps(h.review(h.pod(), uid="client-65")))
        elapsed_ms = (time.monotonic() - started) * 1000
        h.check(status == 200 and json.loads(data)["response"]["uid"] == "client-65",
                f"client {IDLE + 1} answered while {IDLE} connections idle "
                f"(took {elapsed_ms:.1f} ms, informational)")
        answered = 0
        for conn in idle:
            status, _, _ = server.request("GET", "/healthz", conn=conn)
            answered += status == 200
        h.check(answered == IDLE, f"the {IDLE} idle connections still serve ({answered})")
        for conn in idle:
            conn.close()
        h.check(server.terminate() == 0, "SIGTERM after the clients hung up -> exit 0")
    finally:
        for conn in idle:
            conn.close()
        server.kill()


h.run("test_server_keepalive", main)
