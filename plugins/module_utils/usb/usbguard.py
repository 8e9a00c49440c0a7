# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""USBGuard policy for clause 6-17: rule rendering, rule/device parsing, daemon config.

Pure Python (no Ansible imports) so that it is unit-tested without hosts and runs on the
endpoint inside the usbguard_policy module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import re

from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb.classes import (
    ALWAYS_ALLOWED,
    allowed_patterns,
    usb_classes,
)
from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb.register import applies_to

MODES = ("prohibit", "agency_issued_only", "audit_only")


def base_rule(allow_audio=False, allow_serial=False):
    """The always-allowed rule: keyboards, mice (HID 03), hubs (09:00), smartcard readers (0b),
    plus audio / CDC-ACM serial when switched on. A policy that blocks the keyboard or the IC-card
    reader locks people out. match-all: every interface of the device must be one of these, so a
    keyboard with a storage interface is not allowed by it (device-class matrix: usb_classes.py)."""
    return "allow with-interface match-all { %s }" % " ".join(allowed_patterns(allow_audio, allow_serial))


HID_HUB_RULE = base_rule()
HID_HUB_PATTERNS = ALWAYS_ALLOWED
# Interfaces that make a device a recording medium for this clause.
STORAGE_PATTERNS = ("08:*:*",)
SMARTPHONE_PATTERNS = ("06:01:01", "ff:ff:00")  # PTP/MTP still image, MTP vendor interface
RECORDING_PATTERNS = STORAGE_PATTERNS + SMARTPHONE_PATTERNS
HEADER = "# Managed by pii_guard.safeguards (clause 6-17, usb_storage). Local edits are overwritten."

# The daemon settings the clause requires; the role may override IPCAllowedGroups.
DAEMON_DEFAULTS = {
    "ImplicitPolicyTarget": "block",
    "PresentDevicePolicy": "apply-policy",
    "InsertedDevicePolicy": "apply-policy",
    "IPCAllowedUsers": "root",
    "IPCAllowedGroups": "root",
    "AuditBackend": "LinuxAudit",
}
# Known keys and, where the set is closed, their values (usbguard-daemon.conf(5), 1.1.x).
DAEMON_KEYS = {
    "RuleFile": None,
    "RuleFolder": None,
    "ImplicitPolicyTarget": ("allow", "block", "reject"),
    "PresentDevicePolicy": ("allow", "block", "reject", "keep", "apply-policy"),
    "PresentControllerPolicy": ("allow", "block", "reject", "keep", "apply-policy"),
    "InsertedDevicePolicy": ("block", "reject", "apply-policy"),
    "AuthorizedDefault": ("keep", "none", "all", "internal"),
    "RestoreControllerDeviceState": ("true", "false"),
    "DeviceManagerBackend": ("uevent", "umockdev"),
    "IPCAllowedUsers": None,
    "IPCAllowedGroups": None,
    "IPCAccessControlFiles": None,
    "DeviceRulesWithPort": ("true", "false"),
    "AuditBackend": ("FileAudit", "LinuxAudit"),
    "AuditFilePath": None,
    "HidePII": ("true", "false"),
}
# Values that would let in devices no rule allows: they defeat clause 6-17, refused as input.
CLAUSE_VALUES = {
    "ImplicitPolicyTarget": ("block", "reject"),
    "PresentDevicePolicy": ("block", "reject", "apply-policy"),
    "InsertedDevicePolicy": ("block", "reject", "apply-policy"),
    "AuthorizedDefault": ("none", "internal", "keep"),
}
_NAME_RE = re.compile(r"[a-z_][a-z0-9_.-]*\$?")
# The managed rules file in RuleFolder (the daemon loads the folder's files in name order): a plain
# file name, no '/', no leading '.' (not '..', not hidden), no blank or control character.
RULES_FILE_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}")

MODPROBE_TEXT = (
    "# Managed by pii_guard.safeguards (clause 6-17, prohibit mode): USB storage drivers cannot\n"
    "# load, so storage stays impossible even when usbguard is stopped.\n"
    "install usb-storage /bin/false\n"
    "install uas /bin/false\n"
    "blacklist usb-storage\n"
    "blacklist uas\n"
)


class PolicyError(ValueError):
    """Bad input for the policy (mode, settings)."""


# ------------------------------------------------------------------ strings


def escape(value):
    """Quote a string the way usbguard prints it: printable ASCII as is, \\" and \\\\, other bytes \\xHH."""
    out = []
    for byte in str(value).encode("utf-8"):
        ch = chr(byte)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif 0x20 <= byte < 0x7F:
            out.append(ch)
        else:
            out.append("\\x%02x" % byte)
    return '"' + "".join(out) + '"'


def unescape(quoted):
    """Inverse of escape() for the inner part of a usbguard string (bytes decoded as UTF-8)."""
    raw = bytearray()
    i = 0
    while i < len(quoted):
        ch = quoted[i]
        if ch == "\\" and i + 1 < len(quoted):
            nxt = quoted[i + 1]
            if nxt == "x" and re.match(r"[0-9a-fA-F]{2}", quoted[i + 2 : i + 4]):
                raw.append(int(quoted[i + 2 : i + 4], 16))
                i += 4
                continue
            raw.extend(nxt.encode("utf-8"))
            i += 2
            continue
        raw.extend(ch.encode("utf-8"))
        i += 1
    return raw.decode("utf-8", "replace")


# ------------------------------------------------------------------ rendering


def entry_rule(entry):
    """The allow rule of one active register entry."""
    parts = ["allow", "id", entry["id"]]
    if entry.get("serial") is not None:
        parts += ["serial", escape(entry["serial"])]
    if entry.get("hash") is not None:
        parts += ["hash", escape(entry["hash"])]
    # The label carries the asset tag into `usbguard list-rules`; usbguard ignores it for matching.
    parts += ["label", escape("pii-guard:%s" % entry["label"])]
    return " ".join(parts)


def select_entries(active, host_groups, block_optical=True):
    """Split active entries into (rendered, skipped) for this host; skipped carry a reason.

    Registered smartphones are rendered (the register is the exception to the MTP/PTP block);
    registered optical drives only when usb_storage_block_optical is false (as on Windows,
    where that switch denies the CD/DVD class outright).
    """
    rendered, skipped = [], []
    for e in active:
        if not applies_to(e, host_groups):
            skipped.append(dict(e, reason="not for this host's groups"))
        elif e.get("kind") == "optical" and block_optical:
            skipped.append(dict(e, reason="optical drives blocked (usb_storage_block_optical)"))
        else:
            rendered.append(e)
    return rendered, skipped


SMARTPHONE_RULE = "allow with-interface match-all { 06:01:01 ff:ff:00 }"


def render_rules(mode, entries, block_smartphones=True, allow_audio=False, allow_serial=False):
    """The rules file for ``mode`` and the (already selected) active register entries.

    prohibit           -> HID/hub only; every other device falls to ImplicitPolicyTarget=block.
    agency_issued_only -> HID/hub + one allow rule per registered device (+ MTP/PTP-only
                          devices when block_smartphones is false).
    audit_only         -> as agency_issued_only, then a final catch-all ``allow`` so nothing is
                          blocked while usbguard still audits every device (rollout phase).
    """
    if mode not in MODES:
        raise PolicyError("usb_storage_mode %r is not one of %s" % (mode, ", ".join(MODES)))
    lines = [
        HEADER,
        "# mode: %s" % mode,
        "# keyboards, mice, hubs and smartcard readers are always allowed (every interface must be one)",
        base_rule(allow_audio, allow_serial),
    ]
    if mode in ("agency_issued_only", "audit_only"):
        lines.append("# agency-issued devices from the register (active entries only)")
        for e in sorted(entries, key=lambda e: (e["label"], e["id"], e.get("serial") or "")):
            lines.append(entry_rule(e))
        if not block_smartphones:
            lines.append("# usb_storage_block_smartphones: false -> devices with only MTP/PTP interfaces")
            lines.append(SMARTPHONE_RULE)
    if mode == "audit_only":
        lines.append("# audit_only: allow everything else (rollout phase; usbguard still audits)")
        lines.append("allow")
    return "\n".join(lines) + "\n"


def digest(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def rule_lines(text):
    """Non-comment, non-blank lines of a rules file."""
    return [ln.strip() for ln in (text or "").splitlines() if ln.strip() and not ln.strip().startswith("#")]


# ------------------------------------------------------------------ parsing rules and devices

_TOKEN_RE = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|(\{|\})|([^\s{}"]+))')


def tokenize(text):
    """Split a usbguard rule into tokens; strings are returned as ('str', value)."""
    tokens = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            raise PolicyError("cannot tokenize usbguard rule at %d: %r" % (pos, text))
        if m.group(1) is not None:
            tokens.append(("str", unescape(m.group(1))))
        elif m.group(2) is not None:
            tokens.append(("brace", m.group(2)))
        else:
            tokens.append(("word", m.group(3)))
        pos = m.end()
    return tokens


_SET_OPS = ("all-of", "one-of", "none-of", "equals", "equals-ordered", "match-all")


def parse_rule(text):
    """Parse one rule (or one `usbguard list-devices` line without its 'N: ' prefix).

    Returns {target, id, serial, name, hash, parent-hash, via-port, with-interface: [..],
    with-connect-type, label}; set operators are kept under '<attr>-op'.
    """
    tokens = tokenize(text)
    if not tokens or tokens[0][0] != "word" or tokens[0][1] not in ("allow", "block", "reject"):
        raise PolicyError("not a usbguard rule: %r" % (text,))
    out = {"target": tokens[0][1]}
    i = 1
    while i < len(tokens):
        kind, attr = tokens[i]
        if kind != "word":
            raise PolicyError("unexpected %r in %r" % (attr, text))
        i += 1
        values = []
        op = None
        if i < len(tokens) and tokens[i] == ("word", attr):
            raise PolicyError("repeated attribute %r in %r" % (attr, text))
        if i < len(tokens) and tokens[i][0] == "word" and tokens[i][1] in _SET_OPS:
            op = tokens[i][1]
            i += 1
        if i < len(tokens) and tokens[i] == ("brace", "{"):
            i += 1
            while i < len(tokens) and tokens[i] != ("brace", "}"):
                values.append(tokens[i][1])
                i += 1
            i += 1
        elif i < len(tokens):
            values.append(tokens[i][1])
            i += 1
        if attr == "with-interface":
            out[attr] = values
        else:
            out[attr] = values[0] if len(values) == 1 else values
        if op:
            out[attr + "-op"] = op
    return out


_DEVICE_LINE_RE = re.compile(r"^\s*(\d+):\s+(.*)\Z")


def parse_list_devices(output):
    """Parse `usbguard list-devices` output into device dicts (number, target, id, ...)."""
    devices = []
    for line in (output or "").splitlines():
        m = _DEVICE_LINE_RE.match(line)
        if not m:
            continue
        dev = parse_rule(m.group(2))
        dev["number"] = int(m.group(1))
        devices.append(dev)
    return devices


# ------------------------------------------------------------------ policy evaluation (evidence)


def _pattern_match(pattern, iface):
    pp, vv = pattern.split(":"), iface.split(":")
    if len(pp) != len(vv):
        return False
    return all(p == "*" or p.lower() == v.lower() for p, v in zip(pp, vv))  # noqa: B905 (lengths checked)


def interfaces_match_any(interfaces, patterns):
    return any(_pattern_match(p, i) for i in interfaces or () for p in patterns)


def is_hid_or_hub(interfaces, patterns=HID_HUB_PATTERNS):
    """All interfaces are of the always-allowed classes (the base rule's `match-all`)."""
    interfaces = interfaces or []
    return bool(interfaces) and all(any(_pattern_match(p, i) for p in patterns) for i in interfaces)


def device_row(vid_pid, serial, name, device_hash, interfaces, authorized, target, port, number=None):
    """The one shape of a connected USB device: usb_devices_info's facts, usbguard_policy's evidence."""
    interfaces = list(interfaces or [])
    row = {
        "id": vid_pid,
        "serial": serial or "",
        "name": name or "",
        "hash": device_hash,
        "interfaces": interfaces,
        "authorized": authorized,
        "target": target,
        "port": port,
        "storage": interfaces_match_any(interfaces, STORAGE_PATTERNS),
        "smartphone": interfaces_match_any(interfaces, SMARTPHONE_PATTERNS),
        "classes": usb_classes(interfaces),
    }
    if number is not None:
        row["number"] = number
    return row


def listed_device_row(d):
    """device_row() of one parsed `usbguard list-devices` line."""
    return device_row(
        d.get("id"),
        d.get("serial"),
        d.get("name"),
        d.get("hash"),
        d.get("with-interface"),
        d.get("target") == "allow",
        d.get("target"),
        d.get("via-port"),
        d.get("number"),
    )


def is_recording(interfaces):
    return interfaces_match_any(interfaces, RECORDING_PATTERNS)


def matching_entry(device, entries):
    """The rendered register entry that allows ``device`` (a parsed list-devices dict), or None."""
    for e in entries:
        if str(device.get("id", "")).lower() != e["id"]:
            continue
        if e.get("serial") is not None and device.get("serial") != e["serial"]:
            continue
        if e.get("hash") is not None and device.get("hash") != e["hash"]:
            continue
        return e
    return None


def expected_target(mode, device, entries, block_smartphones=True, allow_audio=False, allow_serial=False):
    """What the policy of ``mode`` decides for ``device``: 'allow' or 'block'.

    In audit_only this is what agency_issued_only *would* decide, so the report lists the
    devices the rollout would block.
    """
    interfaces = device.get("with-interface") or []
    if is_hid_or_hub(interfaces, allowed_patterns(allow_audio, allow_serial)):
        return "allow"
    if mode in ("agency_issued_only", "audit_only"):
        if matching_entry(device, entries):
            return "allow"
        if not block_smartphones and all(i.lower() in SMARTPHONE_PATTERNS for i in interfaces) and interfaces:
            return "allow"
    return "block"


# ------------------------------------------------------------------ daemon configuration


def validate_daemon_settings(settings):
    """Refuse unknown keys and values outside usbguard's closed sets; returns normalised strs."""
    out = {}
    for key, value in (settings or {}).items():
        if key not in DAEMON_KEYS:
            raise PolicyError("usbguard daemon setting %r is not a usbguard-daemon.conf key" % (key,))
        value = ("true" if value else "false") if isinstance(value, bool) else str(value)
        allowed = DAEMON_KEYS[key]
        if allowed and value not in allowed:
            raise PolicyError("usbguard daemon setting %s=%r is not one of %s" % (key, value, ", ".join(allowed)))
        if not value.isprintable():
            raise PolicyError("usbguard daemon setting %s=%r has a line break or control character" % (key, value))
        if key in CLAUSE_VALUES and value not in CLAUSE_VALUES[key]:
            raise PolicyError(
                "usbguard daemon setting %s=%s defeats clause 6-17 (devices no rule allows would be let in); "
                "expected one of %s" % (key, value, ", ".join(CLAUSE_VALUES[key]))
            )
        if key in ("IPCAllowedUsers", "IPCAllowedGroups"):
            for name in value.split():
                if not _NAME_RE.fullmatch(name):
                    raise PolicyError("usbguard daemon setting %s=%r: %r is not a user/group name" % (key, value, name))
        out[key] = value
    return out


USBGUARD_DIR = "/etc/usbguard"


def role_option_errors(ipc_groups, rules_file_name):
    """Errors of usb_storage_ipc_groups and usb_storage_rules_file_name, named by variable, checked on
    the controller (the module gets them as IPCAllowedGroups and rules_file_name)."""
    errors = []
    try:
        validate_daemon_settings({"IPCAllowedGroups": ipc_groups})
    except PolicyError as e:
        errors.append("usb_storage_ipc_groups %r is not space-separated group names: %s" % (ipc_groups, e))
    if not isinstance(rules_file_name, str) or not RULES_FILE_NAME_RE.fullmatch(rules_file_name):
        errors.append(
            "usb_storage_rules_file_name %r must be a plain file name in usbguard's RuleFolder (letters, digits, "
            "'_.-', not starting with '.'; e.g. 50-pii-guard.conf)" % (rules_file_name,)
        )
    return errors


def settings_errors(settings, root=USBGUARD_DIR):
    """Errors of the role's usb_storage_daemon_settings, checked on the controller (no host paths)."""
    try:
        validate_daemon_settings(settings)
    except PolicyError as e:
        return ["usb_storage_daemon_settings: %s" % e]
    errors = []
    for key in ("RuleFolder", "RuleFile"):
        value = (settings or {}).get(key)
        if value is None:
            continue
        norm = os.path.normpath(str(value))
        if not norm.startswith(root + "/") or not os.path.isabs(norm):
            errors.append(
                "usb_storage_daemon_settings: %s %r must be a path inside %s/ (the policy removes or empties "
                "other rule sources)" % (key, value, root)
            )
    return errors


def outside(root, path):
    """Why ``path`` may not be a rule source, or None when it lies strictly inside ``root``.

    Symlinks are resolved: a rule folder linked to /etc is /etc. The managed policy removes or
    empties other rule sources (exclusive mode), so a folder or file outside the usbguard
    directory, or that directory itself, would take the host's other files with it.
    """
    real, real_root = os.path.realpath(path), os.path.realpath(root)
    if real == real_root:
        return "is the usbguard directory %s itself" % real_root
    if not real.startswith(real_root.rstrip(os.sep) + os.sep):
        return "is outside the usbguard directory %s" % real_root
    return None


def parse_conf(text):
    """key=value lines of usbguard-daemon.conf (last one wins, like the daemon)."""
    out = {}
    for line in (text or "").splitlines():
        s = line.strip()
        if not s or s.startswith("#") or "=" not in s:
            continue
        k, v = s.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def render_conf(text, settings):
    """``text`` with each key of ``settings`` set: first occurrence replaced in place, later
    duplicates dropped, missing keys appended. Comments and other keys are kept."""
    seen = set()
    lines = []
    for line in (text or "").splitlines():
        s = line.strip()
        if s and not s.startswith("#") and "=" in s:
            k = s.split("=", 1)[0].strip()
            if k in settings:
                if k in seen:
                    continue
                seen.add(k)
                lines.append("%s=%s" % (k, settings[k]))
                continue
        lines.append(line)
    missing = [k for k in settings if k not in seen]
    if missing:
        lines.append("# pii_guard.safeguards (clause 6-17)")
        lines.extend("%s=%s" % (k, settings[k]) for k in missing)
    return "\n".join(lines) + "\n"
