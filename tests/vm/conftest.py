"""One QEMU VM for the whole tests/vm session (booting under TCG takes about a minute).

Test modules run in name order and leave the VM usable for the next ones (labop's SSH and
sudo intact, usbguard back to the lab base state). Drive Ansible with
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

__all__ = ["run_playbook", "vm"]


@pytest.fixture(scope="session")
def vm() -> Iterator[VM]:
    # The release comes from PII_GUARD_LAB_RELEASE: `make vm` runs Debian 12, `make vm VM_RELEASE=13` 13.
    # PII_GUARD_VM_ATTACH=RUNDIR:SSH_PORT (printed by `lab.py vm`) reuses a running VM.
    attach = os.environ.get("PII_GUARD_VM_ATTACH")
    if attach:
        machine = VM.attach(attach)
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
        yield machine
    finally:
        machine.stop()


@pytest.fixture(name="run_playbook")
def run_playbook_fixture() -> Callable[..., object]:
    return run_playbook
