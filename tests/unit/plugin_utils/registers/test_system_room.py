"""The system room register checked on the controller (7-1): room monitoring, carry-in/out
inspections, strict media policy."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.pii_guard.safeguards.plugins.module_utils.common import findings as F
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.registers import system_room as R

TODAY = "2026-11-28"


def by_id(items):
    return {f["id"]: f for f in items}


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


@pytest.mark.control("7-1.room_monitoring", "7-1.carry_inspection")
def test_room_register_passes_when_recent_and_uses_the_latest_inspection() -> None:
    out = R.room_evaluate(ROOM, TODAY)
    assert out["errors"] == []
    fs = by_id(out["findings"])
    assert fs["7-1.room_monitoring"]["status"] == "pass"
    assert fs["7-1.carry_inspection"]["status"] == "pass"
    assert fs["7-1.carry_inspection"]["evidence"]["last"] == {"carry_in": "2026-11-20", "carry_out": "2026-11-21"}


@pytest.mark.control("7-1.room_monitoring", "7-1.carry_inspection")
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
@pytest.mark.control("7-1.room_monitoring", "7-1.carry_inspection")
def test_malformed_room_register_is_refused_naming_the_field(mutate, message) -> None:
    reg = copy.deepcopy(ROOM)
    mutate(reg)
    with pytest.raises(R.RegisterError, match=message.replace("[", r"\[").replace("]", r"\]")):
        R.room_findings(reg, TODAY)
    out = R.room_evaluate(reg, TODAY)
    assert out["errors"] and [f["status"] for f in out["findings"]] == ["error", "error"]


@pytest.mark.control("7-1.strict_media_policy")
def test_strict_media_finding() -> None:
    usb = [F.finding("6-17.usbguard_rules", "pass"), F.finding("6-17.storage_driver_disabled", "pass")]
    assert R.strict_media_finding(usb, "prohibit", True)["status"] == "pass"
    f = R.strict_media_finding([*usb, F.finding("6-17.usbguard_service", "fail")], "agency_issued_only", False)
    assert f["status"] == "fail"
    for part in ("'agency_issued_only'", "optical drives not blocked", "6-17.usbguard_service=fail"):
        assert part in f["observed"]
    assert R.strict_media_finding([], "prohibit", True)["status"] == "fail"
