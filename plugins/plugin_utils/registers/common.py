# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the inventory registers (7-1 system room, 8-x contractors) share: the error for a
malformed entry and the coercion of dates and day counts, each naming where the value sits.

Two kinds of problems are kept apart:
- malformed input (a date that is not a date, an unknown contractor, a wrong type) -> an error
  message naming the variable and the value (``RegisterError`` / the ``errors`` list); roles
  fail on it before any change, the audit reports it as an ``error`` finding;
- a well-formed register that shows non-compliance (inspection too old, subcontractor approved
  after it started) -> a ``fail`` finding with the reason in ``observed``.

Pure Python, no Ansible imports; runs on the controller only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.pii_guard.safeguards.plugins.module_utils.common.dates import iso_date


class RegisterError(ValueError):
    """A register entry that is malformed."""


def parse_date(value, where):
    """A calendar date from 'YYYY-MM-DD' (or a date object); RegisterError naming ``where``."""
    parsed = iso_date(value)
    if parsed is not None:
        return parsed
    raise RegisterError("%s: %r is not a date of the form YYYY-MM-DD" % (where, value))


def past_date(value, where, today):
    """parse_date, refusing a date after ``today`` (a register records what happened)."""
    d = parse_date(value, where)
    if d > today:
        raise RegisterError("%s: %s is in the future (today is %s)" % (where, d.isoformat(), today.isoformat()))
    return d


def positive_int(value, where):
    """A positive number of days; RegisterError naming ``where`` otherwise."""
    # -e var=31 arrives as a string: coerce digits the way argument specs do.
    if isinstance(value, str) and re.fullmatch(r"[0-9]+", value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise RegisterError("%s must be a positive whole number of days, got %r" % (where, value))
    return value
