# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What changed since the previous audit of the same scope, and the per-clause trend.

Controller only. The runs are the report directories kept under ``report_dir``
(``<UTC timestamp>[-n]/report.json``). A run is compared only with runs of the same scope:
same inventory sources, same ``--limit``, same ``--tags`` and ``--skip-tags`` — a run of one
clause or of a few hosts would otherwise show everything else as "gone" or "fixed".
A previous run whose bundle no longer matches its SHA256SUMS is not used (and the report says so).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

from ansible_collections.pii_guard.safeguards.plugins.module_utils.common.findings import STATUSES
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import bundle

RUN_DIR = re.compile(r"[0-9]{8}T[0-9]{6}Z(-[0-9]+)?")
FAILING = ("fail", "error")
ORGANISATION = "(organisation)"
TREND_RUNS = 10
SCAN_MAX = 200


def scope(run):
    """The comparable part of a run: inventory, limit, tags, skip tags."""
    return {
        "inventory_sources": sorted(str(s) for s in run.get("inventory_sources") or []),
        "limit": run.get("limit") or None,
        "tags": sorted(str(t) for t in run.get("tags") or ["all"]),
        "skip_tags": sorted(str(t) for t in run.get("skip_tags") or []),
    }


def _run_key(name):
    """Order of run directory names: timestamp, then the -n of runs in the same second."""
    stamp, _sep, n = name.partition("-")
    return stamp, int(n or 1)


def previous_runs(report_root, run, exclude=None):
    """``(runs, skipped)``: earlier reports of the same scope, newest first, as ``(dir, doc)``;
    skipped lists ``{"report_dir", "reason"}`` for same-scope runs that cannot be trusted."""
    want = scope(run)
    runs, skipped = [], []
    try:
        names = [n for n in os.listdir(report_root) if RUN_DIR.fullmatch(n)]
    except OSError:
        return runs, skipped
    for name in sorted(names, key=_run_key, reverse=True)[:SCAN_MAX]:
        path = os.path.join(report_root, name)
        if exclude and os.path.abspath(path) == os.path.abspath(exclude):
            continue
        if os.path.islink(path) or not os.path.isdir(path):
            continue
        try:
            with open(os.path.join(path, "report.json"), encoding="utf-8") as fh:
                doc = json.load(fh)
            if scope(doc["run"]) != want:
                continue
            # Shape check: what compare() and trend() read, so an odd old file cannot break this run.
            _states(doc)
            for c in doc["summary"]["clauses"]:
                dict((st, int(c["counts"].get(st, 0))) for st in STATUSES)
            str(doc["run"].get("started_at"))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a report of this collection, or half written; nothing to compare
        if os.path.exists(os.path.join(path, bundle.SUMS)):
            problems = bundle.verify(path)
            if problems:
                skipped.append({"report_dir": path, "reason": "bundle does not verify: " + "; ".join(problems[:3])})
                continue
        runs.append((path, doc))
        if len(runs) >= TREND_RUNS - 1:
            break  # enough for the comparison and the trend; older runs are not read
    return runs, skipped


def _states(doc):
    """``{(host, control id): status}`` of a report, organisation findings under ORGANISATION."""
    out = {}
    for h in doc["hosts"]:
        for f in h["findings"]:
            out[(h["name"], f["id"])] = f["status"]
    for f in doc.get("organisation", {}).get("findings") or []:
        out[(ORGANISATION, f["id"])] = f["status"]
    return out


def _entries(keys, now, before):
    return [
        {"host": h, "id": i, "status": now.get((h, i)), "previous_status": before.get((h, i))} for h, i in sorted(keys)
    ]


def compare(doc, prev_dir, prev):
    """What changed from ``prev`` (a report document) to ``doc``.

    new_failures: failing now, not failing (or absent) before; fixed: failing before, present and
    not failing now; still_failing: failing in both; hosts_added / hosts_gone: audited hosts.
    A finding that disappeared with its host is not "fixed": the host is listed as gone."""
    now, before = _states(doc), _states(prev)
    fail_now = set(k for k, s in now.items() if s in FAILING)
    fail_before = set(k for k, s in before.items() if s in FAILING)
    hosts_now = set(h["name"] for h in doc["hosts"])
    hosts_before = set(h["name"] for h in prev["hosts"])
    return {
        "previous": {
            "report_dir": prev_dir,
            "started_at": prev["run"].get("started_at"),
            "result": prev["summary"].get("result"),
        },
        "new_failures": _entries(fail_now - fail_before, now, before),
        "fixed": _entries(set(k for k in fail_before - fail_now if k in now), now, before),
        "still_failing": _entries(fail_now & fail_before, now, before),
        "hosts_added": sorted(hosts_now - hosts_before),
        "hosts_gone": sorted(hosts_before - hosts_now),
    }


def trend(doc, previous, runs=TREND_RUNS):
    """Per clause, the counts of the last ``runs`` runs of this scope, oldest first, this run last."""
    docs = [d for _path, d in reversed(previous[: runs - 1])] + [doc]
    # This run's clauses in its order, then clauses only earlier runs had.
    order = []
    for d in [doc, *docs]:
        for c in d["summary"]["clauses"]:
            if c["clause"] not in order:
                order.append(c["clause"])
    points = []
    for d in docs:
        by = dict((c["clause"], c["counts"]) for c in d["summary"]["clauses"])
        points.append((d["run"].get("started_at"), by))
    return {
        "runs": [p[0] for p in points],
        "clauses": [
            {
                "clause": cl,
                "counts": [dict((s, int((by.get(cl) or {}).get(s, 0))) for s in STATUSES) for _when, by in points],
            }
            for cl in order
        ],
    }


def history(report_root, doc, exclude=None):
    """``(changes, trend)`` for ``doc`` against the runs kept under ``report_root``."""
    previous, skipped = previous_runs(report_root, doc["run"], exclude=exclude)
    changes = {"scope": scope(doc["run"]), "previous": None, "skipped_runs": skipped}
    if previous:
        changes.update(compare(doc, *previous[0]))
    return changes, trend(doc, previous)
