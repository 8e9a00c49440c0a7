# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Test-only: write a host's pii_guard_findings to a controller file (no connection, no module run).

from __future__ import absolute_import, division, print_function

import json

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        with open(self._task.args["dest"], "w", encoding="utf-8") as fh:
            json.dump(self._task.args.get("findings") or [], fh, default=str)
        result["changed"] = False
        return result
