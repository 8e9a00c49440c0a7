# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Clause 6-6 on Windows: plan Administrators membership, RID-500, UAC and the LAPS check.

Runs on the controller only. Everything is keyed by SID, never by a localised name:

* the Administrators group is the group with SID ``S-1-5-32-544`` (``Administrators``,
  ``Administratoren``, ...); its local name is only read to pass it to
  ``ansible.windows.win_group_membership``, whose ``name`` takes a name;
* approved members are resolved to SIDs on the host (a name that does not resolve is an
  input error) and handed to ``win_group_membership`` as SIDs (it accepts SIDs);
* the built-in Administrator is the local account whose SID ends in ``-500``; it is renamed
  and disabled through ``community.windows.win_security_policy`` (NewAdministratorName,
  EnableAdminAccount), which address the RID-500 account whatever its current name.

The lock-out guard is the shared one (``admin_policy.guard``), fed with SIDs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin.policy import LockoutError, guard
from ansible_collections.pii_guard.safeguards.plugins.module_utils.common.findings import compliance, finding

ADMINISTRATORS_SID = "S-1-5-32-544"
UAC_PATH = "HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System"
UAC_VALUES = (
    ("EnableLUA", 1),
    ("ConsentPromptBehaviorAdmin", 2),  # prompt for consent on the secure desktop
    ("PromptOnSecureDesktop", 1),
    ("FilterAdministratorToken", 1),  # Admin Approval Mode for the built-in Administrator
)
# LAPS policy roots in the order Windows LAPS queries them. The first root holding at least
# one value is the active policy; settings are never merged across roots and a setting the
# active root lacks takes its default (BackupDirectory default 0 = disabled). Source:
# "Configure policy settings for Windows LAPS", section "Supported policy roots"
# (learn.microsoft.com/windows-server/identity/laps/laps-management-policy-settings). The legacy
# Microsoft LAPS root is honoured only when no Windows LAPS root is set (legacy emulation mode,
# learn.microsoft.com/windows-server/identity/laps/laps-scenarios-legacy).
LAPS_ROOTS = (
    ("windows_laps_csp", "HKLM:\\SOFTWARE\\Microsoft\\Policies\\LAPS"),
    ("windows_laps_gpo", "HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\LAPS"),
    ("windows_laps_local", "HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\LAPS\\Config"),
    ("legacy_admpwd", "HKLM:\\SOFTWARE\\Policies\\Microsoft Services\\AdmPwd"),
)
# Kept for callers that iterate (label, path, value, enabled values).
LAPS_KEYS = tuple(
    (
        label,
        path,
        "AdmPwdEnabled" if label == "legacy_admpwd" else "BackupDirectory",
        (1,) if label == "legacy_admpwd" else (1, 2),
    )
    for label, path in LAPS_ROOTS
)
# Where this role records a change that takes effect only after a restart (EnableLUA; the
# device-installation and removable-storage policies of usb_storage): value name = control id,
# data = the host's boot time when the change was written. A later run that sees another boot
# time knows the host restarted since.
PENDING_KEY = "HKLM:\\SOFTWARE\\pii_guard\\safeguards\\PendingRestart"
READ_KEYS = [UAC_PATH] + [k[1] for k in LAPS_ROOTS] + [PENDING_KEY]

C_MEMBERS = "6-6.win_administrators_members"
C_BUILTIN = "6-6.win_builtin_administrator"
C_UAC = "6-6.win_uac"
C_LAPS = "6-6.win_laps"

SID_RE = re.compile(r"^S-1-[0-9]+(-[0-9]+){1,14}\Z", re.IGNORECASE)
# DOMAIN\name, .\name, name@domain.tld, or a bare name; characters Windows refuses in
# account names are refused here, before anything reaches a host.
_BAD_CHARS = re.compile(r'[\x00-\x1f"/\[\]:;|=,+*?<>]')
ACCOUNT_RE = re.compile(
    r"^(?:(?:[^\\@\x00-\x1f\x7f]+|\.)\\[^\\@\x00-\x1f\x7f]+|[^\\@\x00-\x1f\x7f]+@[^\\@\x00-\x1f\x7f]+|[^\\@\x00-\x1f\x7f]+)\Z"
)


class PlanError(ValueError):
    """Bad input to the planner; the message names the variable and the value."""


def validate_inputs(approved, builtin_admin_name):
    """Return a list of input errors (empty when fine), each naming the variable and value."""
    errors = []
    if not isinstance(approved, (list, tuple)) or isinstance(approved, str) or not approved:
        errors.append(
            "admin_privileges_windows_approved_members must be a non-empty list of accounts "
            "(e.g. 'AGENCY\\pc-admins', '.\\opadmin', 'alice@agency.example', 'S-1-5-21-...'), got %r" % (approved,)
        )
    else:
        for a in approved:
            if not isinstance(a, str) or not a.strip() or a != a.strip():
                errors.append("admin_privileges_windows_approved_members: %r is not an account name" % (a,))
            elif SID_RE.match(a):
                continue
            elif _BAD_CHARS.search(a) or not ACCOUNT_RE.match(a):
                errors.append(
                    "admin_privileges_windows_approved_members: %r is not DOMAIN\\name, .\\name, name@domain, "
                    "a bare name or a SID" % (a,)
                )
    if builtin_admin_name is not None:
        n = builtin_admin_name
        if not isinstance(n, str) or not n or len(n) > 20 or _BAD_CHARS.search(n) or "\\" in n or "@" in n:
            errors.append(
                "admin_privileges_windows_builtin_admin_name: %r is not a valid local account name "
                '(1-20 characters, none of \\ / [ ] : ; | = , + * ? < > @ ")' % (n,)
            )
        elif n.lower() == "administrator":
            errors.append(
                "admin_privileges_windows_builtin_admin_name: %r is the well-known default; choose another name" % (n,)
            )
    return errors


def _sid(x):
    return (x or "").upper()


def _is_group(entry):
    return str((entry or {}).get("class") or "").lower() == "group"


def _expansion(entry):
    """Evidence for one group: what its members are, or why they could not be read."""
    exp = (entry or {}).get("expansion") or {}
    return {
        "sid": _sid(entry.get("sid")),
        "name": entry.get("name"),
        "scope": entry.get("scope"),
        "resolved": bool(exp.get("resolved")),
        "members": [{"sid": _sid(m.get("sid")), "name": m.get("name")} for m in exp.get("members") or []],
        "error": exp.get("error"),
    }


def _grants_someone(entry):
    """An approved account counts for the guard only if it gives admin rights to someone:
    a user does; a group does only when its members could be read and it has at least one."""
    if not _is_group(entry):
        return True
    exp = entry.get("expansion") or {}
    return bool(exp.get("resolved")) and bool(exp.get("members"))


def operator_path(op_sid, op_groups, current):
    """How the connecting account holds admin rights now: ``(via, sids)``.

    ``direct`` when it is a member itself; ``group`` when it is not but one or more members of
    Administrators are groups in its token (win_whoami ``groups``): those groups are its path;
    ``none`` when neither (then it is added as a direct member, the only path we can give it).
    """
    if op_sid and op_sid in current:
        return "direct", [op_sid]
    token = set(_sid(g) for g in op_groups or [])
    via = [s for s in current if s in token]
    if via:
        return "group", via
    return "none", [op_sid] if op_sid else []


# Over 60 lines only through its signature and the docstring of the host state it reads; the body is short steps.
def plan(
    approved,
    state,
    operator,
    builtin_admin_name="pg-localadmin",
    disable_builtin_admin=True,
    allow_self_removal=False,
    check_mode=False,
):
    """Plan the Administrators membership and the RID-500 account.

    ``state`` is what the read script returned:
    ``{group: {sid, name}, members: [{sid, name, class, scope, expansion}], approved:
    [{input, sid, name, class, scope, expansion}], builtin_admin: {sid, name, enabled},
    local_users: [{sid, name, enabled}], boot_time}``; ``expansion`` (groups only) is
    ``{resolved, members: [{sid, name}], error}``. ``operator`` is win_whoami's ``account``
    (``{sid, account_name, domain_name}``), with win_whoami's ``groups`` SIDs as ``groups``.

    Raises PlanError on bad input and LockoutError when the result would lock the
    connecting account out; both before any change.
    """
    group = _checked_group(approved, builtin_admin_name, state)
    resolved = dict((r.get("input"), r) for r in state.get("approved") or [])
    approved_sids, approved_entries = _resolve_approved(approved, resolved)
    op = operator or {}
    op_sid = _sid(op.get("sid"))
    op_name = "%s\\%s" % (op.get("domain_name") or "", op.get("account_name") or "")
    builtin = state.get("builtin_admin") or {}
    builtin_sid = _sid(builtin.get("sid"))

    members = state.get("members") or []
    current = [_sid(m.get("sid")) for m in members]
    via, path = operator_path(op_sid, op.get("groups"), current)

    after = _members_after(approved_sids, op_sid, path, allow_self_removal)
    named = _namer(members, resolved, op_sid, op_name)
    to_add = [s for s in after if s not in current]
    to_remove = [s for s in current if s not in after]

    _check_lockout(
        (op_sid, op_name, via, path),
        after,
        approved_sids,
        approved_entries,
        builtin_sid,
        builtin_admin_name,
        disable_builtin_admin,
        allow_self_removal,
    )
    membership = None
    if to_add or to_remove:
        membership = {"name": group["name"], "members": after, "state": "pure"}
    secpol = _secpol(builtin, builtin_admin_name, disable_builtin_admin)
    return dict(
        {
            "group": {"sid": ADMINISTRATORS_SID, "name": group["name"]},
            "operator": {"sid": op_sid, "name": op_name, "via": via, "path": named(path)},
            "members_before": named(current),
            "members_after": named(after),
            "to_add": named(to_add),
            "to_remove": named(to_remove),
        },
        **_group_expansions(members, approved_entries),
        membership=membership,
        builtin_admin={"sid": builtin_sid, "name": builtin.get("name"), "enabled": bool(builtin.get("enabled"))},
        builtin_disabled_after=bool(disable_builtin_admin) or not builtin.get("enabled"),
        builtin_name_after=builtin_admin_name or builtin.get("name"),
        secpol=secpol,
    )


def _namer(members, resolved, op_sid, op_name):
    """A function turning SIDs into ``[{sid, name}]`` with the names the host reported."""
    names = dict((_sid(m.get("sid")), m.get("name")) for m in members)
    names.update((_sid(r.get("sid")), r.get("name") or r.get("input")) for r in resolved.values() if r.get("sid"))
    if op_sid:
        names.setdefault(op_sid, op_name)
    return lambda sids: [{"sid": s, "name": names.get(s)} for s in sids]


def _group_expansions(members, approved_entries):
    """Nested and approved groups as expanded on the host, and which of them cannot count."""
    nested = [_expansion(m) for m in members if _is_group(m)]
    approved_groups = [_expansion(r) for r in approved_entries.values() if _is_group(r)]
    return {
        "nested_groups": nested,
        "approved_groups": approved_groups,
        "unresolvable": [g for g in nested + approved_groups if not g["resolved"]],
        "empty_approved_groups": [g for g in approved_groups if g["resolved"] and not g["members"]],
    }


def _checked_group(approved, builtin_admin_name, state):
    """The Administrators group as the host reported it; PlanError on bad input or a wrong group."""
    errors = validate_inputs(approved, builtin_admin_name)
    if errors:
        raise PlanError("; ".join(errors))
    group = state.get("group") or {}
    if _sid(group.get("sid")) != ADMINISTRATORS_SID or not group.get("name"):
        raise PlanError("the host did not report the group with SID %s (got %r)" % (ADMINISTRATORS_SID, group))
    return group


def _members_after(approved_sids, op_sid, path, allow_self_removal):
    after = list(approved_sids)
    if op_sid and not allow_self_removal:
        # Keep the operator's access path as it was: its own membership, or the group(s) it
        # holds admin rights through; never turn a nested path into a new direct membership.
        after.extend(s for s in path if s not in after)
    return _dedupe(after)


def _resolve_approved(approved, resolved):
    """``(sids, {sid: entry})`` of the approved members as the host resolved them; PlanError for one it could not."""
    approved_sids = []
    approved_entries = {}
    for a in approved:
        r = resolved.get(a) or {}
        if SID_RE.match(a):
            r = dict(r, sid=r.get("sid") or a)
        if not r.get("sid"):
            raise PlanError(
                "admin_privileges_windows_approved_members: %r does not resolve to an account on this host" % (a,)
            )
        approved_sids.append(_sid(r["sid"]))
        approved_entries[_sid(r["sid"])] = r
    return approved_sids, approved_entries


def _check_lockout(
    op,
    after,
    approved_sids,
    approved_entries,
    builtin_sid,
    builtin_admin_name,
    disable_builtin_admin,
    allow_self_removal,
):
    """LockoutError when the planned membership would cut the connecting account ``op`` (sid, name, via, path) off."""
    op_sid, op_name, via, path = op
    # Who still holds admin rights afterwards: a disabled RID-500 account holds none, and an
    # approved group that is empty or whose members cannot be read gives rights to nobody we
    # can name, so it does not count as "an approved admin keeps access".
    effective = [
        s
        for s in after
        if not (disable_builtin_admin and s == builtin_sid) and _grants_someone(approved_entries.get(s) or {})
    ]
    guard_op = None
    if op_sid:
        guard_op = op_sid if via != "group" else next((s for s in path if s in after), path[0])
    problems = guard(guard_op, effective, approved_sids, allow_self_removal=allow_self_removal)
    if not allow_self_removal and op_sid and op_sid == builtin_sid and builtin_admin_name:
        problems.append(
            "the connecting account %s is the built-in Administrator (RID 500), which this role renames to %r%s; "
            "connect as an approved administrator instead"
            % (op_name, builtin_admin_name, " and disables" if disable_builtin_admin else "")
        )
    if problems:
        raise LockoutError("lock-out guard refused the change: " + "; ".join(problems))


def _secpol(builtin, builtin_admin_name, disable_builtin_admin):
    """secedit settings for the RID-500 account: rename and disable as configured."""
    secpol = []
    if builtin_admin_name and builtin.get("name") != builtin_admin_name:
        secpol.append({"section": "System Access", "key": "NewAdministratorName", "value": builtin_admin_name})
    if disable_builtin_admin and builtin.get("enabled"):
        secpol.append({"section": "System Access", "key": "EnableAdminAccount", "value": "0"})
    return secpol


def _dedupe(items):
    seen, out = set(), []
    for i in items:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out


def _read(reads, path):
    """(exists, {lower name: {type, value}}) of the win_reg_stat result for ``path``."""
    for r in reads or []:
        if str(r.get("path") or r.get("item") or "").lower() == path.lower():
            if not r.get("exists"):
                return False, {}
            return True, dict((k.lower(), v) for k, v in (r.get("properties") or {}).items() if isinstance(v, dict))
    raise PlanError("no registry read for %s" % path)


def _props(reads, path):
    return _read(reads, path)[1]


def uac_changes(reads, boot_time=None):
    """win_regedit calls that set the UAC values, the drift seen, and the restart state.

    Returns ``(calls, bad, pending)``. ``EnableLUA`` takes effect only after a restart
    ("User Account Control: Run all administrators in Admin Approval Mode": "Changing this
    setting requires a system restart"), so a change to it, or a change recorded under
    PENDING_KEY in this same boot, is ``pending``; a record from an earlier boot is removed.
    """
    props = _props(reads, UAC_PATH)
    calls, bad = [], []
    for name, want in UAC_VALUES:
        have = props.get(name.lower())
        ok = have is not None and have.get("type") == "REG_DWORD" and _int(have.get("value")) == want
        if not ok:
            calls.append({"path": UAC_PATH, "name": name, "data": want, "type": "dword", "state": "present"})
            bad.append({"name": name, "observed": None if have is None else have.get("value"), "expected": want})
    pending, marker_calls = pending_restart(reads, C_UAC, any(c["name"] == "EnableLUA" for c in calls), boot_time)
    return calls + marker_calls, bad, pending


def pending_restart(reads, control, changing_now, boot_time):
    """``(pending, marker calls)`` for a control whose change needs a restart (see PENDING_KEY)."""
    mark = _props(reads, PENDING_KEY).get(control.lower())
    recorded = None if mark is None else str(mark.get("value"))
    if changing_now:
        if boot_time is None:
            raise PlanError(
                "the host's boot time was not read; it is needed to track a pending restart of %s" % control
            )
        if recorded == str(boot_time):
            return True, []
        return True, [
            {"path": PENDING_KEY, "name": control, "data": str(boot_time), "type": "string", "state": "present"}
        ]
    if recorded is None:
        return False, []
    if boot_time is None:
        raise PlanError("the host's boot time was not read; it is needed to know whether %s is in effect" % control)
    if recorded == str(boot_time):
        return True, []
    # Restarted since the change: the policy is in effect, the record goes.
    return False, [{"path": PENDING_KEY, "name": control, "state": "absent"}]


def _int(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def laps_status(reads, local_users=None, builtin=None):
    """Evaluate LAPS as Windows does: the active root, its settings, and the managed account.

    ``local_users`` is the read script's list of local accounts ``{sid, name, enabled}``;
    ``builtin`` is ``{sid, name, disabled_after}`` (the RID-500 account after this role's run).
    Returns ``{active_root, path, backup_directory, enabled, managed_account, problems, roots}``.
    """
    roots, active = _laps_roots(reads)
    out = {
        "active_root": None,
        "path": None,
        "backup_directory": None,
        "enabled": False,
        "managed_account": None,
        "problems": [],
        "roots": roots,
    }
    if active is None:
        out["problems"].append("no LAPS policy under any policy root")
        return out
    label, path, props = active
    out.update(active_root=label, path=path)
    builtin = builtin or {}
    enabled, name, bd, prefix = _laps_settings(label, props, out)
    out["enabled"] = enabled
    if prefix is not None:
        # LAPS creates and manages its own account (automatic account management, target 1).
        out["managed_account"] = {"kind": "automatic", "name": prefix, "usable": True}
        if not enabled:
            out["problems"].append(
                "BackupDirectory is %s in the active root %s: passwords are not backed up" % (bd, label)
            )
        return out
    if not enabled:
        out["problems"].append(
            "the active LAPS root is %s (%s) and it does not enable password backup; lower roots are ignored"
            % (label, path)
        )
    out["managed_account"] = _laps_account(name, local_users or [], builtin, out["problems"])
    if out["managed_account"]["kind"] == "builtin" and builtin.get("disabled_after"):
        out["problems"].append(
            "LAPS manages the built-in Administrator (RID 500), which this role disables: no usable account is managed "
            "(set AdministratorAccountName to an approved local admin account)"
        )
    return out


def _laps_roots(reads):
    """Every LAPS policy root with the values it holds, and the active one ``(label, path, props)`` (or None)."""
    roots = []
    active = None
    for label, path in LAPS_ROOTS:
        props = _props(reads, path)
        roots.append({"policy": label, "path": path, "values": sorted(v for v in props)})
        if active is None and props:
            active = (label, path, props)
    return roots, active


def _laps_settings(label, props, out):
    """``(enabled, account name, BackupDirectory, automatic account prefix or None)`` of the active root;
    sets ``out["backup_directory"]``."""
    if label == "legacy_admpwd":
        enabled = _int((props.get("admpwdenabled") or {}).get("value")) == 1
        out["backup_directory"] = "active_directory" if enabled else None
        return enabled, (props.get("adminaccountname") or {}).get("value"), None, None
    bd = _int((props.get("backupdirectory") or {}).get("value"))
    bd = 0 if bd is None else bd  # a setting the active root lacks takes its default
    enabled = bd in (1, 2)
    out["backup_directory"] = {0: None, 1: "entra_id", 2: "active_directory"}.get(bd, "invalid:%s" % bd)
    name = (props.get("administratoraccountname") or {}).get("value")
    if _int((props.get("automaticaccountmanagementenabled") or {}).get("value")) == 1:
        # Automatic account management (Windows 11 24H2 / Server 2025): target 0 = the
        # built-in account, 1 = a new account named by NameOrPrefix (default WLapsAdmin)
        # that LAPS creates itself.
        target = _int((props.get("automaticaccountmanagementtarget") or {}).get("value"))
        if target == 1:
            prefix = (props.get("automaticaccountmanagementnameorprefix") or {}).get("value") or "WLapsAdmin"
            return enabled, name, bd, prefix
        name = None
    return enabled, name, bd, None


def _laps_account(name, users, builtin, problems):
    """The account LAPS manages: the one named in its policy, else the built-in Administrator."""
    if not name:
        return {
            "kind": "builtin",
            "name": builtin.get("name"),
            "sid": _sid(builtin.get("sid")),
            "usable": not builtin.get("disabled_after"),
        }
    wanted = str(name).lower()
    acct = next((u for u in users if str(u.get("name") or "").rsplit("\\", maxsplit=1)[-1].lower() == wanted), None)
    if acct is None:
        problems.append("LAPS manages the account %r, which does not exist on this host" % (name,))
        return {"kind": "named", "name": name, "usable": False}
    if _sid(acct.get("sid")) == _sid(builtin.get("sid")):
        return {
            "kind": "builtin",
            "name": name,
            "sid": _sid(acct.get("sid")),
            "usable": not builtin.get("disabled_after"),
        }
    if not acct.get("enabled"):
        problems.append("LAPS manages %r, which is disabled" % (name,))
    return {"kind": "named", "name": name, "sid": _sid(acct.get("sid")), "usable": bool(acct.get("enabled"))}


def findings(planned, uac_bad, laps, changed, check_mode, uac_pending=False):
    """Findings for the four Windows 6-6 controls, in the common shape."""
    return [
        _members_finding(planned, changed, check_mode),
        _builtin_finding(planned, changed, check_mode),
        _uac_finding(uac_bad, changed, check_mode, uac_pending),
        _laps_finding(laps or {}),
    ]


def _members_finding(planned, changed, check_mode):
    m_bad = bool(planned["membership"])
    return compliance(
        C_MEMBERS,
        not m_bad,
        m_bad and changed,
        check_mode,
        observed=[m["name"] or m["sid"] for m in planned["members_before"]],
        expected=[m["name"] or m["sid"] for m in planned["members_after"]],
        evidence={
            "group_sid": ADMINISTRATORS_SID,
            "group_name": planned["group"]["name"],
            "members_before": planned["members_before"],
            "to_add": planned["to_add"],
            "to_remove": planned["to_remove"],
            "connecting_account": planned["operator"],
            "nested_groups": planned.get("nested_groups", []),
            "approved_groups": planned.get("approved_groups", []),
            "unresolvable_groups": [g["name"] or g["sid"] for g in planned.get("unresolvable", [])],
            "empty_approved_groups": [g["name"] or g["sid"] for g in planned.get("empty_approved_groups", [])],
        },
    )


def _builtin_finding(planned, changed, check_mode):
    b_bad = bool(planned["secpol"])
    return compliance(
        C_BUILTIN,
        not b_bad,
        b_bad and changed,
        check_mode,
        observed=planned["builtin_admin"],
        expected="RID-500 account renamed and disabled",
        evidence={"secedit": planned["secpol"]},
    )


def _uac_finding(uac_bad, changed, check_mode, uac_pending):
    uac = compliance(
        C_UAC,
        not uac_bad and not uac_pending,
        bool(uac_bad) and changed,
        check_mode,
        observed="as required" if not uac_bad else uac_bad,
        expected=dict(UAC_VALUES),
        evidence={"path": UAC_PATH, "drift": uac_bad, "pending_restart": bool(uac_pending)},
    )
    if uac_pending:
        # Written (or already written in this boot) but not in effect until a restart: not
        # "fixed". The finding shape has no restart status, so it fails with the reason.
        uac = finding(
            C_UAC,
            "fail",
            observed="pending_restart: EnableLUA takes effect after the host restarts",
            expected=dict(UAC_VALUES),
            evidence={"path": UAC_PATH, "drift": uac_bad, "pending_restart": True, "restart_tracked_in": PENDING_KEY},
        )
    return uac


def _laps_finding(laps):
    laps_ok = (
        bool(laps.get("enabled"))
        and bool((laps.get("managed_account") or {}).get("usable"))
        and not laps.get("problems")
    )
    return finding(
        C_LAPS,
        "pass" if laps_ok else "fail",
        observed={
            "active_root": laps.get("active_root"),
            "backup_directory": laps.get("backup_directory"),
            "managed_account": laps.get("managed_account"),
        },
        expected="the active LAPS root enables password backup for an account that exists and stays usable",
        evidence={"problems": laps.get("problems", []), "roots": laps.get("roots", [])},
    )


__all__ = [
    "ADMINISTRATORS_SID",
    "LockoutError",
    "PlanError",
    "findings",
    "laps_status",
    "operator_path",
    "pending_restart",
    "plan",
    "uac_changes",
]
