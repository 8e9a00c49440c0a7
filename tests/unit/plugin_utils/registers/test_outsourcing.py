"""The contractor register checked on the controller (8-4, 8-5, 8-6)."""

from __future__ import annotations

import pytest

from ansible_collections.pii_guard.safeguards.plugins.module_utils.common import findings as F
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.registers import outsourcing as R

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


@pytest.mark.control("8-4.contract_clauses", "8-5.annual_inspection", "8-6.subcontractor_measures")
def test_compliant_contractor_passes_and_is_attached_to_the_hosts_it_operates() -> None:
    out = evaluate([contractor()])
    assert out["errors"] == []
    assert [f["status"] for f in out["organisation"]] == ["pass", "pass", "pass"]
    assert sorted(out["hosts"]) == ["ws1", "ws2"]  # the group "clerks", not db1
    ev = by_id(out["hosts"]["ws1"])["8-5.annual_inspection"]["evidence"]
    assert ev["operated_by"] == ["Example Systems KK"]
    assert ev["contractors"][0]["last_inspection"] == "2026-06-15"


@pytest.mark.control("8-4.contract_clauses")
def test_missing_contract_clause_fails_8_4_naming_it() -> None:
    c = contractor(clauses={"purpose_limitation": True, "damages_liability": True})
    f = by_id(evaluate([c])["organisation"])["8-4.contract_clauses"]
    assert (
        f["status"] == "fail" and "subcontract_prior_approval" in f["observed"] and "再委託の事前承認" in f["observed"]
    )


@pytest.mark.control("8-5.annual_inspection")
def test_inspection_older_than_the_limit_fails_8_5_and_the_limit_is_configurable() -> None:
    c = contractor(last_inspection="2025-11-01", inspections=["2024-05-01"])
    f = by_id(evaluate([c])["organisation"])["8-5.annual_inspection"]
    assert f["status"] == "fail" and "2025-11-01, 392 days ago" in f["observed"]
    assert by_id(evaluate([c], max_age=400)["organisation"])["8-5.annual_inspection"]["status"] == "pass"
    f = by_id(evaluate([contractor(last_inspection=None)])["organisation"])["8-5.annual_inspection"]
    assert f["status"] == "fail" and "no inspection recorded" in f["observed"]


@pytest.mark.control("8-6.subcontractor_measures")
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


@pytest.mark.control("8-4.contract_clauses", "8-5.annual_inspection", "8-6.subcontractor_measures")
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
@pytest.mark.control("8-4.contract_clauses", "8-5.annual_inspection", "8-6.subcontractor_measures")
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


@pytest.mark.control("8-4.contract_clauses", "8-5.annual_inspection", "8-6.subcontractor_measures")
def test_one_slice_of_a_sliced_job_leaves_other_slices_hosts_to_the_merge() -> None:
    # Slice inventory: ws1 only (AWX keeps the groups, with this slice's hosts in them).
    groups = {"all": ["ws1"], "linux": ["ws1"], "clerks": ["ws1"], "ungrouped": []}
    c = contractor(operates=["clerks", "ws2", "db1"])
    out = R.outsourcing_findings([c], {}, groups, ["ws1"], TODAY, 365, sliced=True)
    assert out["errors"] == [] and out["unresolved"] == ["db1", "ws2"]
    assert [f["status"] for f in out["organisation"]] == ["pass", "pass", "pass"]
    assert sorted(out["hosts"]) == ["ws1"]
    # The same register in an unsliced run names the unknown hosts as errors, as before.
    whole = R.outsourcing_findings([c], {}, groups, ["ws1"], TODAY, 365)
    assert whole["unresolved"] == [] and len(whole["errors"]) == 2
    assert "operates names 'ws2', which is neither a host nor a group" in whole["errors"][0]


@pytest.mark.control("8-4.contract_clauses", "8-5.annual_inspection", "8-6.subcontractor_measures")
def test_sliced_still_refuses_what_no_inventory_can_fix() -> None:
    out = R.outsourcing_findings([contractor(operates="clerks")], {}, GROUPS, HOSTS, TODAY, 365, sliced=True)
    assert out["errors"] == [
        "outsourcing_contractors[0] (Example Systems KK).operates must be a list of hosts or groups, got 'clerks'"
    ]
    assert out["unresolved"] == []
