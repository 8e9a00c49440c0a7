# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The contractor register (8-4, 8-5, 8-6) kept in inventory and checked on the controller.

Malformed input is an error message naming the variable and the value (the ``errors`` list,
see registers/common.py); a well-formed register that shows non-compliance is a ``fail``
finding. Pure Python, no Ansible imports.
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

CLAUSE_KEYS = ("purpose_limitation", "subcontract_prior_approval", "damages_liability")
CLAUSE_JA = {
    "purpose_limitation": "目的外利用の禁止",
    "subcontract_prior_approval": "再委託の事前承認",
    "damages_liability": "損害賠償責任",
}
_WORST = ("error", "fail", "pass", "fixed", "not_applicable")


def validate_contractors(contractors, host_refs, groups, today, var="outsourcing_contractors", sliced=False):
    """Return a list of error messages for the contractor register (empty when well-formed).

    host_refs: ``{host: [contractor names]}`` from the hosts' ``outsourcing_operated_by``;
    groups: the inventory's ``{group: [hosts]}``. sliced: this run is one slice of a sliced job,
    whose inventory holds only its own hosts, so an ``operates`` name it does not know may be a
    host of another slice: not an error here (see ``unresolved``; the merge step decides).
    """
    errors = []
    if contractors is None:
        contractors = []
    if not isinstance(contractors, list):
        return ["%s must be a list of contractors, got %r" % (var, contractors)]
    names = set()
    known_hosts = set(h for hs in groups.values() for h in hs)
    for i, c in enumerate(contractors):
        errors.extend(_contractor_errors(c, "%s[%d]" % (var, i), names, groups, known_hosts, today, sliced))
    errors.extend(_host_ref_errors(host_refs, names, var))
    return errors


def _contractor_errors(c, where, names, groups, known_hosts, today, sliced=False):
    """Errors of one contractor entry; adds its name to ``names`` (seen so far)."""
    if not isinstance(c, dict):
        return ["%s must be a mapping (name, clauses, ...), got %r" % (where, c)]
    errors = []
    name = c.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.append("%s.name must name the contractor, got %r" % (where, name))
    elif name in names:
        errors.append("%s.name %r is listed twice" % (where, name))
    names.add(name)
    where = "%s (%s)" % (where, name)
    errors.extend(_clause_errors(c.get("clauses", {}), where))
    errors.extend(_inspection_date_errors(c, where, today))
    errors.extend(_operates_errors(c.get("operates") or [], where, groups, known_hosts, sliced))
    errors.extend(_subcontractor_errors(c.get("subcontractors") or [], where))
    return errors


def _clause_errors(clauses, where):
    if not isinstance(clauses, dict):
        return ["%s.clauses must be a mapping of %s to true/false, got %r" % (where, CLAUSE_KEYS, clauses)]
    errors = []
    for k, v in clauses.items():
        if k not in CLAUSE_KEYS:
            errors.append("%s.clauses has unknown key %r (known: %s)" % (where, k, ", ".join(CLAUSE_KEYS)))
        elif not isinstance(v, bool):
            errors.append("%s.clauses.%s must be true or false, got %r" % (where, k, v))
    return errors


def _inspection_date_errors(c, where, today):
    errors = []
    dates = c.get("inspections") or []
    if not isinstance(dates, list):
        errors.append("%s.inspections must be a list of dates, got %r" % (where, dates))
        dates = []
    if c.get("last_inspection") is not None:
        dates = [*dates, c.get("last_inspection")]
    for j, d in enumerate(dates):
        try:
            past_date(d, "%s inspection date #%d" % (where, j + 1), today)
        except RegisterError as e:
            errors.append(str(e))
    return errors


def _operates_errors(ops, where, groups, known_hosts, sliced=False):
    if not isinstance(ops, list):
        return ["%s.operates must be a list of hosts or groups, got %r" % (where, ops)]
    if sliced:
        return []
    return [
        "%s.operates names %r, which is neither a host nor a group of the inventory" % (where, o)
        for o in ops
        if o not in groups and o not in known_hosts
    ]


def _subcontractor_errors(subs, where):
    if not isinstance(subs, list):
        return ["%s.subcontractors must be a list, got %r" % (where, subs)]
    errors = []
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
    return errors


def _host_ref_errors(host_refs, names, var):
    """Errors of the hosts' ``outsourcing_operated_by``: a list naming contractors of the register."""
    errors = []
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
    """8-4, 8-5 and 8-6 for one (well-formed) contractor."""
    name = c["name"]
    base = {"contractor": name, "contract_id": c.get("contract_id")}
    return [
        _clauses_finding(c, name, base),
        _inspection_finding(c, name, base, today, max_age_days),
        _subcontractors_finding(c.get("subcontractors") or [], name, base),
    ]


def _clauses_finding(c, name, base):
    clauses = c.get("clauses") or {}
    missing = [k for k in CLAUSE_KEYS if clauses.get(k) is not True]
    return finding(
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


def _inspection_finding(c, name, base, today, max_age_days):
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
    return finding(
        "8-5.annual_inspection",
        status,
        observed=obs,
        expected="an inspection within %d days" % max_age_days,
        evidence=dict(base, last_inspection=last.isoformat() if last else None, age_days=age),
    )


def _subcontractor_detail(s):
    """(problems, evidence entry) of one subcontractor."""
    approved = parse_date(s["approved_on"], "approved_on") if s.get("approved_on") is not None else None
    started = parse_date(s["started_on"], "started_on") if s.get("started_on") is not None else None
    p = []
    if approved is None:
        p.append("never approved")
    elif started is not None and approved > started:
        p.append("approved %s after it started %s" % (approved.isoformat(), started.isoformat()))
    if s.get("same_measures") is not True:
        p.append("not bound to the same measures")
    return p, {
        "name": s["name"],
        "approved_on": approved.isoformat() if approved else None,
        "started_on": started.isoformat() if started else None,
        "same_measures": s.get("same_measures"),
        "problems": p,
    }


def _subcontractors_finding(subs, name, base):
    problems, detail = [], []
    for s in subs:
        p, entry = _subcontractor_detail(s)
        if p:
            problems.append("%s: %s" % (s["name"], ", ".join(p)))
        detail.append(entry)
    if not subs:
        status, obs = "not_applicable", "%s: no subcontractors" % name
    else:
        status = "fail" if problems else "pass"
        obs = (
            "%s: %s" % (name, "; ".join(problems))
            if problems
            else "%s: %d subcontractor(s) compliant" % (name, len(subs))
        )
    return finding(
        "8-6.subcontractor_measures",
        status,
        observed=obs,
        expected="every subcontractor approved on or before its start and bound to the same measures",
        evidence=dict(base, subcontractors=detail),
    )


def _worst(statuses):
    return min(statuses, key=_WORST.index)


def unresolved(contractors, groups):
    """``operates`` names that are neither a host nor a group of this inventory, sorted.

    In one slice of a sliced job these are hosts of other slices, or mistakes: the merge step
    (plugin_utils/merge.py) refuses a name that no slice knows.
    """
    known = set(groups) | set(h for hs in groups.values() for h in hs)
    names = set()
    for c in contractors if isinstance(contractors, list) else []:
        ops = c.get("operates") if isinstance(c, dict) else None
        names.update(o for o in ops or [] if isinstance(ops, list) and isinstance(o, str) and o not in known)
    return sorted(names)


def outsourcing_findings(
    contractors, host_refs, groups, hosts, today, max_age_days=365, var="outsourcing_contractors", sliced=False
):
    """Evaluate the contractor register.

    Returns ``{"errors": [...], "organisation": [finding, ...], "hosts": {host: [finding, ...]},
    "unresolved": [...]}``:
    one finding per contractor and control for the organisation section; per audited host in
    ``hosts`` (operated by a contractor through ``operates`` or ``outsourcing_operated_by``), one
    finding per control combining every contractor that operates it (worst status wins).
    With errors, findings are ``error`` findings carrying the messages. ``unresolved`` (only
    when ``sliced``) lists the ``operates`` names this slice's inventory does not hold.
    """
    try:
        today = parse_date(today, var.rsplit("_", 1)[0] + "_today")  # outsourcing_today, named like the rest
        max_age_days = positive_int(max_age_days, "outsourcing_inspection_max_age_days")
    except RegisterError as e:
        return _errored([str(e)], hosts)
    errors = validate_contractors(contractors, host_refs, groups, today, var=var, sliced=sliced)
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
    return {
        "errors": [],
        "organisation": org,
        "hosts": per_host,
        "unresolved": unresolved(contractors, groups) if sliced else [],
    }


def _errored(errors, hosts):
    ids = ("8-4.contract_clauses", "8-5.annual_inspection", "8-6.subcontractor_measures")
    org = [
        finding(i, "error", observed="the contractor register is malformed", evidence={"errors": errors}) for i in ids
    ]
    return {"errors": errors, "organisation": org, "hosts": {}, "unresolved": []}
