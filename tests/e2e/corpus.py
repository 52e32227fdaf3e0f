"""The corpus tier (issue 17): never turn an accepted pod into a rejected or broken one.

Every manifest of tests/e2e/corpus/ is applied with `kubectl apply --dry-run=server` in namespaces
of four policies -- plain, limitrange (container minimum 50m / 64Mi, above the injected requests),
psa-baseline, psa-restricted (`pod-security.kubernetes.io/enforce`) -- each with a twin labelled
`sigv4-injector.io/inject=disabled` (the webhook is never called there) and an opted-in twin
(`sigv4-injector.io/inject=enabled`):

    before       the original, in the disabled twin
    webhook      the original, in the opted-in twin (the running webhook injects bare pods)
    cli-M-F      `sigv4-injector inject --sidecar-mode M -o F` of it (legacy|native x yaml|json),
                 in the opted-in twin (the webhook sees the CLI-injected pod too and may warn)

The pod template of every accepted core workload (Deployment ... CronJob) is also posted, dry-run,
as the pod its controller would create (owner reference included), in the same namespace: Pod
Security and LimitRange judge pods, not templates.

Checks, per manifest x policy x after-path: no object accepted before is rejected after, except
the documented cases (policy psa-* or limitrange, rejected by Pod Security resp. the LimitRange,
with the webhook's `sigv4-injector:` warning naming it; a LimitRange rejection of a pod whose
containers all set their own resources, which LimitRanger leaves unmarked so that nothing shows
the webhook the LimitRange, is listed apart, as documented); every object accepted after still holds
every container, init container, volume, pod-spec field, label and annotation of its original;
an accepted injection did not break the pod (a Windows pod, or a run-to-completion pod given a
legacy sidecar without opting in explicitly); custom resources come out unchanged. Per manifest:
the CLI exits 0, or 1 for a manifest broken on purpose (`corpus: broken` in its header), which
must be rejected before. Objects rejected before are reported, not counted.
CORPUS_TABLE=path writes the outcome table as markdown; CORPUS_ONLY=substr,... runs some files.
"""

import concurrent.futures
import json
import os
import re
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import yaml

from cluster import ADMIN_TOKEN

LABEL = "sigv4-injector.io/inject"
POLICIES = ("plain", "limitrange", "psa-baseline", "psa-restricted")
CLI_VARIANTS = [("legacy", "yaml"), ("legacy", "json"), ("native", "yaml"), ("native", "json")]
AFTER_PATHS = ["webhook"] + [f"cli-{m}-{f}" for m, f in CLI_VARIANTS]
INJECTED_NAMES = {"iptables-init", "sigv4proxy"}
CORE_GROUPS = {"v1", "apps/v1", "batch/v1"}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController",
             "Job", "CronJob"}
PSA_RE = re.compile(r"violates PodSecurity")
LIMITRANGE_RE = re.compile(r"(minimum|maximum) \S+ usage per (Container|Pod)|LimitRange|"
                           r"limit to request ratio")
# Pod-level requests refused for the aggregate of the containers': in the limitrange namespace,
# the LimitRange's defaults that LimitRanger gives the injected containers (they set none of their
# own under pod-level resources) after the webhook.
POD_LEVEL_RE = re.compile(r"must be greater than or equal to aggregate container requests")
WARN_PSA_RE = re.compile(r"pod ?security", re.I)
WARN_LR_RE = re.compile(r"limit ?range|limit-ranger", re.I)
# Labels and annotations the apiserver or kubectl write per request, not the user's.
VOLATILE_KEYS = {"kubectl.kubernetes.io/last-applied-configuration", "controller-uid",
                 "batch.kubernetes.io/controller-uid"}
LIMIT_RANGE = {
    "apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "container-limits"},
    "spec": {"limits": [{"type": "Container",
                         "min": {"cpu": "50m", "memory": "64Mi"},
                         "default": {"cpu": "500m", "memory": "512Mi"},
                         "defaultRequest": {"cpu": "100m", "memory": "128Mi"}}]}}


# ServiceAccounts the corpus's multi-document apps ship with (a dry run stores none of them, so
# the pods of their templates would be refused for want of them).
SERVICE_ACCOUNTS = ("cartservice", "stream-sa")


def ns_name(policy, opted):
    return f"corpus-{policy}" + ("-in" if opted else "")


def crd(group, kind, plural, version):
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": "Namespaced",
                     "names": {"kind": kind, "plural": plural, "singular": kind.lower(),
                               "listKind": kind + "List"},
                     "versions": [{"name": version, "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": {
                                       "type": "object",
                                       "x-kubernetes-preserve-unknown-fields": True}}}]}}


CRDS = [crd("example.com", "Deployment", "deployments", "v1"),
        crd("example.com", "Pod", "pods", "v1"),
        crd("argoproj.io", "Rollout", "rollouts", "v1alpha1")]


# -- reading the inputs (to name the objects kubectl is given) ----------------------------------

def enumerate_objects(text):
    """[(apiVersion, kind, name)] of the objects in a manifest text, lists flattened; [] when it
    does not parse (kubectl's answer then names what there is)."""
    try:
        if text.lstrip().startswith("{"):
            dec, docs, i = json.JSONDecoder(), [], 0
            while i < len(text):
                while i < len(text) and text[i].isspace():
                    i += 1
                if i >= len(text):
                    break
                doc, i = dec.raw_decode(text, i)
                docs.append(doc)
        else:
            docs = list(yaml.safe_load_all(text))
    except Exception:  # noqa: BLE001 -- an unreadable output is judged by kubectl
        return []
    out = []

    def add(doc, list_av=None, list_kind=None):
        if not isinstance(doc, dict):
            return
        kind = doc.get("kind") or (list_kind[:-4] if list_kind else None)
        av = doc.get("apiVersion") or list_av
        if isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list):
            for item in doc["items"]:
                add(item, av, kind)
            return
        meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
        out.append((str(av), str(kind), str(meta.get("name"))))
    for doc in docs:
        add(doc)
    return out


# -- pods and templates -------------------------------------------------------------------------

def pod_spec(obj):
    """The pod spec of a Pod or of a workload's template (None if it has none)."""
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    if obj.get("kind") == "Pod":
        return spec
    tmpl = template(obj)
    return tmpl.get("spec") if isinstance(tmpl, dict) else None


def template(obj):
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    if obj.get("kind") == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    t = spec.get("template")
    return t if isinstance(t, dict) else None


def names(containers):
    return [c.get("name") for c in containers or [] if isinstance(c, dict)]


def is_injected(obj):
    spec = pod_spec(obj)
    if not isinstance(spec, dict):
        return None
    return bool(INJECTED_NAMES & set(names(spec.get("initContainers")) +
                                     names(spec.get("containers"))))


def template_pod(obj):
    """The pod a core workload's controller would create from its template, or None."""
    if obj.get("kind") not in WORKLOADS or obj.get("apiVersion") not in CORE_GROUPS:
        return None
    tmpl = template(obj)
    if not isinstance(tmpl, dict):
        return None
    meta = dict(tmpl.get("metadata") or {})
    meta.pop("creationTimestamp", None)
    meta["name"] = f"{obj['metadata']['name']}-tpl"
    owner_av, owner_kind = obj["apiVersion"], obj["kind"]
    if owner_kind == "Deployment":
        owner_av, owner_kind = "apps/v1", "ReplicaSet"
    elif owner_kind == "CronJob":
        owner_av, owner_kind = "batch/v1", "Job"
    meta["ownerReferences"] = [{"apiVersion": owner_av, "kind": owner_kind,
                                "name": obj["metadata"]["name"], "uid": str(uuid.uuid4()),
                                "controller": True, "blockOwnerDeletion": True}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": tmpl.get("spec")}


# -- accepted but broken ------------------------------------------------------------------------

def pod_meta(obj):
    """The metadata of a Pod or of a workload's pod template ({} if none)."""
    if obj.get("kind") == "Pod":
        meta = obj.get("metadata")
    else:
        meta = (template(obj) or {}).get("metadata")
    return meta if isinstance(meta, dict) else {}


def opted_in_explicitly(obj):
    meta = pod_meta(obj)
    return any(str((meta.get(part) or {}).get(LABEL, "")).lower() in ("enabled", "true")
               for part in ("labels", "annotations"))


UNSIGNALLED = "LimitRange rejection, LimitRanger left no mark for the webhook"


def limit_ranged(obj):
    """Whether LimitRanger marks the object before the webhook sees it: it defaulted one of its
    containers, and the pod sets no pod-level spec.resources (LimitRanger then marks it only when
    it re-runs after the webhook: observed on 1.37, docs/configuration.md)."""
    if not obj or ((obj.get("spec") or {}).get("template") or obj).get("spec", {}).get(
            "resources"):
        return False
    return "kubernetes.io/limit-ranger" in ((obj.get("metadata") or {}).get("annotations") or {})


def broken_by_injection(before, after):
    """The cause when the injection, accepted, still broke the pod (SPEC 3's skips): Linux
    containers in a Windows pod, or a legacy sidecar that keeps a run-to-completion pod from
    completing (unless the pod opts in explicitly). None otherwise."""
    spec = pod_spec(after)
    if not isinstance(spec, dict) or is_injected(before) or not is_injected(after):
        return None
    if (spec.get("os") or {}).get("name") == "windows" or \
            (spec.get("nodeSelector") or {}).get("kubernetes.io/os") == "windows":
        return "Windows pod injected (Linux containers cannot run there)"
    owner = ((after.get("metadata") or {}).get("ownerReferences") or [{}])[0].get("kind")
    completes = spec.get("restartPolicy") in ("Never", "OnFailure") or \
        after.get("kind") in ("Job", "CronJob") or owner == "Job"
    if completes and "sigv4proxy" in names(spec.get("containers")) and \
            not opted_in_explicitly(after):
        return "run-to-completion pod given a legacy sidecar (never completes)"
    return None


# -- nothing dropped ----------------------------------------------------------------------------

def strip_token_volume(spec):
    """A copy of a pod spec without the ServiceAccount admission's kube-api-access-* volume and
    mounts (their names are random per request)."""
    def tok(x):
        return isinstance(x, dict) and str(x.get("name", "")).startswith("kube-api-access-")
    spec = dict(spec)
    if isinstance(spec.get("volumes"), list):
        spec["volumes"] = [v for v in spec["volumes"] if not tok(v)]
    for field in ("containers", "initContainers"):
        if isinstance(spec.get(field), list):
            cs = []
            for c in spec[field]:
                if isinstance(c, dict) and isinstance(c.get("volumeMounts"), list):
                    c = dict(c, volumeMounts=[m for m in c["volumeMounts"] if not tok(m)])
                cs.append(c)
            spec[field] = cs
    return spec


def dropped(before, after):
    """What of the original's pod spec (containers, init containers, every field) and pod
    metadata the after-object lost or changed; [] when nothing."""
    problems = []
    b, a = pod_spec(before), pod_spec(after)
    if not isinstance(b, dict):
        return problems
    if not isinstance(a, dict):
        return ["pod spec gone"]
    b, a = strip_token_volume(b), strip_token_volume(a)
    for field in ("containers", "initContainers"):
        bl = [c for c in b.get(field) or [] if isinstance(c, dict)]
        al = {c.get("name"): c for c in a.get(field) or [] if isinstance(c, dict)}
        order = [n for n in names(a.get(field)) if n in set(names(bl))]
        if order != names(bl):
            problems.append(f"{field} order/names {names(bl)} -> {names(a.get(field))}")
        for c in bl:
            ac = al.get(c.get("name"))
            if ac is None:
                continue
            for k, v in c.items():
                if ac.get(k) != v:
                    problems.append(f"{field}[{c.get('name')}].{k} changed: "
                                    f"{json.dumps(v)[:80]} -> {json.dumps(ac.get(k))[:80]}")
    bv = {v.get("name"): v for v in b.get("volumes") or []}
    av = {v.get("name"): v for v in a.get("volumes") or []}
    for n, v in bv.items():
        if av.get(n) != v:
            problems.append(f"volume {n} dropped or changed")
    for k, v in b.items():
        if k not in ("containers", "initContainers", "volumes") and a.get(k) != v:
            problems.append(f"spec.{k} changed: {json.dumps(v)[:80]} -> "
                            f"{json.dumps(a.get(k))[:80]}")
    if before.get("kind") != "Pod":
        for k, v in (before.get("spec") or {}).items():
            if k == "selector" and before.get("kind") == "Job":
                continue  # generated per request (controller-uid)
            if k not in ("template", "jobTemplate") and (after.get("spec") or {}).get(k) != v:
                problems.append(f"workload spec.{k} changed")
    bm, am = pod_meta(before), pod_meta(after)
    for part in ("labels", "annotations"):
        for k, v in (bm or {}).get(part, {}).items():
            if k in VOLATILE_KEYS:
                continue
            if ((am or {}).get(part) or {}).get(k) != v:
                problems.append(f"{part}[{k}] dropped or changed")
    return problems


# -- the cluster side ---------------------------------------------------------------------------

class Api:
    """Dry-run POSTs of pods straight to the apiserver: per-pod warnings (Warning headers)."""

    def __init__(self, cp):
        self.base = f"https://127.0.0.1:{cp.port}"
        self.ctx = ssl.create_default_context(cafile=cp.ca)

    def dry_run_pod(self, ns, pod):
        """(accepted, stored pod or None, message, [warnings])."""
        req = urllib.request.Request(
            f"{self.base}/api/v1/namespaces/{ns}/pods?dryRun=All&fieldValidation=Strict",
            data=json.dumps(pod).encode(), method="POST",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}",
                     "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=60) as r:
                return True, json.load(r), "", warnings_of(r.headers)
        except urllib.error.HTTPError as e:
            body = e.read().decode(errors="replace")
            try:
                msg = json.loads(body).get("message", body)
            except ValueError:
                msg = body
            return False, None, msg, warnings_of(e.headers)


def warnings_of(headers):
    out = []
    for h in headers.get_all("Warning") or []:
        m = re.match(r'\s*\d+\s+\S+\s+"(.*)"\s*$', h)
        out.append(m.group(1).replace('\\"', '"') if m else h)
    return out


class Outcome:
    """One object's fate on one path."""

    def __init__(self, key):
        self.key = key  # (kind, name); kind "Pod(tpl)" for a template's pod
        self.accepted = False
        self.message = ""
        self.obj = None
        self.warnings = []
        self.unprinted = False  # accepted, the stored object not seen

    @property
    def injected(self):
        return is_injected(self.obj) if self.obj else None


def json_stream(text):
    """The objects of a stream of JSON documents (what `kubectl create -o json` prints)."""
    dec, out, i = json.JSONDecoder(), [], 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        try:
            doc, i = dec.raw_decode(text, i)
        except ValueError:
            return out
        if isinstance(doc, dict):
            out.append(doc)


def parse_apply(input_text, r):
    """{(kind, name): Outcome} and the warnings of one `kubectl apply` run."""
    warnings = [ln[len("Warning: "):] for ln in r.stderr.splitlines() if ln.startswith("Warning: ")]
    # without kubectl's 'error when creating "/path/file": ' (the file is known)
    errors = [re.sub(r'error when (creating|patching|retrieving[^"]*) "[^"]*": ', "", ln)
              for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith("Warning: ")]
    outcomes = {}
    for _av, kind, name in enumerate_objects(input_text):
        outcomes.setdefault((kind, name), Outcome((kind, name)))
    if r.stdout.strip():
        try:
            doc = json.loads(r.stdout)
            items = doc.get("items") if doc.get("kind") == "List" else [doc]
        except ValueError:
            items = []
        for obj in items:
            key = (obj.get("kind"), obj.get("metadata", {}).get("name"))
            o = outcomes.setdefault(key, Outcome(key))
            o.accepted, o.obj = True, obj
    unclaimed = []
    for line in errors:
        # errors name the object ('pods "x" is forbidden'), or only its kind when the body
        # could not be decoded ('Secret in version "v1" cannot be handled as a Secret')
        kind = re.search(r'(\w+) in version "', line)
        hit = False
        for o in outcomes.values():
            if not o.accepted and (f'"{o.key[1]}"' in line or
                                   (kind and "cannot be handled" in line and
                                    o.key[0] == kind.group(1))):
                o.message = (o.message + " " + line).strip()
                hit = True
        if not hit:
            unclaimed.append(line)
    for o in outcomes.values():
        if not o.accepted and not o.message:
            if unclaimed:
                o.message = " ".join(unclaimed).strip()
            else:  # named by no error: accepted, but kubectl apply printed nothing
                o.accepted, o.unprinted = True, True
    if not outcomes and errors:
        o = Outcome(("?", "?"))
        o.message = " ".join(errors)
        outcomes[o.key] = o
    for o in outcomes.values():
        o.warnings = warnings
    return outcomes


class Corpus:
    def __init__(self, env, corpus_dir, workers=4):
        self.env, self.cp = env, env.cp
        self.dir = corpus_dir
        self.api = Api(env.cp)
        self.workers = workers
        self.tmp = tempfile.mkdtemp(prefix="corpus-", dir=env.wh.dir)
        self.checks = []  # (ok, what, detail)
        self.results = {}  # (file, policy, path) -> {key: Outcome}
        self.cli = {}  # (file, mode, fmt) -> (rc, stderr, output path)
        only = [s for s in os.environ.get("CORPUS_ONLY", "").split(",") if s]
        self.files = sorted(f for f in os.listdir(corpus_dir)
                            if f.endswith((".yaml", ".json")) and
                            (not only or any(s in f for s in only)))

    def check(self, ok, what, detail=""):
        self.checks.append((ok, what, detail))

    # -- setup ------------------------------------------------------------------------------
    def setup(self):
        cp = self.cp
        self.env.register_default()  # the chart's registration, whatever ran before
        for policy in POLICIES:
            for opted in (False, True):
                ns = ns_name(policy, opted)
                cp.kubectl("create", "namespace", ns)
                # the unlabelled twin says disabled: the webhook never sees it, even for pods
                # that opt in by their own label (SPEC 3)
                labels = [f"{LABEL}=enabled" if opted else f"{LABEL}=disabled"]
                if policy.startswith("psa-"):
                    labels.append(f"pod-security.kubernetes.io/enforce={policy[4:]}")
                cp.kubectl("label", "namespace", ns, *labels)
                for sa in SERVICE_ACCOUNTS:
                    cp.kubectl("create", "serviceaccount", "-n", ns, sa)
                if policy == "limitrange":
                    cp.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(LIMIT_RANGE))
        cp.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                          "items": CRDS}))
        for c in CRDS:
            cp.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                       f"crd/{c['metadata']['name']}")
        for policy in POLICIES:
            for opted in (False, True):
                cp.wait_service_account(ns_name(policy, opted))
        self.preflight()

    def preflight(self):
        """Pod Security admission, pod-level resources and the LimitRange are really in force."""
        priv = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "preflight-priv"},
                "spec": {"containers": [{"name": "c", "image": "busybox",
                                         "securityContext": {"privileged": True}}]}}
        ok, _, msg, _ = self.api.dry_run_pod(ns_name("psa-baseline", False), priv)
        self.check(not ok and bool(PSA_RE.search(msg)), "preflight: Pod Security admission "
                   "enforces baseline", msg)
        plr = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "preflight-plr"},
               "spec": {"resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
                        "containers": [{"name": "c", "image": "busybox"}]}}
        ok, pod, msg, _ = self.api.dry_run_pod(ns_name("plain", False), plr)
        self.check(ok and (pod or {}).get("spec", {}).get("resources", {}).get("limits") ==
                   {"cpu": "1", "memory": "1Gi"},
                   "preflight: pod-level resources (PodLevelResources) kept by the apiserver", msg)
        small = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "preflight-lr"},
                 "spec": {"containers": [{"name": "c", "image": "busybox", "resources": {
                     "requests": {"cpu": "25m", "memory": "32Mi"}}}]}}
        ok, _, msg, _ = self.api.dry_run_pod(ns_name("limitrange", False), small)
        self.check(not ok and bool(LIMITRANGE_RE.search(msg)),
                   "preflight: the LimitRange refuses 25m/32Mi requests", msg)

    # -- running ----------------------------------------------------------------------------
    def run_cli(self, f, mode, fmt):
        out = os.path.join(self.tmp, f"{f}.{mode}.{fmt}")
        r = subprocess.run([self.env.wh.binary, "inject", "-f", os.path.join(self.dir, f),
                            "--sidecar-mode", mode, "-o", fmt],
                           capture_output=True, text=True, timeout=60, env=self.env.wh.env)
        with open(out, "w") as fh:
            fh.write(r.stdout)
        self.cli[(f, mode, fmt)] = (r.returncode, r.stderr, out)

    def apply(self, f, policy, path):
        if path == "before":
            src, ns = os.path.join(self.dir, f), ns_name(policy, False)
        elif path == "webhook":
            src, ns = os.path.join(self.dir, f), ns_name(policy, True)
        else:
            _, mode, fmt = path.split("-")
            rc, _err, src = self.cli[(f, mode, fmt)]
            if rc != 0:
                self.results[(f, policy, path)] = None
                return
            ns = ns_name(policy, True)
        with open(src) as fh:
            text = fh.read()
        r = self.cp.kubectl("apply", "--dry-run=server", "-o", "json", "-n", ns, "-f", src,
                            check=False, timeout=120)
        outcomes = parse_apply(text, r)
        if any(o.unprinted for o in outcomes.values()):
            # kubectl apply prints nothing once any object fails: the same dry run through
            # kubectl create prints each object it could create.
            c = self.cp.kubectl("create", "--dry-run=server", "-o", "json", "-n", ns, "-f", src,
                                check=False, timeout=120)
            for obj in json_stream(c.stdout):
                o = outcomes.get((obj.get("kind"), obj.get("metadata", {}).get("name")))
                if o is not None and o.unprinted:
                    o.obj, o.unprinted = obj, False
        for o in list(outcomes.values()):
            pod = template_pod(o.obj) if o.accepted and o.obj else None
            if pod is None:
                continue
            t = Outcome(("Pod(tpl)", pod["metadata"]["name"]))
            t.accepted, t.obj, t.message, t.warnings = self.api.dry_run_pod(ns, pod)
            outcomes[t.key] = t
        self.results[(f, policy, path)] = outcomes

    def run(self):
        t0 = time.monotonic()
        self.setup()
        with concurrent.futures.ThreadPoolExecutor(self.workers) as pool:
            list(pool.map(lambda a: self.run_cli(*a),
                          [(f, m, fmt) for f in self.files for m, fmt in CLI_VARIANTS]))
            jobs = [(f, p, path) for f in self.files for p in POLICIES
                    for path in ["before"] + AFTER_PATHS]
            list(pool.map(lambda a: self.apply(*a), jobs))
        self.elapsed = time.monotonic() - t0
        self.judge()
        return self.elapsed

    # -- judging ----------------------------------------------------------------------------
    def broken(self, f):
        with open(os.path.join(self.dir, f)) as fh:
            return "corpus: broken" in fh.read(400)

    def judge(self):
        self.failures = []  # (file, policy, path, key, cause, detail)
        self.rejected_before = []
        self.unsignalled = []  # LimitRange rejections nothing showed the webhook (documented)
        for f in self.files:
            broken = self.broken(f)
            plain_before = self.results[(f, "plain", "before")]
            any_accepted = any(o.accepted for o in plain_before.values())
            codes = {f"{m}/{fmt}": self.cli[(f, m, fmt)][0] for m, fmt in CLI_VARIANTS}
            if broken:
                ok = not any_accepted and all(c == 1 for c in codes.values())
                detail = (f"accepted before: {any_accepted}; cli exit codes {codes}")
                self.check(ok, f"{f}: broken on purpose: rejected before, CLI exits 1", detail)
                if not ok:
                    self.failures.append((f, "-", "cli", ("-", "-"), "broken manifest not "
                                          "refused", detail))
            else:
                ok = all(c == 0 for c in codes.values())
                errs = "; ".join(sorted({
                    self.cli[(f, m, fmt)][1].strip().splitlines()[-1].replace(self.dir + "/", "")
                    for m, fmt in CLI_VARIANTS if self.cli[(f, m, fmt)][0] != 0
                    and self.cli[(f, m, fmt)][1].strip()}))
                self.check(ok, f"{f}: the CLI exits 0", f"{codes} {errs}")
                if not ok:
                    self.failures.append((f, "-", "cli", ("-", "-"), "CLI exits non-zero on a "
                                          "valid manifest", errs))
            for policy in POLICIES:
                before = self.results[(f, policy, "before")]
                for key, o in before.items():
                    if not o.accepted:
                        self.rejected_before.append((f, policy, key, o.message))
                for path in AFTER_PATHS:
                    problems = self.judge_cell(f, policy, path, before, broken)
                    self.check(not problems, f"{f} {policy} {path}",
                               "; ".join(p[1] for p in problems))
                    for cause, detail, key in problems:
                        self.failures.append((f, policy, path, key, cause, detail))

    def judge_cell(self, f, policy, path, before, broken):
        """[(cause, detail, key)] of the counted failures of one manifest x policy x path."""
        after = self.results[(f, policy, path)]
        problems = []
        if after is None:  # the CLI refused the manifest: judged by the CLI check
            return problems
        for key, b in before.items():
            if not b.accepted:
                continue
            a = after.get(key)
            if a is None:
                if key[0] != "Pod(tpl)":  # a template's pod is missing when its owner was refused
                    problems.append(("object missing after", f"{key[0]}/{key[1]} not in the answer",
                                     key))
                continue
            if not a.accepted:
                cause = self.rejection_cause(policy, a, limit_ranged(b.obj))
                if cause == UNSIGNALLED:
                    self.unsignalled.append((f, policy, path, key, a.message))
                    continue
                if cause:
                    note = ""
                    if cause.startswith("LimitRange") and b.obj:
                        marked = "kubernetes.io/limit-ranger" in (
                            b.obj.get("metadata", {}).get("annotations") or {})
                        note = (" [LimitRanger defaulted the original: "
                                f"{'yes' if marked else 'no, it set every resource itself'}]")
                    problems.append((cause, f"{key[0]}/{key[1]}{note}: {a.message[:300]}", key))
                continue
            if b.obj is None or a.obj is None:
                continue  # accepted, never printed (reported in the table)
            broken_pod = broken_by_injection(b.obj, a.obj)
            if broken_pod:
                problems.append((broken_pod, f"{key[0]}/{key[1]}", key))
            lost = dropped(b.obj, a.obj)
            if lost:
                problems.append(("user spec dropped or changed",
                                 f"{key[0]}/{key[1]}: {'; '.join(lost)}", key))
            if b.obj.get("apiVersion") not in CORE_GROUPS and \
                    json.dumps(b.obj.get("spec"), sort_keys=True) != \
                    json.dumps(a.obj.get("spec"), sort_keys=True):
                problems.append(("custom resource changed",
                                 f"{key[0]}/{key[1]} ({b.obj.get('apiVersion')})", key))
        return problems

    @staticmethod
    def rejection_cause(policy, a, marked):
        """None for a documented rejection that carries the webhook's warning; UNSIGNALLED for a
        LimitRange rejection of a pod LimitRanger did not mark before the webhook (`marked` false:
        every container set its own resources, or the pod sets pod-level resources), where
        nothing in the review shows the webhook the LimitRange (docs/configuration.md); else the
        cause."""
        ours = [w for w in a.warnings if w.startswith("sigv4-injector:")]
        if PSA_RE.search(a.message):
            if not policy.startswith("psa-"):
                return "Pod Security rejection outside a psa namespace"
            if any(WARN_PSA_RE.search(w) for w in ours):
                return None
            return "Pod Security rejection without the webhook's warning"
        if LIMITRANGE_RE.search(a.message) or POD_LEVEL_RE.search(a.message):
            if policy != "limitrange":
                return "LimitRange rejection outside the limitrange namespace"
            if any(WARN_LR_RE.search(w) for w in ours):
                return None
            if not marked:
                return UNSIGNALLED
            return "LimitRange rejection without the webhook's warning"
        return "accepted before, rejected after"

    # -- reporting --------------------------------------------------------------------------
    @staticmethod
    def cell(outcomes, with_warn=True):
        if outcomes is None:
            return "cli exit≠0"
        parts = []
        for (kind, name), o in sorted(outcomes.items(), key=lambda kv: kv[0][0] == "Pod(tpl)"):
            tag = "tpl:" if kind == "Pod(tpl)" else ""
            if o.accepted:
                s = "ok" + ("+inj" if o.injected else "") + ("(unprinted)" if o.unprinted else "")
            elif PSA_RE.search(o.message):
                s = "rej:PSA"
            elif LIMITRANGE_RE.search(o.message):
                s = "rej:LR"
            elif "is invalid" in o.message or "Invalid" in o.message:
                s = "rej:invalid"
            elif "no matches for kind" in o.message:
                s = "rej:nokind"
            else:
                s = "rej"
            parts.append(tag + s)
        warn = any(w.startswith("sigv4-injector:") for o in outcomes.values() for w in o.warnings)
        return " ".join(parts) + (" [w]" if warn and with_warn else "")

    def table(self):
        failed_cells = {(f, p, path) for f, p, path, *_ in self.failures}
        head = "| manifest | ns policy | before | " + " | ".join(AFTER_PATHS) + " |"
        lines = [head, "|" + "---|" * (3 + len(AFTER_PATHS))]
        for f in self.files:
            for p in POLICIES:
                row = [f, p, self.cell(self.results[(f, p, "before")], with_warn=False)]
                for path in AFTER_PATHS:
                    c = self.cell(self.results[(f, p, path)])
                    row.append(("**FAIL** " if (f, p, path) in failed_cells else "") + c)
                lines.append("| " + " | ".join(row) + " |")
        return "\n".join(lines)

    def failure_groups(self):
        groups = {}
        for f, p, path, key, cause, detail in self.failures:
            groups.setdefault(cause, []).append((f, p, path, key, detail))
        return groups

    def summary(self):
        passed = sum(1 for c in self.checks if c[0])
        failed = len(self.checks) - passed
        objs = sum(len(v) for v in self.results.values() if v)
        return (f"corpus: {len(self.files)} manifests x {len(POLICIES)} policies x "
                f"{1 + len(AFTER_PATHS)} paths, {objs} object outcomes; "
                f"{len(self.failures)} counted failures, {len(self.unsignalled)} LimitRange "
                f"rejections without a mark for the webhook (documented), "
                f"{len(self.rejected_before)} objects rejected before (reported); "
                f"{self.elapsed:.0f}s"), passed, failed

    def markdown(self):
        line, passed, failed = self.summary()
        esc = lambda t: t.replace("|", "\\|").replace("\n", " ")  # noqa: E731
        out = [line, "", f"{passed} passed, {failed} failed", "", "### Failures by cause", ""]
        for cause, items in sorted(self.failure_groups().items(), key=lambda kv: -len(kv[1])):
            out += [f"#### {cause} ({len(items)})", "",
                    "| manifest | policy x path (objects) | first message |", "|---|---|---|"]
            by_file = {}
            for f, p, path, key, detail in items:
                by_file.setdefault(f, []).append((p, path, key, detail))
            for f, rows in by_file.items():
                cells = sorted({f"{p} {path}" for p, path, _k, _d in rows})
                where = ", ".join(cells) if len(cells) <= 6 else \
                    f"{len(cells)} cells: " + ", ".join(sorted({p for p, *_ in rows}))
                out.append(f"| `{f}` | {where} ({len(rows)}) | {esc(rows[0][3][:260])} |")
            out.append("")
        out += ["### LimitRange rejections without a mark for the webhook (documented, not "
                "counted)", "",
                "Every container of these pods sets its own resources, or the pod sets "
                "pod-level resources, so LimitRanger leaves no `kubernetes.io/limit-ranger` mark "
                "before the webhook and nothing in the review shows the webhook the LimitRange "
                "(docs/configuration.md).", "",
                "| manifest | path | object | message |", "|---|---|---|---|"]
        for f, p, path, key, msg in self.unsignalled:
            out.append(f"| `{f}` | {path} | {key[0]}/{key[1]} | {esc(msg[:200])} |")
        out += ["", "### Rejected before (reported, not counted)", "",
                "| manifest | policy | object | message |", "|---|---|---|---|"]
        for f, p, key, msg in self.rejected_before:
            out.append(f"| `{f}` | {p} | {key[0]}/{key[1]} | {esc(msg[:200])} |")
        out += ["", "### Outcomes", "",
                "Cells: one entry per object (`tpl:` the pod a workload's controller would "
                "create), `ok` accepted, `+inj` carrying the injected containers, `rej:PSA` / "
                "`rej:LR` / `rej:invalid` / `rej:nokind` / `rej` rejected by Pod Security / the "
                "LimitRange / validation / no such kind / other; `[w]` a `sigv4-injector:` "
                "warning was printed; `cli exit≠0` the CLI refused the manifest.", "",
                self.table().replace("≠", "!=")]
        return "\n".join(out) + "\n"


def run(env):
    """The e2e scenario: runs the tier, prints the table and the summary, raises on failures."""
    corpus = Corpus(env, os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus"),
                    workers=int(os.environ.get("CORPUS_WORKERS", "4")))
    corpus.run()
    print(corpus.table(), flush=True)
    for cause, items in sorted(corpus.failure_groups().items(), key=lambda kv: -len(kv[1])):
        print(f"  {len(items):4d}  {cause}")
    path = os.environ.get("CORPUS_TABLE")
    if path:
        with open(path, "w") as fh:
            fh.write(corpus.markdown())
    line, passed, failed = corpus.summary()
    print(line)
    print(f"corpus: {passed} passed, {failed} failed", flush=True)
    if failed:
        raise AssertionError(f"{failed} corpus checks failed ({len(corpus.failures)} failures)")
