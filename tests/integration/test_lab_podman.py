"""Lab smoke test: three podman endpoints boot systemd and answer `ansible -m ping`.

Uses the embedded default inventory (inventories/lab) exactly as `make demo` does. Endpoints
that this test creates are removed afterwards; ones that were already up are left alone.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rep_endpoints import IMAGE, remove

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
LAB = [sys.executable, str(ROOT / "tests" / "lab" / "lab.py")]
NAMES = ["pg-lab-1", "pg-lab-2", "pg-lab-3"]


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["CONTAINERS_CONF"] = str(ROOT / "tests" / "lab" / "containers.conf")
    e["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    e["PYTHONPATH"] = str(ROOT / ".cache" / "collections")
    e["PATH"] = f"{BIN}:{e.get('PATH', '')}"
    e["ANSIBLE_FORCE_COLOR"] = "0"
    return e


def running() -> set[str]:
    out = subprocess.run(
        ["podman", "ps", "--filter", "name=^pg-lab-", "--format", "{{.Names}}"],
        env=env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(out.split())


@pytest.fixture(scope="module")
def lab() -> Iterator[None]:
    before = running()
    subprocess.run([*LAB, "up", "3"], env=env(), check=True, cwd=ROOT)
    yield
    created = [n for n in NAMES if n not in before]
    if created:
        subprocess.run(["podman", "rm", "--force", "--time", "0", *created], env=env(), check=False)


def test_three_endpoints_answer_ping(lab: None) -> None:
    r = subprocess.run(
        [str(BIN / "ansible"), "-i", "inventories/lab", "linux", "-m", "ansible.builtin.ping", "-o"],
        cwd=ROOT,
        env=env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    for name in NAMES:
        assert re.search(rf'^{name} \| SUCCESS => .*"ping": "pong"', r.stdout, re.M), r.stdout


def in_endpoint(name: str, *cmd: str) -> str:
    return subprocess.run(["podman", "exec", name, *cmd], env=env(), capture_output=True, text=True).stdout


def test_endpoints_run_systemd_without_network(lab: None) -> None:
    for name in NAMES:
        assert in_endpoint(name, "cat", "/proc/1/comm").strip() == "systemd"
        # No failed unit in the lab base: services that cannot run in a container are skipped.
        assert in_endpoint(name, "systemctl", "is-system-running").strip() == "running"
        links = in_endpoint(name, "ip", "-o", "link").splitlines()
        # --network none: only the loopback interface exists.
        assert [ln.split(":")[1].strip() for ln in links] == ["lo"]


def make_stale(name: str) -> None:
    """What a machine restored from a snapshot looks like: podman's record still says
    "running", but conmon and systemd are gone, so every exec fails (CI stop 9)."""
    pids = subprocess.run(
        ["podman", "inspect", name, "--format", "{{.State.Pid}} {{.State.ConmonPid}}"],
        env=env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for pid in reversed(pids):  # conmon first, or it would record the exit
        subprocess.run(["kill", "-9", pid], check=True)


def test_up_recreates_an_endpoint_whose_process_is_gone(lab: None) -> None:
    name = NAMES[-1]
    make_stale(name)
    stale = subprocess.run(["podman", "exec", name, "true"], env=env(), capture_output=True, text=True)
    assert stale.returncode != 0, "the endpoint should be stale after its processes were killed"
    record = subprocess.run(
        ["podman", "ps", "-a", "--filter", f"name=^{name}$", "--format", "{{.State}}"],
        env=env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert record.strip(), "podman should still hold the record of the dead endpoint"

    r = subprocess.run([*LAB, "up", "3"], env=env(), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(rf"^\[lab\] {name}: recorded as \w+ but not usable; recreating$", r.stdout, re.M), r.stdout
    assert in_endpoint(name, "systemctl", "is-system-running").strip() == "running"


def test_test_endpoints_remove_a_stale_record() -> None:
    # The zero-write test and the benchmarks name endpoints per run and remove them with
    # rep_endpoints.remove; a stale record must not survive it (a plain `rm -f` fails once).
    name = f"pg-stale-{os.getpid()}"
    subprocess.run(
        ["podman", "run", "-d", "--name", name, "--network", "none", IMAGE, "sleep", "600"],
        env=env(),
        capture_output=True,
        check=True,
    )
    make_stale(name)
    remove(name)
    exists = subprocess.run(["podman", "container", "exists", name], env=env(), capture_output=True)
    assert exists.returncode == 1, "the stale container is still there"
