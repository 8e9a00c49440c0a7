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

from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin_policy import LockoutError, guard
from ansible_collections.pii_guard.safeguards.plugins.module_utils.findings import compliance, finding

ADMINISTRATORS_SID = "S-1-5-32-544"
UAC_PATH = "HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System"
UAC_VALUES = (
    ("EnableLUA", 1),
    ("ConsentPromptBehaviorAdmin", 2),  # prompt for consent on the secure desktop
    ("PromptOnSecureDesktop", 1),
    ("FilterAdministratorToken", 1),  # Admin Approval Mode for the built-in Administrator
)
# Where a LAPS policy lives: Windows LAPS (CSP, then GPO) and legacy Microsoft LAPS (AdmPwd).
LAPS_KEYS = (
    ("windows_laps_csp", "HKLM:\\SOFTWARE\\Microsoft\\Policies\\LAPS", "BackupDirectory", (1, 2)),
    (
        "windows_laps_gpo",
        "HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\LAPS",
        "BackupDirectory",
        (1, 2),
    ),
    ("legacy_admpwd", "HKLM:\\SOFTWARE\\Policies\\Microsoft Services\\AdmPwd", "AdmPwdEnabled", (1,)),
)
READ_KEYS = [UAC_PATH] + [k[1] for k in LAPS_KEYS]

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
    ``{group: {sid, name}, members: [{sid, name}], approved: [{input, sid, name}],
    builtin_admin: {sid, name, enabled}}``; ``operator`` is win_whoami's ``account``
    (``{sid, account_name, domain_name}``).

    Raises PlanError on bad input and LockoutError when the result would lock the
    connecting account out; both before any change.
    """
    errors = validate_inputs(approved, builtin_admin_name)
    if errors:
        raise PlanError("; ".join(errors))
    group = state.get("group") or {}
    if _sid(group.get("sid")) != ADMINISTRATORS_SID or not group.get("name"):
        raise PlanError("the host did not report the group with SID %s (got %r)" % (ADMINISTRATORS_SID, group))
    resolved = dict((r.get("input"), r) for r in state.get("approved") or [])
    approved_sids = []
    for a in approved:
        r = resolved.get(a) or {}
        if SID_RE.match(a):
            r = dict(r, sid=r.get("sid") or a)
        if not r.get("sid"):
            raise PlanError(
                "admin_privileges_windows_approved_members: %r does not resolve to an account on this host" % (a,)
            )
        approved_sids.append(_sid(r["sid"]))

    op_sid = _sid((operator or {}).get("sid"))
    op_name = "%s\\%s" % ((operator or {}).get("domain_name") or "", (operator or {}).get("account_name") or "")
    builtin = state.get("builtin_admin") or {}
    builtin_sid = _sid(builtin.get("sid"))

    after = list(approved_sids)
    if op_sid and not allow_self_removal and op_sid not in after:
        after.append(op_sid)  # the connecting account stays, by SID
    after = _dedupe(after)
    current = [_sid(m.get("sid")) for m in state.get("members") or []]
    names = dict((_sid(m.get("sid")), m.get("name")) for m in state.get("members") or [])
    names.update((_sid(r.get("sid")), r.get("name") or r.get("input")) for r in resolved.values() if r.get("sid"))
    if op_sid:
        names.setdefault(op_sid, op_name)
    to_add = [s for s in after if s not in current]
    to_remove = [s for s in current if s not in after]

    # Who still holds admin rights afterwards: a disabled RID-500 account holds none.
    effective = [s for s in after if not (disable_builtin_admin and s == builtin_sid)]
    problems = guard(op_sid or None, effective, approved_sids, allow_self_removal=allow_self_removal)
    if not allow_self_removal and op_sid and op_sid == builtin_sid and builtin_admin_name:
        problems.append(
            "the connecting account %s is the built-in Administrator (RID 500), which this role renames to %r%s; "
            "connect as an approved administrator instead"
            % (op_name, builtin_admin_name, " and disables" if disable_builtin_admin else "")
        )
    if problems:
        raise LockoutError("lock-out guard refused the change: " + "; ".join(problems))

    membership = None
    if to_add or to_remove:
        membership = {"name": group["name"], "members": after, "state": "pure"}

    secpol = []
    if builtin_admin_name and builtin.get("name") != builtin_admin_name:
        secpol.append({"section": "System Access", "key": "NewAdministratorName", "value": builtin_admin_name})
    if disable_builtin_admin and builtin.get("enabled"):
        secpol.append({"section": "System Access", "key": "EnableAdminAccount", "value": "0"})

    return {
        "group": {"sid": ADMINISTRATORS_SID, "name": group["name"]},
        "operator": {"sid": op_sid, "name": op_name},
        "members_before": [{"sid": s, "name": names.get(s)} for s in current],
        "members_after": [{"sid": s, "name": names.get(s)} for s in after],
        "to_add": [{"sid": s, "name": names.get(s)} for s in to_add],
        "to_remove": [{"sid": s, "name": names.get(s)} for s in to_remove],
        "membership": membership,
        "builtin_admin": {"sid": builtin_sid, "name": builtin.get("name"), "enabled": bool(builtin.get("enabled"))},
        "secpol": secpol,
    }


def _dedupe(items):
    seen, out = set(), []
    for i in items:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out


def _props(reads, path):
    for r in reads or []:
        if str(r.get("path") or r.get("item") or "").lower() == path.lower():
            if not r.get("exists"):
                return {}
            return dict((k.lower(), v) for k, v in (r.get("properties") or {}).items() if isinstance(v, dict))
    raise PlanError("no registry read for %s" % path)


def uac_changes(reads):
    """win_regedit calls that set the UAC values, and the drift seen."""
    props = _props(reads, UAC_PATH)
    calls, bad = [], []
    for name, want in UAC_VALUES:
        have = props.get(name.lower())
        ok = have is not None and have.get("type") == "REG_DWORD" and _int(have.get("value")) == want
        if not ok:
            calls.append({"path": UAC_PATH, "name": name, "data": want, "type": "dword", "state": "present"})
            bad.append({"name": name, "observed": None if have is None else have.get("value"), "expected": want})
    return calls, bad


def _int(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def laps_status(reads):
    """Which LAPS policy is configured (report only; LAPS is deployed by group policy)."""
    found = []
    for label, path, name, enabled in LAPS_KEYS:
        p = _props(reads, path).get(name.lower())
        if p is not None and _int(p.get("value")) in enabled:
            found.append({"policy": label, "path": path, "name": name, "value": _int(p.get("value"))})
    return found


def findings(planned, uac_bad, laps, changed, check_mode):
    """Findings for the four Windows 6-6 controls, in the common shape."""
    m_bad = bool(planned["membership"])
    b_bad = bool(planned["secpol"])
    out = [
        compliance(
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
            },
        ),
        compliance(
            C_BUILTIN,
            not b_bad,
            b_bad and changed,
            check_mode,
            observed=planned["builtin_admin"],
            expected="RID-500 account renamed and disabled",
            evidence={"secedit": planned["secpol"]},
        ),
        compliance(
            C_UAC,
            not uac_bad,
            bool(uac_bad) and changed,
            check_mode,
            observed="as required" if not uac_bad else uac_bad,
            expected=dict(UAC_VALUES),
            evidence={"path": UAC_PATH, "drift": uac_bad},
        ),
        finding(
            C_LAPS,
            "pass" if laps else "fail",
            observed=[x["policy"] for x in laps] or "no LAPS policy",
            expected="a Windows LAPS or legacy LAPS policy with password backup enabled",
            evidence={"policies": laps, "checked": [k[1] for k in LAPS_KEYS]},
        ),
    ]
    return out


__all__ = ["ADMINISTRATORS_SID", "LockoutError", "PlanError", "findings", "laps_status", "plan", "uac_changes"]
