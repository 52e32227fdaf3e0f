#!/usr/bin/env python3
"""The CLI reads manifests as kubectl reads them (issue 17), with kubectl as the oracle: for each
edge-case input, kubectl's reading of the input (`kubectl patch --local -f FILE --type=json
-p '[]' -o json`, one object per document, lists flattened) must equal kubectl's reading of what
`inject` prints for it, as YAML and as JSON; where kubectl refuses an input, `inject` exits 1.
The inputs hold no pods, so nothing is injected and both readings must match exactly. Then the
decisions: group/version, typed lists, broken templates, workload opt-out, on stderr.

kubectl: the pinned one scripts/k8s-tools.sh builds (ctest's fixture k8s_tools builds it first),
since the reading differs between versions (kubectl 1.32 refuses JSON objects between `---`
lines, which 1.37 reads)."""
import json
import os
import pathlib
import subprocess
import sys

BIN = os.environ["SIGV4_BIN"]
SRC = pathlib.Path(os.environ["SIGV4_SRC"])
TMP = pathlib.Path(os.environ.get("SIGV4_TMP", "/tmp/sigv4-cli-reading"))
failures = []
passed = 0


def find_kubectl():
    """The pinned kubectl; builds it when missing (idempotent, one builder at a time)."""
    r = subprocess.run(["bash", str(SRC / "scripts" / "k8s-tools.sh")], capture_output=True,
                       text=True, timeout=3600)
    if r.returncode != 0:
        raise SystemExit(f"FAIL scripts/k8s-tools.sh exited {r.returncode}: {r.stderr[-2000:]}")
    return str(pathlib.Path(r.stdout.strip().splitlines()[-1]) / "kubectl")


KUBECTL = find_kubectl()


def check(cond, what):
    global passed
    if cond:
        passed += 1
        print(f"ok   {what}")
    else:
        failures.append(what)
        print(f"FAIL {what}")


def run(args, stdin=None):
    return subprocess.run(args, input=stdin, capture_output=True, timeout=120)


def kubectl_read(path):
    """kubectl's objects for a file, or None when it refuses it."""
    r = run([KUBECTL, "patch", "--local", "-f", str(path), "--type=json", "-p", "[]", "-o",
             "json"])
    if r.returncode != 0:
        return None
    text, objects, i = r.stdout.decode(), [], 0
    decoder = json.JSONDecoder()
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return objects
        obj, i = decoder.raw_decode(text, i)
        objects.append(obj)


def write(name, data):
    path = TMP / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


A = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}'
B = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"},"data":{"x":"1"}}'
H = "apiVersion: v1\nkind: Foo\nmetadata: {name: f}\n"
SCALARS = ["y", "Y", "yes", "NO", "on", "Off", "true", "TRUE", "tRUE", "~", "null", "Null", "''",
           "0755", "0o17", "0O17", "0x1F", "-0x1F", "0b101", "-0b101", "+0b101", "1_000", "0x_1F",
           "09", "1.", ".5", "+.5", "-.5", "1e3", "1E3", "1e400", ".5e400", "._5", ".5_5",
           "1_0.5", "1.0", "0.0", "-0", "1e20", "1e21", "0.1", "3.14159265358979", "0x",
           "0x1p3", "1:20", "1:20:30", "0b", "0b2", "0e1", "9223372036854775807",
           "9223372036854775808", "-9223372036854775808", "18446744073709551615",
           "2001-12-14", "2001-12-14T21:59:43.10-05:00", "2001-12-14 21:59:43.10", "2001-1-2",
           "'=' ", "'<<'", "'1.2.3'", "'1e400'", "'._5'",
           "!!str 1", "!!str yes", '!!int "7"', "!!int 0x10", "!!float 7", '!!float "1.5"',
           "!!bool yes", '!!bool "on"', '!!null ""', "!!timestamp 2001-12-14", "!!map foo",
           "!foo 7", "!foo yes", "! 7", '!<tag:yaml.org,2002:int> "5"', "!!seq {a: 1}",
           "!!binary aGVsbG8=", '!!binary ""', "!!binary AA==", "!!binary /w==", "!!binary 4oI=",
           "!!binary 7aCA", "!!binary 9JCAgA==", "!!str", "!!float 1_0", "!!int 0b11"]
KEYS = ["y", "yes", "on", "ON", "off", "n", "NO", "true", "False", '""', "1", "0755", "0x1F",
        "0b11", "1_000", "1.5", "0.1", "3.14159265358979", "1e3", "1e20", "1e7", "1e6", "1e-5",
        "123456789", "1.0", ".inf", "-.inf", ".nan", "-1", "2001-12-14", "1e400", "1e300",
        "0.30000000000000004", "-0.0", "0.0001", "123456.7", "!!binary aGVsbG8=", '!!int "7"',
        "!!str 7", "!!float 7", "!!bool yes", "!foo 7", "! 7", '"on"', "'1'", "1.25", "1e8",
        "16777217"]
REFUSED = {  # kubectl refuses these; so must we
    "value .inf": H + "x: .inf\n",
    "value -.inf": H + "x: -.inf\n",
    "value .nan": H + "x: .nan\n",
    "!!int abc": H + "x: !!int abc\n",
    "!!int 1.5": H + "x: !!int 1.5\n",
    "!!bool 1": H + "x: !!bool 1\n",
    "!!null foo": H + "x: !!null foo\n",
    "!!timestamp foo": H + "x: !!timestamp foo\n",
    "!!float 1e400": H + "x: !!float 1e400\n",
    "!!binary unpadded": H + "x: !!binary aGVsbG8\n",
    "!!binary with a space": H + 'x: !!binary "aGVs bG8="\n',
    "null key ~": H + "m:\n  ~: v\n",
    "null key null": H + "m:\n  null: v\n",
    "uint64 key": H + "m:\n  18446744073709551615: v\n",
    "two JSON values then junk": A + B + "\n---\n" + A + "\n",
    "PodList items a string": "apiVersion: v1\nkind: PodList\nitems: x\n",
    "PodList items a number list": "apiVersion: v1\nkind: PodList\nitems: [1]\n",
}
STREAMS = {
    "JSON concatenated": A + B + A.replace('"a"', '"c"'),
    "JSON on lines": A + "\n" + B + "\n",
    "JSON with --- lines": A + "\n---\n" + B + "\n---\n" + A.replace('"a"', '"c"') + "\n",
    "JSON with CRLF ---": A + "\r\n---\r\n" + B + "\r\n",
    "JSON --- comment": A + "\n--- # c\n" + B + "\n",
    "JSON then YAML": A + "\n---\n" + H + "---\n" + B + "\n",
    "JSON then YAML without ---": A + "\n" + H,
    "JSON then comment": A + " # c\n" + B + "\n",
    "JSON null document": A + "\nnull\n" + B,
    "flow YAML first": "{apiVersion: v1, kind: Foo, metadata: {name: f}}\n---\n" + H,
    "JSON trailing comma": '{"apiVersion": "v1", "kind": "Foo", "metadata": {"name": "f"}, }\n',
    "YAML then JSON": H + "---\n" + A + "\n",
    "leading blank lines": "\n\n  " + A + "\n---\n" + B,
    "typed list of Foo": "apiVersion: example.com/v1\nkind: FooList\nitems:\n- metadata: {name: a}\n"
                         "- kind: Bar\n  apiVersion: v1\n  metadata: {name: b}\n",
    "List items null": "apiVersion: v1\nkind: List\nitems: null\n---\n" + H,
    "!!binary block": H + "x: !!binary |\n  aGVs\n  bG8=\n",
    "merge keys": H + "base: &b {a: 1}\nm:\n  <<: *b\n  c: 2\n",
}


def reading_case(name, text, refused=False):
    src = write("in.yaml", text)
    want = kubectl_read(src)
    for fmt in ("yaml", "json"):
        r = run([BIN, "inject", "-f", str(src), "-o", fmt])
        if refused or want is None:
            check(want is None and r.returncode == 1 and r.stdout == b"",
                  f"{name}: kubectl refuses it (kubectl: {'refuses' if want is None else 'reads'}"
                  f"), inject -o {fmt} exits {r.returncode}: {r.stderr.decode().strip()[:150]}")
            continue
        if r.returncode != 0:
            check(False, f"{name}: inject -o {fmt} exits {r.returncode}: "
                  f"{r.stderr.decode().strip()[:200]}")
            continue
        got = kubectl_read(write("out." + fmt, r.stdout))
        check(got == want, f"{name}: -o {fmt} reads back as kubectl read the input"
              + ("" if got == want else f"\n     input:  {json.dumps(want)[:300]}"
                                        f"\n     output: {json.dumps(got)[:300]}"))
        again = run([BIN, "inject", "-f", str(write("out2." + fmt, r.stdout)), "-o", fmt])
        check(again.stdout == r.stdout, f"{name}: -o {fmt} inject of its own output changes nothing")


def decisions():
    tpl = ("  selector: {matchLabels: {app: a}}\n  template:\n    metadata: {labels: {app: a}}\n"
           "    spec:\n      containers: [{name: app, image: nginx}]\n")
    cases = [
        ("apps/v1 Deployment injected", "apiVersion: apps/v1\nkind: Deployment\n"
         "metadata: {name: d}\nspec:\n" + tpl, 0, r"document 0 (Deployment d): injected"),
        ("example.com/v1 Deployment passed through", "apiVersion: example.com/v1\n"
         "kind: Deployment\nmetadata: {name: d}\nspec:\n" + tpl, 0,
         "document 0 (Deployment d, example.com/v1): passed through (not the built-in "
         "Deployment (apps/v1))"),
        ("extensions/v1beta1 not served", "apiVersion: extensions/v1beta1\nkind: Deployment\n"
         "metadata: {name: d}\nspec:\n" + tpl, 0,
         "passed through (extensions/v1beta1 is not served any more; use apps/v1)"),
        ("volcano Job passed through", "apiVersion: batch.volcano.sh/v1alpha1\nkind: Job\n"
         "metadata: {name: j}\nspec: {tasks: []}\n", 0, "not the built-in Job (batch/v1)"),
        ("DeploymentList items injected", "apiVersion: apps/v1\nkind: DeploymentList\nitems:\n"
         "- metadata: {name: d}\n  spec:\n    template:\n      spec:\n"
         "        containers: [{name: app, image: nginx}]\n", 0,
         "document 0 items[0] (Deployment d): injected"),
        ("workload opted out", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, labels:"
         " {sigv4-injector.io/inject: disabled}}\nspec:\n" + tpl, 0,
         "skipped (opted-out)\n  note: opted out on the workload itself; the webhook sees only"),
        ("kustomize fragment without containers", "apiVersion: apps/v1\nkind: Deployment\n"
         "metadata: {name: d}\nspec:\n  template:\n    metadata: {annotations: {a: b}}\n", 1,
         "f.yaml: document 0 (Deployment d): spec.template.spec: missing"),
        ("containers as a map", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n"
         "spec: {template: {spec: {containers: {app: {image: i}}}}}\n", 1,
         "spec.template.spec.containers: expected a list, got a map"),
        ("annotations with a bool", "apiVersion: v1\nkind: Pod\nmetadata: {name: p, annotations:"
         " {a: true}}\nspec: {containers: [{name: c, image: i}]}\n", 1,
         "f.yaml: document 0 (Pod p): metadata.annotations.a: expected a string, got a boolean"),
    ]
    for name, text, code, pattern in cases:
        path = TMP / "f.yaml"
        path.write_text(text)
        r = subprocess.run([BIN, "inject", "-f", "f.yaml"], cwd=TMP, capture_output=True,
                           text=True, timeout=60)
        check(r.returncode == code and pattern in r.stderr,
              f"{name}: exit {r.returncode} (want {code}), stderr has {pattern!r}"
              + ("" if pattern in r.stderr else f"\n     stderr: {r.stderr.strip()[:300]}"))
        if code == 1:
            check(r.stdout == "", f"{name}: nothing printed on error")


def main():
    TMP.mkdir(parents=True, exist_ok=True)
    print(f"oracle: {KUBECTL}")
    for v in SCALARS:
        reading_case(f"value {v}", H + f"x: {v}\n")
    for k in KEYS:
        reading_case(f"key {k}", H + f"m:\n  {k}: v\n")
    for name, text in STREAMS.items():
        reading_case(name, text)
    for name, text in REFUSED.items():
        reading_case(name, text, refused=True)
    decisions()
    print(f"{passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
