# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one shape of a finding, shared by every module, role and report writer.

A finding is ``{id, clause, status, observed, expected, evidence}``. The clause is the part
of the control id before the first dot (``6-17.usbguard_rules`` -> ``6-17``), so code on a
managed host needs no copy of the catalog to label its findings correctly.

Pure Python, no Ansible imports: runs on managed hosts and on the controller alike.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

STATUSES = ("pass", "fail", "fixed", "not_applicable", "error")
# Statuses that mean "the host is compliant now" (after this run).
OK_STATUSES = ("pass", "fixed", "not_applicable")
KEYS = ("id", "clause", "status", "observed", "expected", "evidence")

_ID_RE = re.compile(r"^(?P<clause>[0-9]+-[0-9]+)\.[a-z0-9_]+\Z")


class FindingError(ValueError):
    """A finding that does not have the agreed shape."""


def clause_of(control_id):
    """Return the clause of a control id, e.g. '6-17' for '6-17.usbguard_rules'."""
    m = _ID_RE.match(str(control_id))
    if not m:
        raise FindingError(
            "control id %r is not of the form '<clause>.<name>' (e.g. '6-17.usbguard_rules')" % (control_id,)
        )
    return m.group("clause")


def finding(control_id, status, observed=None, expected=None, evidence=None):
    """Build one finding, validating id and status."""
    if status not in STATUSES:
        raise FindingError("status %r of %s is not one of %s" % (status, control_id, ", ".join(STATUSES)))
    return {
        "id": control_id,
        "clause": clause_of(control_id),
        "status": status,
        "observed": observed,
        "expected": expected,
        "evidence": evidence if evidence is not None else {},
    }


def compliance(control_id, compliant, changed, check_mode, observed=None, expected=None, evidence=None):
    """The usual mapping from a module's diff to a status.

    Already compliant -> pass. Not compliant and fixed by this run -> fixed. Not compliant and
    not fixed (check mode, audit-only) -> fail.
    """
    if compliant and not changed:
        status = "pass"
    elif changed and not check_mode:
        status = "fixed"
    else:
        status = "fail"
    return finding(control_id, status, observed=observed, expected=expected, evidence=evidence)


def validate(item):
    """Raise FindingError unless ``item`` is a finding of the agreed shape."""
    if not isinstance(item, dict):
        raise FindingError("finding must be a dict, got %r" % (item,))
    missing = [k for k in KEYS if k not in item]
    if missing:
        raise FindingError("finding %r lacks %s" % (item.get("id"), ", ".join(missing)))
    if item["status"] not in STATUSES:
        raise FindingError("finding %s has status %r" % (item["id"], item["status"]))
    if clause_of(item["id"]) != item["clause"]:
        raise FindingError("finding %s says clause %r" % (item["id"], item["clause"]))
    return item


def clause_sort_key(clause):
    """Sort key of a clause ("6-17" after "6-6"); the one clause order of the catalog, report and README.

    A clause that is not numbers joined by "-" sorts last instead of raising."""
    try:
        return tuple(int(p) for p in str(clause).split("-"))
    except ValueError:
        return (9999,)
