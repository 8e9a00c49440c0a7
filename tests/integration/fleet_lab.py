"""A fleet of lab endpoints as podman containers, for the ansible-runner test and the scale bench.

Containers come from the lab image (systemd as PID 1) and have no network (`--network none`),
so no packet leaves the machine. Two ways in:
- the containers.podman.podman connection (podman exec): no pipelining, a few podman calls
  per task;
- SSH, as real fleets are reached: `ssh` runs the endpoint's own sshd over a pipe
  (`ProxyCommand podman exec -i <name> /usr/sbin/sshd -i`), so key login, PAM (pam_loginuid),
  ControlPersist multiplexing and pipelining all behave as over TCP, without a network.
Ansible must run with CONTAINERS_CONF set (PODMAN_ENV) so its podman calls use the lab's
runtime settings. Every name starts with `fleet-` so parallel helpers' containers never collide.
"""

from __future__ import annotations

import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml
from rep_endpoints import remove

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


def ssh_vars(key: str, control_dir: str, user: str) -> dict:
    """Connection variables for SSH to a lab container through its sshd -i over podman exec.
    ControlPersist keeps one SSH session per host for the run (one podman exec per host)."""
    return {
        "ansible_connection": "ansible.builtin.ssh",
        "ansible_user": user,
        "ansible_ssh_private_key_file": key,
        "ansible_ssh_pipelining": True,
        "ansible_ssh_common_args": (
            "-o ProxyCommand='podman exec -i %h /usr/sbin/sshd -i' -o StrictHostKeyChecking=no"
            " -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ControlMaster=auto"
            f" -o ControlPersist=300s -o ControlPath={control_dir}/%C"
        ),
    }


def ssh_key(directory: Path) -> tuple[Path, str]:
    """A fresh ed25519 key pair in `directory`; returns (private key path, public key text)."""
    key = directory / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key, (directory / "id_ed25519.pub").read_text()


class Fleet:
    """`n` containers named `fleet-<tag>-<i>`; `up()` waits until systemd in each is up."""

    def __init__(self, tag: str, n: int, image: str = IMAGE) -> None:
        self.names = [f"fleet-{tag}-{i:03d}" for i in range(1, n + 1)]
        self.image = image

    def _run_one(self, name: str) -> None:
        remove(name)
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

    def enable_ssh(self, public_key: str, user: str = "ansible-op", parallel: int = 8) -> None:
        """Let `user` log in with the key and become root without a password (NOPASSWD sudo,
        as an Ansible service account has). /run/sshd is what sshd -i needs outside its unit."""
        script = (
            f"mkdir -p /run/sshd ~{user}/.ssh && cat > ~{user}/.ssh/authorized_keys"
            f" && chown -R {user}: ~{user}/.ssh && chmod 700 ~{user}/.ssh"
            f" && echo '{user} ALL=(ALL:ALL) NOPASSWD: ALL' > /etc/sudoers.d/{user} && chmod 0440 /etc/sudoers.d/{user}"
        )

        def one(name: str) -> None:
            subprocess.run(
                ["podman", "exec", "-i", name, "sh", "-c", script],
                input=public_key, env=PODMAN_ENV, capture_output=True, text=True, check=True, timeout=120,
            )  # fmt: skip

        with ThreadPoolExecutor(parallel) as pool:
            list(pool.map(one, self.names))

    def down(self) -> None:
        for i in range(0, len(self.names), 25):
            remove(*self.names[i : i + 25])

    def inventory(
        self, path: Path, groups: list[str], hostvars: dict | None = None, ssh: dict | None = None,
        names: list[str] | None = None,
    ) -> Path:  # fmt: skip
        """YAML inventory: every container (or only `names`, e.g. one AWX job slice) in each of
        `groups` (first group holds the hosts).
        With `ssh` ({"key": private key path, "control_dir": dir, "user": name}) the hosts are
        reached over SSH through the endpoint's sshd -i (see the module docstring)."""
        common: dict = {
            "ansible_connection": "containers.podman.podman",
            "ansible_python_interpreter": "/usr/bin/python3",
        }
        if ssh:
            common.update(ssh_vars(ssh["key"], ssh["control_dir"], ssh.get("user", "ansible-op")))
        hosts = {name: None for name in (self.names if names is None else names)}
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
