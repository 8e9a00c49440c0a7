# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side access to the control catalog ``meta/controls.yml``.

Only the controller reads the catalog (reports, docs, tag checks); modules on managed hosts
label findings by control id alone (see findings.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.pii_guard.safeguards.plugins.module_utils.common.findings import clause_of, clause_sort_key

REQUIRED = ("id", "clause", "title_ja", "title_en", "platforms", "severity", "check", "remediation", "references")
PLATFORMS = ("linux", "windows", "controller")
SEVERITIES = ("high", "medium", "low")


def default_path():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "meta", "controls.yml"))


def load(path=None):
    """Load and validate the catalog; returns the parsed document."""
    import yaml  # controller only; PyYAML ships with ansible-core

    with open(path or default_path(), "rb") as fh:
        doc = yaml.safe_load(fh)
    errors = check(doc)
    if errors:
        raise ValueError("control catalog is invalid:\n  " + "\n  ".join(errors))
    return doc


def check(doc):
    """Return a list of problems with the catalog document (empty when valid)."""
    errors = []
    clauses = doc.get("clauses") or {}
    seen = set()
    for i, c in enumerate(doc.get("controls") or []):
        where = "controls[%d] (%s)" % (i, c.get("id"))
        for k in REQUIRED:
            if not c.get(k):
                errors.append("%s lacks %s" % (where, k))
        cid = c.get("id")
        if cid in seen:
            errors.append("%s: duplicate id" % where)
        seen.add(cid)
        try:
            if clause_of(cid) != c.get("clause"):
                errors.append("%s: id prefix does not match clause %r" % (where, c.get("clause")))
        except ValueError as e:
            errors.append("%s: %s" % (where, e))
        if c.get("clause") not in clauses:
            errors.append("%s: clause %r is not in the guideline's clauses" % (where, c.get("clause")))
        for p in c.get("platforms") or []:
            if p not in PLATFORMS:
                errors.append("%s: unknown platform %r" % (where, p))
        if c.get("severity") not in SEVERITIES:
            errors.append("%s: unknown severity %r" % (where, c.get("severity")))
    return errors


def by_id(doc):
    return dict((c["id"], c) for c in doc["controls"])


def in_clause_order(controls):
    """Controls sorted by clause as the guideline numbers them (6-5 before 6-17), stable within one."""
    return sorted(controls, key=lambda c: clause_sort_key(c["clause"]))
