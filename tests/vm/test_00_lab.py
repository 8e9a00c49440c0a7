"""The VM itself: real Debian kernel, SSH on loopback only, USB hot-plug through QMP.

Runs in any order: the base state is the one read at boot (conftest's boot_state), and every
device a test plugs is unplugged again.
"""

from __future__ import annotations

import json
import time

from tests.lab.vm import VM


def block_devices(vm: VM) -> list[dict]:
    out = vm.ssh("lsblk --json --nodeps -o NAME,SERIAL,TRAN,SIZE").stdout
    return json.loads(out)["blockdevices"]


def interfaces(vm: VM) -> str:
    """Counts of the USB interface classes the guest kernel sees (`   2 09` = two hubs)."""
    # `; true`: sysfs nodes may vanish between glob and read while devices are torn down.
    return vm.ssh("cat /sys/bus/usb/devices/*/bInterfaceClass 2>/dev/null | sort | uniq -c; true").stdout


def wait_for(predicate, timeout: float = 60, interval: float = 1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def test_ssh_answers_on_loopback_as_labop(vm: VM) -> None:
    assert vm.host == "127.0.0.1"
    r = vm.ssh("id -un; sudo -n id -u")
    assert r.stdout.split() == ["labop", "0"]


def test_kernel_is_the_debian_kernel(vm: VM) -> None:
    release = vm.ssh("uname -r").stdout.strip()
    assert release.endswith("-amd64"), release
    # The running kernel is the one the Debian package in the image installed.
    owner = vm.ssh(f"dpkg -S /boot/vmlinuz-{release}").stdout
    assert owner.startswith(f"linux-image-{release}:"), owner
    version = vm.ssh("cat /proc/version").stdout
    assert "Debian" in version, version


def test_lab_base_state(boot_state: dict[str, str]) -> None:
    # Known starting point for role tests: usbguard installed but off, auditd running.
    assert boot_state["usbguard_package"] == "install ok installed"
    assert boot_state["usbguard"] == "inactive"
    assert boot_state["auditd"] == "active"
    assert boot_state["auditctl_status"].count("enabled 1") == 1


def test_stick_hotplug_appears_and_disappears(vm: VM) -> None:
    serial = "AGENCY0001"
    assert not [d for d in block_devices(vm) if d.get("tran") == "usb"]
    vm.plug_stick("lab-stick", serial=serial, size_mb=16)
    try:
        # lsblk takes the serial from the udev database, filled a moment after the disk appears.
        usb = wait_for(lambda: [d for d in block_devices(vm) if d.get("tran") == "usb" and d.get("serial")])
        assert usb, vm.ssh("sudo dmesg | tail -n 20").stdout
        assert usb[0]["serial"] == serial
        assert usb[0]["size"] == "16M"
        assert vm.ssh(f"lsusb -v -d 46f4:0001 2>/dev/null | grep -c 'iSerial.*{serial}'").stdout.strip() == "1"
    finally:
        vm.unplug("lab-stick")
    gone = wait_for(lambda: not [d for d in block_devices(vm) if d.get("tran") == "usb"], timeout=30)
    assert gone, block_devices(vm)
    assert "lab-stick" not in vm.peripherals()


def test_keyboard_and_mtp_hotplug(vm: VM) -> None:
    vm.plug_keyboard("lab-kbd")
    vm.plug_mtp("lab-mtp")
    try:
        # 03 = HID (the keyboard), 06 = still image / MTP (what a smartphone exposes).
        seen = wait_for(lambda: " 03" in interfaces(vm) and " 06" in interfaces(vm))
        assert seen, interfaces(vm)
    finally:
        vm.unplug("lab-kbd")
        vm.unplug("lab-mtp")
    assert not {"lab-kbd", "lab-mtp"} & vm.peripherals()
    gone = wait_for(lambda: " 06" not in interfaces(vm) and " 03" not in interfaces(vm))
    assert gone, interfaces(vm)


def test_inventory_reaches_the_vm_with_ansible(vm: VM) -> None:
    import subprocess

    from tests.lab.vm import REPO

    inv = vm.inventory(groups=["linux", "pii_data"], hostvars={"lab_marker": "x1"})
    r = subprocess.run(
        [str(REPO / ".venv/bin/ansible"), "-i", str(inv), "pii_data", "-m", "ansible.builtin.command", "-a", "id -u"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    # become: true in the inventory -> root on the guest, reached as labop over SSH.
    assert "vm | CHANGED | rc=0 >>\n0" in r.stdout
