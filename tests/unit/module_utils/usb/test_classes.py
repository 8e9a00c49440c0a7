"""The clause 6-17 device-class matrix (plugins/module_utils/usb/classes.py): the rules built from
it, checked by usbguard's own parser; per-class decisions (a device judged by all its
interfaces); detection of the non-USB buses on a fake sysfs; the generated docs table."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb import classes as usb_classes
from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb.usbguard import (
    base_rule,
    expected_target,
    render_rules,
    rule_lines,
)

ROOT = Path(__file__).resolve().parents[4]
PARSER = shutil.which("usbguard-rule-parser")
MODES = ("prohibit", "agency_issued_only", "audit_only")

# Interface lists as usbguard lists them (what QEMU's devices and real ones present).
KBD = ["03:01:01"]
CCID = ["0b:00:00"]
KBD_WITH_CCID = ["03:01:01", "0b:00:00"]
KBD_WITH_STORAGE = ["03:01:01", "08:06:50"]
CCID_WITH_STORAGE = ["0b:00:00", "08:06:50"]
STICK = ["08:06:50"]
MTP = ["06:01:01"]
RNDIS = ["e0:01:03", "0a:00:00"]
RNDIS_CDC = ["02:02:ff", "0a:00:00"]  # QEMU's usb-net and many RNDIS gadgets
ECM = ["02:06:00", "0a:00:00"]
NCM = ["02:0d:00", "0a:00:01"]
ADB = ["ff:42:01"]
FTDI = ["ff:ff:ff"]
AUDIO = ["01:01:00", "01:02:00"]
ACM = ["02:02:01", "0a:00:00"]
HEADSET_WITH_STORAGE = ["01:01:00", "01:02:00", "08:06:50"]


def decide(interfaces, mode="prohibit", entries=(), **switches):
    device = {"id": "1234:5678", "serial": "S1", "with-interface": interfaces}
    return expected_target(mode, device, list(entries), **switches)


@pytest.mark.skipif(PARSER is None, reason="usbguard-rule-parser missing")
@pytest.mark.parametrize("audio", [False, True])
@pytest.mark.parametrize("serial", [False, True])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.control("6-17.usbguard_rules", "6-17.device_classes")
def test_generated_rules_are_accepted_by_usbguard(tmp_path, mode, audio, serial):
    text = render_rules(mode, [], allow_audio=audio, allow_serial=serial)
    f = tmp_path / "r.conf"
    f.write_text(text)
    proc = subprocess.run([PARSER, "-f", str(f)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    printed = [ln[8:] for ln in proc.stdout.splitlines() if ln.startswith("OUTPUT: ") and ln[8:].strip()]
    assert printed == rule_lines(text)
    assert printed[0] == base_rule(audio, serial)
    assert "0b:*:*" in printed[0] and ("01:*:*" in printed[0]) == audio and ("02:02:01" in printed[0]) == serial
    assert "02:02:ff" not in printed[0] and "02:02:*" not in printed[0]
    assert printed[0].startswith("allow with-interface match-all {")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("interfaces", [KBD, CCID, KBD_WITH_CCID, ["09:00:00"]])
@pytest.mark.control("6-17.device_classes")
def test_keyboards_hubs_and_smartcard_readers_are_allowed_in_every_mode(mode, interfaces):
    assert decide(interfaces, mode) == "allow"


@pytest.mark.parametrize("mode", ["prohibit", "agency_issued_only"])
@pytest.mark.parametrize(
    "interfaces",
    [KBD_WITH_STORAGE, CCID_WITH_STORAGE, STICK, MTP, RNDIS, RNDIS_CDC, ECM, NCM, ADB, FTDI, AUDIO, ACM],
)
@pytest.mark.control("6-17.device_classes")
def test_every_recording_or_transfer_class_is_blocked_unregistered(mode, interfaces):
    # Judged by all interfaces: a keyboard or reader with a storage interface stays blocked.
    assert decide(interfaces, mode) == "block"


@pytest.mark.control("6-17.device_classes")
def test_audio_and_serial_follow_their_switch_but_never_carry_storage():
    assert decide(AUDIO, allow_audio=True) == "allow" and decide(ACM, allow_serial=True) == "allow"
    assert decide(HEADSET_WITH_STORAGE, allow_audio=True) == "block"
    assert decide(FTDI, allow_serial=True) == "block"  # vendor-specific stays blocked
    # Tethering is not a serial port: RNDIS as CDC-ACM with the vendor protocol, ECM/NCM data.
    assert decide(RNDIS_CDC, allow_serial=True) == "block"
    assert decide(ECM, allow_serial=True) == "block" and decide(NCM, allow_serial=True) == "block"
    assert decide(ACM, allow_audio=True) == "block" and decide(AUDIO, allow_serial=True) == "block"


@pytest.mark.control("6-17.smartphone_blocked")
def test_a_registered_phone_is_allowed_with_all_its_functions():
    phone = {"id": "1234:5678", "serial": "S1", "label": "PHONE-1", "kind": "smartphone"}
    for interfaces in (MTP + ADB, RNDIS, NCM):
        assert decide(interfaces, "agency_issued_only", [phone]) == "allow"
        assert decide(interfaces, "prohibit", [phone]) == "block"


@pytest.mark.control("6-17.device_classes")
def test_device_classes_of_a_device_are_all_its_interfaces():
    assert usb_classes.usb_classes(KBD_WITH_STORAGE) == ["mass_storage", "hid"]
    assert usb_classes.usb_classes(RNDIS) == ["phone_network"]
    assert usb_classes.usb_classes(RNDIS_CDC) == ["phone_network"]
    assert usb_classes.usb_classes(["08:02:50"]) == ["mass_storage", "optical"]
    assert usb_classes.usb_classes(ACM) == ["serial"]


def fake_sysfs(root: Path, mmc=False, tb_level=None, fw=False, bt=False) -> Path:
    for d in ("class/mmc_host", "bus/thunderbolt/devices", "bus/firewire/devices", "class/bluetooth"):
        (root / d).mkdir(parents=True, exist_ok=True)
    if mmc:
        (root / "class/mmc_host/mmc0").mkdir()
    if tb_level:
        (root / "bus/thunderbolt/devices/domain0").mkdir()
        (root / "bus/thunderbolt/devices/domain0/security").write_text(tb_level + "\n")
    if fw:
        (root / "bus/firewire/devices/fw0").mkdir()
    if bt:
        (root / "class/bluetooth/hci0").mkdir()
    return root


@pytest.mark.control("6-17.device_classes")
def test_other_buses_absent_are_closed(tmp_path):
    found = usb_classes.other_buses(str(fake_sysfs(tmp_path)))
    assert {k: (v["present"], v["open"]) for k, v in found.items()} == {
        "sd_mmc": (False, False),
        "thunderbolt": (False, False),
        "firewire": (False, False),
        "bluetooth": (False, False),
    }


@pytest.mark.control("6-17.device_classes")
def test_other_buses_present_are_reported_open(tmp_path):
    found = usb_classes.other_buses(str(fake_sysfs(tmp_path, mmc=True, tb_level="none", fw=True, bt=True)))
    assert all(v["present"] and v["open"] for v in found.values()), found
    assert found["sd_mmc"]["evidence"] == ["mmc0"] and found["thunderbolt"]["evidence"] == {"domain0": "none"}


@pytest.mark.control("6-17.device_classes")
def test_thunderbolt_with_user_authorization_is_not_open(tmp_path):
    found = usb_classes.other_buses(str(fake_sysfs(tmp_path, tb_level="user")))
    assert found["thunderbolt"] == {"present": True, "open": False, "evidence": {"domain0": "user"}}


@pytest.mark.control("6-17.device_classes")
def test_matrix_covers_every_class_of_the_clause_and_the_docs_table_is_generated_from_it():
    keys = [c["key"] for c in usb_classes.CLASSES]
    assert keys == [
        "mass_storage", "optical", "mtp_ptp", "phone_network", "vendor_specific", "hid", "hub", "smartcard",
        "audio", "serial", "sd_mmc", "thunderbolt", "firewire", "bluetooth",
    ]  # fmt: skip
    for c in usb_classes.CLASSES:
        assert all(c[m] for m in MODES) and c["mechanism"] and c["finding"] and c["switch"]
    doc = (ROOT / "docs" / "device_classes.md").read_text()
    assert usb_classes.markdown_table() in doc  # `make docs-check` fails when it is stale
