"""The one shape of findings (plugins/module_utils/common/findings.py)."""

from __future__ import annotations

import pytest

from ansible_collections.pii_guard.safeguards.plugins.module_utils.common import findings as F


def test_clause_is_derived_from_id() -> None:
    assert F.clause_of("6-17.usbguard_rules") == "6-17"
    assert F.finding("8-5.annual_inspection", "pass")["clause"] == "8-5"


@pytest.mark.parametrize("bad", ["usbguard_rules", "6-17", "6_17.x", "6-17.Rules", ""])
def test_bad_ids_are_refused_with_the_id_named(bad: str) -> None:
    with pytest.raises(F.FindingError, match="control id"):
        F.clause_of(bad)


def test_bad_status_is_refused() -> None:
    with pytest.raises(F.FindingError, match="'passed'"):
        F.finding("6-6.uid0_accounts", "passed")


@pytest.mark.parametrize(
    ("compliant", "changed", "check", "status"),
    [
        (True, False, False, "pass"),
        (True, False, True, "pass"),
        (False, True, False, "fixed"),
        (False, True, True, "fail"),
        (False, False, True, "fail"),
        (False, False, False, "fail"),
    ],
)
def test_compliance_mapping(compliant: bool, changed: bool, check: bool, status: str) -> None:
    assert F.compliance("6-6.root_ssh_login", compliant, changed, check)["status"] == status


def test_validate() -> None:
    for f in (F.finding("6-17.usbguard_rules", "pass"), F.finding("6-6.root_ssh_login", "fail")):
        assert F.validate(f) is f
    with pytest.raises(F.FindingError, match="lacks"):
        F.validate({"id": "6-6.x", "status": "pass"})
    with pytest.raises(F.FindingError, match="clause"):
        F.validate(dict(F.finding("6-6.x", "pass"), clause="6-17"))


def test_clause_sort_key_is_numeric_and_puts_odd_clauses_last() -> None:
    clauses = ["8-4", "6-17", "x", "6-6", "7-1", "6-5"]
    assert sorted(clauses, key=F.clause_sort_key) == ["6-5", "6-6", "6-17", "7-1", "8-4", "x"]
