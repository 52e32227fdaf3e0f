"""SIGTERM: the server stops accepting, answers the reviews in flight and exits 0.

Requests are made to be in flight deterministically: each sends its headers with
`Expect: 100-continue` and waits for the server's `100 Continue`, which the server only sends
once it is inside the request; the bodies follow after SIGTERM."""

import json
import os
import socket

import server_harness as h

IN_FLIGHT = 8


def open_in_flight(server, context, body, uid):
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    conn = context.wrap_socket(raw, server_hostname="127.0.0.1")
    head = (f"POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n")
    conn.sendall(head.encode())
    interim = b""
    while b"\r\n\r\n" not in interim:
        chunk = conn.recv(4096)
        if not chunk:
            break
        interim += chunk
    h.check(interim.startswith(b"HTTP/1.1 100"), f"{uid}: server is inside the request (100)")
    return conn


def read_response(conn):
    data = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
        head, sep, rest = data.partition(b"\r\n\r\n")
        if sep:
            length = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")]
            if length and len(rest) >= length[0]:
                return head.split(b"\r\n")[0], rest[:length[0]]
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0], rest


def refuses(server):
    """Whether the webhook port refuses a new TCP connection."""
    try:
        socket.create_connection(("127.0.0.1", server.port), timeout=10).close()
        return False
    except ConnectionRefusedError:
        return True


def main():
    certs = h.make_certs(os.path.join(h.TMP, "certs"))
    server = h.Server(["--tls-cert-file", certs + "/tls.crt", "--tls-key-file", certs + "/tls.key"],
                      cafile=certs + "/ca.crt").wait_ready()
    try:
        context = server.context()
        bodies = {f"flight-{i}": json.dumps(h.review(h.pod(), uid=f"flight-{i}")).encode()
                  for i in range(IN_FLIGHT)}
        conns = {uid: open_in_flight(server, context, body, uid) for uid, body in bodies.items()}
        start = server.log_count()
        server.proc.send_signal(15)
        server.wait_log(r"stopped accepting connections", start=start)
        h.check(refuses(server), "new connections are refused after SIGTERM")
        for uid, conn in conns.items():
            conn.sendall(bodies[uid])
        for uid, conn in conns.items():
            status_line, body = read_response(conn)
            conn.close()
            answer = json.loads(body) if body else {}
            h.check(status_line.startswith(b"HTTP/1.1 200") and
                    answer.get("response", {}).get("uid") == uid,
                    f"{uid}: answered 200 after SIGTERM")
        code = server.proc.wait(timeout=60)
        h.check(code == 0, f"exit code 0 after SIGTERM (got {code})")
        server.reader.join(timeout=10)
        h.check("stopped" in server.log_text().splitlines()[-1], "logged 'stopped' last")
    finally:
        server.kill()


def drain():
    """--shutdown-delay: after SIGTERM the replica reports unready but still accepts and answers
    new connections for the delay (the apiserver may still route to it), then closes."""
    certs = h.make_certs(os.path.join(h.TMP, "certs-drain"))
    server = h.Server(["--tls-cert-file", certs + "/tls.crt", "--tls-key-file", certs + "/tls.key",
                       "--shutdown-delay", "3"], cafile=certs + "/ca.crt").wait_ready()
    try:
        start = server.log_count()
        server.proc.send_signal(15)
        server.wait_log(r"draining", start=start)
        status, _, _ = server.request("GET", "/readyz")
        h.check(status == 503, f"/readyz 503 while draining (got {status})")
        status, _, data = server.post_review(h.review(h.pod(), uid="during-drain"))
        answer = json.loads(data) if status == 200 else {}
        h.check(status == 200 and answer.get("response", {}).get("uid") == "during-drain",
                f"a new connection's review is answered while draining (status {status})")
        server.wait_log(r"stopped accepting connections", start=start)
        h.check(refuses(server), "new connections are refused once the delay is over")
        code = server.proc.wait(timeout=60)
        h.check(code == 0, f"exit code 0 after the drain (got {code})")
    finally:
        server.kill()


def both():
    main()
    drain()


h.run("test_server_shutdown", both)
