# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The auditors' report: one document built from the findings, rendered four ways.

``build()`` turns ``{host: [finding, ...]}`` (plus the organisation-level findings and the run
metadata) into one report document; ``to_json``, ``to_junit`` and ``to_csv`` render it (the HTML
page is a Jinja2 template rendered on the controller: plugins/plugin_utils/report_html.py).
Pure Python (stdlib only) so it is unit-tested without hosts; the action plugin ``audit_report``
only gathers the inputs and writes the files.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import io
import json
import re
import xml.etree.ElementTree as ET

from ansible_collections.pii_guard.safeguards.plugins.module_utils.common.findings import (
    STATUSES,
    FindingError,
    clause_sort_key,
    validate,
)

SCHEMA_VERSION = 1
ORGANISATION = "(organisation)"
FAILING = ("fail", "error")
# Status labels, Japanese first (auditors here read Japanese first).
STATUS_JA = {
    "pass": "適合",
    "fail": "不適合",
    "fixed": "是正済み",
    "not_applicable": "対象外",
    "error": "エラー",
}
COLORS = {
    "pass": "#2e7d32",
    "fixed": "#1565c0",
    "not_applicable": "#9e9e9e",
    "fail": "#c62828",
    "error": "#ef6c00",
}
CSV_FIELDS = (
    "host",
    "clause",
    "id",
    "status",
    "severity",
    "title_ja",
    "title_en",
    "observed",
    "expected",
    "evidence",
)


def _counts():
    return dict((s, 0) for s in STATUSES)


def _enrich(item, controls):
    """A finding validated and labelled with the catalog's titles and severity."""
    validate(item)
    meta = controls.get(item["id"], {})
    out = dict(item)
    out["title_ja"] = meta.get("title_ja", "")
    out["title_en"] = meta.get("title_en", "")
    out["severity"] = meta.get("severity", "")
    return out


HOST_STATES = ("complete", "incomplete", "unreachable", "not_audited")


def build(hosts, catalog, run, organisation=None, host_state=None, host_errors=None):
    """Build the report document.

    hosts: ``{host: [finding, ...]}``; organisation: findings not tied to a host (contractors);
    catalog: the parsed ``meta/controls.yml``; run: run metadata (dict, copied as is);
    host_state: ``{host: one of HOST_STATES}`` (default complete);
    host_errors: ``{host: [{"role", "task", "msg"}, ...]}``, parts of the audit that failed on a
    host (such a host is incomplete). Any host not complete fails the report.
    Raises FindingError when a finding does not have the agreed shape.
    """
    controls = dict((c["id"], c) for c in catalog.get("controls") or [])
    clauses_meta = catalog.get("clauses") or {}
    host_state = host_state or {}
    host_errors = host_errors or {}
    host_docs = []
    per_clause = {}
    totals = _counts()

    def count(f):
        c = per_clause.setdefault(f["clause"], _counts())
        c[f["status"]] += 1
        totals[f["status"]] += 1

    for name in sorted(hosts):
        items = [_enrich(f, controls) for f in hosts[name] or []]
        items.sort(key=lambda f: (clause_sort_key(f["clause"]), f["id"]))
        for f in items:
            count(f)
        host_docs.append(_host_doc(name, items, host_state.get(name, "complete"), host_errors.get(name)))
    org = [_enrich(f, controls) for f in organisation or []]
    org.sort(key=lambda f: (clause_sort_key(f["clause"]), f["id"]))
    for f in org:
        count(f)

    clause_docs = _clause_docs(per_clause, clauses_meta)
    incomplete = sorted(h["name"] for h in host_docs if h["state"] != "complete")
    failed = bool(incomplete) or any(totals[s] for s in FAILING)
    return {
        "schema_version": SCHEMA_VERSION,
        "run": dict(run),
        "summary": {
            "result": "fail" if failed else "pass",
            "hosts": len(host_docs),
            "findings": sum(totals.values()),
            "counts": totals,
            "incomplete_hosts": incomplete,
            "clauses": clause_docs,
        },
        "hosts": host_docs,
        "organisation": {"findings": org},
    }


def _host_doc(name, items, state, host_errors):
    """One host's section: its audit state (incomplete when a part failed), counts and findings."""
    errors = [
        {"role": str(e.get("role", "")), "task": str(e.get("task", "")), "msg": str(e.get("msg", ""))}
        for e in host_errors or []
    ]
    if state not in HOST_STATES:
        raise FindingError("host %s has audit state %r, not one of %s" % (name, state, ", ".join(HOST_STATES)))
    if errors and state == "complete":
        state = "incomplete"
    counts = _counts()
    for f in items:
        counts[f["status"]] += 1
    failing = state != "complete" or any(f["status"] in FAILING for f in items)
    doc = {
        "name": name,
        "state": state,
        "result": "fail" if failing else "pass",
        "counts": counts,
        "errors": errors,
        "findings": items,
    }
    alerts = download_alerts(items)
    if alerts:
        doc["download_alerts"] = alerts
    return doc


ALERT_FIELDS = ("dataset", "id", "user", "count", "threshold", "window", "raised", "status")
ALERT_REVIEW_FIELDS = ("reviewed_by", "reviewed_on", "outcome", "note")
# The acknowledgement states of an alert, Japanese first (6-5.alerts_acknowledged).
ALERT_STATUS_JA = {"acknowledged": "確認済み", "unacknowledged": "未確認", "overdue": "未確認（期限超過）"}


def download_alerts(items):
    """The alerts of the audit period with their acknowledgement (from 6-5.alerts_acknowledged),
    by data set: what the auditors read per host, whatever the finding's status."""
    out = []
    for f in items:
        if f["id"] != "6-5.alerts_acknowledged" or not isinstance(f.get("evidence"), dict):
            continue
        for row in f["evidence"].get("alerts") or []:
            if isinstance(row, dict):
                out.append({k: row.get(k) for k in ALERT_FIELDS + ALERT_REVIEW_FIELDS if row.get(k) is not None})
    return out


def _clause_docs(per_clause, clauses_meta):
    clause_docs = []
    for clause in sorted(per_clause, key=clause_sort_key):
        meta = clauses_meta.get(clause, {})
        counts = per_clause[clause]
        clause_docs.append(
            {
                "clause": clause,
                "title_ja": meta.get("title_ja", ""),
                "title_en": meta.get("title_en", ""),
                "counts": counts,
                "result": "fail" if any(counts[s] for s in FAILING) else "pass",
            }
        )
    return clause_docs


def failed(report):
    return report["summary"]["result"] == "fail"


def _rows(report):
    """Every finding with the host it belongs to (organisation last)."""
    for h in report["hosts"]:
        for f in h["findings"]:
            yield h["name"], f
    for f in report["organisation"]["findings"]:
        yield ORGANISATION, f


# Characters XML 1.0 cannot carry at all; evidence read from hosts may contain them.
_XML_BAD = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text):
    """Drop characters that no XML/HTML parser accepts (control characters, U+FFFE, ...)."""
    return _XML_BAD.sub("", text)


def text_of(value):
    """Observed/expected/evidence as text (strings as is, the rest as JSON), XML-safe."""
    if value is None:
        return ""
    if isinstance(value, str):
        return xml_safe(value)
    return xml_safe(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str))


def encodable(json_text):
    """JSON text that encodes as UTF-8: a lone surrogate (a host's undecodable byte, kept by
    surrogateescape) becomes its JSON escape \\udcXX, which reads back as the same string; raw,
    it made writing the report file fail (UnicodeEncodeError) and the whole report was lost."""
    return json_text.encode("utf-8", "backslashreplace").decode("utf-8")


def to_json(report):
    return encodable(json.dumps(report, ensure_ascii=False, indent=2, sort_keys=False, default=str)) + "\n"


# A cell a spreadsheet would run as a formula (or as DDE): it starts with = + - @, a tab or a CR,
# possibly after spaces, or with their full-width forms (Japanese input methods produce those and
# spreadsheets here accept them as formula starts).
_CSV_FORMULA = re.compile("[ \u3000]*[=+\\-@\uff1d\uff0b\uff0d\uff20]|[\t\r]")


def csv_cell(text):
    """``text`` safe for a spreadsheet cell: a formula-like start gets a leading apostrophe,
    which spreadsheets show as text and do not evaluate."""
    if _CSV_FORMULA.match(text):
        return "'" + text
    return text


def to_csv(report):
    buf = io.StringIO()
    # RFC 4180 line ends: the writer then quotes any cell holding a CR or LF (with "\n" alone a
    # bare CR from a host stayed unquoted and split the row in every reader).
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_FIELDS)
    for host, f in _rows(report):
        w.writerow([csv_cell(xml_safe(host))] + [csv_cell(text_of(f.get(k))) for k in CSV_FIELDS[1:]])
    return buf.getvalue()


def to_junit(report):
    """JUnit XML: one testsuite per clause, one testcase per host x control.

    fail -> <failure>, error -> <error>, not_applicable -> <skipped>; pass/fixed pass.
    """
    by_clause = {}
    for host, f in _rows(report):
        by_clause.setdefault(f["clause"], []).append((host, f))
    root = ET.Element("testsuites", name="pii_guard.safeguards audit")
    tot = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    titles = dict((c["clause"], c) for c in report["summary"]["clauses"])
    for clause in sorted(by_clause, key=clause_sort_key):
        cases = by_clause[clause]
        statuses = [f["status"] for _host, f in cases]
        n = {
            "tests": len(cases),
            "failures": statuses.count("fail"),
            "errors": statuses.count("error"),
            "skipped": statuses.count("not_applicable"),
        }
        for k in tot:
            tot[k] += n[k]
        meta = titles.get(clause, {})
        suite = ET.SubElement(
            root,
            "testsuite",
            name="%s %s / %s" % (clause, meta.get("title_ja", ""), meta.get("title_en", "")),
            tests=str(n["tests"]),
            failures=str(n["failures"]),
            errors=str(n["errors"]),
            skipped=str(n["skipped"]),
            timestamp=str(report["run"].get("started_at", "")),
        )
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="clause", value=clause)
        for host, f in cases:
            _junit_case(suite, host, f)
    _junit_incomplete(root, [h for h in report["hosts"] if h["state"] != "complete"], tot)
    for k, v in tot.items():
        root.set(k, str(v))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _junit_case(suite, host, f):
    case = ET.SubElement(suite, "testcase", classname=xml_safe(host), name="%s %s" % (f["id"], f["title_en"]))
    case.set("time", "0")
    detail = "observed: %s\nexpected: %s\nevidence: %s" % (
        text_of(f.get("observed")),
        text_of(f.get("expected")),
        text_of(f.get("evidence")),
    )
    if f["status"] == "fail":
        ET.SubElement(case, "failure", message=text_of(f.get("observed"))[:500], type="fail").text = detail
    elif f["status"] == "error":
        ET.SubElement(case, "error", message=text_of(f.get("observed"))[:500], type="error").text = detail
    elif f["status"] == "not_applicable":
        ET.SubElement(case, "skipped", message=text_of(f.get("observed"))[:500])
    else:
        ET.SubElement(case, "system-out").text = detail


def _junit_incomplete(root, incomplete, tot):
    """CI must show a host whose audit did not run through, not just fewer testcases."""
    if not incomplete:
        return
    suite = ET.SubElement(
        root, "testsuite", name="audit run / 監査の実行", tests=str(len(incomplete)), failures="0",
        errors=str(len(incomplete)), skipped="0",
    )  # fmt: skip
    for h in incomplete:
        case = ET.SubElement(suite, "testcase", classname=xml_safe(h["name"]), name="audit complete")
        msg = "; ".join("%s: %s" % (e["role"], e["msg"]) for e in h["errors"]) or h["state"]
        ET.SubElement(case, "error", message=xml_safe(msg)[:500], type=h["state"]).text = xml_safe(msg)
    tot["tests"] += len(incomplete)
    tot["errors"] += len(incomplete)


# ---------------------------------------------------------------------------- text for the HTML and terminal
# The HTML page is rendered on the controller: plugins/plugin_utils/report_html.py (Jinja2, autoescape).


def changes_line(changes):
    """One line for the terminal: what changed since the previous run of the same scope."""
    if not changes:
        return None
    if not changes.get("previous"):
        return "no earlier run of the same scope (inventory, limit, tags) to compare with"
    return "since %s: %d new failure(s), %d fixed, %d still failing, hosts +%d -%d" % (
        changes["previous"].get("started_at"),
        len(changes["new_failures"]),
        len(changes["fixed"]),
        len(changes["still_failing"]),
        len(changes["hosts_added"]),
        len(changes["hosts_gone"]),
    )


def signing_text(signing):
    """How the bundle is signed, in words (None: a report from before signing existed)."""
    if not signing:
        return None
    if not signing.get("signed"):
        return "署名なし / unsigned (no signing key was set; SHA256SUMS only)"
    parts = []
    if signing.get("gpg_fingerprint"):
        parts.append("OpenPGP %s (SHA256SUMS.asc)" % signing["gpg_fingerprint"])
    if signing.get("ssh_fingerprint"):
        parts.append(
            "SSH %s, namespace %s (SHA256SUMS.sig)" % (signing["ssh_fingerprint"], signing.get("ssh_namespace"))
        )
    return "署名あり / signed: " + "; ".join(parts)


SUMMARY_TITLE_MAX = 60


def _fit(text, width):
    """``text`` cut to ``width`` columns, at a word boundary with an ellipsis when too long."""
    if len(text) <= width:
        return text
    return text[: width - 3].rsplit(" ", 1)[0] + "..."


def summary_lines(report):
    """The terminal summary table per clause (used by the callback and the failure message).

    The title column is as wide as the longest clause title, up to SUMMARY_TITLE_MAX."""
    clauses = report["summary"]["clauses"]
    total = "%d hosts" % report["summary"]["hosts"]
    width = min(SUMMARY_TITLE_MAX, max([len("title"), len(total)] + [len(c["title_en"] or "") for c in clauses]))
    row = "%%-6s %%-%ds %%5s %%5s %%5s %%5s %%5s  %%s" % width
    head = row % ("clause", "title", "pass", "fixed", "n/a", "fail", "error", "result")
    lines = [head, "-" * len(head)]

    def counts(label, title, n, result):
        keys = ("pass", "fixed", "not_applicable", "fail", "error")
        return row % (label, _fit(title, width), *(n[k] for k in keys), result.upper())

    for c in clauses:
        lines.append(counts(c["clause"], c["title_en"] or "", c["counts"], c["result"]))
    lines.append("-" * len(head))
    lines.append(counts("all", total, report["summary"]["counts"], report["summary"]["result"]))
    if report["summary"]["incomplete_hosts"]:
        lines.append("audit incomplete on: %s" % ", ".join(report["summary"]["incomplete_hosts"]))
    line = changes_line(report.get("changes"))
    if line:
        lines.append(line)
    return lines


__all__ = [
    "FindingError",
    "build",
    "changes_line",
    "csv_cell",
    "failed",
    "signing_text",
    "summary_lines",
    "to_csv",
    "to_json",
    "to_junit",
    "xml_safe",
]
