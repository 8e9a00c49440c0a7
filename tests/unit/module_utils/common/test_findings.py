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


def test_validate_and_summary() -> None:
    hosts = {
        "a": [F.finding("6-17.usbguard_rules", "pass"), F.finding("6-6.root_ssh_login", "fail")],
        "b": [F.finding("6-17.usbguard_rules", "fixed")],
        "c": [],
    }
    for fs in hosts.values():
        for f in fs:
            F.validate(f)
    s = F.summarize(hosts)
    assert list(s) == ["6-6", "6-17"]  # numeric clause order, not string order
    assert s["6-17"]["pass"] == 1 and s["6-17"]["fixed"] == 1 and s["6-6"]["fail"] == 1
    assert F.failed(hosts)
    assert not F.failed({"b": hosts["b"]})
    with pytest.raises(F.FindingError, match="lacks"):
        F.validate({"id": "6-6.x", "status": "pass"})
    with pytest.raises(F.FindingError, match="clause"):
        F.validate(dict(F.finding("6-6.x", "pass"), clause="6-17"))
