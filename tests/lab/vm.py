"""A QEMU VM with a real Debian kernel for the tests that need one (USB, audit, sshd).

Each instance boots a qcow2 overlay on the cached base disk (tests/lab/image.py) in its own
run directory, with SSH forwarded from a free port on 127.0.0.1 only and a QMP socket for
hot-plugging USB devices. Nothing is shared between instances but the read-only base disk,
so several VMs (other test sessions) may run at once.

    vm = VM(); vm.start()
    vm.ssh("lsblk -o NAME,SERIAL")            # as labop; `sudo ...` for root
    vm.plug_stick("stick1", serial="AGENCY0001"); vm.unplug("stick1")
    vm.stop()

QEMU's usb-storage always reports vendor:product 46f4:0001 ("QEMU USB HARDDRIVE"); the
serial is what a test chooses (and what usbguard rules match on).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

try:
    from . import image
except ImportError:  # pragma: no cover - script mode
    import image  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parents[2]


# The SD card in the VM's SD/MMC slot (sdhci-pci + sd-card, present from boot: QEMU's sd-bus
# takes no hot-plugged card, while sdhci-pci itself could be hot-plugged). Its first bytes.
SD_MARKER = "PII-GUARD-LAB-SD-CARD-0001"


class VMError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VM:
    host = "127.0.0.1"

    def __init__(self, memory_mb: int = 1024, cpus: int = 2, release: str | None = None) -> None:
        # Debian release of the disk (12 or 13; default: PII_GUARD_LAB_RELEASE, see image.py).
        self.release = image.release(release)
        self.memory_mb = memory_mb
        self.cpus = cpus
        self.ssh_port = 0
        self.rundir: Path | None = None
        self.proc: subprocess.Popen | None = None
        self._files: dict[str, Path] = {}
        self._blockdevs: dict[str, str] = {}
        self._inv_seq = itertools.count(1)
        self.boot_seconds: float | None = None

    # ------------------------------------------------------------------ paths
    @property
    def key_path(self) -> Path:
        return self._files["key"] if self._files else image.vm_files(self.release)["key"]

    @property
    def qmp_path(self) -> Path:
        assert self.rundir is not None, "VM not started"
        return self.rundir / "qmp.sock"

    @property
    def serial_log(self) -> Path:
        assert self.rundir is not None, "VM not started"
        return self.rundir / "serial.log"

    # ------------------------------------------------------------------ lifecycle
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def serial_tail(self, lines: int = 60) -> str:
        try:
            text = self.serial_log.read_text(errors="replace")
        except (OSError, AssertionError):
            return "(no serial log)"
        return "\n".join(text.splitlines()[-lines:])

    def start(self, timeout: int = 400) -> None:
        if self.running():
            return
        self._files = image.vm_image(self.release)
        self.rundir = Path(tempfile.mkdtemp(prefix="pii-lab-vm-"))
        overlay = self.rundir / "disk.qcow2"
        subprocess.run(
            [
                "qemu-img",
                "create",
                "-q",
                "-f",
                "qcow2",
                "-b",
                str(self._files["disk"]),
                "-F",
                "raw",
                str(overlay),
            ],
            check=True,
        )
        with open(self.rundir / "sdcard0.img", "wb") as fh:
            fh.write(SD_MARKER.encode() + b"\n")
            fh.truncate(16 * 1024 * 1024)
        t0 = time.monotonic()
        for _attempt in range(3):  # the free port may be taken between probe and bind
            self.ssh_port = free_port()
            self.proc = subprocess.Popen(
                self._qemu_cmd(overlay),
                stdin=subprocess.DEVNULL,
                stdout=open(self.rundir / "qemu.log", "w"),  # closed when the process object goes
                stderr=subprocess.STDOUT,
                cwd=self.rundir,
            )
            time.sleep(1)
            if self.proc.poll() is None:
                break
            if "hostfwd" not in (self.rundir / "qemu.log").read_text():
                break
        try:
            self._wait_ssh(t0 + timeout)
        except BaseException:
            log = (self.rundir / "qemu.log").read_text(errors="replace")[-2000:]
            tail = self.serial_tail()
            self.stop()
            raise VMError(
                f"VM did not answer SSH on 127.0.0.1:{self.ssh_port} within {timeout} s.\n"
                f"--- qemu ---\n{log}\n--- serial console (tail) ---\n{tail}"
            ) from None
        self.boot_seconds = time.monotonic() - t0

    def _qemu_cmd(self, overlay: Path) -> list[str]:
        assert self.rundir is not None
        f = self._files
        return [
            "qemu-system-x86_64",
            "-name",
            # PII_GUARD_VM_NAME_PREFIX: a prefix of one's own where several sessions share a machine.
            f"{os.environ.get('PII_GUARD_VM_NAME_PREFIX', '')}pii-lab-vm-{self.ssh_port}",
            "-accel",
            "tcg",  # KVM guests hang on this (nested) host, see LAB.md
            "-m",
            str(self.memory_mb),
            "-smp",
            str(self.cpus),
            "-nographic",
            # No default floppy, CD-ROM, VGA or NIC: fewer devices to probe at boot.
            "-nodefaults",
            "-monitor",
            "none",
            "-serial",
            f"file:{self.serial_log}",
            "-kernel",
            str(f["kernel"]),
            "-initrd",
            str(f["initrd"]),
            "-append",
            "root=/dev/vda rw console=ttyS0 net.ifnames=1 systemd.show_status=1 mitigations=off",
            "-drive",
            f"file={overlay},if=virtio,format=qcow2,cache=unsafe",
            # restrict=on: the guest can reach nothing outside; only the forwarded port in.
            "-netdev",
            f"user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:{self.ssh_port}-:22",
            "-device",
            "virtio-net-pci,netdev=n0",
            "-device",
            "qemu-xhci,id=xhci",
            # An internal SD/MMC card reader with a card in it (tests/vm/test_usb_buses.py).
            "-drive",
            f"if=none,id=sdcard0,file={self.rundir / 'sdcard0.img'},format=raw",
            "-device",
            "sdhci-pci,id=sdhci0",
            "-device",
            "sd-card,drive=sdcard0",
            "-qmp",
            f"unix:{self.qmp_path},server,nowait",
        ]

    def _wait_ssh(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if not self.running():
                raise VMError("QEMU exited")
            with contextlib.suppress(subprocess.TimeoutExpired):
                r = self.ssh("true", check=False, timeout=20, fresh=True)
                if r.returncode == 0:
                    return
            time.sleep(2)
        raise VMError("timeout")

    @classmethod
    def attach(cls, spec: str) -> VM:
        """The VM another process booted (`lab.py vm`), given as RUNDIR:SSH_PORT: re-run VM tests
        without a boot (a boot takes minutes under TCG on a loaded host). stop() leaves it running."""
        rundir, _, port = spec.rpartition(":")
        vm = cls()
        vm.rundir, vm.ssh_port, vm._files = Path(rundir), int(port), image.vm_image()
        vm.attached = True
        # Inventories of earlier runs stay in the run directory: number on after them.
        taken = [
            int(p.name.rsplit("-", 1)[1]) for p in vm.rundir.glob("inventory-*") if p.name.rsplit("-", 1)[1].isdigit()
        ]
        vm._inv_seq = itertools.count(max(taken, default=0) + 1)
        return vm

    attached = False

    def stop(self) -> None:
        if self.attached:  # not ours to stop: close our SSH masters only
            with contextlib.suppress(Exception):
                self._close_masters()
            return
        with contextlib.suppress(Exception):
            self._close_masters()
        if self.proc is not None:
            if self.proc.poll() is None:
                with contextlib.suppress(Exception):
                    self.qmp("quit")
                try:
                    self.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=15)
            self.proc = None
        if self.rundir is not None:
            shutil.rmtree(self.rundir, ignore_errors=True)
            self.rundir = None

    def __enter__(self) -> VM:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ SSH
    def ssh_args(self, user: str = "labop") -> list[str]:
        return [
            "ssh",
            "-i",
            str(self.key_path),
            "-p",
            str(self.ssh_port),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "ConnectTimeout=15",
            f"{user}@{self.host}",
        ]

    def _control_path(self, user: str) -> Path:
        assert self.rundir is not None, "VM not started"
        return self.rundir / f"ssh-{user}.sock"

    def _ensure_master(self, user: str) -> None:
        """One multiplexed SSH connection per user: a login costs seconds under TCG.

        Started detached with /dev/null as stdio (a master that inherits our pipes would keep
        subprocess.run waiting). If it cannot start, ssh() simply connects directly.
        """
        sock = self._control_path(user)
        if sock.exists():
            return
        subprocess.run(
            [
                *self.ssh_args(user),
                "-o",
                "ControlMaster=yes",
                "-o",
                f"ControlPath={sock}",
                "-o",
                "ControlPersist=yes",
                "-N",
                "-f",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )

    def ssh(
        self,
        command: str,
        *,
        user: str = "labop",
        check: bool = True,
        timeout: int = 120,
        fresh: bool = False,
    ) -> subprocess.CompletedProcess:
        """Run `command` with sh -c on the guest as `user`; raise on non-zero when check.

        Commands share one multiplexed connection per user. Pass fresh=True to make a new
        login (authentication, PAM, sshd config all exercised) — e.g. to prove that a
        hardening change did not lock the operator out.
        """
        mux: list[str] = ["-o", "ControlPath=none"]
        if not fresh:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._ensure_master(user)
            mux = ["-o", "ControlMaster=no", "-o", f"ControlPath={self._control_path(user)}"]
        args = self.ssh_args(user)
        r = subprocess.run(
            [*args[:-1], *mux, args[-1], "sh -c " + shlex.quote(command)],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if check and r.returncode != 0:
            raise VMError(
                f"ssh {user}@vm {command!r} exited {r.returncode}\n"
                f"stdout: {r.stdout[-2000:]}\nstderr: {r.stderr[-2000:]}"
            )
        return r

    def _close_masters(self) -> None:
        if self.rundir is None:
            return
        for sock in self.rundir.glob("ssh-*.sock"):
            user = sock.name[len("ssh-") : -len(".sock")]
            subprocess.run(
                [*self.ssh_args(user), "-o", f"ControlPath={sock}", "-O", "exit"],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=15,
                check=False,
            )

    # ------------------------------------------------------------------ Ansible
    def inventory(self, groups: list[str] | None = None, hostvars: dict | None = None) -> Path:
        """Write a YAML inventory with the one host `vm` in `groups` (default: linux).

        The file sits in its own directory next to a link to inventories/lab/group_vars, so
        the lab's group values (registers, approved admins, ...) apply to the VM as they do
        to the containers; `hostvars` override them.
        """
        assert self.rundir is not None, "VM not started"
        groups = list(groups) if groups else ["linux"]
        d = self.rundir / f"inventory-{next(self._inv_seq)}"
        d.mkdir()
        gv = REPO / "inventories" / "lab" / "group_vars"
        if gv.is_dir():
            (d / "group_vars").symlink_to(gv)
        host = {
            "ansible_host": self.host,
            "ansible_port": self.ssh_port,
            "ansible_user": "labop",
            "ansible_become": True,
            "ansible_connection": "ssh",
            "ansible_python_interpreter": "/usr/bin/python3",
            "ansible_ssh_private_key_file": str(self.key_path),
            # A TCG VM on 2 shared cores answers slowly under load: at load 15 the 10 s defaults
            # failed a reverse-order run twice (sudo prompt, SSH banner), not the code under test.
            "ansible_timeout": 60,
            "ansible_ssh_retries": 3,
            "ansible_ssh_common_args": (
                "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes"
            ),
            **(hostvars or {}),
        }
        inv = {"all": {"children": {g: {"hosts": {"vm": host if i == 0 else None}} for i, g in enumerate(groups)}}}
        path = d / "hosts.yml"
        # JSON is valid YAML; no PyYAML needed here.
        path.write_text(json.dumps(inv, indent=2) + "\n")
        return path

    # ------------------------------------------------------------------ QMP
    def qmp(self, execute: str, **arguments: Any) -> Any:
        """One QMP command on a fresh connection; returns its "return" value."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(30)
            s.connect(str(self.qmp_path))
            f = s.makefile("rwb")

            def call(cmd: str, args: dict[str, Any] | None) -> Any:
                msg: dict[str, Any] = {"execute": cmd}
                if args:
                    msg["arguments"] = args
                f.write(json.dumps(msg).encode() + b"\n")
                f.flush()
                while True:
                    line = f.readline()
                    if not line:
                        raise VMError(f"QMP closed during {cmd}")
                    reply = json.loads(line)
                    if "return" in reply:
                        return reply["return"]
                    if "error" in reply:
                        raise VMError(f"QMP {cmd} {args}: {reply['error'].get('desc', reply['error'])}")
                    # asynchronous events are skipped

            json.loads(f.readline())  # greeting
            call("qmp_capabilities", None)
            return call(execute, arguments)

    def peripherals(self) -> set[str]:
        return {p["name"] for p in self.qmp("qom-list", path="/machine/peripheral")}

    def _device_add(self, dev_id: str, **props: Any) -> None:
        self.qmp("device_add", id=dev_id, bus="xhci.0", **props)

    def plug_stick(self, dev_id: str, serial: str, size_mb: int = 8) -> None:
        """Hot-plug a USB mass-storage stick (usb-storage on xhci.0) with the given serial."""
        assert self.rundir is not None, "VM not started"
        backing = self.rundir / f"{dev_id}.img"
        with open(backing, "wb") as fh:
            fh.truncate(size_mb * 1024 * 1024)
        node = f"{dev_id}-blk"
        self.qmp(
            "blockdev-add",
            **{"node-name": node, "driver": "raw", "file": {"driver": "file", "filename": str(backing)}},
        )
        try:
            self._device_add(dev_id, driver="usb-storage", drive=node, serial=serial, removable=True)
        except VMError:
            self.qmp("blockdev-del", **{"node-name": node})
            raise
        self._blockdevs[dev_id] = node

    def plug_keyboard(self, dev_id: str) -> None:
        self._device_add(dev_id, driver="usb-kbd")

    def plug_mtp(self, dev_id: str) -> None:
        """Hot-plug an MTP device (what a smartphone looks like: interface 06:01:01)."""
        assert self.rundir is not None, "VM not started"
        root = self.rundir / f"{dev_id}-mtp"
        root.mkdir(exist_ok=True)
        (root / "DCIM.txt").write_text("lab MTP device\n")
        self._device_add(dev_id, driver="usb-mtp", rootdir=str(root), readonly=True)

    def unplug(self, dev_id: str, timeout: int = 30) -> None:
        """device_del, wait until QEMU no longer lists it, then drop its block backend."""
        self.qmp("device_del", id=dev_id)
        deadline = time.monotonic() + timeout
        while dev_id in self.peripherals():
            if time.monotonic() > deadline:
                raise VMError(f"{dev_id} still present {timeout} s after device_del")
            time.sleep(0.5)
        node = self._blockdevs.pop(dev_id, None)
        if node:
            # The backend is released a moment after the device is gone.
            for _ in range(20):
                try:
                    self.qmp("blockdev-del", **{"node-name": node})
                    break
                except VMError:
                    time.sleep(0.5)


def wait_for(what: str, predicate: Callable[[], Any], timeout: float = 90) -> Any:
    """Poll ``predicate`` once a second until it returns something true (returned), or fail
    after ``timeout`` seconds naming ``what`` and the last value (the kernel and udev settle
    asynchronously after a plug, an unbind or an apply)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def run_playbook(
    vm: VM,
    playbook: str,
    extra_vars: dict | None = None,
    check: bool = False,
    limit: str | None = None,
    groups: list[str] | None = None,
) -> subprocess.CompletedProcess:
    """Run ansible-playbook from the repo root against the VM; never raises on failure."""
    cmd = [
        str(REPO / ".venv" / "bin" / "ansible-playbook"),
        "-i",
        str(vm.inventory(groups=groups or ["linux"])),
        playbook,
    ]
    if extra_vars:
        # JSON keeps types (lists, booleans) intact on the command line.
        cmd += ["-e", json.dumps(extra_vars)]
    if check:
        cmd.append("--check")
    if limit:
        cmd += ["--limit", limit]
    env = dict(os.environ)
    env.setdefault("ANSIBLE_CONFIG", str(REPO / "ansible.cfg"))
    env["PATH"] = f"{REPO / '.venv' / 'bin'}:{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(REPO / ".cache" / "collections")
    env.setdefault("ANSIBLE_FORCE_COLOR", "0")
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    _keep_playbook_log(cmd, proc, time.monotonic() - started)
    return proc


# Every run's output, profile_tasks timings included, kept for the whole session: a slow or
# failed VM run in CI can then be read task by task (.cache/vm-playbooks/NNN-<playbook>.log).
PLAYBOOK_LOGS = REPO / ".cache" / "vm-playbooks"
_playbook_seq = itertools.count(1)


def _keep_playbook_log(cmd: list[str], proc: subprocess.CompletedProcess, seconds: float) -> None:
    n = next(_playbook_seq)
    if n == 1:
        shutil.rmtree(PLAYBOOK_LOGS, ignore_errors=True)
    PLAYBOOK_LOGS.mkdir(parents=True, exist_ok=True)
    name = f"{n:03d}-{Path(cmd[3]).stem}{'-check' if '--check' in cmd else ''}.log"
    (PLAYBOOK_LOGS / name).write_text(
        f"# {shlex.join(cmd)}\n# exit {proc.returncode} after {seconds:.0f} s\n"
        f"{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    )
