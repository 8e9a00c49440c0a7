"""What changed since the previous run of the same scope, and the trend (issue 16, point 2)."""

from __future__ import annotations

import json
import pathlib
from html.parser import HTMLParser

import jsonschema

from ansible_collections.pii_guard.safeguards.plugins.module_utils.common import findings as F
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import bundle as B
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import catalog
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import history as H
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import report as R
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import report_html as HTML

ROOT = pathlib.Path(__file__).resolve().parents[3]
SCHEMA = json.loads((ROOT / "meta" / "report.schema.json").read_text(encoding="utf-8"))
CAT = catalog.load()


def run_meta(started: str, limit=None, tags=("all",), inventory="/srv/inv/prod") -> dict:
    return {
        "started_at": started,
        "finished_at": started,
        "duration_seconds": 1.0,
        "inventory_sources": [inventory],
        "limit": limit,
        "tags": list(tags),
        "skip_tags": [],
        "ansible_version": "2.19.14",
        "collection_version": "pii_guard.safeguards 0.1.0",
        "check_mode": True,
    }


def doc(started: str, states: dict, org: dict | None = None, **scope) -> dict:
    """states: {host: {control id: status}}."""
    hosts = {h: [F.finding(i, s) for i, s in sorted(c.items())] for h, c in states.items()}
    orgf = [F.finding(i, s) for i, s in sorted((org or {}).items())]
    return R.build(hosts, CAT, run_meta(started, **scope), organisation=orgf)


def keep(root: pathlib.Path, d: dict, seal: bool = True) -> pathlib.Path:
    """Store a report as the action plugin does: <root>/<stamp>/report.json (+ SHA256SUMS)."""
    name = d["run"]["started_at"].replace("-", "").replace(":", "")
    out = root / name
    out.mkdir(parents=True)
    (out / "report.json").write_text(R.to_json(d), encoding="utf-8")
    if seal:
        B.write_sums(str(out))
    return out


RUN1 = {
    "web-01": {"6-6.uid0_accounts": "pass", "6-6.admin_group_members": "fail", "6-17.usbguard_rules": "fail"},
    "db-01": {"6-6.uid0_accounts": "fail"},
    "old-01": {"6-6.uid0_accounts": "fail"},
}
RUN2 = {
    # admin_group_members fixed, usbguard_rules still failing, uid0 newly failing on web-01
    "web-01": {"6-6.uid0_accounts": "fail", "6-6.admin_group_members": "pass", "6-17.usbguard_rules": "fail"},
    "db-01": {"6-6.uid0_accounts": "error"},  # still failing (fail -> error)
    "new-01": {"6-6.uid0_accounts": "fail"},  # new host, its failure is new
}


def keys(entries: list[dict]) -> set[tuple[str, str]]:
    return {(e["host"], e["id"]) for e in entries}


def test_changes_against_the_previous_run(tmp_path) -> None:
    keep(tmp_path, doc("2026-11-01T05:00:00Z", RUN1, org={"8-5.annual_inspection": "fail"}))
    now = doc("2026-11-28T05:00:00Z", RUN2, org={"8-5.annual_inspection": "pass"})
    changes, trend = H.history(str(tmp_path), now)
    assert changes["previous"]["started_at"] == "2026-11-01T05:00:00Z"
    assert changes["previous"]["report_dir"] == str(tmp_path / "20261101T050000Z")
    assert keys(changes["new_failures"]) == {("web-01", "6-6.uid0_accounts"), ("new-01", "6-6.uid0_accounts")}
    assert keys(changes["fixed"]) == {("web-01", "6-6.admin_group_members"), (H.ORGANISATION, "8-5.annual_inspection")}
    assert keys(changes["still_failing"]) == {("web-01", "6-17.usbguard_rules"), ("db-01", "6-6.uid0_accounts")}
    # old-01 is gone: its failure is not "fixed".
    assert changes["hosts_added"] == ["new-01"] and changes["hosts_gone"] == ["old-01"]
    db = next(e for e in changes["still_failing"] if e["host"] == "db-01")
    assert (db["previous_status"], db["status"]) == ("fail", "error")
    now["changes"], now["trend"] = changes, trend
    jsonschema.validate(json.loads(R.to_json(now)), SCHEMA)
    assert R.summary_lines(now)[-1] == (
        "since 2026-11-01T05:00:00Z: 2 new failure(s), 2 fixed, 2 still failing, hosts +1 -1"
    )


def test_a_limit_or_tags_run_compares_only_like_with_like(tmp_path) -> None:
    keep(tmp_path, doc("2026-11-01T05:00:00Z", RUN1))
    keep(tmp_path, doc("2026-11-02T05:00:00Z", {"web-01": RUN1["web-01"]}, limit="web-01"))
    keep(tmp_path, doc("2026-11-03T05:00:00Z", {"web-01": {"6-17.usbguard_rules": "pass"}}, tags=("6-17",)))
    keep(tmp_path, doc("2026-11-04T05:00:00Z", RUN1, inventory="/srv/inv/test"))
    # A full run compares with the last full run of the same inventory, not the later limited runs.
    changes, _ = H.history(str(tmp_path), doc("2026-11-28T05:00:00Z", RUN1))
    assert changes["previous"]["started_at"] == "2026-11-01T05:00:00Z"
    assert changes["new_failures"] == [] and changes["fixed"] == [] and changes["hosts_gone"] == []
    # A --limit run compares with the previous run of the same limit: nothing is "gone".
    changes, _ = H.history(str(tmp_path), doc("2026-11-28T05:00:00Z", {"web-01": RUN2["web-01"]}, limit="web-01"))
    assert changes["previous"]["started_at"] == "2026-11-02T05:00:00Z" and changes["hosts_gone"] == []
    assert keys(changes["fixed"]) == {("web-01", "6-6.admin_group_members")}
    # A --tags run with tags never run before has nothing to compare with.
    changes, trend = H.history(str(tmp_path), doc("2026-11-28T05:00:00Z", RUN1, tags=("6-6",)))
    assert changes["previous"] is None and len(trend["runs"]) == 1
    assert "no earlier run of the same scope" in R.summary_lines(dict(doc("x", {}), changes=changes))[-1]


def test_a_tampered_previous_run_is_not_used_and_the_report_says_so(tmp_path) -> None:
    keep(tmp_path, doc("2026-11-01T05:00:00Z", RUN1))
    bad = keep(tmp_path, doc("2026-11-02T05:00:00Z", RUN2))
    text = (bad / "report.json").read_text().replace('"fail"', '"pass"')
    (bad / "report.json").write_text(text)
    changes, _ = H.history(str(tmp_path), doc("2026-11-28T05:00:00Z", RUN2))
    assert changes["previous"]["started_at"] == "2026-11-01T05:00:00Z"
    (skip,) = changes["skipped_runs"]
    assert skip["report_dir"] == str(bad) and "report.json: content changed after the run" in skip["reason"]
    html = HTML.render(dict(doc("2026-11-28T05:00:00Z", RUN2), changes=changes))
    assert "run not compared: %s" % bad in html


def test_unreadable_or_foreign_directories_are_ignored(tmp_path) -> None:
    keep(tmp_path, doc("2026-11-01T05:00:00Z", RUN1))
    (tmp_path / "20261105T050000Z").mkdir()
    (tmp_path / "20261105T050000Z" / "report.json").write_text("{half")
    (tmp_path / "20261106T050000Z").mkdir()
    (tmp_path / "20261106T050000Z" / "report.json").write_text(json.dumps({"run": {}, "hosts": 3}))
    (tmp_path / "notes").mkdir()
    (tmp_path / "latest").symlink_to("20261101T050000Z")
    changes, trend = H.history(str(tmp_path), doc("2026-11-28T05:00:00Z", RUN1))
    assert changes["previous"]["started_at"] == "2026-11-01T05:00:00Z"
    assert trend["runs"] == ["2026-11-01T05:00:00Z", "2026-11-28T05:00:00Z"]


class _Trend(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[str, list[int]] = {}
        self.changes: list[tuple[str, str, str]] = []
        self.svgs: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg":
            self.svgs.append(a.get("class"))
        if tag == "polyline" and a.get("class") == "trend-fail":
            self.lines[a["data-clause"]] = [int(v) for v in a["data-values"].split(",")]
            assert len(a["points"].split()) == len(self.lines[a["data-clause"]])
        if tag == "tr" and a.get("class") == "change":
            self.changes.append((a["data-kind"], a["data-host"], a["data-id"]))


def test_trend_over_the_last_runs_and_the_html_sections(tmp_path) -> None:
    for day in range(1, 13):  # 12 earlier runs: the trend shows the last 9 and this one
        states = {"web-01": {"6-6.uid0_accounts": "fail" if day % 2 else "pass", "6-17.usbguard_rules": "fail"}}
        keep(tmp_path, doc("2026-11-%02dT05:00:00Z" % day, states))
    now = doc("2026-11-28T05:00:00Z", {"web-01": {"6-6.uid0_accounts": "fail", "6-17.usbguard_rules": "pass"}})
    now["changes"], now["trend"] = H.history(str(tmp_path), now)
    t = now["trend"]
    assert len(t["runs"]) == H.TREND_RUNS and t["runs"][0] == "2026-11-04T05:00:00Z"
    assert t["runs"][-1] == "2026-11-28T05:00:00Z"
    by = {c["clause"]: [n["fail"] for n in c["counts"]] for c in t["clauses"]}
    assert by["6-6"] == [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]  # days 4..12 alternate, this run fails
    assert by["6-17"] == [1] * 9 + [0]
    p = _Trend()
    p.feed(HTML.render(now))
    p.close()
    assert p.svgs == [None, "trend"]
    assert p.lines == {"6-6": by["6-6"], "6-17": by["6-17"]}
    assert set(p.changes) == {
        ("new_failures", "web-01", "6-6.uid0_accounts"),
        ("fixed", "web-01", "6-17.usbguard_rules"),
    }
    jsonschema.validate(json.loads(R.to_json(now)), SCHEMA)


def test_hostile_host_names_in_the_changes_stay_text(tmp_path) -> None:
    bad = '"><script>alert(1)</script>'
    keep(tmp_path, doc("2026-11-01T05:00:00Z", {bad: {"6-6.uid0_accounts": "pass"}}))
    now = doc("2026-11-28T05:00:00Z", {bad: {"6-6.uid0_accounts": "fail"}, "x": {}})
    now["changes"], now["trend"] = H.history(str(tmp_path), now)
    html = HTML.render(now)
    p = _Trend()
    p.feed(html)
    p.close()
    assert p.changes == [("new_failures", bad, "6-6.uid0_accounts")]
    assert "<script>" not in html
