# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The console_audit module's logic (clause 7-1): ARGUMENT_SPEC and run(module)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.pii_guard.safeguards.plugins.module_utils.common import hostfile
from ansible_collections.pii_guard.safeguards.plugins.module_utils.common import host
from ansible_collections.pii_guard.safeguards.plugins.module_utils.console.login_audit import (
    console_audit_finding,
    host_rules,
)

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


ARGUMENT_SPEC = dict(
    rules=dict(type="str", required=True),
    rules_path=dict(type="path", default="/etc/audit/rules.d/60-pii-guard-console.rules"),
    pam_service_file=dict(type="path", default="/etc/pam.d/login"),
    pam_line=dict(type="str", default="session    optional   pam_tty_audit.so enable=*"),
    load_rules=dict(type="bool", default=True),
    keys=dict(type="list", elements="str", default=["pii_guard_logins", "pii_guard_session"], no_log=False),
    backup_dir=dict(type="path", default=hostfile.backup_dir("console_audit")),
)


def kernel_rules(module, changed_files):
    """(rules loaded in the kernel, whether this run restored them from an unchanged file).

    Loads when the file changed, and also when the kernel lost the rules (auditctl -D, a failed
    load earlier): otherwise a second apply would leave the control failing. Never in check mode."""
    p = module.params
    loaded = _loaded(module, p["keys"])
    if module.check_mode or not p["load_rules"] or not (p["rules_path"] in changed_files or loaded is False):
        return loaded, False
    augenrules = module.get_bin_path("augenrules", required=True)
    rc, out, err = module.run_command([augenrules, "--load"])
    if rc != 0:
        module.fail_json(msg="augenrules --load failed: %s" % (err or out).strip(), changed=True)
    restored = loaded is False and p["rules_path"] not in changed_files
    if restored:
        changed_files.append("kernel audit rules")
    return _loaded(module, p["keys"]), restored


def run(module):
    p = module.params
    # Debian 13 records logins in wtmpdb/lastlog2, older releases in wtmp/lastlog: the watches
    # whose directory exists on this host (the audit compares with the same text).
    rules, left_out = host_rules(p["rules"])

    changed_files, diffs, rules_ok, pam, pam_ok = put_files(module, rules)
    fixed = bool(changed_files) and not module.check_mode
    in_container = host.in_container(module)
    auditd = any(os.path.exists(x) for x in AUDITD)
    loaded = None
    if not in_container and auditd:
        loaded, restored = kernel_rules(module, changed_files)
        fixed = fixed or restored

    files = {
        "auditd installed": auditd,
        "audit rules file": rules_ok or fixed,
        "pam_tty_audit": pam_ok or (fixed and pam is not None),
    }
    evidence = {"rules_file": p["rules_path"], "pam_service": p["pam_service_file"], "watches_left_out": left_out}
    f = console_audit_finding(files, loaded, in_container, evidence, fixed)
    module.exit_json(
        changed=bool(changed_files),
        findings=[f],
        in_container=in_container,
        changed_files=changed_files,
        diff=diffs,
    )
