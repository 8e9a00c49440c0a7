#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: admin_privileges
short_description: Keep administrator privileges on a Linux host to the approved minimum (clause 6-6)
description:
  - Reads, in one round trip, C(/etc/sudoers) and everything it includes, the admin groups,
    accounts with UID 0, C(sshd -T) and root's password state, and computes who can become
    root, how and from which file and line.
  - Compares that with the approved administrators and returns findings in the collection's
    common shape.
  - When applying, sets the admin groups to exactly the approved users, disables unapproved
    sudoers grants (drop-ins moved to a quarantine directory, lines of other files commented
    with a marker), removes C(NOPASSWD) from grants of ALL commands unless approved, writes
    temporary grants and the sudo logging defaults as drop-ins, sets C(PermitRootLogin no)
    through an sshd drop-in validated with C(sshd -t), installs an auditd rule for commands
    run as root by logged-in users, and optionally locks root's password and removes extra
    UID-0 accounts.
  - Every sudoers file is validated with C(visudo -cf) before an atomic rename (mode 0440),
    and the whole configuration with C(visudo -c) afterwards (rolled back if rejected).
  - Lock-out guards run before any change; the module fails without changing anything when
    the connecting account would lose its path to root or no approved admin would remain.
version_added: "0.1.0"
author: pii_guard.safeguards contributors (@pii-guard)
options:
  approved_users:
    description: Users approved to administer the host. Must not be empty.
    type: list
    elements: str
    required: true
  approved_groups:
    description: Groups whose sudoers grants (C(%group)) are approved in addition to O(admin_groups).
    type: list
    elements: str
    default: []
  admin_groups:
    description:
      - Admin groups to police; they get exactly the approved users as members.
      - Empty means the platform's admin groups that exist (C(sudo), C(wheel), C(admin)). A named
        group that does not exist, or one the collection uses for something else (C(adm),
        C(tty), ...), is refused.
    type: list
    elements: str
    default: []
  limited_grants:
    description:
      - Approved limited grants, each C({user or group, runas (default root), commands, nopasswd}).
        A sudoers line whose every root command lies inside one of them is kept; anything wider
        is disabled like any unapproved grant.
    type: list
    elements: dict
    default: []
  expiry_schedule:
    description: The expiry timer's C(OnCalendar) (validated here; the role writes the timer).
    type: str
    default: minutely
  nopasswd_approved:
    description: Users allowed to keep C(NOPASSWD) on grants of ALL commands.
    type: list
    elements: str
    default: []
  temporary:
    description:
      - Time-limited grants, each rendered as C(/etc/sudoers.d/pii_guard_tmp_<user>) (a C(.) in
        the user name written as C(%2E), since sudo skips names with a dot) with the expiry in its
        header and as C(NOTAFTER) on the rule.
    type: list
    elements: dict
    default: []
    suboptions:
      user:
        description: User name.
        type: str
        required: true
      until:
        description: Expiry, C(YYYY-MM-DD) (end of that day, UTC) or C(YYYY-MM-DDTHH:MM:SSZ).
        type: str
        required: true
      reason:
        description: Why the grant exists.
        type: str
        required: true
      ticket:
        description: Change ticket reference.
        type: str
        required: true
  operator:
    description:
      - The account Ansible connected as (it must keep its path to root).
      - Empty means detected on the host, without another round trip. C(SUDO_USER) or
        C(DOAS_USER) set by become, else the login uid (C(/proc/self/loginuid), set by
        pam_loginuid at SSH login and kept by su), else the account the module runs as
        (no become). The result is returned in RV(guard) (C(operator), C(operator_source)).
    type: str
    default: ""
  operator_via_ssh:
    description:
      - Whether the operator logs in over SSH. When it is C(root) over SSH, refusing root
        logins would cut the connection, so the guard refuses that.
    type: bool
    default: true
  allow_self_removal:
    description: Allow a plan that removes the operator's own path to root.
    type: bool
    default: false
  manage_root_ssh:
    description: Enforce C(PermitRootLogin no) through an sshd drop-in.
    type: bool
    default: true
  lock_root_password:
    description: Lock root's password.
    type: bool
    default: false
  remove_extra_uid0:
    description: Remove accounts other than root that have UID 0 (otherwise only reported).
    type: bool
    default: false
  sudo_logfile:
    description: File sudo logs every command to (through a C(Defaults logfile) drop-in).
    type: path
    default: /var/log/sudo.log
  audit_rules:
    description: Install the auditd rule recording commands run as root by logged-in users.
    type: bool
    default: true
  sudoers:
    description: The main sudoers file.
    type: path
    default: /etc/sudoers
  sshd_dropin:
    description: The sshd drop-in this module owns.
    type: path
    default: /etc/ssh/sshd_config.d/00-pii-guard-admin.conf
  audit_rules_file:
    description: The auditd rules file this module owns.
    type: path
    default: /etc/audit/rules.d/pii_guard_admin.rules
  quarantine_dir:
    description: Where unapproved sudoers drop-ins are moved.
    type: path
    default: /var/lib/pii_guard/sudoers-quarantine
  backup_dir:
    description: Where every file is copied before it is changed.
    type: path
    default: /var/backups/pii_guard/admin_privileges
  expiry_timer:
    description: Name of the systemd timer that removes expired temporary grants (checked, not installed).
    type: str
    default: pii-guard-sudo-expiry.timer
  validate_only:
    description: Only validate the options (nothing on the host is read or changed).
    type: bool
    default: false
extends_documentation_fragment:
  - pii_guard.safeguards.attributes
  - pii_guard.safeguards.attributes.POSIX
attributes:
  check_mode:
    support: full
    details: Reports what would change (and the findings) and writes nothing.
  diff_mode:
    support: full
    details: Shows the sudoers file changes and admin group membership before and after.
notes:
  - Host lists are evaluated as sudo does, against this host's name, short name and
    non-loopback addresses; a grant for other hosts only is left alone. C(runas_default) is
    assumed to be root and netgroups to match.
  - Only files this module rendered, with exactly the content it renders now, are exempt
    from policing; any other file is policed whatever its name.
  - Removing a user from an admin group does not take sudo from sessions opened before the
    removal (sudo's default C(group_source) is static); the admin group finding says so in
    its evidence.
"""

EXAMPLES = r"""
- name: Approved admins only, operator protected
  pii_guard.safeguards.admin_privileges:
    approved_users: [labop, alice]
    nopasswd_approved: [labop]
    operator: labop
    temporary:
      - user: bob
        until: "2026-12-01T18:00:00Z"
        reason: database migration
        ticket: CHG-1234

- name: Audit only
  pii_guard.safeguards.admin_privileges:
    approved_users: [alice]
    operator: root
    operator_via_ssh: false
  check_mode: true
"""

RETURN = r"""
findings:
  description: Findings of the 6-6 controls in the common shape.
  returned: always
  type: list
  elements: dict
root_paths:
  description: Who can become root through sudo, how and from which file and line (before the change).
  returned: always
  type: dict
  sample: {"alice": {"all": true, "nopasswd_all": false, "commands": [], "sources": ["/etc/sudoers:10"]}}
plan:
  description: What was (or in check mode would be) changed.
  returned: always
  type: dict
guard:
  description: Lock-out guard input (operator and where it was learnt, admins after the change).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin.admin_privileges import ARGUMENT_SPEC, run


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    run(module)


if __name__ == "__main__":
    main()
