"""Clause 6-17 with a real kernel: USBGuard decides which hot-plugged USB devices work.

Each test applies the mode it checks, so they run one by one and in any order; the devices
(keyboard, MTP, the enrolled stick A, a private stick, stick B for the replacement) are plugged
once for the module by the `plugged` fixture, which removes them at the end and leaves the VM in
audit_only (nothing blocked, usbguard running).

QEMU's usb-storage always reports 46f4:0001 (what `usbguard list-devices` shows in the
guest), so the register entries use that id and differ by serial.
"""

from __future__ import annotations

import re

import pytest
import yaml

from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb.usbguard import parse_list_devices
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.usb_register_file import parse
from tests.lab.vm import run_playbook, wait_for

PLAY = "tests/vm/usb_storage.yml"
QEMU_STICK = "46f4:0001"
QEMU_KBD = "0627:0001"
A = {"id": QEMU_STICK, "serial": "AGENCY0001", "label": "PC-USB-0001", "owner": "tanaka", "issued_on": "2026-04-01"}
WATCHED = "/etc/usbguard /etc/modprobe.d"


def recap_changed(out: str) -> int:
    m = re.search(r"\bvm\s*:\s*ok=\d+\s+changed=(\d+)", out)
    assert m, out[-2000:]
    return int(m.group(1))


def apply(vm, mode, devices, check=False):
    proc = run_playbook(vm, PLAY, extra_vars={"usb_storage_mode": mode, "usb_storage_devices": devices}, check=check)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc


def devices(vm) -> list[dict]:
    return parse_list_devices(vm.ssh("sudo usbguard list-devices").stdout)


def by_serial(vm, serial) -> dict | None:
    return next((d for d in devices(vm) if d.get("serial") == serial), None)


def usb_disks(vm) -> set[str]:
    """Serials of the USB block devices the kernel has attached."""
    out = vm.ssh("lsblk -dn -o TRAN,SERIAL").stdout
    return {parts[1] for parts in (ln.split() for ln in out.splitlines()) if len(parts) == 2 and parts[0] == "usb"}


def digest(vm) -> str:
    return vm.ssh(f"sudo sh -c 'find {WATCHED} -type f | sort | xargs sha256sum'").stdout


@pytest.fixture(scope="module")
def plugged(vm):
    """The module's devices, plugged before any mode is applied: usbguard re-evaluates present
    devices on every apply, so each test sees them under its own mode. All are removed at the end
    and usbguard is left in audit_only (an idempotent run when a test already left it there)."""
    ids: list[str] = []
    try:
        vm.plug_keyboard("usb-kbd1")
        ids.append("usb-kbd1")
        sticks = (("usb-stickA", "AGENCY0001"), ("usb-stickP", "PRIVATE9999"), ("usb-stickB", "AGENCY0002"))
        for dev_id, serial in sticks:
            vm.plug_stick(dev_id, serial=serial)
            ids.append(dev_id)
        vm.plug_mtp("usb-mtp1")
        ids.append("usb-mtp1")
        yield ids
    finally:
        for dev_id in ids:
            vm.unplug(dev_id)
        apply(vm, "audit_only", [])


def test_bad_input_fails_before_the_host_is_touched(vm):
    before = digest(vm)
    proc = run_playbook(vm, PLAY, extra_vars={"usb_storage_mode": "open", "usb_storage_devices": []})
    assert proc.returncode != 0
    assert "usb_storage_mode" in proc.stdout and "open" in proc.stdout
    bad = [A, dict(A, serial="AGENCY0009", label="PC-USB-0009", expires_on="2026-01-01")]
    proc = run_playbook(vm, PLAY, extra_vars={"usb_storage_mode": "agency_issued_only", "usb_storage_devices": bad})
    assert proc.returncode != 0
    assert "usb_storage_devices[1] (label 'PC-USB-0009', serial 'AGENCY0009')" in proc.stdout
    assert "expires_on 2026-01-01 is before issued_on 2026-04-01" in proc.stdout
    assert digest(vm) == before


@pytest.mark.control("6-17.usbguard_service", "6-17.usbguard_rules", "6-17.device_register", "6-17.smartphone_blocked")
def test_agency_issued_only(vm, plugged):
    apply(vm, "agency_issued_only", [A])
    assert vm.ssh("systemctl is-active usbguard").stdout.strip() == "active"

    # The enrolled stick gets (or keeps) a block device; the private one has none.
    wait_for("block device of AGENCY0001", lambda: "AGENCY0001" in usb_disks(vm))
    private = wait_for("PRIVATE9999 listed", lambda: by_serial(vm, "PRIVATE9999"))
    assert (private["id"], private["target"]) == (QEMU_STICK, "block")
    # Plugged before usbguard started (the fixture), the private stick loses its disk on the apply.
    wait_for("block device of PRIVATE9999 gone", lambda: "PRIVATE9999" not in usb_disks(vm))
    assert by_serial(vm, "AGENCY0001")["target"] == "allow"
    # The keyboard stays authorized, the MTP device is blocked.
    kbd = wait_for("keyboard listed", lambda: next((d for d in devices(vm) if d["id"] == QEMU_KBD), None))
    assert kbd["target"] == "allow"
    mtp = wait_for(
        "MTP device listed",
        lambda: next((d for d in devices(vm) if {"06:01:01", "ff:ff:00"} & set(d.get("with-interface", []))), None),
    )
    assert mtp["target"] == "block"
    # Re-applying changes nothing (check mode is proven with file digests in molecule).
    before = digest(vm)
    assert recap_changed(apply(vm, "agency_issued_only", [A]).stdout) == 0
    assert digest(vm) == before


@pytest.mark.control("6-17.usbguard_rules", "6-17.storage_driver_disabled")
def test_prohibit_refuses_the_enrolled_stick(vm, plugged):
    apply(vm, "prohibit", [A])
    wait_for("AGENCY0001 blocked", lambda: (by_serial(vm, "AGENCY0001") or {}).get("target") == "block")
    wait_for("block device of AGENCY0001 gone", lambda: "AGENCY0001" not in usb_disks(vm))
    assert next(d for d in devices(vm) if d["id"] == QEMU_KBD)["target"] == "allow"
    # The drivers cannot load even behind usbguard's back.
    assert "install usb-storage /bin/false" in vm.ssh("cat /etc/modprobe.d/pii-guard-usb-storage.conf").stdout
    vm.ssh("sudo modprobe -r uas usb_storage", check=False)
    assert vm.ssh("sudo modprobe usb-storage", check=False).returncode != 0
    assert vm.ssh("grep -c '^usb_storage ' /proc/modules", check=False).stdout.strip() == "0"


@pytest.mark.control("6-17.device_register")
def test_replace_a_by_b_with_the_lifecycle_playbook(vm, plugged, tmp_path):
    register = tmp_path / "usb_devices.yml"
    register.write_text(yaml.safe_dump({"usb_storage_devices": [A]}))
    # Starting point: A enrolled and working (usbguard running, so the enrolment host lists B).
    apply(vm, "agency_issued_only", [A])
    wait_for("AGENCY0002 listed", lambda: by_serial(vm, "AGENCY0002"))
    proc = run_playbook(
        vm,
        "playbooks/usb_devices.yml",
        extra_vars={
            "usb_action": "replace",
            "usb_old_serial": "AGENCY0001",
            "usb_label": "PC-USB-0002",
            "usb_enrolment_host": "vm",
            # Other sticks are plugged too: the operator names the one to enrol; its id and
            # hash are read from the enrolment host.
            "usb_new_serial": "AGENCY0002",
            "usb_register_file": str(register),
            "usb_storage_mode": "agency_issued_only",
        },
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    # The file tags every string !unsafe (never templated); parse() reads the tag as a string.
    entries = {e["serial"]: e for e in parse(register.read_text(), str(register))}
    assert (entries["AGENCY0001"]["state"], entries["AGENCY0001"]["replaced_by"]) == ("revoked", "PC-USB-0002")
    assert (entries["AGENCY0002"]["state"], entries["AGENCY0002"]["owner"]) == ("active", "tanaka")
    assert entries["AGENCY0002"]["id"] == QEMU_STICK and entries["AGENCY0002"]["hash"]
    # B works, A is refused.
    wait_for("block device of AGENCY0002", lambda: "AGENCY0002" in usb_disks(vm))
    assert by_serial(vm, "AGENCY0001")["target"] == "block"
    assert "AGENCY0001" not in usb_disks(vm)
    rules = vm.ssh("sudo cat /etc/usbguard/rules.d/50-pii-guard.conf").stdout
    assert '"AGENCY0002"' in rules and "AGENCY0001" not in rules


@pytest.mark.control("6-17.usbguard_rules")
def test_audit_only_blocks_nothing(vm, plugged):
    apply(vm, "audit_only", [])
    for serial in ("AGENCY0001", "AGENCY0002", "PRIVATE9999"):
        wait_for(f"block device of {serial}", lambda s=serial: s in usb_disks(vm))
    assert all(d["target"] == "allow" for d in devices(vm)), devices(vm)
    assert "install usb-storage" not in vm.ssh("cat /etc/modprobe.d/*.conf 2>/dev/null || true").stdout
