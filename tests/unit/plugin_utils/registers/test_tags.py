"""Selection of register findings by --tags."""

from __future__ import annotations

from test_outsourcing import contractor, evaluate

from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.registers import tags as R


def test_findings_for_tags_keeps_the_selected_clause_or_control() -> None:
    items = evaluate([contractor()])["organisation"]
    assert R.for_tags(items, ["all"]) == items and R.for_tags(items, []) == items
    assert [f["id"] for f in R.for_tags(items, ["8-5"])] == ["8-5.annual_inspection"]
    assert [f["id"] for f in R.for_tags(items, ["8-6.subcontractor_measures", "6-17"])] == [
        "8-6.subcontractor_measures"
    ]
