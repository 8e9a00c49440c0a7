"""The buses usbguard does not see (plugins/module_utils/usb/buses.py): which mode and switch block
what, the rendered modprobe drop-in (accepted by the host's modprobe where there is one), the
OBEX mask states, eMMC/SD hosts, external PCI storage, and the matrix's open/closed verdict."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb import buses
from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb import classes as usb_classes

ALL = ["sd_mmc", "thunderbolt", "firewire", "bluetooth"]
MODPROBE = shutil.which("modprobe") or next(
    (p for p in ("/usr/sbin/modprobe", "/sbin/modprobe") if os.path.exists(p)), None
)


@pytest.mark.control("6-17.bus_media_blocked")
@pytest.mark.parametrize(
    ("mode", "switches", "expected"),
    [
        ("prohibit", {}, ALL),
        ("agency_issued_only", {}, ALL),
        ("audit_only", {}, []),
        ("prohibit", {"allow_sd_mmc": True}, ["thunderbolt", "firewire", "bluetooth"]),
        ("agency_issued_only", {"allow_thunderbolt": True, "allow_firewire": True}, ["sd_mmc", "bluetooth"]),
        ("prohibit", {"allow_bluetooth_transfer": True}, ["sd_mmc", "thunderbolt", "firewire"]),
        ("audit_only", {"allow_sd_mmc": False}, []),
    ],
)
def test_each_mode_and_switch(mode, switches, expected):
    assert buses.blocked(mode, switches) == expected


@pytest.mark.control("6-17.bus_media_blocked")
def test_rendered_dropin_lines_per_bus():
    text = buses.render_modprobe(ALL)
    directives = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    assert directives == [
        "install mmc_block /bin/false", "blacklist mmc_block",
        "install thunderbolt /bin/false", "blacklist thunderbolt",
        "install firewire_sbp2 /bin/false", "blacklist firewire_sbp2",
        "install firewire_ohci /bin/false", "blacklist firewire_ohci",
    ]  # fmt: skip
    assert text.startswith("# Managed by pii_guard.safeguards (clause 6-17")
    assert buses.render_modprobe(["bluetooth"]) is None and buses.render_modprobe([]) is None
    only_tb = buses.render_modprobe(["thunderbolt"])
    assert [ln for ln in only_tb.splitlines() if not ln.startswith("#")] == [
        "install thunderbolt /bin/false",
        "blacklist thunderbolt",
    ]


@pytest.mark.skipif(MODPROBE is None, reason="no modprobe on this machine")
@pytest.mark.control("6-17.bus_media_blocked")
def test_modprobe_reads_the_dropin_as_install_false(tmp_path):
    # modprobe -C reads only this configuration directory; -n never loads anything.
    conf = tmp_path / "modprobe.d"
    conf.mkdir()
    (conf / "pii-guard-buses.conf").write_text(buses.render_modprobe(ALL))
    proc = subprocess.run([MODPROBE, "-C", str(conf), "-c"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    for name in ("mmc_block", "thunderbolt", "firewire_sbp2", "firewire_ohci"):
        assert f"install {name} /bin/false" in proc.stdout and f"blacklist {name}" in proc.stdout


@pytest.mark.control("6-17.bus_media_blocked")
def test_mask_states(tmp_path):
    empty, link, unit = tmp_path / "a.service", tmp_path / "b.service", tmp_path / "c.service"
    empty.write_text("")
    os.symlink("/dev/null", link)
    unit.write_text("[Service]\nExecStart=/usr/libexec/bluetooth/obexd\n")
    assert [buses.mask_state(str(p)) for p in (empty, link, unit, tmp_path / "none")] == [
        "masked", "masked", "unit file", "absent",
    ]  # fmt: skip
    assert buses.ours(str(empty)) and not buses.ours(str(link)) and not buses.ours(str(unit))
    assert buses.mask_paths("/etc/systemd/user") == [
        "/etc/systemd/user/obex.service",
        "/etc/systemd/user/dbus-org.bluez.obex.service",
    ]


@pytest.mark.control("6-17.bus_media_blocked")
def test_a_host_running_from_emmc_is_seen_mounts_swap_and_device_mapper(tmp_path):
    sysfs, proc = tmp_path / "sys", tmp_path / "proc"
    (sysfs / "block" / "mmcblk0" / "mmcblk0p1").mkdir(parents=True)
    (sysfs / "block" / "mmcblk0" / "mmcblk0p2").mkdir()
    (sysfs / "block" / "dm-0" / "slaves" / "mmcblk0p2").mkdir(parents=True)
    proc.mkdir()
    (proc / "mounts").write_text("/dev/vda / ext4 rw 0 0\n")
    (proc / "swaps").write_text("Filename Type Size Used Priority\n")
    assert buses.mmc_in_use(str(sysfs), str(proc)) == ["mmcblk0p2 (member of dm-0)"]
    (proc / "mounts").write_text("/dev/mmcblk0p1 /boot/efi vfat rw 0 0\n")
    (proc / "swaps").write_text("Filename Type Size Used Priority\n/dev/mmcblk0p2 partition 1 0 -2\n")
    assert buses.mmc_in_use(str(sysfs), str(proc)) == [
        "/dev/mmcblk0p1 (/boot/efi)",
        "/dev/mmcblk0p2 (swap)",
        "mmcblk0p2 (member of dm-0)",
    ]
    # A card in a reader, not mounted: nothing in use.
    assert buses.mmc_in_use(str(tmp_path / "other"), str(proc)) == []


@pytest.mark.control("6-17.bus_media_blocked", "6-17.device_classes")
def test_external_pci_storage_and_loaded_modules(tmp_path):
    pci = tmp_path / "bus" / "pci" / "devices"
    for dev, removable, cls in [
        ("0000:00:1d.0", "fixed", "0x010802"),  # the internal NVMe
        ("0000:05:00.0", "removable", "0x010802"),  # an NVMe enclosure behind a Thunderbolt port
        ("0000:06:00.0", "removable", "0x0c0330"),  # a dock's xHCI: usbguard's business
    ]:
        (pci / dev).mkdir(parents=True)
        (pci / dev / "removable").write_text(removable + "\n")
        (pci / dev / "class").write_text(cls + "\n")
    assert buses.external_pci_storage(str(tmp_path)) == ["0000:05:00.0"]
    found = usb_classes.other_buses(str(tmp_path), {}, buses.external_pci_storage(str(tmp_path)))
    assert found["thunderbolt"]["open"] is True
    assert found["thunderbolt"]["evidence"] == {"external_pci_storage": ["0000:05:00.0"]}
    (tmp_path / "module" / "thunderbolt").mkdir(parents=True)
    assert buses.loaded_modules(str(tmp_path), ("thunderbolt", "mmc_block")) == ["thunderbolt"]


@pytest.mark.control("6-17.device_classes")
def test_an_enforced_block_closes_a_present_bus(tmp_path):
    for d in ("class/mmc_host/mmc0", "bus/firewire/devices/fw0", "class/bluetooth/hci0"):
        (tmp_path / d).mkdir(parents=True)
    found = usb_classes.other_buses(str(tmp_path), {"sd_mmc": True, "firewire": True, "bluetooth": True})
    assert {k: (v["present"], v["open"]) for k, v in found.items()} == {
        "sd_mmc": (True, False),
        "thunderbolt": (False, False),
        "firewire": (True, False),
        "bluetooth": (True, False),
    }
    found = usb_classes.other_buses(str(tmp_path), {"sd_mmc": False})
    assert found["sd_mmc"]["open"] and found["firewire"]["open"] and found["bluetooth"]["open"]


@pytest.mark.control("6-17.bus_media_blocked")
def test_running_obexd_found_by_comm(tmp_path):
    for pid, comm in (("12", "obexd"), ("7", "bash"), ("self", "obexd")):
        (tmp_path / pid).mkdir()
        (tmp_path / pid / "comm").write_text(comm + "\n")
    assert buses.obexd_processes(str(tmp_path)) == [12]
    assert buses.obexd_processes(str(tmp_path / "missing")) == []


def test_matrix_rows_name_the_switch_and_finding_of_each_bus():
    for bus in ALL:
        row = usb_classes.BY_KEY[bus]
        assert ("usb_storage_" + buses.SWITCHES[bus]) in row["switch"]
        assert "6-17.bus_media_blocked" in row["finding"]
        assert row["audit_only"].startswith("allowed; reported")
    assert Path(usb_classes.__file__).name == "classes.py"
