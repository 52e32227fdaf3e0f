#!/usr/bin/env python3
"""Write single-layer container images as OCI image-layout tar archives (stdlib only).

No registry, no container engine: the archive is what `ctr -n k8s.io images import FILE`
takes. The image reference (e.g. localhost/sigv4-injector/pause:test) goes into the index
entry's annotations `org.opencontainers.image.ref.name` and `io.containerd.image.name`,
so ctr keeps the name as given, with or without --base-name.

The output is deterministic: entries sorted, fixed mtime (SOURCE_DATE_EPOCH, default 0),
owner 0:0 without names, gzip without name or timestamp. Same inputs, same digests.

As a library:
    img = Image(entrypoint=["/pause"], user="65535:65535")
    img.add_file("/pause", src="build/pause", mode=0o755)
    img.add_elf("/usr/bin/curl", "/usr/bin/curl")   # the binary, its libraries, the loader
    img.add_symlink("/bin/sh", "busybox"); img.add_dir("/tmp", 0o1777)
    img.add_tree("/usr/lib/x86_64-linux-gnu/xtables", "/usr/lib/x86_64-linux-gnu/xtables")
    img.write("pause.tar", "localhost/sigv4-injector/pause:test")
From the shell (see --help):
    oci.py out.tar localhost/x/app:test --file build/app:/app --elf /bin/ls:/bin/ls --entrypoint /app
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import tarfile
import time

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
EPOCH = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))


def _norm(path):
    """'/usr/bin/x' -> 'usr/bin/x' (paths in a layer are relative, without '.' or '..')."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise ValueError(f"bad path in image: {path!r}")
    return "/".join(parts)


def _tar_bytes(members):
    """members: iterable of (TarInfo, bytes or None) -> deterministic uncompressed tar."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            info.mtime, info.uid, info.gid, info.uname, info.gname = EPOCH, 0, 0, "", ""
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def _blob(data):
    return "sha256:" + hashlib.sha256(data).hexdigest(), data


class Image:
    """One image: a file tree (one layer) plus its runtime config."""

    def __init__(self, entrypoint=None, cmd=None, env=None, user=None, workdir=None,
                 labels=None, arch="amd64"):
        self.config = {k: v for k, v in {
            "Entrypoint": entrypoint, "Cmd": cmd, "User": user, "WorkingDir": workdir,
            "Env": list(env) if env is not None else ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
            "Labels": labels}.items() if v}
        self.arch = arch
        self.entries = {}  # normalized path -> (type, payload, mode)

    def _put(self, path, kind, payload, mode):
        path = _norm(path)
        parts = path.split("/")
        for i in range(1, len(parts)):  # parent directories, unless given explicitly
            parent = self.entries.setdefault("/".join(parts[:i]), ("dir", None, 0o755))
            if parent[0] != "dir":
                raise ValueError(f"{path}: parent {'/'.join(parts[:i])} is not a directory")
        old = self.entries.get(path)
        if old and old[0] == "dir" and kind != "dir":
            raise ValueError(f"{path} is already a directory in the image")
        self.entries[path] = (kind, payload, mode)
        return self

    def add_file(self, path, src=None, data=None, mode=0o644):
        """A regular file from a host file (src, symlinks followed) or from bytes/str (data)."""
        if (src is None) == (data is None):
            raise ValueError("give exactly one of src, data")
        if src is not None:
            with open(src, "rb") as f:
                data = f.read()
        return self._put(path, "file", data.encode() if isinstance(data, str) else data, mode)

    def add_dir(self, path, mode=0o755):
        return self._put(path, "dir", None, mode)

    def add_symlink(self, path, target):
        return self._put(path, "symlink", target, 0o777)

    def add_elf(self, path, src, mode=0o755):
        """A host executable at `path`, plus (if dynamic) every library `ldd` lists and the
        loader, each at the path ldd shows (e.g. /lib/x86_64-linux-gnu/libc.so.6 and
        /lib64/ld-linux-x86-64.so.2), which the Debian loader searches without ld.so.cache.
        Modules loaded with dlopen() (iptables' xtables/*.so, NSS) are not listed: add_tree."""
        self.add_file(path, src=src, mode=mode)
        for lib in elf_deps(src):
            if _norm(lib) not in self.entries:
                self.add_file(lib, src=lib, mode=0o755)
        return self

    def add_tree(self, path, src):
        """A host directory tree (files and symlinks as they are) at `path`, e.g. the
        dlopen()ed modules ldd cannot see: /usr/lib/x86_64-linux-gnu/xtables for iptables."""
        for root, dirs, files in os.walk(src):
            rel = os.path.relpath(root, src)
            dest = path if rel == "." else f"{path}/{rel}"
            self.add_dir(dest, os.stat(root).st_mode & 0o7777)
            for name in sorted(files) + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
                full = os.path.join(root, name)
                if os.path.islink(full):
                    self.add_symlink(f"{dest}/{name}", os.readlink(full))
                else:
                    self.add_file(f"{dest}/{name}", src=full, mode=os.stat(full).st_mode & 0o7777)
        return self

    def layer(self):
        """The uncompressed layer tar (sorted, so parents come before children)."""
        members = []
        for path in sorted(self.entries):
            kind, payload, mode = self.entries[path]
            info = tarfile.TarInfo(path)
            info.mode = mode
            if kind == "dir":
                info.type = tarfile.DIRTYPE
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, payload
            else:
                info.size = len(payload)
            members.append((info, payload if kind == "file" else None))
        return _tar_bytes(members)

    def write(self, out, ref):
        """Write the OCI image-layout archive for image reference `ref` to path `out`."""
        raw = self.layer()
        gz = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=gz, mtime=0, compresslevel=6) as g:
            g.write(raw)
        layer_digest, layer = _blob(gz.getvalue())
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(EPOCH))
        config = {
            "created": created, "architecture": self.arch, "os": "linux", "config": self.config,
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]},
            "history": [{"created": created, "created_by": "tests/node/oci.py"}],
        }
        config_digest, config_blob = _blob(_json(config))
        manifest_digest, manifest_blob = _blob(_json({
            "schemaVersion": 2, "mediaType": MT_MANIFEST,
            "config": {"mediaType": MT_CONFIG, "digest": config_digest, "size": len(config_blob)},
            "layers": [{"mediaType": MT_LAYER, "digest": layer_digest, "size": len(layer)}],
        }))
        index = _json({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [{
            "mediaType": MT_MANIFEST, "digest": manifest_digest, "size": len(manifest_blob),
            "platform": {"architecture": self.arch, "os": "linux"},
            "annotations": {"io.containerd.image.name": ref,
                            "org.opencontainers.image.ref.name": ref}}]})
        files = [("oci-layout", _json({"imageLayoutVersion": "1.0.0"})), ("index.json", index)]
        files += [("blobs/sha256/" + d.split(":")[1], b) for d, b in sorted(
            [(layer_digest, layer), (config_digest, config_blob), (manifest_digest, manifest_blob)])]
        members = [(_dirinfo("blobs"), None), (_dirinfo("blobs/sha256"), None)]
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            members.append((info, data))
        tmp = out + ".tmp"
        with open(tmp, "wb") as f:
            f.write(_tar_bytes(members))
        os.replace(tmp, out)
        return manifest_digest


def _dirinfo(name):
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, 0o755
    return info


def _json(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def elf_deps(binary):
    """Absolute paths of the shared libraries and loader `ldd` lists; [] for a static binary."""
    res = subprocess.run(["ldd", binary], capture_output=True, text=True)
    if res.returncode != 0:
        if "not a dynamic executable" in res.stdout + res.stderr:
            return []
        raise RuntimeError(f"ldd {binary}: {res.stderr.strip()}")
    deps = []
    for line in res.stdout.splitlines():
        if "not found" in line:
            raise RuntimeError(f"ldd {binary}: {line.strip()}")
        m = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
        if m:
            deps.append(m.group(1))
    return deps


def _argv(text):
    return json.loads(text) if text.startswith("[") else [text]


def main(argv=None):
    p = argparse.ArgumentParser(description="Write a one-layer OCI image-layout archive.")
    p.add_argument("out")
    p.add_argument("ref", help="image reference, e.g. localhost/sigv4-injector/pause:test")
    p.add_argument("--file", action="append", default=[], metavar="SRC:DEST[:MODE]",
                   help="host file SRC at DEST; MODE octal, default 755")
    p.add_argument("--elf", action="append", default=[], metavar="SRC:DEST",
                   help="host executable plus its shared libraries and loader")
    p.add_argument("--tree", action="append", default=[], metavar="SRC:DEST",
                   help="host directory tree (files, symlinks), e.g. dlopen()ed modules")
    p.add_argument("--symlink", action="append", default=[], metavar="PATH:TARGET")
    p.add_argument("--dir", action="append", default=[], metavar="PATH[:MODE]")
    p.add_argument("--entrypoint", type=_argv, help='a JSON array, or one word: "/pause"')
    p.add_argument("--cmd", type=_argv, help='a JSON array, or one word')
    p.add_argument("--env", action="append", metavar="K=V")
    p.add_argument("--user")
    p.add_argument("--workdir")
    a = p.parse_args(argv)
    img = Image(entrypoint=a.entrypoint, cmd=a.cmd, env=a.env, user=a.user, workdir=a.workdir)
    for spec in a.file:
        src, dest, *mode = spec.split(":")
        img.add_file(dest, src=src, mode=int(mode[0], 8) if mode else 0o755)
    for spec in a.elf:
        src, dest = spec.split(":")
        img.add_elf(dest, src)
    for spec in a.tree:
        src, dest = spec.split(":")
        img.add_tree(dest, src)
    for spec in a.symlink:
        path, target = spec.split(":", 1)
        img.add_symlink(path, target)
    for spec in a.dir:
        path, *mode = spec.split(":")
        img.add_dir(path, int(mode[0], 8) if mode else 0o755)
    print(img.write(a.out, a.ref))


if __name__ == "__main__":
    main()
