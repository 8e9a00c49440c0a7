# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The auditors' HTML report: ``templates/report.html.j2`` rendered with Jinja2, autoescape on.

Controller only (the action plugin ``audit_report`` calls ``render``). One self-contained file:
no external assets, Japanese and English side by side, printable. Every string of the report
document reaches the page through Jinja2's escaping; characters no HTML parser accepts are dropped
first (``xml_safe``). Chart geometry is computed here, so the template only places numbers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from ansible_collections.pii_guard.safeguards.plugins.module_utils.common.findings import STATUSES
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.report import (
    ALERT_STATUS_JA,
    COLORS,
    STATUS_JA,
    signing_text,
    text_of as _text,
    xml_safe,
)

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
CHART_ORDER = ("pass", "fixed", "not_applicable", "fail", "error")
CHANGE_KINDS = (
    ("new_failures", "新たな不適合", "new failures"),
    ("fixed", "是正された項目", "fixed since"),
    ("still_failing", "引き続き不適合", "still failing"),
)
HOST_CHANGE_KINDS = (
    ("hosts_added", "追加されたホスト", "hosts added"),
    ("hosts_gone", "なくなったホスト", "hosts gone"),
)

CSS = """
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


def _safe(value):
    """A deep copy with every string XML/HTML-safe (control characters dropped)."""
    if isinstance(value, str):
        return xml_safe(value)
    if isinstance(value, dict):
        return dict((_safe(k), _safe(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_safe(v) for v in value]
    return value


def _block_text(value):
    """observed/expected/evidence for a <pre> block (empty for nothing)."""
    if value is None or value == {} or value == "":
        return ""
    if isinstance(value, str):
        return xml_safe(value)
    return xml_safe(json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True, default=str))


def _status_ja(status):
    return STATUS_JA.get(status, status)


def chart(clauses):
    """Geometry of the per-clause stacked bars (counts by status)."""
    bar_w, row_h, label_w = 460, 26, 90
    height = row_h * len(clauses) + 40
    rows = []
    for i, c in enumerate(clauses):
        y = 10 + i * row_h
        total = sum(c["counts"].values()) or 1
        x, bars = float(label_w), []
        for s in CHART_ORDER:
            n = c["counts"].get(s, 0)
            if n:
                w = bar_w * n / total
                bars.append({"status": s, "x": x, "w": w, "n": n})
                x += w
        rows.append(
            {
                "clause": c["clause"],
                "y": y,
                "bars": bars,
                "fails": c["counts"].get("fail", 0) + c["counts"].get("error", 0),
                "ok": c["counts"].get("pass", 0) + c["counts"].get("fixed", 0),
            }
        )
    legend = [{"status": s, "x": label_w + 150 * i} for i, s in enumerate(CHART_ORDER)]
    return {
        "width": label_w + bar_w + 300,
        "height": height,
        "text_x": label_w + bar_w + 6,
        "rows": rows,
        "legend": legend,
        "legend_y": height - 12,
    }


def trend_chart(trend):
    """Geometry of the per-clause trend lines (failing findings per run, oldest left); None for one run."""
    if not trend or len(trend["runs"]) < 2:
        return None
    runs = trend["runs"]
    step, row_h, label_w, plot_h = 28, 34, 90, 24
    span = step * (len(runs) - 1)
    rows = []
    for i, c in enumerate(trend["clauses"]):
        y0 = 8 + i * row_h
        values = [n.get("fail", 0) + n.get("error", 0) for n in c["counts"]]
        top = max(values) or 1
        dots = [
            {"x": label_w + step * j, "y": y0 + plot_h - plot_h * v / top, "v": v, "run": _text(runs[j])}
            for j, v in enumerate(values)
        ]
        rows.append(
            {
                "clause": c["clause"],
                "y": y0,
                "series": values,
                "dots": dots,
                "points": " ".join("%.1f,%.1f" % (d["x"], d["y"]) for d in dots),
            }
        )
    return {
        "width": label_w + span + 220,
        "height": row_h * len(rows) + 10,
        "text_x": label_w + span + 12,
        "rows": rows,
    }


def _meta_rows(run):
    return [
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
    ]


_ENV = None


def environment():
    global _ENV
    if _ENV is None:
        # autoescape for every template, whatever its name; StrictUndefined: a typo is an error, not "".
        _ENV = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )
        _ENV.globals.update(status_ja=_status_ja, block_text=_block_text)
    return _ENV


def render(report):
    """The HTML page for a report document (see plugin_utils/report.build)."""
    doc = _safe(report)
    s = doc["summary"]
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            css=Markup(CSS),  # constant, ours: not escaped (it holds quotes)
            s=s,
            meta_rows=[(k, _text(v)) for k, v in _meta_rows(doc["run"])],
            statuses=STATUSES,
            colors=COLORS,
            chart=chart(s["clauses"]),
            changes=doc.get("changes"),
            trend=trend_chart(doc.get("trend")),
            change_kinds=CHANGE_KINDS,
            host_change_kinds=HOST_CHANGE_KINDS,
            hosts=doc["hosts"],
            alert_status_ja=ALERT_STATUS_JA,
            organisation=doc["organisation"]["findings"],
        )
    )
