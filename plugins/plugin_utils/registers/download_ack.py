# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Clause 6-5, the alerts raised and their acknowledgement (issue 15, point 11).

The agent's alerts of the audit period come from the host (download_alert_info, observed.alerts);
the acknowledgement register is kept in inventory::

    download_alert_acknowledgements:
      - {alert: dl-0123456789abcdef, reviewed_by: "Records section, Sato",
         reviewed_on: "2026-11-20", outcome: legitimate, note: "monthly statistics export"}

An alert ``download_alert_ack_max_days`` days old or older without an acknowledgement fails
``6-5.alerts_acknowledged``. The register is read as data (never templated: the action plugin
and the audit engine read the raw variable), validated in full before any host is changed.
Pure Python, no Ansible imports; runs on the controller only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import re

from ansible_collections.pii_guard.safeguards.plugins.module_utils.common.findings import finding
from ansible_collections.pii_guard.safeguards.plugins.module_utils.download.sliding_window.config import ALERT_ID_RE

CONTROL = "6-5.alerts_acknowledged"
VAR = "download_alert_acknowledgements"
MAX_DAYS_VAR = "download_alert_ack_max_days"
OUTCOMES = ("legitimate", "investigating", "incident")
REQUIRED = ("alert", "reviewed_by", "reviewed_on", "outcome")
KEYS = (*REQUIRED, "note")
MAX_TEXT = {"reviewed_by": 128, "note": 2000}
MAX_DAYS_LIMIT = 3660
_CONTROL_CHARS = re.compile("[\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029]")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def show(value):
    """The value as written (JSON: strings quoted, newlines visible)."""
    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def max_days_errors(value):
    """download_alert_ack_max_days: a whole number of days, 0 (every alert at once) .. 3660."""
    if isinstance(value, str) and re.fullmatch(r"[0-9]+", value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAYS_LIMIT:
        return ["%s must be a whole number of days 0..%d, got %s" % (MAX_DAYS_VAR, MAX_DAYS_LIMIT, show(value))]
    return []


def as_date(value):
    """A date from a date or a real ``YYYY-MM-DD`` string, else None."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str) and _DATE_RE.fullmatch(value):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _text_errors(where, key, value):
    if not isinstance(value, str) or not value.strip():
        return ["%s.%s must be a non-empty string, got %s" % (where, key, show(value))]
    if _CONTROL_CHARS.search(value):
        return ["%s.%s has a control character (newline?): %s" % (where, key, show(value))]
    if len(value) > MAX_TEXT[key]:
        return ["%s.%s is longer than %d characters: %s" % (where, key, MAX_TEXT[key], show(value[:40] + "..."))]
    return []


def _entry_errors(where, entry, today):
    if not isinstance(entry, dict):
        return ["%s must be a mapping (alert, reviewed_by, reviewed_on, outcome, note), got %s" % (where, show(entry))]
    errors = ["%s: unknown key %s (known: %s)" % (where, show(k), ", ".join(KEYS)) for k in entry if k not in KEYS]
    errors += ["%s.%s is required" % (where, k) for k in REQUIRED if entry.get(k) in (None, "")]
    alert = entry.get("alert")
    if alert not in (None, "") and not (isinstance(alert, str) and ALERT_ID_RE.fullmatch(alert)):
        errors.append("%s.alert must be an alert id dl-<16 hex digits>, got %s" % (where, show(alert)))
    if entry.get("reviewed_by") not in (None, ""):
        errors += _text_errors(where, "reviewed_by", entry["reviewed_by"])
    if entry.get("note") not in (None, ""):
        errors += _text_errors(where, "note", entry["note"])
    day = entry.get("reviewed_on")
    if day not in (None, ""):
        parsed = as_date(day)
        if parsed is None:
            errors.append("%s.reviewed_on must be a date YYYY-MM-DD, got %s" % (where, show(day)))
        elif parsed > today:
            errors.append("%s.reviewed_on %s is after today (%s)" % (where, show(str(day)), today.isoformat()))
    outcome = entry.get("outcome")
    if outcome not in (None, "") and outcome not in OUTCOMES:
        errors.append("%s.outcome must be one of %s, got %s" % (where, ", ".join(OUTCOMES), show(outcome)))
    return errors


def register_errors(register, today, var=VAR):
    """Every problem of the register at once, each naming the variable path and the value."""
    if register in (None, ""):
        return []
    if not isinstance(register, list):
        return ["%s must be a list of acknowledgements, got %s" % (var, show(register))]
    errors, seen = [], {}
    for i, entry in enumerate(register):
        where = "%s[%d]" % (var, i)
        errors += _entry_errors(where, entry, today)
        alert = entry.get("alert") if isinstance(entry, dict) else None
        if isinstance(alert, str) and alert in seen:
            errors.append(
                "%s.alert %s is acknowledged twice (first at %s[%d])" % (where, show(alert), var, seen[alert])
            )
        elif isinstance(alert, str):
            seen[alert] = i
    return errors


def _row(alert, ack, today, max_days):
    """One alert as the report lists it, with its acknowledgement status."""
    raised = datetime.date.fromisoformat(alert["raised"][:10])
    age = (today - raised).days
    row = {k: alert.get(k) for k in ("dataset", "id", "user", "count", "threshold", "window", "raised")}
    row.update(first_event=alert.get("first_event"), last_event=alert.get("last_event"), age_days=age)
    if ack is not None and as_date(ack["reviewed_on"]) < raised:
        row["ack_problem"] = "reviewed_on %s is before the alert was raised" % as_date(ack["reviewed_on"])
        ack = None
    if ack is None:
        row["status"] = "overdue" if age >= max_days else "unacknowledged"
        return row
    row.update(status="acknowledged", reviewed_by=ack["reviewed_by"], outcome=ack["outcome"])
    row.update(reviewed_on=as_date(ack["reviewed_on"]).isoformat(), note=ack.get("note") or "")
    return row


def evaluate(observed, register, today, max_days):
    """The 6-5.alerts_acknowledged finding of one host.

    observed: download_alert_info's ``observed.alerts`` ({alerts, since, unreadable_lines,
    left_out, errors}); register: the validated acknowledgement register; today: a date.
    """
    if not isinstance(observed, dict):
        return finding(CONTROL, "error", observed="the host did not report its alerts", expected="the alert log read")
    acks = {a["alert"]: a for a in register or []}
    rows = sorted(
        (_row(a, acks.get(a["id"]), today, max_days) for a in observed.get("alerts") or []),
        key=lambda r: (r["dataset"], r["raised"], r["id"]),
    )
    listed = {r["id"] for r in rows}
    evidence = {
        "since": observed.get("since"),
        "today": today.isoformat(),
        "ack_max_days": max_days,
        "alerts": rows,
        "unreadable_lines": observed.get("unreadable_lines", 0),
        "left_out": observed.get("left_out", 0),
        "acknowledgements_without_alert": sorted(set(acks) - listed),
    }
    expected = "every alert acknowledged (%s) within %d days of being raised" % (VAR, max_days)
    if observed.get("errors"):
        return finding(CONTROL, "error", observed={"errors": observed["errors"]}, expected=expected, evidence=evidence)
    if not rows:
        return finding(
            CONTROL, "not_applicable", observed="no alerts since %s" % observed.get("since"), evidence=evidence
        )
    overdue = [r["id"] for r in rows if r["status"] == "overdue"]
    seen = {
        "alerts": len(rows),
        "acknowledged": sum(1 for r in rows if r["status"] == "acknowledged"),
        "unacknowledged": sum(1 for r in rows if r["status"] != "acknowledged"),
        "overdue": overdue,
    }
    return finding(CONTROL, "fail" if overdue else "pass", observed=seen, expected=expected, evidence=evidence)
