# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Registers kept in inventory and checked on the controller: the system room (7-1) and the
contractor register (8-4, 8-5, 8-6).

Two kinds of problems are kept apart:
- malformed input (a date that is not a date, an unknown contractor, a wrong type) -> an error
  message naming the variable and the value (``RegisterError`` / the ``errors`` list); roles
  fail on it before any change, the audit reports it as an ``error`` finding;
- a well-formed register that shows non-compliance (inspection too old, subcontractor approved
  after it started) -> a ``fail`` finding with the reason in ``observed``.

Pure Python, no Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.pii_guard.safeguards.plugins.module_utils.dates import iso_date
from ansible_collections.pii_guard.safeguards.plugins.module_utils.findings import finding

CLAUSE_KEYS = ("purpose_limitation", "subcontract_prior_approval", "damages_liability")
CLAUSE_JA = {
    "purpose_limitation": "目的外利用の禁止",
    "subcontract_prior_approval": "再委託の事前承認",
    "damages_liability": "損害賠償責任",
}
INSPECTION_KINDS = ("carry_in", "carry_out")
_WORST = ("error", "fail", "pass", "fixed", "not_applicable")


class RegisterError(ValueError):
    """A register entry that is malformed."""


def parse_date(value, where):
    """A calendar date from 'YYYY-MM-DD' (or a date object); RegisterError naming ``where``."""
    parsed = iso_date(value)
    if parsed is not None:
        return parsed
    raise RegisterError("%s: %r is not a date of the form YYYY-MM-DD" % (where, value))


def _past_date(value, where, today):
    d = parse_date(value, where)
    if d > today:
        raise RegisterError("%s: %s is in the future (today is %s)" % (where, d.isoformat(), today.isoformat()))
    return d


def _positive_int(value, where):
    # -e var=31 arrives as a string: coerce digits the way argument specs do.
    if isinstance(value, str) and re.fullmatch(r"[0-9]+", value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise RegisterError("%s must be a positive whole number of days, got %r" % (where, value))
    return value


# ---------------------------------------------------------------------------- 7-1 system room


def room_findings(register, today, footage_max_age_days=31, inspection_max_age_days=92, var="system_room_register"):
    """Findings 7-1.room_monitoring and 7-1.carry_inspection for one host's room register.

    Raises RegisterError on malformed input. A missing register, missing camera coverage or an
    old review/inspection is a ``fail`` finding, not an error.
    """
    today = parse_date(today, "today")
    footage_max_age_days = _positive_int(footage_max_age_days, "system_room_footage_review_max_age_days")
    inspection_max_age_days = _positive_int(inspection_max_age_days, "system_room_inspection_max_age_days")
    if register is None or register == {}:
        missing = "no room register recorded (%s is not set)" % var
        return [
            finding("7-1.room_monitoring", "fail", observed=missing, expected="camera coverage and footage review"),
            finding("7-1.carry_inspection", "fail", observed=missing, expected="carry-in/out inspections"),
        ]
    if not isinstance(register, dict):
        raise RegisterError("%s must be a mapping (room, camera_coverage, ...), got %r" % (var, register))
    room = register.get("room")
    if not isinstance(room, str) or not room.strip():
        raise RegisterError("%s.room must name the room, got %r" % (var, room))
    cam = register.get("camera_coverage")
    if cam is not None and not isinstance(cam, bool):
        raise RegisterError("%s.camera_coverage must be true or false, got %r" % (var, cam))
    reviewed = register.get("footage_reviewed_on")
    reviewed = _past_date(reviewed, "%s.footage_reviewed_on" % var, today) if reviewed is not None else None
    inspections = register.get("inspections") or []
    if not isinstance(inspections, list):
        raise RegisterError("%s.inspections must be a list, got %r" % (var, inspections))
    latest = {}
    for i, ins in enumerate(inspections):
        where = "%s.inspections[%d]" % (var, i)
        if not isinstance(ins, dict):
            raise RegisterError("%s must be a mapping (date, kind, inspector), got %r" % (where, ins))
        kind = ins.get("kind")
        if kind not in INSPECTION_KINDS:
            raise RegisterError("%s.kind must be one of %s, got %r" % (where, ", ".join(INSPECTION_KINDS), kind))
        d = _past_date(ins.get("date"), where + ".date", today)
        if not ins.get("inspector"):
            raise RegisterError("%s.inspector must name who inspected, got %r" % (where, ins.get("inspector")))
        if kind not in latest or d > latest[kind]:
            latest[kind] = d

    out = []
    # 7-1.room_monitoring: cameras cover the room and someone looked at the footage recently.
    problems = []
    if cam is not True:
        problems.append("camera_coverage is %r" % (cam,))
    age = (today - reviewed).days if reviewed else None
    if reviewed is None:
        problems.append("no footage review recorded")
    elif age > footage_max_age_days:
        problems.append("footage last reviewed %s (%d days ago)" % (reviewed.isoformat(), age))
    out.append(
        finding(
            "7-1.room_monitoring",
            "fail" if problems else "pass",
            observed="; ".join(problems) or "cameras cover %s; footage reviewed %s" % (room, reviewed.isoformat()),
            expected="camera_coverage true; footage reviewed within %d days" % footage_max_age_days,
            evidence={
                "room": room,
                "camera_coverage": cam,
                "footage_reviewed_on": reviewed.isoformat() if reviewed else None,
                "age_days": age,
            },
        )
    )
    # 7-1.carry_inspection: both directions inspected recently.
    problems = []
    ages = {}
    for kind in INSPECTION_KINDS:
        if kind not in latest:
            problems.append("no %s inspection recorded" % kind)
            continue
        ages[kind] = (today - latest[kind]).days
        if ages[kind] > inspection_max_age_days:
            problems.append("last %s inspection %s (%d days ago)" % (kind, latest[kind].isoformat(), ages[kind]))
    out.append(
        finding(
            "7-1.carry_inspection",
            "fail" if problems else "pass",
            observed="; ".join(problems)
            or "carry_in %s, carry_out %s" % (latest["carry_in"].isoformat(), latest["carry_out"].isoformat()),
            expected="carry_in and carry_out inspections within %d days" % inspection_max_age_days,
            evidence={
                "room": room,
                "last": dict((k, v.isoformat()) for k, v in latest.items()),
                "age_days": ages,
                "inspections": len(inspections),
            },
        )
    )
    return out


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


def console_audit_finding(files_compliant, rules_loaded, in_container, evidence=None, fixed=False):
    """7-1.console_login_audit: the rules file and the PAM tty audit line in place, rules loaded.

    ``rules_loaded`` is None where the kernel's audit cannot be queried (a container);
    ``fixed``: this (non-check) run changed something to get there.
    """
    problems = []
    for name, ok in sorted((files_compliant or {}).items()):
        if not ok:
            problems.append("%s not as required" % name)
    if rules_loaded is False:
        problems.append("login watch rules not loaded in the kernel (auditctl -l)")
    if rules_loaded is None and not in_container:
        problems.append("could not read the loaded audit rules")
    ev = dict(evidence or {})
    ev.update(files=files_compliant, rules_loaded=rules_loaded, in_container=in_container)
    return finding(
        "7-1.console_login_audit",
        "fail" if problems else ("fixed" if fixed else "pass"),
        observed="; ".join(problems) or "login records watched; tty input of console sessions audited",
        expected="audit watch rules on login records loaded; pam_tty_audit on console logins",
        evidence=ev,
    )


# ---------------------------------------------------------------------------- 8-4/8-5/8-6 outsourcing


def validate_contractors(contractors, host_refs, groups, today, var="outsourcing_contractors"):
    """Return a list of error messages for the contractor register (empty when well-formed).

    host_refs: ``{host: [contractor names]}`` from the hosts' ``outsourcing_operated_by``;
    groups: the inventory's ``{group: [hosts]}``.
    """
    errors = []
    if contractors is None:
        contractors = []
    if not isinstance(contractors, list):
        return ["%s must be a list of contractors, got %r" % (var, contractors)]
    names = set()
    known_hosts = set(h for hs in groups.values() for h in hs)
    for i, c in enumerate(contractors):
        where = "%s[%d]" % (var, i)
        if not isinstance(c, dict):
            errors.append("%s must be a mapping (name, clauses, ...), got %r" % (where, c))
            continue
        name = c.get("name")
        if not isinstance(name, str) or not name.strip():
            errors.append("%s.name must name the contractor, got %r" % (where, name))
        elif name in names:
            errors.append("%s.name %r is listed twice" % (where, name))
        names.add(name)
        where = "%s (%s)" % (where, name)
        clauses = c.get("clauses", {})
        if not isinstance(clauses, dict):
            errors.append("%s.clauses must be a mapping of %s to true/false, got %r" % (where, CLAUSE_KEYS, clauses))
        else:
            for k, v in clauses.items():
                if k not in CLAUSE_KEYS:
                    errors.append("%s.clauses has unknown key %r (known: %s)" % (where, k, ", ".join(CLAUSE_KEYS)))
                elif not isinstance(v, bool):
                    errors.append("%s.clauses.%s must be true or false, got %r" % (where, k, v))
        dates = c.get("inspections") or []
        if not isinstance(dates, list):
            errors.append("%s.inspections must be a list of dates, got %r" % (where, dates))
            dates = []
        if c.get("last_inspection") is not None:
            dates = [*dates, c.get("last_inspection")]
        for j, d in enumerate(dates):
            try:
                _past_date(d, "%s inspection date #%d" % (where, j + 1), today)
            except RegisterError as e:
                errors.append(str(e))
        ops = c.get("operates") or []
        if not isinstance(ops, list):
            errors.append("%s.operates must be a list of hosts or groups, got %r" % (where, ops))
            ops = []
        for o in ops:
            if o not in groups and o not in known_hosts:
                errors.append("%s.operates names %r, which is neither a host nor a group of the inventory" % (where, o))
        subs = c.get("subcontractors") or []
        if not isinstance(subs, list):
            errors.append("%s.subcontractors must be a list, got %r" % (where, subs))
            subs = []
        for j, s in enumerate(subs):
            sw = "%s.subcontractors[%d]" % (where, j)
            if not isinstance(s, dict) or not s.get("name"):
                errors.append("%s must be a mapping with a name, got %r" % (sw, s))
                continue
            for key in ("approved_on", "started_on"):
                if s.get(key) is not None:
                    try:
                        parse_date(s[key], "%s.%s" % (sw, key))
                    except RegisterError as e:
                        errors.append(str(e))
            if "same_measures" in s and not isinstance(s["same_measures"], bool):
                errors.append("%s.same_measures must be true or false, got %r" % (sw, s["same_measures"]))
    for host in sorted(host_refs or {}):
        refs = host_refs[host]
        if isinstance(refs, str):
            refs = [refs]
        if not isinstance(refs, list):
            errors.append(
                "outsourcing_operated_by of host %s must be a list of contractor names, got %r" % (host, refs)
            )
            continue
        for r in refs:
            if r not in names:
                errors.append(
                    "host %s: outsourcing_operated_by names contractor %r, which is not in %s (known: %s)"
                    % (host, r, var, ", ".join(sorted(n for n in names if isinstance(n, str))) or "none")
                )
    return errors


def _contractor_findings(c, today, max_age_days):
    name = c["name"]
    base = {"contractor": name, "contract_id": c.get("contract_id")}
    clauses = c.get("clauses") or {}
    missing = [k for k in CLAUSE_KEYS if clauses.get(k) is not True]
    out = [
        finding(
            "8-4.contract_clauses",
            "fail" if missing else "pass",
            observed=(
                "%s: contract lacks %s" % (name, ", ".join("%s (%s)" % (k, CLAUSE_JA[k]) for k in missing))
                if missing
                else "%s: all three clauses present" % name
            ),
            expected=list(CLAUSE_KEYS),
            evidence=dict(base, clauses=dict((k, clauses.get(k)) for k in CLAUSE_KEYS)),
        )
    ]
    dates = [parse_date(d, name) for d in (c.get("inspections") or [])]
    if c.get("last_inspection") is not None:
        dates.append(parse_date(c["last_inspection"], name))
    last = max(dates) if dates else None
    age = (today - last).days if last else None
    if last is None:
        obs, status = "%s: no inspection recorded" % name, "fail"
    elif age > max_age_days:
        obs, status = "%s: last inspection %s, %d days ago" % (name, last.isoformat(), age), "fail"
    else:
        obs, status = "%s: last inspection %s, %d days ago" % (name, last.isoformat(), age), "pass"
    out.append(
        finding(
            "8-5.annual_inspection",
            status,
            observed=obs,
            expected="an inspection within %d days" % max_age_days,
            evidence=dict(base, last_inspection=last.isoformat() if last else None, age_days=age),
        )
    )
    subs = c.get("subcontractors") or []
    problems, detail = [], []
    for s in subs:
        approved = parse_date(s["approved_on"], "approved_on") if s.get("approved_on") is not None else None
        started = parse_date(s["started_on"], "started_on") if s.get("started_on") is not None else None
        p = []
        if approved is None:
            p.append("never approved")
        elif started is not None and approved > started:
            p.append("approved %s after it started %s" % (approved.isoformat(), started.isoformat()))
        if s.get("same_measures") is not True:
            p.append("not bound to the same measures")
        if p:
            problems.append("%s: %s" % (s["name"], ", ".join(p)))
        detail.append(
            {
                "name": s["name"],
                "approved_on": approved.isoformat() if approved else None,
                "started_on": started.isoformat() if started else None,
                "same_measures": s.get("same_measures"),
                "problems": p,
            }
        )
    if not subs:
        status, obs = "not_applicable", "%s: no subcontractors" % name
    else:
        status = "fail" if problems else "pass"
        obs = (
            "%s: %s" % (name, "; ".join(problems))
            if problems
            else "%s: %d subcontractor(s) compliant" % (name, len(subs))
        )
    out.append(
        finding(
            "8-6.subcontractor_measures",
            status,
            observed=obs,
            expected="every subcontractor approved on or before its start and bound to the same measures",
            evidence=dict(base, subcontractors=detail),
        )
    )
    return out


def _worst(statuses):
    return min(statuses, key=_WORST.index)


def outsourcing_findings(contractors, host_refs, groups, hosts, today, max_age_days=365, var="outsourcing_contractors"):
    """Evaluate the contractor register.

    Returns ``{"errors": [...], "organisation": [finding, ...], "hosts": {host: [finding, ...]}}``:
    one finding per contractor and control for the organisation section; per audited host in
    ``hosts`` (operated by a contractor through ``operates`` or ``outsourcing_operated_by``), one
    finding per control combining every contractor that operates it (worst status wins).
    With errors, findings are ``error`` findings carrying the messages.
    """
    today = parse_date(today, "today")
    try:
        max_age_days = _positive_int(max_age_days, "outsourcing_inspection_max_age_days")
    except RegisterError as e:
        return _errored([str(e)], hosts)
    errors = validate_contractors(contractors, host_refs, groups, today, var=var)
    if errors:
        return _errored(errors, hosts)
    contractors = contractors or []
    operators = dict((h, set()) for h in hosts)
    for c in contractors:
        for o in c.get("operates") or []:
            for h in groups.get(o, [o]):
                if h in operators:
                    operators[h].add(c["name"])
    for h, refs in (host_refs or {}).items():
        if h in operators:
            operators[h].update([refs] if isinstance(refs, str) else refs)
    org, by_name = [], {}
    for c in contractors:
        fs = _contractor_findings(c, today, max_age_days)
        org.extend(fs)
        by_name[c["name"]] = fs
    per_host = {}
    for h in sorted(operators):
        names = sorted(operators[h])
        if not names:
            continue
        items = []
        for idx, cid in enumerate(("8-4.contract_clauses", "8-5.annual_inspection", "8-6.subcontractor_measures")):
            parts = [by_name[n][idx] for n in names]
            items.append(
                finding(
                    cid,
                    _worst([p["status"] for p in parts]),
                    observed="; ".join(p["observed"] for p in parts),
                    expected=parts[0]["expected"],
                    evidence={"operated_by": names, "contractors": [p["evidence"] for p in parts]},
                )
            )
        per_host[h] = items
    return {"errors": [], "organisation": org, "hosts": per_host}


def for_tags(items, tags):
    """Keep the findings selected by ``--tags`` (their clause or id); all when no tag narrows it.

    A role that computes several controls in one step (a register) uses it so that
    ``--tags 8-5`` reports 8-5 only.
    """
    tags = set(tags or [])
    if not tags or "all" in tags:
        return list(items or [])
    return [f for f in items or [] if f["clause"] in tags or f["id"] in tags]


def _errored(errors, hosts):
    ids = ("8-4.contract_clauses", "8-5.annual_inspection", "8-6.subcontractor_measures")
    org = [
        finding(i, "error", observed="the contractor register is malformed", evidence={"errors": errors}) for i in ids
    ]
    return {"errors": errors, "organisation": org, "hosts": {}}
