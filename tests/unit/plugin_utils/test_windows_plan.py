"""The shared base of the Windows plan action plugins (plugins/plugin_utils/windows_plan.py).

Both plugins run through ansible-playbook against a host whose WinRM address is a closed port
on 127.0.0.1: the plan comes back without any connection, `changed` is false, and each kind of
bad input ends as a failed task whose message names it (planner exceptions caught by the base,
input errors returned by the plugin). The full role plays: tests/unit/roles/test_windows_tasks.py.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DEV = {"id": "0781:5581", "serial": "AGENCY0001", "label": "PC-USB-0001", "issued_on": "2026-04-01"}
PLAYBOOK = """---
- name: Windows plan action plugins, without a Windows host
  hosts: win
  gather_facts: false
  tasks:
    - name: USB plan
      pii_guard.safeguards.windows_usb_plan:
        mode: agency_issued_only
        devices: "{{ [dev] }}"
        today: "2026-11-28"
        windows_instance_ids: {PC-USB-0001: [{vendor: SanDisk, product: Ultra, revision: "1.00"}]}
    - name: USB plan, inquiry string with a template payload
      pii_guard.safeguards.windows_usb_plan:
        mode: agency_issued_only
        devices: "{{ [dev] }}"
        windows_instance_ids: {PC-USB-0001: [{vendor: "{{ '{{' }} x }}", product: Ultra, revision: "1.00"}]}
      ignore_errors: true
    - name: USB plan, bad date
      pii_guard.safeguards.windows_usb_plan: {mode: prohibit, today: "28.11.2026"}
      ignore_errors: true
    - name: USB plan, bad register (RegisterError)
      pii_guard.safeguards.windows_usb_plan:
        mode: agency_issued_only
        devices: "{{ [dev | combine({'id': '781:5581'})] }}"
      ignore_errors: true
    - name: USB plan, bad mode (PlanError)
      pii_guard.safeguards.windows_usb_plan: {mode: everything}
      ignore_errors: true
    - name: Admin plan, first call
      pii_guard.safeguards.windows_admin_plan: {approved_members: ["AGENCY\\\\pc-admins"]}
    - name: Admin plan, bad member
      pii_guard.safeguards.windows_admin_plan: {approved_members: ["a;b"]}
      ignore_errors: true
"""


def run(tmp_path: Path) -> dict[str, dict]:
    (tmp_path / "pb.yml").write_text(PLAYBOOK)
    # Port 1 on loopback is closed: a plugin that tried to connect would come back unreachable.
    host = {"ansible_host": "127.0.0.1", "ansible_port": 1, "ansible_connection": "winrm"}
    (tmp_path / "hosts.json").write_text(json.dumps({"win": {"hosts": {"win1": host}}}))
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        PYTHONPATH=str(ROOT / ".cache" / "collections"),
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".cache" / "collections"),
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_CALLBACKS_ENABLED="ansible.posix.json",
    )
    cmd = [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(tmp_path / "hosts.json")]
    cmd += [str(tmp_path / "pb.yml"), "-e", json.dumps({"dev": DEV})]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    tasks = json.loads(proc.stdout)["plays"][0]["tasks"]
    return {t["task"]["name"]: t["hosts"]["win1"] for t in tasks}


def test_plans_without_connecting_and_reports_bad_input(tmp_path: Path) -> None:
    r = run(tmp_path)
    usb = r["USB plan"]
    assert not usb.get("failed") and not usb.get("unreachable") and usb["changed"] is False
    assert usb["instance_ids"] == ["USBSTOR\\DISK&VEN_SANDISK&PROD_ULTRA&REV_1.00\\AGENCY0001&0"]
    assert [r["key"] for r in usb["matrix"]][:2] == ["usb_mass_storage", "uasp_disks"]
    inj = r["USB plan, inquiry string with a template payload"]
    assert inj["failed"] is True and "usb_storage_windows_instance_ids['PC-USB-0001']: vendor '{{ x }}'" in inj["msg"]
    assert r["USB plan, bad date"]["failed"] is True
    assert r["USB plan, bad date"]["msg"] == "today '28.11.2026' is not a date (YYYY-MM-DD)"
    bad_reg = r["USB plan, bad register (RegisterError)"]
    assert bad_reg["failed"] is True and "usb_storage_devices[0]" in bad_reg["msg"] and "'781:5581'" in bad_reg["msg"]
    bad_mode = r["USB plan, bad mode (PlanError)"]
    assert bad_mode["failed"] is True and "'everything'" in bad_mode["msg"]
    admin = r["Admin plan, first call"]
    assert not admin.get("failed") and admin["changed"] is False and admin["read_keys"]
    assert "findings" not in admin  # the first call only says what to read
    bad = r["Admin plan, bad member"]
    assert bad["failed"] is True and "admin_privileges_windows_approved_members: 'a;b'" in bad["msg"]
