# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Clause 6-6 on Linux as pure steps: plan -> guard -> findings (read and apply live in the module).

``state`` is everything the module read from the host, as plain data::

    params        the module's parameters
    now           aware UTC datetime
    operator, operator_source
    accounts      [sudoers.Account]; uid_names {uid: name}; gid_names {gid: name}
    groups        {group name: [members]} of the groups that exist
    fs            a sudoers file-access object (sudoers.LocalFS on the host, OverlayFS in tests)
    host          sudoers.HostInfo of this host
    sshd, prl     sshd binary (None when absent) and PermitRootLogin as sshd -T reports it
    sshd_dropin   text of the module's sshd drop-in or None
    root_locked   True/False/None; uid0 [extra UID-0 names]
    audit_before  text of the audit rules file or None; audit_loaded True/False/None
    timer         whether the expiry timer is enabled (True/False/None)

Nothing here touches the host: unit tests build a state and call these functions.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin import policy as admin_policy
from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin import root_equivalent
from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin import sudoers
from ansible_collections.pii_guard.safeguards.plugins.module_utils.common.findings import compliance, finding

LOGGING_FILE = "pii_guard_logging"
AUDIT_KEY = "pii_guard_root_cmd"
SSHD_TEXT = "# Managed by pii_guard.safeguards (6-6.root_ssh_login)\nPermitRootLogin no\n"
# sudo's group_source (a sudo.conf setting, not a sudoers Default: sudo 1.9.13 refuses
# "Defaults group_source") is static by default: sudo takes the groups of the invoking process,
# so a session opened before a user was removed from an admin group keeps sudo through that
# group until it ends. The finding says so; tests/integration/test_sudo_oracle.py shows it on
# the real sudo.
GROUP_SOURCE_NOTE = (
    "removing a user from an admin group does not take sudo from sessions opened before the "
    "removal (sudo's default group_source=static uses the session's groups); end those sessions, "
    "or set 'Set group_source dynamic' in /etc/sudo.conf"
)


def audit_rules_text():
    return (
        "# Managed by pii_guard.safeguards (6-6.privileged_use_logging): commands run as root by logged-in users\n"
        "-a always,exit -F arch=b64 -S execve -F euid=0 -F auid>=1000 -F auid!=unset -k %s\n"
        "-a always,exit -F arch=b32 -S execve -F euid=0 -F auid>=1000 -F auid!=unset -k %s\n"
    ) % (AUDIT_KEY, AUDIT_KEY)


def logging_text(logfile):
    """The managed Defaults drop-in. ``logfile`` was validated (admin_policy.valid_logfile)."""
    if not admin_policy.valid_logfile(logfile):
        raise ValueError("sudo_logfile %r is not a plain absolute path" % (logfile,))
    return (
        "# Managed by pii_guard.safeguards (6-6.privileged_use_logging)\n"
        'Defaults logfile="%s"\n'
        "Defaults log_year, syslog=authpriv\n"
    ) % logfile


def sudoers_dir(parsed, main):
    """The directory of drop-ins (the first @includedir / #includedir), where managed files live."""
    for e in parsed["entries"]:
        if e["kind"] == "includedir":
            return e["target"]
    return os.path.join(os.path.dirname(main), "sudoers.d")


def admin_groups(params, groups):
    """The admin groups to police: those named, or the platform's that exist when none are named."""
    if params["admin_groups"]:
        return list(params["admin_groups"])
    return [g for g in admin_policy.DEFAULT_ADMIN_GROUPS if g in groups]


def _read(fs, path):
    try:
        return fs.read(path)
    except (IOError, OSError):
        return None


def root_paths(parsed, accounts, host):
    """Who can run what as root here, as sudo decides, with each limited command classified."""
    out = {}
    al = sudoers.aliases_of(parsed["entries"])
    for a in accounts:
        v = sudoers.evaluate(parsed, a, host)
        if not v["all"] and not v["commands"]:
            continue
        cmds = []
        for name, d in v["commands"].items():
            noexec = sudoers.defaults_flag(parsed, al, a, host, "noexec", False, cmd=sudoers.split_command(name))
            cls, reason = root_equivalent.classify(name, d["cmnd"]["tags"], noexec_default=noexec)
            cmds.append({"command": name, "class": cls, "reason": reason, "nopasswd": d["nopasswd"]})
        out[a.name] = {
            "all": v["all"],
            "nopasswd_all": v["nopasswd_all"],
            "root_equivalent": v["all"] or any(c["class"] != "limited" for c in cmds),
            "commands": cmds,
            "sources": v["sources"],
        }
    return out


def plan(state):
    """Every change the run would make, as data (nothing is written here)."""
    p = state["params"]
    fs = state["fs"]
    main = p["sudoers"]
    parsed = sudoers.parse_file(main, fs)
    ddir = sudoers_dir(parsed, main)
    policed = admin_groups(p, state["groups"])
    approved = list(p["approved_users"])
    managed, wanted_tmp, logging_path = _managed_files(p, ddir)
    present_tmp = _present_temporary(fs, ddir)
    exempt = set(path for path, text in managed.items() if _read(fs, path) == text)
    sp = admin_policy.plan_sudoers(
        parsed,
        approved,
        list(p["approved_groups"]) + policed,
        p["nopasswd_approved"],
        uid_names=state["uid_names"],
        gid_names=state["gid_names"],
        host=state["host"],
        exempt=exempt,
        limited=p.get("limited_grants") or [],
    )
    files = _file_changes(fs, sp, wanted_tmp, present_tmp)
    now = state["now"]
    expired_present = sorted(path for path, text in present_tmp.items() if (admin_policy.expiry_of(text) or now) <= now)
    logging_before = _read(fs, logging_path)
    if logging_before != managed[logging_path]:
        files[logging_path] = managed[logging_path]
    group_changes = _group_changes(state, policed, approved)
    sshd_change = bool(
        p["manage_root_ssh"] and state["sshd"] and (state["prl"] != "no" or state["sshd_dropin"] != SSHD_TEXT)
    )
    lock_root = bool(p["lock_root_password"] and state["root_locked"] is False)
    uid0_remove = list(state["uid0"]) if p["remove_extra_uid0"] else []
    audit_change = bool(p["audit_rules"] and state["audit_before"] != audit_rules_text())
    return {
        "parsed": parsed,
        "ddir": ddir,
        "main": main,
        "policed_groups": policed,
        "sudoers": sp,
        "exempt": sorted(exempt),
        "files": files,
        "wanted_tmp": wanted_tmp,
        "present_tmp": present_tmp,
        "expired_present": expired_present,
        "logging_path": logging_path,
        "logging_before": logging_before,
        "group_changes": group_changes,
        "sshd_change": sshd_change,
        "lock_root": lock_root,
        "uid0_remove": uid0_remove,
        "audit_change": audit_change,
        "root_paths": root_paths(parsed, state["accounts"], state["host"]),
        "changed": bool(files or group_changes or sshd_change or lock_root or uid0_remove or audit_change),
    }


def _managed_files(p, ddir):
    """Files this module renders ``{path: text}``, the temporary grants among them and the logging drop-in path.

    They are exempt from policing only with exactly the content rendered now."""
    managed = {}
    for g in p["temporary"]:
        until = admin_policy.parse_until(g["until"])
        managed[os.path.join(ddir, admin_policy.temporary_name(g["user"]))] = admin_policy.temporary_file(g, until)
    wanted_tmp = dict(managed)
    logging_path = os.path.join(ddir, LOGGING_FILE)
    managed[logging_path] = logging_text(p["sudo_logfile"])
    return managed, wanted_tmp, logging_path


def _present_temporary(fs, ddir):
    """Temporary grant files in the drop-in directory now ``{path: text}``."""
    try:
        names = sorted(fs.listdir(ddir)) if fs.isdir(ddir) else []
    except (IOError, OSError):
        names = []
    return dict(
        (os.path.join(ddir, name), _read(fs, os.path.join(ddir, name)))
        for name in names
        if name.startswith(admin_policy.TEMP_PREFIX)
    )


def _file_changes(fs, sp, wanted_tmp, present_tmp):
    """``{path: new text or None (remove)}`` for sudoers edits, quarantines and temporary grants."""
    files = {}
    for path in set(sp["comment"]) | set(sp["nopasswd"]):
        text = _read(fs, path)
        if text is not None:
            new = admin_policy.edit_text(text, sp["comment"].get(path, ()), sp["nopasswd"].get(path, ()))
            if new != text:
                files[path] = new
    for path in sp["quarantine"]:
        files[path] = None
    for path, text in wanted_tmp.items():
        if present_tmp.get(path) != text:
            files[path] = text
    for path in present_tmp:
        if path not in wanted_tmp and path not in sp["quarantine"]:
            files[path] = None
    return files


def _group_changes(state, policed, approved):
    """``{group: {add, remove}}`` that makes each policed admin group hold the approved users on this host."""
    existing = set(a.name for a in state["accounts"])
    group_changes = {}
    want = sorted(u for u in approved if u in existing)
    for gname in policed:
        members = state["groups"].get(gname)
        if members is None:
            continue
        add = [u for u in want if u not in members]
        remove = [u for u in members if u not in want]
        if add or remove:
            group_changes[gname] = {"add": add, "remove": remove}
    return group_changes


def accounts_after(accounts, gid_names, group_changes):
    out = []
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
        out.append(sudoers.Account(a.name, a.uid, names, gids))
    return out


def guard(state, pl):
    """Lock-out guard on the planned change: ``(problems, guard_info)``; no problems = safe."""
    p = state["params"]
    parsed_after = sudoers.parse_file(pl["main"], sudoers.OverlayFS(pl["files"], base=state["fs"]))
    after_accts = accounts_after(state["accounts"], state["gid_names"], pl["group_changes"])
    after = {}
    for a in after_accts:
        v = sudoers.evaluate(parsed_after, a, state["host"])
        after[a.name] = v
    admins_after = set(u for u, v in after.items() if v["all"])
    op = state["operator"]
    notes = []
    if op == "root":
        if p["operator_via_ssh"] and p["manage_root_ssh"]:
            admins_after.discard("root")
            notes.append("root connects over SSH and PermitRootLogin no would refuse it")
        else:
            admins_after.add("root")
    elif pl["root_paths"].get(op, {}).get("nopasswd_all") and not after.get(op, {}).get("nopasswd_all"):
        # The connection becomes root without a password today; taking that away cuts it off.
        admins_after.discard(op)
        notes.append("%s would lose the NOPASSWD grant its connection uses" % op)
    for u in pl["uid0_remove"]:
        admins_after.discard(u)
    problems = admin_policy.guard(op, sorted(admins_after), p["approved_users"], p["allow_self_removal"])
    info = {
        "operator": op,
        "operator_source": state["operator_source"],
        "admins_after": sorted(admins_after),
        "notes": notes,
    }
    return problems + (notes if problems else []), info


def findings(state, pl, applied=None, check=False):
    """The nine 6-6 findings of a run (``applied``: what the apply step did, or None)."""
    applied = applied or {}
    return [
        _group_members_finding(state, pl, check),
        _grants_finding(state, pl, check),
        _nopasswd_finding(state, pl, check),
        _root_ssh_finding(state, pl, check),
        _root_password_finding(state, pl, check),
        _uid0_finding(state, check),
        _temporary_grants_finding(state, pl, check),
        _logging_finding(state, pl, applied, check),
    ]


def _group_members_finding(state, pl, check):
    p = state["params"]
    existing = set(a.name for a in state["accounts"])
    approved = list(p["approved_users"])
    groups_before = dict((g, state["groups"][g]) for g in pl["policed_groups"] if g in state["groups"])
    gc = pl["group_changes"]
    return compliance(
        "6-6.admin_group_members",
        not gc,
        bool(gc),
        check,
        observed=groups_before,
        expected=sorted(u for u in approved if u in existing),
        evidence={
            "changes": gc,
            "approved_missing_on_host": sorted(set(approved) - existing),
            "policed_groups": pl["policed_groups"],
            "group_source": GROUP_SOURCE_NOTE,
        },
    )


def _grants_finding(state, pl, check):
    sp = pl["sudoers"]
    unapproved = bool(sp["unapproved"])
    limited_wide = sorted(
        u for u, s in pl["root_paths"].items() if not s["all"] and any(c["class"] != "limited" for c in s["commands"])
    )
    return compliance(
        "6-6.sudoers_grants",
        not unapproved,
        unapproved,
        check,
        observed=[dict(u, file="%s:%d" % (u["file"], u["line"])) for u in sp["unapproved"]],
        expected="only approved users and groups can become root, and approved limited grants stay as approved",
        evidence={
            "root_paths": pl["root_paths"],
            "root_equivalent_limited_grants": limited_wide,
            "limited_kept": sp["limited_kept"],
            "quarantined": sp["quarantine"],
            "commented": sp["comment"],
            "exempt_managed_files": pl["exempt"],
            "host": {"name": state["host"].name, "short": state["host"].short},
            "parse_errors": pl["parsed"]["errors"],
            # constructs judged by assumption (towards reporting the grant), and why
            "assumed": pl["parsed"].get("assumptions", []),
        },
    )


def _nopasswd_finding(state, pl, check):
    nf = pl["sudoers"]["nopasswd_found"]
    return compliance(
        "6-6.sudo_nopasswd",
        not nf,
        bool(nf),
        check,
        observed=nf,
        expected={"nopasswd_approved": state["params"]["nopasswd_approved"]},
        evidence={u: s["sources"] for u, s in pl["root_paths"].items() if s["nopasswd_all"]},
    )


def _root_ssh_finding(state, pl, check):
    p = state["params"]
    sshd, prl = state["sshd"], state["prl"]
    if not p["manage_root_ssh"]:
        return finding("6-6.root_ssh_login", "pass" if prl == "no" else "fail", observed=prl, expected="no")
    if not sshd:
        return finding("6-6.root_ssh_login", "not_applicable", observed="sshd not installed", expected="no")
    return compliance(
        "6-6.root_ssh_login",
        not pl["sshd_change"],
        pl["sshd_change"],
        check,
        observed=prl,
        expected="no",
        evidence={"dropin": p["sshd_dropin"], "sshd": sshd},
    )


def _root_password_finding(state, pl, check):
    if state["params"]["lock_root_password"]:
        return compliance(
            "6-6.root_password_locked",
            not pl["lock_root"],
            pl["lock_root"],
            check,
            observed={"locked": state["root_locked"]},
            expected={"locked": True},
        )
    return finding(
        "6-6.root_password_locked",
        "pass" if state["root_locked"] else "not_applicable",
        observed={"locked": state["root_locked"]},
        expected="locked only when admin_privileges_lock_root_password",
        evidence={"source": "/etc/shadow"},
    )


def _uid0_finding(state, check):
    uid0 = state["uid0"]
    if uid0 and not state["params"]["remove_extra_uid0"]:
        return finding(
            "6-6.uid0_accounts",
            "fail",
            observed=uid0,
            expected=[],
            evidence={"note": "removal only with admin_privileges_remove_extra_uid0: true"},
        )
    return compliance("6-6.uid0_accounts", not uid0, bool(uid0), check, observed=uid0, expected=[])


def _temporary_grants_finding(state, pl, check):
    files = pl["files"]
    wanted_tmp, present_tmp, expired = pl["wanted_tmp"], pl["present_tmp"], pl["expired_present"]
    timer = state["timer"]
    tmp_changed = any(k in files for k in list(wanted_tmp) + list(present_tmp))
    tmp_ok = not tmp_changed and not expired and (timer is not False or not (wanted_tmp or present_tmp))
    status = compliance("6-6.temporary_grants", tmp_ok, tmp_changed, check)["status"]
    if expired and check:
        status = "fail"
    if timer is False and (wanted_tmp or present_tmp):
        status = "fail"
    now = state["now"]
    return finding(
        "6-6.temporary_grants",
        status,
        observed={"present": sorted(present_tmp), "expired_present": expired, "timer_enabled": timer},
        expected={"grants": sorted(wanted_tmp), "expired_present": [], "timer_enabled": True},
        evidence={
            "expiry": dict((k, (admin_policy.expiry_of(v) or now).isoformat()) for k, v in present_tmp.items()),
            "notafter": "each grant carries NOTAFTER, so sudo refuses it after expiry even without the timer",
        },
    )


def _logging_finding(state, pl, applied, check):
    p = state["params"]
    loaded = state["audit_loaded"] if p["audit_rules"] else None
    log_change = pl["logging_path"] in pl["files"] or pl["audit_change"]
    log_ok = not log_change and (loaded is not False)
    st = compliance("6-6.privileged_use_logging", log_ok, log_change, check)["status"]
    if p["audit_rules"] and loaded is False and not applied.get("audit_loaded"):
        st = "fail"
    return finding(
        "6-6.privileged_use_logging",
        st,
        observed={"sudo_logging_dropin": pl["logging_before"] is not None, "audit_rules_loaded": loaded},
        expected={"sudo_logfile": p["sudo_logfile"], "audit_key": AUDIT_KEY},
        evidence={
            "dropin": pl["logging_path"],
            "audit_rules_file": p["audit_rules_file"],
            "note": "auditd not running here" if loaded is None else "",
        },
    )
