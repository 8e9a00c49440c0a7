# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Documentation: plugins/modules/usb_register_lifecycle.py (ansible-doc reads module docs there).
# Runs on the controller only: the register file is an inventory file on the controller.

import datetime

from ansible.plugins.action import ActionBase
from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb.register import RegisterError
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import usb_register_file as regfile
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.windows_plan import plain

# Free-text inputs are not task arguments: they are read from the play's variables as data,
# never templated. `-e usb_old_serial=...` holding "{{ lookup('pipe', ...) }}" (a serial copied
# from a crafted stick's listing) would otherwise run on the controller when the argument is
# templated; read raw, it is refused by the text check instead.
RAW_INPUTS = regfile.RAW_INPUTS
ARGSPEC = {
    "usb_action": {"type": "str", "required": True, "choices": list(regfile.ACTIONS)},
    "usb_register_file": {"type": "path", "required": True},
    "usb_register_first": {"type": "bool", "default": False},
    "usb_kind": {"type": "str"},
    "usb_groups": {"type": "list", "elements": "str"},
    "usb_expires_on": {"type": "str"},
    "usb_today": {"type": "str"},
    "usb_enrolment_host": {"type": "str"},
    "usb_storage_allow_model_wide": {"type": "bool", "default": False},
    "enrolment_devices": {"type": "list", "elements": "dict"},
    "write": {"type": "bool", "default": False},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_diff = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars or {})
        _validation, args = self.validate_argument_spec(argument_spec=ARGSPEC)
        for name in RAW_INPUTS:
            args[name] = (task_vars or {}).get(name)
        args = plain(args)
        result["changed"] = False
        try:
            return self._run(args, result)
        except (RegisterError, regfile.RegisterFileError) as e:
            return dict(result, failed=True, msg=str(e))

    def _run(self, args, result):
        # 1. Every input, the file and the current register, before anything is read on a host.
        errors = regfile.check_inputs(args)
        if errors:
            raise regfile.RegisterFileError("; ".join(errors))
        today = datetime.date.fromisoformat(args["usb_today"]) if args.get("usb_today") else datetime.date.today()
        path = args["usb_register_file"]
        entries, before = regfile.read(path, args["usb_register_first"])
        model_wide = args["usb_storage_allow_model_wide"]
        # 2. The new entry: from the enrolment host's devices, or given on the command line.
        device = None
        if args["usb_action"] != "revoke" and args.get("usb_enrolment_host"):
            if args.get("enrolment_devices") is None:
                # Validation phase: the enrolment host is read after this; check the register only.
                regfile.validate_register(entries, today, allow_model_wide=model_wide)
                result.update(path=path, register=entries, planned=False)
                return result
            device = regfile.pick_device(args["enrolment_devices"], entries, args.get("usb_new_serial"))
        after = regfile.update(entries, args, device, today, allow_model_wide=model_wide)
        text = regfile.render(after)
        result.update(path=path, register=after, planned=True, changed=args["write"] and text != before)
        if self._task.diff or self._play_context.diff:
            result["diff"] = {"before_header": path, "after_header": path, "before": before or "", "after": text}
        # 3. Write only when asked (the playbook's write step), never in check mode.
        check = bool(self._task.check_mode or self._play_context.check_mode)
        if result["changed"] and not check:
            try:
                result["backup_file"] = regfile.write(path, text)
            except (IOError, OSError) as e:
                raise regfile.RegisterFileError("usb_register_file %s could not be written: %s" % (path, e))
        return result
