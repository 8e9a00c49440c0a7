# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The register of agency-issued USB devices (clause 6-17): validation and lifecycle.

One register entry::

    {id: "46f4:0001", serial: "AGENCY0001", hash: <usbguard hash, optional>,
     label: "PC-USB-0001" (asset tag), owner: "...", issued_on: 2026-04-01,
     expires_on: 2027-03-31 (optional), state: active | revoked,
     kind: storage | smartphone | optical (optional, default storage),
     groups: [inventory groups allowed to use it] (optional, default all hosts),
     revoked_on / revoked_reason / replaced_by / replaces (written by the lifecycle playbook)}

Used on the controller (role validation, lifecycle playbook, the Windows planner) and on
Linux endpoints (usbguard_policy module). Pure Python, no Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

from ansible_collections.pii_guard.safeguards.plugins.module_utils.common.dates import iso_date

# Every pattern is used with fullmatch (``$`` would accept a trailing newline).
ID_RE = re.compile(r"[0-9a-fA-F]{4}:[0-9a-fA-F]{4}")
# usbguard's device hash: base64 of a SHA-256 digest (44 characters, one '=' of padding).
HASH_RE = re.compile(r"[A-Za-z0-9+/]{43}=")
# Register strings end up in inventory files that Ansible templates and in usbguard rules:
# no Jinja delimiters ({{ {% {#), no quotes or backslash, no control characters or line breaks,
# no surrounding blanks. Serials: printable ASCII only (what a USB string descriptor shows).
# Labels, owners, notes: also non-ASCII letters (owners' names), still printable only.
_JINJA_SAFE = r"(?:[^\x00-\x1f\x7f-\x9f\u2028\u2029\"'`\\{]|\{(?![{%#]))"
_JINJA_SAFE_ASCII = r"(?:[ !#-&(-\[\]-_a-z|}~]|\{(?![{%#]))"
SERIAL_RE = re.compile(r"(?! )%s{1,126}(?<! )" % _JINJA_SAFE_ASCII)
TEXT_RE = re.compile(r"(?!\s)%s{1,200}(?<!\s)" % _JINJA_SAFE)
# Ansible inventory group names.
GROUP_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,99}")
SAFE_TEXT_RULE = "printable characters without surrounding blanks, quotes, backslash, '{{', '{%' or '{#'"
STATES = ("active", "revoked")
KINDS = ("storage", "smartphone", "optical")
REQUIRED = ("id", "label", "issued_on")
OPTIONAL = (
    "serial",
    "hash",
    "owner",
    "expires_on",
    "state",
    "kind",
    "groups",
    "revoked_on",
    "revoked_reason",
    "replaced_by",
    "replaces",
    "notes",
)
KNOWN = REQUIRED + OPTIONAL


class RegisterError(ValueError):
    """A register entry that cannot be used; the message names the entry and the bad value."""


class RegisterResult:
    """Outcome of validate_register().

    active   -- normalised entries to render (state active, not expired)
    inactive -- normalised entries never rendered, each with ``reason``: expired | revoked
    warnings -- human-readable strings (e.g. model-wide entries without a serial)
    """

    def __init__(self, active, inactive, warnings):
        self.active = active
        self.inactive = inactive
        self.warnings = warnings

    def as_dict(self):
        return {"active": self.active, "inactive": self.inactive, "warnings": self.warnings}

    def __repr__(self):
        return "RegisterResult(active=%d, inactive=%d, warnings=%d)" % (
            len(self.active),
            len(self.inactive),
            len(self.warnings),
        )


def describe(index, entry):
    """How an error names an entry: its index plus label and serial when present."""
    parts = ["usb_storage_devices[%d]" % index]
    if isinstance(entry, dict):
        names = []
        if entry.get("label") not in (None, ""):
            names.append("label %r" % (str(entry.get("label")),))
        if entry.get("serial") not in (None, ""):
            names.append("serial %r" % (str(entry.get("serial")),))
        if names:
            parts.append("(%s)" % ", ".join(names))
    return " ".join(parts)


def parse_date(value, what, where):
    """Accept a datetime.date (YAML parses bare dates) or an ISO 'YYYY-MM-DD' string."""
    parsed = iso_date(value)
    if parsed is not None:
        return parsed
    raise RegisterError("%s: %s %r is not a date (YYYY-MM-DD)" % (where, what, value))


def _string(entry, key, where, required=False):
    value = entry.get(key)
    if value is None or value == "":
        if required:
            raise RegisterError("%s: %s is missing or empty" % (where, key))
        return None
    if not isinstance(value, str):
        # YAML reads `serial: 0012` as the integer 10: the rule would match the wrong device.
        raise RegisterError(
            '%s: %s %r is a %s, not a string (quote it in YAML, e.g. %s: "%s")'
            % (where, key, value, type(value).__name__, key, value)
        )
    return str(value)


def check_text(value, what, serial=False):
    """Refuse a register string that could be templated by Ansible or break a rule or file.

    ``what`` names the input (``usb_storage_devices[3].serial``, ``usb_label``) in the error.
    """
    pattern = SERIAL_RE if serial else TEXT_RE
    if not isinstance(value, str) or not pattern.fullmatch(value) or not value.isprintable():
        raise RegisterError(
            "%s %r is not accepted: expected %s%s"
            % (what, value, "ASCII " if serial else "", SAFE_TEXT_RULE + " (at most %d)" % (126 if serial else 200))
        )
    return value


def _text(entry, key, where, required=False, serial=False):
    value = _string(entry, key, where, required=required)
    if value is not None:
        check_text(value, "%s: %s" % (where, key), serial=serial)
    return value


def _identity(entry, where, allow_model_wide):
    """``({id, label, serial, hash}, warnings)``: what identifies the device; a model-wide entry only when opted in."""
    warnings = []
    out = {}
    vidpid = _string(entry, "id", where, required=True)
    if not ID_RE.fullmatch(vidpid):
        raise RegisterError("%s: id %r is not a VID:PID of four hex digits each (e.g. '46f4:0001')" % (where, vidpid))
    out["id"] = vidpid.lower()
    out["label"] = _text(entry, "label", where, required=True)
    serial = _text(entry, "serial", where, serial=True)
    out["serial"] = serial
    device_hash = _string(entry, "hash", where)
    if device_hash is not None and not HASH_RE.fullmatch(device_hash):
        raise RegisterError("%s: hash %r is not a usbguard device hash (44 base64 characters)" % (where, device_hash))
    out["hash"] = device_hash
    if serial is None and device_hash is None:
        if not allow_model_wide:
            raise RegisterError(
                "%s: serial is missing; without a serial (or hash) the entry would allow every %s device "
                "of that model. Add the serial, or opt in to model-wide entries with "
                "usb_storage_allow_model_wide: true" % (where, out["id"])
            )
        warnings.append(
            "%s: no serial and no hash: every device with id %s is allowed (model-wide, opted in)" % (where, out["id"])
        )
    return out, warnings


def _groups(entry, where):
    groups = entry.get("groups")
    if groups is not None:
        if isinstance(groups, str) or not isinstance(groups, (list, tuple)) or not groups:
            raise RegisterError("%s: groups %r must be a non-empty list of inventory group names" % (where, groups))
        for g in groups:
            if not isinstance(g, str) or not GROUP_RE.fullmatch(g):
                raise RegisterError("%s: groups entry %r is not a group name" % (where, g))
        groups = list(groups)
    return groups


def normalize_entry(index, entry, allow_model_wide=False):
    """Validate one entry (without cross-entry checks); return (normalised, warnings)."""
    where = describe(index, entry)
    if not isinstance(entry, dict):
        raise RegisterError("%s: entry %r must be a mapping" % (where, entry))
    unknown = sorted(k for k in entry if k not in KNOWN)
    if unknown:
        raise RegisterError(
            "%s: unknown key(s) %s (known: %s)" % (where, ", ".join(repr(k) for k in unknown), ", ".join(KNOWN))
        )
    out, warnings = _identity(entry, where, allow_model_wide)
    out["owner"] = _text(entry, "owner", where)
    state = entry.get("state", "active")
    if state not in STATES:
        raise RegisterError("%s: state %r is not one of %s" % (where, state, ", ".join(STATES)))
    out["state"] = state
    kind = entry.get("kind", "storage")
    if kind not in KINDS:
        raise RegisterError("%s: kind %r is not one of %s" % (where, kind, ", ".join(KINDS)))
    out["kind"] = kind
    out["groups"] = _groups(entry, where)
    out["issued_on"] = parse_date(entry.get("issued_on"), "issued_on", where)
    out["expires_on"] = None
    if entry.get("expires_on") not in (None, ""):
        out["expires_on"] = parse_date(entry.get("expires_on"), "expires_on", where)
        if out["expires_on"] < out["issued_on"]:
            raise RegisterError(
                "%s: expires_on %s is before issued_on %s" % (where, out["expires_on"], out["issued_on"])
            )
    out["revoked_on"] = None
    if entry.get("revoked_on") not in (None, ""):
        out["revoked_on"] = parse_date(entry.get("revoked_on"), "revoked_on", where)
    for key in ("revoked_reason", "replaced_by", "replaces", "notes"):
        out[key] = _text(entry, key, where)
    return out, warnings


def validate_register(entries, today, allow_model_wide=False):
    """Validate the whole register; split it into active and inactive entries.

    Raises RegisterError at the first bad entry (naming index, label/serial and value).
    Duplicate serials (same VID:PID and serial, in any state) are refused: a serial must
    identify one issued device, and the lifecycle revokes/replaces by serial.
    """
    if entries is None:
        entries = []
    if not isinstance(entries, (list, tuple)):
        raise RegisterError("usb_storage_devices must be a list of entries, got %r" % (entries,))
    if isinstance(today, datetime.datetime):
        today = today.date()
    active, inactive, warnings = [], [], []
    seen_serial = {}
    seen_label = {}
    for index, entry in enumerate(entries):
        norm, warns = normalize_entry(index, entry, allow_model_wide=allow_model_wide)
        warnings.extend(warns)
        where = describe(index, entry)
        if norm["serial"] is not None:
            key = (norm["id"], norm["serial"])
            if key in seen_serial:
                raise RegisterError(
                    "%s: serial %r of %s is already registered as usb_storage_devices[%d]; identical sticks "
                    "may share a serial: register the device by hash instead, or once"
                    % (where, norm["serial"], norm["id"], seen_serial[key])
                )
            seen_serial[key] = index
        if norm["label"] in seen_label:
            raise RegisterError(
                "%s: label %r is already used by usb_storage_devices[%d]"
                % (where, norm["label"], seen_label[norm["label"]])
            )
        seen_label[norm["label"]] = index
        norm["index"] = index
        if norm["state"] == "revoked":
            norm["reason"] = "revoked"
            inactive.append(norm)
        elif norm["expires_on"] is not None and norm["expires_on"] < today:
            norm["reason"] = "expired"
            inactive.append(norm)
        else:
            active.append(norm)
    return RegisterResult(active, inactive, warnings)


def applies_to(entry, host_groups):
    """True when the entry may be used on a host in ``host_groups`` (no groups = everywhere)."""
    groups = entry.get("groups")
    if not groups:
        return True
    return bool(set(groups) & set(host_groups or ()))


def jsonable(entry):
    """The entry with dates as ISO strings (for module results and the register file)."""
    out = {}
    for k, v in entry.items():
        out[k] = v.isoformat() if isinstance(v, datetime.date) else v
    return out


# ------------------------------------------------------------------ lifecycle (controller side)


def _find(entries, serial, vidpid=None):
    hits = [
        i
        for i, e in enumerate(entries)
        if isinstance(e, dict)
        and str(e.get("serial", "")) == serial
        and (vidpid is None or str(e.get("id", "")).lower() == vidpid.lower())
    ]
    return hits


def enrol(entries, device, today):
    """Return a new register list with ``device`` (a register entry) appended as active.

    Refuses a serial that is already registered (in any state): re-issuing a revoked
    device is a deliberate edit of the register, not an enrolment.
    """
    entries = list(entries or [])
    device = dict(device)
    device.setdefault("state", "active")
    device.setdefault("issued_on", today.isoformat())
    if device.get("serial") not in (None, ""):
        hits = _find(entries, str(device["serial"]), device.get("id"))
        if hits:
            raise RegisterError(
                "enrol: serial %r (%s) is already in the register as usb_storage_devices[%d] (state %s)"
                % (device["serial"], device.get("id"), hits[0], entries[hits[0]].get("state", "active"))
            )
    entries.append(device)
    return entries


def revoke(entries, serial, today, reason="lost"):
    """Return a new register list with the active entry of ``serial`` marked revoked."""
    entries = [dict(e) if isinstance(e, dict) else e for e in (entries or [])]
    hits = [i for i in _find(entries, serial) if entries[i].get("state", "active") == "active"]
    if not hits:
        raise RegisterError("revoke: no active register entry has serial %r" % (serial,))
    for i in hits:
        entries[i]["state"] = "revoked"
        entries[i]["revoked_on"] = today.isoformat()
        entries[i]["revoked_reason"] = reason
    return entries


def replace(entries, old_serial, new_device, today):
    """Revoke the device ``old_serial`` and enrol ``new_device`` in one step.

    The new entry inherits owner, groups and kind from the old one unless given, and the two
    entries point at each other (replaced_by / replaces) as the audit trail.
    """
    entries = [dict(e) if isinstance(e, dict) else e for e in (entries or [])]
    hits = [i for i in _find(entries, old_serial) if entries[i].get("state", "active") == "active"]
    if not hits:
        raise RegisterError("replace: no active register entry has serial %r" % (old_serial,))
    old = entries[hits[0]]
    new = dict(new_device)
    for key in ("owner", "groups", "kind"):
        if key not in new and old.get(key) is not None:
            new[key] = old[key]
    new["replaces"] = str(old.get("label"))
    entries = revoke(entries, old_serial, today, reason="replaced")
    entries[hits[0]]["replaced_by"] = str(new.get("label"))
    return enrol(entries, new, today)
