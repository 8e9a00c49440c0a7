"""Clause 6-5, issue 15 point 11: the alerts of the audit period against the acknowledgement
register (plugins/plugin_utils/registers/download_ack.py), the host-side reading of the agent's
alert log (plugins/module_utils/download/alerts.py) and the filters both audit engines call."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.pii_guard.safeguards.plugins.filter import download_alert as FL
from ansible_collections.pii_guard.safeguards.plugins.module_utils.common import findings as F
from ansible_collections.pii_guard.safeguards.plugins.module_utils.download import alerts as AL
from ansible_collections.pii_guard.safeguards.plugins.module_utils.download.sliding_window import config as swc
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.registers import download_ack as R

TODAY = datetime.date(2026, 11, 30)
CONTROL = "6-5.alerts_acknowledged"


def alert(raised: str = "2026-11-10T09:00:00.000Z", user: str = "clerk", dataset: str = "resident_records") -> dict:
    last = raised
    return {
        "dataset": dataset,
        "user": user,
        "count": 120,
        "threshold": 100,
        "window": 60,
        "raised": raised,
        "first_event": "2026-11-10T08:59:10.000Z",
        "last_event": last,
        "host": "ep1",
        "id": swc.alert_id("ep1", dataset, user, last),
    }


def observed(*alerts: dict) -> dict:
    return {"alerts": list(alerts), "since": "2026-09-01", "unreadable_lines": 0, "left_out": 0, "errors": []}


def ack(alert_id: str, **kw) -> dict:
    entry = {"alert": alert_id, "reviewed_by": "Sato", "reviewed_on": "2026-11-12", "outcome": "legitimate"}
    entry.update(kw)
    return entry


@pytest.mark.control("6-5.alerts_acknowledged")
def test_an_old_unacknowledged_alert_fails() -> None:
    a = alert()
    f = R.evaluate(observed(a), [], TODAY, 7)
    F.validate(f)
    assert f["status"] == "fail"
    assert f["observed"]["overdue"] == [a["id"]]
    row = f["evidence"]["alerts"][0]
    got = (row["status"], row["user"], row["count"], row["window"], row["age_days"])
    assert got == ("overdue", "clerk", 120, 60, 20)


@pytest.mark.control("6-5.alerts_acknowledged")
def test_an_acknowledged_old_alert_passes_and_shows_the_review() -> None:
    a = alert()
    f = R.evaluate(observed(a), [ack(a["id"], note="export for {{ statistics }}")], TODAY, 7)
    assert f["status"] == "pass"
    row = f["evidence"]["alerts"][0]
    assert row["status"] == "acknowledged"
    assert (row["reviewed_by"], row["reviewed_on"], row["outcome"]) == ("Sato", "2026-11-12", "legitimate")
    assert row["note"] == "export for {{ statistics }}"  # data, kept as written


@pytest.mark.control("6-5.alerts_acknowledged")
def test_a_young_unacknowledged_alert_passes_until_max_days() -> None:
    a = alert(raised="2026-11-25T09:00:00.000Z")
    f = R.evaluate(observed(a), [], TODAY, 7)
    assert f["status"] == "pass"
    assert f["evidence"]["alerts"][0]["status"] == "unacknowledged"
    assert R.evaluate(observed(a), [], TODAY, 5)["status"] == "fail"  # 5 days old: due


@pytest.mark.control("6-5.alerts_acknowledged")
def test_max_days_zero_fails_every_unacknowledged_alert_at_once() -> None:
    a = alert(raised="2026-11-30T01:00:00.000Z")
    assert R.evaluate(observed(a), [], TODAY, 0)["status"] == "fail"


@pytest.mark.control("6-5.alerts_acknowledged")
def test_no_alerts_is_not_applicable_and_unreadable_log_is_an_error() -> None:
    assert R.evaluate(observed(), [], TODAY, 7)["status"] == "not_applicable"
    bad = dict(observed(), errors=["/var/log/pii-download-alert/alerts.jsonl: Permission denied"])
    assert R.evaluate(bad, [], TODAY, 7)["status"] == "error"
    assert R.evaluate(None, [], TODAY, 7)["status"] == "error"


@pytest.mark.control("6-5.alerts_acknowledged")
def test_an_acknowledgement_dated_before_the_alert_does_not_count() -> None:
    a = alert()
    f = R.evaluate(observed(a), [ack(a["id"], reviewed_on="2026-11-01")], TODAY, 7)
    assert f["status"] == "fail"
    assert "before the alert was raised" in f["evidence"]["alerts"][0]["ack_problem"]


@pytest.mark.control("6-5.alerts_acknowledged")
def test_rows_are_grouped_by_data_set_and_other_acks_are_listed() -> None:
    a, b = alert(dataset="tax"), alert(dataset="benefits", user="other")
    f = R.evaluate(observed(a, b), [ack(a["id"]), ack("dl-00000000000000aa")], TODAY, 7)
    assert [r["dataset"] for r in f["evidence"]["alerts"]] == ["benefits", "tax"]
    assert f["evidence"]["acknowledgements_without_alert"] == ["dl-00000000000000aa"]
    assert f["status"] == "fail"


BAD = [
    ("not a list", "abc", "download_alert_acknowledgements must be a list"),
    ("entry not a mapping", ["dl-0123456789abcdef"], "download_alert_acknowledgements[0] must be a mapping"),
    ("id with newline", [ack("dl-0123456789abcdef\n")], "download_alert_acknowledgements[0].alert"),
    ("id short", [ack("dl-0123")], '"dl-0123"'),
    ("date not real", [ack("dl-0123456789abcdef", reviewed_on="2026-02-30")], "[0].reviewed_on"),
    ("date in the future", [ack("dl-0123456789abcdef", reviewed_on="2026-12-01")], "is after today (2026-11-30)"),
    ("outcome", [ack("dl-0123456789abcdef", outcome="fine")], "[0].outcome must be one of"),
    ("reviewer missing", [{"alert": "dl-0123456789abcdef", "reviewed_on": "2026-11-12", "outcome": "incident"}],
     "[0].reviewed_by is required"),
    ("unknown key", [ack("dl-0123456789abcdef", reviewer="x")], 'unknown key "reviewer"'),
    ("control char", [ack("dl-0123456789abcdef", note="a\u2028b")], "[0].note has a control character"),
    ("twice", [ack("dl-0123456789abcdef"), ack("dl-0123456789abcdef")], "acknowledged twice"),
]  # fmt: skip


@pytest.mark.control("6-5.alerts_acknowledged")
@pytest.mark.parametrize(("why", "register", "needle"), BAD, ids=[b[0] for b in BAD])
def test_register_errors_name_the_path_and_value(why: str, register: object, needle: str) -> None:
    errors = R.register_errors(register, TODAY)
    assert errors, why
    assert any(needle in e for e in errors), errors


@pytest.mark.control("6-5.alerts_acknowledged")
def test_valid_register_and_dates_as_yaml_dates_pass() -> None:
    reg = [ack("dl-0123456789abcdef", reviewed_on=datetime.date(2026, 11, 30), note="ok")]
    assert R.register_errors(reg, TODAY) == []
    assert R.register_errors(None, TODAY) == []


@pytest.mark.control("6-5.alerts_acknowledged")
@pytest.mark.parametrize("value", [-1, 3661, "7d", True, 1.5])
def test_max_days_is_a_whole_number_of_days(value: object) -> None:
    assert R.max_days_errors(value)[0].startswith("download_alert_ack_max_days must be")


@pytest.mark.control("6-5.alerts_acknowledged")
def test_filters_refuse_a_bad_register_and_build_the_finding() -> None:
    a = alert()
    with pytest.raises(AnsibleFilterError, match="outcome"):
        FL.download_alert_ack_finding(observed(a), [ack(a["id"], outcome="ok")], 7, "2026-11-30")
    assert FL.download_alert_ack_finding(observed(a), [], "0", "2026-11-30")["status"] == "fail"
    assert FL.download_alert_ack_errors([], "x", "2026-11-30") == [
        'download_alert_ack_max_days must be a whole number of days 0..3660, got "x"'
    ]


# ------------------------------------------------------------------ host side: the alert log


def test_alert_id_is_stable_and_full_matches() -> None:
    one = swc.alert_id("ep1", "ds", "clerk", "2026-11-10T09:00:00.000Z")
    assert one == swc.alert_id("ep1", "ds", "clerk", "2026-11-10T09:00:00.000Z")
    assert one != swc.alert_id("ep2", "ds", "clerk", "2026-11-10T09:00:00.000Z")
    assert swc.ALERT_ID_RE.fullmatch(one)


@pytest.mark.control("6-5.alerts_acknowledged")
def test_read_takes_the_period_from_rotated_and_current_log(tmp_path: Path) -> None:
    log = tmp_path / "alerts.jsonl"
    old = alert(raised="2026-08-01T00:00:00.000Z", user="old")
    rotated = alert(raised="2026-11-01T00:00:00.000Z", user="rot")
    current = dict(alert(user="cur"))
    del current["id"]  # an older agent's line: the same id is derived
    (tmp_path / "alerts.jsonl.1").write_text(json.dumps(old) + "\n" + json.dumps(rotated) + "\n")
    log.write_text("not json\n" + json.dumps(current) + "\n" + json.dumps({"user": 1}) + "\n")
    got = AL.read(str(log), datetime.date(2026, 9, 1), "ep1")
    assert [a["user"] for a in got["alerts"]] == ["rot", "cur"]
    assert got["alerts"][1]["id"] == swc.alert_id("ep1", "resident_records", "cur", current["last_event"])
    assert (got["unreadable_lines"], got["left_out"], got["errors"]) == (2, 0, [])


def test_read_keeps_the_newest_when_over_the_limit() -> None:
    lines = [json.dumps(alert(raised="2026-11-%02dT00:00:00.000Z" % d)) for d in range(1, 11)]
    alerts, bad, left_out = AL.select(lines, datetime.date(2026, 9, 1), "ep1", limit=3)
    assert (len(alerts), bad, left_out) == (3, 0, 7)
    assert alerts[-1]["raised"].startswith("2026-11-10")
