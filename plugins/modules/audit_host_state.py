#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: audit_host_state
short_description: Run the collection's Linux host checks in one round trip, read-only (the auditors' path)
version_added: "1.0.0"
description:
  - Runs, in this one module process on the host, the check-mode path of any of
    M(pii_guard.safeguards.usbguard_policy) (clause 6-17), M(pii_guard.safeguards.admin_privileges) (6-6),
    M(pii_guard.safeguards.download_alert_info) (6-5) and M(pii_guard.safeguards.console_audit) (7-1),
    each with its own arguments, so an audit costs one round trip per host instead of one per module.
  - Each run's arguments are validated as that module validates them (defaults, types, required options,
    the same error text), and each run returns exactly what that module returns in check mode.
  - Every run is forced into check mode, whether or not this task runs in check mode, and without diff,
    so this module only reads, in both modes. A run's C(changed) reports what an apply of that module
    B(would) change; this module's own C(changed) is always false.
  - A run that fails (bad arguments, a missing executable the module requires, a refused input) is
    reported in its place in RV(results) with C(failed) and C(msg); the other runs still run.
author: pii_guard.safeguards contributors (@pii-guard)
options:
  runs:
    description: The checks to run, in order.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The module whose check-mode path runs.
        type: str
        required: true
        choices: [usbguard_policy, admin_privileges, download_alert_info, console_audit]
      args:
        description: That module's arguments, as its own task would pass them.
        type: dict
        default: {}
extends_documentation_fragment:
  - pii_guard.safeguards.attributes
  - pii_guard.safeguards.attributes.POSIX
  - pii_guard.safeguards.attributes.INFO_MODULE
seealso:
  - module: pii_guard.safeguards.usbguard_policy
  - module: pii_guard.safeguards.admin_privileges
  - module: pii_guard.safeguards.download_alert_info
  - module: pii_guard.safeguards.console_audit
notes:
  - Every run is in check mode whatever this task's mode is; run a module itself with C(--diff) to see
    the file changes it would make.
  - Warnings a run issues are in its result's C(warnings) (as text) and, prefixed with the module's name,
    in this task's.
"""

EXAMPLES = r"""
- name: Audit a Linux host in one round trip
  pii_guard.safeguards.audit_host_state:
    runs:
      - name: usbguard_policy
        args:
          mode: agency_issued_only
          devices: "{{ usb_storage_devices }}"
          host_groups: "{{ group_names }}"
      - name: admin_privileges
        args:
          approved_users: [labop, alice]
          operator: labop
      - name: console_audit
        args:
          rules: "{{ lookup('ansible.builtin.file', 'console.rules') }}"
  register: host_state

- name: Hand the findings of the runs that succeeded on
  ansible.builtin.set_fact:
    pii_guard_findings: >-
      {{ pii_guard_findings | default([])
         + host_state.results | rejectattr('failed', 'defined') | map(attribute='findings') | flatten }}
"""

RETURN = r"""
results:
  description:
    - One element per run, in the order of O(runs).
    - A run that succeeded gives the module's own check-mode result (C(changed), C(findings) and its other
      return values; see each module). C(changed) there means an apply would change something.
    - A run that failed gives C(failed=true), C(msg) and any other key the module failed with.
  returned: always
  type: list
  elements: dict
  sample:
    - changed: false
      findings: [{id: 7-1.console_login_audit, clause: "7-1", status: pass}]
      in_container: false
      changed_files: []
      diff: []
    - failed: true
      msg: "missing required arguments: approved_users"
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pii_guard.safeguards.plugins.module_utils.common.submodule import run_sub

NAMES = ("usbguard_policy", "admin_privileges", "download_alert_info", "console_audit")


def _load(name):
    """The named check's module_utils, imported only when a run asks for it: a host compiles
    only what it runs (AnsiballZ still bundles all four, it finds these imports statically)."""
    if name == "usbguard_policy":
        from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb import usbguard_policy as m
    elif name == "admin_privileges":
        from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin import admin_privileges as m
    elif name == "download_alert_info":
        from ansible_collections.pii_guard.safeguards.plugins.module_utils.download import download_alert_info as m
    else:
        from ansible_collections.pii_guard.safeguards.plugins.module_utils.console import console_audit as m
    return m


def main():
    module = AnsibleModule(
        argument_spec=dict(
            runs=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    name=dict(type="str", required=True, choices=list(NAMES)),
                    args=dict(type="dict", default={}),
                ),
            ),
        ),
        supports_check_mode=True,
    )
    results = []
    for r in module.params["runs"]:
        m = _load(r["name"])
        results.append(run_sub(module, "pii_guard.safeguards." + r["name"], m.ARGUMENT_SPEC, m.run, r["args"]))
    module.exit_json(changed=False, results=results)


if __name__ == "__main__":
    main()
