# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Calendar dates as the registers (USB devices, system room, contractors) write them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime


def iso_date(value, strict=False):
    """A datetime.date from a date (YAML parses bare dates), a datetime or 'YYYY-MM-DD'; None otherwise.

    ``strict`` (module options such as ``today``): only a date or the string itself, no datetime
    and no surrounding whitespace. Callers raise their own error, naming the register entry and field.
    """
    if isinstance(value, datetime.datetime):
        return None if strict else value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.datetime.strptime(value if strict else value.strip(), "%Y-%m-%d").date()
        except ValueError:
            return None
    return None
