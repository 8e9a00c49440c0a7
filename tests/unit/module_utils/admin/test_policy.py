"""Lock-out guard, input validation and sudoers planning for clause 6-6."""

from __future__ import annotations

import datetime
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin import policy as P
from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin import sudoers as S

NOW = datetime.datetime(2026, 11, 28, 6, 0, tzinfo=datetime.UTC)


# ---------------------------------------------------------------------------- guard
@pytest.mark.control("6-6.admin_group_members")
def test_guard_accepts_a_plan_that_keeps_operator_and_an_approved_admin():
    assert P.guard("labop", ["labop", "alice"], ["labop", "alice"]) == []


@pytest.mark.control("6-6.admin_group_members")
def test_guard_refuses_removing_the_operator_unless_allowed():
    problems = P.guard("labop", ["alice"], ["alice"])
    assert len(problems) == 1 and "'labop' would lose its path" in problems[0]
    assert "admin_privileges_allow_self_removal" in problems[0]
    assert P.guard("labop", ["alice"], ["alice"], allow_self_removal=True) == []


@pytest.mark.control("6-6.admin_group_members")
def test_guard_refuses_empty_approved_list_and_no_admin_left_even_with_self_removal():
    assert any("approved administrator list is empty" in p for p in P.guard("root", ["root"], []))
    problems = P.guard("labop", [], ["alice"], allow_self_removal=True)
    assert any("no approved administrator would keep" in p for p in problems)
    assert any("no administrator at all" in p for p in problems)


def test_guard_unknown_operator_is_a_problem_and_windows_names_compare_case_insensitively():
    assert any("unknown" in p for p in P.guard("", ["alice"], ["alice"]))
    assert P.guard("CORP\\Ops", ["corp\\ops"], ["CORP\\OPS"], case_insensitive=True) == []
    assert P.guard("CORP\\Ops", ["corp\\ops"], ["CORP\\OPS"]) != []


def test_check_guard_raises_with_every_problem():
    with pytest.raises(P.LockoutError) as e:
        P.check_guard("labop", [], [])
    assert "empty" in str(e.value) and "labop" in str(e.value)


@settings(max_examples=200, deadline=None)
@given(
    op=st.sampled_from(["labop", "alice", "root", ""]),
    after=st.sets(st.sampled_from(["labop", "alice", "bob", "root"])),
    approved=st.lists(st.sampled_from(["labop", "alice", "bob"]), max_size=3),
    allow=st.booleans(),
)
@pytest.mark.control("6-6.admin_group_members")
def test_guard_property_safe_plans_keep_operator_and_an_approved_admin(op, after, approved, allow):
    if not P.guard(op, after, approved, allow_self_removal=allow):
        assert set(after) & set(approved)
        assert allow or op in after


# ---------------------------------------------------------------------------- validation
def test_validate_refuses_bad_input_naming_variable_and_value():
    errors = P.validate(
        [],
        ["Bad Group"],
        ["sudo"],
        [
            {"user": "bob", "until": "2026-11-01", "reason": "r", "ticket": "t"},
            {"user": "bob", "until": "next tuesday", "reason": "r", "ticket": "t"},
            {"user": "Alice Smith", "until": "2026-12-24T10:00:00Z", "reason": "", "ticket": "t"},
            {"user": "eve", "until": "2026-02-30", "reason": "r", "ticket": "t"},
        ],
        ["root;rm"],
        now=NOW,
    )
    text = "\n".join(errors)
    assert "admin_privileges_approved_users is empty" in text
    assert "admin_privileges_approved_groups[0]: 'Bad Group'" in text
    assert "admin_privileges_nopasswd_approved[0]: 'root;rm'" in text
    assert "admin_privileges_temporary[0].until: '2026-11-01' is in the past" in text
    assert "admin_privileges_temporary[1].until: 'next tuesday' is not a date" in text
    assert "admin_privileges_temporary[2].user: 'Alice Smith'" in text
    assert "admin_privileges_temporary[2].reason" in text
    assert "admin_privileges_temporary[3].until: '2026-02-30' is not a date" in text


def test_validate_accepts_good_input():
    grant = {"user": "bob", "until": "2026-11-28T07:00:00Z", "reason": "db upgrade", "ticket": "CHG-1"}
    assert P.validate(["labop"], [], ["sudo", "wheel"], [grant], ["labop"], now=NOW) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-01", datetime.datetime(2026, 12, 2, tzinfo=datetime.UTC)),
        ("2026-12-01T10:00:00Z", datetime.datetime(2026, 12, 1, 10, tzinfo=datetime.UTC)),
        ("2026-12-01 10:00:00+09:00", datetime.datetime(2026, 12, 1, 1, tzinfo=datetime.UTC)),
        ("2026-12-01T10:00", datetime.datetime(2026, 12, 1, 10, tzinfo=datetime.UTC)),
        (datetime.date(2026, 12, 1), datetime.datetime(2026, 12, 2, tzinfo=datetime.UTC)),
        ("tomorrow", None),
        ("2026-13-01", None),
        (20261201, None),
    ],
)
def test_parse_until(value, expected):
    assert P.parse_until(value) == expected


# ---------------------------------------------------------------------------- planning
MAIN = """\
Defaults env_reset
root ALL=(ALL:ALL) ALL
%sudo ALL=(ALL:ALL) ALL
bob ALL=(ALL:ALL) ALL
%devs ALL=(ALL) ALL
alice ALL=(ALL) NOPASSWD: ALL
labop ALL=(ALL) NOPASSWD: ALL
carol ALL=(operator) ALL
#1000 ALL=(root) /usr/bin/id
@includedir /etc/sudoers.d
"""


def parsed_with(dropins):
    files = {"/etc/sudoers": MAIN}
    files.update({"/etc/sudoers.d/" + k: v for k, v in dropins.items()})
    return S.parse_file("/etc/sudoers", S.OverlayFS(files, S._NoFS()))


@pytest.mark.control("6-6.sudoers_grants", "6-6.sudo_nopasswd")
def test_plan_comments_main_lines_quarantines_bad_dropins_and_drops_unapproved_nopasswd():
    parsed = parsed_with(
        {
            "intruder": "intruder ALL=(ALL) NOPASSWD: ALL\nDefaults:intruder !lecture\n",
            "mixed": "alice ALL=(root) /bin/ls\nmallory ALL=(ALL) ALL\n",
            "pii_guard_tmp_dave": "dave ALL=(ALL:ALL) ALL\n",
            "harmless": "Defaults log_year\n",
        }
    )
    # The temporary grant is exempt because the module rendered it (it passes exempt after
    # comparing the content), not because of its name.
    plan = P.plan_sudoers(
        parsed,
        ["labop", "alice"],
        ["sudo"],
        ["labop"],
        uid_names={1000: "alice"},
        exempt={"/etc/sudoers.d/pii_guard_tmp_dave"},
    )
    assert plan["quarantine"] == ["/etc/sudoers.d/intruder"]
    assert plan["comment"] == {"/etc/sudoers": [(4, 4), (5, 5)], "/etc/sudoers.d/mixed": [(2, 2)]}
    assert plan["nopasswd"] == {"/etc/sudoers": [(6, 6)]}  # alice's; labop's NOPASSWD is approved
    assert {u["text"].split()[0] for u in plan["unapproved"]} == {"bob", "%devs", "intruder", "mallory"}
    # carol only runs as operator (no root); the managed temporary grant is not policed.
    assert not any("carol" in u["text"] or "dave" in u["text"] for u in plan["unapproved"])


@pytest.mark.control("6-6.sudoers_grants")
def test_plan_is_empty_on_a_compliant_configuration_and_edit_is_idempotent():
    parsed = parsed_with({})
    plan = P.plan_sudoers(parsed, ["labop", "alice", "bob"], ["sudo", "devs"], ["labop", "alice"], {1000: "alice"})
    assert plan["comment"] == {} and plan["quarantine"] == [] and plan["nopasswd"] == {}
    once = P.edit_text(MAIN, [(4, 4)], [(6, 6)])
    assert P.edit_text(once, [(4, 4)], [(6, 6)]) == once
    lines = once.splitlines()
    assert lines[3] == P.MARKER + "bob ALL=(ALL:ALL) ALL"
    assert lines[5] == "alice ALL=(ALL) PASSWD: ALL"


@pytest.mark.control("6-6.sudoers_grants")
def test_alias_principals_are_expanded_for_approval():
    parsed = S.parse_file(
        "/etc/sudoers",
        S.OverlayFS({"/etc/sudoers": "User_Alias A = alice, eve\nA ALL=(ALL) ALL\n"}, S._NoFS()),
    )
    plan = P.plan_sudoers(parsed, ["alice"], [], [])
    assert plan["unapproved"][0]["principals"] == ["eve"] and plan["comment"] == {"/etc/sudoers": [(2, 2)]}


@pytest.mark.control("6-6.sudoers_grants")
def test_negated_alias_is_never_an_approved_principal():
    text = "User_Alias A = alice, !eve\n!A ALL=(ALL) ALL\nalice, !bob ALL=(ALL) ALL\n"
    parsed = S.parse_file("/etc/sudoers", S.OverlayFS({"/etc/sudoers": text}, S._NoFS()))
    plan = P.plan_sudoers(parsed, ["alice"], [], [])
    assert plan["comment"] == {"/etc/sudoers": [(2, 2)]} and plan["unapproved"][0]["principals"] == ["!A"]


@pytest.mark.control("6-6.sudoers_grants")
def test_principal_approval_forms():
    appr = (["alice"], ["sudo"], {1000: "alice", 1001: "eve"}, {27: "sudo", 100: "users"})
    assert P.principal_approved("root", *appr) and P.principal_approved("#0", *appr)
    assert P.principal_approved("#1000", *appr) and not P.principal_approved("#1001", *appr)
    assert P.principal_approved("%#27", *appr) and not P.principal_approved("%#100", *appr)
    assert P.principal_approved("%:sudo", *appr)
    assert not P.principal_approved("ALL", *appr) and not P.principal_approved("+admins", *appr)


@pytest.mark.control("6-6.temporary_grants")
def test_temporary_file_records_expiry_readable_back():
    until = datetime.datetime(2026, 11, 28, 6, 30, tzinfo=datetime.UTC)
    text = P.temporary_file({"user": "bob", "reason": "fix", "ticket": "CHG-9"}, until)
    assert P.expiry_of(text) == until
    assert text.rstrip().endswith("bob ALL=(ALL:ALL) NOTAFTER=20261128063000Z ALL")
    assert S.parse_text(text)["errors"] == []


# The operator is learnt on the host (no `id -un` round trip): become's variable first, then
# the kernel's login uid, then the account the module itself runs as.
NAMES = {0: "root", 1000: "labop", 1001: "ops"}


def _name(uid):
    return NAMES.get(os.geteuid() if uid is None else uid)


def test_detect_operator_prefers_the_user_sudo_or_doas_names():
    assert P.detect_operator({"SUDO_USER": "labop"}, "1001\n", _name) == ("labop", "SUDO_USER")
    assert P.detect_operator({"DOAS_USER": "ops"}, None, _name) == ("ops", "DOAS_USER")


def test_detect_operator_uses_the_ssh_login_uid_when_become_is_su():
    # su keeps no SUDO_USER, but pam_loginuid set the login uid at SSH login.
    assert P.detect_operator({}, "1001", _name) == ("ops", "loginuid")
    assert P.detect_operator({}, "4242", _name) == ("4242", "loginuid")


def test_detect_operator_without_become_or_login_uid_is_the_running_account():
    # podman exec or an SSH login without pam_loginuid: unset login uid is 2^32-1.
    expect = (NAMES.get(os.geteuid()), "effective uid")
    assert P.detect_operator({}, "4294967295", _name) == expect
    assert P.detect_operator({"SUDO_USER": ""}, None, _name) == expect
    assert P.detect_operator({}, "garbage", _name) == expect
