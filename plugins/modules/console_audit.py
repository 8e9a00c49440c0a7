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

import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pii_guard.safeguards.plugins.module_utils.common import hostfile
from ansible_collections.pii_guard.safeguards.plugins.module_utils.common import host
from ansible_collections.pii_guard.safeguards.plugins.module_utils.console.login_audit import console_audit_finding

PAM_TTY_AUDIT = re.compile(r"^\s*session\s+\S+\s+pam_tty_audit\.so", re.M)
AUDITD = ("/sbin/auditd", "/usr/sbin/auditd")


def _diff(path, before, after):
    return dict(before_header=path, after_header=path, before=before, after=after)


def _loaded(module, keys):
    """All keys in `auditctl -l`; None when the loaded rules cannot be read."""
    auditctl = module.get_bin_path("auditctl")
    if not auditctl:
        return None
    rc, out, _err = module.run_command([auditctl, "-l"])
    return all(("-k %s" % k) in out for k in keys) if rc == 0 else None


def put_files(module, rules):
    """The rules file and the PAM line, as one group (a failed PAM write puts the rules back).

    Returns (changed_files, diffs, rules_ok, pam text or None, pam_ok); writes nothing in check mode."""
    p = module.params
    changed_files, diffs = [], []
    try:
        with hostfile.Changes(p["backup_dir"], check_mode=module.check_mode, run_command=module.run_command) as files:
            current = hostfile.read_text(p["rules_path"])
            rules_ok = current == rules
            if not rules_ok:
                changed_files.append(p["rules_path"])
                diffs.append(_diff(p["rules_path"], current or "", rules))
                # The rules file must not be world-readable; its directory is created 0750.
                files.write(p["rules_path"], rules, 0o640, dir_mode=0o750)
            pam = hostfile.read_text(p["pam_service_file"])
            pam_ok = pam is not None and bool(PAM_TTY_AUDIT.search(pam))
            if pam is not None and not pam_ok:
                new = pam + ("" if pam.endswith("\n") or not pam else "\n") + p["pam_line"] + "\n"
                changed_files.append(p["pam_service_file"])
                diffs.append(_diff(p["pam_service_file"], pam, new))
                files.write(p["pam_service_file"], new)  # mode and owner kept
    except (IOError, OSError, hostfile.HostFileError) as e:
        module.fail_json(msg="writing the console audit files failed, rolled back: %s" % e)
    return changed_files, diffs, rules_ok, pam, pam_ok


def main():
    module = AnsibleModule(
        argument_spec=dict(
            rules=dict(type="str", required=True),
            rules_path=dict(type="path", default="/etc/audit/rules.d/60-pii-guard-console.rules"),
            pam_service_file=dict(type="path", default="/etc/pam.d/login"),
            pam_line=dict(type="str", default="session    optional   pam_tty_audit.so enable=*"),
            load_rules=dict(type="bool", default=True),
            keys=dict(type="list", elements="str", default=["pii_guard_logins", "pii_guard_session"], no_log=False),
            backup_dir=dict(type="path", default=hostfile.backup_dir("console_audit")),
        ),
        supports_check_mode=True,
    )
    p = module.params
    check = module.check_mode
    rules = p["rules"] if p["rules"].endswith("\n") else p["rules"] + "\n"

    changed_files, diffs, rules_ok, pam, pam_ok = put_files(module, rules)
    fixed = bool(changed_files) and not check
    in_container = host.in_container(module)
    auditd = any(os.path.exists(x) for x in AUDITD)
    loaded = None
    if not in_container and auditd:
        loaded = _loaded(module, p["keys"])
        # Load when the file changed, and also when the kernel lost the rules (auditctl -D, a
        # failed load earlier): otherwise a second apply would leave the control failing.
        if not check and p["load_rules"] and (p["rules_path"] in changed_files or loaded is False):
            augenrules = module.get_bin_path("augenrules", required=True)
            rc, out, err = module.run_command([augenrules, "--load"])
            if rc != 0:
                module.fail_json(msg="augenrules --load failed: %s" % (err or out).strip(), changed=True)
            if loaded is False and p["rules_path"] not in changed_files:
                changed_files.append("kernel audit rules")
                fixed = True
            loaded = _loaded(module, p["keys"])

    files = {
        "auditd installed": auditd,
        "audit rules file": rules_ok or fixed,
        "pam_tty_audit": pam_ok or (fixed and pam is not None),
    }
    evidence = {"rules_file": p["rules_path"], "pam_service": p["pam_service_file"]}
    f = console_audit_finding(files, loaded, in_container, evidence, fixed)
    module.exit_json(
        changed=bool(changed_files),
        findings=[f],
        in_container=in_container,
        changed_files=changed_files,
        diff=diffs,
    )


if __name__ == "__main__":
    main()
