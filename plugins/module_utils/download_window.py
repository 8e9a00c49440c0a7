# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure logic of the bulk-download alert agent (clause 6-5): sliding windows, source parsers,
config validation.

The same file is deployed next to the agent on endpoints (roles/download_alert), where it runs
on Debian 12's python3 with the standard library only, plus python3-jmespath for ``jsonlog``
data sets. Nothing here does I/O beyond what a caller passes in.

Alert semantics (per data set and user):
  * the count at time t is the number of records in the window (t - window, t]; for the
    ``audit`` source a record is a distinct file (dev:inode), for ``pgaudit`` and ``jsonlog``
    it is the row / record count the log line carries;
  * when the count reaches the threshold ("at least a certain number", 一定数以上) one alert
    is raised and the key is disarmed;
  * it is re-armed only once the window has drained below the threshold again, so a bulk
    export raises one alert, not one per event.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import collections
import csv
import datetime
import json
import os
import re
import time

try:
    import jmespath

    HAS_JMESPATH = True
except ImportError:  # only jsonlog data sets need it; --check-config says so
    jmespath = None
    HAS_JMESPATH = False

SOURCES = ("audit", "pgaudit", "jsonlog")
# Stable journal MESSAGE_ID of an alert (32 lowercase hex digits, as journald wants).
MESSAGE_ID = "6d8a0f3c2b5e4c1d9a7f0e6b3c2d1a05"
AUID_UNSET = 4294967295
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
MAX_THRESHOLD = 10000000
DEFAULTS = {
    "audit_log": "/var/log/audit/audit.log",
    "state_file": "/var/lib/pii-download-alert/state.json",
    "alert_log": "/var/log/pii-download-alert/alerts.jsonl",
    "checkpoint_interval": 5,
    "max_keys": 100000,
    "max_entries_per_key": 65536,
    # One budget for the entries of all windows (~200 bytes each): keeps the agent well under
    # its unit's MemoryMax=512M whatever max_keys x threshold allows.
    "max_entries": 1000000,
    # Longest log line read; longer lines are counted (line_too_long) and skipped.
    "max_line": 1 << 20,
    # Seconds an audit event may wait, with the input idle, for records that have not come.
    "group_wait": 1,
    "malformed_warning_interval": 60,
    "min_auid": 1000,
    "channels": {"journal": True, "session": True, "webhook": None},
}


def audit_key(dataset):
    """The audit rule key (-k) of an audit data set: configured, or derived from its name."""
    return dataset.get("key") or "pii_dl_" + dataset["name"].replace("-", "_")


# ---------------------------------------------------------------------------- sliding windows
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
        if distinct:
            while items:
                first = next(iter(items.values()))
                if first > horizon:
                    break
                items.popitem(last=False)
            if len(items) < threshold:
                w.armed = True
            if item in items:
                items.move_to_end(item)
            items[item] = t
            if len(items) > threshold:
                items.popitem(last=False)
            count = len(items)
            first_t = next(iter(items.values()))
        else:
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
            count = w.total
            first_t = items[0][0]
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


# ---------------------------------------------------------------------------- audit
_SYSCALL_HEAD_RE = re.compile(rb"type=SYSCALL msg=audit\(([0-9]+\.[0-9]+):([0-9]+)\): ")
# Fast path: the layout the kernel writes today (audit_log_exit), the optional per= included.
# A record it does not match is read field by field (_field), whatever the order.
_SYSCALL_FAST_RE = re.compile(
    rb"type=SYSCALL msg=audit\(([0-9]+\.[0-9]+):([0-9]+)\): arch=[0-9a-f]+ syscall=[0-9]+ (?:per=[0-9a-f]+ )?"
    rb"success=([a-z]+) exit=-?[0-9]+ (?:a[0-3]=[0-9a-f]+ )*items=([0-9]+) ppid=[0-9]+ pid=[0-9]+ auid=([0-9]+) "
)
_PATH_FAST_RE = re.compile(
    rb" inode=([0-9]+) dev=([0-9a-f]+:[0-9a-f]+) mode=([0-7]+) [^\n\x1d]*? nametype=([A-Z]+)[ \n\x1d]"
)
# Records of one event are written together; a group is given up once this many bytes of the
# stream have passed its SYSCALL record (a stream position, so chunking cannot change it).
_GROUP_SPAN = 1 << 16
# Reasons a record the agent needed could not be used (stats, the audit's evidence).
UNUSABLE_REASONS = (
    "not_a_record",  # a line that does not start with type= (truncated write, garbage)
    "syscall_fields",  # a SYSCALL record of a watched key without usable success/items/auid
    "path_fields",  # a PATH record of a watched event without usable inode/dev/mode/nametype
    "incomplete_group",  # an event whose PATH records did not all arrive within the span
    "line_too_long",  # a line over the line cap, skipped (counted by the follower)
)


def _field(raw, name, start=0):
    """Value of the ``name=`` field (name with its leading space) in a record's raw part.

    The kernel writes ``key=value`` fields separated by single spaces; strings that could hold
    a space, a quote or a control character are hex-encoded (audit_log_untrustedstring), so
    a space always ends a value and `` name=`` cannot occur inside one. Fields may come in any
    order and some are optional (``per=``, ``ses=``): nothing is assumed about their order."""
    p = raw.find(name, start)
    if p < 0:
        return None
    p += len(name)
    e = raw.find(b" ", p)
    return raw[p:] if e < 0 else raw[p:e]


def _int(value, base=10):
    try:
        return int(value, base)
    except (TypeError, ValueError):
        return None


class AuditParser(object):
    """Groups auditd records (SYSCALL, CWD, PATH, PROCTITLE, EOE) by their msg serial and
    yields one event per successfully read-opened file of a watched key.

    Works on raw bytes as auditd writes them, in RAW or ENRICHED format (the resolved names
    follow a 0x1d byte). ``feed_chunk`` takes whole lines (a chunk ending at a line end):
    it finds the watched keys with a substring search (memmem speed, so unrelated records
    are skipped before any parsing), reads the fields of those SYSCALL records by name, then
    looks ahead for the group's PATH records by their exact ``msg=audit(stamp:serial)``
    prefix. Events are ``(key, auid, user_or_None, time, file_id)`` where file_id is
    ``"dev:inode"``; directories and failed opens are not counted.

    Exact across restarts: groups still waiting for records are part of ``dump()``, events
    come out in the order of their SYSCALL records whatever the chunking, and a group is
    given up at a fixed stream distance (``_GROUP_SPAN``), so a restart from any checkpoint
    gives the same events as an uninterrupted run.
    """

    MAX_PENDING = 4096

    def __init__(self, keys, min_auid=1000):
        keys = sorted(k.decode() if isinstance(k, bytes) else k for k in keys)
        self.needles = [(k, b' key="' + k.encode() + b'"') for k in keys]
        self.min_auid = min_auid
        # stamp:serial -> [key, auid, user, items, [file ids], paths seen, time, id, deadline, done]
        self.pending = collections.OrderedDict()
        # groups released early (release(): the input went idle): their late PATH records
        # still count, each once, until the group's EOE or span ends
        self.late = collections.OrderedDict()
        self.unusable = dict.fromkeys(UNUSABLE_REASONS, 0)
        self.records = 0
        self.pos = 0  # bytes of the stream fed so far (across rotations)

    @property
    def malformed(self):
        return sum(self.unusable.values())

    def feed(self, line):
        return self.feed_chunk(line if line.endswith(b"\n") else line + b"\n")

    def feed_chunk(self, data):
        base = self.pos
        self.pos += len(data)
        lines = data.count(b"\n")
        self.records += lines
        # every record line starts with "type="; anything else is counted and skipped
        typed = data.count(b"\ntype=") + (1 if data.startswith(b"type=") else 0)
        self.unusable["not_a_record"] += max(lines - typed, 0)
        pending = self.pending
        out = []
        for ident in list(self.late):
            g = self.late[ident]
            end = g[8] - base
            complete = self._collect(g, data, 0, end) or self._eoe(g, data, 0, end)
            out.extend((g[0], g[1], g[2], g[6], fid) for fid in g[4])
            del g[4][:]
            if complete or g[8] <= self.pos:
                if not complete:
                    self.unusable["incomplete_group"] += 1
                del self.late[ident]
        # groups left open by earlier chunks: their records continue here
        for g in pending.values():
            if not g[9]:
                end = g[8] - base
                if self._collect(g, data, 0, end) or self._eoe(g, data, 0, end):
                    g[9] = True
        hits = []
        for key, needle in self.needles:
            pos = data.find(needle)
            while pos >= 0:
                hits.append((pos, key, pos + len(needle)))
                pos = data.find(needle, pos + len(needle))
        if len(self.needles) > 1:
            hits.sort()
        min_auid = self.min_auid
        for pos, key, after in hits:
            # the key closes the raw part of a SYSCALL record: end of line or the 0x1d separator
            sep = data[after : after + 1]
            if sep not in (b"\x1d", b"\n"):
                continue
            start = data.rfind(b"\n", 0, pos) + 1
            if not data.startswith(b"type=SYSCALL ", start):
                continue  # e.g. CONFIG_CHANGE records of rule loads carry the key too
            m = _SYSCALL_FAST_RE.match(data, start)
            if m is not None:
                success, items, auid = m.group(3), int(m.group(4)), int(m.group(5))
            else:
                m = _SYSCALL_HEAD_RE.match(data, start)
                raw = data[start:pos]
                success = _field(raw, b" success=")
                items = _int(_field(raw, b" items="))
                auid = _int(_field(raw, b" auid="))
                if m is None or success is None or items is None or auid is None:
                    self.unusable["syscall_fields"] += 1
                    continue
            if success != b"yes" or auid == AUID_UNSET or auid < min_auid or items <= 0:
                continue
            user = None
            if sep == b"\x1d":
                eol = data.find(b"\n", after)
                q = data.find(b'AUID="', after, eol)
                if q > 0:
                    name = data[q + 6 : data.find(b'"', q + 6, eol)]
                    if name != b"unset":
                        user = name.decode("utf-8", "replace")
            stamp, serial = m.group(1), m.group(2)
            ident = stamp + b":" + serial
            g = [key, auid, user, items, [], 0, float(stamp), ident, base + start + _GROUP_SPAN, False]
            end = g[8] - base
            g[9] = self._collect(g, data, m.end(), end) or self._eoe(g, data, m.end(), end)
            if g[9] and not pending:
                out.extend((g[0], g[1], g[2], g[6], fid) for fid in g[4])
            else:
                pending[ident] = g
        if pending:
            for g in pending.values():
                if not g[9] and g[8] <= self.pos:  # its whole span has been read
                    g[9] = True
                    self.unusable["incomplete_group"] += 1
            over = len(pending) - self.MAX_PENDING
            for g in pending.values():
                if over <= 0:
                    break
                if not g[9]:
                    g[9] = True
                    self.unusable["incomplete_group"] += 1
                    over -= 1
            out.extend(self._drain())
        return out

    def _drain(self):
        """Events of the completed groups at the head of the queue, in SYSCALL order."""
        out = []
        pending = self.pending
        while pending:
            g = next(iter(pending.values()))
            if not g[9]:
                break
            pending.popitem(last=False)
            out.extend((g[0], g[1], g[2], g[6], fid) for fid in g[4])
        return out

    @staticmethod
    def _eoe(g, data, start, end):
        """The group's EOE record (end of event) is in data[start:end]: no more records come."""
        return data.find(b"type=EOE msg=audit(" + g[7] + b")", start, end) >= 0

    def _collect(self, g, data, start, end):
        """Add the group's PATH records found in data[start:end]; True once all have been seen."""
        needle = b"type=PATH msg=audit(" + g[7] + b"): "
        end = min(len(data), end)
        while g[5] < g[3]:
            p = data.find(needle, start, end)
            if p < 0:
                return False
            g[5] += 1
            start = p + len(needle)
            q = data.find(b" inode=", start - 1, start + 4096)
            f = _PATH_FAST_RE.match(data, q) if q >= 0 else None
            if f is not None and data.find(b"\n", start, q) < 0:
                inode, dev, mode, nametype = f.groups()
                if nametype == b"NORMAL" and not mode.startswith(b"040"):
                    g[4].append((dev + b":" + inode).decode("ascii"))
                continue
            eol = data.find(b"\n", p)
            raw = data[p + len(needle) - 1 : eol if eol >= 0 else len(data)].split(b"\x1d", 1)[0]
            nametype = _field(raw, b" nametype=")
            inode = _field(raw, b" inode=")
            if nametype is None:
                self.unusable["path_fields"] += 1
            elif nametype == b"NORMAL" and inode is not None:
                dev, mode = _field(raw, b" dev="), _field(raw, b" mode=")
                if not inode.isdigit() or dev is None or mode is None or _int(mode, 8) is None:
                    self.unusable["path_fields"] += 1
                elif not mode.startswith(b"040"):  # directories (tar, globs) are not reads of records
                    g[4].append((dev + b":" + inode).decode("ascii", "replace"))
        return True

    def release(self):
        """The input is idle: emit the waiting groups now (an alert must not wait for records
        that may never come). Their PATH records arriving later are still counted."""
        for ident, g in self.pending.items():
            if not g[9]:
                g[9] = True
                late = list(g)
                late[4] = []  # its files are emitted now; only late ones collect here
                self.late[ident] = late
        return self._drain()

    def flush(self):
        """Emit every group still waiting (end of a replay); counted as incomplete."""
        for g in self.pending.values():
            if not g[9]:
                g[9] = True
                self.unusable["incomplete_group"] += 1
        return self._drain()

    def dump(self):
        """JSON-able parser state: the stream position, waiting groups, counters."""
        groups = [
            [g[0], g[1], g[2], g[3], list(g[4]), g[5], g[6], g[7].decode("ascii"), g[8], g[9]]
            for g in self.pending.values()
        ]
        late = [[g[0], g[1], g[2], g[3], [], g[5], g[6], g[7].decode("ascii"), g[8], g[9]] for g in self.late.values()]
        return {
            "pos": self.pos,
            "records": self.records,
            "unusable": dict(self.unusable),
            "pending": groups,
            "late": late,
        }

    def load(self, state):
        """Restore dump(); raises ValueError on anything malformed (the caller sets it aside)."""
        if not isinstance(state, dict):
            raise ValueError("audit parser state must be an object")
        pos, records = state.get("pos", 0), state.get("records", 0)
        if not (_nonneg_int(pos) and _nonneg_int(records)):
            raise ValueError("bad audit stream position or record count")
        unusable = state.get("unusable", {})
        if not isinstance(unusable, dict) or not all(_nonneg_int(v) for v in unusable.values()):
            raise ValueError("bad unusable counters")
        self.pending = self._load_groups(state.get("pending", []))
        self.late = self._load_groups(state.get("late", []))
        self.pos, self.records = pos, records
        for k in UNUSABLE_REASONS:
            self.unusable[k] = unusable.get(k, 0)

    def _load_groups(self, dumped):
        pending = collections.OrderedDict()
        keys = {k for k, _n in self.needles}
        if not isinstance(dumped, list):
            raise ValueError("bad group list")
        for g in dumped:
            if not (isinstance(g, list) and len(g) == 10):
                raise ValueError("bad pending group %r" % (g,))
            key, auid, user, items, fids, seen, t, ident, deadline, done = g
            ok = (
                isinstance(key, str)
                and _nonneg_int(auid)
                and (user is None or isinstance(user, str))
                and _nonneg_int(items)
                and isinstance(fids, list)
                and all(isinstance(f, str) for f in fids)
                and _nonneg_int(seen)
                and isinstance(t, (int, float))
                and isinstance(ident, str)
                and re.match(r"\A[0-9]+\.[0-9]+:[0-9]+\Z", ident)
                and _nonneg_int(deadline)
                and isinstance(done, bool)
            )
            if not ok:
                raise ValueError("bad pending group %r" % (g,))
            if key not in keys:
                continue  # a data set no longer configured
            pending[ident.encode()] = [
                key,
                auid,
                user,
                items,
                list(fids),
                seen,
                float(t),
                ident.encode(),
                deadline,
                done,
            ]
        return pending


def _nonneg_int(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


# ---------------------------------------------------------------------------- pgaudit
# Debian's default log_line_prefix is '%m [%p] %q%u@%d '.
PG_LINE_RE = re.compile(
    r"^(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) (?P<tz>[A-Za-z0-9+:-]+) \[(?P<pid>\d+)\] "
    r"(?:(?P<user>[^@\s]*)@(?P<db>\S*) )?(?P<level>[A-Z]+):  AUDIT: (?P<rest>.*)$"
)


def pg_time(ts, tz):
    """Epoch seconds of a PostgreSQL %m timestamp (UTC/GMT exact, other zones as local time)."""
    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in ts else "%Y-%m-%d %H:%M:%S"
    dt = datetime.datetime.strptime(ts, fmt)
    if tz in ("UTC", "GMT", "+00", "Z"):
        return calendar.timegm(dt.timetuple()) + dt.microsecond / 1e6
    return time.mktime(dt.timetuple()) + dt.microsecond / 1e6


class PgauditParser(object):
    """Parses PostgreSQL stderr log lines carrying pgaudit entries with ``log_rows`` on.

    ``feed(line)`` (str) returns a dict ``{user, db, time, pid, class, command, object_type,
    object, rows, statement_id, substatement_id}`` for complete AUDIT entries, else None.
    Statements spanning several lines are joined until their quoted field closes.
    """

    MAX_CONTINUATION = 10000

    def __init__(self):
        self.partial = None
        self.partial_lines = []
        self.parts = 0
        self.malformed = 0
        self.without_rows = 0

    def feed(self, line):
        line = line.rstrip("\n")
        if self.partial is not None:
            m, rest = self.partial
            rest = rest + "\n" + line
            self.parts += 1
            if rest.count('"') % 2 == 1 and self.parts < self.MAX_CONTINUATION:
                self.partial = (m, rest)
                self.partial_lines.append(line)
                return None
            self.partial, self.partial_lines = None, []
            return self._entry(m, rest)
        if "AUDIT: " not in line:
            return None
        m = PG_LINE_RE.match(line)
        if m is None:
            self.malformed += 1
            return None
        rest = m.group("rest")
        if rest.count('"') % 2 == 1:  # a quoted statement continues on the next lines
            self.partial, self.parts, self.partial_lines = (m, rest), 0, [line]
            return None
        return self._entry(m, rest)

    def _entry(self, m, rest):
        try:
            fields = next(csv.reader([rest], strict=True))
        except (csv.Error, StopIteration):
            self.malformed += 1
            return None
        if len(fields) < 9:
            self.malformed += 1
            return None
        if len(fields) < 10 or not fields[9].isdigit():
            self.without_rows += 1
            return None
        try:
            t = pg_time(m.group("ts"), m.group("tz"))
        except ValueError:
            self.malformed += 1
            return None
        return {
            "user": m.group("user") or "",
            "db": m.group("db") or "",
            "time": t,
            "pid": int(m.group("pid")),
            "audit_type": fields[0],
            "statement_id": fields[1],
            "substatement_id": fields[2],
            "class": fields[3],
            "command": fields[4],
            "object_type": fields[5],
            "object": fields[6],
            "rows": int(fields[9]),
        }


class PgauditJsonParser(object):
    """pgaudit entries from PostgreSQL's structured ``jsonlog`` (PostgreSQL 15+): one JSON
    object per log record, so a statement's newlines and quotes stay inside its own record.

    The free-text stderr log can be forged: a statement or a ``RAISE`` can put a line that
    looks like another user's ``AUDIT:`` entry on a line of its own, or open a quote that
    swallows the next real entry. Here the user, database and time come from the record's
    own fields (set by the server, not by the statement), the message must start with
    ``AUDIT: ``, and a record carrying ``context`` or ``statement`` is not pgaudit's (pgaudit
    hides both; a ``RAISE LOG 'AUDIT: ...'`` from PL/pgSQL carries its context): counted,
    not used. ``feed(line)`` returns the same entry dict as :class:`PgauditParser`.
    """

    partial_lines = ()  # nothing spans lines in jsonlog

    def __init__(self):
        self.unusable = {"not_json": 0, "malformed": 0, "without_rows": 0, "not_from_pgaudit": 0}

    @property
    def malformed(self):
        return self.unusable["not_json"] + self.unusable["malformed"] + self.unusable["not_from_pgaudit"]

    @property
    def without_rows(self):
        return self.unusable["without_rows"]

    def feed(self, line):
        if '"AUDIT: ' not in line:  # cheap skip of every other record
            if line.strip() and not line.lstrip().startswith("{"):
                self.unusable["not_json"] += 1
            return None
        try:
            doc = json.loads(line)
        except ValueError:
            self.unusable["not_json"] += 1
            return None
        if not isinstance(doc, dict):
            self.unusable["not_json"] += 1
            return None
        msg = doc.get("message")
        if not (isinstance(msg, str) and msg.startswith("AUDIT: ")):
            return None  # "AUDIT: " inside some other field or message
        if "context" in doc or "statement" in doc:
            self.unusable["not_from_pgaudit"] += 1
            return None
        try:
            fields = next(csv.reader([msg[7:]], strict=True))
        except (csv.Error, StopIteration):
            self.unusable["malformed"] += 1
            return None
        if len(fields) < 9:
            self.unusable["malformed"] += 1
            return None
        if len(fields) < 10 or not fields[9].isdigit():
            self.unusable["without_rows"] += 1
            return None
        ts, user, pid = doc.get("timestamp"), doc.get("user"), doc.get("pid")
        try:
            day, clock, tz = ts.split(" ")
            t = pg_time(day + " " + clock, tz)
        except (AttributeError, ValueError):
            self.unusable["malformed"] += 1
            return None
        if not (isinstance(user, str) and user and isinstance(pid, int)):
            self.unusable["malformed"] += 1
            return None
        db = doc.get("dbname")
        return {
            "user": user,
            "db": db if isinstance(db, str) else "",
            "time": t,
            "pid": pid,
            "audit_type": fields[0],
            "statement_id": fields[1],
            "substatement_id": fields[2],
            "class": fields[3],
            "command": fields[4],
            "object_type": fields[5],
            "object": fields[6],
            "rows": int(fields[9]),
        }


def pgaudit_parser(log):
    """The parser for a pgaudit data set's log: PostgreSQL names its jsonlog file ``*.json``."""
    return PgauditJsonParser() if log.endswith(".json") else PgauditParser()


def table_matches(obj, tables):
    """``public.citizens`` matches ``citizens`` and ``public.citizens``."""
    if not obj:
        return False
    short = obj.rsplit(".", 1)[-1]
    for t in tables:
        if t == obj or ("." not in t and t == short):
            return True
    return False


class PgauditDataset(object):
    """Row counts of one pgaudit data set: READ entries on its tables in its database.

    With ``pgaudit.log_relation`` on, a statement is logged once per relation: the rows of a
    statement are counted once per data set (deduplicated by pid and statement ids).
    """

    def __init__(self, ds):
        self.name = ds["name"]
        self.database = ds.get("database")
        self.tables = ds.get("tables") or []
        self.last = None

    def count(self, entry):
        if entry["class"] != "READ" or (self.database and entry["db"] != self.database):
            return None
        if not table_matches(entry["object"], self.tables):
            return None
        ident = (entry["pid"], entry["statement_id"], entry["substatement_id"])
        if ident == self.last:
            return None
        self.last = ident
        return entry["user"], entry["rows"], entry["time"]


# ---------------------------------------------------------------------------- jsonlog
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
        if not HAS_JMESPATH:
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


# ---------------------------------------------------------------------------- config
def _positive_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def validate_config(cfg, exists=os.path.exists, check_paths=True):
    """Problems with an agent config (a list of strings; empty when valid).

    ``check_paths`` checks on the filesystem that watched paths exist and that log files'
    directories exist (the agent's --check-config does; controller-side validation cannot).
    """
    errors = []
    if not isinstance(cfg, dict):
        return ["config must be a JSON object, got %s" % type(cfg).__name__]
    known = set(DEFAULTS) | {"datasets", "reviewed_on", "review_interval_days", "utmp", "journal_socket"}
    for k in sorted(set(cfg) - known):
        errors.append("unknown setting %r" % k)
    for k in (
        "checkpoint_interval",
        "group_wait",
        "max_keys",
        "max_entries_per_key",
        "max_entries",
        "max_line",
        "malformed_warning_interval",
    ):
        if k in cfg and not _positive_int(cfg[k]):
            errors.append("%s must be a positive integer, got %r" % (k, cfg[k]))
    if "min_auid" in cfg:
        v = cfg["min_auid"]
        # it becomes "-F auid>=N" in the audit rules: a plain number in the uid range only
        if not (isinstance(v, int) and not isinstance(v, bool) and 0 <= v < AUID_UNSET):
            errors.append("min_auid must be an integer 0..%d, got %r" % (AUID_UNSET - 1, v))
    for k in ("audit_log", "state_file", "alert_log"):
        if k in cfg and not (isinstance(cfg[k], str) and cfg[k].startswith("/")):
            errors.append("%s must be an absolute path, got %r" % (k, cfg[k]))
    channels = cfg.get("channels", {})
    if not isinstance(channels, dict):
        errors.append("channels must be an object, got %r" % (channels,))
    else:
        for k in sorted(set(channels) - {"journal", "session", "webhook"}):
            errors.append("unknown alert channel %r (known: journal, session, webhook)" % k)
        hook = channels.get("webhook")
        if hook is not None:
            url = hook.get("url") if isinstance(hook, dict) else None
            if not (isinstance(url, str) and re.match(r"^https?://[^/\s]+", url)):
                errors.append("channels.webhook.url must be an http(s) URL, got %r" % (url,))
    if "reviewed_on" in cfg:
        try:
            datetime.date.fromisoformat(str(cfg["reviewed_on"]))
        except ValueError:
            errors.append("reviewed_on must be a date YYYY-MM-DD, got %r" % (cfg["reviewed_on"],))
    if "review_interval_days" in cfg and not _positive_int(cfg["review_interval_days"]):
        errors.append("review_interval_days must be a positive integer, got %r" % (cfg["review_interval_days"],))
    datasets = cfg.get("datasets")
    if not isinstance(datasets, list) or not datasets:
        errors.append("datasets must be a non-empty list")
        return errors
    names = set()
    for i, ds in enumerate(datasets):
        errors.extend(_validate_dataset(i, ds, names, exists, check_paths))
    budget = cfg.get("max_entries", DEFAULTS["max_entries"])
    if _positive_int(budget):
        for i, ds in enumerate(datasets):
            if isinstance(ds, dict) and ds.get("source") == "audit" and _positive_int(ds.get("threshold")):
                if ds["threshold"] > budget:
                    errors.append(
                        "datasets[%d] (%s): threshold %d exceeds max_entries %d (one user's window must fit the budget)"
                        % (i, ds.get("name"), ds["threshold"], budget)
                    )
    return errors


def _validate_dataset(i, ds, names, exists, check_paths):
    errors = []
    if not isinstance(ds, dict):
        return ["datasets[%d] must be an object, got %r" % (i, ds)]
    name = ds.get("name")
    where = "datasets[%d] (%s)" % (i, name)
    if not (isinstance(name, str) and NAME_RE.match(name)):
        errors.append("%s: name must match %s, got %r" % (where, NAME_RE.pattern, name))
    elif name in names:
        errors.append("%s: duplicate name %r" % (where, name))
    names.add(name)
    for k in ("threshold", "window"):
        v = ds.get(k)
        if not _positive_int(v):
            errors.append("%s: %s must be a positive integer, got %r" % (where, k, v))
        elif k == "threshold" and v > MAX_THRESHOLD:
            errors.append("%s: threshold %d is above the maximum %d" % (where, v, MAX_THRESHOLD))
    source = ds.get("source")
    if source not in SOURCES:
        errors.append("%s: unknown source %r (known: %s)" % (where, source, ", ".join(SOURCES)))
        return errors
    required = {
        "audit": ("paths",),
        "pgaudit": ("log", "database", "tables"),
        "jsonlog": ("log", "user", "count"),
    }[source]
    allowed = set(required) | {"name", "source", "threshold", "window", "key", "time", "filter"}
    for k in sorted(set(ds) - allowed):
        errors.append("%s: unknown setting %r for source %s" % (where, k, source))
    for k in required:
        if ds.get(k) in (None, "", []):
            errors.append("%s: %s is required for source %s" % (where, k, source))
    if source == "audit":
        paths = ds.get("paths") or []
        if not isinstance(paths, list):
            errors.append("%s: paths must be a list, got %r" % (where, paths))
            paths = []
        for p in paths:
            if not (isinstance(p, str) and p.startswith("/")) or any(c in p for c in " \t\n\"'"):
                errors.append("%s: path %r must be absolute, without spaces or quotes" % (where, p))
            elif check_paths and not exists(p):
                errors.append("%s: path %s does not exist" % (where, p))
        key = ds.get("key")
        if key is not None and not (isinstance(key, str) and re.match(r"^[A-Za-z0-9_-]{1,31}$", key)):
            errors.append("%s: key must be 1-31 characters [A-Za-z0-9_-], got %r" % (where, key))
    else:
        log = ds.get("log")
        if log and not (isinstance(log, str) and log.startswith("/")):
            errors.append("%s: log must be an absolute path, got %r" % (where, log))
        elif log and check_paths and not exists(os.path.dirname(log)):
            errors.append("%s: directory of log %s does not exist" % (where, log))
    if source == "pgaudit":
        tables = ds.get("tables")
        if tables and not (isinstance(tables, list) and all(isinstance(t, str) and t for t in tables)):
            errors.append("%s: tables must be a list of table names, got %r" % (where, tables))
    if source == "jsonlog":
        for k in ("user", "count", "time", "filter"):
            expr = ds.get(k)
            if expr in (None, ""):
                continue
            if not isinstance(expr, str):
                errors.append("%s: %s must be a JMESPath string, got %r" % (where, k, expr))
            elif not HAS_JMESPATH:
                errors.append("%s: python3-jmespath is needed to compile %s" % (where, k))
            else:
                try:
                    jmespath.compile(expr)
                except Exception as e:  # jmespath raises several ParseError subclasses
                    errors.append("%s: %s %r is not a valid JMESPath expression: %s" % (where, k, expr, e))
    return errors


def effective_config(cfg):
    """cfg with DEFAULTS filled in (channels merged key by key)."""
    out = dict(DEFAULTS)
    out["channels"] = dict(DEFAULTS["channels"])
    for k, v in cfg.items():
        if k == "channels":
            out["channels"].update(v or {})
        else:
            out[k] = v
    return out


# ---------------------------------------------------------------------------- review date
def review_status(reviewed_on, interval_days, today=None):
    """``(ok, age_days, due_on)`` of the threshold review; ok False when older than the interval."""
    today = today or datetime.date.today()
    reviewed = datetime.date.fromisoformat(str(reviewed_on))
    age = (today - reviewed).days
    due = reviewed + datetime.timedelta(days=int(interval_days))
    return age <= int(interval_days) and age >= 0, age, due.isoformat()


# C0 and C1 controls, DEL, the Unicode line/paragraph separators, and the backslash itself
_UNSAFE_RE = re.compile("[\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029\\\\]")


def escape(value):
    """One printable line for a value read from a log or a device (user names, data set
    names, file names): control characters become ``\\xNN`` / ``\\uNNNN`` so that nothing
    can end a journal field, start a forged ``<0>`` priority line, or drive a terminal."""
    return _UNSAFE_RE.sub(_escape_char, str(value))


def _escape_char(m):
    c = ord(m.group(0))
    return "\\x%02x" % c if c < 0x100 else "\\u%04x" % c


def alert_text(alert):
    """The one human sentence of an alert (journal MESSAGE, terminal warning), escaped."""
    return "pii-download-alert: user %s read %d records of data set %s within %ds (threshold %d, %s..%s)" % (
        escape(alert["user"]),
        alert["count"],
        escape(alert["dataset"]),
        alert["window"],
        alert["threshold"],
        iso(alert["first_event"]),
        iso(alert["last_event"]),
    )


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
