"""The CLI bounds what it reads (issue 16, item 9): `inject` and `patch` read a file or standard
input in chunks and stop at --max-input-bytes (default 16 MiB) with exit 1 and a message naming
the input and the limit. Before, the whole input was read into memory first: 1 GiB on stdin
took 2 GB of RSS.

Peak RSS is the child's own (wait4), compared with the same binary reading a small manifest, so
sanitizer builds (larger baseline) check the same growth."""

import os
import subprocess
import threading

import server_harness as h

LIMIT = 16 << 20
GIB = 1 << 30
SMALL = os.path.join(h.SRC, "examples", "workshop-app1.yaml")
TOO_LARGE = "input larger than the limit of %d bytes"


def run(args, feed=None, stdin_file=None):
    """Runs the CLI; `feed` is a byte count of zeros written to its stdin by a thread, which
    stops at the first refused write. Returns (exit code, stderr, peak RSS in bytes, bytes the
    CLI took from the pipe)."""
    stdin = subprocess.PIPE if feed is not None else (stdin_file or subprocess.DEVNULL)
    proc = subprocess.Popen([h.BIN] + args, stdin=stdin, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    written = [0]

    def writer():
        chunk = bytes(1 << 20)
        try:
            while written[0] < feed:
                n = min(len(chunk), feed - written[0])
                proc.stdin.write(chunk[:n])
                written[0] += n
            proc.stdin.close()
        except (BrokenPipeError, ValueError, OSError):
            pass  # the CLI stopped reading: what it refused stays unwritten

    thread = threading.Thread(target=writer, daemon=True) if feed is not None else None
    if thread:
        thread.start()
    err = proc.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if thread:
        thread.join(timeout=60)
    return proc.returncode, err, usage.ru_maxrss * 1024, written[0]


def main():
    code, _, baseline, _ = run(["inject", "-f", SMALL])
    h.check(code == 0, f"baseline: a small manifest injects (peak RSS {baseline >> 20} MiB)")

    for command in ("inject", "patch"):
        code, err, rss, taken = run([command, "-f", "-"], feed=GIB)
        h.check(code == 1 and "<stdin>: " + TOO_LARGE % LIMIT in err,
                f"{command}: 1 GiB of zeros on stdin -> exit {code}: {err.strip()[:160]}")
        h.check(taken <= LIMIT + (8 << 20),
                f"{command}: reading stopped at the limit ({taken >> 20} MiB of 1024 taken)")
        h.check(rss - baseline < 2 * LIMIT,
                f"{command}: peak RSS {rss >> 20} MiB, {(rss - baseline) >> 20} MiB over the "
                f"baseline (under 2x the {LIMIT >> 20} MiB limit)")

    sparse = os.path.join(h.TMP, "one-gib.yaml")
    with open(sparse, "wb") as f:
        f.truncate(GIB)
    code, err, rss, _ = run(["inject", "-f", sparse])
    h.check(code == 1 and sparse + ": " + TOO_LARGE % LIMIT in err,
            f"a 1 GiB file -> exit {code}, the file named: {err.strip()[:160]}")
    h.check(rss - baseline < 4 << 20,
            f"a regular file over the limit is refused unread (peak RSS {rss >> 20} MiB)")
    with open(sparse, "rb") as f:
        code, err, _, _ = run(["inject", "-f", "/dev/stdin"], stdin_file=f)
    h.check(code == 1 and TOO_LARGE % LIMIT in err, "-f /dev/stdin from the same file -> exit 1")

    size = os.path.getsize(SMALL)
    code, _, _, _ = run(["inject", "-f", SMALL, "--max-input-bytes", str(size)])
    h.check(code == 0, f"--max-input-bytes {size}: a manifest of exactly {size} bytes is read")
    code, err, _, _ = run(["inject", "-f", SMALL, "--max-input-bytes", str(size - 1)])
    h.check(code == 1 and TOO_LARGE % (size - 1) in err,
            f"--max-input-bytes {size - 1}: one byte over -> exit 1: {err.strip()[:160]}")
    with open(SMALL, "rb") as f:
        code, err, _, _ = run(["patch", "-f", "-", "--max-input-bytes", "100"], stdin_file=f)
    h.check(code == 1 and "<stdin>: " + TOO_LARGE % 100 in err, "patch: stdin over a set limit")
    code, err, _, _ = run(["inject", "-f", SMALL, "--config", sparse])
    h.check(code == 1 and sparse + ": " + TOO_LARGE % LIMIT in err,
            "a --config file over the limit -> exit 1, the file named")
    for bad in ("0", "-1", "16MiB", ""):
        code, err, _, _ = run(["inject", "-f", SMALL, "--max-input-bytes", bad])
        h.check(code == 2 and "--max-input-bytes" in err, f"--max-input-bytes {bad!r} -> exit 2")


h.run("test_cli_limits", main)
