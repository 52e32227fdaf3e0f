#!/usr/bin/env python3
"""Tests of tests/node/dockerfile.py: the real Dockerfile's contract, an in-memory image laid out
like node.py's project image (dummy file contents) that meets it, and mutated images and
Dockerfiles that each must be reported. No container engine, no build: runs in well under a second.

    python3 tests/node/test_dockerfile.py     # PASS/FAIL per case, exit 1 on any failure
"""
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import dockerfile  # noqa: E402
import oci  # noqa: E402

DOCKERFILE = os.path.join(ROOT, "Dockerfile")
STATIC_SH = os.path.join(ROOT, "scripts", "static.sh")
TMP = tempfile.mkdtemp(prefix="test-dockerfile-")
BUNDLE = os.path.join(TMP, "bundle")
LIBS = ["libfmt.so.9", "libssl.so.3", "libyaml-cpp.so.0.7"]
PATH = "/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LIBDIR = "/usr/local/lib/sigv4-injector"


def make_bundle():
    os.makedirs(os.path.join(BUNDLE, "lib"))
    os.makedirs(os.path.join(BUNDLE, "bin"))
    for lib in LIBS:
        open(os.path.join(BUNDLE, "lib", lib), "wb").write(b"x")
    exe = os.path.join(BUNDLE, "bin", "sigv4-injector")
    open(exe, "wb").write(b"x")
    os.chmod(exe, 0o755)


def good_image(env=None):
    """node.py's project image, with one-byte files."""
    img = oci.Image(entrypoint=["/usr/local/bin/sigv4-injector"], cmd=["serve"], user="65532:65532",
                    env=env or [f"PATH={PATH}", f"LD_LIBRARY_PATH={LIBDIR}"])
    img.add_file("/bin/busybox", data=b"x", mode=0o755)
    for applet in ("sh", "grep", "sleep", "cat"):
        img.add_symlink(f"/bin/{applet}", "busybox")
    img.add_dir("/tmp", 0o1777).add_dir("/run")
    img.add_file("/usr/local/bin/sigv4-injector", data=b"x", mode=0o755)
    for lib in LIBS:
        img.add_file(f"{LIBDIR}/{lib}", data=b"x", mode=0o755)
    img.add_file("/lib/x86_64-linux-gnu/libc.so.6", data=b"x", mode=0o755)
    img.add_file("/lib64/ld-linux-x86-64.so.2", data=b"x", mode=0o755)
    for multi in ("xtables-legacy-multi", "xtables-nft-multi"):
        img.add_file(f"/usr/sbin/{multi}", data=b"x", mode=0o755)
        for v in ("iptables", "ip6tables"):
            for suffix in ("", "-save", "-restore"):
                img.add_symlink(f"/usr/sbin/{v}-{multi.split('-')[1]}{suffix}", multi)
    for v in ("iptables", "ip6tables"):
        for suffix in ("", "-save", "-restore"):
            img.add_symlink(f"/usr/sbin/{v}{suffix}", f"{v}-nft{suffix}")
    for mod in ("libxt_tcp.so", "libipt_REDIRECT.so"):
        img.add_file(f"/usr/lib/x86_64-linux-gnu/xtables/{mod}", data=b"x")
    return img


def contract_of(replacements=(), static_replacements=()):
    """The contract of a copy of the Dockerfile (and static.sh) with text replaced."""
    d = tempfile.mkdtemp(dir=TMP)
    os.makedirs(os.path.join(d, "scripts"))
    for src, dest, reps in ((DOCKERFILE, "Dockerfile", replacements),
                            (STATIC_SH, "scripts/static.sh", static_replacements)):
        text = open(src).read()
        for old, new in reps:
            assert text.count(old) == 1, f"{old!r} is not once in {src}"
            text = text.replace(old, new)
        open(os.path.join(d, dest), "w").write(text)
    return dockerfile.contract(os.path.join(d, "Dockerfile"))


def found(img=None, c=None):
    return dockerfile.mismatches(c or C, img or good_image(), BUNDLE)


def reported(needle, img=None, c=None, count=1):
    """`count` mismatches, each mentioning needle."""
    got = found(img, c)
    assert len(got) == count and all(needle in m for m in got), f"wanted {count} with {needle!r}, got {got}"


def mutated(*changes):
    img = good_image()
    for change in changes:
        change(img)
    return img


def rm(*paths):
    return lambda img: [img.entries.pop(p) for p in paths]


def link(path, target):
    return lambda img: img.entries.__setitem__(path, ("symlink", target, 0o777))


CASES = []


def case(fn):
    CASES.append(fn)
    return fn


make_bundle()
C = dockerfile.contract(DOCKERFILE)
RUN_LINE = "/usr/sbin/xtables-legacy-multi /usr/sbin/xtables-nft-multi \\\n"


@case
def contract_of_the_real_dockerfile():
    assert (C["user"], C["entrypoint"], C["cmd"]) == ("65532:65532", ["/usr/local/bin/sigv4-injector"], ["serve"]), C
    assert C["env"] == {"LD_LIBRARY_PATH": LIBDIR}, C["env"]
    assert {cp["bundle"]: cp["dest"] for cp in C["copies"]} == {
        "lib/": LIBDIR + "/", "bin/sigv4-injector": "/usr/local/bin/sigv4-injector"}, C["copies"]
    assert {"/bin/sh", "/bin/grep", "/usr/sbin/xtables-legacy-multi", "/usr/sbin/xtables-nft-multi"} <= set(C["executables"])
    assert C["globs"] == ["/usr/lib/*/xtables/*.so"], C["globs"]
    assert {"iptables-legacy", "iptables-nft", "ip6tables-legacy", "ip6tables-nft", "sigv4-injector"} <= set(C["commands"])
    assert "ldd" not in C["commands"] and "exit" not in C["commands"], C["commands"]
    assert C["lib_rule"]["Dockerfile"] and len(set(C["lib_rule"].values())) == 1, C["lib_rule"]
    assert not C["unsupported"], C["unsupported"]


@case
def good_image_no_mismatch():
    assert found() == [], found()


@case
def absolute_and_dotdot_symlinks_resolve():
    img = mutated(link("bin/grep", "../usr/../bin/./busybox"),
                  link("usr/sbin/iptables-nft", "/usr/sbin/xtables-nft-multi"))
    assert found(img) == [], found(img)


@case
def missing_bin_sh():
    reported("/bin/sh is missing", mutated(rm("bin/sh")))


@case
def iptables_nft_dangling():
    reported("iptables-nft is a dangling symlink", mutated(link("usr/sbin/iptables-nft", "xtables-nft-mult")))


@case
def symlink_loop():
    img = mutated(link("usr/sbin/xtables-legacy-multi", "loop"), link("usr/sbin/loop", "xtables-legacy-multi"))
    got = found(img)  # the multi binary itself, and iptables-legacy, ip6tables-legacy through it
    assert len(got) == 3 and all("loop" in m for m in got), got


@case
def not_executable():
    img = mutated(lambda img: img.add_file("/usr/sbin/xtables-nft-multi", data=b"x"))
    reported("not executable (mode 644)", img, count=3)  # and iptables-nft, ip6tables-nft through it


@case
def no_xtables_modules():
    xt = "usr/lib/x86_64-linux-gnu/xtables"
    reported("/usr/lib/*/xtables/*.so", mutated(rm(f"{xt}/libxt_tcp.so", f"{xt}/libipt_REDIRECT.so")))


@case
def binary_missing():
    got = found(mutated(rm("usr/local/bin/sigv4-injector")))
    assert len(got) == 2 and "COPY" in got[0] and "'sigv4-injector' by name" in got[1], got


@case
def wrong_user():
    reported("USER", mutated(lambda img: img.config.update(User="0")))


@case
def no_user():
    reported("USER", mutated(lambda img: img.config.pop("User")))


@case
def wrong_cmd():
    reported("CMD", mutated(lambda img: img.config.update(Cmd=["serve", "--self-signed"])))


@case
def wrong_entrypoint():
    reported("ENTRYPOINT", mutated(lambda img: img.config.update(Entrypoint=["/bin/sh"])))


@case
def extra_bundle_lib():
    reported("libextra.so.1, not in the bundle", mutated(lambda img: img.add_file(f"{LIBDIR}/libextra.so.1", data=b"x")))


@case
def missing_bundle_lib():
    reported("lacks libssl.so.3", mutated(rm(f"{LIBDIR[1:]}/libssl.so.3")))


@case
def ld_library_path_missing():
    reported("LD_LIBRARY_PATH", good_image(env=[f"PATH={PATH}"]))


@case
def path_without_usr_sbin():
    reported("by name", good_image(env=["PATH=/usr/local/bin:/bin", f"LD_LIBRARY_PATH={LIBDIR}"]), count=4)


@case
def dockerfile_comment_in_run_changes_nothing():
    assert contract_of([(RUN_LINE, RUN_LINE + "  # a comment\n")]) == C


@case
def static_sh_comment_with_apostrophe_changes_nothing():
    line = "ldd \"$out/sigv4-injector\" | awk '$3 ~ /^"
    assert contract_of(static_replacements=[(line, "# the bundle's rule, don't change\n" + line)]) == C


@case
def dockerfile_user_changed():
    reported("USER", c=contract_of([("USER 65532:65532", "USER 1000:1000")]))


@case
def dockerfile_extra_path_in_run_check():
    c = contract_of([(RUN_LINE, RUN_LINE.replace(" \\", " /usr/bin/nft \\"))])
    assert "/usr/bin/nft" in c["executables"], c["executables"]
    reported("/usr/bin/nft is missing", c=c)


@case
def dockerfile_extra_command_in_run_loop():
    reported("'ebtables' by name", c=contract_of([("ip6tables-nft; do", "ip6tables-nft ebtables; do")]))


@case
def dockerfile_cmd_changed():
    reported("CMD", c=contract_of([('CMD ["serve"]', 'CMD ["serve", "--self-signed"]')]))


@case
def dockerfile_copy_destination_changed():
    reported("/opt/lib/", c=contract_of([(LIBDIR + "/\n", "/opt/lib/\n")]))


@case
def dockerfile_library_rule_differs():
    reported("grep -Ev", c=contract_of([("|librt)\\.so'", "|librt|libz)\\.so'")]))


@case
def static_sh_library_rule_differs():
    reported("grep -Ev", c=contract_of(static_replacements=[("|librt)\\.so'", "|librt|libstdc)\\.so'")]))


@case
def dockerfile_unknown_instruction():
    reported("VOLUME /data", c=contract_of([("USER 65532", "VOLUME /data\nUSER 65532")]))


passed = failed = 0
for case in CASES:
    name = case.__name__.replace("_", " ")
    try:
        case()
        print(f"PASS {name}")
        passed += 1
    except Exception as e:  # noqa: BLE001 - any exception fails the case
        print(f"FAIL {name}: {type(e).__name__}: {e}")
        failed += 1
shutil.rmtree(TMP)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
