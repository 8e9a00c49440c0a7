# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Documentation: plugins/modules/windows_usb_plan.py (ansible-doc reads module docs there).
# Runs on the controller only: it never connects to the Windows host.

import datetime

from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.windows import usb as windows_usb
from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb.register import RegisterError
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.windows_plan import WindowsPlanAction, plain

ARGSPEC = {
    "mode": {"type": "str", "required": True},
    "devices": {"type": "list", "elements": "raw", "default": []},
    "today": {"type": "str"},
    "host_groups": {"type": "list", "elements": "str"},
    "block_smartphones": {"type": "raw", "default": True},
    "block_optical": {"type": "raw", "default": True},
    "allow_model_wide": {"type": "bool", "default": False},
    "windows_instance_ids": {"type": "dict", "default": {}},
    "allow_audio": {"type": "raw", "default": True},
    "allow_serial": {"type": "raw", "default": True},
    "approved_classes": {"type": "raw", "default": []},
    "reads": {"type": "list", "elements": "dict"},
    "audit_current": {"type": "dict"},
}


class ActionModule(WindowsPlanAction):
    ARGSPEC = ARGSPEC
    PLAN_ERRORS = (windows_usb.PlanError, RegisterError)

    def plan(self, args, task_vars, result):
        if args.get("today"):
            try:
                today = datetime.date.fromisoformat(args["today"])
            except ValueError:
                return dict(result, failed=True, msg="today %r is not a date (YYYY-MM-DD)" % (args["today"],))
        else:
            today = datetime.date.today()
        groups = args.get("host_groups")
        if groups is None:
            groups = task_vars.get("group_names", [])
        planned = windows_usb.plan(
            args["mode"],
            plain(args["devices"]),
            today,
            host_groups=groups,
            block_smartphones=args["block_smartphones"],
            block_optical=args["block_optical"],
            allow_model_wide=args["allow_model_wide"],
            extra_instance_ids=plain(args["windows_instance_ids"]),
            allow_audio=args["allow_audio"],
            allow_serial=args["allow_serial"],
            approved_classes=plain(args["approved_classes"]),
        )
        result.update(planned)
        if args.get("reads") is None:
            return result
        host = plain(args.get("audit_current") or {})
        regdiff = windows_usb.diff(planned, plain(args["reads"]), host.get("boot_time"))
        audit_calls, audit_bad = windows_usb.audit_drift(planned, host)
        will_change = bool(regdiff["changes"] or audit_calls)
        result["registry_changes"] = regdiff["changes"]
        result["audit_changes"] = audit_calls
        result["drift"] = regdiff["drift"] + audit_bad
        result["pending_restart"] = regdiff["pending"]
        result["findings"] = windows_usb.findings(
            planned,
            regdiff,
            audit_bad,
            will_change,
            self.in_check_mode(),
            args["mode"],
            present=host.get("present_devices") or [],
        )
        return result
