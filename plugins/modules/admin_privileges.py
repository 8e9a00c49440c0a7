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
      - Admin groups to police; those that exist get exactly the approved users as members.
    type: list
    elements: str
    default: [sudo, wheel, admin]
  nopasswd_approved:
    description: Users allowed to keep C(NOPASSWD) on grants of ALL commands.
    type: list
    elements: str
    default: []
  temporary:
    description:
      - Time-limited grants, each rendered as C(/etc/sudoers.d/pii_guard_tmp_<user>) with the
        expiry recorded in its header.
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
attributes:
  check_mode:
    description: Reports what would change and writes nothing.
    support: full
  diff_mode:
    description: Shows the sudoers file changes and admin group membership before and after.
    support: full
notes:
  - Host lists in sudoers are treated as matching and C(runas_default) as root, so the
    reported privilege can be more, never less, than C(sudo -l -U) shows.
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

import datetime
import grp
import os
import pwd
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pii_guard.safeguards.plugins.module_utils import admin_policy, sudoers
from ansible_collections.pii_guard.safeguards.plugins.module_utils.findings import compliance, finding

LOGGING_FILE = "pii_guard_logging"
AUDIT_KEY = "pii_guard_root_cmd"


def audit_rules_text():
    return (
        "# Managed by pii_guard.safeguards (6-6.privileged_use_logging): commands run as root by logged-in users\n"
        "-a always,exit -F arch=b64 -S execve -F euid=0 -F auid>=1000 -F auid!=unset -k %s\n"
        "-a always,exit -F arch=b32 -S execve -F euid=0 -F auid>=1000 -F auid!=unset -k %s\n"
    ) % (AUDIT_KEY, AUDIT_KEY)


def logging_text(logfile):
    return (
        "# Managed by pii_guard.safeguards (6-6.privileged_use_logging)\n"
        'Defaults logfile="%s"\n'
        "Defaults log_year, syslog=authpriv\n"
    ) % logfile


SSHD_TEXT = "# Managed by pii_guard.safeguards (6-6.root_ssh_login)\nPermitRootLogin no\n"


class Host:
    """Everything the module reads from the host."""

    def __init__(self, module):
        self.m = module

    def read(self, path):
        try:
            with open(path, "rb") as fh:
                return fh.read().decode("utf-8", "replace")
        except (IOError, OSError):
            return None

    def accounts(self):
        users = pwd.getpwall()
        groups = grp.getgrall()
        gid_name = dict((g.gr_gid, g.gr_name) for g in groups)
        out = []
        for u in users:
            names = set([gid_name.get(u.pw_gid, str(u.pw_gid))])
            gids = set([u.pw_gid])
            for g in groups:
                if u.pw_name in g.gr_mem:
                    names.add(g.gr_name)
                    gids.add(g.gr_gid)
            out.append(sudoers.Account(u.pw_name, u.pw_uid, names, gids))
        return out, dict((u.pw_uid, u.pw_name) for u in users), gid_name

    def group_members(self, name):
        try:
            return sorted(grp.getgrnam(name).gr_mem)
        except KeyError:
            return None

    def sshd_permit_root(self):
        sshd = self.m.get_bin_path("sshd") or ("/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else None)
        if not sshd:
            return None, None
        rc, out, err = self.m.run_command([sshd, "-T", "-C", "user=root,host=localhost,addr=127.0.0.1"])
        if rc != 0:
            return sshd, "error: %s" % (err or out).strip()
        for line in out.splitlines():
            k, _sep, v = line.partition(" ")
            if k.lower() == "permitrootlogin":
                return sshd, v.strip()
        return sshd, "unknown"

    def root_password_locked(self):
        text = self.read("/etc/shadow") or ""
        for line in text.splitlines():
            parts = line.split(":")
            if parts and parts[0] == "root":
                h = parts[1] if len(parts) > 1 else ""
                return h.startswith("!") or h.startswith("*")
        return None

    def uid0(self):
        return sorted(u.pw_name for u in pwd.getpwall() if u.pw_uid == 0 and u.pw_name != "root")

    def timer_enabled(self, name):
        systemctl = self.m.get_bin_path("systemctl")
        if not systemctl:
            return None
        rc, out, _err = self.m.run_command([systemctl, "is-enabled", name])
        return rc == 0 and out.strip() in ("enabled", "static", "enabled-runtime")

    def audit_loaded(self):
        auditctl = self.m.get_bin_path("auditctl")
        if not auditctl:
            return None
        rc, out, _err = self.m.run_command([auditctl, "-l"])
        if rc != 0:
            return None
        return AUDIT_KEY in out


def sudoers_dir(parsed, main):
    """The directory of drop-ins (the first @includedir / #includedir), where managed files live."""
    for e in parsed["entries"]:
        if e["kind"] == "includedir":
            return e["target"]
    return os.path.join(os.path.dirname(main), "sudoers.d")


def stamp():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


class Applier:
    def __init__(self, module, backup_dir):
        self.m = module
        self.backup_dir = backup_dir
        self.backups = []  # (original path, backup path or None when it did not exist)
        self.ts = stamp()

    def backup(self, path):
        dest = None
        if os.path.exists(path):
            dest = os.path.join(self.backup_dir, path.lstrip("/") + "." + self.ts)
            os.makedirs(os.path.dirname(dest), mode=0o700, exist_ok=True)
            shutil.copy2(path, dest)
        self.backups.append((path, dest))
        return dest

    def write(self, path, text, mode, validate=None):
        """Write atomically: temp file in the same directory, validate, rename."""
        d = os.path.dirname(path)
        os.makedirs(d, exist_ok=True)
        # A dot in the name makes sudo's includedir skip the temp file.
        fd, tmp = tempfile.mkstemp(prefix=".pii_guard.", suffix=".tmp", dir=d)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(text.encode("utf-8"))
            os.chmod(tmp, mode)
            if validate:
                cmd = list(validate)
                cmd.append(tmp)
                rc, out, err = self.m.run_command(cmd)
                if rc != 0:
                    raise RuntimeError("%s rejected the new %s: %s" % (validate[0], path, (err or out).strip()))
            self.backup(path)
            os.rename(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def remove(self, path):
        self.backup(path)
        os.unlink(path)

    def rollback(self):
        for path, dest in reversed(self.backups):
            try:
                if dest:
                    shutil.copy2(dest, path)
                elif os.path.exists(path):
                    os.unlink(path)
            except (IOError, OSError):
                pass


def _members_after(members, change):
    change = change or {}
    return sorted((set(members) - set(change.get("remove", []))) | set(change.get("add", [])))


def _read(path):
    try:
        with open(path) as fh:
            return fh.read()
    except (IOError, OSError):
        return None


def _user_name(uid):
    try:
        return pwd.getpwuid(os.geteuid() if uid is None else uid).pw_name
    except KeyError:
        return None


def run(module):
    p = module.params
    now = datetime.datetime.now(datetime.timezone.utc)
    errors = admin_policy.validate(
        p["approved_users"], p["approved_groups"], p["admin_groups"], p["temporary"], p["nopasswd_approved"], now
    )
    if p["operator"]:
        operator, operator_source = p["operator"], "operator option"
    else:
        operator, operator_source = admin_policy.detect_operator(os.environ, _read("/proc/self/loginuid"), _user_name)
    if not admin_policy.valid_name(operator or ""):
        errors.append("operator: %r (%s) is not a valid user name; set it explicitly" % (operator, operator_source))
    if errors:
        module.fail_json(msg="invalid input: " + "; ".join(errors), errors=errors)
    if p["validate_only"]:
        module.exit_json(changed=False, findings=[], root_paths={}, plan={}, guard={})

    host = Host(module)
    visudo = module.get_bin_path("visudo", required=True)
    approved = list(p["approved_users"])
    approved_groups = list(p["approved_groups"]) + list(p["admin_groups"])
    accounts, uid_names, gid_names = host.accounts()
    existing = set(a.name for a in accounts)
    main = p["sudoers"]
    parsed = sudoers.parse_file(main)
    grants_before = sudoers.root_grants(parsed, accounts)
    root_paths = sudoers.summarize(grants_before)
    ddir = sudoers_dir(parsed, main)

    # ---- plan: files {path: new text or None (delete)}, quarantine, groups, system settings
    files = {}
    plan = admin_policy.plan_sudoers(
        parsed, approved, approved_groups, p["nopasswd_approved"], uid_names=uid_names, gid_names=gid_names
    )
    for path in set(plan["comment"]) | set(plan["nopasswd"]):
        text = host.read(path)
        if text is not None:
            new = admin_policy.edit_text(text, plan["comment"].get(path, ()), plan["nopasswd"].get(path, ()))
            if new != text:
                files[path] = new
    for path in plan["quarantine"]:
        files[path] = None

    wanted_tmp = {}
    for g in p["temporary"]:
        until = admin_policy.parse_until(g["until"])
        wanted_tmp[os.path.join(ddir, admin_policy.TEMP_PREFIX + g["user"])] = admin_policy.temporary_file(g, until)
    present_tmp = {}
    for name in sorted(os.listdir(ddir)) if os.path.isdir(ddir) else []:
        if name.startswith(admin_policy.TEMP_PREFIX):
            present_tmp[os.path.join(ddir, name)] = host.read(os.path.join(ddir, name))
    expired_present = sorted(path for path, text in present_tmp.items() if (admin_policy.expiry_of(text) or now) <= now)
    for path, text in wanted_tmp.items():
        if present_tmp.get(path) != text:
            files[path] = text
    for path in present_tmp:
        if path not in wanted_tmp:
            files[path] = None
    logging_path = os.path.join(ddir, LOGGING_FILE)
    logging_before = host.read(logging_path)
    if logging_before != logging_text(p["sudo_logfile"]):
        files[logging_path] = logging_text(p["sudo_logfile"])

    groups_before = {}
    group_changes = {}
    for gname in p["admin_groups"]:
        members = host.group_members(gname)
        if members is None:
            continue
        groups_before[gname] = members
        want = sorted(u for u in approved if u in existing)
        add = [u for u in want if u not in members]
        remove = [u for u in members if u not in want]
        if add or remove:
            group_changes[gname] = {"add": add, "remove": remove}

    # ---- what the host looks like after the plan: re-parse in memory, regroup accounts
    after_fs = sudoers.OverlayFS(files)
    parsed_after = sudoers.parse_file(main, after_fs)
    accounts_after = []
    for a in accounts:
        names, gids = set(a.groups), set(a.gids)
        for gname, ch in group_changes.items():
            gid = next((k for k, v in gid_names.items() if v == gname), None)
            if a.name in ch["remove"]:
                names.discard(gname)
                gids.discard(gid)
            if a.name in ch["add"]:
                names.add(gname)
                gids.add(gid)
        accounts_after.append(sudoers.Account(a.name, a.uid, names, gids))
    after = sudoers.summarize(sudoers.root_grants(parsed_after, accounts_after))
    admins_after = set(u for u, s in after.items() if s["all"])
    op = operator
    guard_notes = []
    if op == "root":
        if p["operator_via_ssh"] and p["manage_root_ssh"]:
            admins_after.discard("root")
            guard_notes.append("root connects over SSH and PermitRootLogin no would refuse it")
        else:
            admins_after.add("root")
    elif root_paths.get(op, {}).get("nopasswd_all") and not after.get(op, {}).get("nopasswd_all"):
        # The connection becomes root without a password today; taking that away cuts it off.
        admins_after.discard(op)
        guard_notes.append("%s would lose the NOPASSWD grant its connection uses" % op)
    for u in host.uid0() if p["remove_extra_uid0"] else []:
        admins_after.discard(u)
    problems = admin_policy.guard(op, sorted(admins_after), approved, p["allow_self_removal"])
    guard_info = {
        "operator": op,
        "operator_source": operator_source,
        "admins_after": sorted(admins_after),
        "notes": guard_notes,
    }
    if problems:
        module.fail_json(
            msg="lock-out guard refused the change, nothing was changed: " + "; ".join(problems + guard_notes),
            problems=problems,
            guard=guard_info,
            root_paths=root_paths,
        )

    sshd, prl = host.sshd_permit_root()
    sshd_change = bool(p["manage_root_ssh"] and sshd and (prl != "no" or host.read(p["sshd_dropin"]) != SSHD_TEXT))
    root_locked = host.root_password_locked()
    lock_root = bool(p["lock_root_password"] and root_locked is False)
    uid0 = host.uid0()
    uid0_remove = list(uid0) if p["remove_extra_uid0"] else []
    audit_before = host.read(p["audit_rules_file"])
    audit_change = bool(p["audit_rules"] and audit_before != audit_rules_text())

    changed = bool(files or group_changes or sshd_change or lock_root or uid0_remove or audit_change)
    diff = []
    for path, new in sorted(files.items(), key=lambda kv: kv[0]):
        diff.append(
            {
                "before_header": path,
                "after_header": path if new is not None else path + " (removed / quarantined)",
                "before": host.read(path) or "",
                "after": new or "",
            }
        )
    if group_changes:
        diff.append(
            {
                "before_header": "admin groups",
                "after_header": "admin groups",
                "before": "".join("%s: %s\n" % (g, ",".join(m)) for g, m in sorted(groups_before.items())),
                "after": "".join(
                    "%s: %s\n" % (g, ",".join(_members_after(m, group_changes.get(g))))
                    for g, m in sorted(groups_before.items())
                ),
            }
        )

    # ---- apply
    applied = {"quarantined": [], "sshd_reloaded": False, "audit_loaded": None}
    if changed and not module.check_mode:
        ap = Applier(module, p["backup_dir"])
        try:
            for path, new in sorted(files.items(), key=lambda kv: kv[0]):
                if new is None:
                    if path in plan["quarantine"]:
                        os.makedirs(p["quarantine_dir"], mode=0o700, exist_ok=True)
                        dest = os.path.join(p["quarantine_dir"], os.path.basename(path) + "." + ap.ts)
                        ap.backup(path)
                        shutil.move(path, dest)
                        applied["quarantined"].append({"from": path, "to": dest})
                    elif os.path.exists(path):
                        ap.remove(path)
                else:
                    ap.write(path, new, 0o440, validate=[visudo, "-cf"])
            if files:
                rc, out, err = module.run_command([visudo, "-c", "-f", main])
                if rc != 0:
                    raise RuntimeError("visudo -c rejected the resulting configuration: %s" % (err or out).strip())
        except Exception as e:  # roll back every sudoers change: never leave a broken sudo behind
            ap.rollback()
            for q in applied["quarantined"]:
                if os.path.exists(q["to"]) and not os.path.exists(q["from"]):
                    shutil.move(q["to"], q["from"])
            module.fail_json(msg="sudoers change rolled back: %s" % e, plan=plan)
        gpasswd = module.get_bin_path("gpasswd", required=bool(group_changes))
        for gname, ch in sorted(group_changes.items()):
            for u in ch["add"]:
                module.run_command([gpasswd, "-a", u, gname], check_rc=True)
            for u in ch["remove"]:
                module.run_command([gpasswd, "-d", u, gname], check_rc=True)
        if sshd_change:
            ap.write(p["sshd_dropin"], SSHD_TEXT, 0o644)
            rc, out, err = module.run_command([sshd, "-t"])
            if rc != 0:
                ap.rollback()
                module.fail_json(msg="sshd -t rejected the configuration, drop-in removed: %s" % (err or out).strip())
            systemctl = module.get_bin_path("systemctl")
            if systemctl:
                for unit in ("ssh.service", "sshd.service"):
                    if module.run_command([systemctl, "is-active", "--quiet", unit])[0] == 0:
                        module.run_command([systemctl, "reload", unit], check_rc=True)
                        applied["sshd_reloaded"] = True
                        break
        if lock_root:
            module.run_command([module.get_bin_path("usermod", required=True), "-L", "root"], check_rc=True)
        for u in uid0_remove:
            module.run_command([module.get_bin_path("userdel", required=True), "-f", u], check_rc=True)
        if audit_change:
            ap.write(p["audit_rules_file"], audit_rules_text(), 0o640)
            augenrules = module.get_bin_path("augenrules")
            if augenrules and host.audit_loaded() is not None:
                rc = module.run_command([augenrules, "--load"])[0]
                applied["audit_loaded"] = rc == 0

    # ---- findings
    check = module.check_mode
    fs = []
    fs.append(
        compliance(
            "6-6.admin_group_members",
            not group_changes,
            bool(group_changes),
            check,
            observed=groups_before,
            expected=sorted(u for u in approved if u in existing),
            evidence={"changes": group_changes, "approved_missing_on_host": sorted(set(approved) - existing)},
        )
    )
    grants_changed = bool(plan["unapproved"])
    fs.append(
        compliance(
            "6-6.sudoers_grants",
            not grants_changed,
            grants_changed,
            check,
            observed=[dict(u, file="%s:%d" % (u["file"], u["line"])) for u in plan["unapproved"]],
            expected="only approved users and groups can become root",
            evidence={
                "root_paths": root_paths,
                "quarantined": plan["quarantine"],
                "commented": plan["comment"],
                "parse_errors": parsed["errors"],
            },
        )
    )
    fs.append(
        compliance(
            "6-6.sudo_nopasswd",
            not plan["nopasswd_found"],
            bool(plan["nopasswd_found"]),
            check,
            observed=plan["nopasswd_found"],
            expected={"nopasswd_approved": p["nopasswd_approved"]},
            evidence={u: s["sources"] for u, s in root_paths.items() if s["nopasswd_all"]},
        )
    )
    if not p["manage_root_ssh"]:
        fs.append(finding("6-6.root_ssh_login", "pass" if prl == "no" else "fail", observed=prl, expected="no"))
    elif not sshd:
        fs.append(finding("6-6.root_ssh_login", "not_applicable", observed="sshd not installed", expected="no"))
    else:
        fs.append(
            compliance(
                "6-6.root_ssh_login",
                not sshd_change,
                sshd_change,
                check,
                observed=prl,
                expected="no",
                evidence={"dropin": p["sshd_dropin"], "sshd": sshd},
            )
        )
    if p["lock_root_password"]:
        fs.append(
            compliance(
                "6-6.root_password_locked",
                not lock_root,
                lock_root,
                check,
                observed={"locked": root_locked},
                expected={"locked": True},
            )
        )
    else:
        fs.append(
            finding(
                "6-6.root_password_locked",
                "pass" if root_locked else "not_applicable",
                observed={"locked": root_locked},
                expected="locked only when admin_privileges_lock_root_password",
                evidence={"source": "/etc/shadow"},
            )
        )
    if uid0 and not p["remove_extra_uid0"]:
        fs.append(
            finding(
                "6-6.uid0_accounts",
                "fail",
                observed=uid0,
                expected=[],
                evidence={"note": "removal only with admin_privileges_remove_extra_uid0: true"},
            )
        )
    else:
        fs.append(compliance("6-6.uid0_accounts", not uid0, bool(uid0), check, observed=uid0, expected=[]))
    timer = host.timer_enabled(p["expiry_timer"])
    tmp_changed = any(k in files for k in list(wanted_tmp) + list(present_tmp))
    tmp_ok = not tmp_changed and not expired_present and (timer is not False or not (wanted_tmp or present_tmp))
    status = compliance("6-6.temporary_grants", tmp_ok, tmp_changed, check)["status"]
    if expired_present and check:
        status = "fail"
    if timer is False and (wanted_tmp or present_tmp):
        status = "fail"
    fs.append(
        finding(
            "6-6.temporary_grants",
            status,
            observed={"present": sorted(present_tmp), "expired_present": expired_present, "timer_enabled": timer},
            expected={"grants": sorted(wanted_tmp), "expired_present": [], "timer_enabled": True},
            evidence={
                "expiry": dict((k, (admin_policy.expiry_of(v) or now).isoformat()) for k, v in present_tmp.items())
            },
        )
    )
    loaded = host.audit_loaded() if p["audit_rules"] else None
    log_change = logging_path in files or audit_change
    log_ok = not log_change and (loaded is not False)
    st = compliance("6-6.privileged_use_logging", log_ok, log_change, check)["status"]
    if p["audit_rules"] and loaded is False and not (applied["audit_loaded"]):
        st = "fail"
    fs.append(
        finding(
            "6-6.privileged_use_logging",
            st,
            observed={"sudo_logging_dropin": logging_before is not None, "audit_rules_loaded": loaded},
            expected={"sudo_logfile": p["sudo_logfile"], "audit_key": AUDIT_KEY},
            evidence={
                "dropin": logging_path,
                "audit_rules_file": p["audit_rules_file"],
                "note": "auditd not running here" if loaded is None else "",
            },
        )
    )

    module.exit_json(
        changed=changed,
        findings=fs,
        root_paths=root_paths,
        plan={
            "files": sorted(files),
            "quarantine": plan["quarantine"],
            "commented": plan["comment"],
            "nopasswd": plan["nopasswd"],
            "groups": group_changes,
            "sshd": sshd_change,
            "lock_root": lock_root,
            "remove_uid0": uid0_remove,
            "audit_rules": audit_change,
            "applied": applied,
        },
        guard=guard_info,
        **({"diff": diff} if module._diff else {}),
    )


def main():
    module = AnsibleModule(
        argument_spec=dict(
            approved_users=dict(type="list", elements="str", required=True),
            approved_groups=dict(type="list", elements="str", default=[]),
            admin_groups=dict(type="list", elements="str", default=["sudo", "wheel", "admin"]),
            nopasswd_approved=dict(type="list", elements="str", default=[], no_log=False),
            temporary=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    user=dict(type="str", required=True),
                    until=dict(type="str", required=True),
                    reason=dict(type="str", required=True),
                    ticket=dict(type="str", required=True),
                ),
            ),
            operator=dict(type="str", default=""),
            operator_via_ssh=dict(type="bool", default=True),
            allow_self_removal=dict(type="bool", default=False),
            manage_root_ssh=dict(type="bool", default=True),
            lock_root_password=dict(type="bool", default=False, no_log=False),
            remove_extra_uid0=dict(type="bool", default=False),
            sudo_logfile=dict(type="path", default="/var/log/sudo.log"),
            audit_rules=dict(type="bool", default=True),
            sudoers=dict(type="path", default="/etc/sudoers"),
            sshd_dropin=dict(type="path", default="/etc/ssh/sshd_config.d/00-pii-guard-admin.conf"),
            audit_rules_file=dict(type="path", default="/etc/audit/rules.d/pii_guard_admin.rules"),
            quarantine_dir=dict(type="path", default="/var/lib/pii_guard/sudoers-quarantine"),
            backup_dir=dict(type="path", default="/var/backups/pii_guard/admin_privileges"),
            expiry_timer=dict(type="str", default="pii-guard-sudo-expiry.timer"),
            validate_only=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    run(module)


if __name__ == "__main__":
    main()
