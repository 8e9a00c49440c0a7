#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: audit_host
short_description: Audit one Linux host for every clause in one task and one round trip
version_added: 0.1.0
description:
  - Action plugin used by C(playbooks/audit.yml) on Linux endpoints. For each role of O(roles) that
    applies to the host (its C(only_in) / C(not_in) inventory group), it does what the role does in
    the auditors' run, in the same order and with the same checks (the role's argument specs, its
    input checks on the controller with the collection's filters), then the clause modules
    (C(usbguard_policy), C(admin_privileges), C(download_alert_info), C(console_audit)) with the
    same arguments. All module runs go to the host in one round trip through
    M(pii_guard.safeguards.audit_host_state), always in check mode.
  - Variables resolve as when the role is included, the role defaults below every other variable.
    C(--tags) and C(--skip-tags) select the same parts of each role as they select its tasks.
  - A role stops at its first failing step; the failure is appended to C(pii_guard_audit_errors)
    with the role and the name of the role task that step mirrors, and the next role runs.
  - It first reaches the host (the connection alone, as C(ansible.builtin.raw) C(true) without become).
    An unreachable host, or a connection lost part way, is returned in RV(state) and RV(errors), never
    as a failed or unreachable task, so the play records the host and the report names it.
  - With O(engine=roles) it only reaches the host; C(playbooks/audit.yml) then includes the roles
    (C(-e pii_guard_audit_engine=roles), one task per role step). Both paths give the same findings
    and errors.
author: pii_guard.safeguards contributors (@pii-guard)
options:
  roles:
    description:
      - The clause table of the play, in order; each item has C(name) (a role of this collection,
        C(system_room), C(usb_storage), C(admin_privileges) or C(download_alert)), C(clause), and
        optional C(only_in) / C(not_in) (an inventory group).
    type: list
    elements: dict
    required: true
  engine:
    description:
      - V(host) audits here; V(roles) only reaches the host (the playbook includes the roles next).
    type: str
    choices: [host, roles]
    default: host
extends_documentation_fragment:
  - pii_guard.safeguards.attributes
  - pii_guard.safeguards.attributes.POSIX
  - pii_guard.safeguards.attributes.INFO_MODULE
notes:
  - The clause modules always run in check mode on the host, whatever the play says.
  - The playbook records RV(findings) in the host fact C(pii_guard_findings), RV(errors) in
    C(pii_guard_audit_errors) and RV(state) in C(pii_guard_audit_state); the report
    (M(pii_guard.safeguards.audit_report)) reads them.
seealso:
  - module: pii_guard.safeguards.audit_host_state
  - module: pii_guard.safeguards.audit_report
"""

EXAMPLES = r"""
- name: Audit each clause that applies to this host
  pii_guard.safeguards.audit_host:
    roles:
      - {name: system_room, clause: "7-1", only_in: system_room}
      - {name: usb_storage, clause: "6-17", not_in: system_room}
      - {name: admin_privileges, clause: "6-6"}
      - {name: download_alert, clause: "6-5", only_in: pii_data}
  check_mode: true
"""

RETURN = r"""
roles:
  description: The roles audited on this host, in order.
  returned: always
  type: list
  elements: str
findings:
  description: The findings of this task, in the common shape (recorded in C(pii_guard_findings)).
  returned: always
  type: list
  elements: dict
errors:
  description:
    - The roles that failed on this host (C(role), C(task), C(msg)); role C(connection) when the
      host could not be reached or the connection was lost.
  returned: always
  type: list
  elements: dict
state:
  description:
    - V(complete) (audited), V(unreachable), or V(started) (reached; with O(engine=roles) the roles
      audit it next; with O(engine=host) the audit broke part way, and the report calls it incomplete).
  returned: always
  type: str
started_at:
  description: When this host's audit started, UTC ISO 8601.
  returned: always
  type: str
  sample: "2026-11-30T06:00:00Z"
"""
