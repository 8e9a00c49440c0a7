"""playbooks/usb_devices.yml on the controller only (-e usb_push=false): the register file is
updated for enrol / revoke, and refused input leaves it untouched (replace with an enrolment
host and the push: tests/vm/test_usb_storage.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
A = {"id": "46f4:0001", "serial": "AGENCY0001", "label": "PC-USB-0001", "owner": "tanaka", "issued_on": "2026-04-01"}


def play(register: Path, **extra) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        PYTHONPATH=str(ROOT / ".cache" / "collections"),
        ANSIBLE_FORCE_COLOR="0",
    )
    # localhost is an inventory host here: use this Python rather than interpreter discovery.
    extra = dict(extra, usb_register_file=str(register), usb_push=False, ansible_python_interpreter=sys.executable)
    cmd = [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", "localhost,", "-c", "local"]
    cmd += ["playbooks/usb_devices.yml", "-e", json.dumps(extra)]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def entries(register: Path) -> list[dict]:
    return yaml.safe_load(register.read_text())["usb_storage_devices"]


def test_enrol_then_revoke_and_refusals(tmp_path):
    register = tmp_path / "usb_devices.yml"
    register.write_text(yaml.safe_dump({"usb_storage_devices": [A]}))

    proc = play(register, usb_action="enrol", usb_new_id="0781:5581", usb_new_serial="NEW0002", usb_label="PC-USB-0002")
    assert proc.returncode == 0, proc.stdout[-3000:]
    new = entries(register)[1]
    assert (new["id"], new["serial"], new["label"], new["state"]) == ("0781:5581", "NEW0002", "PC-USB-0002", "active")

    proc = play(register, usb_action="revoke", usb_serial="AGENCY0001", usb_reason="lost")
    assert proc.returncode == 0, proc.stdout[-3000:]
    old = entries(register)[0]
    assert (old["state"], old["revoked_reason"]) == ("revoked", "lost")

    # Refused: malformed VID:PID (duplicates and the other refusals: test_usb_filters.py);
    # the file is left as it was.
    before = register.read_text()
    proc = play(register, usb_action="enrol", usb_new_id="781:5581", usb_new_serial="X3", usb_label="PC-USB-0003")
    assert proc.returncode != 0
    assert "usb_storage_devices[2] (label 'PC-USB-0003', serial 'X3'): id '781:5581'" in proc.stdout
    assert register.read_text() == before
