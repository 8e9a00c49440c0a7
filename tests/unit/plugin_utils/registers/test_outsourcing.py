"""Registers checked on the controller: system room (7-1) and contractors (8-4, 8-5, 8-6)."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.pii_guard.safeguards.plugins.module_utils import audit_registers as R
from ansible_collections.pii_guard.safeguards.plugins.module_utils import findings as F

TODAY = "2026-11-28"
GROUPS = {"all": ["ws1", "ws2", "db1"], "linux": ["ws1", "ws2", "db1"], "clerks": ["ws1", "ws2"], "ungrouped": []}
HOSTS = ["ws1", "ws2", "db1"]


def contractor(**over):
    c = {
        "name": "Example Systems KK",
        "contract_id": "CT-1",
        "clauses": {"purpose_limitation": True, "subcontract_prior_approval": True, "damages_liability": True},
        "last_inspection": "2026-06-15",
        "operates": ["clerks"],
        "subcontractors": [
            {"name": "Sub LLC", "approved_on": "2026-03-01", "started_on": "2026-04-01", "same_measures": True}
        ],
    }
    c.update(over)
    return c


def evaluate(contractors, host_refs=None, max_age=365):
    out = R.outsourcing_findings(contractors, host_refs or {}, GROUPS, HOSTS, TODAY, max_age)
    for f in out["organisation"] + [f for fs in out["hosts"].values() for f in fs]:
        F.validate(f)
    return out


def by_id(items):
    return {f["id"]: f for f in items}


def test_compliant_contractor_passes_and_is_attached_to_the_hosts_it_operates() -> None:
    out = evaluate([contractor()])
    assert out["errors"] == []
    assert [f["status"] for f in out["organisation"]] == ["pass", "pass", "pass"]
    assert sorted(out["hosts"]) == ["ws1", "ws2"]  # the group "clerks", not db1
    ev = by_id(out["hosts"]["ws1"])["8-5.annual_inspection"]["evidence"]
    assert ev["operated_by"] == ["Example Systems KK"]
    assert ev["contractors"][0]["last_inspection"] == "2026-06-15"


def test_missing_contract_clause_fails_8_4_naming_it() -> None:
    c = contractor(clauses={"purpose_limitation": True, "damages_liability": True})
    f = by_id(evaluate([c])["organisation"])["8-4.contract_clauses"]
    assert (
        f["status"] == "fail" and "subcontract_prior_approval" in f["observed"] and "再委託の事前承認" in f["observed"]
    )


def test_inspection_older_than_the_limit_fails_8_5_and_the_limit_is_configurable() -> None:
    c = contractor(last_inspection="2025-11-01", inspections=["2024-05-01"])
    f = by_id(evaluate([c])["organisation"])["8-5.annual_inspection"]
    assert f["status"] == "fail" and "2025-11-01, 392 days ago" in f["observed"]
    assert by_id(evaluate([c], max_age=400)["organisation"])["8-5.annual_inspection"]["status"] == "pass"
    f = by_id(evaluate([contractor(last_inspection=None)])["organisation"])["8-5.annual_inspection"]
    assert f["status"] == "fail" and "no inspection recorded" in f["observed"]


def test_subcontractor_approved_after_it_started_fails_8_6_with_the_dates() -> None:
    subs = [
        {"name": "Late Co", "approved_on": "2026-05-02", "started_on": "2026-05-01", "same_measures": True},
        {"name": "Loose Co", "approved_on": "2026-01-01", "started_on": "2026-02-01", "same_measures": False},
    ]
    f = by_id(evaluate([contractor(subcontractors=subs)])["organisation"])["8-6.subcontractor_measures"]
    assert f["status"] == "fail"
    assert "Late Co: approved 2026-05-02 after it started 2026-05-01" in f["observed"]
    assert "Loose Co: not bound to the same measures" in f["observed"]
    no_subs = by_id(evaluate([contractor(subcontractors=[])])["organisation"])["8-6.subcontractor_measures"]
    assert no_subs["status"] == "not_applicable"


def test_host_operated_by_two_contractors_gets_one_finding_per_control_worst_wins() -> None:
    good = contractor(name="Good KK", operates=["ws1"])
    bad = contractor(name="Old KK", operates=[], last_inspection="2024-01-01")
    out = evaluate([good, bad], host_refs={"ws1": ["Old KK"]})
    items = out["hosts"]["ws1"]
    assert [f["id"] for f in items] == ["8-4.contract_clauses", "8-5.annual_inspection", "8-6.subcontractor_measures"]
    f = by_id(items)["8-5.annual_inspection"]
    assert f["status"] == "fail" and f["evidence"]["operated_by"] == ["Good KK", "Old KK"]
    assert len(out["organisation"]) == 6


@pytest.mark.parametrize(
    ("mutate", "refs", "message"),
    [
        (lambda c: c.update(last_inspection="2026-13-01"), {}, "'2026-13-01' is not a date of the form YYYY-MM-DD"),
        (lambda c: c.update(last_inspection="2027-01-05"), {}, "2027-01-05 is in the future"),
        (lambda c: c["subcontractors"][0].update(approved_on="March"), {}, "approved_on: 'March' is not a date"),
        (lambda c: None, {"db1": ["Ghost Ltd"]}, "host db1: outsourcing_operated_by names contractor 'Ghost Ltd'"),
        (lambda c: c.update(operates=["nohost"]), {}, "operates names 'nohost', which is neither a host nor a group"),
        (lambda c: c["clauses"].update(damages_liability="yes"), {}, "clauses.damages_liability must be true or false"),
    ],
)
def test_malformed_register_is_refused_with_a_clear_message(mutate, refs, message) -> None:
    c = contractor()
    mutate(c)
    out = evaluate([c], host_refs=refs)
    assert any(message in e for e in out["errors"]), out["errors"]
    # The audit still reports it: error findings carrying the messages, nothing attached to hosts.
    assert [f["status"] for f in out["organisation"]] == ["error"] * 3
    assert out["organisation"][0]["evidence"]["errors"] == out["errors"]
    assert out["hosts"] == {}


def test_duplicate_contractor_and_bad_max_age() -> None:
    assert any("listed twice" in e for e in evaluate([contractor(), contractor()])["errors"])
    out = R.outsourcing_findings([contractor()], {}, GROUPS, HOSTS, TODAY, 0)
    assert out["errors"] == ["outsourcing_inspection_max_age_days must be a positive whole number of days, got 0"]


ROOM = {
    "room": "Server room B1",
    "camera_coverage": True,
    "footage_reviewed_on": "2026-11-01",
    "inspections": [
        {"date": "2026-11-20", "kind": "carry_in", "inspector": "facilities"},
        {"date": "2026-09-01", "kind": "carry_out", "inspector": "facilities"},
        {"date": "2026-11-21", "kind": "carry_out", "inspector": "facilities"},
    ],
}


def test_room_register_passes_when_recent_and_uses_the_latest_inspection() -> None:
    out = R.room_evaluate(ROOM, TODAY)
    assert out["errors"] == []
    fs = by_id(out["findings"])
    assert fs["7-1.room_monitoring"]["status"] == "pass"
    assert fs["7-1.carry_inspection"]["status"] == "pass"
    assert fs["7-1.carry_inspection"]["evidence"]["last"] == {"carry_in": "2026-11-20", "carry_out": "2026-11-21"}


def test_room_register_fails_when_old_absent_or_uncovered() -> None:
    old = copy.deepcopy(ROOM)
    old.update(camera_coverage=False, footage_reviewed_on="2026-09-01")
    old["inspections"] = [i for i in old["inspections"] if i["kind"] == "carry_in"]
    fs = by_id(R.room_evaluate(old, TODAY, 31, 5)["findings"])
    assert fs["7-1.room_monitoring"]["status"] == "fail"
    assert "camera_coverage is False" in fs["7-1.room_monitoring"]["observed"]
    assert "88 days ago" in fs["7-1.room_monitoring"]["observed"]
    assert "no carry_out inspection recorded" in fs["7-1.carry_inspection"]["observed"]
    assert "last carry_in inspection 2026-11-20 (8 days ago)" in fs["7-1.carry_inspection"]["observed"]
    missing = R.room_evaluate(None, TODAY)
    assert [f["status"] for f in missing["findings"]] == ["fail", "fail"] and missing["errors"] == []
    assert "system_room_register is not set" in missing["findings"][0]["observed"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.update(footage_reviewed_on="01/11/2026"), "footage_reviewed_on: '01/11/2026' is not a date"),
        (lambda r: r["inspections"][0].update(kind="visit"), "inspections[0].kind must be one of carry_in, carry_out"),
        (lambda r: r["inspections"][1].update(date="2026-12-24"), "inspections[1].date: 2026-12-24 is in the future"),
        (lambda r: r.update(room=""), "system_room_register.room must name the room"),
    ],
)
def test_malformed_room_register_is_refused_naming_the_field(mutate, message) -> None:
    reg = copy.deepcopy(ROOM)
    mutate(reg)
    with pytest.raises(R.RegisterError, match=message.replace("[", r"\[").replace("]", r"\]")):
        R.room_findings(reg, TODAY)
    out = R.room_evaluate(reg, TODAY)
    assert out["errors"] and [f["status"] for f in out["findings"]] == ["error", "error"]


def test_strict_media_and_console_findings() -> None:
    usb = [F.finding("6-17.usbguard_rules", "pass"), F.finding("6-17.storage_driver_disabled", "pass")]
    assert R.strict_media_finding(usb, "prohibit", True)["status"] == "pass"
    f = R.strict_media_finding([*usb, F.finding("6-17.usbguard_service", "fail")], "agency_issued_only", False)
    assert f["status"] == "fail"
    for part in ("'agency_issued_only'", "optical drives not blocked", "6-17.usbguard_service=fail"):
        assert part in f["observed"]
    assert R.strict_media_finding([], "prohibit", True)["status"] == "fail"
    ok = R.console_audit_finding({"rules file": True, "pam_tty_audit": True}, None, True)
    assert ok["status"] == "pass"
    bad = R.console_audit_finding({"rules file": False, "pam_tty_audit": True}, False, False)
    assert bad["status"] == "fail" and "rules file not as required" in bad["observed"]
    assert "not loaded" in bad["observed"]
    assert R.console_audit_finding({"rules file": True}, True, False, fixed=True)["status"] == "fixed"
    assert R.console_audit_finding({"rules file": True}, None, False)["status"] == "fail"


def test_findings_for_tags_keeps_the_selected_clause_or_control() -> None:
    items = evaluate([contractor()])["organisation"]
    assert R.for_tags(items, ["all"]) == items and R.for_tags(items, []) == items
    assert [f["id"] for f in R.for_tags(items, ["8-5"])] == ["8-5.annual_inspection"]
    assert [f["id"] for f in R.for_tags(items, ["8-6.subcontractor_measures", "6-17"])] == [
        "8-6.subcontractor_measures"
    ]
