# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The auditors' report: one document built from the findings, rendered four ways.

``build()`` turns ``{host: [finding, ...]}`` (plus the organisation-level findings and the run
metadata) into one report document; ``to_json``, ``to_junit``, ``to_html`` and ``to_csv`` render
it. Pure Python (stdlib only) so it is unit-tested without hosts; the action plugin
``audit_report`` only gathers the inputs and writes the files.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from html import escape

from ansible_collections.pii_guard.safeguards.plugins.module_utils.findings import (
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
        errors = [
            {"role": str(e.get("role", "")), "task": str(e.get("task", "")), "msg": str(e.get("msg", ""))}
            for e in host_errors.get(name) or []
        ]
        state = host_state.get(name, "complete")
        if state not in HOST_STATES:
            raise FindingError("host %s has audit state %r, not one of %s" % (name, state, ", ".join(HOST_STATES)))
        if errors and state == "complete":
            state = "incomplete"
        counts = _counts()
        for f in items:
            counts[f["status"]] += 1
        failing = state != "complete" or any(f["status"] in FAILING for f in items)
        host_docs.append(
            {
                "name": name,
                "state": state,
                "result": "fail" if failing else "pass",
                "counts": counts,
                "errors": errors,
                "findings": items,
            }
        )
    org = [_enrich(f, controls) for f in organisation or []]
    org.sort(key=lambda f: (clause_sort_key(f["clause"]), f["id"]))
    for f in org:
        count(f)

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


def _text(value):
    """Observed/expected/evidence as text (strings as is, the rest as JSON), XML-safe."""
    if value is None:
        return ""
    if isinstance(value, str):
        return xml_safe(value)
    return xml_safe(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str))


def to_json(report):
    return json.dumps(report, ensure_ascii=False, indent=2, sort_keys=False, default=str) + "\n"


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
        w.writerow([csv_cell(xml_safe(host))] + [csv_cell(_text(f.get(k))) for k in CSV_FIELDS[1:]])
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
            case = ET.SubElement(suite, "testcase", classname=xml_safe(host), name="%s %s" % (f["id"], f["title_en"]))
            case.set("time", "0")
            detail = "observed: %s\nexpected: %s\nevidence: %s" % (
                _text(f.get("observed")),
                _text(f.get("expected")),
                _text(f.get("evidence")),
            )
            if f["status"] == "fail":
                ET.SubElement(case, "failure", message=_text(f.get("observed"))[:500], type="fail").text = detail
            elif f["status"] == "error":
                ET.SubElement(case, "error", message=_text(f.get("observed"))[:500], type="error").text = detail
            elif f["status"] == "not_applicable":
                ET.SubElement(case, "skipped", message=_text(f.get("observed"))[:500])
            else:
                ET.SubElement(case, "system-out").text = detail
    incomplete = [h for h in report["hosts"] if h["state"] != "complete"]
    if incomplete:
        # CI must show a host whose audit did not run through, not just fewer testcases.
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
    for k, v in tot.items():
        root.set(k, str(v))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# ---------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:"Noto Sans CJK JP","IPAGothic","Hiragino Sans","Yu Gothic",Meiryo,sans-serif;margin:1.5em;color:#222}
h1,h2,h3{margin:.6em 0 .3em}
.ja-en{display:grid;grid-template-columns:1fr 1fr;gap:1em}
.en{color:#444}
table{border-collapse:collapse;width:100%;margin:.5em 0 1em;font-size:.9em}
th,td{border:1px solid #bbb;padding:.25em .4em;vertical-align:top;text-align:left}
th{background:#eee}
.st{font-weight:bold;color:#fff;padding:.1em .4em;border-radius:.2em;white-space:nowrap}
.st-pass{background:#2e7d32}.st-fixed{background:#1565c0}.st-not_applicable{background:#9e9e9e}
.st-fail{background:#c62828}.st-error{background:#ef6c00}
pre{white-space:pre-wrap;word-break:break-all;margin:0;font-size:.85em}
.result-fail{color:#c62828}.result-pass{color:#2e7d32}
.meta td:first-child{width:14em}
section.host{page-break-inside:auto;margin-top:1.5em}
@media print{body{margin:0;font-size:10pt}a{color:inherit;text-decoration:none}
section.host{page-break-before:always}tr{page-break-inside:avoid}}
"""


def _st(status):
    return '<span class="st st-%s">%s / %s</span>' % (escape(status), escape(STATUS_JA.get(status, status)), status)


def _chart(clauses):
    """Inline SVG: one stacked horizontal bar per clause (counts by status)."""
    order = ("pass", "fixed", "not_applicable", "fail", "error")
    bar_w, row_h, label_w = 460, 26, 90
    height = row_h * len(clauses) + 40
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" width="%d" height="%d" '
        'aria-label="条項ごとの適合・不適合 / pass and fail per clause">' % (label_w + bar_w + 300, height)
    ]
    for i, c in enumerate(clauses):
        y = 10 + i * row_h
        total = sum(c["counts"].values()) or 1
        parts.append('<text x="0" y="%d" font-size="13">第%s</text>' % (y + 15, escape(c["clause"])))
        x = float(label_w)
        for s in order:
            n = c["counts"].get(s, 0)
            if not n:
                continue
            w = bar_w * n / total
            parts.append(
                '<rect class="bar-%s" x="%.1f" y="%d" width="%.1f" height="18" fill="%s">'
                "<title>%s %s: %d</title></rect>" % (s, x, y, w, COLORS[s], escape(c["clause"]), s, n)
            )
            x += w
        fails = c["counts"].get("fail", 0) + c["counts"].get("error", 0)
        ok = c["counts"].get("pass", 0) + c["counts"].get("fixed", 0)
        parts.append(
            '<text x="%d" y="%d" font-size="12">%d 適合 pass / %d 不適合 fail</text>'
            % (label_w + bar_w + 6, y + 14, ok, fails)
        )
    ly = height - 12
    lx = label_w
    for s in order:
        parts.append('<rect x="%d" y="%d" width="10" height="10" fill="%s"/>' % (lx, ly - 9, COLORS[s]))
        parts.append('<text x="%d" y="%d" font-size="11">%s %s</text>' % (lx + 13, ly, STATUS_JA[s], s))
        lx += 150
    parts.append("</svg>")
    return "".join(parts)


def _pre(value):
    if value is None or value == {} or value == "":
        return ""
    if isinstance(value, str):
        return "<pre>%s</pre>" % escape(xml_safe(value))
    text = json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True, default=str)
    return "<pre>%s</pre>" % escape(xml_safe(text))


def _findings_table(items):
    out = [
        "<table><thead><tr><th>結果 / status</th><th>管理策 / control</th>"
        "<th>観測値 / observed</th><th>期待値 / expected</th><th>証跡 / evidence</th></tr></thead><tbody>"
    ]
    for f in items:
        out.append(
            '<tr class="finding" data-id="%s" data-status="%s"><td>%s</td>'
            "<td><code>%s</code> (%s)<br>%s<br><span class=en>%s</span></td><td>%s</td><td>%s</td><td>%s</td></tr>"
            % (
                escape(f["id"]),
                escape(f["status"]),
                _st(f["status"]),
                escape(f["id"]),
                escape(f.get("severity") or ""),
                escape(f.get("title_ja") or ""),
                escape(f.get("title_en") or ""),
                _pre(f.get("observed")),
                _pre(f.get("expected")),
                _pre(f.get("evidence")),
            )
        )
    out.append("</tbody></table>")
    return "".join(out)


CHANGE_KINDS = (
    ("new_failures", "新たな不適合", "new failures"),
    ("fixed", "是正された項目", "fixed since"),
    ("still_failing", "引き続き不適合", "still failing"),
)


def _changes_html(changes):
    """Section: against the previous run of the same scope (inventory, limit, tags)."""
    h = [
        '<section id="changes"><div class="ja-en"><h2>前回からの変化</h2>'
        '<h2 class="en">Changes since the previous run</h2></div>'
    ]
    for skip in changes.get("skipped_runs") or []:
        h.append(
            '<p class="result-fail skipped-run">比較に使わなかった実行 / run not compared: %s — %s</p>'
            % (escape(xml_safe(skip["report_dir"])), escape(xml_safe(skip["reason"])))
        )
    prev = changes.get("previous")
    if not prev:
        h.append(
            '<p class="no-previous">同じ範囲（インベントリ、対象の絞込み、タグ）の前回実行はありません。'
            " / No earlier run of the same scope (inventory, limit, tags) to compare with.</p></section>"
        )
        return "".join(h)
    h.append(
        '<p class="previous">前回 / previous run: %s (%s, %s)</p>'
        % (
            escape(_text(prev.get("started_at"))),
            escape(_text(prev.get("result"))),
            escape(_text(prev.get("report_dir"))),
        )
    )
    h.append('<table class="changes-summary"><tbody>')
    for key, ja, en in CHANGE_KINDS:
        h.append('<tr data-kind="%s"><td>%s / %s</td><td>%d</td></tr>' % (key, ja, en, len(changes[key])))
    for key, ja, en in (
        ("hosts_added", "追加されたホスト", "hosts added"),
        ("hosts_gone", "なくなったホスト", "hosts gone"),
    ):
        h.append(
            '<tr data-kind="%s"><td>%s / %s</td><td>%d</td><td>%s</td></tr>'
            % (key, ja, en, len(changes[key]), escape(", ".join(xml_safe(x) for x in changes[key])))
        )
    h.append("</tbody></table>")
    for key, ja, en in CHANGE_KINDS:
        if not changes[key]:
            continue
        h.append(
            "<h3>%s / %s</h3><table><thead><tr><th>ホスト / host</th><th>管理策 / control</th>"
            "<th>前回 / before</th><th>今回 / now</th></tr></thead><tbody>" % (ja, en)
        )
        for c in changes[key]:
            h.append(
                '<tr class="change" data-kind="%s" data-host="%s" data-id="%s"><td>%s</td><td><code>%s</code></td>'
                "<td>%s</td><td>%s</td></tr>"
                % (
                    key,
                    escape(xml_safe(c["host"])),
                    escape(xml_safe(c["id"])),
                    escape(xml_safe(c["host"])),
                    escape(xml_safe(c["id"])),
                    _st(c["previous_status"]) if c["previous_status"] else "—",
                    _st(c["status"]) if c["status"] else "—",
                )
            )
        h.append("</tbody></table>")
    h.append("</section>")
    return "".join(h)


def _trend_svg(trend):
    """Inline SVG: per clause, the failing findings (fail + error) of the last runs, oldest left."""
    runs = trend["runs"]
    step, row_h, label_w, plot_h = 28, 34, 90, 24
    width = label_w + step * max(1, len(runs) - 1) + 220
    height = row_h * len(trend["clauses"]) + 10
    parts = [
        '<svg class="trend" xmlns="http://www.w3.org/2000/svg" role="img" width="%d" height="%d" '
        'aria-label="条項ごとの不適合件数の推移 / failing findings per clause over the last runs">' % (width, height)
    ]
    for i, c in enumerate(trend["clauses"]):
        y0 = 8 + i * row_h
        fails = [n.get("fail", 0) + n.get("error", 0) for n in c["counts"]]
        top = max(fails) or 1
        pts = [
            (label_w + step * j, y0 + plot_h - plot_h * v / top) for j, v in enumerate(fails)
        ]  # fmt: skip
        parts.append('<text x="0" y="%d" font-size="13">第%s</text>' % (y0 + 17, escape(xml_safe(c["clause"]))))
        parts.append(
            '<polyline class="trend-fail" data-clause="%s" data-values="%s" fill="none" stroke="%s" '
            'stroke-width="2" points="%s"/>'
            % (
                escape(xml_safe(c["clause"])),
                ",".join(str(v) for v in fails),
                COLORS["fail"],
                " ".join("%.1f,%.1f" % p for p in pts),
            )
        )
        for j, (x, y) in enumerate(pts):
            v, run = fails[j], runs[j] if j < len(runs) else None
            parts.append(
                '<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s: %d</title></circle>'
                % (x, y, COLORS["fail"] if v else COLORS["pass"], escape(_text(run)), v)
            )
        parts.append(
            '<text x="%d" y="%d" font-size="12">不適合 fail: %s</text>'
            % (label_w + step * max(1, len(runs) - 1) + 12, y0 + 17, " → ".join(str(v) for v in fails))
        )
    parts.append("</svg>")
    return "".join(parts)


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


def to_html(report):
    """One self-contained HTML file: no external assets, JA and EN side by side, printable."""
    s = report["summary"]
    run = report["run"]
    res = s["result"]
    h = [
        '<!DOCTYPE html>\n<html lang="ja"><head><meta charset="utf-8">',
        "<title>個人情報保護 監査報告 / PII safeguards audit report</title>",
        "<style>%s</style></head><body>" % _CSS,
        '<div class="ja-en"><div><h1>保有個人情報の安全管理措置 監査報告</h1></div>'
        '<div class="en"><h1>PII safeguards audit report</h1></div></div>',
        '<p id="overall" class="result-%s"><strong>総合判定 / overall: %s / %s</strong> — '
        "%d ホスト / hosts, %d 件の所見 / findings</p>"
        % (res, escape(STATUS_JA.get(res, res)), res, s["hosts"], s["findings"]),
        '<table class="meta"><tbody>',
    ]
    meta_rows = (
        ("開始 / started", run.get("started_at")),
        ("終了 / finished", run.get("finished_at")),
        ("所要時間 / duration (s)", run.get("duration_seconds")),
        ("インベントリ / inventory", run.get("inventory_sources")),
        ("対象の絞込み / limit", run.get("limit")),
        ("タグ / tags", run.get("tags")),
        ("除外タグ / skip tags", run.get("skip_tags")),
        ("Ansible", run.get("ansible_version")),
        ("コレクション / collection", run.get("collection_version")),
        ("検査のみ / check mode", run.get("check_mode")),
        ("git commit", run.get("git_commit")),
        ("制御ノード / controller", run.get("controller")),
        ("署名 / signature", signing_text(run.get("signing"))),
    )
    for k, v in meta_rows:
        h.append("<tr><td>%s</td><td>%s</td></tr>" % (escape(k), escape(_text(v))))
    h.append("</tbody></table>")
    if s["incomplete_hosts"]:
        h.append(
            '<p class="result-fail">監査が完了しなかったホスト / hosts whose audit did not complete: %s</p>'
            % escape(", ".join(s["incomplete_hosts"]))
        )
    h.append('<div class="ja-en"><h2>条項ごとの結果</h2><h2 class="en">Result per clause</h2></div>')
    h.append(_chart(s["clauses"]))
    h.append(
        "<table><thead><tr><th>条項 / clause</th><th>対策</th><th>measure</th><th>判定 / result</th>"
        + "".join("<th>%s<br>%s</th>" % (escape(STATUS_JA[st]), st) for st in STATUSES)
        + "</tr></thead><tbody>"
    )
    for c in s["clauses"]:
        h.append(
            '<tr class="clause" data-clause="%s"><td>第%s</td><td>%s</td><td class=en>%s</td><td>%s</td>%s</tr>'
            % (
                escape(c["clause"]),
                escape(c["clause"]),
                escape(c["title_ja"]),
                escape(c["title_en"]),
                _st(c["result"]),
                "".join("<td>%d</td>" % c["counts"][st] for st in STATUSES),
            )
        )
    h.append("</tbody></table>")
    if report.get("changes"):
        h.append(_changes_html(report["changes"]))
    if report.get("trend") and len(report["trend"]["runs"]) > 1:
        h.append(
            '<div class="ja-en"><h2>条項ごとの推移</h2><h2 class="en">Trend per clause (failing findings)</h2></div>'
        )
        h.append(_trend_svg(report["trend"]))
    h.append('<div class="ja-en"><h2>ホスト一覧</h2><h2 class="en">Hosts</h2></div><table><thead><tr>')
    h.append("<th>ホスト / host</th><th>判定 / result</th><th>状態 / state</th>")
    h.append("".join("<th>%s<br>%s</th>" % (escape(STATUS_JA[st]), st) for st in STATUSES) + "</tr></thead><tbody>")
    for host in report["hosts"]:
        h.append(
            '<tr><td><a href="#host-%s">%s</a></td><td>%s</td><td>%s</td>%s</tr>'
            % (
                escape(host["name"]),
                escape(host["name"]),
                _st(host["result"]),
                escape(host["state"]),
                "".join("<td>%d</td>" % host["counts"][st] for st in STATUSES),
            )
        )
    h.append("</tbody></table>")
    if report["organisation"]["findings"]:
        h.append(
            '<section class="host" id="organisation"><div class="ja-en"><h2>組織全体（委託先台帳など）</h2>'
            '<h2 class="en">Organisation level (contractor register, ...)</h2></div>'
        )
        h.append(_findings_table(report["organisation"]["findings"]))
        h.append("</section>")
    for host in report["hosts"]:
        h.append(
            '<section class="host" id="host-%s" data-host="%s"><div class="ja-en"><h2>ホスト %s</h2>'
            '<h2 class="en">Host %s</h2></div>'
            % (escape(host["name"]), escape(host["name"]), escape(host["name"]), escape(host["name"]))
        )
        if host["state"] != "complete":
            h.append(
                '<p class="result-fail incomplete">この端末の監査は完了していません（接続不可または失敗）。'
                " / The audit of this host did not complete (unreachable or failed): %s</p>" % escape(host["state"])
            )
        if host["errors"]:
            h.append(
                "<table><thead><tr><th>役割 / role</th><th>タスク / task</th>"
                "<th>エラー / error</th></tr></thead><tbody>"
            )
            for e in host["errors"]:
                h.append(
                    '<tr class="audit-error"><td>%s</td><td>%s</td><td><pre>%s</pre></td></tr>'
                    % (escape(xml_safe(e["role"])), escape(xml_safe(e["task"])), escape(xml_safe(e["msg"])))
                )
            h.append("</tbody></table>")
        h.append(_findings_table(host["findings"]))
        h.append("</section>")
    h.append("</body></html>\n")
    return "".join(h)


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


__all__ = ["FindingError", "build", "failed", "summary_lines", "to_csv", "to_html", "to_json", "to_junit", "xml_safe"]
