"""usb_devices_info's sysfs reader, on a sysfs-shaped tree (what the kernel exposes without usbguard)."""

from __future__ import annotations

from ansible_collections.pii_guard.safeguards.plugins.modules.usb_devices_info import from_sysfs


def write(base, **files):
    base.mkdir(parents=True, exist_ok=True)
    for name, value in files.items():
        (base / name).write_text(value + "\n")


def test_from_sysfs_lists_devices_with_interfaces_and_authorization(tmp_path):
    write(tmp_path / "usb1", idVendor="1d6b", idProduct="0003", product="xHCI Host Controller", authorized="1")
    write(tmp_path / "usb1" / "usb1:1.0", bInterfaceClass="09", bInterfaceSubClass="00", bInterfaceProtocol="03")
    stick = tmp_path / "1-1"
    write(stick, idVendor="46f4", idProduct="0001", serial="PRIVATE9999", product="QEMU USB HARDDRIVE", authorized="0")
    write(stick / "1-1:1.0", bInterfaceClass="08", bInterfaceSubClass="06", bInterfaceProtocol="50")
    write(tmp_path / "1-1:1.0", bInterfaceClass="08")  # interface entries at top level are not devices
    devices = {d["port"]: d for d in from_sysfs(str(tmp_path))}
    assert set(devices) == {"usb1", "1-1"}
    assert devices["1-1"] == {
        "id": "46f4:0001",
        "serial": "PRIVATE9999",
        "name": "QEMU USB HARDDRIVE",
        "hash": None,
        "interfaces": ["08:06:50"],
        "authorized": False,
        "target": None,
        "port": "1-1",
        "storage": True,
        "smartphone": False,
        "classes": ["mass_storage"],
    }
    assert devices["usb1"]["interfaces"] == ["09:00:03"] and devices["usb1"]["authorized"] is True


def test_from_sysfs_without_usb_bus(tmp_path):
    assert from_sysfs(str(tmp_path / "missing")) == []
