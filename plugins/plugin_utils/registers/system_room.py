# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The system room register (7-1) kept in inventory and checked on the controller: camera
coverage and footage review, carry-in/out inspections, and the strict media policy.

Malformed input raises ``RegisterError`` (see registers/common.py); non-compliance is a
``fail`` finding. Pure Python, no Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pii_guard.safeguards.plugins.module_utils.common.findings import finding
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.registers.common import (
    RegisterError,
    parse_date,
    past_date,
    positive_int,
)

INSPECTION_KINDS = ("carry_in", "carry_out")


def room_findings(register, today, footage_max_age_days=31, inspection_max_age_days=92, var="system_room_register"):
    """Findings 7-1.room_monitoring and 7-1.carry_inspection for one host's room register.

    Raises RegisterError on malformed input. A missing register, missing camera coverage or an
    old review/inspection is a ``fail`` finding, not an error.
    """
    today = parse_date(today, var.rsplit("_", 1)[0] + "_today")  # system_room_today
    footage_max_age_days = positive_int(footage_max_age_days, "system_room_footage_review_max_age_days")
    inspection_max_age_days = positive_int(inspection_max_age_days, "system_room_inspection_max_age_days")
    if register is None or register == {}:
        return _missing_register(var)
    room, cam, reviewed = _room_fields(register, today, var)
    inspections = register.get("inspections") or []
    latest = _latest_inspections(inspections, today, var)
    return [
        _monitoring_finding(room, cam, reviewed, today, footage_max_age_days),
        _carry_finding(room, latest, len(inspections), today, inspection_max_age_days),
    ]


def _missing_register(var):
    missing = "no room register recorded (%s is not set)" % var
    return [
        finding("7-1.room_monitoring", "fail", observed=missing, expected="camera coverage and footage review"),
        finding("7-1.carry_inspection", "fail", observed=missing, expected="carry-in/out inspections"),
    ]


def _room_fields(register, today, var):
    """(room, camera_coverage, footage_reviewed_on as a date or None), checked in this order."""
    if not isinstance(register, dict):
        raise RegisterError("%s must be a mapping (room, camera_coverage, ...), got %r" % (var, register))
    room = register.get("room")
    if not isinstance(room, str) or not room.strip():
        raise RegisterError("%s.room must name the room, got %r" % (var, room))
    cam = register.get("camera_coverage")
    if cam is not None and not isinstance(cam, bool):
        raise RegisterError("%s.camera_coverage must be true or false, got %r" % (var, cam))
    reviewed = register.get("footage_reviewed_on")
    reviewed = past_date(reviewed, "%s.footage_reviewed_on" % var, today) if reviewed is not None else None
    return room, cam, reviewed


def _latest_inspections(inspections, today, var):
    """{kind: date of the latest inspection of that kind}, every entry checked."""
    if not isinstance(inspections, list):
        raise RegisterError("%s.inspections must be a list, got %r" % (var, inspections))
    latest = {}
    for i, ins in enumerate(inspections):
        kind, d = _inspection(ins, "%s.inspections[%d]" % (var, i), today)
        if kind not in latest or d > latest[kind]:
            latest[kind] = d
    return latest


def _inspection(ins, where, today):
    if not isinstance(ins, dict):
        raise RegisterError("%s must be a mapping (date, kind, inspector), got %r" % (where, ins))
    kind = ins.get("kind")
    if kind not in INSPECTION_KINDS:
        raise RegisterError("%s.kind must be one of %s, got %r" % (where, ", ".join(INSPECTION_KINDS), kind))
    d = past_date(ins.get("date"), where + ".date", today)
    if not ins.get("inspector"):
        raise RegisterError("%s.inspector must name who inspected, got %r" % (where, ins.get("inspector")))
    return kind, d


def _monitoring_finding(room, cam, reviewed, today, max_age_days):
    """7-1.room_monitoring: cameras cover the room and someone looked at the footage recently."""
    problems = []
    if cam is not True:
        problems.append("camera_coverage is %r" % (cam,))
    age = (today - reviewed).days if reviewed else None
    if reviewed is None:
        problems.append("no footage review recorded")
    elif age > max_age_days:
        problems.append("footage last reviewed %s (%d days ago)" % (reviewed.isoformat(), age))
    return finding(
        "7-1.room_monitoring",
        "fail" if problems else "pass",
        observed="; ".join(problems) or "cameras cover %s; footage reviewed %s" % (room, reviewed.isoformat()),
        expected="camera_coverage true; footage reviewed within %d days" % max_age_days,
        evidence={
            "room": room,
            "camera_coverage": cam,
            "footage_reviewed_on": reviewed.isoformat() if reviewed else None,
            "age_days": age,
        },
    )


def _carry_finding(room, latest, count, today, max_age_days):
    """7-1.carry_inspection: both directions inspected recently."""
    problems = []
    ages = {}
    for kind in INSPECTION_KINDS:
        if kind not in latest:
            problems.append("no %s inspection recorded" % kind)
            continue
        ages[kind] = (today - latest[kind]).days
        if ages[kind] > max_age_days:
            problems.append("last %s inspection %s (%d days ago)" % (kind, latest[kind].isoformat(), ages[kind]))
    return finding(
        "7-1.carry_inspection",
        "fail" if problems else "pass",
        observed="; ".join(problems)
        or "carry_in %s, carry_out %s" % (latest["carry_in"].isoformat(), latest["carry_out"].isoformat()),
        expected="carry_in and carry_out inspections within %d days" % max_age_days,
        evidence={
            "room": room,
            "last": dict((k, v.isoformat()) for k, v in latest.items()),
            "age_days": ages,
            "inspections": count,
        },
    )


def room_evaluate(register, today, footage_max_age_days=31, inspection_max_age_days=92, var="system_room_register"):
    """``{"errors": [...], "findings": [...]}``: room_findings, or ``error`` findings on malformed input."""
    try:
        return {
            "errors": [],
            "findings": room_findings(register, today, footage_max_age_days, inspection_max_age_days, var),
        }
    except RegisterError as e:
        return {
            "errors": [str(e)],
            "findings": [
                finding(i, "error", observed="the room register is malformed", evidence={"errors": [str(e)]})
                for i in ("7-1.room_monitoring", "7-1.carry_inspection")
            ],
        }


def strict_media_finding(usb_findings, mode, block_optical):
    """7-1.strict_media_policy from what usb_storage reported on this host in this run."""
    bad = [f["id"] + "=" + f["status"] for f in usb_findings or [] if f.get("status") in ("fail", "error")]
    problems = []
    if mode != "prohibit":
        problems.append("usb_storage_mode is %r" % (mode,))
    if block_optical is not True:
        problems.append("optical drives not blocked")
    if not usb_findings:
        problems.append("usb_storage reported no findings")
    if bad:
        problems.append("usb_storage controls failing: " + ", ".join(bad))
    return finding(
        "7-1.strict_media_policy",
        "fail" if problems else "pass",
        observed="; ".join(problems) or "prohibit mode, optical blocked, all 6-17 controls compliant",
        expected="usb_storage_mode prohibit, usb_storage_block_optical true, every 6-17 control compliant",
        evidence={"usb_storage": [{"id": f["id"], "status": f["status"]} for f in usb_findings or []]},
    )
