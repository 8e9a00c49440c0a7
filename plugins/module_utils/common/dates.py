# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Calendar dates as the registers (USB devices, system room, contractors) write them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime


def iso_date(value):
    """A datetime.date from a date (YAML parses bare dates), a datetime or 'YYYY-MM-DD'; None otherwise.

    Callers raise their own error, naming the register entry and field.
    """
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.datetime.strptime(value.strip(), "%Y-%m-%d").date()
        except ValueError:
            return None
    return None
