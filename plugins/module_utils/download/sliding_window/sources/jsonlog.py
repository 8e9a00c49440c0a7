# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""JSON-lines application logs -> (user, count, time) by JMESPath expressions."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import time

from ..config import jmespath_module


def parse_time(value):
    """Epoch seconds from a number or an ISO 8601 string; None when unusable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        v = value.strip()
        if v.endswith("Z"):
            v = v[:-1] + "+00:00"
        try:
            dt = datetime.datetime.fromisoformat(v)
        except ValueError:
            return None
        if dt.tzinfo is None:
            return time.mktime(dt.timetuple()) + dt.microsecond / 1e6
        return dt.timestamp()
    return None


class UnusableRecord(ValueError):
    """A log record that cannot be used; ``reason`` is the counter it goes to."""

    def __init__(self, reason, msg):
        ValueError.__init__(self, msg)
        self.reason = reason


class JsonlogDataset(object):
    """One JSON-lines data set: JMESPath expressions select user, count, time and (optionally)
    which lines belong to the data set. ``feed(line)`` returns ``(user, count, time_or_None)``,
    None for lines of other data sets, and raises ValueError for malformed lines."""

    def __init__(self, ds):
        jmespath = jmespath_module()
        if jmespath is None:
            raise ValueError("jsonlog data sets need python3-jmespath")
        self.name = ds["name"]
        self.user = jmespath.compile(ds["user"])
        self.count_expr = jmespath.compile(ds["count"])
        self.time = jmespath.compile(ds["time"]) if ds.get("time") else None
        self.filter = jmespath.compile(ds["filter"]) if ds.get("filter") else None

    def feed(self, line):
        try:
            doc = json.loads(line)
        except ValueError:
            raise UnusableRecord("not_json", "not JSON")
        if not isinstance(doc, dict):
            raise UnusableRecord("not_an_object", "not a JSON object")
        if self.filter is not None and not self.filter.search(doc):
            return None
        user = self.user.search(doc)
        n = self.count_expr.search(doc)
        if user is None or user == "":
            raise UnusableRecord("no_user", "user expression selected nothing")
        if isinstance(n, bool) or not isinstance(n, (int, float)) or n < 0:
            raise UnusableRecord("bad_count", "count expression did not select a non-negative number: %r" % (n,))
        t = parse_time(self.time.search(doc)) if self.time is not None else None
        return str(user), int(n), t
