# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Documentation: plugins/modules/windows_admin_plan.py (ansible-doc reads module docs there).
# Runs on the controller only: it never connects to the Windows host.

from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.windows import admin as windows_admin
from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin.policy import LockoutError
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.windows_plan import WindowsPlanAction, plain

ARGSPEC = {
    "approved_members": {"type": "raw", "required": True},
    "builtin_admin_name": {"type": "str", "default": "pg-localadmin"},
    "disable_builtin_admin": {"type": "bool", "default": True},
    "allow_self_removal": {"type": "bool", "default": False},
    "state": {"type": "dict"},
    "operator": {"type": "dict"},
    "operator_groups": {"type": "list", "elements": "dict"},
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
        state = plain(args["state"])
        operator = dict(plain(args.get("operator") or {}))
        # win_whoami's token groups: the operator's nested path to Administrators.
        operator["groups"] = [g.get("sid") for g in plain(args.get("operator_groups") or []) if isinstance(g, dict)]
        planned = windows_admin.plan(
            approved,
            state,
            operator,
            builtin_admin_name=args["builtin_admin_name"],
            disable_builtin_admin=args["disable_builtin_admin"],
            allow_self_removal=args["allow_self_removal"],
        )
        reads = plain(args.get("reads") or [])
        uac_calls, uac_bad, uac_pending = windows_admin.uac_changes(reads, state.get("boot_time"))
        builtin = dict(planned["builtin_admin"], disabled_after=planned["builtin_disabled_after"])
        laps = windows_admin.laps_status(reads, state.get("local_users") or [], builtin)
        real_uac = [c for c in uac_calls if c["path"] == windows_admin.UAC_PATH]
        will_change = bool(planned["membership"] or planned["secpol"] or real_uac)
        result.update(planned)
        result["uac_changes"] = uac_calls
        result["pending_restart"] = uac_pending
        result["laps"] = laps
        result["findings"] = windows_admin.findings(
            planned, uac_bad, laps, will_change, self.in_check_mode(), uac_pending=uac_pending
        )
        return result
