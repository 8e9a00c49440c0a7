"""Build the lab base image once per recipe digest and cache it outside the checkout.

One recipe, two Debian releases: 12 (bookworm) and 13 (trixie). The release comes from
PII_GUARD_LAB_RELEASE (default DEFAULT_RELEASE) or from the `release` argument of the functions
below; it is part of every digest, so the two never share a cache entry or a podman tag.

Layout under CACHE_ROOT (default /var/cache/pii-guard-lab, override with PII_GUARD_LAB_CACHE):

    bootstrap-<digest>/rootfs debootstrap of the release + recipe/packages.txt (slow stage)
    <digest>/rootfs/          a copy of it configured by recipe/setup.sh   (shared by all)
    <digest>/rootfs.done      stamp
    <digest>/vm-<vmdigest>/base.img   ext4 raw disk: rootfs + recipe/vm-setup.sh (VM only)
    <digest>/vm-<vmdigest>/vmlinuz, initrd.img, id_ed25519{,.pub}, done

and in podman: localhost/pii-guard-lab:<digest> and :<release> ("12", "13"); :latest names the
default release's image only (tests/integration and older scenarios use it).
A fresh clone on the same machine computes the same digest and reuses everything.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECIPE = HERE / "recipe"
CACHE_ROOT = Path(os.environ.get("PII_GUARD_LAB_CACHE", "/var/cache/pii-guard-lab"))
MIRROR = os.environ.get("PII_GUARD_LAB_MIRROR", "http://deb.debian.org/debian")
# Debian release number -> suite codename. Only these are built and tested (docs/PLATFORMS.md).
RELEASES = {"12": "bookworm", "13": "trixie"}
# `make demo` runs on 12 unless told otherwise (README: why); tests run both.
DEFAULT_RELEASE = "12"
IMAGE_REPO = "localhost/pii-guard-lab"
# Bump when the build steps below change in a way the recipe files do not show.
BUILDER_VERSION = "1"
# A package line in recipe/packages.txt: "name" for every release or "name [12]" / "name [13 ...]".
_PKG_LINE = re.compile(r"(?P<name>[a-z0-9][a-z0-9+.-]*)(?:\s+\[(?P<rel>[0-9]+(?:\s+[0-9]+)*)\])?")


class RecipeError(SystemExit):
    """A bad release name or recipe line: a clear message, no traceback."""


def log(msg: str) -> None:
    print(f"[lab] {msg}", flush=True)


def release(value: str | None = None) -> str:
    """The Debian release to build: `value`, else PII_GUARD_LAB_RELEASE, else the default.

    Accepts the number ("13") or the codename ("trixie"); returns the number.
    """
    raw = value if value is not None else os.environ.get("PII_GUARD_LAB_RELEASE", "") or DEFAULT_RELEASE
    for number, suite in RELEASES.items():
        if raw in (number, suite):
            return number
    choices = ", ".join(f"{n} ({s})" for n, s in RELEASES.items())
    raise RecipeError(f"PII_GUARD_LAB_RELEASE: {raw!r} is not a lab release; expected one of {choices}")


def suite(rel: str | None = None) -> str:
    return RELEASES[release(rel)]


def packages(rel: str | None = None) -> list[str]:
    """recipe/packages.txt for one release: unmarked lines plus the lines marked with it."""
    rel = release(rel)
    out: list[str] = []
    for n, line in enumerate((RECIPE / "packages.txt").read_text().splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        m = _PKG_LINE.fullmatch(text)
        if m is None:
            raise RecipeError(f"recipe/packages.txt line {n}: {line!r} is not 'package' or 'package [12 13]'")
        marks = m.group("rel").split() if m.group("rel") else list(RELEASES)
        unknown = [r for r in marks if r not in RELEASES]
        if unknown:
            raise RecipeError(
                f"recipe/packages.txt line {n}: unknown release {unknown[0]!r}; known: {sorted(RELEASES)}"
            )
        if rel in marks:
            out.append(m.group("name"))
    return out


def pg_major(rel: str | None = None) -> str:
    """The PostgreSQL major version the release's recipe installs (postgresql-NN in packages.txt)."""
    rel = release(rel)
    majors = [m.group(1) for p in packages(rel) if (m := re.fullmatch(r"postgresql-([0-9]+)", p))]
    if len(majors) != 1:
        raise RecipeError(f"recipe/packages.txt: Debian {rel} needs exactly one postgresql-NN, found {majors}")
    return majors[0]


def release_env(rel: str | None = None) -> dict[str, str]:
    """What scenarios and tests need to know about a release, as environment variables."""
    rel = release(rel)
    return {
        "PII_GUARD_LAB_RELEASE": rel,
        "PII_GUARD_LAB_SUITE": RELEASES[rel],
        "PII_GUARD_LAB_IMAGE": image_ref(rel),
        "PII_GUARD_LAB_PG": pg_major(rel),
    }


def bootstrap_digest(rel: str | None = None) -> str:
    """Digest of the debootstrap stage alone (suite = the release, mirror, package list)."""
    rel = release(rel)
    h = hashlib.sha256()
    for part in (BUILDER_VERSION, RELEASES[rel], MIRROR, " ".join(packages(rel))):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:16]


def recipe_digest(rel: str | None = None) -> str:
    """Digest of everything that shapes the rootfs (not the VM-only step)."""
    h = hashlib.sha256(bootstrap_digest(rel).encode())
    h.update((RECIPE / "setup.sh").read_bytes())
    return h.hexdigest()[:16]


def vm_digest(rel: str | None = None) -> str:
    h = hashlib.sha256(recipe_digest(rel).encode())
    h.update((RECIPE / "vm-setup.sh").read_bytes())
    return h.hexdigest()[:16]


def cache_dir(rel: str | None = None) -> Path:
    return CACHE_ROOT / recipe_digest(rel)


def image_ref(tag: str | None = None, rel: str | None = None) -> str:
    return f"{IMAGE_REPO}:{tag or recipe_digest(rel)}"


def image_tags(rel: str | None = None) -> list[str]:
    """Every podman reference of one release's image: digest, release number, and :latest for
    the default release only (so building 13 never changes what :latest runs)."""
    rel = release(rel)
    tags = [image_ref(rel=rel), image_ref(rel)]
    if rel == DEFAULT_RELEASE:
        tags.append(image_ref("latest"))
    return tags


@contextlib.contextmanager
def locked(name: str) -> Iterator[None]:
    """Serialise builds across processes (several helpers may ask for the image at once)."""
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    with open(CACHE_ROOT / f"{name}.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"another process is building {name}; waiting for it")
            fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, **kw)


def _chroot_script(rootfs: Path, script: Path, *args: str) -> None:
    """Run a recipe script inside rootfs with /proc, /sys, /dev bound (needed by postinsts)."""
    mounts = []
    try:
        for src, fstype in (("proc", "proc"), ("sys", "sysfs"), ("dev", None)):
            target = rootfs / src
            if fstype:
                run(["mount", "-t", fstype, src, str(target)])
            else:
                run(["mount", "--bind", "/dev", str(target)])
            mounts.append(target)
        dest = rootfs / "tmp" / script.name
        shutil.copy(script, dest)
        run(["chroot", str(rootfs), "/bin/sh", f"/tmp/{script.name}", *args])
        dest.unlink(missing_ok=True)
    finally:
        for target in reversed(mounts):
            subprocess.run(["umount", "-l", str(target)], check=False)


def bootstrap(rel: str | None = None) -> Path:
    """Stage 1: debootstrap with every package (slow, cached by release and package list)."""
    rel = release(rel)
    d = CACHE_ROOT / f"bootstrap-{bootstrap_digest(rel)}"
    rootfs, stamp = d / "rootfs", d / "done"
    if stamp.exists():
        return rootfs
    with locked(f"bootstrap-{bootstrap_digest(rel)}"):
        if stamp.exists():
            return rootfs
        if rootfs.exists():
            log("removing a half-built debootstrap from an interrupted run")
            shutil.rmtree(rootfs)
        d.mkdir(parents=True, exist_ok=True)
        pk = packages(rel)
        log(
            f"debootstrap Debian {rel} {RELEASES[rel]} (minbase + {len(pk)} packages) from {MIRROR};"
            " takes a few minutes"
        )
        t0 = time.monotonic()
        logf = d / "debootstrap.log"
        with open(logf, "w") as out:
            proc = subprocess.Popen(
                ["debootstrap", "--variant=minbase", f"--include={','.join(pk)}", RELEASES[rel], str(rootfs), MIRROR],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            assert proc.stdout is not None
            last = 0.0
            for line in proc.stdout:
                out.write(line)
                # Progress, but not every one of the ~400 package lines.
                if line.startswith("I: ") and (time.monotonic() - last > 15 or "Base system" in line):
                    log(f"  {line[3:].strip()}  [{time.monotonic() - t0:.0f} s]")
                    last = time.monotonic()
            if proc.wait() != 0:
                tail = "".join(logf.read_text().splitlines(keepends=True)[-25:])
                raise SystemExit(f"debootstrap failed (log: {logf}):\n{tail}")
        stamp.write_text(f"built {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n")
        log(f"debootstrap done in {time.monotonic() - t0:.0f} s")
    return rootfs


def build_rootfs(rel: str | None = None) -> Path:
    """Stage 2: a copy of the debootstrap configured by recipe/setup.sh."""
    rel = release(rel)
    d = cache_dir(rel)
    rootfs, stamp = d / "rootfs", d / "rootfs.done"
    if stamp.exists():
        log(f"rootfs cached (Debian {rel}): {rootfs}")
        return rootfs
    base = bootstrap(rel)
    with locked(f"{recipe_digest(rel)}-rootfs"):
        if stamp.exists():
            return rootfs
        t0 = time.monotonic()
        if rootfs.exists():
            log("removing a half-configured rootfs from an interrupted run")
            shutil.rmtree(rootfs)
        d.mkdir(parents=True, exist_ok=True)
        run(["cp", "-a", "--reflink=auto", str(base), str(rootfs)])
        log("configuring the rootfs (recipe/setup.sh)")
        _chroot_script(rootfs, RECIPE / "setup.sh")
        stamp.write_text(f"built {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n")
        log(f"rootfs ready in {time.monotonic() - t0:.0f} s: {rootfs}")
    return rootfs


def podman_image(rel: str | None = None) -> str:
    """Import the rootfs into podman as :<digest>; tag it :<release> (and :latest, default only)."""
    rel = release(rel)
    ref = image_ref(rel=rel)
    if subprocess.run(["podman", "image", "exists", ref], check=False).returncode != 0:
        rootfs = build_rootfs(rel)
        with locked(f"{recipe_digest(rel)}-podman"):
            if subprocess.run(["podman", "image", "exists", ref], check=False).returncode != 0:
                log(f"importing rootfs into podman as {ref}")
                t0 = time.monotonic()
                tar = subprocess.Popen(
                    ["tar", "-C", str(rootfs), "--numeric-owner", "--xattrs", "-c", "."],
                    stdout=subprocess.PIPE,
                )
                run(
                    [
                        "podman",
                        "import",
                        "--quiet",
                        "--change",
                        'CMD ["/lib/systemd/systemd"]',
                        "--change",
                        "STOPSIGNAL SIGRTMIN+3",
                        "--change",
                        "ENV container=podman",
                        "-",
                        ref,
                    ],
                    stdin=tar.stdout,
                    stdout=subprocess.DEVNULL,
                )
                if tar.wait() != 0:
                    raise SystemExit("tar of the rootfs failed")
                log(f"imported in {time.monotonic() - t0:.0f} s")
    else:
        log(f"podman image cached (Debian {rel}): {ref}")
    run(["podman", "tag", ref, *image_tags(rel)[1:]])
    return ref


def vm_files(rel: str | None = None) -> dict[str, Path]:
    # Keyed by the VM digest too: a rebuild never swaps disk or key under a running VM.
    d = cache_dir(rel) / f"vm-{vm_digest(rel)}"
    return {
        "dir": d,
        "disk": d / "base.img",
        "kernel": d / "vmlinuz",
        "initrd": d / "initrd.img",
        "key": d / "id_ed25519",
        "stamp": d / "done",
    }


def vm_image(rel: str | None = None) -> dict[str, Path]:
    """The VM's ext4 base disk, kernel, initrd and the lab SSH key pair."""
    rel = release(rel)
    f = vm_files(rel)
    if f["stamp"].exists():
        log(f"VM disk cached (Debian {rel}): {f['disk']}")
        return f
    rootfs = build_rootfs(rel)
    with locked(f"{recipe_digest(rel)}-vm"):
        if f["stamp"].exists():
            return f
        t0 = time.monotonic()
        d = f["dir"]
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pii-guard-lab", "-f", str(f["key"])])
        work = d / "root"
        log("copying the rootfs for the VM disk")
        run(["cp", "-a", "--reflink=auto", str(rootfs), str(work)])
        try:
            _chroot_script(work, RECIPE / "vm-setup.sh", f["key"].with_suffix(".pub").read_text().strip())
            kernels = sorted((work / "boot").glob("vmlinuz-*"))
            initrds = sorted((work / "boot").glob("initrd.img-*"))
            if not kernels or not initrds:
                raise SystemExit("no kernel/initrd in the rootfs /boot (linux-image-amd64 missing?)")
            shutil.copy(kernels[-1], f["kernel"])
            shutil.copy(initrds[-1], f["initrd"])
            du = subprocess.run(["du", "-sm", str(work)], check=True, capture_output=True, text=True)
            used = int(du.stdout.split()[0])
            size = used + 1536  # room for the roles, logs and a database
            log(f"mkfs.ext4 -d ({used} MiB used, {size} MiB disk)")
            run(
                ["mkfs.ext4", "-q", "-F", "-L", "piiroot", "-d", str(work), str(f["disk"]), f"{size}M"],
                stdout=subprocess.DEVNULL,
            )
        finally:
            shutil.rmtree(work, ignore_errors=True)
        f["stamp"].write_text(f"built {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n")
        log(f"VM disk ready in {time.monotonic() - t0:.0f} s: {f['disk']}")
    return f


if __name__ == "__main__":  # pragma: no cover - manual use
    print(release(), recipe_digest(), vm_digest(), file=sys.stderr)
