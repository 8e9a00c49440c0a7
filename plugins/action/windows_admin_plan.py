# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Documentation: plugins/modules/windows_admin_plan.py (ansible-doc reads module docs there).
# Runs on the controller only: it never connects to the Windows host.

from ansible_collections.pii_guard.safeguards.plugins.module_utils import windows_admin
from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin_policy import LockoutError
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.windows_plan import WindowsPlanAction, plain

ARGSPEC = {
    "approved_members": {"type": "raw", "required": True},
    "builtin_admin_name": {"type": "str", "default": "pg-localadmin"},
    "disable_builtin_admin": {"type": "bool", "default": True},
    "allow_self_removal": {"type": "bool", "default": False},
    "state": {"type": "dict"},
    "operator": {"type": "dict"},
    "reads": {"type": "list", "elements": "dict"},
}


class ActionModule(WindowsPlanAction):
    ARGSPEC = ARGSPEC
    PLAN_ERRORS = (windows_admin.PlanError, LockoutError)

    def plan(self, args, task_vars, result):
        approved = plain(args["approved_members"])
        errors = windows_admin.validate_inputs(approved, args["builtin_admin_name"])
        if errors:
            return dict(result, failed=True, msg="; ".join(errors))
        result["read_keys"] = list(windows_admin.READ_KEYS)
        if args.get("state") is None:
            # First call: inputs are valid; tell the role what to read.
            return result
        planned = windows_admin.plan(
            approved,
            plain(args["state"]),
            plain(args.get("operator") or {}),
            builtin_admin_name=args["builtin_admin_name"],
            disable_builtin_admin=args["disable_builtin_admin"],
            allow_self_removal=args["allow_self_removal"],
        )
        uac_calls, uac_bad = windows_admin.uac_changes(plain(args.get("reads") or []))
        laps = windows_admin.laps_status(plain(args.get("reads") or []))
        will_change = bool(planned["membership"] or planned["secpol"] or uac_calls)
        result.update(planned)
        result["uac_changes"] = uac_calls
        result["laps"] = laps
        result["findings"] = windows_admin.findings(planned, uac_bad, laps, will_change, self.in_check_mode())
        return result
