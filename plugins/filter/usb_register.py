# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: validate the clause 6-17 device register on the controller, before any host is touched."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Documentation: usb_register_validate.yml, usb_register_update.yml, usb_pick_device.yml beside this file.

import datetime
import json

from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display
from ansible_collections.pii_guard.safeguards.plugins.module_utils.common.dates import iso_date
from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb.register import (
    RegisterError,
    enrol,
    jsonable,
    replace,
    revoke,
    validate_register,
)
from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb.usbguard import MODES, settings_errors
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.inputs import as_bool, collect
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.usb_register_file import (
    RegisterFileError,
    pick_device,
)


def usb_register_validate(
    entries, today=None, allow_model_wide=False, mode=None, switches=None, warn=False, daemon_settings=None
):
    """The register, and optionally the role's mode and switches, in one pass (one task per host).

    Every bad mode or switch is named with its value in one error; register warnings become
    Ansible warnings when ``warn`` is true.
    """
    errors = []
    if mode is not None and mode not in MODES:
        errors.append("usb_storage_mode %s is not one of %s" % (json.dumps(mode), ", ".join(MODES)))
    # -e usb_storage_block_smartphones=false is the string "false": coerced as argument specs do.
    for name, value in sorted((switches or {}).items()):
        errors += collect(lambda name=name, value=value: as_bool(name, value))
    errors += collect(lambda: as_bool("usb_storage_allow_model_wide", allow_model_wide))
    if daemon_settings is not None:
        if isinstance(daemon_settings, dict):
            errors.extend(settings_errors(daemon_settings))
        else:
            errors.append("usb_storage_daemon_settings must be a mapping, got %s" % json.dumps(daemon_settings))
    if errors:
        raise AnsibleFilterError("; ".join(errors))
    allow_model_wide = as_bool("usb_storage_allow_model_wide", allow_model_wide)
    day = iso_date(today, strict=True) if today else datetime.date.today()
    if day is None:
        raise AnsibleFilterError("usb_storage_today %r is not a date (YYYY-MM-DD)" % (today,))
    try:
        res = validate_register(entries, day, allow_model_wide=bool(allow_model_wide))
    except RegisterError as e:
        raise AnsibleFilterError(str(e))
    if warn:
        for w in res.warnings:
            Display().warning("usb_storage_devices: %s" % w)
    return {
        "active": [jsonable(e) for e in res.active],
        "inactive": [jsonable(e) for e in res.inactive],
        "warnings": res.warnings,
    }


def _day(today):
    day = iso_date(today, strict=True) if today else datetime.date.today()
    if day is None:
        raise AnsibleFilterError("date %r is not YYYY-MM-DD" % (today,))
    return day


def _clean(device):
    # Unset optional playbook inputs arrive as None.
    return dict((k, v) for k, v in (device or {}).items() if v not in (None, ""))


def usb_register_update(entries, action, device=None, serial=None, today=None, reason="lost", allow_model_wide=False):
    """Apply one lifecycle step (enrol | replace | revoke) and validate the result.

    enrol: append ``device``; replace: revoke ``serial`` and enrol ``device`` in one step;
    revoke: mark ``serial`` revoked. Returns the new register (dates as ISO strings).
    """
    day = _day(today)
    entries = [jsonable(e) if isinstance(e, dict) else e for e in (entries or [])]
    try:
        validate_register(entries, day, allow_model_wide=bool(allow_model_wide))
        if action == "enrol":
            new = enrol(entries, _clean(device), day)
        elif action == "replace":
            if not serial:
                raise RegisterError("replace: usb_old_serial (the device being replaced) is required")
            new = replace(entries, str(serial), _clean(device), day)
        elif action == "revoke":
            if not serial:
                raise RegisterError("revoke: usb_serial (the device to revoke) is required")
            new = revoke(entries, str(serial), day, reason=reason or "lost")
        else:
            raise RegisterError("usb_action %r is not one of enrol, replace, revoke" % (action,))
        validate_register(new, day, allow_model_wide=bool(allow_model_wide))
    except RegisterError as e:
        raise AnsibleFilterError(str(e))
    # Drop empty keys so the register file stays readable.
    return [dict((k, v) for k, v in jsonable(e).items() if v not in (None, "")) for e in new]


def usb_pick_device(devices, register=None, serial=None):
    """The one recording device (storage or smartphone) on the enrolment host to enrol."""
    try:
        return pick_device(devices, register=register, serial=serial)
    except RegisterFileError as e:
        raise AnsibleFilterError(str(e))


class FilterModule(object):
    def filters(self):
        return {
            "usb_register_validate": usb_register_validate,
            "usb_register_update": usb_register_update,
            "usb_pick_device": usb_pick_device,
        }
