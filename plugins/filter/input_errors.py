# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: the input errors of one role (or of --tags), for the validation phase (issue 12).

Input: a mapping of variable name -> value, so every message names the variable it is about.
Logic: plugins/plugin_utils/inputs.py. Documentation: input_errors.yml beside this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleFilterError
from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin import policy as admin_policy
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import catalog
from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb import usbguard
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import inputs

USB_REGISTER_STRINGS = ("id", "serial", "hash", "label", "owner", "state", "kind")


def _usb_storage(v):
    errors = inputs.register_strings("usb_storage_devices", v.get("usb_storage_devices"), USB_REGISTER_STRINGS)
    # Both reach the host's usbguard files through the module: refused here, by name, before any change.
    errors += usbguard.role_option_errors(
        v.get("usb_storage_ipc_groups", "root"), v.get("usb_storage_rules_file_name", "50-pii-guard.conf")
    )
    settings = v.get("usb_storage_daemon_settings") or {}
    if not isinstance(settings, dict):
        errors.append("usb_storage_daemon_settings must be a mapping, got %s" % inputs.show(settings))
    else:
        try:
            usbguard.validate_daemon_settings(settings)
        except usbguard.PolicyError as e:
            errors.append("usb_storage_daemon_settings: %s" % e)
    for name in ("usb_storage_block_smartphones", "usb_storage_block_optical", "usb_storage_allow_model_wide"):
        if name in v:
            errors += inputs.collect(lambda name=name: inputs.as_bool(name, v[name]))
    return errors


def _admin_privileges(v):
    def lst(name):
        value = v.get(name) or []
        return value if isinstance(value, list) else [value]

    errors = []
    for name in ("admin_privileges_approved_users", "admin_privileges_approved_groups",
                 "admin_privileges_admin_groups", "admin_privileges_nopasswd_approved"):  # fmt: skip
        for i, n in enumerate(lst(name)):
            if not isinstance(n, str):
                errors.append("%s[%d] must be a string, got %s" % (name, i, inputs.show(n)))
    errors += inputs.register_strings(
        "admin_privileges_temporary", lst("admin_privileges_temporary"), ("user", "reason", "ticket")
    )
    errors += admin_policy.validate(
        [n for n in lst("admin_privileges_approved_users") if isinstance(n, str)],
        [n for n in lst("admin_privileges_approved_groups") if isinstance(n, str)],
        [n for n in lst("admin_privileges_admin_groups") if isinstance(n, str)],
        lst("admin_privileges_temporary"),
        [n for n in lst("admin_privileges_nopasswd_approved") if isinstance(n, str)],
    )
    return errors


def _download_alert(v):
    errors = []
    if "download_alert_review_interval_days" in v:
        # Bounded: a review date plus a huge interval is past the calendar (OverflowError).
        errors += inputs.collect(
            lambda: inputs.as_int(
                "download_alert_review_interval_days", v["download_alert_review_interval_days"], 1, 3660
            )
        )
    if "download_alert_pg_version" in v or "download_alert_pg_cluster" in v:
        errors += inputs.pg_cluster_errors(v.get("download_alert_pg_version"), v.get("download_alert_pg_cluster"))
    errors += inputs.pg_jsonlog_rotate_errors(v)
    return errors + inputs.download_alert_errors(
        v.get("download_alert_datasets"),
        v.get("download_alert_channels"),
        v.get("download_alert_reviewed_on"),
        v.get("download_alert_service_user"),
    )


def _system_room(v):
    errors = []
    for name in ("system_room_footage_review_max_age_days", "system_room_inspection_max_age_days"):
        if name in v:
            errors += inputs.collect(lambda name=name: inputs.as_int(name, v[name], minimum=1))
    for name in ("system_room_block_optical", "system_room_console_audit"):
        if name in v:
            errors += inputs.collect(lambda name=name: inputs.as_bool(name, v[name]))
    if "system_room_audit_rules_path" in v:
        errors += inputs.audit_rules_path_errors("system_room_audit_rules_path", v["system_room_audit_rules_path"])
    if "system_room_pam_service_file" in v:
        errors += inputs.pam_service_file_errors("system_room_pam_service_file", v["system_room_pam_service_file"])
    return errors


def _tags(v):
    doc = catalog.load()
    valid = set(doc.get("clauses", {})) | set(catalog.by_id(doc))
    return inputs.tag_errors([str(t) for t in v.get("tags") or []], valid)


def _report(v):
    d = v.get("pii_guard_audit_report_dir")
    if not isinstance(d, str) or not d or "\n" in d:
        return ["pii_guard_audit_report_dir must be a directory path, got %s" % inputs.show(d)]
    path = os.path.abspath(os.path.expanduser(d))
    probe = path
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        return [
            "pii_guard_audit_report_dir %s: %s is not a directory, so the report cannot be written there"
            % (inputs.show(d), inputs.show(probe))
        ]
    if not os.access(probe, os.W_OK):
        return ["pii_guard_audit_report_dir %s: %s is not writable" % (inputs.show(d), inputs.show(probe))]
    errors = []
    if "pii_guard_audit_fail_on_findings" in v:
        errors += inputs.collect(
            lambda: inputs.as_bool("pii_guard_audit_fail_on_findings", v["pii_guard_audit_fail_on_findings"])
        )
    engine = v.get("pii_guard_audit_engine", "host")
    if engine not in ("host", "roles"):
        errors.append("pii_guard_audit_engine must be host or roles, got %s" % inputs.show(engine))
    return errors


CHECKS = {
    "usb_storage": _usb_storage,
    "admin_privileges": _admin_privileges,
    "download_alert": _download_alert,
    "system_room": _system_room,
    "tags": _tags,
    "report": _report,
}


def input_errors(variables, area):
    if area not in CHECKS:
        raise AnsibleFilterError("input_errors: unknown area %r (known: %s)" % (area, ", ".join(sorted(CHECKS))))
    if not isinstance(variables, dict):
        raise AnsibleFilterError("input_errors: expected a mapping of variable name to value")
    return CHECKS[area](dict(variables))


class FilterModule(object):
    def filters(self):
        return {"input_errors": input_errors}
