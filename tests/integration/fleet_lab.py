"""A fleet of lab endpoints as podman containers, for the ansible-runner test and the scale bench.

Containers come from the lab image (systemd as PID 1), have no network (`--network none`) and
are reached with the containers.podman.podman connection (podman exec), so no packet leaves
the machine. Ansible must run with CONTAINERS_CONF set (PODMAN_ENV) so its podman calls use
the lab's runtime settings. Every name starts with `fleet-` so parallel helpers' containers never collide.
"""

from __future__ import annotations

import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("PII_GUARD_LAB_IMAGE", "localhost/pii-guard-lab:latest")
PODMAN_ENV = {**os.environ, "CONTAINERS_CONF": str(ROOT / "tests" / "lab" / "containers.conf")}


def podman(*args: str, check: bool = True, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["podman", *args], env=PODMAN_ENV, capture_output=True, text=True, check=check, timeout=timeout
    )


INOTIFY = Path("/proc/sys/fs/inotify/max_user_instances")
# systemd in each container holds several inotify instances, all counted against root's
# per-user limit on the host (128 on Debian). Past about 25 containers the rest hang in
# "initializing" with every job waiting. Measured: 50 containers need well over 128.
INOTIFY_PER_CONTAINER = 8


def ensure_inotify(containers: int) -> None:
    """Raise fs.inotify.max_user_instances for the run when the fleet would exhaust it."""
    need = 128 + INOTIFY_PER_CONTAINER * containers
    have = int(INOTIFY.read_text())
    if have < need:
        print(f"# raising fs.inotify.max_user_instances {have} -> {need} for {containers} systemd containers")
        INOTIFY.write_text(str(need))


def image_present(image: str = IMAGE) -> bool:
    return podman("image", "exists", image, check=False).returncode == 0


class Fleet:
    """`n` containers named `fleet-<tag>-<i>`; `up()` waits until systemd in each is up."""

    def __init__(self, tag: str, n: int, image: str = IMAGE) -> None:
        self.names = [f"fleet-{tag}-{i:03d}" for i in range(1, n + 1)]
        self.image = image

    def _run_one(self, name: str) -> None:
        podman("rm", "-f", "-t", "0", name, check=False)
        # --network none: no packet leaves the container; Ansible reaches it with podman exec.
        podman(
            "run", "-d", "--name", name, "--hostname", name, "--network", "none",
            "--systemd", "always", "--label", "pii-guard-lab=fleet", self.image, "/lib/systemd/systemd",
        )  # fmt: skip

    def _wait_one(self, name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            try:
                proc = podman("exec", name, "systemctl", "is-system-running", check=False, timeout=30)
            except subprocess.TimeoutExpired:  # a busy controller; ask again until the deadline
                continue
            state = proc.stdout.strip()
            if state in ("running", "degraded"):
                return
            time.sleep(0.5)
        raise RuntimeError(f"{name}: systemd did not come up within {timeout}s (state {state!r})")

    def up(self, timeout: float = 180, parallel: int = 8) -> float:
        """Start all containers; returns the seconds it took."""
        start = time.monotonic()
        ensure_inotify(len(self.names))
        with ThreadPoolExecutor(parallel) as pool:
            list(pool.map(self._run_one, self.names))
            list(pool.map(lambda n: self._wait_one(n, timeout), self.names))
        return time.monotonic() - start

    def prepare(self, script: str = "", parallel: int = 8) -> None:
        """Make each container an agency endpoint as found: the operator account `ansible-op`
        (approved admin, in sudo) and a stray admin `tmp-vendor` nobody approved."""
        script = script or (
            "id ansible-op >/dev/null 2>&1 || useradd -m -s /bin/bash -G sudo ansible-op;"
            " id tmp-vendor >/dev/null 2>&1 || useradd -m -s /bin/bash -G sudo tmp-vendor"
        )
        with ThreadPoolExecutor(parallel) as pool:
            list(pool.map(lambda n: podman("exec", n, "sh", "-c", script), self.names))

    def down(self) -> None:
        for i in range(0, len(self.names), 25):
            podman("rm", "-f", "-t", "0", *self.names[i : i + 25], check=False, timeout=300)

    def inventory(self, path: Path, groups: list[str], hostvars: dict | None = None) -> Path:
        """YAML inventory: every container in each of `groups` (first group holds the hosts)."""
        common = {
            "ansible_connection": "containers.podman.podman",
            "ansible_python_interpreter": "/usr/bin/python3",
        }
        hosts = {name: None for name in self.names}
        data: dict = {"all": {"vars": {**common, **(hostvars or {})}, "children": {}}}
        for group in groups:
            data["all"]["children"][group] = {"hosts": dict(hosts)}
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    def __enter__(self) -> Fleet:
        self.up()
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()
