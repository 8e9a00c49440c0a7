# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The clause 6-17 device-class matrix: the one source of what each mode does per device class.

The usbguard rules (usbguard.py), the module's per-class finding (usbguard_policy) and the docs
table (tools/catalog_docs.py -> docs/device_classes.md) are all built from CLASSES. Pure data and
small helpers, no Ansible imports: it ships to the endpoint with the module.

A USB device is judged by ALL its interfaces: the always-allowed rule is
``allow with-interface match-all { ... }``, so a "keyboard" that also has a storage interface
matches no allow rule and falls to ImplicitPolicyTarget=block.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

# usbguard interface patterns (class:subclass:protocol) of the classes every mode allows.
ALWAYS_ALLOWED = ("03:*:*", "09:00:*", "0b:*:*")
AUDIO = ("01:*:*",)
# CDC-ACM serial: the communications interface (protocols 00-06: none, AT commands) and its data
# interface. Not 02:02:ff: RNDIS (USB tethering) presents itself as CDC-ACM with the vendor protocol.
SERIAL_PROTOCOLS = tuple("02:02:%02x" % n for n in range(7))
SERIAL = SERIAL_PROTOCOLS + ("0a:*:*",)  # noqa: RUF005 (module_utils keep old-Python syntax)

BLOCKED = "blocked (no allow rule; usbguard ImplicitPolicyTarget=block)"
REGISTERED = "blocked unless registered (allow rule per register entry: VID:PID + serial or hash)"
AUDIT = "allowed; reported (what agency_issued_only would block)"

CLASSES = [
    {
        "key": "mass_storage",
        "name": "USB mass storage (sticks, disks, card readers)",
        "match": "interface 08:*:*",
        "prohibit": BLOCKED + "; usb-storage/uas cannot load",
        "agency_issued_only": REGISTERED,
        "audit_only": AUDIT,
        "switch": "usb_storage_mode, usb_storage_devices",
        "mechanism": "usbguard rule; modprobe drop-in (prohibit)",
        "finding": "6-17.connected_devices, 6-17.storage_driver_disabled",
        "proof": "VM: tests/vm/test_usb_storage.py (usb-storage hot-plug)",
        "patterns": ("08:*:*",),
    },
    {
        "key": "optical",
        "name": "Optical drives (USB)",
        "match": "interface 08:02:* / 08:05:*",
        "prohibit": BLOCKED,
        "agency_issued_only": "blocked; registered kind=optical only with usb_storage_block_optical=false",
        "audit_only": AUDIT,
        "switch": "usb_storage_block_optical",
        "mechanism": "usbguard rule",
        "finding": "6-17.device_register, 6-17.connected_devices",
        "proof": "unit: rendered rules (tests/unit/module_utils/usb/test_usbguard.py)",
        "patterns": ("08:02:*", "08:05:*"),
    },
    {
        "key": "mtp_ptp",
        "name": "Smartphones: MTP / PTP",
        "match": "interface 06:01:01, ff:ff:00",
        "prohibit": BLOCKED,
        "agency_issued_only": REGISTERED + "; all MTP/PTP-only devices with usb_storage_block_smartphones=false",
        "audit_only": AUDIT,
        "switch": "usb_storage_block_smartphones",
        "mechanism": "usbguard rule",
        "finding": "6-17.smartphone_blocked",
        "proof": "VM: tests/vm/test_usb_storage.py (usb-mtp)",
        "patterns": ("06:01:01", "ff:ff:00"),
    },
    {
        "key": "phone_network",
        "name": "Smartphones: USB tethering (RNDIS, CDC-ECM, CDC-NCM)",
        "match": "interface e0:01:03, 02:02:ff (RNDIS), 02:06:*, 02:0d:*",
        "prohibit": BLOCKED,
        "agency_issued_only": REGISTERED + " (a registered phone is allowed with all its functions)",
        "audit_only": AUDIT,
        "switch": "usb_storage_mode, usb_storage_devices",
        "mechanism": "usbguard rule",
        "finding": "6-17.device_classes",
        "proof": "VM: tests/vm/test_usb_classes.py (usb-net: no network interface while blocked)",
        "patterns": ("e0:01:03", "02:02:ff", "02:06:*", "02:0d:*"),
    },
    {
        "key": "vendor_specific",
        "name": "Vendor-specific interfaces (ADB, vendor serial chips)",
        "match": "interface ff:*:*",
        "prohibit": BLOCKED,
        "agency_issued_only": REGISTERED,
        "audit_only": AUDIT,
        "switch": "usb_storage_mode, usb_storage_devices",
        "mechanism": "usbguard rule",
        "finding": "6-17.device_classes",
        "proof": "VM: tests/vm/test_usb_classes.py (usb-serial, an FTDI ff:ff:ff chip, stays blocked)",
        "patterns": ("ff:*:*",),
    },
    {
        "key": "hid",
        "name": "Keyboards and mice (HID)",
        "match": "interface 03:*:* (every interface of the device)",
        "prohibit": "allowed",
        "agency_issued_only": "allowed",
        "audit_only": "allowed",
        "switch": "none (always allowed)",
        "mechanism": "usbguard rule (with-interface match-all)",
        "finding": "6-17.usbguard_rules",
        "proof": "VM: tests/vm/test_usb_storage.py, test_usb_classes.py (usb-kbd, every mode)",
        "patterns": ("03:*:*",),
    },
    {
        "key": "hub",
        "name": "Hubs",
        "match": "interface 09:00:*",
        "prohibit": "allowed",
        "agency_issued_only": "allowed",
        "audit_only": "allowed",
        "switch": "none (always allowed)",
        "mechanism": "usbguard rule (with-interface match-all)",
        "finding": "6-17.usbguard_rules",
        "proof": "VM: root hubs stay authorized",
        "patterns": ("09:00:*",),
    },
    {
        "key": "smartcard",
        "name": "Smartcard readers (CCID, IC-card login)",
        "match": "interface 0b:*:*",
        "prohibit": "allowed",
        "agency_issued_only": "allowed",
        "audit_only": "allowed",
        "switch": "none (always allowed)",
        "mechanism": "usbguard rule (with-interface match-all)",
        "finding": "6-17.usbguard_rules",
        "proof": "VM: tests/vm/test_usb_classes.py (usb-ccid authorized in every mode); unit: usbguard-rule-parser",
        "patterns": ("0b:*:*",),
    },
    {
        "key": "audio",
        "name": "Audio (headsets, microphones)",
        "match": "interface 01:*:*",
        "prohibit": "blocked; allowed with usb_storage_allow_audio=true",
        "agency_issued_only": "blocked; allowed with usb_storage_allow_audio=true",
        "audit_only": "allowed",
        "switch": "usb_storage_allow_audio (default false)",
        "mechanism": "usbguard rule (with-interface match-all)",
        "finding": "6-17.device_classes",
        "proof": "VM: tests/vm/test_usb_classes.py (usb-audio follows the switch)",
        "patterns": AUDIO,
    },
    {
        "key": "serial",
        "name": "Serial adapters (CDC-ACM)",
        "match": "interface 02:02:00-06 + 0a:*:* (not 02:02:ff, RNDIS)",
        "prohibit": "blocked; allowed with usb_storage_allow_serial=true",
        "agency_issued_only": "blocked; allowed with usb_storage_allow_serial=true",
        "audit_only": "allowed",
        "switch": "usb_storage_allow_serial (default false); vendor chips (ff) as vendor-specific",
        "mechanism": "usbguard rule (with-interface match-all)",
        "finding": "6-17.device_classes",
        "proof": "unit: rendered rules (QEMU's usb-serial is FTDI, not CDC-ACM)",
        "patterns": SERIAL_PROTOCOLS,
    },
    {
        "key": "sd_mmc",
        "name": "Internal SD/MMC card readers (PCI SDHCI, mmc_block)",
        "match": "/sys/class/mmc_host/*; cards /sys/block/mmcblk*",
        "prohibit": "blocked: mmc_block cannot load (no /dev/mmcblk*); allowed with usb_storage_allow_sd_mmc=true",
        "agency_issued_only": "blocked: mmc_block cannot load; allowed with usb_storage_allow_sd_mmc=true",
        "audit_only": "allowed; reported (fail when an MMC host is present)",
        "switch": "usb_storage_allow_sd_mmc (default false); apply refuses while the host runs from eMMC/SD",
        "mechanism": "modprobe drop-in: install mmc_block /bin/false + blacklist; loaded module unloaded",
        "finding": "6-17.bus_media_blocked, 6-17.device_classes",
        "proof": "VM: tests/vm/test_usb_buses.py (sdhci-pci + sd-card from boot: no /dev/mmcblk0 when blocked, "
        "the card readable with the switch); unit: rendered drop-in, eMMC/SD refusal",
        "sysfs": "/sys/class/mmc_host",
    },
    {
        "key": "thunderbolt",
        "name": "Thunderbolt / USB4 (PCIe tunnels, hot-plug NVMe enclosures)",
        "match": "/sys/bus/thunderbolt/devices/domain*/security; PCI storage with removable=removable",
        "prohibit": "blocked: thunderbolt driver cannot load, no device is authorized; allowed with "
        "usb_storage_allow_thunderbolt=true; fail when the firmware level is none",
        "agency_issued_only": "blocked: thunderbolt driver cannot load; allowed with "
        "usb_storage_allow_thunderbolt=true",
        "audit_only": "allowed; reported (fail on security level none or external PCI storage)",
        "switch": "usb_storage_allow_thunderbolt (default false); firmware security level none is a BIOS setting",
        "mechanism": "modprobe drop-in: install thunderbolt /bin/false + blacklist (no OS authorization of PCIe "
        "tunnels; a udev authorized=0 rule races boltd, a boltd policy binds only boltd)",
        "finding": "6-17.bus_media_blocked, 6-17.device_classes",
        "proof": "unit: rendered drop-in, fake sysfs (QEMU has no Thunderbolt); VM: the real modprobe refuses the "
        "driver. A QEMU nvme hot-plugs but looks internal (no external-facing port): not a proof of this row",
        "sysfs": "/sys/bus/thunderbolt/devices",
    },
    {
        "key": "firewire",
        "name": "FireWire (SBP-2 storage, OHCI DMA)",
        "match": "/sys/bus/firewire/devices/fw*",
        "prohibit": "blocked: firewire_sbp2 and firewire_ohci cannot load; allowed with "
        "usb_storage_allow_firewire=true",
        "agency_issued_only": "blocked: firewire_sbp2 and firewire_ohci cannot load; allowed with "
        "usb_storage_allow_firewire=true",
        "audit_only": "allowed; reported (fail when a FireWire controller is present)",
        "switch": "usb_storage_allow_firewire (default false)",
        "mechanism": "modprobe drop-in: install firewire_sbp2 / firewire_ohci /bin/false + blacklist",
        "finding": "6-17.bus_media_blocked, 6-17.device_classes",
        "proof": "unit: rendered drop-in, fake sysfs (QEMU emulates no FireWire); VM: the real modprobe refuses both",
        "sysfs": "/sys/bus/firewire/devices",
    },
    {
        "key": "bluetooth",
        "name": "Bluetooth file transfer (OBEX push/FTP); USB Bluetooth adapters",
        "match": "/sys/class/bluetooth/hci*; USB interface e0:01:01",
        "prohibit": "blocked: obex.service masked for every user; USB adapters have no allow rule; OBEX allowed with "
        "usb_storage_allow_bluetooth_transfer=true",
        "agency_issued_only": "blocked: obex.service masked; USB adapters blocked unless registered; OBEX allowed with "
        "usb_storage_allow_bluetooth_transfer=true",
        "audit_only": "allowed; reported (fail when an adapter is present)",
        "switch": "usb_storage_allow_bluetooth_transfer (default false); register a USB adapter to use Bluetooth",
        "mechanism": "empty unit files /etc/systemd/user/obex.service and dbus-org.bluez.obex.service (masked: "
        "obexd offers no OBEX service); usbguard rule (USB adapters)",
        "finding": "6-17.bus_media_blocked, 6-17.device_classes",
        "proof": "unit: mask files, fake sysfs/proc (QEMU emulates no Bluetooth); molecule and VM: systemd reads "
        "obex.service as masked",
        "sysfs": "/sys/class/bluetooth",
        "patterns": ("e0:01:01",),
    },
]
MODES = ("prohibit", "agency_issued_only", "audit_only")
BY_KEY = dict((c["key"], c) for c in CLASSES)


def allowed_patterns(allow_audio=False, allow_serial=False):
    """Interface patterns of the always-allowed rule (match-all: every interface must be one)."""
    out = list(ALWAYS_ALLOWED)
    if allow_audio:
        out.extend(AUDIO)
    if allow_serial:
        out.extend(SERIAL)
    return tuple(out)


def _match(pattern, iface):
    pp, vv = pattern.lower().split(":"), str(iface).lower().split(":")
    return len(pp) == len(vv) and all(p == "*" or p == v for p, v in zip(pp, vv))  # noqa: B905


def usb_classes(interfaces):
    """Matrix keys of a USB device's interfaces (all of them: one device can be several classes)."""
    keys = []
    for c in CLASSES:
        pats = c.get("patterns") or ()
        if any(_match(p, i) for p in pats for i in interfaces or ()) and c["key"] not in keys:
            keys.append(c["key"])
    return keys


def _entries(path):
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def _read(path):
    try:
        with open(path) as fh:
            return fh.read().strip()
    except (IOError, OSError):
        return None


def other_buses(sysfs="/sys", enforced=None, external_storage=None):
    """What the non-USB rows find on this host: {key: {present, evidence, open}}.

    ``open`` is true when the class is present and nothing of this collection blocks it.
    ``enforced`` maps a bus key to True when its block is in effect on the host (drop-in or mask
    in place, the driver not loaded, no obexd running); ``external_storage`` lists PCI storage
    controllers behind an external-facing port (Thunderbolt tunnels, open whatever the driver).
    """
    enforced = enforced or {}

    def under(path):
        return os.path.join(sysfs, path.lstrip("/").split("/", 1)[1]) if path.startswith("/sys/") else path

    out = {}
    mmc = _entries(under("/sys/class/mmc_host"))
    out["sd_mmc"] = {"present": bool(mmc), "open": bool(mmc) and not enforced.get("sd_mmc"), "evidence": mmc}
    tb_dir = under("/sys/bus/thunderbolt/devices")
    domains = dict((d, _read(os.path.join(tb_dir, d, "security"))) for d in _entries(tb_dir) if d.startswith("domain"))
    ext = list(external_storage or [])
    out["thunderbolt"] = {
        "present": bool(domains) or bool(ext),
        "open": any(level in (None, "none") for level in domains.values()) or bool(ext),
        "evidence": dict(domains, external_pci_storage=ext) if ext else domains,
    }
    fw = [d for d in _entries(under("/sys/bus/firewire/devices")) if d.startswith("fw")]
    out["firewire"] = {"present": bool(fw), "open": bool(fw) and not enforced.get("firewire"), "evidence": fw}
    bt = [d for d in _entries(under("/sys/class/bluetooth")) if d.startswith("hci")]
    out["bluetooth"] = {"present": bool(bt), "open": bool(bt) and not enforced.get("bluetooth"), "evidence": bt}
    return out


def markdown_table():
    """The matrix as a Markdown table (docs/device_classes.md, generated)."""
    cols = ["name", "match", "prohibit", "agency_issued_only", "audit_only", "switch", "mechanism", "finding", "proof"]
    heads = ["Class", "Matched by", "prohibit", "agency_issued_only", "audit_only", "Switch", "Mechanism", "Finding"]
    heads.append("Proof")
    lines = ["| %s |" % " | ".join(heads), "|%s" % ("---|" * len(heads))]
    for c in CLASSES:
        lines.append("| %s |" % " | ".join(str(c[k]).replace("|", "\\|") for k in cols))
    return "\n".join(lines) + "\n"
