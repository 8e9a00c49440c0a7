# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared base of the Windows plan action plugins (windows_admin_plan, windows_usb_plan).

Both run on the controller only: they validate their arguments, compute the plan with the pure
planners in plugins/plugin_utils/windows/*.py and return it; the roles apply it with upstream
ansible.windows modules. A subclass sets ARGSPEC and PLAN_ERRORS and implements plan().
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.plugins.action import ActionBase


def plain(value):
    """Plain JSON types (templated values may be tagged subclasses); dates become strings."""
    return json.loads(json.dumps(value, default=str))


class WindowsPlanAction(ActionBase):
    TRANSFERS_FILES = False
    # Never connects to the Windows host: everything it needs comes in as arguments.
    _requires_connection = False
    _supports_check_mode = True

    ARGSPEC = {}
    # Planner exceptions whose message names the bad input: reported as a failed task.
    PLAN_ERRORS = ()

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(WindowsPlanAction, self).run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=self.ARGSPEC)
        result["changed"] = False
        try:
            return self.plan(args, task_vars, result)
        except self.PLAN_ERRORS as e:
            return dict(result, failed=True, msg=str(e))

    def in_check_mode(self):
        return bool(self._task.check_mode or self._play_context.check_mode)

    def plan(self, args, task_vars, result):
        """Fill and return ``result`` (never ``changed``: the roles' apply tasks change things)."""
        raise NotImplementedError
