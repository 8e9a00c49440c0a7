#!/usr/bin/env python3
"""The lab: base image, podman endpoints and the QEMU VM.

    lab.py image          build (or reuse) the base rootfs and the podman image
    lab.py vm-image       build (or reuse) the VM disk, kernel, initrd and SSH key
    lab.py up N           start N systemd endpoints pg-lab-1..N (1 <= N <= 20)
    lab.py down           stop and remove every pg-lab-* endpoint
    lab.py status         show the image, the endpoints and their systemd state
    lab.py vm             boot a VM for manual use; prints the ssh command; Ctrl-C stops it
    lab.py prune          delete cached images of older recipe digests
    lab.py env            print the release's shell variables (tools/molecule-all.sh)

Every command acts on one Debian release: `--release 12|13` (or bookworm/trixie), else
PII_GUARD_LAB_RELEASE, else tests/lab/image.py DEFAULT_RELEASE (12).

Containers: `--systemd=always --network none`, reached with the containers.podman.podman
connection plugin (see inventories/lab/). Podman settings come from tests/lab/containers.conf
through CONTAINERS_CONF (set here when unset), never from the user's global config.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

try:  # imported as tests.lab.lab (unit tests) or run as a script
    from . import image
except ImportError:  # pragma: no cover - script mode
    import image  # type: ignore[no-redef]

HERE = Path(__file__).resolve().parent
os.environ.setdefault("CONTAINERS_CONF", str(HERE / "containers.conf"))

PREFIX = "pg-lab-"
MAX_ENDPOINTS = 20  # 2 cores here; each systemd endpoint costs ~60-100 MiB
COMMANDS = ("image", "vm-image", "up", "down", "status", "vm", "prune", "env")


def release_arg(text: str) -> str:
    try:
        return image.release(text)
    except image.RecipeError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("PII_GUARD_LAB_RELEASE: ", "")) from None


def endpoint_count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        msg = f"N must be a whole number between 1 and {MAX_ENDPOINTS}, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if not 1 <= n <= MAX_ENDPOINTS:
        raise argparse.ArgumentTypeError(f"N must be between 1 and {MAX_ENDPOINTS}, got {n}")
    return n


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lab.py",
        description="pii_guard lab: base image, podman endpoints pg-lab-1..N, QEMU VM",
    )
    p.add_argument(
        "--release",
        type=release_arg,
        default=None,
        help=f"Debian release: {', '.join(image.RELEASES)}"
        f" (default: $PII_GUARD_LAB_RELEASE or {image.DEFAULT_RELEASE})",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    sub.add_parser("image", help="build or reuse the base image (podman)")
    sub.add_parser("vm-image", help="build or reuse the VM disk, kernel and SSH key")
    up = sub.add_parser("up", help=f"start N endpoints {PREFIX}1..N")
    up.add_argument("n", type=endpoint_count, metavar="N", help=f"number of endpoints, 1..{MAX_ENDPOINTS}")
    up.add_argument("--timeout", type=int, default=120, help="seconds to wait for systemd in each endpoint")
    sub.add_parser("down", help=f"stop and remove all {PREFIX}* endpoints")
    sub.add_parser("status", help="show image and endpoints")
    sub.add_parser("vm", help="boot a VM for manual use (Ctrl-C stops it)")
    sub.add_parser("prune", help="delete cached images of other (older) recipe digests")
    sub.add_parser("env", help="print PII_GUARD_LAB_RELEASE, _SUITE, _IMAGE and _PG for the release")
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def podman(*args: str, check: bool = True, capture: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], check=check, capture_output=capture, text=True)


def existing_endpoints(with_image: bool = False) -> dict[str, str]:
    """name -> state ("running", "exited", ...; with_image: "state image") of every pg-lab-N."""
    # JSON: the {{.State}} template prints "Up 5 minutes ago" on podman 4.3, not the state.
    out = podman("ps", "-a", "--filter", f"name=^{PREFIX}[0-9]+$", "--format", "json").stdout
    found = {}
    for c in json.loads(out or "[]"):
        names = c.get("Names") or []
        if names:
            found[names[0]] = f"{c.get('State')} {c.get('Image')}" if with_image else str(c.get("State"))
    return found


def remove(*names: str) -> None:
    """Force-remove endpoints. A dead endpoint whose record says running fails the first time
    ("could not be stopped ... container state improper"), which settles the record, so retry."""
    for attempt in range(3):
        r = podman("rm", "--force", "--time", "0", *names, check=False)
        if r.returncode == 0:
            return
        time.sleep(0.5 * (attempt + 1))
    raise SystemExit(f"podman rm {' '.join(names)} failed: {r.stderr.strip()}")


def alive(name: str) -> bool:
    """True when a process can be started in the endpoint (its record alone can be stale)."""
    return podman("exec", name, "true", check=False).returncode == 0


def wait_systemd(name: str, timeout: int) -> str:
    """Wait until systemd in the endpoint finished booting; return its state."""
    deadline = time.monotonic() + timeout
    state = "unknown"
    while time.monotonic() < deadline:
        r = podman("exec", name, "systemctl", "is-system-running", check=False)
        state = r.stdout.strip() or r.stderr.strip()
        if state in ("running", "degraded"):
            return state
        if "stopped container" in state or "no such container" in state:
            # The endpoint died while booting: waiting longer cannot help; show why it died.
            logs = podman("logs", "--tail", "20", name, check=False)
            raise SystemExit(f"{name}: stopped while booting ({state})\n{logs.stdout}{logs.stderr}")
        time.sleep(1)
    raise SystemExit(f"{name}: systemd did not finish booting within {timeout} s (state: {state})")


def cmd_up(n: int, timeout: int) -> None:
    # A switch of release recreates the endpoints below (their image is not the wanted one).
    ref = image.podman_image()
    have = existing_endpoints()
    t0 = time.monotonic()
    names = [f"{PREFIX}{i}" for i in range(1, n + 1)]
    for name, info in existing_endpoints(with_image=True).items():
        # An endpoint from an older recipe would silently test the old image: replace it.
        if name in names and info.split()[-1] != ref:
            image.log(f"{name}: built from {info.split()[-1]}, not {ref}; recreating")
            remove(name)
            have.pop(name, None)
    for name in names:
        state = have.get(name)
        if state is not None and alive(name):
            image.log(f"{name}: already running")
            continue
        if state in ("exited", "created", "stopped"):
            image.log(f"{name}: starting existing container ({state})")
            if podman("start", name, check=False).returncode == 0:
                continue
        if state is not None:
            # A machine restored from a snapshot (or rebooted with a persistent runroot) keeps
            # podman's record "running" or "stopping" while the process is gone, and neither
            # exec nor start can use it again.
            image.log(f"{name}: recorded as {state} but not usable; recreating")
            remove(name)
        image.log(f"{name}: creating from {ref}")
        podman(
            "run",
            "--detach",
            "--name",
            name,
            "--hostname",
            name,
            "--systemd=always",
            "--network",
            "none",
            "--label",
            "pii-guard-lab=1",
            ref,
            "/lib/systemd/systemd",
        )
    for name in names:
        state = wait_systemd(name, timeout)
        note = ""
        if state == "degraded":
            failed = podman("exec", name, "systemctl", "--failed", "--no-legend", "--plain", check=False).stdout
            note = " (failed units: " + ", ".join(ln.split()[0] for ln in failed.splitlines() if ln.strip()) + ")"
        image.log(f"{name}: systemd {state}{note}")
    image.log(f"{n} endpoint(s) up in {time.monotonic() - t0:.1f} s; inventory: inventories/lab")
    extra = sorted(set(have) - set(names))
    if extra:
        image.log(f"note: also running from an earlier `up`: {', '.join(extra)}")


def cmd_down() -> None:
    have = existing_endpoints()
    if not have:
        image.log("no lab endpoints")
        return
    remove(*sorted(have))
    image.log(f"removed {', '.join(sorted(have))}")


def cmd_status() -> None:
    ref = image.image_ref()
    exists = podman("image", "exists", ref, check=False).returncode == 0
    print(f"release       : Debian {image.release()} ({image.suite()})")
    print(f"recipe digest : {image.recipe_digest()}")
    print(f"cache         : {image.cache_dir()}")
    print(f"podman image  : {ref} ({'present' if exists else 'not built: lab.py image'})")
    vm = image.vm_files()
    print(f"VM disk       : {vm['disk']} ({'present' if vm['stamp'].exists() else 'not built: lab.py vm-image'})")
    have = existing_endpoints()
    if not have:
        print("endpoints     : none (lab.py up N)")
    for name, state in sorted(have.items()):
        sysd = ""
        if state == "running":
            sysd = podman("exec", name, "systemctl", "is-system-running", check=False).stdout.strip()
        print(f"endpoint      : {name} {state} {sysd}".rstrip())


def cmd_vm() -> None:
    try:
        from .vm import VM
    except ImportError:  # pragma: no cover - script mode
        from vm import VM  # type: ignore[no-redef]
    vm = VM()
    t0 = time.monotonic()
    vm.start()
    print(f"VM up in {time.monotonic() - t0:.0f} s. Connect with:")
    print(f"  ssh -i {vm.key_path} -p {vm.ssh_port} -o StrictHostKeyChecking=no labop@127.0.0.1")
    print(f"  inventory: {vm.inventory()}   QMP: {vm.qmp_path}")
    print("Ctrl-C stops the VM.")
    try:
        while vm.running():
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        vm.stop()


def cmd_env() -> None:
    """Shell assignments for the selected release, e.g. `eval "$(lab.py --release 13 env)"`."""
    for key, value in image.release_env().items():
        print(f"{key}={value}")


def cmd_prune() -> None:
    """Remove cache directories and podman tags of recipe digests other than the current ones
    (of every release: pruning while on 13 keeps the 12 image)."""
    keep: set[str] = set()
    current: set[str] = set()
    for rel in image.RELEASES:
        keep |= {image.recipe_digest(rel), f"bootstrap-{image.bootstrap_digest(rel)}"}
        current |= set(image.image_tags(rel))
    if image.CACHE_ROOT.is_dir():
        for d in sorted(image.CACHE_ROOT.iterdir()):
            if d.is_dir() and d.name not in keep:
                image.log(f"removing {d}")
                shutil.rmtree(d)
            elif d.suffix == ".lock" and not any(d.name.startswith(k) for k in keep):
                d.unlink()
    tags = podman("images", "--format", "{{.Repository}}:{{.Tag}}", image.IMAGE_REPO, check=False).stdout.split()
    for tag in tags:
        if tag not in current:
            r = podman("rmi", tag, check=False)
            image.log(f"podman rmi {tag}: {'ok' if r.returncode == 0 else r.stderr.strip()}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.release:
        # One place for the choice: image.release() and the VM read it from here on.
        os.environ["PII_GUARD_LAB_RELEASE"] = args.release
    else:
        image.release()  # a bad PII_GUARD_LAB_RELEASE stops here with a clear message
    if args.command == "image":
        image.podman_image()
    elif args.command == "vm-image":
        image.vm_image()
    elif args.command == "up":
        cmd_up(args.n, args.timeout)
    elif args.command == "down":
        cmd_down()
    elif args.command == "status":
        cmd_status()
    elif args.command == "vm":
        cmd_vm()
    elif args.command == "prune":
        cmd_prune()
    elif args.command == "env":
        cmd_env()
    return 0


if __name__ == "__main__":
    sys.exit(main())
