"""The node's images, built as OCI archives without a registry or a container engine (oci.py),
imported into the node's containerd with `ctr images import`:

- pause: pause.c, static, as the sandbox image (and the namespaces' init, see node.py);
- app: busybox + curl, the only stand-in in a pod spec (for the workshop's http-server);
- the project image, tagged as the chart's default (ghcr.io/sigv4-injector/sigv4-injector:<appVersion>):
  `make static`'s bundle laid out like the Dockerfile's final stage, with both iptables backends
  and a POSIX shell, so it is both the webhook and the injected iptables-init (SPEC 4a);
  dockerfile.py checks the two trees agree;
- the real aws-sigv4-proxy 1.11.1 (scripts/proxy.sh), static with CA certificates beside it, like
  its upstream FROM scratch image, tagged as the injected sidecar's default.
"""
import glob
import os
import re
import subprocess
import sys
import time

import oci

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PAUSE = "localhost/sigv4-injector/pause:test"
APP = "localhost/sigv4-injector/app:test"
PROXY = "public.ecr.aws/aws-observability/aws-sigv4-proxy:1.11.1"
BUSYBOX_APPLETS = ("sh", "sleep", "grep", "cat", "ls", "ip", "wget", "id", "hostname", "echo",
                   "test", "nc", "ps", "env", "seq", "date")


def app_version():
    with open(os.path.join(ROOT, "charts/sigv4-injector/Chart.yaml")) as f:
        return re.search(r'^appVersion:\s*"?([^"\s]+)', f.read(), re.M).group(1)


def project_ref():
    return f"ghcr.io/sigv4-injector/sigv4-injector:{app_version()}"


def _busybox(img, busybox):
    img.add_file("/bin/busybox", src=busybox, mode=0o755)
    for applet in BUSYBOX_APPLETS:
        img.add_symlink(f"/bin/{applet}", "busybox")
    img.add_dir("/tmp", 0o1777)
    img.add_dir("/run", 0o755)  # iptables-legacy's lock file


def project_image(bundle, busybox):
    """The project image from a `make static` bundle: the Dockerfile's final stage's tree (the
    binary, its libraries, glibc, both iptables backends with Debian's alternatives, sh, grep)."""
    img = oci.Image(entrypoint=["/usr/local/bin/sigv4-injector"], cmd=["serve"], user="65532:65532",
                    env=["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                         "LD_LIBRARY_PATH=/usr/local/lib/sigv4-injector"])
    _busybox(img, busybox)
    binary = os.path.join(bundle, "bin/sigv4-injector")
    img.add_file("/usr/local/bin/sigv4-injector", src=binary, mode=0o755)
    for lib in sorted(glob.glob(os.path.join(bundle, "lib/*"))):
        img.add_file(f"/usr/local/lib/sigv4-injector/{os.path.basename(lib)}", src=lib, mode=0o755)
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(bundle, "lib"))
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, env=env, check=True).stdout
    for m in re.finditer(r"(/\S+)", out):  # glibc and the loader, where the binary looks for them
        lib = m.group(1)
        if not lib.startswith(bundle) and os.path.exists(lib) and oci._norm(lib) not in img.entries:
            img.add_file(lib, src=lib, mode=0o755)
    for multi in ("xtables-legacy-multi", "xtables-nft-multi"):
        img.add_elf(f"/usr/sbin/{multi}", f"/usr/sbin/{multi}")
        kind = multi.split("-")[1]
        for v in ("iptables", "ip6tables"):
            for suffix in ("", "-save", "-restore"):
                img.add_symlink(f"/usr/sbin/{v}-{kind}{suffix}", multi)
    for v in ("iptables", "ip6tables"):  # Debian's default alternative: nft
        for suffix in ("", "-save", "-restore"):
            img.add_symlink(f"/usr/sbin/{v}{suffix}", f"{v}-nft{suffix}")
    img.add_tree("/usr/lib/x86_64-linux-gnu/xtables", "/usr/lib/x86_64-linux-gnu/xtables")
    return img


def bundle_dir(static_dir, log):
    """`make static`'s bundle of this tree: scripts/static.sh is incremental (about 1 s when up to
    date, ~90 s from scratch), so the node never runs a stale binary."""
    log(f"the project's bundle (make static) in {static_dir}")
    subprocess.run([os.path.join(ROOT, "scripts", "static.sh")], check=True,
                   env={**os.environ, "STATIC_DIR": static_dir}, stdout=sys.stderr)
    return os.path.join(static_dir, "bundle")


def build(out, node_cache, static_dir, proxy_bin, log):
    """Writes pause.tar, app.tar, project.tar and proxy.tar into `out`; returns the project
    image (for the Dockerfile check) and the bundle it came from."""
    t = time.monotonic()
    busybox = os.path.join(node_cache, "root/bin/busybox")
    subprocess.run(["gcc", "-static", "-Os", "-s", "-o", f"{out}/pause", f"{HERE}/pause.c"], check=True)
    img = oci.Image(entrypoint=["/pause"], user="65535:65535")
    img.add_file("/pause", src=f"{out}/pause", mode=0o755)
    img.write(f"{out}/pause.tar", PAUSE)

    img = oci.Image(cmd=["/bin/sh"])
    _busybox(img, busybox)
    img.add_elf("/usr/bin/curl", "/usr/bin/curl")
    img.write(f"{out}/app.tar", APP)

    bundle = bundle_dir(static_dir, log)
    project = project_image(bundle, busybox)
    project.write(f"{out}/project.tar", project_ref())

    img = oci.Image(entrypoint=["/aws-sigv4-proxy"])
    img.add_file("/aws-sigv4-proxy", src=proxy_bin, mode=0o755)
    img.add_file("/etc/ssl/certs/ca-certificates.crt", src="/etc/ssl/certs/ca-certificates.crt")
    img.write(f"{out}/proxy.tar", PROXY)
    log(f"images built in {time.monotonic() - t:.1f}s (project image {project_ref()})")
    return project, bundle
