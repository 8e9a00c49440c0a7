# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sliding windows per (data set, user): counts, thresholds, re-arming, one memory budget."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections

from .config import DEFAULTS, _nonneg_int


class _SlidingWindow(object):
    __slots__ = ("armed", "items", "last", "total")

    def __init__(self, distinct):
        # distinct: OrderedDict item -> time, oldest first; sums: deque of [time, n]
        self.items = collections.OrderedDict() if distinct else collections.deque()
        self.total = 0
        self.armed = True
        self.last = 0.0


class SlidingWindows(object):
    """Sliding windows for every (data set, user) key, with memory caps.

    ``datasets`` maps a data set name to a dict with ``threshold``, ``window`` and ``source``.
    Distinct (audit) windows keep only the ``threshold`` newest items: that is enough to decide
    ``count >= threshold`` exactly, and bounds memory per key. Sum windows merge their two
    oldest entries past ``max_entries_per_key`` (counts stay, expiry gets later: errs towards
    alerting). Past ``max_keys`` keys, or ``max_entries`` entries over all keys (one global
    budget), the least recently active keys are dropped and counted in ``evicted_keys``.
    ``sweep()`` drops windows that have emptied (all entries past their window).
    """

    def __init__(self, datasets, max_keys=100000, max_entries_per_key=65536, max_entries=DEFAULTS["max_entries"]):
        self.datasets = datasets
        self.max_keys = max_keys
        self.max_entries_per_key = min(max_entries_per_key, max_entries)
        self.max_entries = max_entries
        self.keys = collections.OrderedDict()
        self.entries = 0  # entries held over all keys (the global budget)
        self.evicted_keys = 0
        self.merged_entries = 0
        self.clock = {}  # data set -> latest event time seen (the sweep's notion of now)

    def _evict(self, keep):
        keys = self.keys
        while keys and (len(keys) > self.max_keys or self.entries > self.max_entries):
            key = next(iter(keys))
            if key == keep:
                if len(keys) == 1:
                    return
                keys.move_to_end(key)
                continue
            w = keys.pop(key)
            self.entries -= len(w.items)
            self.evicted_keys += 1

    def add(self, dataset, user, t, n=1, item=None):
        """Count one event; return an alert dict on a threshold crossing, else None."""
        ds = self.datasets[dataset]
        distinct = item is not None
        if not distinct and n <= 0:
            return None
        key = (dataset, user)
        keys = self.keys
        w = keys.get(key)
        if w is None:
            w = keys[key] = _SlidingWindow(distinct)
        else:
            keys.move_to_end(key)
        if t < w.last:  # slightly out-of-order events count at the latest time seen
            t = w.last
        w.last = t
        if t > self.clock.get(dataset, 0.0):
            self.clock[dataset] = t
        horizon = t - ds["window"]
        threshold = ds["threshold"]
        items = w.items
        before = len(items)
        if distinct:  # distinct files in the window; inline, not a call: this runs once per file read
            while items:
                if next(iter(items.values())) > horizon:
                    break
                items.popitem(last=False)
            if len(items) < threshold:
                w.armed = True
            if item in items:
                items.move_to_end(item)
            items[item] = t
            if len(items) > threshold:
                items.popitem(last=False)
            count, first_t = len(items), next(iter(items.values()))
        else:
            count, first_t = self._count_total(w, t, n, horizon, threshold)
        self.entries += len(items) - before
        if len(keys) > self.max_keys or self.entries > self.max_entries:
            self._evict(key)
        if w.armed and count >= threshold:
            w.armed = False
            return {
                "dataset": dataset,
                "user": user,
                "count": count,
                "threshold": threshold,
                "window": ds["window"],
                "first_event": first_t,
                "last_event": t,
                "source": ds.get("source"),
            }
        return None

    def _count_total(self, w, t, n, horizon, threshold):
        """Add ``n`` events at ``t`` to a counting window: ``(count in the window, time of its first entry)``."""
        items = w.items
        while items and items[0][0] <= horizon:
            w.total -= items.popleft()[1]
        if w.total < threshold:
            w.armed = True
        items.append([t, n])
        w.total += n
        if len(items) > self.max_entries_per_key:
            oldest = items.popleft()
            items[0][1] += oldest[1]
            self.merged_entries += 1
        return w.total, items[0][0]

    def sweep(self):
        """Drop windows whose entries have all left the window (a fresh window is the same:
        empty and armed). Returns how many were dropped."""
        dropped = []
        for key, w in self.keys.items():
            ds = self.datasets[key[0]]
            if w.last <= self.clock.get(key[0], 0.0) - ds["window"]:
                dropped.append(key)
        for key in dropped:
            self.entries -= len(self.keys.pop(key).items)
        return len(dropped)

    def dump(self):
        """JSON-able state (see load)."""
        out = []
        for (dataset, user), w in self.keys.items():
            if isinstance(w.items, collections.OrderedDict):
                entries = [[k, v] for k, v in w.items.items()]
                kind = "distinct"
            else:
                entries = [list(e) for e in w.items]
                kind = "sum"
            out.append([dataset, user, kind, w.armed, w.last, entries])
        return out

    def load(self, dumped, clock=None):
        """Restore keys from dump() (and the clock, the latest event time per data set);
        keys of data sets no longer configured are dropped. Raises ValueError on anything
        malformed, changing nothing."""
        keys = collections.OrderedDict()
        entries = 0
        if clock is None:
            clock = {}
        if not isinstance(clock, dict) or not all(isinstance(v, (int, float)) for v in clock.values()):
            raise ValueError("bad window clock")
        clock = {k: float(v) for k, v in clock.items() if k in self.datasets}
        if not isinstance(dumped, list):
            raise ValueError("windows must be a list")
        for rec in dumped:
            if not (isinstance(rec, list) and len(rec) == 6):
                raise ValueError("bad window %r" % (rec,))
            dataset, user, kind, armed, last, items = rec
            if not (
                isinstance(dataset, str)
                and isinstance(user, str)
                and kind in ("distinct", "sum")
                and isinstance(armed, bool)
                and isinstance(last, (int, float))
                and isinstance(items, list)
            ):
                raise ValueError("bad window %r" % (rec[:5],))
            w = _SlidingWindow(kind == "distinct")
            w.armed, w.last = armed, float(last)
            for e in items:
                if not (isinstance(e, list) and len(e) == 2):
                    raise ValueError("bad window entry %r" % (e,))
                if kind == "distinct":
                    if not (isinstance(e[0], str) and isinstance(e[1], (int, float))):
                        raise ValueError("bad window entry %r" % (e,))
                    w.items[e[0]] = float(e[1])
                else:
                    if not (isinstance(e[0], (int, float)) and _nonneg_int(e[1])):
                        raise ValueError("bad window entry %r" % (e,))
                    w.items.append([float(e[0]), e[1]])
                    w.total += e[1]
            ds = self.datasets.get(dataset)
            if ds is None or (kind == "distinct") != (ds.get("source") == "audit"):
                continue
            keys[(dataset, user)] = w
            entries += len(w.items)
            clock[dataset] = max(clock.get(dataset, 0.0), w.last)
        self.keys, self.entries, self.clock = keys, entries, clock
        self._evict(None)
