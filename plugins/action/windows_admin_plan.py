# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Documentation: plugins/modules/windows_admin_plan.py (ansible-doc reads module docs there).
# Runs on the controller only: it never connects to the Windows host.

import json

from ansible.plugins.action import ActionBase

from ansible_collections.pii_guard.safeguards.plugins.module_utils import windows_admin
from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin_policy import LockoutError

ARGSPEC = {
    "approved_members": {"type": "raw", "required": True},
    "builtin_admin_name": {"type": "str", "default": "pg-localadmin"},
    "disable_builtin_admin": {"type": "bool", "default": True},
    "allow_self_removal": {"type": "bool", "default": False},
    "state": {"type": "dict"},
    "operator": {"type": "dict"},
    "reads": {"type": "list", "elements": "dict"},
}


def _plain(value):
    return json.loads(json.dumps(value, default=str))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGSPEC)
        result["changed"] = False
        approved = _plain(args["approved_members"])
        errors = windows_admin.validate_inputs(approved, args["builtin_admin_name"])
        if errors:
            return dict(result, failed=True, msg="; ".join(errors))
        result["read_keys"] = list(windows_admin.READ_KEYS)
        if args.get("state") is None:
            # First call: inputs are valid; tell the role what to read.
            return result
        check_mode = bool(self._task.check_mode or self._play_context.check_mode)
        try:
            planned = windows_admin.plan(
                approved,
                _plain(args["state"]),
                _plain(args.get("operator") or {}),
                builtin_admin_name=args["builtin_admin_name"],
                disable_builtin_admin=args["disable_builtin_admin"],
                allow_self_removal=args["allow_self_removal"],
            )
            uac_calls, uac_bad = windows_admin.uac_changes(_plain(args.get("reads") or []))
            laps = windows_admin.laps_status(_plain(args.get("reads") or []))
        except (windows_admin.PlanError, LockoutError) as e:
            return dict(result, failed=True, msg=str(e))
        will_change = bool(planned["membership"] or planned["secpol"] or uac_calls)
        result.update(planned)
        result["uac_changes"] = uac_calls
        result["laps"] = laps
        result["findings"] = windows_admin.findings(planned, uac_bad, laps, will_change, check_mode)
        return result
