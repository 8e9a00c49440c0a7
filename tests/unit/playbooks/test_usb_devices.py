"""playbooks/usb_devices.yml on the controller only (-e usb_push=false): the register file is
updated for enrol / revoke, and refused input leaves it untouched (replace with an enrolment
host and the push: tests/vm/test_usb_storage.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.usb_register_file import parse, render

ROOT = Path(__file__).resolve().parents[3]
A = {"id": "46f4:0001", "serial": "AGENCY0001", "label": "PC-USB-0001", "owner": "tanaka", "issued_on": "2026-04-01"}


def env() -> dict:
    out = dict(os.environ)
    out.update(
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        PYTHONPATH=str(ROOT / ".cache" / "collections"),
        ANSIBLE_FORCE_COLOR="0",
    )
    return out


def play(register: Path, inventory: Path | None = None, **extra) -> subprocess.CompletedProcess:
    # localhost is an inventory host here: use this Python rather than interpreter discovery.
    extra = dict({"usb_push": False}, **extra)
    extra.update(usb_register_file=str(register), ansible_python_interpreter=sys.executable)
    cmd = [str(ROOT / ".venv" / "bin" / "ansible-playbook")]
    cmd += ["-i", str(inventory)] if inventory else ["-i", "localhost,", "-c", "local"]
    cmd += ["playbooks/usb_devices.yml", "-e", json.dumps(extra)]
    return subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=300, check=False)


def entries(register: Path) -> list[dict]:
    # The file tags every string !unsafe; parse() reads the tag as a plain string.
    return parse(register.read_text(), str(register))


@pytest.mark.control("6-17.device_register")
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

    # Refused: malformed VID:PID (duplicates and the other refusals: tests/unit/filter/test_usb_register.py);
    # the file is left as it was.
    before = register.read_text()
    proc = play(register, usb_action="enrol", usb_new_id="781:5581", usb_new_serial="X3", usb_label="PC-USB-0003")
    assert proc.returncode != 0
    # Named as the variable the operator set, before the register file is even read.
    assert "usb_new_id '781:5581' is not a VID:PID of four hex digits each" in proc.stdout
    assert register.read_text() == before


# ---------------------------------------------------------------- no template injection (issue 14.5)


def inventory(tmp_path: Path, register_text: str, name: str = "all/usb_devices.yml") -> tuple[Path, Path]:
    """An inventory whose group_vars hold the register: Ansible loads (and templates) it on every run."""
    inv = tmp_path / "inv"
    register = inv / "group_vars" / name
    register.parent.mkdir(parents=True)
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": {"localhost": host}}}))
    register.write_text(register_text)
    return inv, register


def failure(proc: subprocess.CompletedProcess) -> str:
    """The msg of the failed task (the default callback prints it as JSON)."""
    line = next(ln for ln in proc.stdout.splitlines() if "FAILED! =>" in ln)
    return json.loads(line.split("FAILED! =>", 1)[1])["msg"]


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.mark.control("6-17.device_register")
def test_template_payloads_through_enrol_replace_revoke_run_nothing(tmp_path):
    marker = tmp_path / "PWNED"
    touch = "{{ lookup('pipe', 'touch %s') }}" % marker
    exact = "{{ lookup('pipe', 'id') }}"
    stmt = "{%% if lookup('pipe', 'touch %s') %%}x{%% endif %%}" % marker
    inv, register = inventory(tmp_path, yaml.safe_dump({"usb_storage_devices": [A]}))
    new = {"usb_new_id": "0781:5581"}
    cases = [
        ("enrol", dict(new, usb_new_serial=exact, usb_label=touch, usb_owner=stmt)),
        ("enrol", dict(new, usb_new_serial="NEW0002\n", usb_label="{# x #}", usb_owner='ta"naka')),
        ("replace", dict(new, usb_old_serial=touch, usb_new_serial="NEW0002", usb_label=exact)),
        ("replace", dict(new, usb_old_serial="AGENCY0001", usb_new_serial=touch, usb_label="PC'1")),
        ("revoke", {"usb_serial": exact, "usb_reason": touch}),
        ("revoke", {"usb_serial": "AGENCY0001", "usb_reason": "lost\n{{ x }}"}),
    ]
    before = snapshot(tmp_path)
    for action, given in cases:
        # As the operator would type them (-e), and as a group/host variable would carry them.
        proc = play(register, inventory=inv, usb_action=action, **given)
        assert proc.returncode != 0, proc.stdout[-3000:]
        msg = failure(proc)
        for name, value in given.items():
            if name != "usb_new_id" and value not in ("AGENCY0001", "NEW0002"):
                assert "%s %r is not accepted" % (name, value) in msg, (name, msg)
        assert not marker.exists(), "a lookup ran on the controller (%s %s)" % (action, given)
        assert "uid=" not in proc.stdout + proc.stderr
        assert snapshot(tmp_path) == before  # the register unchanged, no backup, nothing else written


@pytest.mark.control("6-17.device_register")
def test_register_file_is_inert_when_ansible_loads_it(tmp_path):
    marker = tmp_path / "PWNED"
    touch = "{{ lookup('pipe', 'touch %s') }}" % marker
    inv, register = inventory(tmp_path, yaml.safe_dump({"usb_storage_devices": [A]}))
    proc = play(
        register, inventory=inv, usb_action="enrol", usb_new_id="0781:5581", usb_new_serial="N2", usb_label="L2"
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    text = register.read_text()
    values = [ln for ln in text.splitlines() if not ln.startswith("#") and ": " in ln]
    # every string tagged, but the dates: Ansible would read those as dates through the tag
    dates = [ln for ln in values if re.search(r": '[0-9]{4}-[0-9]{2}-[0-9]{2}'$", ln)]
    assert len(values) == 11 and len(dates) == 2, text
    assert all(": !unsafe '" in ln for ln in values if ln not in dates), text
    # Had a payload reached the file anyway (hand edit, older version), the tag keeps it data:
    # the next run loads the group_vars without running it.
    crafted = [dict(e, owner=touch) if e["serial"] == "N2" else e for e in entries(register)]
    register.write_text(render(crafted))
    cmd = [str(ROOT / ".venv" / "bin" / "ansible"), "-i", str(inv), "localhost", "-m", "ansible.builtin.debug"]
    proc = subprocess.run(
        [*cmd, "-a", "var=usb_storage_devices"], env=env(), capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert touch in proc.stdout.replace('\\"', '"') and not marker.exists()
    # ... and the lifecycle playbook refuses the entry, naming it, still without running it.
    proc = play(register, inventory=inv, usb_action="revoke", usb_serial="AGENCY0001")
    assert proc.returncode != 0 and not marker.exists()
    assert "usb_storage_devices[1] (label 'L2', serial 'N2'): owner %r is not accepted" % touch in failure(proc)


@pytest.mark.control("6-17.device_register")
def test_register_file_with_other_keys_typo_first_register_and_backup(tmp_path):
    # A register inside the file holding every other setting is refused, not rewritten.
    settings = {"usb_storage_mode": "agency_issued_only", "usb_storage_devices": [A], "ntp_server": "ntp.example"}
    inv, all_yml = inventory(tmp_path, yaml.safe_dump(settings), name="all.yml")
    before = snapshot(tmp_path)
    proc = play(all_yml, inventory=inv, usb_action="revoke", usb_serial="AGENCY0001")
    assert proc.returncode != 0
    assert "holds other keys (ntp_server, usb_storage_mode) besides usb_storage_devices" in failure(proc)
    # A typo in the file name is not an empty register.
    typo = all_yml.parent / "all" / "usb_device.yml"
    typo.parent.mkdir()
    new = {"usb_new_id": "0781:5581", "usb_new_serial": "N2", "usb_label": "L2"}
    proc = play(typo, inventory=inv, usb_action="enrol", **new)
    assert proc.returncode != 0 and "usb_register_file %s does not exist" % typo in failure(proc)
    assert snapshot(tmp_path) == before
    # The very first register: said explicitly; refused once the file exists.
    all_yml.write_text(yaml.safe_dump({"usb_storage_mode": "agency_issued_only"}))
    proc = play(typo, inventory=inv, usb_action="enrol", usb_register_first=True, **new)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert [e["serial"] for e in entries(typo)] == ["N2"]
    proc = play(typo, inventory=inv, usb_action="enrol", usb_register_first=True, **dict(new, usb_new_serial="N3"))
    assert proc.returncode != 0 and "usb_register_first=true but usb_register_file" in failure(proc)
    # Every write keeps the previous version beside the file, named so that Ansible skips it.
    first = typo.read_bytes()
    proc = play(typo, inventory=inv, usb_action="revoke", usb_serial="N2")
    assert proc.returncode == 0, proc.stdout[-3000:]
    backups = list(typo.parent.glob("usb_device.yml.*~"))
    assert len(backups) == 1 and backups[0].read_bytes() == first
    assert entries(typo)[0]["state"] == "revoked"


@pytest.mark.control("6-17.device_register")
def test_bad_usb_storage_input_refused_before_the_register_changes(tmp_path):
    inv, register = inventory(tmp_path, yaml.safe_dump({"usb_storage_devices": [A]}))
    before = snapshot(tmp_path)
    proc = play(
        register, inventory=inv, usb_push=True, usb_storage_mode="open", usb_action="revoke", usb_serial="AGENCY0001"
    )
    assert proc.returncode != 0
    assert 'usb_storage_mode "open" is not one of' in failure(proc)
    assert snapshot(tmp_path) == before


@pytest.mark.control("6-17.device_register")
def test_a_digit_serial_the_playbook_enrols_is_a_string_for_the_role(tmp_path):
    # Serials of digits only are common. The file wrote `serial: !unsafe '0012'`, which ansible-core
    # 2.19 loads as the int 10: the usb_storage role then refused the register the playbook had
    # just written. Oracle: the role's own validation, on the group_vars Ansible loads.
    inv, register = inventory(tmp_path, yaml.safe_dump({"usb_storage_devices": [A]}))
    proc = play(register, inventory=inv, usb_action="enrol", usb_new_id="0781:5581", usb_new_serial="0012",
                usb_label="no", usb_owner="1e3")  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:]
    check = tmp_path / "check.yml"
    check.write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.include_role: {name: pii_guard.safeguards.usb_storage, tasks_from: validate}\n"
        "    - ansible.builtin.debug:\n"
        "        msg: \"SERIALS {{ usb_storage_devices | map(attribute='serial') | to_json }}\"\n"
    )
    cmd = [
        str(ROOT / ".venv" / "bin" / "ansible-playbook"),
        "-i",
        str(inv),
        str(check),
        "-e",
        "usb_storage_today=2026-06-01",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert 'SERIALS [\\"AGENCY0001\\", \\"0012\\"]' in proc.stdout, proc.stdout[-2000:]
