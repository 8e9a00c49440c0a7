# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: audit_summary
type: aggregate
short_description: Close an audit run with the per-clause summary table of the report
version_added: "0.1.0"
description:
  - When a run wrote an audit report (module M(pii_guard.safeguards.audit_report), used by
    C(playbooks/audit.yml)), prints the per-clause pass/fail table and the report directory after
    the play recap, so the run ends with the result an auditor looks for.
  - Prints nothing for runs without an audit report.
requirements:
  - enable it in ansible.cfg (C(callbacks_enabled = pii_guard.safeguards.audit_summary)), as this
    repository's ansible.cfg does
"""

from ansible.plugins.callback import CallbackBase  # noqa: E402  (after DOCUMENTATION, as ansible-test wants)

REPORT_ACTIONS = ("audit_report", "pii_guard.safeguards.audit_report")


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "pii_guard.safeguards.audit_summary"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._reports = []

    def _collect(self, result):
        if result._task.action not in REPORT_ACTIONS:
            return
        res = result._result
        if res.get("summary_lines"):
            self._reports.append((res.get("report_dir", ""), res.get("result", ""), list(res["summary_lines"])))

    def v2_runner_on_ok(self, result):
        self._collect(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._collect(result)

    def v2_playbook_on_stats(self, stats):
        for report_dir, outcome, lines in self._reports:
            self._display.banner("AUDIT SUMMARY per clause / 条項ごとの監査結果")
            for line in lines:
                color = None
                if line.rstrip().endswith("FAIL"):
                    color = "red"
                elif line.rstrip().endswith("PASS"):
                    color = "green"
                self._display.display(line, color=color)
            self._display.display("report: %s (%s)" % (report_dir, outcome))
