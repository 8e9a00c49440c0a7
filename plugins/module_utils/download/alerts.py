# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Clause 6-5, the alerts the agent raised (issue 15, point 11): read on the host from the agent's
own alert log (JSON lines, ``alert_log`` and its one rotated predecessor ``<alert_log>.1``).

Why the alert log and not the journal: it is the agent's record made for collection, written for
every alert whatever the channels; it is bounded (rotated by the agent past alert_log_max_bytes);
the audit reads it with the file permissions it already has, in check mode, without journalctl
and without depending on the journal's own retention. Each alert carries a stable id
(sliding_window.config.alert_id); lines of older agents without one get the same id here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json

from ansible_collections.pii_guard.safeguards.plugins.module_utils.download.sliding_window import config as swc

MAX_ALERTS = 500
INT_FIELDS = ("count", "threshold", "window")
STR_FIELDS = ("dataset", "user", "raised", "first_event", "last_event")


def _day(iso_text):
    return datetime.date.fromisoformat(str(iso_text)[:10])


def parse_line(line, default_host):
    """One alert log line as the audit reports it, or None when it is not an alert."""
    try:
        a = json.loads(line)
    except ValueError:
        return None
    if not isinstance(a, dict):
        return None
    if not all(isinstance(a.get(k), str) for k in STR_FIELDS):
        return None
    if not all(isinstance(a.get(k), int) and not isinstance(a.get(k), bool) for k in INT_FIELDS):
        return None
    try:
        _day(a["raised"])
    except ValueError:
        return None
    host = a.get("host") if isinstance(a.get("host"), str) else default_host
    out = {k: a[k] for k in STR_FIELDS + INT_FIELDS}
    out["host"] = host
    given = a.get("id")
    out["id"] = given if isinstance(given, str) and swc.ALERT_ID_RE.fullmatch(given) else None
    if out["id"] is None:
        out["id"] = swc.alert_id(host, a["dataset"], a["user"], a["last_event"])
    return out


def select(lines, since, default_host, limit=MAX_ALERTS):
    """``(alerts raised on or after the date since, newest last; lines that were not alerts;
    alerts left out past limit)`` from alert log lines (oldest first)."""
    alerts, bad = [], 0
    seen = set()
    for line in lines:
        if not line.strip():
            continue
        a = parse_line(line, default_host)
        if a is None:
            bad += 1
            continue
        if _day(a["raised"]) < since or a["id"] in seen:
            continue
        seen.add(a["id"])
        alerts.append(a)
    left_out = max(0, len(alerts) - limit)
    return alerts[left_out:], bad, left_out


def read(alert_log, since, default_host, limit=MAX_ALERTS):
    """The alerts of the audit period from the alert log and its rotated predecessor."""
    lines = []
    errors = []
    for path in (alert_log + ".1", alert_log):
        try:
            with open(path, "rb") as fh:
                lines.extend(raw.decode("utf-8", "replace") for raw in fh)
        except FileNotFoundError:
            continue
        except OSError as e:
            errors.append("%s: %s" % (path, e))
    alerts, bad, left_out = select(lines, since, default_host, limit)
    return {
        "alerts": alerts,
        "unreadable_lines": bad,
        "left_out": left_out,
        "since": since.isoformat(),
        "errors": errors,
    }
