# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Documentation: plugins/modules/download_alert_ack.py (ansible-doc reads module docs there).
# Runs on the controller only. The register is not a task argument: it is read from the play's
# variables as data, never templated, so a note holding "{{ lookup('pipe', ...) }}" (copied from a
# ticket, or a user name from a log) is text, never run; its checks refuse control characters.

from ansible.plugins.action import ActionBase
from ansible_collections.pii_guard.safeguards.plugins.filter.download_alert import (
    download_alert_ack_errors,
    download_alert_ack_finding,
)
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.registers.download_ack import VAR

ARGSPEC = {
    "alerts": {"type": "dict"},
    "max_days": {"type": "raw", "default": 7},
    "today": {"type": "str", "default": ""},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars or {})
        _validation, args = self.validate_argument_spec(argument_spec=ARGSPEC)
        register = (task_vars or {}).get(VAR)
        result["changed"] = False
        errors = download_alert_ack_errors(register, args["max_days"], args["today"])
        if errors:
            return dict(result, failed=True, msg="; ".join(errors))
        if args.get("alerts") is None and "alerts" not in self._task.args:
            return result  # the validation phase: the register and the limit only
        result["finding"] = download_alert_ack_finding(args.get("alerts"), register, args["max_days"], args["today"])
        return result
