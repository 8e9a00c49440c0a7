# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The register file of playbooks/usb_devices.yml (clause 6-17), on the controller.

The file lives in inventory group_vars, which Ansible templates when it loads them. Every string
is therefore written with the ``!unsafe`` tag (Ansible never evaluates it) or, when YAML would
read it as another type (``'0012'``, ``'no'``), quoted without it (see _represent_str), and the lifecycle
inputs are validated with the register's strict text patterns (no Jinja delimiters, quotes or
line breaks) before anything is written. The file must hold only ``usb_storage_devices``: it is
rewritten whole, so a file holding other settings (``group_vars/all.yml``) is refused.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import time

import yaml

from ansible_collections.pii_guard.safeguards.plugins.module_utils.common import hostfile
from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb.register import (
    GROUP_RE,
    ID_RE,
    KINDS,
    RegisterError,
    check_text,
    enrol,
    jsonable,
    replace,
    revoke,
    validate_register,
)

KEY = "usb_storage_devices"
ACTIONS = ("enrol", "replace", "revoke")
HEADER = (
    "---\n"
    "# Register of agency-issued USB devices (clause 6-17). Edited by playbooks/usb_devices.yml.\n"
    "# Strings are tagged !unsafe (or quoted, when they look like numbers): Ansible never templates them.\n"
)


class RegisterFileError(ValueError):
    """A register file or lifecycle input that cannot be used; the message names it."""


# ------------------------------------------------------------------ YAML with !unsafe


class _Loader(yaml.SafeLoader):
    """Safe YAML that reads Ansible's ``!unsafe`` tag as a plain string."""


def _construct_unsafe(loader, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    raise yaml.constructor.ConstructorError(None, None, "!unsafe on a non-scalar", node.start_mark)


_Loader.add_constructor("!unsafe", _construct_unsafe)


class _Dumper(yaml.SafeDumper):
    """Every string as ``!unsafe '...'``; dates as tagged ISO strings."""


_STR_TAG = "tag:yaml.org,2002:str"


def _represent_str(dumper, value):
    # ansible-core 2.19 resolves an !unsafe scalar as if it were plain, quotes ignored: !unsafe '0012'
    # is the int 10, !unsafe 'no' False, !unsafe '' None. A string YAML would read as another type
    # is written quoted without the tag (it is a number, bool, date or null lookalike: it holds no
    # '{', so Ansible has nothing to template in it); every other string keeps !unsafe.
    if dumper.resolve(yaml.ScalarNode, value, (True, False)) != _STR_TAG:
        return dumper.represent_scalar(_STR_TAG, value, style="'")
    return dumper.represent_scalar("!unsafe", value, style="'")


def _represent_date(dumper, value):
    return _represent_str(dumper, value.isoformat())


def _represent_dict(dumper, value):
    # Keys are the register's fixed field names: plain; values tagged by the representers above.
    pairs = [(yaml.ScalarNode("tag:yaml.org,2002:str", str(k)), dumper.represent_data(v)) for k, v in value.items()]
    return yaml.MappingNode("tag:yaml.org,2002:map", pairs, flow_style=False)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(datetime.date, _represent_date)
_Dumper.add_representer(dict, _represent_dict)


def parse(text, path):
    """The register list of a register file's text; refuses other keys and other shapes."""
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as e:
        raise RegisterFileError("usb_register_file %s is not valid YAML: %s" % (path, e))
    if data is None:
        return []
    if not isinstance(data, dict):
        raise RegisterFileError("usb_register_file %s must be a mapping with the key %s" % (path, KEY))
    other = sorted(str(k) for k in data if k != KEY)
    if other:
        raise RegisterFileError(
            "usb_register_file %s holds other keys (%s) besides %s: the lifecycle playbook rewrites the whole "
            "file and would drop them. Keep the register in a file of its own "
            "(e.g. group_vars/all/usb_devices.yml) and point usb_register_file at it" % (path, ", ".join(other), KEY)
        )
    entries = data.get(KEY)
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise RegisterFileError("usb_register_file %s: %s must be a list, got %r" % (path, KEY, entries))
    return entries


def render(entries):
    """The register file's text: the header, then every string tagged !unsafe."""
    body = yaml.dump({KEY: list(entries)}, Dumper=_Dumper, default_flow_style=False, sort_keys=False, width=1000)
    return HEADER + body


def read(path, first):
    """(entries, text or None) of the register file; a missing file only when ``first``."""
    if not path:
        raise RegisterFileError("usb_register_file is empty: set it to the register file in inventory group_vars")
    if os.path.isdir(path):
        raise RegisterFileError("usb_register_file %s is a directory, not a file" % path)
    if not os.path.exists(path):
        if not first:
            raise RegisterFileError(
                "usb_register_file %s does not exist. Check the path (a typo would start an empty register and "
                "block every other registered device); for the very first register set usb_register_first=true" % path
            )
        if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise RegisterFileError("usb_register_file %s: directory %s does not exist" % (path, os.path.dirname(path)))
        return [], None
    if first:
        raise RegisterFileError(
            "usb_register_first=true but usb_register_file %s already exists: it would be replaced; "
            "drop usb_register_first to update it" % path
        )
    with open(path, "r", encoding="utf-8") as fh:
        text = fh.read()
    return parse(text, path), text


def write(path, text, stamp=None):
    """Atomic write beside the file, keeping the previous version as ``<name>.<stamp>~``.

    The ``~`` suffix makes Ansible's group_vars loader skip the backup. Returns the backup path.
    """
    backup = None
    mode = 0o644
    if os.path.exists(path):
        mode = os.stat(path).st_mode & 0o777
        backup = "%s.%s~" % (path, stamp or time.strftime("%Y%m%dT%H%M%S"))
        with open(path, "rb") as src, open(backup, "wb") as dst:
            dst.write(src.read())
        os.chmod(backup, mode)
    # The file must read back as the same register (and nothing Ansible would template).
    # read() has checked that the directory exists (an inventory directory is never created here).
    hostfile.atomic_write(os.path.abspath(path), text, mode, validate=lambda _tmp: parse(text, path))
    return backup


# ------------------------------------------------------------------ lifecycle inputs

# Free-text inputs and whether they are serials (ASCII) for the text check. The action plugin
# reads them from the play's variables untemplated (see there why).
_TEXT_INPUTS = (
    ("usb_label", False),
    ("usb_owner", False),
    ("usb_reason", False),
    ("usb_serial", True),
    ("usb_old_serial", True),
    ("usb_new_serial", True),
)
RAW_INPUTS = (*tuple(name for name, _serial in _TEXT_INPUTS), "usb_new_id")


def check_inputs(args):
    """Every lifecycle input at once; returns the list of errors (each naming the variable)."""
    errors = []
    action = args.get("usb_action")
    for name, serial in _TEXT_INPUTS:
        value = args.get(name)
        if value not in (None, ""):
            try:
                check_text(value, name, serial=serial)
            except RegisterError as e:
                errors.append(str(e))
    new_id = args.get("usb_new_id")
    if new_id not in (None, "") and not ID_RE.fullmatch(new_id):
        errors.append("usb_new_id %r is not a VID:PID of four hex digits each (e.g. '46f4:0001')" % (new_id,))
    if args.get("usb_kind") not in (None, "") and args["usb_kind"] not in KINDS:
        errors.append("usb_kind %r is not one of %s" % (args["usb_kind"], ", ".join(KINDS)))
    for g in args.get("usb_groups") or []:
        if not GROUP_RE.fullmatch(g):
            errors.append("usb_groups entry %r is not an inventory group name" % (g,))
    for name in ("usb_today", "usb_expires_on"):
        if args.get(name) not in (None, ""):
            try:
                datetime.date.fromisoformat(args[name])
            except ValueError:
                errors.append("%s %r is not a date (YYYY-MM-DD)" % (name, args[name]))

    def need(name, why):
        if args.get(name) in (None, ""):
            errors.append("%s is required %s" % (name, why))

    if action in ("enrol", "replace"):
        need("usb_label", "to %s (the asset tag of the new device)" % action)
        direct = args.get("usb_new_id") not in (None, "") and args.get("usb_new_serial") not in (None, "")
        if args.get("usb_enrolment_host") in (None, "") and not direct:
            errors.append(
                "%s needs usb_enrolment_host (the host the new device is plugged into) "
                "or both usb_new_id and usb_new_serial" % action
            )
    if action == "replace":
        need("usb_old_serial", "to replace (the serial of the device being replaced)")
    if action == "revoke":
        need("usb_serial", "to revoke (the serial of the device to revoke)")
    return errors


def pick_device(devices, register=None, serial=None):
    """The one recording device (storage or smartphone) on the enrolment host to enrol.

    With ``serial`` the device with that serial; otherwise exactly one recording device whose
    serial is not yet in the register must be connected.
    """
    known = set(str(e.get("serial")) for e in (register or []) if isinstance(e, dict) and e.get("serial"))
    recording = [d for d in devices or [] if d.get("storage") or d.get("smartphone")]
    if serial:
        hits = [d for d in recording if d.get("serial") == str(serial)]
    else:
        hits = [d for d in recording if d.get("serial") not in known]
    if len(hits) != 1:
        seen = ", ".join("%s serial %r (%s)" % (d.get("id"), d.get("serial"), d.get("name")) for d in recording)
        raise RegisterFileError(
            "enrolment host: expected exactly one %s recording device, found %d; connected: %s"
            % ("matching serial %r" % serial if serial else "unregistered", len(hits), seen or "none")
        )
    d = hits[0]
    out = {"id": d["id"], "kind": "smartphone" if d.get("smartphone") and not d.get("storage") else "storage"}
    if d.get("serial"):
        out["serial"] = d["serial"]
    if d.get("hash"):
        out["hash"] = d["hash"]
    return out


def _clean(device):
    # Unset optional inputs arrive as None or "".
    return dict((k, v) for k, v in (device or {}).items() if v not in (None, "", []))


def new_entry(args, device, today):
    """The register entry to enrol: the device (picked or given) plus the operator's inputs."""
    if device is None:
        device = {"id": args["usb_new_id"], "serial": args["usb_new_serial"], "kind": args.get("usb_kind") or "storage"}
    entry = dict(device)
    entry.update(
        {
            "label": args.get("usb_label"),
            "owner": args.get("usb_owner"),
            "issued_on": today.isoformat(),
            "expires_on": args.get("usb_expires_on"),
            "groups": args.get("usb_groups"),
        }
    )
    return _clean(entry)


def update(entries, args, device, today, allow_model_wide=False):
    """Apply one lifecycle step to the register and validate the result (RegisterError names the entry)."""
    entries = [jsonable(e) if isinstance(e, dict) else e for e in (entries or [])]
    validate_register(entries, today, allow_model_wide=allow_model_wide)
    action = args["usb_action"]
    if action == "enrol":
        new = enrol(entries, new_entry(args, device, today), today)
    elif action == "replace":
        new = replace(entries, args["usb_old_serial"], new_entry(args, device, today), today)
    else:
        new = revoke(entries, args["usb_serial"], today, reason=args.get("usb_reason") or "lost")
    validate_register(new, today, allow_model_wide=allow_model_wide)
    # Drop empty keys so the register file stays readable.
    return [dict((k, v) for k, v in jsonable(e).items() if v not in (None, "")) for e in new]
