# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The 7-1.console_login_audit finding, built on the host by the console_audit module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import posixpath
import re

from ansible_collections.pii_guard.safeguards.plugins.module_utils.common.findings import finding

WATCH = re.compile(r"^\s*-w\s+(/\S*)")
# The PAM service file that gets the pam_tty_audit line: a file of /etc/pam.d, by its plain name.
# Any other path (/etc/sudoers, /etc/pam.d/../shadow) would get a PAM line appended to it (the role
# checks it on the controller: plugin_utils/inputs.pam_service_file_errors).
PAM_SERVICE_FILE_RE = re.compile(r"/etc/pam\.d/[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}")


def host_rules(text, isdir=os.path.isdir):
    """The rules as this host can load them: ``(text, left_out)``.

    The rules file lists the login records of every supported Debian release (utmp, wtmp and
    lastlog up to 12; the wtmpdb and lastlog2 databases from 13). ``auditctl -w`` refuses a path
    whose directory does not exist (augenrules would then load none of the file), so a watch whose
    directory is missing on this host is left out and named in ``left_out``; a watched file
    that does not exist yet in an existing directory is kept (the kernel watches its creation).
    """
    kept, left_out = [], []
    for line in text.splitlines():
        m = WATCH.match(line)
        if m and not isdir(posixpath.dirname(m.group(1).rstrip("/")) or "/"):
            left_out.append(m.group(1))
            continue
        kept.append(line)
    return "\n".join(kept) + "\n", left_out


def console_audit_finding(files_compliant, rules_loaded, in_container, evidence=None, fixed=False):
    """7-1.console_login_audit: the rules file and the PAM tty audit line in place, rules loaded.

    ``rules_loaded`` is None where the kernel's audit cannot be queried (a container);
    ``fixed``: this (non-check) run changed something to get there.
    """
    problems = []
    for name, ok in sorted((files_compliant or {}).items()):
        if not ok:
            problems.append("%s not as required" % name)
    if rules_loaded is False:
        problems.append("login watch rules not loaded in the kernel (auditctl -l)")
    if rules_loaded is None and not in_container:
        problems.append("could not read the loaded audit rules")
    ev = dict(evidence or {})
    ev.update(files=files_compliant, rules_loaded=rules_loaded, in_container=in_container)
    return finding(
        "7-1.console_login_audit",
        "fail" if problems else ("fixed" if fixed else "pass"),
        observed="; ".join(problems) or "login records watched; tty input of console sessions audited",
        expected="audit watch rules on login records loaded; pam_tty_audit on console logins",
        evidence=ev,
    )
