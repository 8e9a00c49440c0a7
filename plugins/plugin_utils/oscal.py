# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""OSCAL export of the audit, for GRC tools: assessment-results and a component-definition.

Controller only; plain JSON documents (the tests validate them with compliance-trestle's OSCAL
models). The guideline has no published OSCAL catalog, so the component-definition stands in for
it: one implemented requirement per clause (control-id ``clause-6-17``), one statement per control
of ``meta/controls.yml`` (statement-id ``clause-6-17_smt.usbguard_rules``). Each finding of the
assessment-results targets that statement, so a GRC tool can join the two documents.
UUIDs are name-based (uuid5): the same host or control has the same UUID in every run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import uuid

from ansible_collections.pii_guard.safeguards.plugins.module_utils.common.findings import clause_sort_key
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.report import ORGANISATION, xml_safe

OSCAL_VERSION = "1.2.1"
NS = "urn:pii-guard:safeguards"
UUID_NS = uuid.uuid5(uuid.NAMESPACE_URL, NS)
GUIDELINE = "urn:pii-guard:guideline:jp-administrative-agencies-personal-information-2014"
COMPONENT = "pii_guard.safeguards"
# Our status -> OSCAL objective status (state, reason).
STATE = {
    "pass": ("satisfied", "pass"),
    "fixed": ("satisfied", "pass"),
    "not_applicable": ("satisfied", "other"),
    "fail": ("not-satisfied", "fail"),
    "error": ("not-satisfied", "other"),
}


def _uuid(*parts):
    # uuid5 encodes strictly: a lone surrogate in a host name would abort the whole report
    name = "/".join(parts).encode("utf-8", "backslashreplace").decode("utf-8")
    return str(uuid.uuid5(UUID_NS, name))


def clause_control_id(clause):
    # OSCAL ids are tokens: they may not start with a digit.
    return "clause-%s" % clause


def statement_id(control_id):
    clause, _sep, name = control_id.partition(".")
    return "clause-%s_smt.%s" % (clause, name)


def _line(text):
    """A title: one line, characters JSON/XML tools accept."""
    return " ".join(xml_safe(str(text)).split()) or "-"


def _block(value):
    if value is None or value == "" or value == {}:
        return ""
    if isinstance(value, str):
        return xml_safe(value)
    return xml_safe(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str))


def _prop(name, value):
    return {"name": name, "ns": NS, "value": _line(value)}


def _metadata(title, when, version):
    return {"title": title, "last-modified": when, "version": version or "unknown", "oscal-version": OSCAL_VERSION}


def component_definition(catalog, version, when):
    """The controls of ``catalog`` (parsed meta/controls.yml) as an OSCAL component-definition."""
    clauses = catalog.get("clauses") or {}
    by_clause = {}
    for c in catalog.get("controls") or []:
        by_clause.setdefault(c["clause"], []).append(c)
    reqs = []
    for clause in sorted(by_clause, key=clause_sort_key):
        meta = clauses.get(clause, {})
        statements = []
        for c in sorted(by_clause[clause], key=lambda c: c["id"]):
            text = "%s / %s\n\nCheck: %s\n\nRemediation: %s" % (
                c.get("title_ja", ""),
                c.get("title_en", ""),
                " ".join(str(c.get("check", "")).split()),
                " ".join(str(c.get("remediation", "")).split()),
            )
            props = [_prop("control-id", c["id"]), _prop("severity", c.get("severity", ""))]
            props += [_prop("platform", p) for p in c.get("platforms") or []]
            statements.append(
                {
                    "statement-id": statement_id(c["id"]),
                    "uuid": _uuid("statement", c["id"]),
                    "description": text,
                    "props": props,
                }
            )
        req = {
            "uuid": _uuid("requirement", clause),
            "control-id": clause_control_id(clause),
            "description": "%s / %s" % (meta.get("title_ja", ""), meta.get("title_en", "")),
            "statements": statements,
        }
        if meta.get("role"):
            req["props"] = [_prop("role", meta["role"])]
        reqs.append(req)
    return {
        "component-definition": {
            "uuid": _uuid("component-definition", version or ""),
            "metadata": _metadata("pii_guard.safeguards: technical measures of the PII guideline", when, version),
            "components": [
                {
                    "uuid": _uuid("component", COMPONENT),
                    "type": "software",
                    "title": COMPONENT,
                    "description": "Ansible collection that enforces and audits the technical measures of the "
                    "Japanese guideline on personal information held by administrative agencies.",
                    "control-implementations": [
                        {
                            "uuid": _uuid("control-implementation", COMPONENT),
                            "source": GUIDELINE,
                            "description": "Clauses 6-5, 6-6, 6-17, 7-1, 8-4 to 8-6 of the guideline (2014 revision).",
                            "implemented-requirements": reqs,
                        }
                    ],
                }
            ],
        }
    }


def assessment_results(report):
    """One OSCAL assessment-results document for a report document (plugin_utils/report.build)."""
    run = report["run"]
    start, end = run["started_at"], run.get("finished_at") or run["started_at"]
    run_uuid = _uuid("assessment-results", start, str(run.get("controller", "")), str(run.get("report_dir", "")))
    items = [_inventory_item(h) for h in report["hosts"]]
    rows = [(h["name"], f) for h in report["hosts"] for f in h["findings"]]
    rows += [(ORGANISATION, f) for f in report["organisation"]["findings"]]
    observations = [_observation(run_uuid, host, f, end) for host, f in rows]
    findings = [_finding(run_uuid, host, f) for host, f in rows]
    result = _result(run, report["summary"], run_uuid, start, end)
    if items:
        result["local-definitions"] = {"inventory-items": items}
    if observations:
        result["observations"] = observations
        result["findings"] = findings
    return {
        "assessment-results": {
            "uuid": run_uuid,
            "metadata": _metadata("PII safeguards audit %s" % start, end, run.get("collection_version")),
            "import-ap": {
                "href": "urn:pii-guard:safeguards:assessment-plan:audit.yml",
                "remarks": "The plan is playbooks/audit.yml over meta/controls.yml "
                "(see the component-definition in the same report directory).",
            },
            "results": [result],
        }
    }


def _inventory_item(h):
    return {
        "uuid": _uuid("host", h["name"]),
        "description": "Audited host %s (audit %s)" % (_line(h["name"]), h["state"]),
        "props": [_prop("audit-state", h["state"])],
    }


def _observation(run_uuid, host, f, end):
    desc = "Observed: %s\n\nExpected: %s" % (_block(f.get("observed")) or "-", _block(f.get("expected")) or "-")
    obs = {
        "uuid": _uuid("observation", run_uuid, host, f["id"]),
        "title": _line("%s on %s" % (f["id"], host)),
        "description": desc,
        "props": [_prop("control-id", f["id"]), _prop("status", f["status"])],
        "methods": ["TEST"],
        "collected": end,
    }
    if host != ORGANISATION:
        obs["subjects"] = [{"subject-uuid": _uuid("host", host), "type": "inventory-item", "title": _line(host)}]
    evidence = _block(f.get("evidence"))
    if evidence:
        obs["relevant-evidence"] = [{"description": evidence}]
    return obs


def _finding(run_uuid, host, f):
    state, reason = STATE[f["status"]]
    return {
        "uuid": _uuid("finding", run_uuid, host, f["id"]),
        "title": _line("%s: %s %s" % (host, f["id"], f.get("title_en", ""))),
        "description": "%s / %s" % (f.get("title_ja", ""), f.get("title_en", "")),
        "props": [_prop("status", f["status"]), _prop("host", host)],
        "target": {
            "type": "statement-id",
            "target-id": statement_id(f["id"]),
            "status": {"state": state, "reason": reason, "remarks": "status %s" % f["status"]},
        },
        "related-observations": [{"observation-uuid": _uuid("observation", run_uuid, host, f["id"])}],
    }


def _result(run, summary, run_uuid, start, end):
    """The run's one result, without its observations and findings."""
    remarks = "Overall result: %s. %d hosts, %d findings." % (summary["result"], summary["hosts"], summary["findings"])
    if summary["incomplete_hosts"]:
        remarks += " Audit incomplete on: %s." % ", ".join(_line(h) for h in summary["incomplete_hosts"])
    return {
        "uuid": _uuid("result", run_uuid),
        "title": "Audit run %s" % start,
        "description": "Verify-only run of playbooks/audit.yml (check mode); inventory %s, limit %s, tags %s."
        % (
            _line(", ".join(run.get("inventory_sources") or []) or "-"),
            _line(run.get("limit") or "none"),
            _line(", ".join(run.get("tags") or []) or "all"),
        ),
        "start": start,
        "end": end,
        "reviewed-controls": {
            "control-selections": [
                {"include-controls": [{"control-id": clause_control_id(c["clause"])} for c in summary["clauses"]]}
                if summary["clauses"]
                else {"include-all": {}}
            ]
        },
        "remarks": remarks,
    }
