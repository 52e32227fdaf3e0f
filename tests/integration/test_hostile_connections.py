"""Hostile connections to the real server: slowloris headers and bodies (the read timeout closes
them, freeing their threads), clients dripping a byte at a time (the whole-request deadline,
--request-timeout, closes them), a TLS handshake never started, many idle TCP connections, plain
HTTP and garbage bytes on the TLS port. A good client keeps getting correct answers meanwhile.
Waits are bounded; nothing is asserted about how long they take."""

import os
import random
import socket
import ssl
import threading
import time

import hostile
import server_harness as h

SLOW = 24      # slowloris connections of each kind
IDLE = 200     # idle TCP connections that never start TLS
CLOSE_TIMEOUT = 120  # bound on waiting for the server to close a stalled connection
REQUEST_TIMEOUT = 2  # the server's --request-timeout, short so drippers are cut quickly
DRIP = 8       # dripping connections of each kind
DRIP_GAP = 0.5  # seconds between a dripper's bytes: well inside the per-read timeout


def tcp(server):
    return socket.create_connection(("127.0.0.1", server.port), timeout=CLOSE_TIMEOUT)


def tls(server):
    return server.context().wrap_socket(tcp(server), server_hostname="127.0.0.1")


def closed_by_server(conn):
    """Reads until the server closes; returns what it sent (b'' for a silent close). A recv
    timeout (the server never closing) raises, failing the test."""
    data = b""
    try:
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                return data
            data += chunk
    except (ConnectionResetError, ssl.SSLError):
        return data
    finally:
        conn.close()


def check_slowloris(server, good):
    heads, bodies = [], []
    for _ in range(SLOW):
        conn = tls(server)
        conn.sendall(b"POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty")
        heads.append(conn)
        conn = tls(server)
        conn.sendall(b"POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                     b"application/json\r\nContent-Length: 100000\r\n\r\n{\"apiVersion\":")
        bodies.append(conn)
    good.wait_for_more(5, f"{SLOW} stalled headers and {SLOW} stalled bodies open")
    replies = [closed_by_server(conn) for conn in heads]
    h.check(all(not r or r.startswith(b"HTTP/1.1 4") for r in replies),
            f"the server closed all {SLOW} stalled-header connections (read timeout)")
    replies = [closed_by_server(conn) for conn in bodies]
    firsts = sorted(set(r.split(b"\r\n")[0] for r in replies))
    h.check(all(not r or r.startswith(b"HTTP/1.1 4") for r in replies),
            f"the server closed all {SLOW} stalled-body connections ({firsts})")
    good.wait_for_more(5, "after the slowloris connections were closed")


def drip(server, prefix, rest, outcome, index):
    """Sends `prefix` whole, then `rest` one byte per DRIP_GAP. Records whether the server cut
    the connection before the request was complete."""
    conn = tls(server)
    try:
        if prefix:
            conn.sendall(prefix)
            if prefix.startswith(b"GET"):
                conn.recv(65536)  # the first request's answer: the connection is now idle
        for byte in rest:
            conn.sendall(bytes([byte]))
            time.sleep(DRIP_GAP)
        outcome[index] = "completed"
    except (OSError, ssl.SSLError):
        outcome[index] = "cut"
    finally:
        conn.close()


def check_drippers(server, good):
    """cpp-httplib's read timeout is per recv: a byte every 0.5 s never trips it. The deadline on
    the whole request must cut these (each would take over 60 s to finish its request)."""
    before = server.metrics().get("sigv4_injector_request_timeouts_total", 0)
    header = b"POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Drip: " + b"d" * 120 + b"\r\n\r\n"
    head = (b"POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 130\r\n\r\n")
    body = b"{" + b" " * 128 + b"}"
    first = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    kinds = [(b"", header), (head, body), (first, header)]  # headers, body, second request
    outcome = [None] * (DRIP * len(kinds))
    threads = []
    for k, (prefix, rest) in enumerate(kinds):
        for i in range(DRIP):
            t = threading.Thread(target=drip, args=(server, prefix, rest, outcome, k * DRIP + i))
            t.start()
            threads.append(t)
    good.wait_for_more(5, f"{len(outcome)} dripping connections open")
    for t in threads:
        t.join(timeout=CLOSE_TIMEOUT)
    for k, name in enumerate(["headers", "body", "second request"]):
        got = outcome[k * DRIP:(k + 1) * DRIP]
        h.check(got == ["cut"] * DRIP, f"all {DRIP} connections dripping their {name} were cut "
                                       f"by the request deadline ({got})")
    after = server.metrics().get("sigv4_injector_request_timeouts_total", 0)
    h.check(after - before >= len(outcome),
            f"sigv4_injector_request_timeouts_total counted them ({before:.0f} -> {after:.0f})")
    good.wait_for_more(5, "after the drippers were cut")


def check_no_handshake(server, good):
    idle = [tcp(server) for _ in range(IDLE)]
    good.wait_for_more(5, f"{IDLE} TCP connections open without a TLS handshake")
    h.check(server.get("/healthz")[0] == 200, f"new clients served with {IDLE} idle sockets")
    closed = sum(1 for conn in idle if closed_by_server(conn) is not None)
    h.check(closed == IDLE, f"the server closed all {IDLE} handshake-less connections")
    good.wait_for_more(5, "after the idle sockets were closed")


def check_not_tls(server, good):
    conn = tcp(server)
    conn.sendall(b"POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 2\r\n\r\n{}")
    reply = closed_by_server(conn)
    h.check(b"AdmissionReview" not in reply, f"plain HTTP on the TLS port is refused ({reply[:40]!r})")
    rng = random.Random(7)
    for size in (1, 5, 64, 4096, 1 << 20):
        conn = tcp(server)
        garbage = bytes(rng.randrange(256) for _ in range(min(size, 4096)))
        try:
            conn.sendall(garbage * max(1, size // 4096))
        except OSError:
            pass  # the server may hang up mid-garbage
        closed_by_server(conn)
        h.check(True, f"{size} garbage bytes on the TLS port: connection closed")
    # A TLS client hello, then garbage inside the session.
    conn = tls(server)
    conn.sendall(b"\x00\xff" * 1000 + b"\r\n\r\n")
    reply = closed_by_server(conn)
    h.check(not reply or reply.startswith(b"HTTP/1.1 400"),
            f"garbage after the handshake -> 400 or close ({reply[:30]!r})")
    h.check(server.get("/healthz")[0] == 200, "server alive after garbage")
    good.wait_for_more(5, "after plain HTTP and garbage on the TLS port")


def main():
    certs = h.make_certs(os.path.join(h.TMP, "certs"))
    server = h.Server(["--tls-cert-file", certs + "/tls.crt", "--tls-key-file", certs + "/tls.key",
                       "--request-timeout", str(REQUEST_TIMEOUT)],
                      cafile=certs + "/ca.crt").wait_ready()
    good = hostile.GoodClient(server)
    try:
        check_slowloris(server, good)
        check_drippers(server, good)
        check_no_handshake(server, good)
        check_not_tls(server, good)
        good.stop()
        h.check(server.terminate() == 0, "SIGTERM -> exit 0")
    finally:
        good.stop_event.set()
        server.kill()


if __name__ == "__main__":
    h.run("test_hostile_connections", main)
