# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Clause 6-17 on Windows: plan the device-class matrix for a USB storage mode and the register.

Runs on the controller only (Windows endpoints run PowerShell, not Python). Steps:

``plan(mode, register, today, ...)``
    the desired state: every registry value and list key the collection manages under
    ``RemovableStorageDevices`` (Removable Storage Access) and ``DeviceInstall\\Restrictions``
    (Device Installation Restrictions), in every mode (values a mode does not want are planned
    ``absent``, so switching modes cleans up), plus the audit subcategories (by GUID). One row
    of ``CLASS_MATRIX`` per device class says what each mode does and by which mechanism.

``diff(plan, reads, boot_time)``
    compares the plan with what ``ansible.windows.win_reg_stat`` read and returns the
    ``ansible.windows.win_regedit`` calls that close the gap (none when the host matches),
    the USBSTOR/UASPStor ``Start`` changes (only values this role set are ever restored), and
    the restart bookkeeping: a policy written in this boot is ``pending_restart``.

How a USB stick is gated in ``agency_issued_only`` (Microsoft's "Manage Device Installation
with Group Policy", Scenario #5: allow one authorized USB thumb drive, prevent the rest):
with ``AllowDenyLayered`` the order is device instance ID > device ID > setup class >
removable device. ``DenyDeviceIDs`` holds ``USBSTOR\\Disk`` (the compatible ID of every USB
mass-storage disk node), applied retroactively; ``AllowInstanceIDs`` holds the registered
stick's ``USBSTOR\\DISK&VEN_..&PROD_..&REV_..\\<serial>&0`` instance ID, which outranks it. An
unregistered stick's USB node installs (setup class USB stays allowed: hubs and composite
parents of keyboards live there) but its disk node is refused, so no volume appears. The
USBSTOR ID is derived from the register serial and the stick's SCSI inquiry strings
(vendor, product, revision, captured at enrolment in ``usb_storage_windows_instance_ids``), or
given verbatim there; a registered stick without one is refused like an unregistered stick
and the register finding says so.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.pii_guard.safeguards.plugins.module_utils.common.findings import compliance, finding

# One PlanError for both Windows planners (the restart bookkeeping is shared).
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.windows.admin import (
    PENDING_KEY,
    PlanError,
    pending_restart,
)
from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb.register import (
    RegisterError,
    applies_to,
    jsonable,
    validate_register,
)

MODES = ("prohibit", "agency_issued_only", "audit_only")

RSD = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\RemovableStorageDevices"
DIR = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\DeviceInstall\\Restrictions"
SERVICES = "HKLM:\\SYSTEM\\CurrentControlSet\\Services"
# Where this role records the Start value it found before it disabled a storage driver, so
# that leaving prohibit restores exactly that and never re-enables what other hardening set.
SERVICE_RECORD = "HKLM:\\SOFTWARE\\pii_guard\\safeguards\\ServiceStart"
# Read-only: the MDM Policy CSP Bluetooth/ServicesAllowedList as the PolicyManager stores it.
BLUETOOTH_POLICY = "HKLM:\\SOFTWARE\\Microsoft\\PolicyManager\\current\\device\\Bluetooth"
OBEX_UUIDS = (
    "{00001105-0000-1000-8000-00805F9B34FB}",  # OBEX Object Push
    "{00001106-0000-1000-8000-00805F9B34FB}",  # OBEX File Transfer
)

# Removable Storage Access classes (Group Policy "Removable Storage Access").
CLASS_REMOVABLE_DISK = "{53f5630d-b6bf-11d0-94f2-00a0c91efb8b}"
CLASS_CD_DVD = "{53f56308-b6bf-11d0-94f2-00a0c91efb8b}"
# Both WPD keys (phones, cameras, media players over MTP/PTP).
CLASS_WPD = ("{6AC27878-A6FA-4155-BA85-F98F491D4F33}", "{F33FDC04-D1AC-4E8E-9A30-19BBD4B108AE}")

# Device setup classes ("System-defined device setup classes available to vendors").
SETUP = {
    "DiskDrive": "{4d36e967-e325-11ce-bfc1-08002be10318}",
    "CDROM": "{4d36e965-e325-11ce-bfc1-08002be10318}",
    "WPD": "{eec5ad98-8080-425f-922a-dabf3de3f69a}",
    "SDHost": "{a0a588a4-c46f-4b37-b7ea-c82fe89870c6}",
    "1394": "{6bdd1fc1-810f-11d0-bec7-08002be2092f}",
    "SmartCardReader": "{50dd5230-ba8a-11d1-bf5d-0000f805f530}",
    "SmartCard": "{990a2bd7-e738-46c7-b26f-1cf8fb9f1391}",
    "HIDClass": "{745a17a0-74d3-11d0-b6fe-00a0c90f57da}",
    "Keyboard": "{4d36e96b-e325-11ce-bfc1-08002be10318}",
    "Mouse": "{4d36e96f-e325-11ce-bfc1-08002be10318}",
    "USB": "{36fc9e60-c465-11cf-8056-444553540000}",
    "MEDIA": "{4d36e96c-e325-11ce-bfc1-08002be10318}",
    "Ports": "{4d36e978-e325-11ce-bfc1-08002be10318}",
    "Bluetooth": "{e0cbf06c-cd8b-4647-bb8a-263b43f0f974}",
    "Net": "{4d36e972-e325-11ce-bfc1-08002be10318}",
}
# Device setup classes that stay installable under DenyRemovableDevices: keyboards, mice, hubs
# (DESIGN.md safety rule) and smartcard readers (agencies log in with IC cards).
INPUT_AND_HUB_CLASSES = tuple(SETUP[c] for c in ("HIDClass", "Keyboard", "Mouse", "USB"))
SMARTCARD_CLASSES = (SETUP["SmartCardReader"], SETUP["SmartCard"])
# Classes that record or transfer files: never accepted in usb_storage_windows_approved_classes.
RECORDING_CLASSES = tuple(SETUP[c] for c in ("DiskDrive", "CDROM", "WPD", "SDHost", "1394"))

# Compatible IDs (USB class codes as Windows forms them; matching is case-insensitive).
ID_USBSTOR_DISK = "USBSTOR\\Disk"  # every USB mass-storage disk node (sticks, card readers)
PHONE_NETWORK_IDS = (
    "USB\\Class_E0&SubClass_01&Prot_03",  # RNDIS (Android tethering)
    "USB\\MS_COMP_RNDIS",  # RNDIS announced by Microsoft OS descriptors
    "USB\\Class_02&SubClass_06",  # CDC-ECM
    "USB\\Class_02&SubClass_0D",  # CDC-NCM
)
ADB_IDS = ("USB\\Class_FF&SubClass_42&Prot_01",)  # Android Debug Bridge interface

# The Windows rows of the device-class matrix (issue 14). ``deny`` says when the class is
# blocked: "always" (prohibit and agency_issued_only), a switch name, or "never". ``how`` is
# the mechanism; ``retroactive`` whether Microsoft offers to apply it to devices already
# installed ("Also apply to matching devices that are already installed").
CLASS_MATRIX = (
    {
        "key": "usb_mass_storage",
        "label": "USB mass storage (sticks, USB disks, USB card readers)",
        "setup_classes": ["DiskDrive"],
        "deny": "always",
        "how": "DenyDeviceIDs USBSTOR\\Disk (retroactive) + DenyRemovableDevices + RSD removable disks "
        "(prohibit) + USBSTOR/UASPStor Start=4 (prohibit); registered sticks: AllowInstanceIDs USBSTOR ID",
        "retroactive": True,
    },
    {
        "key": "uasp_disks",
        "label": "USB disks attached over UASP (SCSI\\Disk node, shared with internal disks)",
        "setup_classes": ["DiskDrive"],
        "deny": "always",
        "how": "DenyRemovableDevices + RSD removable disks (prohibit) + UASPStor Start=4 (prohibit)",
        "retroactive": False,
    },
    {
        "key": "optical",
        "label": "CD/DVD/BD drives",
        "setup_classes": ["CDROM"],
        "deny": "usb_storage_block_optical",
        "how": "DenyDeviceClasses CDROM (retroactive) + RSD CD/DVD Deny_Read/Deny_Write",
        "retroactive": True,
    },
    {
        "key": "mtp_ptp",
        "label": "Smartphones, cameras, media players (WPD: MTP/PTP)",
        "setup_classes": ["WPD"],
        "deny": "usb_storage_block_smartphones",
        "how": "DenyDeviceClasses WPD (retroactive) + RSD WPD Deny_Read/Deny_Write while no phone is registered; "
        "registered phones: AllowInstanceIDs",
        "retroactive": True,
    },
    {
        "key": "phone_network",
        "label": "Phone network functions (RNDIS, CDC-ECM, CDC-NCM tethering)",
        "setup_classes": ["Net"],
        "deny": "usb_storage_block_smartphones",
        "how": "DenyDeviceIDs by compatible ID (retroactive)",
        "retroactive": True,
    },
    {
        "key": "vendor_specific",
        "label": "Vendor-specific USB interfaces (class FF): Android Debug Bridge denied; others not",
        "setup_classes": [],
        "deny": "usb_storage_block_smartphones",
        "how": "DenyDeviceIDs USB\\Class_FF&SubClass_42&Prot_01 (ADB, retroactive); other class-FF interfaces "
        "are not blocked by class (too many peripherals use it): reported",
        "retroactive": True,
    },
    {
        "key": "sd_mmc",
        "label": "Internal SD/MMC card readers (SD host controllers)",
        "setup_classes": ["SDHost"],
        "deny": "always",
        "how": "DenyDeviceClasses SDHost (retroactive) + RSD removable disks (prohibit)",
        "retroactive": True,
    },
    {
        "key": "thunderbolt_pcie",
        "label": "Thunderbolt/USB4 and PCIe hot-plug storage",
        "setup_classes": ["DiskDrive"],
        "deny": "always",
        "how": "DenyRemovableDevices (new hot-plugged disks); Kernel DMA Protection is firmware: not set here",
        "retroactive": False,
    },
    {
        "key": "firewire",
        "label": "FireWire (IEEE 1394, SBP-2 storage)",
        "setup_classes": ["1394"],
        "deny": "always",
        "how": "DenyDeviceClasses 1394 host controllers (retroactive)",
        "retroactive": True,
    },
    {
        "key": "bluetooth_obex",
        "label": "Bluetooth file transfer (OBEX) from phones",
        "setup_classes": ["Bluetooth"],
        "deny": "usb_storage_block_smartphones",
        "how": "Policy CSP Bluetooth/ServicesAllowedList without the OBEX UUIDs (MDM; read and reported, "
        "not written: denying the Bluetooth class would drop Bluetooth keyboards)",
        "retroactive": False,
    },
    {
        "key": "smartcard_reader",
        "label": "Smartcard readers (CCID) and smart cards",
        "setup_classes": ["SmartCardReader", "SmartCard"],
        "deny": "never",
        "how": "AllowDeviceClasses SmartCardReader, SmartCard",
        "retroactive": False,
    },
    {
        "key": "hid",
        "label": "Keyboards, mice and other HID",
        "setup_classes": ["HIDClass", "Keyboard", "Mouse"],
        "deny": "never",
        "how": "AllowDeviceClasses HIDClass, Keyboard, Mouse",
        "retroactive": False,
    },
    {
        "key": "hubs",
        "label": "USB hubs, host controllers, composite parents",
        "setup_classes": ["USB"],
        "deny": "never",
        "how": "AllowDeviceClasses USB",
        "retroactive": False,
    },
    {
        "key": "audio",
        "label": "USB audio",
        "setup_classes": ["MEDIA"],
        "deny": "usb_storage_windows_allow_audio: false",
        "how": "allowed: AllowDeviceClasses MEDIA; blocked: new removable audio devices fall to DenyRemovableDevices",
        "retroactive": False,
    },
    {
        "key": "serial",
        "label": "USB serial adapters",
        "setup_classes": ["Ports"],
        "deny": "usb_storage_windows_allow_serial: false",
        "how": "allowed: AllowDeviceClasses Ports; blocked: new removable serial adapters fall to DenyRemovableDevices",
        "retroactive": False,
    },
)

# auditpol subcategory GUIDs: names differ per display language (Japanese Windows).
AUDIT_SUBCATEGORIES = (
    {"guid": "{0CCE9245-69AE-11D9-BED3-505054503030}", "name_en": "Removable Storage"},
    {"guid": "{0CCE9248-69AE-11D9-BED3-505054503030}", "name_en": "Plug and Play Events"},
)
AUDIT_TYPES = ["success", "failure"]

C_STORAGE = "6-17.win_removable_storage_policy"
C_INSTALL = "6-17.win_device_install_restrictions"
C_USBSTOR = "6-17.win_usbstor_disabled"
C_AUDIT = "6-17.win_removable_audit"
C_PHONE = "6-17.smartphone_blocked"
C_REGISTER = "6-17.device_register"
C_CLASSES = "6-17.win_device_classes"
C_PREINSTALLED = "6-17.win_preinstalled_devices"
C_BLUETOOTH = "6-17.win_bluetooth_file_transfer"
CONTROLS = (C_STORAGE, C_PHONE, C_INSTALL, C_USBSTOR, C_AUDIT)
# Policies that take effect after a restart (reported pending_restart until then).
RESTART_CONTROLS = (C_STORAGE, C_PHONE, C_INSTALL, C_USBSTOR)

# win_regedit type -> the REG_* name win_reg_stat reports.
REG_TYPES = {"dword": "REG_DWORD", "string": "REG_SZ"}

GUID_RE = re.compile(r"\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}")
# A device instance ID as this role writes it into AllowInstanceIDs: enumerator\device ID\instance.
INSTANCE_ID_RE = re.compile(r"[A-Za-z0-9]+(\\[A-Za-z0-9_&.\-{}#]+){2}")
# SCSI inquiry strings (vendor 8, product 16, revision 4 characters) as sysfs shows them.
INQUIRY = {"vendor": 8, "product": 16, "revision": 4}
INQUIRY_RE = re.compile(r"[A-Za-z0-9 ._\-]+")


def _value(control, path, name, data, vtype="dword"):
    return {"control": control, "path": path, "name": name, "type": vtype, "data": data, "state": "present"}


def _absent(control, path, name):
    return {"control": control, "path": path, "name": name, "state": "absent"}


def _set_or_absent(control, path, name, data, wanted):
    return _value(control, path, name, data) if wanted else _absent(control, path, name)


def _hex4(text):
    return text.upper()


def _inquiry_field(text):
    """Windows' form of one inquiry string in a USBSTOR ID: trimmed, blanks as '_', upper case."""
    return re.sub(r" +", "_", text.strip()).upper()


def usbstor_instance_id(inquiry, serial):
    """``USBSTOR\\DISK&VEN_<v>&PROD_<p>&REV_<r>\\<serial>&0`` (the disk node of LUN 0)."""
    return "USBSTOR\\DISK&VEN_%s&PROD_%s&REV_%s\\%s&0" % (
        _inquiry_field(inquiry["vendor"]),
        _inquiry_field(inquiry["product"]),
        _inquiry_field(inquiry["revision"]),
        serial.upper(),
    )


def instance_ids(entries, extra_ids=None):
    """Map active register entries to (instance_ids, device_ids, warnings, gated).

    ``gated`` maps each label to the IDs that let it in; a storage entry without a USBSTOR ID
    is refused on Windows like an unregistered stick, and a warning says so.
    """
    extra_ids = extra_ids or {}
    inst, dev, warnings, gated = [], [], [], {}
    for e in entries:
        vid, pid = e["id"].split(":")
        mine = []
        usb_node = None
        if e.get("serial"):
            usb_node = "USB\\VID_%s&PID_%s\\%s" % (_hex4(vid), _hex4(pid), e["serial"])
            if not INSTANCE_ID_RE.fullmatch(usb_node):
                warnings.append(
                    "%s (%s): serial %r has characters Windows does not keep in an instance ID; "
                    "give its instance IDs in usb_storage_windows_instance_ids" % (e["label"], e["id"], e["serial"])
                )
                usb_node = None
        elif e.get("hash"):
            warnings.append(
                "%s (%s): registered by usbguard hash only; Windows has no equivalent, not allowed on Windows"
                % (e["label"], e["id"])
            )
        else:
            dev.append("USB\\VID_%s&PID_%s" % (_hex4(vid), _hex4(pid)))
        for x in extra_ids.get(e["label"], []):
            if isinstance(x, dict):
                if not e.get("serial") or usb_node is None:
                    warnings.append(
                        "%s: inquiry strings need a usable register serial to form a USBSTOR ID" % e["label"]
                    )
                    continue
                mine.append(usbstor_instance_id(x, e["serial"]))
            else:
                mine.append(x)
        if e["kind"] == "smartphone" and usb_node:
            # A non-composite MTP phone's WPD node is its USB node.
            mine.insert(0, usb_node)
        if e["kind"] in ("storage", "optical") and not any(i.upper().startswith("USBSTOR\\") for i in mine):
            if e.get("serial") or e.get("hash"):
                warnings.append(
                    "%s (%s): no USBSTOR instance ID (inquiry strings or ID in usb_storage_windows_instance_ids): "
                    "Windows refuses its disk node like an unregistered stick" % (e["label"], e["id"])
                )
        inst.extend(mine)
        gated[e["label"]] = mine
    # Stable order, no duplicates: the list key is compared value by value.
    return _unique(inst), _unique(dev), warnings, gated


def _unique(items):
    seen, out = set(), []
    for i in items:
        if i.upper() not in seen:
            seen.add(i.upper())
            out.append(i)
    return out


def _check_extra_ids(extra_ids, all_labels):
    if extra_ids is None:
        return {}
    if not isinstance(extra_ids, dict):
        raise PlanError(
            "usb_storage_windows_instance_ids must be a mapping label -> [instance IDs], got %r" % (extra_ids,)
        )
    for label, ids in extra_ids.items():
        var = "usb_storage_windows_instance_ids[%r]" % (label,)
        if label not in all_labels:
            raise PlanError(
                "usb_storage_windows_instance_ids: label %r is not in usb_storage_devices (known: %s)"
                % (label, ", ".join(sorted(all_labels)) or "none")
            )
        if isinstance(ids, str) or not isinstance(ids, (list, tuple)) or not ids:
            raise PlanError("%s: %r must be a non-empty list" % (var, ids))
        for i in ids:
            if isinstance(i, dict):
                if sorted(i) != sorted(INQUIRY):
                    raise PlanError(
                        "%s: %r must have exactly the keys vendor, product, revision (SCSI inquiry strings)" % (var, i)
                    )
                for k, width in INQUIRY.items():
                    v = i[k]
                    if not isinstance(v, str) or not INQUIRY_RE.fullmatch(v) or not v.strip() or len(v) > width:
                        raise PlanError(
                            "%s: %s %r is not a SCSI inquiry string (1-%d of A-Z a-z 0-9 space . _ -)"
                            % (var, k, v, width)
                        )
                continue
            if not isinstance(i, str) or not INSTANCE_ID_RE.fullmatch(i):
                raise PlanError(
                    "%s: %r is not a device instance ID "
                    "(e.g. 'USBSTOR\\DISK&VEN_X&PROD_Y&REV_1.00\\SERIAL&0'; letters, digits, _ & . - { } # only)"
                    % (var, i)
                )
    return dict(extra_ids)


def _check_classes(approved_classes):
    if approved_classes is None:
        return []
    if isinstance(approved_classes, str) or not isinstance(approved_classes, (list, tuple)):
        raise PlanError(
            "usb_storage_windows_approved_classes must be a list of setup class GUIDs, got %r" % (approved_classes,)
        )
    out = []
    for i, g in enumerate(approved_classes):
        var = "usb_storage_windows_approved_classes[%d]" % i
        if not isinstance(g, str) or not GUID_RE.fullmatch(g):
            raise PlanError("%s: %r is not a setup class GUID like '{4d36e96c-e325-11ce-bfc1-08002be10318}'" % (var, g))
        if g.lower() in RECORDING_CLASSES:
            raise PlanError(
                "%s: %r is a class of devices that record or transfer files (%s); it cannot be approved"
                % (var, g, next(k for k, v in SETUP.items() if v == g.lower()))
            )
        out.append(g.lower())
    return out


def _bool(var, val):
    if not isinstance(val, bool):
        raise PlanError("%s must be true or false, got %r" % (var, val))
    return val


# Over 60 lines only through its eleven keyword options and the plan document it returns; the body is short steps.
def plan(
    mode,
    devices,
    today,
    host_groups=None,
    block_smartphones=True,
    block_optical=True,
    allow_model_wide=False,
    extra_instance_ids=None,
    allow_audio=True,
    allow_serial=True,
    approved_classes=None,
):
    """Return the desired Windows state for ``mode`` and the register ``devices``.

    Raises PlanError (bad mode, bad extra IDs, bad switches) or RegisterError (bad register)
    before anything is read or written on a host.
    """
    if mode not in MODES:
        raise PlanError("usb_storage_mode %r is not one of %s" % (mode, ", ".join(MODES)))
    switches = _switches(block_smartphones, block_optical, allow_audio, allow_serial)
    approved = _check_classes(approved_classes)
    reg = validate_register(devices, today, allow_model_wide=allow_model_wide)
    labels = set(str(d.get("label")) for d in (devices or []) if isinstance(d, dict))
    extra = _check_extra_ids(extra_instance_ids, labels)
    active = [e for e in reg.active if applies_to(e, host_groups)]
    not_here = [e for e in reg.active if not applies_to(e, host_groups)]
    inst, dev, warnings, gated = instance_ids(active, extra)
    warnings = list(reg.warnings) + warnings

    prohibit = mode == "prohibit"
    agency = mode == "agency_issued_only"
    enforce = prohibit or agency
    registered = dict(
        (kind, agency and any(e["kind"] == kind and gated.get(e["label"]) for e in active))
        for kind in ("smartphone", "optical")
    )
    rows = _class_rows(prohibit, enforce, switches)
    deny_classes, deny_ids, allow_classes = _device_lists(rows, enforce, approved)
    allow_inst = inst if agency else []
    allow_dev = dev if agency else []
    values = _storage_values(rows, prohibit, registered)
    values += _install_values(enforce, agency, allow_classes, deny_classes, deny_ids, allow_inst, allow_dev)
    lists = _install_lists(allow_inst, allow_dev, allow_classes, deny_classes, deny_ids)
    services = [{"name": svc, "path": SERVICES + "\\" + svc, "disable": prohibit} for svc in ("USBSTOR", "UASPStor")]
    return {
        "mode": mode,
        "values": values,
        "lists": lists,
        "services": services,
        "matrix": [rows[r["key"]] for r in CLASS_MATRIX],
        "block_bluetooth_obex": rows["bluetooth_obex"]["blocked"],
        "audit": [dict(s, audit_type=list(AUDIT_TYPES)) for s in AUDIT_SUBCATEGORIES],
        "read_keys": _read_keys(values, lists, services),
        "register": {
            "active": [jsonable(e) for e in active],
            "not_for_this_host": [e["label"] for e in not_here],
            "inactive": [jsonable(e) for e in reg.inactive],
            "warnings": warnings,
            "gated": gated,
        },
        "instance_ids": allow_inst,
        "device_ids": allow_dev,
        "deny_classes": deny_classes,
        "deny_ids": deny_ids,
        "allow_classes": allow_classes,
    }


def _install_lists(allow_inst, allow_dev, allow_classes, deny_classes, deny_ids):
    """The list keys of Device Installation Restrictions (None: the key is absent)."""
    return [
        {"control": C_INSTALL, "path": DIR + "\\AllowInstanceIDs", "items": allow_inst or None},
        {"control": C_INSTALL, "path": DIR + "\\AllowDeviceIDs", "items": allow_dev or None},
        {"control": C_INSTALL, "path": DIR + "\\AllowDeviceClasses", "items": allow_classes or None},
        {"control": C_INSTALL, "path": DIR + "\\DenyDeviceClasses", "items": deny_classes or None},
        {"control": C_INSTALL, "path": DIR + "\\DenyDeviceIDs", "items": deny_ids or None},
    ]


def _read_keys(values, lists, services):
    """Every registry key the role reads before diffing, each once."""
    return _unique(
        [v["path"] for v in values]
        + [lst["path"] for lst in lists]
        + [s["path"] for s in services]
        + [SERVICE_RECORD, PENDING_KEY, BLUETOOTH_POLICY]
    )


def _switches(block_smartphones, block_optical, allow_audio, allow_serial):
    """The class matrix's ``deny`` switches, keyed as CLASS_MATRIX names them (True = deny)."""
    return {
        "usb_storage_block_smartphones": _bool("usb_storage_block_smartphones", block_smartphones),
        "usb_storage_block_optical": _bool("usb_storage_block_optical", block_optical),
        "usb_storage_windows_allow_audio: false": not _bool("usb_storage_windows_allow_audio", allow_audio),
        "usb_storage_windows_allow_serial: false": not _bool("usb_storage_windows_allow_serial", allow_serial),
    }


def _class_rows(prohibit, enforce, switches):
    """CLASS_MATRIX rows by key, each with ``blocked`` for this mode and these switches."""

    def blocked(row):
        if not enforce or row["deny"] == "never":
            return False
        if row["deny"] == "always" or (prohibit and row["deny"].startswith("usb_storage_block")):
            return True
        return switches[row["deny"]]

    return dict((r["key"], dict(r, blocked=blocked(r))) for r in CLASS_MATRIX)


def _device_lists(rows, enforce, approved):
    """Device-installation lists: ``(deny_classes, deny_ids, allow_classes)``."""
    deny_classes = []
    for key in ("optical", "mtp_ptp", "sd_mmc", "firewire"):
        if rows[key]["blocked"]:
            deny_classes.extend(SETUP[c] for c in rows[key]["setup_classes"])
    deny_ids = []
    if rows["usb_mass_storage"]["blocked"]:
        deny_ids.append(ID_USBSTOR_DISK)
    if rows["phone_network"]["blocked"]:
        deny_ids.extend(PHONE_NETWORK_IDS)
    if rows["vendor_specific"]["blocked"]:
        deny_ids.extend(ADB_IDS)
    allow_classes = []
    if enforce:
        allow_classes = list(INPUT_AND_HUB_CLASSES) + list(SMARTCARD_CLASSES)
        if not rows["audio"]["blocked"]:
            allow_classes.append(SETUP["MEDIA"])
        if not rows["serial"]["blocked"]:
            allow_classes.append(SETUP["Ports"])
        allow_classes.extend(approved)
    return deny_classes, deny_ids, _unique(allow_classes)


def _storage_values(rows, prohibit, registered):
    """Removable Storage Access values (storage and phone controls)."""
    deny_wpd = rows["mtp_ptp"]["blocked"]
    deny_cd = rows["optical"]["blocked"]
    values = [_set_or_absent(C_STORAGE, RSD, "Deny_All", 1, prohibit)]
    # Removable Storage Access cannot exempt one device: its class deny is lifted while a device
    # of that kind is registered; the device-installation class deny (retroactive) keeps every
    # other device of the class out.
    for cls, wanted in ((CLASS_REMOVABLE_DISK, prohibit), (CLASS_CD_DVD, deny_cd and not registered["optical"])):
        for name in ("Deny_Read", "Deny_Write"):
            values.append(_set_or_absent(C_STORAGE, RSD + "\\" + cls, name, 1, wanted))
    for cls in CLASS_WPD:
        for name in ("Deny_Read", "Deny_Write"):
            values.append(_set_or_absent(C_PHONE, RSD + "\\" + cls, name, 1, deny_wpd and not registered["smartphone"]))
    return values


def _install_values(enforce, agency, allow_classes, deny_classes, deny_ids, allow_inst, allow_dev):
    """Device Installation Restrictions values, in the order the role writes them."""
    return [
        _set_or_absent(C_INSTALL, DIR, "DenyRemovableDevices", 1, enforce),
        _set_or_absent(C_INSTALL, DIR, "AllowDenyLayered", 1, enforce),
        _set_or_absent(C_INSTALL, DIR, "AllowDeviceClasses", 1, bool(allow_classes)),
        _set_or_absent(C_INSTALL, DIR, "DenyDeviceClasses", 1, bool(deny_classes)),
        _set_or_absent(C_INSTALL, DIR, "DenyDeviceClassesRetroactive", 1, bool(deny_classes)),
        _set_or_absent(C_INSTALL, DIR, "DenyDeviceIDs", 1, bool(deny_ids)),
        _set_or_absent(C_INSTALL, DIR, "DenyDeviceIDsRetroactive", 1, bool(deny_ids)),
        _set_or_absent(C_INSTALL, DIR, "DenyUnspecified", 1, agency),
        _set_or_absent(C_INSTALL, DIR, "AllowInstanceIDs", 1, bool(allow_inst)),
        _set_or_absent(C_INSTALL, DIR, "AllowDeviceIDs", 1, bool(allow_dev)),
        _set_or_absent(C_INSTALL, DIR, "AllowAdminInstall", 0, enforce),
    ]


# ---------------------------------------------------------------------------- diff


def _read_key(reads, path):
    """Normalise a win_reg_stat result for ``path`` to (exists, {lower name: (name, type, value)})."""
    for r in reads:
        if str(r.get("path", "")).lower() == path.lower():
            if not r.get("exists"):
                return False, {}
            props = {}
            for name, p in (r.get("properties") or {}).items():
                if isinstance(p, dict):
                    props[name.lower()] = (name, p.get("type"), p.get("value"))
            return True, props
    raise PlanError("no registry read for %s (expected one win_reg_stat result per planned key)" % path)


def _same(want, have):
    htype, hval = have[1], have[2]
    if REG_TYPES[want["type"]] != htype:
        return False
    if want["type"] == "dword":
        try:
            return int(hval) == int(want["data"])
        except (TypeError, ValueError):
            return False
    return str(hval) == str(want["data"])


def _show(have):
    return None if have is None else {"type": have[1], "value": have[2]}


def _int(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def _services(planned, reads, per_control, changes, drift):
    """USBSTOR/UASPStor ``Start``: 4 in prohibit, recording what was there; elsewhere restore
    only a value this role recorded, and leave a Start set by other hardening alone."""
    record = _read_key(reads, SERVICE_RECORD)[1]
    states = []
    for svc in planned["services"]:
        have = _read_key(reads, svc["path"])[1].get("start")
        cur = None if have is None else _int(have[2])
        rec = record.get(svc["name"].lower())
        recorded = None if rec is None else _int(rec[2])
        st = {"service": svc["name"], "start": cur, "set_by_this_role": rec is not None, "recorded": recorded}
        if svc["disable"]:
            if cur != 4:
                changes.append({"path": svc["path"], "name": "Start", "data": 4, "type": "dword", "state": "present"})
                if rec is None:
                    changes.append(
                        {
                            "path": SERVICE_RECORD,
                            "name": svc["name"],
                            "data": 3 if cur is None else cur,
                            "type": "dword",
                            "state": "present",
                        }
                    )
                d = {
                    "path": svc["path"],
                    "name": "Start",
                    "observed": _show(have),
                    "expected": {"type": "REG_DWORD", "value": 4},
                }
                drift.append(d)
                per_control[C_USBSTOR].append(d)
        elif rec is not None:
            if cur != recorded:
                changes.append(
                    {"path": svc["path"], "name": "Start", "data": recorded, "type": "dword", "state": "present"}
                )
            changes.append({"path": SERVICE_RECORD, "name": rec[0], "state": "absent"})
            d = {
                "path": svc["path"],
                "name": "Start",
                "observed": _show(have),
                "expected": {"type": "REG_DWORD", "value": recorded},
                "why": "restoring the value found before this role disabled the driver",
            }
            drift.append(d)
            per_control[C_USBSTOR].append(d)
        states.append(st)
    return states


def diff(planned, reads, boot_time=None):
    """Return {'changes': [win_regedit args], 'drift': [...], 'per_control': {...}, 'pending': [...]}.

    ``reads`` is the list of win_reg_stat results (each with ``path`` added by the caller, or
    the loop item as ``item``); ``boot_time`` the host's last boot (restart bookkeeping).
    """
    reads = [dict(r, path=r.get("path") or r.get("item")) for r in reads]
    changes, drift = [], []
    per_control = dict((c, []) for c in CONTROLS)
    for v in planned["values"]:
        _value_drift(v, reads, changes, drift, per_control)
    for lst in planned["lists"]:
        _list_drift(lst, reads, changes, drift, per_control)
    services = _services(planned, reads, per_control, changes, drift)
    pending = []
    for control in RESTART_CONTROLS:
        waiting, marker = pending_restart(reads, control, bool(per_control[control]), boot_time)
        changes.extend(marker)
        if waiting:
            pending.append(control)
    bt = _read_key(reads, BLUETOOTH_POLICY)[1].get("servicesallowedlist")
    return {
        "changes": changes,
        "drift": drift,
        "per_control": per_control,
        "pending": pending,
        "services": services,
        "bluetooth_allowed": None if bt is None else str(bt[2]),
    }


def _value_drift(v, reads, changes, drift, per_control):
    """The win_regedit call (appended to ``changes``) and drift record for one planned value, if it differs."""
    props = _read_key(reads, v["path"])[1]
    have = props.get(v["name"].lower())
    if v["state"] == "present":
        if have is not None and _same(v, have):
            return
        changes.append({"path": v["path"], "name": v["name"], "data": v["data"], "type": v["type"], "state": "present"})
    else:
        if have is None:
            return
        changes.append({"path": v["path"], "name": v["name"], "state": "absent"})
    d = {
        "path": v["path"],
        "name": v["name"],
        "observed": _show(have),
        "expected": None if v["state"] == "absent" else {"type": REG_TYPES[v["type"]], "value": v["data"]},
    }
    drift.append(d)
    per_control[v["control"]].append(d)


def _list_drift(lst, reads, changes, drift, per_control):
    """The same for one planned list key (numbered string values 1..n, nothing else)."""
    exists, props = _read_key(reads, lst["path"])
    if lst["items"] is None:
        if exists:
            changes.append({"path": lst["path"], "state": "absent", "delete_key": True})
            d = {"path": lst["path"], "name": None, "observed": "key present", "expected": "key absent"}
            drift.append(d)
            per_control[lst["control"]].append(d)
        return
    wanted = dict((str(i + 1), item) for i, item in enumerate(lst["items"]))
    bad = []
    for name, data in wanted.items():
        have = props.get(name)
        if have is None or not _same({"type": "string", "data": data}, have):
            changes.append({"path": lst["path"], "name": name, "data": data, "type": "string", "state": "present"})
            bad.append({"name": name, "observed": _show(have), "expected": data})
    for lname, have in sorted(props.items()):
        if lname not in wanted:
            changes.append({"path": lst["path"], "name": have[0], "state": "absent"})
            bad.append({"name": have[0], "observed": _show(have), "expected": None})
    if bad:
        d = {"path": lst["path"], "name": None, "observed": bad, "expected": lst["items"]}
        drift.append(d)
        per_control[lst["control"]].append(d)


def audit_drift(planned, current):
    """Compare audit subcategories (by GUID) with ``current``: {guid: {name, success, failure}}.

    Returns the ``win_audit_policy_system`` calls needed (with the host's localised name).
    """
    calls, bad = [], []
    for sub in planned["audit"]:
        cur = (current or {}).get(sub["guid"]) or (current or {}).get(sub["guid"].lower())
        if cur is None:
            raise PlanError("audit subcategory %s (%s) was not read from the host" % (sub["guid"], sub["name_en"]))
        have = sorted(t for t in ("success", "failure") if cur.get(t))
        if have != sorted(sub["audit_type"]):
            calls.append({"subcategory": cur.get("name") or sub["name_en"], "audit_type": list(sub["audit_type"])})
            bad.append({"guid": sub["guid"], "name": cur.get("name"), "observed": have, "expected": sub["audit_type"]})
    return calls, bad


def preinstalled(planned, present):
    """Removable devices installed now that the plan refuses but Windows keeps working, because
    no retroactive policy reaches them (DenyRemovableDevices has none; UASP disks share
    SCSI\\\\Disk with internal disks). ``present``: [{instance_id, class_guid, removable}]."""
    if planned["mode"] == "audit_only":
        return []
    allowed = set(i.upper() for i in planned["instance_ids"])
    retro_classes = set(planned["deny_classes"])
    out = []
    for d in present or []:
        iid = str(d.get("instance_id") or "")
        cls = str(d.get("class_guid") or "").lower()
        if not d.get("removable") or iid.upper() in allowed or cls in retro_classes:
            continue
        if iid.upper().startswith("USBSTOR\\") and ID_USBSTOR_DISK in planned["deny_ids"]:
            continue  # DenyDeviceIDs USBSTOR\Disk is applied retroactively
        out.append({"instance_id": iid, "class_guid": cls, "name": d.get("name")})
    return out


def _obex_allowed(allowed_list):
    if allowed_list is None:
        return True  # no ServicesAllowedList: every Bluetooth service is allowed
    items = set(x.strip().upper() for x in allowed_list.replace(",", ";").split(";") if x.strip())
    return any(u in items for u in OBEX_UUIDS)


def findings(planned, regdiff, audit_bad, changed, check_mode, mode, present=None):
    """One finding per control plus the register, class-matrix, preinstalled and Bluetooth findings."""
    pending = set(regdiff.get("pending") or [])
    expected = _expected(planned, mode)
    out = []
    for control in CONTROLS:
        bad = audit_bad if control == C_AUDIT else regdiff["per_control"][control]
        evidence = _control_evidence(control, planned, regdiff, mode, bad)
        out.append(_control_finding(control, bad, evidence, expected[control], changed, check_mode, mode, pending))
    out.append(_register_finding(planned["register"]))
    out.append(class_finding(planned, regdiff, mode, pending))
    out.append(_preinstalled_finding(planned, present, mode))
    out.append(_bluetooth_finding(planned, regdiff))
    return out


def _expected(planned, mode):
    """What each control expects in this mode, as the findings word it."""
    return {
        C_STORAGE: "Deny_All and class denies as planned for mode %s" % mode,
        C_PHONE: "WPD classes denied read/write" if _wants(planned, C_PHONE) else "WPD classes not denied",
        C_INSTALL: "device installation restricted (layered; USBSTOR\\Disk and recording classes denied retroactively; "
        "input, hub and smartcard classes and register instance IDs allowed)"
        if _wants(planned, C_INSTALL)
        else "no device installation restriction",
        C_USBSTOR: "USBSTOR and UASPStor Start=4"
        if mode == "prohibit"
        else "USBSTOR and UASPStor Start as before this role disabled them (a Start set elsewhere is left alone)",
        C_AUDIT: "Removable Storage and Plug and Play Events audited (success, failure)",
    }


def _control_evidence(control, planned, regdiff, mode, bad):
    evidence = {"mode": mode, "drift": bad}
    if control == C_INSTALL:
        evidence["allow_instance_ids"] = planned["instance_ids"]
        evidence["allow_device_ids"] = planned["device_ids"]
        evidence["deny_device_ids"] = planned["deny_ids"]
        evidence["deny_classes"] = planned["deny_classes"]
        evidence["allow_classes"] = planned["allow_classes"]
        evidence["unregistered_stick"] = (
            "its USB node installs (class USB allowed), its USBSTOR disk node is refused (DenyDeviceIDs "
            "USBSTOR\\Disk, retroactive): no volume"
            if mode == "agency_issued_only"
            else None
        )
    if control == C_USBSTOR:
        evidence["services"] = regdiff.get("services", [])
    return evidence


def _control_finding(control, bad, evidence, expected, changed, check_mode, mode, pending):
    ok = not bad
    fixed = bool(bad) and changed and not check_mode
    if control in pending and not check_mode:
        evidence["pending_restart"] = True
        return finding(
            control,
            "fail",
            observed="pending_restart: written, in effect after the host restarts",
            expected=expected,
            evidence=dict(evidence, restart_tracked_in=PENDING_KEY),
        )
    if mode == "audit_only" and control != C_AUDIT and ok:
        return finding(
            control,
            "not_applicable",
            observed="nothing blocked (audit_only)",
            expected=expected,
            evidence=evidence,
        )
    return compliance(
        control,
        ok,
        fixed,
        check_mode,
        observed="as planned" if ok else "%d value(s) differ" % len(bad),
        expected=expected,
        evidence=evidence,
    )


def _register_finding(r):
    return finding(
        C_REGISTER,
        "pass",
        observed="%d active on this host, %d inactive (never rendered)" % (len(r["active"]), len(r["inactive"])),
        expected="expired and revoked devices are not allowed",
        evidence={
            "active": [e["label"] for e in r["active"]],
            "inactive": [{"label": e["label"], "reason": e["reason"]} for e in r["inactive"]],
            "warnings": r["warnings"],
            "windows_ids": r["gated"],
        },
    )


def _preinstalled_finding(planned, present, mode):
    late = preinstalled(planned, present)
    return finding(
        C_PREINSTALLED,
        "not_applicable" if mode == "audit_only" else ("fail" if late else "pass"),
        observed=[d["instance_id"] for d in late] or "none",
        expected="no removable device that the policy refuses is still installed (Windows applies "
        "DenyRemovableDevices to new installations only)",
        evidence={
            "devices": late,
            "remedy": "uninstall these devices (Device Manager / pnputil /remove-device) or replace them "
            "with registered ones",
        },
    )


def _bluetooth_finding(planned, regdiff):
    allowed = regdiff.get("bluetooth_allowed")
    obex = _obex_allowed(allowed)
    want = planned["block_bluetooth_obex"]
    return finding(
        C_BLUETOOTH,
        "not_applicable" if not want else ("fail" if obex else "pass"),
        observed="OBEX file transfer %s (ServicesAllowedList %s)"
        % ("allowed" if obex else "not allowed", "not set" if allowed is None else repr(allowed)),
        expected="Bluetooth ServicesAllowedList without OBEX Object Push/File Transfer"
        if want
        else "not restricted in this mode",
        evidence={
            "path": BLUETOOTH_POLICY,
            "obex_uuids": list(OBEX_UUIDS),
            "set_by": "MDM Policy CSP Bluetooth/ServicesAllowedList (not written by this role)",
        },
    )


def class_finding(planned, regdiff, mode, pending):
    """The device-class matrix as this host has it: per class, blocked or allowed and how."""
    drift_controls = set(c for c, bad in regdiff["per_control"].items() if bad)
    rows = []
    for row in planned["matrix"]:
        rows.append(
            {
                "class": row["key"],
                "label": row["label"],
                "setup_classes": dict((c, SETUP[c]) for c in row["setup_classes"]),
                "expected": "blocked" if row["blocked"] else "allowed",
                "mechanism": row["how"],
                "retroactive": row["retroactive"],
                "switch": row["deny"],
            }
        )
    ok = not (drift_controls & {C_STORAGE, C_PHONE, C_INSTALL, C_USBSTOR}) and not pending
    status = "not_applicable" if mode == "audit_only" and ok else ("pass" if ok else "fail")
    return finding(
        C_CLASSES,
        status,
        observed="as planned" if ok else "policy differs or waits for a restart",
        expected=dict((r["class"], r["expected"]) for r in rows),
        evidence={"mode": mode, "classes": rows},
    )


def _wants(planned, control):
    return any(v["state"] == "present" for v in planned["values"] if v["control"] == control)


__all__ = [
    "CLASS_MATRIX",
    "MODES",
    "PlanError",
    "RegisterError",
    "audit_drift",
    "diff",
    "findings",
    "instance_ids",
    "plan",
    "preinstalled",
    "usbstor_instance_id",
]
