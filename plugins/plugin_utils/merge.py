# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One report from the slices of one run (AWX job slicing: N slices, N report directories).

Controller only. ``load`` reads and verifies each slice's bundle; ``merge`` checks the slices
belong together (same run id when set, same tags, skip tags and limit, same organisation-level
findings, no host in two slices) and returns the inputs of ``report.build`` for the whole run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os

from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import bundle

ISO = "%Y-%m-%dT%H:%M:%SZ"
_STATE = {
    "complete": "complete",
    "incomplete": "incomplete",
    "unreachable": "unreachable",
    "not_audited": "not_audited",
}


class MergeError(Exception):
    """Slices that cannot be merged; the message names the slice directories and what differs."""


def load(directory):
    """``(report doc, manifest or None)`` of a slice whose bundle verifies (digests, no extra files)."""
    if not os.path.isdir(directory):
        raise MergeError("%s is not a report directory" % directory)
    problems = bundle.verify(directory)
    if problems:
        raise MergeError("slice %s does not verify: %s" % (directory, "; ".join(problems)))
    try:
        with open(os.path.join(directory, "report.json"), encoding="utf-8") as fh:
            doc = json.load(fh)
        manifest = None
        if os.path.exists(os.path.join(directory, bundle.MANIFEST)):
            with open(os.path.join(directory, bundle.MANIFEST), encoding="utf-8") as fh:
                manifest = json.load(fh)
    except (OSError, ValueError) as e:
        raise MergeError("slice %s: cannot read its report: %s" % (directory, e))
    if not isinstance(doc, dict) or not isinstance(doc.get("run"), dict) or not isinstance(doc.get("hosts"), list):
        raise MergeError("slice %s: report.json is not an audit report" % directory)
    return doc, manifest


def _same(slices, what, get):
    values = [(d, get(doc)) for d, doc in slices]
    first = values[0][1]
    for d, v in values[1:]:
        if v != first:
            raise MergeError(
                "slices differ in %s: %s has %r, %s has %r (not slices of one run)" % (what, values[0][0], first, d, v)
            )
    return first


def _org_key(findings):
    return sorted(json.dumps(f, sort_keys=True) for f in findings)


def _merge_hosts(slices):
    """Every slice's hosts, findings, states and errors; a host in two slices is refused."""
    owner, hosts, state, errors = {}, {}, {}, {}
    for d, doc in slices:
        for h in doc["hosts"]:
            name = h["name"]
            if name in owner:
                raise MergeError("host %s is in two slices: %s and %s" % (name, owner[name], d))
            owner[name] = d
            hosts[name] = [_strip(f) for f in h.get("findings") or []]
            state[name] = _STATE.get(h.get("state"), "not_audited")
            errors[name] = list(h.get("errors") or [])
    return hosts, state, errors


def merge(slices):
    """``slices``: ``[(directory, report doc), ...]`` (two or more).

    Returns ``(hosts, organisation, host_state, host_errors, run)`` for ``report.build``:
    hosts ``{name: [finding, ...]}`` with the catalog labels stripped (build adds them again)."""
    if len(slices) < 2:
        raise MergeError("merging needs two or more slice directories, got %d" % len(slices))
    _same(slices, "run id", lambda doc: doc["run"].get("run_id"))
    _same(slices, "tags", lambda doc: sorted(doc["run"].get("tags") or []))
    _same(slices, "skip tags", lambda doc: sorted(doc["run"].get("skip_tags") or []))
    _same(slices, "limit", lambda doc: doc["run"].get("limit"))
    _same(slices, "collection version", lambda doc: doc["run"].get("collection_version"))
    # Every slice runs the controller play: the contractor register gives each the same findings.
    org = _same(
        slices,
        "organisation-level findings",
        lambda doc: _org_key(doc.get("organisation", {}).get("findings") or []),
    )
    hosts, state, errors = _merge_hosts(slices)
    _check_unresolved(slices, set(hosts))
    runs = [doc["run"] for _path, doc in slices]
    started = min(str(r["started_at"]) for r in runs)
    finished = max(str(r.get("finished_at") or r["started_at"]) for r in runs)
    try:
        a = datetime.datetime.strptime(started, ISO)
        b = datetime.datetime.strptime(finished, ISO)
    except ValueError as e:
        raise MergeError("a slice has a start or end time that is not UTC ISO 8601: %s" % e)
    first = runs[0]
    run = {
        "started_at": started,
        "finished_at": finished,
        "duration_seconds": round(max(0.0, (b - a).total_seconds()), 1),
        "inventory_sources": sorted(set(str(s) for r in runs for s in r.get("inventory_sources") or [])),
        "limit": first.get("limit"),
        "tags": list(first.get("tags") or []),
        "skip_tags": list(first.get("skip_tags") or []),
        "ansible_version": first.get("ansible_version"),
        "collection_version": first.get("collection_version"),
        "check_mode": all(bool(r.get("check_mode")) for r in runs),
        "run_id": first.get("run_id"),
        "slices": [
            {
                "report_dir": d,
                "started_at": doc["run"].get("started_at"),
                "finished_at": doc["run"].get("finished_at"),
                "controller": doc["run"].get("controller"),
                "hosts": len(doc["hosts"]),
                "sha256sums": bundle.sha256_file(os.path.join(d, bundle.SUMS)),
            }
            for d, doc in slices
        ],
    }
    organisation = [_strip(json.loads(f)) for f in org]
    return hosts, organisation, state, errors, run


def _check_unresolved(slices, hosts):
    """A contractor's ``operates`` name that no slice's inventory holds is a register mistake.

    Each slice of a sliced job lists the names its own inventory does not hold
    (``organisation.unresolved_operates``); a name that every slice lists, and that is no
    slice's host, names nothing in the whole inventory.
    """
    lists = [set(doc.get("organisation", {}).get("unresolved_operates") or []) for _d, doc in slices]
    nowhere = set.intersection(*lists) - hosts
    if nowhere:
        raise MergeError(
            "the contractor register (outsourcing_contractors) names %s in operates, which is neither a host"
            " nor a group of any slice's inventory" % ", ".join(repr(n) for n in sorted(nowhere))
        )


def _strip(f):
    """A finding as the roles produce it (report.build labels it from the catalog again)."""
    return dict((k, f.get(k)) for k in ("id", "clause", "status", "observed", "expected", "evidence"))
