#!/usr/bin/env python3
"""Does the node tier's project image hold what the repository's Dockerfile builds? (stdlib only)

The Dockerfile builds the project image for users with a container engine; tests/node/node.py
builds the one the node tier runs from the `make static` bundle, without one. `contract()` reads
what the Dockerfile's FINAL stage says, `mismatches()` lists every way an oci.Image differs:
  - COPY --from=<build stage>: the build stage stages its output under one directory (/out),
    laid out like the bundle (bin/, lib/). A copied file must be in the image (executable if the
    bundle's is); a copied directory must hold exactly the bundle's file names.
  - ENV (each variable, equal in the image's Env), USER, ENTRYPOINT, CMD; EXPOSE only if the
    image declares ports (Kubernetes ignores them; node.py declares none).
  - the check RUNs (every RUN not calling apt-get): the shell (/bin/sh, for the shell form), the
    programs run or given to ldd by absolute path must be executable files, globs must match,
    commands run by name must be executables on the image's PATH. Symlinks are followed inside
    the image, relative and absolute, as the kernel would.
  - the build stage's library rule (the `grep -Ev PATTERN` after ldd) must be scripts/static.sh's,
    which made the bundle.
  - an instruction of the final stage this module does not understand is itself a mismatch.
What it cannot check: it runs neither apt, nor the build stage, nor any binary. So not what the
RUN check's ldd proves (no program loads a bundle library), nor that the programs run, nor glibc
and the loader (found by ldd on the real binary). ldd is the check's tool, not required in the
image. Debian's iptables package brings more files than the node image, which is a subset
holding what the contract names: nothing beyond the contract is compared. The base image's PATH
is unknown here: commands resolve through the image's own PATH.
"""
import fnmatch
import json
import os
import re
import shlex
import sys

KEYWORDS = {"!", "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "{", "}"}
BUILTINS = {"exit", "true", "false", "test", "[", "echo", "printf", "cd", "set", "export", ":", "exec"}
INSPECTORS = {"ldd"}  # the check's tools: their operands are required, they are not
SEPARATORS = set(";&|()\n")


def instructions(text):
    """Dockerfile text -> [(INSTRUCTION, args)]: continuations joined, comment lines dropped."""
    out, cur = [], ""
    for line in text.splitlines():
        if line.lstrip().startswith("#"):  # comments and parser directives, also mid-continuation
            continue
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
            continue
        cur = (cur + line).strip()
        if cur:
            word, _, args = cur.partition(" ")
            out.append((word.upper(), args.strip()))
        cur = ""
    return out


def commands(script):
    """Shell text -> [(words, separator after)], split at ; & | && || ( ) and newlines."""
    lines = [ln for ln in script.replace("\\\n", " ").splitlines() if not ln.lstrip().startswith("#")]
    lex = shlex.shlex("\n".join(lines), posix=True, punctuation_chars="();<>|&\n")
    lex.whitespace, lex.whitespace_split, lex.commenters = " \t\r", True, ""
    out, words = [], []
    for tok in lex:
        if tok and set(tok) <= SEPARATORS:
            if words:
                out.append((words, tok.strip("\n") or ";"))
            words = []
        else:
            words.append(tok)
    return out + ([(words, ";")] if words else [])


def _strip(words):
    """Drop leading keywords (`!`, `do`, ...) and VAR=value assignments."""
    while words and (words[0] in KEYWORDS or re.match(r"[A-Za-z_]\w*=", words[0])):
        words = words[1:]
    return words


def lib_rule(script):
    """PATTERN of the `grep -Ev PATTERN` in the pipeline starting with ldd (libraries kept), or None."""
    in_ldd = False
    for words, sep in commands(script):
        words = _strip(words)
        in_ldd = in_ldd or words[:1] == ["ldd"]
        if in_ldd and words[:2] == ["grep", "-Ev"] and len(words) > 2:
            return words[2]
        in_ldd = in_ldd and sep == "|"
    return None


def _requirements(run, loops):
    """[(contract key, value)] a RUN's script needs; `loops` collects for-loop words by variable."""
    if run.startswith("["):  # exec form: no shell
        argv0 = json.loads(run)[0]
        return [("executables" if argv0.startswith("/") else "commands", argv0)]
    req = [("executables", "/bin/sh")]  # the shell form runs /bin/sh -c
    for words, _ in commands(run):
        words = _strip(words)
        if words[:1] == ["for"] and words[2:3] == ["in"]:
            loops[words[1]] = words[3:]
            continue
        first = words[0] if words else ""
        for name in loops.get(first[1:].strip("{}"), [first]) if first.startswith("$") else words[:1]:
            if name.startswith("/"):
                req.append(("executables", name))
            elif name not in BUILTINS | INSPECTORS:
                req.append(("commands", name))
        if first in INSPECTORS:
            req += [("globs" if re.search(r"[*?[]", a) else "executables", a) for a in words[1:] if a.startswith("/")]
    return req


def contract(dockerfile_path, static_sh=None):
    """What the Dockerfile's final stage requires of the image (a dict, see the module doc)."""
    with open(dockerfile_path) as f:
        ins = instructions(f.read())
    static_sh = static_sh or os.path.join(os.path.dirname(os.path.abspath(dockerfile_path)),
                                          "scripts", "static.sh")
    with open(static_sh) as f:
        static_rule = lib_rule(f.read())
    stages, names = [], {}
    for kw, args in ins:
        if kw == "FROM":
            m = re.search(r"\s+AS\s+(\S+)\s*$", args, re.I)
            names[m.group(1).lower() if m else str(len(stages))] = len(stages)
            stages.append([])
        elif stages:
            stages[-1].append((kw, args))
    c = {"copies": [], "env": {}, "user": None, "entrypoint": None, "cmd": None, "expose": [],
         "packages": [], "executables": [], "globs": [], "commands": [], "unsupported": [],
         "lib_rule": {"Dockerfile": None, "scripts/static.sh": static_rule}}
    loops = {}
    for kw, args in stages[-1]:
        words = shlex.split(args) if kw in ("COPY", "ENV", "EXPOSE") else []
        m = re.search(r"(?:^|\s)--from=(\S+)", args) if kw == "COPY" else None
        if m and m.group(1).lower() in names:
            build = stages[names[m.group(1).lower()]]
            *srcs, dest = [w for w in words if not w.startswith("--")]
            c["copies"] += [{"from": m.group(1), "src": s, "dest": dest} for s in srcs]
            c["lib_rule"]["Dockerfile"] = lib_rule("\n".join(a for k, a in build if k == "RUN"))
        elif kw == "ENV":
            pairs = [w.split("=", 1) for w in words] if "=" in words[0] else [[words[0], " ".join(words[1:])]]
            c["env"].update(pairs)
        elif kw == "USER":
            c["user"] = args
        elif kw in ("ENTRYPOINT", "CMD"):
            c[kw.lower()] = json.loads(args) if args.startswith("[") else ["/bin/sh", "-c", args]
            if kw == "ENTRYPOINT":  # Docker clears the base image's CMD
                c["cmd"] = []
        elif kw == "EXPOSE":
            c["expose"] = [w if "/" in w else w + "/tcp" for w in words]
        elif kw == "RUN" and "apt-get" in args:  # package installation: not checked here
            c["packages"] += [w for ws, _ in commands(args) if ws[:2] == ["apt-get", "install"]
                              for w in ws[2:] if not w.startswith("-")]
        elif kw == "RUN":
            for key, value in _requirements(args, loops):
                if value not in c[key]:
                    c[key].append(value)
        else:
            c["unsupported"].append(f"{kw} {args}")
    srcs = [cp["src"].rstrip("/") for cp in c["copies"]]
    root = os.path.commonpath(srcs) if len(set(srcs)) > 1 else os.path.dirname(srcs[0]) if srcs else "/"
    for cp in c["copies"]:
        cp["bundle"] = os.path.relpath(cp["src"], root) + ("/" if cp["src"].endswith("/") else "")
    return c


def resolve(entries, path, limit=40):
    """Normalized path of what `path` names in the image, symlinks followed; None if missing."""
    todo, done, hops = [p for p in path.split("/") if p], [], 0
    while todo:
        part = todo.pop(0)
        if part in (".", ".."):
            done = done[:-1] if part == ".." else done
            continue
        entry = entries.get("/".join(done + [part]))
        if entry is None:
            return None
        if entry[0] == "symlink":
            hops += 1
            if hops > limit:
                raise ValueError(f"{path}: too many levels of symbolic links (a loop)")
            done = [] if entry[1].startswith("/") else done
            todo = [p for p in entry[1].split("/") if p] + todo
        else:
            done.append(part)
    return "/".join(done)


def _problem(entries, path, exe=True, kind="file"):
    """Why `path` is not a `kind` (executable if exe) in the image, or None."""
    try:
        real = resolve(entries, path)
    except ValueError as e:
        return str(e)
    if real is None:
        link = entries.get("/".join(p for p in path.split("/") if p))
        return (f"{path} is a dangling symlink (-> {link[1]})" if link and link[0] == "symlink"
                else f"{path} is missing")
    got, _, mode = entries.get(real, ("dir", None, 0o755))  # "" is the root
    if got != kind:
        return f"{path} is not a {kind}"
    return f"{path} is not executable (mode {mode:o})" if exe and not mode & 0o111 else None


def _children(entries, path):
    """Names in the image directory `path` (symlinks followed), or None if it is not one."""
    real = resolve(entries, path)
    if real is None or entries.get(real, ("dir",))[0] != "dir":
        return None
    prefix = real + "/" if real else ""
    return {k[len(prefix):] for k in entries if k.startswith(prefix) and "/" not in k[len(prefix):]}


def _glob(entries, pattern):
    """Image paths matching a glob (directories followed through symlinks)."""
    found = [""]
    for part in [p for p in pattern.split("/") if p]:
        found = [f"{d}/{k}" for d in found for k in sorted(_children(entries, d) or ())
                 if fnmatch.fnmatchcase(k, part)]
    return [p for p in found if resolve(entries, p) is not None]


def mismatches(contract, image, bundle_dir):
    """Every way `image` (an oci.Image) differs from `contract`, each a sentence; [] if none."""
    e, cfg, out = image.entries, image.config, []
    env = dict(kv.split("=", 1) for kv in cfg.get("Env", []))
    for cp in contract["copies"]:
        src, dest = os.path.join(bundle_dir, cp["bundle"]), cp["dest"]
        where = f"COPY --from={cp['from']} {cp['src']} {dest} (the bundle's {cp['bundle']})"
        if cp["src"].endswith("/"):
            if (why := _problem(e, dest, exe=False, kind="dir")) or not os.path.isdir(src):
                out.append(f"{where}: {why or src + ' is not a directory'}")
                continue
            have, want = _children(e, dest), set(os.listdir(src))
            if want - have:
                out.append(f"{where}: the image lacks {', '.join(sorted(want - have))}")
            if have - want:
                out.append(f"{where}: the image has {', '.join(sorted(have - want))}, not in the bundle")
        else:
            path = dest + os.path.basename(cp["src"]) if dest.endswith("/") else dest
            if why := _problem(e, path, exe=os.access(src, os.X_OK)):
                out.append(f"{where}: {why}")
    for name, want in contract["env"].items():
        if env.get(name) != want:
            out.append(f"ENV {name}: the Dockerfile sets {want!r}, the image has {env.get(name)!r}")
    if (cfg.get("User") or "") != (contract["user"] or ""):
        out.append(f"USER: the Dockerfile says {contract['user']!r}, the image {cfg.get('User')!r}")
    for key in ("Entrypoint", "Cmd"):
        want = contract[key.lower()]
        if want is not None and (cfg.get(key) or []) != want:
            out.append(f"{key.upper()}: the Dockerfile says {want}, the image {cfg.get(key)}")
    if "ExposedPorts" in cfg and set(cfg["ExposedPorts"]) != set(contract["expose"]):
        out.append(f"EXPOSE: the Dockerfile says {contract['expose']}, the image {sorted(cfg['ExposedPorts'])}")
    for path in contract["executables"]:
        if why := _problem(e, path):
            out.append(f"the Dockerfile's check RUN needs the executable {path}: {why}")
    for pattern in contract["globs"]:
        if not _glob(e, pattern):
            out.append(f"the Dockerfile's check RUN needs {pattern}: nothing in the image matches")
    dirs = [d for d in env.get("PATH", "").split(":") if d.startswith("/")]
    for name in contract["commands"]:
        whys = [_problem(e, f"{d}/{name}") for d in dirs]
        if all(whys):
            near = [w for w in whys if "missing" not in w]
            out.append(f"the Dockerfile's check RUN runs {name!r} by name: no executable of that name on "
                       f"the image's PATH {env.get('PATH', '(unset)')!r}" + (f" ({'; '.join(near)})" if near else ""))
    rules = contract["lib_rule"]
    if None in rules.values() or len(set(rules.values())) > 1:
        out.append("the libraries the build stage copies differ from the bundle's: grep -Ev after ldd is "
                   + ", ".join(f"{v!r} in {k}" if v else f"not found in {k}" for k, v in rules.items()))
    out += [f"the final stage's `{u}` is not understood by tests/node/dockerfile.py: teach it"
            for u in contract["unsupported"]]
    return out


if __name__ == "__main__":
    print(json.dumps(contract(sys.argv[1] if len(sys.argv) > 1 else "Dockerfile"), indent=1))
