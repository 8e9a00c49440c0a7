"""One QEMU VM for the whole tests/vm session (booting under TCG takes about a minute).

Every test sets up what it needs through fixtures (idempotent, cheap when already in place), so
tests run one by one (`pytest tests/vm -k smartcard`) and in any order; `--vm-order=reverse`
runs the collected tests back to front to show it. Each module leaves the VM usable for the
others (labop's SSH and sudo intact, no device plugged, usbguard in audit_only). Drive Ansible with
`run_playbook(vm, "playbooks/harden.yml", extra_vars=..., check=..., groups=[...])`:
import it with `from tests.lab.vm import run_playbook` (the repo root is on sys.path here),
or take the `run_playbook` fixture, which is that same function.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.lab.vm import VM, run_playbook  # noqa: E402

__all__ = ["boot_state", "run_playbook", "vm"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--vm-order",
        choices=("file", "reverse"),
        default="file",
        help="reverse: run the collected VM tests back to front (proves no test needs an earlier one)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--vm-order") == "reverse":
        items.reverse()
    # vm_last tests wait for the guest's own timers (a grant's expiry): the other modules' tests
    # run in that wait instead of the VM sitting idle. Their fixtures are session-scoped, so the
    # move re-runs nothing. A stable sort keeps every other test where it was.
    items.sort(key=lambda item: item.get_closest_marker("vm_last") is not None)


@pytest.fixture(scope="session")
def vm() -> Iterator[VM]:
    # The release comes from PII_GUARD_LAB_RELEASE: `make vm` runs Debian 13, `make vm-12` Debian 12.
    # PII_GUARD_VM_ATTACH=RUNDIR:SSH_PORT (printed by `lab.py vm`) reuses a running VM.
    attach = os.environ.get("PII_GUARD_VM_ATTACH")
    if attach:
        machine = VM.attach(attach)
        # The state now: the lab base state only while no test has changed this VM yet.
        machine.boot_state = read_boot_state(machine)
        yield machine
        machine.stop()
        return
    machine = VM()
    # Under TCG the boot takes ~1.5 min on an idle 2-core host, but several times that when
    # other test sessions share the CPUs; the timeout is generous, the failure still prompt.
    machine.start(timeout=int(os.environ.get("PII_GUARD_VM_BOOT_TIMEOUT", "900")))
    print(
        f"\n[lab] Debian {machine.release} VM answered SSH on 127.0.0.1:{machine.ssh_port}"
        f" after {machine.boot_seconds:.0f} s"
    )
    try:
        # Read before any test runs: later modules turn usbguard on (audit_only), so a test of
        # the image's base state needs this snapshot to pass in any order.
        machine.boot_state = read_boot_state(machine)
        yield machine
    finally:
        machine.stop()


@pytest.fixture(scope="session")
def boot_state(vm: VM) -> dict[str, str]:
    """The lab base state as the VM came up (see the vm fixture)."""
    return vm.boot_state


def read_boot_state(vm: VM) -> dict[str, str]:
    def out(cmd: str) -> str:
        return vm.ssh(cmd, check=False).stdout

    return {
        "usbguard_package": out("dpkg-query -W -f='${Status}' usbguard"),
        "usbguard": out("systemctl is-active usbguard").strip(),
        "auditd": out("systemctl is-active auditd").strip(),
        "auditctl_status": out("sudo auditctl -s"),
    }


@pytest.fixture(name="run_playbook")
def run_playbook_fixture() -> Callable[..., object]:
    return run_playbook
