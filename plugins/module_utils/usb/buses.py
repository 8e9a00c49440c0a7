# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Clause 6-17 on the buses usbguard does not see: SD/MMC slots, Thunderbolt/USB4, FireWire and
Bluetooth file transfer (OBEX). What is blocked, the files that block it, and what the host shows.

Pure logic plus small sysfs/procfs reads, no Ansible imports: it ships to the endpoint with the
usbguard_policy module, which writes the files through the host-file helper.

Mechanisms (docs/device_classes.md says the same, generated from classes.py):

- SD/MMC: ``install mmc_block /bin/false`` + ``blacklist mmc_block``. Without mmc_block a card
  gets no /dev/mmcblk*; the SDHCI controller and SDIO functions (Wi-Fi) stay.
- Thunderbolt / USB4: ``install thunderbolt /bin/false`` + blacklist. A device's PCIe tunnel is
  opened only when the OS authorizes it (security level user/secure) or by the firmware (level
  none). Without the driver nothing in the OS can authorize a device: no udev rule and no boltd
  policy can, and a udev rule writing authorized=0 would race with boltd and only works where
  the kernel supports de-authorization. A firmware level none stays open and is reported.
- FireWire: ``install firewire_sbp2 /bin/false`` (SBP-2 storage) and ``firewire_ohci`` (the
  controller, whose physical DMA is the other FireWire risk) + blacklist.
- Bluetooth OBEX: the user unit obex.service (bluez-obexd, D-Bus activated as
  dbus-org.bluez.obex.service) masked for every user by an empty unit file in
  /etc/systemd/user: without obexd no Object Push / File Transfer service is offered, so a
  phone cannot push a file; keyboards, mice and headsets keep working.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

BUSES = ("sd_mmc", "thunderbolt", "firewire", "bluetooth")
# The role variable of each bus's switch (usb_storage_<this>); the module parameter has no prefix.
SWITCHES = {
    "sd_mmc": "allow_sd_mmc",
    "thunderbolt": "allow_thunderbolt",
    "firewire": "allow_firewire",
    "bluetooth": "allow_bluetooth_transfer",
}
# Kernel modules kept from loading per bus (modprobe.d drop-in).
KERNEL_MODULES = {
    "sd_mmc": ("mmc_block",),
    "thunderbolt": ("thunderbolt",),
    "firewire": ("firewire_sbp2", "firewire_ohci"),
}
WHY = {
    "sd_mmc": "SD/MMC cards: no /dev/mmcblk* (the controller and SDIO Wi-Fi stay)",
    "thunderbolt": "Thunderbolt/USB4: nothing in the OS can authorize a device's PCIe tunnel",
    "firewire": "FireWire: SBP-2 storage and the OHCI controller (physical DMA)",
}
# obexd's user unit and the alias the D-Bus activation asks for.
OBEX_UNITS = ("obex.service", "dbus-org.bluez.obex.service")
OBEXD_PATHS = ("/usr/libexec/bluetooth/obexd", "/usr/lib/bluetooth/obexd")
BLOCKING_MODES = ("prohibit", "agency_issued_only")
MODPROBE_HEADER = (
    "# Managed by pii_guard.safeguards (clause 6-17, usb_storage): recording media on buses usbguard\n"
    "# does not see. Local edits are overwritten; switches usb_storage_allow_sd_mmc,\n"
    "# usb_storage_allow_thunderbolt, usb_storage_allow_firewire (docs/device_classes.md).\n"
)


def blocked(mode, switches):
    """The buses this mode blocks: every one whose switch (allow_*) is off, outside audit_only."""
    if mode not in BLOCKING_MODES:
        return []
    return [b for b in BUSES if not (switches or {}).get(SWITCHES[b])]


def modprobe_lines(bus):
    out = []
    for name in KERNEL_MODULES.get(bus, ()):
        out += ["install %s /bin/false" % name, "blacklist %s" % name]
    return out


def render_modprobe(blocked_buses):
    """The drop-in's text, or None when no bus with a kernel module is blocked (file absent)."""
    parts = []
    for bus in BUSES:
        if bus in blocked_buses and bus in KERNEL_MODULES:
            parts.append("# %s\n%s\n" % (WHY[bus], "\n".join(modprobe_lines(bus))))
    return MODPROBE_HEADER + "".join(parts) if parts else None


def mask_paths(user_unit_dir):
    return [os.path.join(user_unit_dir, u) for u in OBEX_UNITS]


def mask_state(path):
    """'masked' (empty file or link to /dev/null), 'absent', or 'unit file' (something else)."""
    if not os.path.lexists(path):
        return "absent"
    if os.path.islink(path) and os.path.realpath(path) == "/dev/null":
        return "masked"
    try:
        if os.path.isfile(path) and os.path.getsize(path) == 0:
            return "masked"
    except OSError:
        pass
    return "unit file"


def ours(path):
    """An empty regular file: the mask this module writes (an admin's /dev/null link is left alone)."""
    return os.path.isfile(path) and not os.path.islink(path) and os.path.getsize(path) == 0


def loaded_modules(sysfs, names):
    """The given kernel modules that are loaded (or built in with a /sys/module entry)."""
    return [n for n in names if os.path.isdir(os.path.join(sysfs, "module", n))]


def obexd_processes(proc):
    """PIDs of running obexd processes (a user's session keeps one until logout)."""
    pids = []
    try:
        names = os.listdir(proc)
    except OSError:
        return pids
    for pid in names:
        if not pid.isdigit():
            continue
        try:
            with open(os.path.join(proc, pid, "comm")) as fh:
                if fh.read().strip() == "obexd":
                    pids.append(int(pid))
        except (IOError, OSError):
            continue
    return sorted(pids)


def _mmc_disks(sysfs):
    try:
        return sorted(d for d in os.listdir(os.path.join(sysfs, "block")) if d.startswith("mmcblk"))
    except OSError:
        return []


def mmc_in_use(sysfs, proc):
    """What the host itself runs from an SD/MMC device (mounts, swap, device-mapper/md members).

    Blocking mmc_block there would leave the host unbootable once the initramfs holds the drop-in.
    """
    disks = _mmc_disks(sysfs)
    if not disks:
        return []
    names = set(disks)
    for d in disks:
        try:
            names.update(p for p in os.listdir(os.path.join(sysfs, "block", d)) if p.startswith(d + "p"))
        except OSError:
            pass
    used = []
    for table in ("mounts", "swaps"):
        try:
            with open(os.path.join(proc, table)) as fh:
                lines = fh.read().splitlines()
        except (IOError, OSError):
            continue
        for line in lines:
            fields = line.split()
            if fields and fields[0].startswith("/dev/") and fields[0][5:] in names:
                where = fields[1] if table == "mounts" and len(fields) > 1 else "swap"
                used.append("%s (%s)" % (fields[0], where))
    try:
        holders = sorted(os.listdir(os.path.join(sysfs, "block")))
    except OSError:
        holders = []
    for h in holders:
        try:
            slaves = os.listdir(os.path.join(sysfs, "block", h, "slaves"))
        except OSError:
            continue
        for s in slaves:
            if s in names:
                used.append("%s (member of %s)" % (s, h))
    return used


def external_pci_storage(sysfs):
    """PCI storage controllers (class 01xxxx) behind an external-facing port (removable)."""
    base = os.path.join(sysfs, "bus", "pci", "devices")
    try:
        devs = sorted(os.listdir(base))
    except OSError:
        return []
    out = []
    for d in devs:
        try:
            with open(os.path.join(base, d, "removable")) as fh:
                removable = fh.read().strip()
            with open(os.path.join(base, d, "class")) as fh:
                cls = fh.read().strip()
        except (IOError, OSError):
            continue
        if removable == "removable" and cls.lower().startswith("0x01"):
            out.append(d)
    return out
