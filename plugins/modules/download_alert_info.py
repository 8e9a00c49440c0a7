#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: download_alert_info
short_description: Clause 6-5 findings for the bulk-download alert agent
version_added: "1.0.0"
description:
  - Reads the state of the pii-download-alert agent on a Linux host and returns clause 6-5
    findings - agent enabled and running, deployed config equal to the expected one (digest)
    with a threshold for every data set, audit watch rules loaded (C(auditctl -l)) and not to be
    read around through io_uring (C(kernel.io_uring_disabled), see RV(observed.io_uring)), pgaudit
    settings active in PostgreSQL, and the threshold review date within its interval.
  - Fails before reading anything else, naming them, when a watched path of an audit data
    set or the directory of a followed log does not exist on the host. The role calls it before
    any change, so this check is the role's last input validation.
  - Read-only; supports check mode (the auditor's path).
author: pii_guard.safeguards contributors (@pii-guard)
options:
  config:
    description: The expected agent config (as built by the C(download_alert_config) filter).
    type: dict
    required: true
  config_path:
    description: Where the agent's config is deployed.
    type: path
    default: /etc/pii-download-alert/config.json
  service:
    description: The agent's systemd unit.
    type: str
    default: pii-download-alert.service
  postgres_user:
    description: OS user that may query PostgreSQL settings over the local socket.
    type: str
    default: postgres
  today:
    description: Date to evaluate the review against (YYYY-MM-DD); the host's date when empty.
    type: str
    default: ""
  changed:
    description: Control ids whose remediation changed something in this run (reported as C(fixed)).
    type: list
    elements: str
    default: []
  alert_period_days:
    description:
      - The audit period - the alerts the agent raised on or after O(today) minus this many days
        are returned in RV(observed.alerts) (read from the agent's alert log and its rotated
        predecessor), each with its stable id. The controller checks them against the
        acknowledgement register (control C(6-5.alerts_acknowledged)).
    type: int
    default: 90
extends_documentation_fragment:
  - pii_guard.safeguards.attributes
  - pii_guard.safeguards.attributes.POSIX
  - pii_guard.safeguards.attributes.INFO_MODULE
notes:
  - In a container the kernel audit subsystem belongs to the host, so the audit rules finding
    is C(not_applicable) there.
"""

EXAMPLES = r"""
- name: Check the download alert agent
  pii_guard.safeguards.download_alert_info:
    config: "{{ download_alert_datasets | pii_guard.safeguards.download_alert_config(download_alert_channels,
              download_alert_reviewed_on, download_alert_review_interval_days) }}"
  register: dl

- name: Hand the findings on
  ansible.builtin.set_fact:
    pii_guard_findings: "{{ pii_guard_findings | default([]) + dl.findings }}"
"""

RETURN = r"""
findings:
  description: Clause 6-5 findings in the common shape.
  returned: always
  type: list
  elements: dict
  sample:
    - id: 6-5.threshold_review
      clause: "6-5"
      status: fail
      observed: reviewed on 2025-01-10, 687 days ago
      expected: reviewed within the last 180 days (due 2025-07-09)
      evidence: {reviewed_on: "2025-01-10", review_interval_days: 180, age_days: 687, due_on: "2025-07-09"}
observed:
  description: What was read from the host.
  returned: always
  type: dict
  contains:
    alerts:
      description: The alerts of the audit period, read from the agent's alert log and its rotated predecessor.
      returned: always
      type: dict
      contains:
        alerts:
          description:
            - The alerts raised on or after RV(observed.alerts.since), at most 500 (the newest).
            - Each has C(id), C(dataset), C(user), C(count), C(window), C(threshold) and C(raised) (UTC).
          returned: always
          type: list
          elements: dict
        unreadable_lines:
          description: Lines of the alert log that are not an alert (counted, skipped).
          returned: always
          type: int
        left_out:
          description: Alerts of the period beyond the 500 returned.
          returned: always
          type: int
        since:
          description: The first day of the audit period (YYYY-MM-DD).
          returned: always
          type: str
        errors:
          description: Alert log files that exist but could not be read.
          returned: always
          type: list
          elements: str
    io_uring:
      description:
        - Whether users can open files through io_uring, which no audit rule records; null in a container
          (the kernel is the host's).
        - C(disabled) is C(kernel.io_uring_disabled) (null where the kernel has no such switch, Linux before 6.6),
          C(group) is C(kernel.io_uring_group), C(present) says whether the kernel has io_uring at all.
      returned: always
      type: dict
      sample: {disabled: 1, group: -1, present: true}
    outside_links:
      description:
        - Regular files under the watched paths of the audit data sets with more names than those paths hold
          (a hard link elsewhere, through which a read is not recorded); C(count) in full, C(files) the first 20.
          Null in a container.
      returned: always
      type: dict
      sample: {count: 1, files: [/srv/pii/r0250.csv]}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pii_guard.safeguards.plugins.module_utils.download.download_alert_info import (
    ARGUMENT_SPEC,
    run,
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    run(module)


if __name__ == "__main__":
    main()
