"""OSCAL export (issue 16, point 3), validated with compliance-trestle's OSCAL models."""

from __future__ import annotations

import json

import pytest
from test_report import CAT
from test_report import RUN as REPORT_RUN
from trestle.oscal.assessment_results import AssessmentResults
from trestle.oscal.component import ComponentDefinition

from ansible_collections.pii_guard.safeguards.plugins.module_utils.common import findings as F
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import catalog
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import oscal as O
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import report as R

# The run section of test_report, plus the controller the OSCAL party names.
RUN = {**REPORT_RUN, "controller": "ctl"}
HOSTILE = '=HYPERLINK("x")\n<script>alert(1)</script>\x00\x1b[31m "quoted" '


def report() -> dict:
    hosts = {
        "web-01": [
            F.finding("6-17.usbguard_rules", "fail", observed=HOSTILE, expected="digest 9a9a", evidence={"k": HOSTILE}),
            F.finding("6-6.admin_group_members", "pass", observed=["labop"], expected=["labop"]),
            F.finding("6-5.threshold_review", "error", observed="reviewed_on missing"),
        ],
        " " + HOSTILE: [F.finding("6-17.win_usbstor_disabled", "not_applicable", observed="not windows")],
        "db-01": [F.finding("7-1.console_login_audit", "fixed")],
        "gone": [],
    }
    org = [F.finding("8-6.subcontractor_measures", "fail", observed="approved after start")]
    return R.build(hosts, CAT, RUN, organisation=org, host_state={"gone": "unreachable"})


def roundtrip(doc: dict) -> dict:
    """Through JSON text, as a GRC tool reads the file."""
    return json.loads(json.dumps(doc, ensure_ascii=False))


def test_assessment_results_validate_and_hold_every_finding() -> None:
    rep = report()
    doc = roundtrip(O.assessment_results(rep))
    ar = AssessmentResults.model_validate(doc["assessment-results"])
    (result,) = ar.results
    assert str(result.start.isoformat()).startswith("2026-11-28T05:00:00")
    n = rep["summary"]["findings"]
    assert len(result.findings) == n == len(result.observations) == 6
    states = {}
    for f in doc["assessment-results"]["results"][0]["findings"]:
        props = {p["name"]: p["value"] for p in f["props"]}
        states[(props["host"], f["target"]["target-id"])] = (props["status"], f["target"]["status"]["state"])
    assert states[("web-01", "clause-6-17_smt.usbguard_rules")] == ("fail", "not-satisfied")
    assert states[("web-01", "clause-6-5_smt.threshold_review")] == ("error", "not-satisfied")
    assert states[("web-01", "clause-6-6_smt.admin_group_members")] == ("pass", "satisfied")
    assert states[("db-01", "clause-7-1_smt.console_login_audit")] == ("fixed", "satisfied")
    assert states[(R.ORGANISATION, "clause-8-6_smt.subcontractor_measures")] == ("fail", "not-satisfied")
    # Every observation's subject is a host of local-definitions; organisation findings have none.
    items = {i.uuid for i in result.local_definitions.inventory_items}
    assert len(items) == 4
    subjects = [o.subjects for o in result.observations]
    assert sum(1 for s in subjects if s is None) == 1
    assert all(s[0].subject_uuid in items for s in subjects if s)
    # The hostile observed text is carried (as data), control characters dropped.
    obs = next(o for o in result.observations if o.title == "6-17.usbguard_rules on web-01")
    assert "<script>alert(1)</script>" in obs.description and "\x00" not in obs.description
    assert "Audit incomplete on: gone." in result.remarks


def test_component_definition_validates_and_every_finding_targets_one_of_its_statements() -> None:
    cd_doc = roundtrip(O.component_definition(CAT, "pii_guard.safeguards 0.1.0", "2026-11-28T05:01:30Z"))
    cd = ComponentDefinition.model_validate(cd_doc["component-definition"])
    (component,) = cd.components
    (impl,) = component.control_implementations
    statements = {s.statement_id for r in impl.implemented_requirements for s in r.statements}
    assert len(statements) == len(CAT["controls"])
    assert [r.control_id for r in impl.implemented_requirements] == [
        "clause-" + c for c in sorted(CAT["clauses"], key=catalog.clause_sort_key)
    ]
    ar = roundtrip(O.assessment_results(report()))
    targets = {f["target"]["target-id"] for f in ar["assessment-results"]["results"][0]["findings"]}
    assert targets <= statements
    # Name-based UUIDs: the same host keeps its UUID across runs, a run gets its own.
    later = roundtrip(O.assessment_results(R.build({"web-01": []}, CAT, dict(RUN, started_at="2026-12-01T00:00:00Z"))))
    a = ar["assessment-results"]["results"][0]["local-definitions"]["inventory-items"]
    b = later["assessment-results"]["results"][0]["local-definitions"]["inventory-items"]
    assert {i["uuid"] for i in b} <= {i["uuid"] for i in a}
    assert later["assessment-results"]["uuid"] != ar["assessment-results"]["uuid"]


def test_an_empty_run_is_still_valid_oscal() -> None:
    doc = roundtrip(O.assessment_results(R.build({}, CAT, RUN)))
    AssessmentResults.model_validate(doc["assessment-results"])


def test_trestle_refuses_a_broken_document() -> None:
    # The validation is real: a finding without its target is refused.
    doc = roundtrip(O.assessment_results(report()))
    del doc["assessment-results"]["results"][0]["findings"][0]["target"]
    with pytest.raises(ValueError, match="target"):
        AssessmentResults.model_validate(doc["assessment-results"])
