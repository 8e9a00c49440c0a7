"""Clause 6-6 on Windows: Administrators by SID, the lock-out guard, RID 500, UAC, LAPS."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.pii_guard.safeguards.plugins.module_utils import findings as findings_mod
from ansible_collections.pii_guard.safeguards.plugins.module_utils import windows_admin as wa
from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin_policy import LockoutError

DOM = "S-1-5-21-1004336348-1177238915-682003330"
LOC = "S-1-5-21-3623811015-3361044348-30300820"
OP = {"sid": DOM + "-1105", "account_name": "ansible-op", "domain_name": "AGENCY"}
RID500 = {"sid": LOC + "-500", "name": "Administrator", "enabled": True}


def state(members, approved, builtin=RID500, group_name="Administratoren"):
    return {
        "group": {"sid": wa.ADMINISTRATORS_SID, "name": group_name},
        "members": [{"sid": s, "name": n} for s, n in members],
        "approved": [{"input": i, "sid": s, "name": i if s else None} for i, s in approved],
        "builtin_admin": dict(builtin),
    }


HOST = state(
    members=[
        (RID500["sid"], "PC\\Administrator"),
        (DOM + "-512", "AGENCY\\Domain Admins"),
        (OP["sid"], "AGENCY\\ansible-op"),
    ],
    approved=[("AGENCY\\PC-Admins", DOM + "-1201"), (".\\opadmin", LOC + "-1001")],
)
APPROVED = ["AGENCY\\PC-Admins", ".\\opadmin"]


def test_members_become_approved_plus_connecting_account_by_sid_under_the_local_name() -> None:
    p = wa.plan(APPROVED, HOST, OP)
    assert p["membership"] == {
        "name": "Administratoren",
        "members": [DOM + "-1201", LOC + "-1001", OP["sid"]],
        "state": "pure",
    }
    assert [m["sid"] for m in p["to_remove"]] == [RID500["sid"], DOM + "-512"]
    assert [m["sid"] for m in p["to_add"]] == [DOM + "-1201", LOC + "-1001"]
    assert p["secpol"] == [
        {"section": "System Access", "key": "NewAdministratorName", "value": "pg-localadmin"},
        {"section": "System Access", "key": "EnableAdminAccount", "value": "0"},
    ]


def test_compliant_host_needs_no_call() -> None:
    done = state(
        members=[
            (DOM + "-1201", "AGENCY\\PC-Admins"),
            (LOC + "-1001", "PC\\opadmin"),
            (OP["sid"], "AGENCY\\ansible-op"),
        ],
        approved=[("AGENCY\\PC-Admins", DOM + "-1201"), (".\\opadmin", LOC + "-1001")],
        builtin={"sid": RID500["sid"], "name": "pg-localadmin", "enabled": False},
    )
    p = wa.plan(APPROVED, done, OP)
    assert p["membership"] is None and p["secpol"] == []
    assert [f["status"] for f in wa.findings(p, [], [{"policy": "x"}], False, False)] == ["pass"] * 4


def test_guard_refuses_when_connecting_as_the_rid500_account_it_would_disable() -> None:
    op = {"sid": RID500["sid"], "account_name": "Administrator", "domain_name": "PC"}
    with pytest.raises(LockoutError) as e:
        wa.plan(APPROVED, HOST, op)
    assert "built-in Administrator (RID 500)" in str(e.value)
    assert "would lose its path to admin rights" in str(e.value)
    # An explicit opt-in lets it through (e.g. a bootstrap run that hands over to approved admins).
    assert wa.plan(APPROVED, HOST, op, allow_self_removal=True)["membership"]["members"] == [
        DOM + "-1201",
        LOC + "-1001",
    ]


def test_guard_refuses_an_unknown_connecting_account() -> None:
    with pytest.raises(LockoutError, match="connecting account is unknown"):
        wa.plan(APPROVED, HOST, {})


def test_self_removal_opt_in_drops_an_unapproved_operator() -> None:
    p = wa.plan(APPROVED, HOST, OP, allow_self_removal=True)
    assert OP["sid"] in [m["sid"] for m in p["to_remove"]]


@pytest.mark.parametrize(
    ("approved", "name", "message"),
    [
        ([], "pg-localadmin", "admin_privileges_windows_approved_members must be a non-empty list"),
        ("AGENCY\\x", "pg-localadmin", "must be a non-empty list"),
        (["AGENCY\\a\\b"], "pg-localadmin", "'AGENCY\\\\a\\\\b' is not DOMAIN\\name"),
        (["bad|name"], "pg-localadmin", "'bad|name' is not DOMAIN\\name"),
        ([" padded"], "pg-localadmin", "' padded' is not an account name"),
        (APPROVED, "Administrator", "'Administrator' is the well-known default"),
        (APPROVED, "much-too-long-admin-name", "is not a valid local account name"),
    ],
)
def test_bad_input_is_refused_naming_variable_and_value(approved, name, message) -> None:
    with pytest.raises(wa.PlanError) as e:
        wa.plan(approved, HOST, OP, builtin_admin_name=name)
    assert message in str(e.value)


def test_an_approved_name_the_host_cannot_resolve_is_refused() -> None:
    host = state(members=[(OP["sid"], "AGENCY\\ansible-op")], approved=[("AGENCY\\Nobody", None)])
    with pytest.raises(wa.PlanError) as e:
        wa.plan(["AGENCY\\Nobody"], host, OP)
    assert str(e.value) == (
        "admin_privileges_windows_approved_members: %r does not resolve to an account on this host" % "AGENCY\\Nobody"
    )


def test_sids_are_accepted_as_approved_members_and_group_must_be_544() -> None:
    host = state(members=[(OP["sid"], "x")], approved=[])
    p = wa.plan([DOM + "-1201"], host, OP)
    assert p["membership"]["members"] == [DOM + "-1201", OP["sid"]]
    bad = dict(host, group={"sid": "S-1-5-32-545", "name": "Users"})
    with pytest.raises(wa.PlanError, match="S-1-5-32-544"):
        wa.plan([DOM + "-1201"], bad, OP)


def reg(path, **values):
    return {
        "item": path,
        "exists": True,
        "properties": {k: {"type": "REG_DWORD", "value": v} for k, v in values.items()},
    }


def test_uac_changes_and_laps_detection() -> None:
    reads = [reg(wa.UAC_PATH, EnableLUA=1, ConsentPromptBehaviorAdmin=5, PromptOnSecureDesktop=1)] + [
        {"item": k[1], "exists": False} for k in wa.LAPS_KEYS
    ]
    calls, bad = wa.uac_changes(reads)
    assert [(c["name"], c["data"]) for c in calls] == [
        ("ConsentPromptBehaviorAdmin", 2),
        ("FilterAdministratorToken", 1),
    ]
    assert wa.laps_status(reads) == []
    reads[-1] = reg(wa.LAPS_KEYS[2][1], AdmPwdEnabled=1)
    reads[1] = reg(wa.LAPS_KEYS[0][1], BackupDirectory=0)  # configured but disabled: not counted
    assert [x["policy"] for x in wa.laps_status(reads)] == ["legacy_admpwd"]
    p = wa.plan(APPROVED, HOST, OP)
    fs = wa.findings(p, bad, [], True, True)
    for f in fs:
        findings_mod.validate(f)
    assert [f["status"] for f in fs] == ["fail", "fail", "fail", "fail"]
    assert [f["status"] for f in wa.findings(p, bad, [], True, False)][:3] == ["fixed"] * 3


sids = st.sampled_from([DOM + "-%d" % n for n in range(1100, 1110)] + [LOC + "-%d" % n for n in (500, 1001, 1002)])


@settings(max_examples=200, deadline=None)
@given(st.lists(sids, unique=True), st.lists(sids, min_size=1, unique=True), sids, st.booleans())
def test_plan_is_always_approved_plus_operator_and_never_locks_out(current, approved, op_sid, self_removal) -> None:
    host = state(members=[(s, None) for s in current], approved=[(s, s) for s in approved])
    op = {"sid": op_sid, "account_name": "op", "domain_name": "D"}
    try:
        p = wa.plan(approved, host, op, allow_self_removal=self_removal)
    except LockoutError as e:
        # Only refusals: connecting as the RID-500 account that the plan disables and renames,
        # or approving nobody but that account (no approved admin would keep admin rights).
        assert (op_sid.endswith("-500") and not self_removal) or all(s.endswith("-500") for s in approved), e
        return
    after = set(approved) | (set() if self_removal else {op_sid})
    planned = set(p["membership"]["members"]) if p["membership"] else set(current)
    assert planned == after
    assert (p["membership"] is None) == (set(current) == after)
    assert set(m["sid"] for m in p["to_add"]) == after - set(current)
    assert set(m["sid"] for m in p["to_remove"]) == set(current) - after
    if not self_removal:
        assert op_sid in planned and not op_sid.endswith("-500")
