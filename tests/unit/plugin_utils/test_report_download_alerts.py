"""The report lists each host's bulk-download alerts with their acknowledgement (6-5, issue 15
point 11): JSON (schema), HTML (bilingual headings, escaped), CSV (formula prefix), JUnit."""

from __future__ import annotations

import csv
import datetime
import io
import json
import pathlib
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from ansible_collections.pii_guard.safeguards.plugins.module_utils.download.sliding_window import config as swc
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import catalog
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import report as R
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import report_html as HTML
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.registers import download_ack as ACK

ROOT = pathlib.Path(__file__).resolve().parents[3]
SCHEMA = json.loads((ROOT / "meta" / "report.schema.json").read_text(encoding="utf-8"))
RUN = {
    "started_at": "2026-11-30T06:00:00Z",
    "finished_at": "2026-11-30T06:01:00Z",
    "duration_seconds": 60.0,
    "inventory_sources": ["inventories/lab"],
    "limit": None,
    "tags": ["all"],
    "skip_tags": [],
    "ansible_version": "2.19.14",
    "collection_version": "pii_guard.safeguards 0.1.0",
    "check_mode": True,
}
HOSTILE_USER = '=HYPERLINK("http://x")<script>alert(1)</script>'


def alert(user: str, raised: str) -> dict:
    return {
        "dataset": "resident_records", "user": user, "count": 120, "threshold": 100, "window": 60,
        "raised": raised, "first_event": raised, "last_event": raised, "host": "ep1",
        "id": swc.alert_id("ep1", "resident_records", user, raised),
    }  # fmt: skip


def doc() -> dict:
    a, b = alert(HOSTILE_USER, "2026-11-10T09:00:00.000Z"), alert("clerk", "2026-11-11T09:00:00.000Z")
    register = [{"alert": b["id"], "reviewed_by": "佐藤 {{ x }}", "reviewed_on": "2026-11-12", "outcome": "legitimate",
                 "note": "<b>月次統計</b>"}]  # fmt: skip
    obs = {"alerts": [a, b], "since": "2026-09-01", "unreadable_lines": 0, "left_out": 0, "errors": []}
    f = ACK.evaluate(obs, register, datetime.date(2026, 11, 30), 7)
    return R.build({"ep1": [f]}, catalog.load(), RUN)


@pytest.mark.control("6-5.alerts_acknowledged")
def test_json_lists_the_alerts_per_host_and_validates() -> None:
    d = doc()
    jsonschema.validate(json.loads(R.to_json(d)), SCHEMA, format_checker=jsonschema.FormatChecker())
    rows = d["hosts"][0]["download_alerts"]
    assert [(r["user"], r["status"]) for r in rows] == [(HOSTILE_USER, "overdue"), ("clerk", "acknowledged")]
    assert rows[1]["reviewed_by"] == "佐藤 {{ x }}" and rows[1]["outcome"] == "legitimate"
    assert d["summary"]["result"] == "fail"


@pytest.mark.control("6-5.alerts_acknowledged")
def test_html_has_bilingual_headings_and_escapes_hostile_strings() -> None:
    page = HTML.render(doc())
    assert "大量ダウンロード警告と確認状況" in page and "Bulk-download alerts and their acknowledgement" in page
    assert "未確認（期限超過）" in page and "確認済み" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "<b>月次統計</b>" not in page and "&lt;b&gt;月次統計&lt;/b&gt;" in page
    assert page.count('class="download-alert"') == 2


@pytest.mark.control("6-5.alerts_acknowledged")
def test_csv_and_junit_carry_the_finding() -> None:
    d = doc()
    rows = list(csv.DictReader(io.StringIO(R.to_csv(d))))
    row = next(r for r in rows if r["id"] == "6-5.alerts_acknowledged")
    assert row["status"] == "fail" and HOSTILE_USER.replace('"', '\\"') in row["evidence"]
    assert not any(v.startswith("=") for r in rows for v in r.values())
    root = ET.fromstring(R.to_junit(d))
    case = next(c for c in root.iter("testcase") if "6-5.alerts_acknowledged" in c.get("name", ""))
    assert case.find("failure") is not None
