#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: console_audit
short_description: Clause 7-1 console and tty login auditing on a system-room host, in one round trip
version_added: "1.0.0"
description:
  - Puts the login audit watch rules file in place (atomic write, backup), adds C(pam_tty_audit)
    to the console PAM service, loads the rules into the kernel when the file changed or the
    kernel does not hold them (C(augenrules --load)), then reads the loaded rules (C(auditctl -l)) and returns the
    C(7-1.console_login_audit) finding.
  - In check mode nothing is written or loaded; the finding then reports what is not yet in
    place (the auditors' path).
  - Installing auditd is left to the package manager (the system_room role does it first);
    without auditd the finding fails.
author: pii_guard.safeguards contributors (@pii-guard)
options:
  rules:
    description: Content of the audit rules file (watch rules keyed C(pii_guard_logins) and C(pii_guard_session)).
    type: str
    required: true
  rules_path:
    description: Where the rules file goes (read by C(augenrules)).
    type: path
    default: /etc/audit/rules.d/60-pii-guard-console.rules
  pam_service_file:
    description: PAM service of console logins that gets C(pam_tty_audit).
    type: path
    default: /etc/pam.d/login
  pam_line:
    description: The line added when no C(pam_tty_audit) session line is present.
    type: str
    default: "session    optional   pam_tty_audit.so enable=*"
  load_rules:
    description: Load the rules into the kernel (C(augenrules --load)) when this run changed the rules file.
    type: bool
    default: true
  keys:
    description: Audit keys that must all be loaded in the kernel for the finding to pass.
    type: list
    elements: str
    default: [pii_guard_logins, pii_guard_session]
  backup_dir:
    description: Where the previous version of every changed file is copied (the collection's one backup directory).
    type: path
    default: /var/backups/pii_guard/console_audit
extends_documentation_fragment:
  - pii_guard.safeguards.attributes
  - pii_guard.safeguards.attributes.POSIX
attributes:
  check_mode:
    support: full
    details: Writes no file and loads no rules; the finding says what would be fixed.
  diff_mode:
    support: full
    details: The rules file and the PAM service file before and after.
notes:
  - In a container the kernel audit belongs to the host; rules are written but not loaded or
    read there, and the finding records C(in_container).
"""

EXAMPLES = r"""
- name: Console login auditing on a system-room host
  pii_guard.safeguards.console_audit:
    rules: "{{ lookup('ansible.builtin.file', 'console.rules') }}"
  register: console

- name: Hand the finding on
  ansible.builtin.set_fact:
    pii_guard_findings: "{{ pii_guard_findings | default([]) + console.findings }}"
"""

RETURN = r"""
findings:
  description: The C(7-1.console_login_audit) finding (one element), in the collection's finding shape.
  returned: always
  type: list
  elements: dict
in_container:
  description: Whether the host is a container (its kernel audit belongs to the host).
  returned: always
  type: bool
changed_files:
  description:
    - Paths written (or, in check mode, that would be).
    - C(kernel audit rules) when the loaded rules were restored from an unchanged file.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pii_guard.safeguards.plugins.module_utils.console.console_audit import ARGUMENT_SPEC, run


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    run(module)


if __name__ == "__main__":
    main()
