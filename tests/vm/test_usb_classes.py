"""Clause 6-17 device classes on the real kernel (docs/device_classes.md), one test per class
QEMU emulates. Each test applies the mode it needs, plugs its own devices and removes them, so
they run one by one (`pytest tests/vm -k smartcard`) and in any order; the module leaves the VM
in audit_only (nothing blocked), as tests/vm/test_usb_storage.py does.

What the kernel does is asserted, not what a file says: usbguard's decision and the device's
sysfs `authorized`, network interfaces, sound cards, tty and block devices.
"""

from __future__ import annotations

import time

import pytest

from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb.usbguard import parse_list_devices
from tests.lab.vm import VMError, run_playbook, wait_for

PLAY = "tests/vm/usb_storage.yml"
CCID, KBD, NET, AUDIO, SERIAL = "08e6:4433", "0627:0001", "0525:a4a2", "46f4:0002", "0403:6001"


def apply(vm, mode, **switches):
    extra = {"usb_storage_mode": mode, "usb_storage_devices": [], **switches}
    proc = run_playbook(vm, PLAY, extra_vars=extra)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def listed(vm, vid_pid):
    devices = parse_list_devices(vm.ssh("sudo usbguard list-devices").stdout)
    return next((d for d in devices if d.get("id") == vid_pid), None)


def sysfs_authorized(vm, vid_pid) -> str:
    """The kernel's `authorized` of the USB device with that VID:PID ('1', '0' or '' when absent)."""
    vid, pid = vid_pid.split(":")
    script = (
        "for d in /sys/bus/usb/devices/*; do "
        f'[ "$(cat $d/idVendor 2>/dev/null)" = {vid} ] && [ "$(cat $d/idProduct 2>/dev/null)" = {pid} ] '
        "&& cat $d/authorized; done; true"
    )
    return vm.ssh(script).stdout.strip()


def usb_netdevs(vm) -> list[str]:
    """Network interfaces whose device sits on the USB bus."""
    out = vm.ssh(
        "for n in /sys/class/net/*; do readlink -f $n/device 2>/dev/null | grep -q /usb && basename $n; done; true"
    )
    return out.stdout.split()


class Plugged:
    """QEMU devices a test hot-plugs; unplugged when the test ends."""

    def __init__(self, vm):
        self.vm = vm
        self.ids: list[str] = []
        self.chardevs: list[str] = []
        self.netdevs: list[str] = []

    def add(self, dev_id, **props):
        self.vm.qmp("device_add", id=dev_id, **props)
        self.ids.append(dev_id)
        if "drive" in props:
            self.vm._blockdevs[dev_id] = props["drive"]  # unplug() deletes the backend too

    def blockdev(self, node, size_mb=8):
        backing = self.vm.rundir / f"{node}.img"
        with open(backing, "wb") as fh:
            fh.truncate(size_mb * 1024 * 1024)
        self.vm.qmp(
            "blockdev-add", **{"node-name": node, "driver": "raw", "file": {"driver": "file", "filename": str(backing)}}
        )
        return node

    def close(self):
        for dev_id in reversed(self.ids):
            try:
                self.vm.unplug(dev_id)
            except VMError:
                pass
        # A backend stays busy a moment after its device is gone; a leftover null backend is harmless.
        for command, ids in (("chardev-remove", self.chardevs), ("netdev_del", self.netdevs)):
            for backend in ids:
                for _ in range(20):
                    try:
                        self.vm.qmp(command, id=backend)
                        break
                    except VMError:
                        time.sleep(0.5)


@pytest.fixture
def plug(vm):
    p = Plugged(vm)
    yield p
    p.close()


@pytest.fixture(scope="module", autouse=True)
def leave_audit_only(vm):
    yield
    apply(vm, "audit_only")


@pytest.mark.control("6-17.device_classes")
def test_smartcard_reader_and_keyboard_stay_authorized_in_every_mode(vm, plug):
    plug.add("ccid1", driver="usb-ccid", bus="xhci.0")
    plug.add("kbd2", driver="usb-kbd", bus="xhci.0")
    for mode in ("prohibit", "agency_issued_only", "audit_only"):
        apply(vm, mode)
        for vid_pid in (CCID, KBD):
            assert wait_for(
                f"{vid_pid} allowed in {mode}", lambda v=vid_pid: (listed(vm, v) or {}).get("target") == "allow"
            )
            assert sysfs_authorized(vm, vid_pid) == "1", (mode, vid_pid)
    assert "0b:00:00" in listed(vm, CCID)["with-interface"]


@pytest.mark.control("6-17.device_classes", "6-17.smartphone_blocked")
def test_usb_tethering_gives_no_network_interface_when_blocked(vm, plug):
    apply(vm, "prohibit")
    vm.qmp("netdev_add", type="user", id="tether1", restrict=True)  # reaches nothing
    plug.netdevs.append("tether1")
    plug.add("net1", driver="usb-net", netdev="tether1", bus="xhci.0")
    dev = wait_for("usb-net listed", lambda: listed(vm, NET))
    assert dev["target"] == "block" and sysfs_authorized(vm, NET) == "0"
    time.sleep(3)
    assert usb_netdevs(vm) == []
    apply(vm, "audit_only")  # nothing blocked: the phone's network function appears
    assert wait_for("usb network interface", lambda: usb_netdevs(vm))


@pytest.mark.control("6-17.device_classes")
def test_audio_follows_its_switch_and_serial_chip_stays_blocked(vm, plug):
    apply(vm, "prohibit")
    try:
        plug.add("audio1", driver="usb-audio", bus="xhci.0")
    except VMError as e:
        pytest.skip(f"this QEMU cannot hot-plug usb-audio here: {e}")
    vm.qmp("chardev-add", id="ser1", backend={"type": "null", "data": {}})
    plug.chardevs.append("ser1")
    plug.add("serial1", driver="usb-serial", chardev="ser1", bus="xhci.0", **{"always-plugged": True})
    for vid_pid in (AUDIO, SERIAL):
        assert wait_for(f"{vid_pid} blocked", lambda v=vid_pid: (listed(vm, v) or {}).get("target") == "block")
    assert sysfs_authorized(vm, AUDIO) == "0"
    assert "USB" not in vm.ssh("cat /proc/asound/cards 2>/dev/null; true").stdout
    apply(vm, "prohibit", usb_storage_allow_audio=True, usb_storage_allow_serial=True)
    assert wait_for("audio allowed", lambda: (listed(vm, AUDIO) or {}).get("target") == "allow")
    assert sysfs_authorized(vm, AUDIO) == "1"
    # QEMU's usb-serial is an FTDI chip: vendor-specific interface ff:ff:ff, not CDC-ACM, so the
    # serial switch does not allow it (a vendor interface can be anything).
    serial = listed(vm, SERIAL)
    assert serial["target"] == "block" and serial["with-interface"] == ["ff:ff:ff"]
    assert vm.ssh("ls /dev/ttyUSB* 2>/dev/null; true").stdout.strip() == ""


# SD/MMC (sdhci-pci + sd-card, present from boot) is proven in tests/vm/test_usb_buses.py. QEMU's
# usb-serial is an FTDI chip (ff:ff:ff), so usb_storage_allow_serial (CDC-ACM) cannot be shown
# allowing it: the test above shows it stays blocked with the switch on; CDC-ACM is unit-tested.
# A QEMU nvme hot-plugs on this machine type (pc, ACPI PCI hot-plug) but looks like an internal
# disk (no external-facing port), so it proves nothing about the Thunderbolt row.
