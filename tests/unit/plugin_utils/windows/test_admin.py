"""Clause 6-6 on Windows: Administrators by SID, the lock-out guard, RID 500, UAC, LAPS."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin.policy import LockoutError
from ansible_collections.pii_guard.safeguards.plugins.module_utils.common import findings as findings_mod
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.windows import admin as wa

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


@pytest.mark.control("6-6.win_administrators_members")
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


@pytest.mark.control("6-6.win_administrators_members", "6-6.win_builtin_administrator", "6-6.win_uac", "6-6.win_laps")
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
    laps = {"enabled": True, "managed_account": {"usable": True}, "problems": []}
    assert [f["status"] for f in wa.findings(p, [], laps, False, False)] == ["pass"] * 4


@pytest.mark.control("6-6.win_builtin_administrator")
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


@pytest.mark.control("6-6.win_administrators_members")
def test_guard_refuses_an_unknown_connecting_account() -> None:
    with pytest.raises(LockoutError, match="connecting account is unknown"):
        wa.plan(APPROVED, HOST, {})


@pytest.mark.control("6-6.win_administrators_members")
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


@pytest.mark.control("6-6.win_administrators_members")
def test_an_approved_name_the_host_cannot_resolve_is_refused() -> None:
    host = state(members=[(OP["sid"], "AGENCY\\ansible-op")], approved=[("AGENCY\\Nobody", None)])
    with pytest.raises(wa.PlanError) as e:
        wa.plan(["AGENCY\\Nobody"], host, OP)
    assert str(e.value) == (
        "admin_privileges_windows_approved_members: %r does not resolve to an account on this host" % "AGENCY\\Nobody"
    )


@pytest.mark.control("6-6.win_administrators_members")
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


def no_laps():
    return [{"item": path, "exists": False} for _label, path in wa.LAPS_ROOTS]


@pytest.mark.control("6-6.win_uac")
def test_uac_changes_and_findings() -> None:
    reads = [reg(wa.UAC_PATH, EnableLUA=1, ConsentPromptBehaviorAdmin=5, PromptOnSecureDesktop=1), *no_laps()]
    reads.append({"item": wa.PENDING_KEY, "exists": False})
    calls, bad, pending = wa.uac_changes(reads, "boot-1")
    assert [(c["name"], c["data"]) for c in calls] == [
        ("ConsentPromptBehaviorAdmin", 2),
        ("FilterAdministratorToken", 1),
    ]
    assert pending is False  # none of these needs a restart
    p = wa.plan(APPROVED, HOST, OP)
    laps = wa.laps_status(reads, [], {"sid": RID500["sid"], "name": "Administrator", "disabled_after": True})
    fs = wa.findings(p, bad, laps, True, True)
    for f in fs:
        findings_mod.validate(f)
    assert [f["status"] for f in fs] == ["fail", "fail", "fail", "fail"]
    assert [f["status"] for f in wa.findings(p, bad, laps, True, False)][:3] == ["fixed"] * 3


sids = st.sampled_from([DOM + "-%d" % n for n in range(1100, 1110)] + [LOC + "-%d" % n for n in (500, 1001, 1002)])


@settings(max_examples=200, deadline=None)
@given(st.lists(sids, unique=True), st.lists(sids, min_size=1, unique=True), sids, st.booleans())
@pytest.mark.control("6-6.win_administrators_members")
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


# ----------------------------------------------------------------- issue 13 point 10: LAPS


def laps_reads(**roots):
    """win_reg_stat results for the four LAPS roots; roots maps label -> {value: data}."""
    out = []
    for label, path in wa.LAPS_ROOTS:
        values = roots.get(label)
        if values is None:
            out.append({"item": path, "exists": label == "windows_laps_gpo"})  # an empty key is no policy
        else:
            props = {
                k: {"type": "REG_SZ" if isinstance(v, str) else "REG_DWORD", "value": v} for k, v in values.items()
            }
            out.append({"item": path, "exists": True, "properties": props})
    return out


BUILTIN_DISABLED = {"sid": RID500["sid"], "name": "pg-localadmin", "disabled_after": True}
BUILTIN_ENABLED = {"sid": RID500["sid"], "name": "Administrator", "disabled_after": False}
LOCAL_USERS = [
    {"sid": RID500["sid"], "name": "pg-localadmin", "enabled": False},
    {"sid": LOC + "-1001", "name": "opadmin", "enabled": True},
    {"sid": LOC + "-1003", "name": "oldadmin", "enabled": False},
]


@pytest.mark.control("6-6.win_laps")
def test_laps_first_root_with_any_setting_wins_and_lower_roots_are_ignored() -> None:
    # The CSP root holds one unrelated setting: it is the active root, its BackupDirectory
    # takes the default 0 (disabled), and the GPO root's BackupDirectory=2 is never merged.
    reads = laps_reads(
        windows_laps_csp={"PasswordLength": 20},
        windows_laps_gpo={"BackupDirectory": 2, "AdministratorAccountName": "opadmin"},
    )
    r = wa.laps_status(reads, LOCAL_USERS, BUILTIN_DISABLED)
    assert r["active_root"] == "windows_laps_csp" and r["backup_directory"] is None and r["enabled"] is False
    assert any("lower roots are ignored" in p for p in r["problems"])
    p = wa.plan(APPROVED, HOST, OP)
    (f,) = [x for x in wa.findings(p, [], r, False, False) if x["id"] == wa.C_LAPS]
    assert f["status"] == "fail" and f["observed"]["active_root"] == "windows_laps_csp"


@pytest.mark.control("6-6.win_laps")
def test_laps_empty_key_is_skipped_and_gpo_root_counts() -> None:
    reads = laps_reads(windows_laps_gpo={"BackupDirectory": 2, "AdministratorAccountName": "opadmin"})
    r = wa.laps_status(reads, LOCAL_USERS, BUILTIN_DISABLED)
    assert r["active_root"] == "windows_laps_gpo" and r["backup_directory"] == "active_directory"
    assert r["managed_account"] == {"kind": "named", "name": "opadmin", "sid": LOC + "-1001", "usable": True}
    assert r["problems"] == []


@pytest.mark.control("6-6.win_laps")
def test_laps_managing_the_rid500_account_this_role_disables_fails() -> None:
    reads = laps_reads(windows_laps_gpo={"BackupDirectory": 1})
    r = wa.laps_status(reads, LOCAL_USERS, BUILTIN_DISABLED)
    assert r["managed_account"]["kind"] == "builtin" and r["managed_account"]["usable"] is False
    assert any("which this role disables" in p for p in r["problems"])
    # Not disabled by this role (admin_privileges_windows_disable_builtin_admin: false): usable.
    ok = wa.laps_status(reads, LOCAL_USERS, BUILTIN_ENABLED)
    assert ok["managed_account"]["usable"] is True and ok["problems"] == []


@pytest.mark.parametrize(
    ("name", "problem"),
    [("ghost", "does not exist on this host"), ("oldadmin", "which is disabled")],
)
@pytest.mark.control("6-6.win_laps")
def test_laps_named_account_must_exist_and_be_enabled(name, problem) -> None:
    r = wa.laps_status(
        laps_reads(windows_laps_csp={"BackupDirectory": 2, "AdministratorAccountName": name}),
        LOCAL_USERS,
        BUILTIN_DISABLED,
    )
    assert any(problem in p for p in r["problems"]) and r["managed_account"]["usable"] is False


@pytest.mark.control("6-6.win_laps")
def test_laps_legacy_root_only_when_no_windows_laps_root_and_its_account_name() -> None:
    legacy = {"AdmPwdEnabled": 1, "AdminAccountName": "opadmin"}
    r = wa.laps_status(laps_reads(legacy_admpwd=legacy), LOCAL_USERS, BUILTIN_DISABLED)
    assert r["active_root"] == "legacy_admpwd" and r["enabled"] and r["managed_account"]["name"] == "opadmin"
    shadowed = wa.laps_status(
        laps_reads(windows_laps_local={"BackupDirectory": 0}, legacy_admpwd=legacy), LOCAL_USERS, BUILTIN_DISABLED
    )
    assert shadowed["active_root"] == "windows_laps_local" and shadowed["enabled"] is False


@pytest.mark.control("6-6.win_laps")
def test_laps_automatic_account_management_new_account() -> None:
    r = wa.laps_status(
        laps_reads(
            windows_laps_csp={
                "BackupDirectory": 1,
                "AutomaticAccountManagementEnabled": 1,
                "AutomaticAccountManagementTarget": 1,
            }
        ),
        LOCAL_USERS,
        BUILTIN_DISABLED,
    )
    assert r["managed_account"] == {"kind": "automatic", "name": "WLapsAdmin", "usable": True} and r["enabled"]


@pytest.mark.control("6-6.win_laps")
def test_no_laps_policy_at_all() -> None:
    r = wa.laps_status(laps_reads(), LOCAL_USERS, BUILTIN_DISABLED)
    assert r["active_root"] is None and r["problems"] == ["no LAPS policy under any policy root"]


# --------------------------------------------------- issue 13 point 10: nested and domain groups


def group(sid, name, members=None, resolved=True, error=None, scope="domain"):
    return {
        "sid": sid,
        "name": name,
        "class": "group",
        "scope": scope,
        "expansion": {"resolved": resolved, "members": [{"sid": m, "name": m} for m in members or []], "error": error},
    }


@pytest.mark.control("6-6.win_administrators_members")
def test_operator_through_a_nested_group_keeps_that_path_and_is_not_added_directly() -> None:
    da = group(DOM + "-512", "AGENCY\\Domain Admins", [OP["sid"]])
    host = dict(HOST, members=[{"sid": RID500["sid"], "name": "PC\\Administrator"}, da])
    op = dict(OP, groups=[DOM + "-512", "S-1-5-32-544"])
    p = wa.plan(APPROVED, host, op)
    assert p["operator"]["via"] == "group" and [m["sid"] for m in p["operator"]["path"]] == [DOM + "-512"]
    assert p["membership"]["members"] == [DOM + "-1201", LOC + "-1001", DOM + "-512"]
    assert OP["sid"] not in p["membership"]["members"]
    assert p["nested_groups"][0]["members"] == [{"sid": OP["sid"], "name": OP["sid"]}]


@pytest.mark.control("6-6.win_administrators_members")
def test_direct_operator_stays_direct_even_when_also_nested() -> None:
    host = dict(HOST, members=[{"sid": OP["sid"], "name": "op"}, group(DOM + "-512", "DA", [OP["sid"]])])
    p = wa.plan(APPROVED, host, dict(OP, groups=[DOM + "-512"]))
    assert p["operator"]["via"] == "direct" and DOM + "-512" in [m["sid"] for m in p["to_remove"]]


@pytest.mark.control("6-6.win_administrators_members")
def test_operator_with_no_path_is_added_directly() -> None:
    host = dict(HOST, members=[{"sid": RID500["sid"], "name": "x"}])
    p = wa.plan(APPROVED, host, dict(OP, groups=[DOM + "-513"]))
    assert p["operator"]["via"] == "none" and OP["sid"] in p["membership"]["members"]


def approved_state(pc_admins):
    a = dict(pc_admins, input="AGENCY\\PC-Admins")
    return dict(HOST, approved=[a])


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        (group(DOM + "-1201", "AGENCY\\PC-Admins", [], resolved=True), "empty"),
        (
            group(DOM + "-1201", "AGENCY\\PC-Admins", resolved=False, error="The server is not operational."),
            "unresolvable",
        ),
    ],
)
@pytest.mark.control("6-6.win_administrators_members")
def test_an_empty_or_unresolvable_approved_domain_group_does_not_count_as_an_admin(entry, why) -> None:
    host = approved_state(entry)
    with pytest.raises(LockoutError, match="no approved administrator would keep admin rights"):
        wa.plan(["AGENCY\\PC-Admins"], host, OP)
    # With another approved admin that grants someone, the plan goes on and the group is evidence.
    host2 = dict(
        host, approved=host["approved"] + [{"input": ".\\opadmin", "sid": LOC + "-1001", "name": "PC\\opadmin"}]
    )
    p = wa.plan(["AGENCY\\PC-Admins", ".\\opadmin"], host2, OP)
    f = wa.findings(p, [], {}, True, False)[0]
    key = "empty_approved_groups" if why == "empty" else "unresolvable_groups"
    assert f["evidence"][key] == ["AGENCY\\PC-Admins"]


@pytest.mark.control("6-6.win_administrators_members")
def test_a_resolvable_approved_group_with_members_counts() -> None:
    p = wa.plan(["AGENCY\\PC-Admins"], approved_state(group(DOM + "-1201", "AGENCY\\PC-Admins", [DOM + "-1301"])), OP)
    assert p["approved_groups"][0]["resolved"] and p["unresolvable"] == []


@pytest.mark.control("6-6.win_administrators_members")
def test_unresolvable_nested_member_group_is_reported() -> None:
    bad = group(DOM + "-1401", "AGENCY\\Helpdesk", resolved=False, error="The server is not operational.")
    host = dict(HOST, members=[{"sid": OP["sid"], "name": "op"}, bad])
    p = wa.plan(APPROVED, host, OP)
    f = wa.findings(p, [], {}, True, False)[0]
    assert f["evidence"]["unresolvable_groups"] == ["AGENCY\\Helpdesk"]
    assert f["evidence"]["nested_groups"][0]["error"] == "The server is not operational."


# -------------------------------------------------------- issue 13 point 10: EnableLUA restart


def uac_reads(enable_lua, marker=None):
    reads = [
        reg(
            wa.UAC_PATH,
            EnableLUA=enable_lua,
            ConsentPromptBehaviorAdmin=2,
            PromptOnSecureDesktop=1,
            FilterAdministratorToken=1,
        )
    ]
    if marker is None:
        reads.append({"item": wa.PENDING_KEY, "exists": False})
    else:
        reads.append(
            {"item": wa.PENDING_KEY, "exists": True, "properties": {wa.C_UAC: {"type": "REG_SZ", "value": marker}}}
        )
    return reads


@pytest.mark.control("6-6.win_uac")
def test_enable_lua_change_is_pending_restart_not_fixed() -> None:
    calls, bad, pending = wa.uac_changes(uac_reads(0), "boot-1")
    assert pending is True
    assert calls == [
        {"path": wa.UAC_PATH, "name": "EnableLUA", "data": 1, "type": "dword", "state": "present"},
        {"path": wa.PENDING_KEY, "name": wa.C_UAC, "data": "boot-1", "type": "string", "state": "present"},
    ]
    p = wa.plan(APPROVED, HOST, OP)
    f = next(x for x in wa.findings(p, bad, {}, True, False, uac_pending=True) if x["id"] == wa.C_UAC)
    assert f["status"] == "fail" and f["observed"].startswith("pending_restart") and f["evidence"]["pending_restart"]


@pytest.mark.control("6-6.win_uac")
def test_enable_lua_stays_pending_in_the_same_boot_and_clears_after_restart() -> None:
    assert wa.uac_changes(uac_reads(1, marker="boot-1"), "boot-1") == ([], [], True)
    calls, bad, pending = wa.uac_changes(uac_reads(1, marker="boot-1"), "boot-2")
    assert pending is False and bad == []
    assert calls == [{"path": wa.PENDING_KEY, "name": wa.C_UAC, "state": "absent"}]


@pytest.mark.control("6-6.win_uac")
def test_enable_lua_change_without_boot_time_is_an_error() -> None:
    with pytest.raises(wa.PlanError, match="boot time was not read"):
        wa.uac_changes(uac_reads(0), None)


@pytest.mark.control("6-6.win_uac")
def test_a_restart_record_without_the_boot_time_is_an_error_not_a_guess() -> None:
    with pytest.raises(wa.PlanError, match=r"needed to know whether 6-6\.win_uac is in effect"):
        wa.uac_changes(uac_reads(1, marker="boot-1"), None)
    assert wa.uac_changes(uac_reads(1), None) == ([], [], False)  # nothing written, nothing recorded
