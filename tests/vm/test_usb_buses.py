"""Clause 6-17 on a bus usbguard does not see, with a real kernel: the VM's SD/MMC card reader.

The VM boots with an SD/MMC slot holding a card (QEMU sdhci-pci + sd-card, tests/lab/vm.py):
QEMU hot-plugs sdhci-pci on this machine type, but its sd-bus takes no hot-plugged card, so the
card is there from boot and "inserting" it again is unbinding and binding the controller (the
kernel then detects the card anew and udev asks for mmc_block, as on a real insertion).

What the kernel does is asserted (mmc_block loaded or not, /dev/mmcblk0, the card's first bytes,
the real modprobe refusing the blocked drivers), and the role's 6-17.bus_media_blocked finding.
Thunderbolt, FireWire and Bluetooth are not emulated by QEMU: their drivers are only shown
refused by the real modprobe here; their rows are unit-tested (tests/unit/module_utils/usb/test_buses.py).
The module leaves the VM in audit_only (nothing blocked), as the other usb tests do.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from pathlib import Path

import pytest

from tests.lab.vm import SD_MARKER, run_playbook, wait_for

PLAY = "tests/vm/usb_buses.yml"


def apply(vm, mode, **switches):
    extra = {"usb_storage_mode": mode, "usb_storage_devices": [], **switches}
    with tempfile.TemporaryDirectory(prefix="bus-vm-") as d:
        out = Path(d) / "findings.json"
        proc = run_playbook(vm, PLAY, extra_vars={**extra, "findings_out": str(out)})
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        findings = {f["id"]: f for f in json.loads(out.read_text(encoding="utf-8"))}
    m = re.search(r"\bvm\s*:\s*ok=\d+\s+changed=(\d+)", proc.stdout)
    assert m, proc.stdout[-2000:]
    return int(m.group(1)), findings


def sh(vm, cmd):
    return vm.ssh(cmd, check=False)


def controller(vm) -> str:
    out = sh(vm, "ls /sys/bus/pci/drivers/sdhci-pci/ | grep '^0000:'").stdout.split()
    assert len(out) == 1, out
    return out[0]


def reinsert(vm):
    """The card anew, as the kernel sees an insertion: the controller unbound and bound again."""
    addr = controller(vm)
    sh(vm, f"echo {addr} | sudo tee /sys/bus/pci/drivers/sdhci-pci/unbind >/dev/null")
    sh(vm, f"echo {addr} | sudo tee /sys/bus/pci/drivers/sdhci-pci/bind >/dev/null")
    # The card is detected once the host's clock is up: wait until the kernel lists it.
    wait_for("the card detected", lambda: sh(vm, "ls /sys/bus/mmc/devices/").stdout.strip())


def card(vm) -> str:
    return sh(vm, f"sudo head -c {len(SD_MARKER)} /dev/mmcblk0 2>/dev/null").stdout


def mmc_block_loaded(vm) -> bool:
    return sh(vm, "test -d /sys/module/mmc_block").returncode == 0


@pytest.fixture(scope="module", autouse=True)
def leave_audit_only(vm):
    yield
    apply(vm, "audit_only")


@pytest.mark.control("6-17.bus_media_blocked", "6-17.device_classes")
def test_sd_card_unreadable_when_blocked_readable_when_its_switch_allows_it(vm):
    # audit_only blocks nothing: an inserted card gets mmc_block from udev and is readable.
    _, findings = apply(vm, "audit_only")
    assert findings["6-17.bus_media_blocked"]["status"] == "not_applicable"
    reinsert(vm)
    assert wait_for("card readable in audit_only", lambda: card(vm) == SD_MARKER)
    assert findings["6-17.device_classes"]["observed"]["sd_mmc"]["present"] is True

    # agency_issued_only with every switch at its default: the card is gone and stays gone.
    changed, findings = apply(vm, "agency_issued_only")
    assert changed >= 1
    f = findings["6-17.bus_media_blocked"]
    assert f["status"] == "fixed", f
    sd = f["observed"]["sd_mmc"]
    assert sd["enforced"] and sd["loaded"] == [] and sd["unload"]["rc"] == 0, sd
    assert "install /bin/false" in sd["modprobe_dry_run"]["mmc_block"]["output"]
    assert not mmc_block_loaded(vm) and sh(vm, "ls /dev/mmcblk0").returncode != 0
    reinsert(vm)
    time.sleep(5)  # udev has asked for mmc_block by now
    assert not mmc_block_loaded(vm) and card(vm) == "", "the card must give no block device"
    assert sh(vm, "sudo modprobe mmc_block").returncode != 0
    # The real kmod refuses the other blocked drivers too (no such hardware in QEMU).
    for name in ("thunderbolt", "firewire_ohci", "firewire_sbp2"):
        assert "install /bin/false" in sh(vm, f"sudo modprobe -n -v {name}").stdout, name
        assert sh(vm, f"sudo modprobe {name}").returncode != 0, name
    assert sh(vm, "systemctl --global is-enabled obex.service").stdout.strip() == "masked"
    c = findings["6-17.device_classes"]
    assert c["observed"]["sd_mmc"]["open"] is False and "sd_mmc" not in c["evidence"]["open_classes"]

    # The second apply changes nothing.
    changed, findings = apply(vm, "agency_issued_only")
    assert changed == 0 and findings["6-17.bus_media_blocked"]["status"] == "pass"

    # Its switch lets the card in again; the other buses stay blocked.
    changed, findings = apply(vm, "agency_issued_only", usb_storage_allow_sd_mmc=True)
    assert findings["6-17.bus_media_blocked"]["expected"]["sd_mmc"].startswith("not blocked")
    reinsert(vm)
    assert wait_for("card readable with usb_storage_allow_sd_mmc", lambda: card(vm) == SD_MARKER)
    assert sh(vm, "sudo modprobe -n -v thunderbolt").stdout.strip() == "install /bin/false"
