# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Clause 6-17 on Windows: plan the registry policy for a USB storage mode and the register.

Runs on the controller only (Windows endpoints run PowerShell, not Python). Two steps:

``plan(mode, register, today, ...)``
    the desired state: every registry value and list key the collection manages under
    ``RemovableStorageDevices``, ``DeviceInstall\\Restrictions`` and the USBSTOR/UASPStor
    services, in every mode (values a mode does not want are planned ``absent``, so switching
    modes cleans up), plus the audit subcategories (by GUID: their names are localised).

``diff(plan, reads)``
    compares the plan with what ``ansible.windows.win_reg_stat`` read for each key and returns
    the ``ansible.windows.win_regedit`` calls that would close the gap, plus one finding per
    control. No call at all when the host already matches (idempotence).

Device instance IDs for ``AllowInstanceIDs`` (the mapping is documented in
docs/windows.md):

* register entry with a serial   -> ``USB\\VID_<VID>&PID_<PID>\\<serial>`` (the USB device node;
  Windows uses the device's serial as the instance part when the device reports one);
* extra IDs captured at enrolment (``windows_instance_ids`` by label), e.g. the disk node
  ``USBSTOR\\DISK&VEN_..&PROD_..&REV_..\\<serial>&0``, whose vendor/product/revision strings
  come from the device's SCSI inquiry data and cannot be derived from VID:PID;
* model-wide entries (no serial, explicit opt-in) -> hardware ID ``USB\\VID_<VID>&PID_<PID>``
  in ``AllowDeviceIDs`` (the device-ID layer);
* hash-only entries have no Windows equivalent: not rendered, reported as a warning.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pii_guard.safeguards.plugins.module_utils.findings import compliance, finding
from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb_register import (
    RegisterError,
    applies_to,
    jsonable,
    validate_register,
)

MODES = ("prohibit", "agency_issued_only", "audit_only")

RSD = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\RemovableStorageDevices"
DIR = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\DeviceInstall\\Restrictions"
SERVICES = "HKLM:\\SYSTEM\\CurrentControlSet\\Services"

# Removable Storage Access classes (Group Policy "Removable Storage Access").
CLASS_REMOVABLE_DISK = "{53f5630d-b6bf-11d0-94f2-00a0c91efb8b}"
CLASS_CD_DVD = "{53f56308-b6bf-11d0-94f2-00a0c91efb8b}"
# Both WPD keys (phones, cameras, media players over MTP/PTP).
CLASS_WPD = ("{6AC27878-A6FA-4155-BA85-F98F491D4F33}", "{F33FDC04-D1AC-4E8E-9A30-19BBD4B108AE}")

# Device setup classes that stay installable under DenyRemovableDevices: keyboards, mice and
# hubs must keep working (DESIGN.md safety rule). With AllowDenyLayered the setup-class layer
# outranks the removable-device layer; a stick's USB node (class USB) installs but its disk
# node (class DiskDrive) does not unless its instance ID is allowed.
INPUT_AND_HUB_CLASSES = (
    "{745a17a0-74d3-11d0-b6fe-00a0c90f57da}",  # HIDClass
    "{4d36e96b-e325-11ce-bfc1-08002be10318}",  # Keyboard
    "{4d36e96f-e325-11ce-bfc1-08002be10318}",  # Mouse
    "{36fc9e60-c465-11cf-8056-444553540000}",  # USB (host controllers, hubs, composite parents)
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
CONTROLS = (C_STORAGE, C_PHONE, C_INSTALL, C_USBSTOR, C_AUDIT)

# win_regedit type -> the REG_* name win_reg_stat reports.
REG_TYPES = {"dword": "REG_DWORD", "string": "REG_SZ"}


class PlanError(ValueError):
    """Bad input to the planner; the message names the variable and the value."""


def _value(control, path, name, data, vtype="dword"):
    return {"control": control, "path": path, "name": name, "type": vtype, "data": data, "state": "present"}


def _absent(control, path, name):
    return {"control": control, "path": path, "name": name, "state": "absent"}


def _set_or_absent(control, path, name, data, wanted):
    return _value(control, path, name, data) if wanted else _absent(control, path, name)


def _hex4(text):
    return text.upper()


def instance_ids(entries, extra_ids=None):
    """Map active register entries to (instance_ids, device_ids, warnings). See module docstring."""
    extra_ids = extra_ids or {}
    inst, dev, warnings = [], [], []
    for e in entries:
        vid, pid = e["id"].split(":")
        if e.get("serial"):
            inst.append("USB\\VID_%s&PID_%s\\%s" % (_hex4(vid), _hex4(pid), e["serial"]))
        elif e.get("hash"):
            warnings.append(
                "%s (%s): registered by usbguard hash only; Windows has no equivalent, not allowed on Windows"
                % (e["label"], e["id"])
            )
        else:
            dev.append("USB\\VID_%s&PID_%s" % (_hex4(vid), _hex4(pid)))
        inst.extend(extra_ids.get(e["label"], []))
    # Stable order, no duplicates: the list key is compared value by value.
    return _unique(inst), _unique(dev), warnings


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
        if label not in all_labels:
            raise PlanError(
                "usb_storage_windows_instance_ids: label %r is not in usb_storage_devices (known: %s)"
                % (label, ", ".join(sorted(all_labels)) or "none")
            )
        if isinstance(ids, str) or not isinstance(ids, (list, tuple)) or not ids:
            raise PlanError("usb_storage_windows_instance_ids[%r]: %r must be a non-empty list" % (label, ids))
        for i in ids:
            if not isinstance(i, str) or "\\" not in i or any(ord(c) < 32 for c in i):
                raise PlanError(
                    "usb_storage_windows_instance_ids[%r]: %r is not a device instance ID "
                    "(e.g. 'USBSTOR\\DISK&VEN_X&PROD_Y&REV_1.00\\SERIAL&0')" % (label, i)
                )
    return dict(extra_ids)


def plan(
    mode,
    devices,
    today,
    host_groups=None,
    block_smartphones=True,
    block_optical=True,
    allow_model_wide=False,
    extra_instance_ids=None,
):
    """Return the desired Windows state for ``mode`` and the register ``devices``.

    Raises PlanError (bad mode, bad extra IDs) or RegisterError (bad register) before anything
    is read or written on a host.
    """
    if mode not in MODES:
        raise PlanError("usb_storage_mode %r is not one of %s" % (mode, ", ".join(MODES)))
    for var, val in (
        ("usb_storage_block_smartphones", block_smartphones),
        ("usb_storage_block_optical", block_optical),
    ):
        if not isinstance(val, bool):
            raise PlanError("%s must be true or false, got %r" % (var, val))
    reg = validate_register(devices, today, allow_model_wide=allow_model_wide)
    labels = set(str(d.get("label")) for d in (devices or []) if isinstance(d, dict))
    extra = _check_extra_ids(extra_instance_ids, labels)
    active = [e for e in reg.active if applies_to(e, host_groups)]
    not_here = [e for e in reg.active if not applies_to(e, host_groups)]
    inst, dev, warnings = instance_ids(active, extra)
    warnings = list(reg.warnings) + warnings

    prohibit = mode == "prohibit"
    agency = mode == "agency_issued_only"
    enforce = prohibit or agency
    phones_registered = agency and any(e["kind"] == "smartphone" for e in active)
    # A class-wide WPD deny would also refuse registered phones; their install is still
    # gated per instance ID by DenyRemovableDevices.
    deny_wpd = prohibit or (agency and block_smartphones and not phones_registered)
    deny_cd = prohibit or (agency and block_optical)

    values = []
    values.append(_set_or_absent(C_STORAGE, RSD, "Deny_All", 1, prohibit))
    for cls, wanted in ((CLASS_REMOVABLE_DISK, prohibit), (CLASS_CD_DVD, deny_cd)):
        for name in ("Deny_Read", "Deny_Write"):
            values.append(_set_or_absent(C_STORAGE, RSD + "\\" + cls, name, 1, wanted))
    for cls in CLASS_WPD:
        for name in ("Deny_Read", "Deny_Write"):
            values.append(_set_or_absent(C_PHONE, RSD + "\\" + cls, name, 1, deny_wpd))

    values.append(_set_or_absent(C_INSTALL, DIR, "DenyRemovableDevices", 1, enforce))
    values.append(_set_or_absent(C_INSTALL, DIR, "AllowDenyLayered", 1, enforce))
    values.append(_set_or_absent(C_INSTALL, DIR, "AllowDeviceClasses", 1, enforce))
    values.append(_set_or_absent(C_INSTALL, DIR, "DenyUnspecified", 1, agency))
    values.append(_set_or_absent(C_INSTALL, DIR, "AllowInstanceIDs", 1, agency and bool(inst)))
    values.append(_set_or_absent(C_INSTALL, DIR, "AllowDeviceIDs", 1, agency and bool(dev)))
    values.append(_set_or_absent(C_INSTALL, DIR, "AllowAdminInstall", 0, enforce))

    # 4 = disabled; 3 = on demand, the Windows default, restored when not prohibiting.
    for svc in ("USBSTOR", "UASPStor"):
        values.append(_value(C_USBSTOR, SERVICES + "\\" + svc, "Start", 4 if prohibit else 3))

    lists = [
        {"control": C_INSTALL, "path": DIR + "\\AllowInstanceIDs", "items": inst if agency else None},
        {"control": C_INSTALL, "path": DIR + "\\AllowDeviceIDs", "items": dev if agency else None},
        {
            "control": C_INSTALL,
            "path": DIR + "\\AllowDeviceClasses",
            "items": list(INPUT_AND_HUB_CLASSES) if enforce else None,
        },
    ]
    # An empty list under an enabled Allow* value would be meaningless; drop the key instead.
    for lst in lists:
        if lst["items"] is not None and not lst["items"]:
            lst["items"] = None

    read_keys = _unique([v["path"] for v in values] + [lst["path"] for lst in lists])
    return {
        "mode": mode,
        "values": values,
        "lists": lists,
        "audit": [dict(s, audit_type=list(AUDIT_TYPES)) for s in AUDIT_SUBCATEGORIES],
        "read_keys": read_keys,
        "register": {
            "active": [jsonable(e) for e in active],
            "not_for_this_host": [e["label"] for e in not_here],
            "inactive": [jsonable(e) for e in reg.inactive],
            "warnings": warnings,
        },
        "instance_ids": inst,
        "device_ids": dev,
    }


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


def diff(planned, reads):
    """Return {'changes': [win_regedit args], 'drift': [...], 'compliant': {control: bool}}.

    ``reads`` is the list of win_reg_stat results (each with ``path`` added by the caller, or
    the loop item as ``item``).
    """
    reads = [dict(r, path=r.get("path") or r.get("item")) for r in reads]
    changes, drift = [], []
    per_control = dict((c, []) for c in CONTROLS)
    for v in planned["values"]:
        props = _read_key(reads, v["path"])[1]
        have = props.get(v["name"].lower())
        if v["state"] == "present":
            if have is not None and _same(v, have):
                continue
            changes.append(
                {"path": v["path"], "name": v["name"], "data": v["data"], "type": v["type"], "state": "present"}
            )
        else:
            if have is None:
                continue
            changes.append({"path": v["path"], "name": v["name"], "state": "absent"})
        d = {
            "path": v["path"],
            "name": v["name"],
            "observed": _show(have),
            "expected": None if v["state"] == "absent" else {"type": REG_TYPES[v["type"]], "value": v["data"]},
        }
        drift.append(d)
        per_control[v["control"]].append(d)
    for lst in planned["lists"]:
        exists, props = _read_key(reads, lst["path"])
        if lst["items"] is None:
            if exists:
                changes.append({"path": lst["path"], "state": "absent", "delete_key": True})
                d = {"path": lst["path"], "name": None, "observed": "key present", "expected": "key absent"}
                drift.append(d)
                per_control[lst["control"]].append(d)
            continue
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
    return {"changes": changes, "drift": drift, "per_control": per_control}


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


def findings(planned, regdiff, audit_bad, changed, check_mode, mode):
    """One finding per control plus the register finding, in the common shape."""
    out = []
    expected = {
        C_STORAGE: "Deny_All and class denies as planned for mode %s" % mode,
        C_PHONE: "WPD classes denied read/write" if _wants(planned, C_PHONE) else "WPD classes not denied",
        C_INSTALL: "device installation restricted (layered; input/hub classes and register instance IDs allowed)"
        if _wants(planned, C_INSTALL)
        else "no device installation restriction",
        C_USBSTOR: "USBSTOR and UASPStor Start=4" if mode == "prohibit" else "USBSTOR and UASPStor Start=3",
        C_AUDIT: "Removable Storage and Plug and Play Events audited (success, failure)",
    }
    for control in CONTROLS:
        bad = audit_bad if control == C_AUDIT else regdiff["per_control"][control]
        ok = not bad
        fixed = bool(bad) and changed and not check_mode
        evidence = {"mode": mode, "drift": bad}
        if control == C_INSTALL:
            evidence["allow_instance_ids"] = planned["instance_ids"]
            evidence["allow_device_ids"] = planned["device_ids"]
        if mode == "audit_only" and control != C_AUDIT and ok:
            out.append(
                finding(
                    control,
                    "not_applicable",
                    observed="nothing blocked (audit_only)",
                    expected=expected[control],
                    evidence=evidence,
                )
            )
            continue
        out.append(
            compliance(
                control,
                ok,
                fixed,
                check_mode,
                observed="as planned" if ok else "%d value(s) differ" % len(bad),
                expected=expected[control],
                evidence=evidence,
            )
        )
    r = planned["register"]
    out.append(
        finding(
            C_REGISTER,
            "pass",
            observed="%d active on this host, %d inactive (never rendered)" % (len(r["active"]), len(r["inactive"])),
            expected="expired and revoked devices are not allowed",
            evidence={
                "active": [e["label"] for e in r["active"]],
                "inactive": [{"label": e["label"], "reason": e["reason"]} for e in r["inactive"]],
                "warnings": r["warnings"],
            },
        )
    )
    return out


def _wants(planned, control):
    return any(v["state"] == "present" for v in planned["values"] if v["control"] == control)


__all__ = ["MODES", "PlanError", "RegisterError", "audit_drift", "diff", "findings", "instance_ids", "plan"]
