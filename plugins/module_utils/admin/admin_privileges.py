# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The admin_privileges module's logic (clause 6-6): ARGUMENT_SPEC and run(module)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import grp
import os
import pwd
import socket

from ansible_collections.pii_guard.safeguards.plugins.module_utils.common import hostfile
from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin import plan as admin_plan
from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin import policy as admin_policy
from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin import sudoers


def accounts_from(users, groups):
    """Accounts as sudo matches them: ``users`` [(name, uid, primary gid)] from passwd,
    ``groups`` [(name, gid, [members])] from group. The primary group counts for ``%group``
    and ``%#gid`` although group lists do not name the user in it (sudo uses getgrouplist).
    Returns (accounts, {uid: name}, {gid: name})."""
    gid_name = dict((gid, name) for name, gid, _mem in groups)
    out = []
    for name, uid, pgid in users:
        names = set([gid_name.get(pgid, str(pgid))])
        gids = set([pgid])
        for gname, gid, members in groups:
            if name in members:
                names.add(gname)
                gids.add(gid)
        out.append(sudoers.Account(name, uid, names, gids))
    return out, dict((uid, name) for name, uid, _g in users), gid_name


class Host:
    """Everything the module reads from the host."""

    def __init__(self, module):
        self.m = module

    def accounts(self):
        users = [(u.pw_name, u.pw_uid, u.pw_gid) for u in pwd.getpwall()]
        groups = [(g.gr_name, g.gr_gid, list(g.gr_mem)) for g in grp.getgrall()]
        return accounts_from(users, groups)

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
        text = hostfile.read_text("/etc/shadow") or ""
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
        return admin_plan.AUDIT_KEY in out

    def host_info(self):
        """This host as sudo matches host lists: gethostname() and non-loopback addresses."""
        ips = []
        ip = self.m.get_bin_path("ip")
        if ip:
            rc, out, _err = self.m.run_command([ip, "-o", "addr", "show"])
            if rc == 0:
                for line in out.splitlines():
                    f = line.split()
                    if len(f) >= 4 and f[1] != "lo" and f[2] in ("inet", "inet6"):
                        ips.append(f[3])
            else:
                ips = None
        else:
            ips = None  # unknown: IP items in host lists then match (conservative)
        return sudoers.HostInfo(socket.gethostname(), ips)


def _members_after(members, change):
    change = change or {}
    return sorted((set(members) - set(change.get("remove", []))) | set(change.get("add", [])))


def _user_name(uid):
    try:
        return pwd.getpwuid(os.geteuid() if uid is None else uid).pw_name
    except KeyError:
        return None


def read_state(module, operator, operator_source, now):
    """Read: everything the plan needs from the host, in one pass (see admin_plan)."""
    p = module.params
    host = Host(module)
    accounts, uid_names, gid_names = host.accounts()
    groups = dict((g.gr_name, sorted(g.gr_mem)) for g in grp.getgrall())
    sshd, prl = host.sshd_permit_root()
    return {
        "params": p,
        "now": now,
        "operator": operator,
        "operator_source": operator_source,
        "accounts": accounts,
        "uid_names": uid_names,
        "gid_names": gid_names,
        "groups": groups,
        "fs": sudoers.LocalFS(),
        "host": host.host_info(),
        "sshd": sshd,
        "prl": prl,
        "sshd_dropin": hostfile.read_text(p["sshd_dropin"]),
        "root_locked": host.root_password_locked(),
        "uid0": host.uid0(),
        "audit_before": hostfile.read_text(p["audit_rules_file"]),
        "audit_loaded": host.audit_loaded() if p["audit_rules"] else None,
        "timer": host.timer_enabled(p["expiry_timer"]),
    }


def apply(module, state, pl, visudo):
    """Apply: sudoers files (validated, rolled back as a whole), groups, sshd, root, UID 0, auditd."""
    applied = {"quarantined": [], "sshd_reloaded": False, "audit_loaded": None}
    files = hostfile.Changes(module.params["backup_dir"], check_mode=module.check_mode, run_command=module.run_command)
    apply_sudoers(module, pl, visudo, files, applied)
    apply_groups(module, pl["group_changes"])
    if pl["sshd_change"]:
        apply_sshd(module, state, files, applied)
    if pl["lock_root"]:
        module.run_command([module.get_bin_path("usermod", required=True), "-L", "root"], check_rc=True)
    for u in pl["uid0_remove"]:
        module.run_command([module.get_bin_path("userdel", required=True), "-f", u], check_rc=True)
    if pl["audit_change"]:
        files.write(module.params["audit_rules_file"], admin_plan.audit_rules_text(), 0o640)
        augenrules = module.get_bin_path("augenrules")
        if augenrules and state["audit_loaded"] is not None:
            rc = module.run_command([augenrules, "--load"])[0]
            applied["audit_loaded"] = rc == 0
    return applied


def apply_sudoers(module, pl, visudo, files, applied):
    """Each sudoers file validated with visudo -cf before its rename, then the whole configuration
    with visudo -c; any failure puts every sudoers file back (never a broken sudo left behind)."""
    p = module.params
    try:
        for path, new in sorted(pl["files"].items(), key=lambda kv: kv[0]):
            if new is None and path in pl["sudoers"]["quarantine"]:
                dest = os.path.join(p["quarantine_dir"], os.path.basename(path) + "." + files.stamp)
                files.move(path, dest, dir_mode=0o700)
                applied["quarantined"].append({"from": path, "to": dest})
            elif new is None:
                files.remove(path)
            else:
                files.write(path, new, 0o440, validate=[visudo, "-cf", "%s"])
        if pl["files"]:
            rc, out, err = module.run_command([visudo, "-c", "-f", pl["main"]])
            if rc != 0:
                raise hostfile.HostFileError(
                    "visudo -c rejected the resulting configuration: %s" % (err or out).strip()
                )
    except Exception as e:  # roll back every sudoers change: never leave a broken sudo behind
        files.rollback()
        module.fail_json(msg="sudoers change rolled back: %s" % e, plan=_plan_summary(pl, applied))


def apply_groups(module, group_changes):
    """Admin groups get exactly the approved members."""
    gpasswd = module.get_bin_path("gpasswd", required=bool(group_changes))
    for gname, ch in sorted(group_changes.items()):
        for u in ch["add"]:
            module.run_command([gpasswd, "-a", u, gname], check_rc=True)
        for u in ch["remove"]:
            module.run_command([gpasswd, "-d", u, gname], check_rc=True)


def apply_sshd(module, state, files, applied):
    """PermitRootLogin no through the drop-in, checked by sshd -t (rolled back when refused)."""
    files.write(module.params["sshd_dropin"], admin_plan.SSHD_TEXT, 0o644)
    rc, out, err = module.run_command([state["sshd"], "-t"])
    if rc != 0:
        files.rollback()
        module.fail_json(msg="sshd -t rejected the configuration, drop-in removed: %s" % (err or out).strip())
    systemctl = module.get_bin_path("systemctl")
    if systemctl:
        for unit in ("ssh.service", "sshd.service"):
            if module.run_command([systemctl, "is-active", "--quiet", unit])[0] == 0:
                module.run_command([systemctl, "reload", unit], check_rc=True)
                applied["sshd_reloaded"] = True
                break


def _plan_summary(pl, applied):
    sp = pl["sudoers"]
    return {
        "files": sorted(pl["files"]),
        "quarantine": sp["quarantine"],
        "commented": sp["comment"],
        "nopasswd": sp["nopasswd"],
        "groups": pl["group_changes"],
        "sshd": pl["sshd_change"],
        "lock_root": pl["lock_root"],
        "remove_uid0": pl["uid0_remove"],
        "audit_rules": pl["audit_change"],
        "exempt": pl["exempt"],
        "applied": applied,
    }


def _diff(state, pl):
    diff = []
    fs = state["fs"]
    for path, new in sorted(pl["files"].items(), key=lambda kv: kv[0]):
        diff.append(
            {
                "before_header": path,
                "after_header": path if new is not None else path + " (removed / quarantined)",
                "before": admin_plan._read(fs, path) or "",
                "after": new or "",
            }
        )
    gc = pl["group_changes"]
    if gc:
        before = dict((g, state["groups"][g]) for g in pl["policed_groups"] if g in state["groups"])
        diff.append(
            {
                "before_header": "admin groups",
                "after_header": "admin groups",
                "before": "".join("%s: %s\n" % (g, ",".join(m)) for g, m in sorted(before.items())),
                "after": "".join(
                    "%s: %s\n" % (g, ",".join(_members_after(m, gc.get(g)))) for g, m in sorted(before.items())
                ),
            }
        )
    return diff


def run(module):
    p = module.params
    now = datetime.datetime.now(datetime.timezone.utc)
    errors = admin_policy.validate(
        p["approved_users"],
        p["approved_groups"],
        p["admin_groups"],
        p["temporary"],
        p["nopasswd_approved"],
        now,
        sudo_logfile=p["sudo_logfile"],
        expiry_schedule=p["expiry_schedule"],
        existing_groups=set(g.gr_name for g in grp.getgrall()),
        limited=p["limited_grants"],
    )
    if p["operator"]:
        operator, operator_source = p["operator"], "operator option"
    else:
        operator, operator_source = admin_policy.detect_operator(
            os.environ, hostfile.read_text("/proc/self/loginuid"), _user_name
        )
    if not admin_policy.valid_name(operator or ""):
        errors.append(admin_policy.operator_error(operator, operator_source))
    if errors:
        module.fail_json(msg="invalid input: " + "; ".join(errors), errors=errors)
    if p["validate_only"]:
        module.exit_json(changed=False, findings=[], root_paths={}, plan={}, guard={})

    visudo = module.get_bin_path("visudo", required=True)
    state = read_state(module, operator, operator_source, now)
    pl = admin_plan.plan(state)
    problems, guard_info = admin_plan.guard(state, pl)
    if problems:
        module.fail_json(
            msg="lock-out guard refused the change, nothing was changed: " + "; ".join(problems),
            problems=problems,
            guard=guard_info,
            root_paths=pl["root_paths"],
        )
    applied = {"quarantined": [], "sshd_reloaded": False, "audit_loaded": None}
    if pl["changed"] and not module.check_mode:
        applied = apply(module, state, pl, visudo)
    fs = admin_plan.findings(state, pl, applied, module.check_mode)
    module.exit_json(
        changed=pl["changed"],
        findings=fs,
        root_paths=pl["root_paths"],
        plan=_plan_summary(pl, applied),
        guard=guard_info,
        **({"diff": _diff(state, pl)} if module._diff else {}),
    )


ARGUMENT_SPEC = dict(
    approved_users=dict(type="list", elements="str", required=True),
    approved_groups=dict(type="list", elements="str", default=[]),
    admin_groups=dict(type="list", elements="str", default=[]),
    limited_grants=dict(type="list", elements="dict", default=[]),
    expiry_schedule=dict(type="str", default="minutely"),
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
)
