# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Test-only stand-in for ansible.windows.win_reboot:
# records and validates the call (see pii_guard_test/winrec/plugins/plugin_utils/recorder.py).

from __future__ import absolute_import, division, print_function

from ansible_collections.pii_guard_test.winrec.plugins.plugin_utils.recorder import RecordingAction


class ActionModule(RecordingAction):
    MODULE = "ansible.windows.win_reboot"
