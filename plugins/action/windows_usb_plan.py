# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Documentation: plugins/modules/windows_usb_plan.py (ansible-doc reads module docs there).
# Runs on the controller only: it never connects to the Windows host.

import datetime
import json

from ansible.plugins.action import ActionBase

from ansible_collections.pii_guard.safeguards.plugins.module_utils import windows_usb
from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb_register import RegisterError

ARGSPEC = {
    "mode": {"type": "str", "required": True},
    "devices": {"type": "list", "elements": "raw", "default": []},
    "today": {"type": "str"},
    "host_groups": {"type": "list", "elements": "str"},
    "block_smartphones": {"type": "raw", "default": True},
    "block_optical": {"type": "raw", "default": True},
    "allow_model_wide": {"type": "bool", "default": False},
    "windows_instance_ids": {"type": "dict", "default": {}},
    "reads": {"type": "list", "elements": "dict"},
    "audit_current": {"type": "dict"},
}


def _plain(value):
    """Plain JSON types (templated values may be tagged subclasses); dates stay strings."""
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
        try:
            planned = windows_usb.plan(
                args["mode"],
                _plain(args["devices"]),
                today,
                host_groups=groups,
                block_smartphones=args["block_smartphones"],
                block_optical=args["block_optical"],
                allow_model_wide=args["allow_model_wide"],
                extra_instance_ids=_plain(args["windows_instance_ids"]),
            )
        except (windows_usb.PlanError, RegisterError) as e:
            return dict(result, failed=True, msg=str(e))
        result.update(planned)
        if args.get("reads") is None:
            return result
        check_mode = bool(self._task.check_mode or self._play_context.check_mode)
        try:
            regdiff = windows_usb.diff(planned, _plain(args["reads"]))
            audit_calls, audit_bad = windows_usb.audit_drift(planned, _plain(args.get("audit_current") or {}))
        except windows_usb.PlanError as e:
            return dict(result, failed=True, msg=str(e))
        will_change = bool(regdiff["changes"] or audit_calls)
        result["registry_changes"] = regdiff["changes"]
        result["audit_changes"] = audit_calls
        result["drift"] = regdiff["drift"] + audit_bad
        result["findings"] = windows_usb.findings(planned, regdiff, audit_bad, will_change, check_mode, args["mode"])
        return result
