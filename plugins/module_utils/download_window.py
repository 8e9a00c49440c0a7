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
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}\Z")
MAX_THRESHOLD = 10000000
DEFAULTS = {
    "audit_log": "/var/log/audit/audit.log",
    "state_file": "/var/lib/pii-download-alert/state.json",
    "alert_log": "/var/log/pii-download-alert/alerts.jsonl",
    "checkpoint_interval": 5,
    "max_keys": 100000,
    "max_entries_per_key": 65536,
    "malformed_warning_interval": 60,
    "min_auid": 1000,
    "channels": {"journal": True, "session": True, "webhook": None},
}


def audit_key(dataset):
    """The audit rule key (-k) of an audit data set: configured, or derived from its name."""
    return dataset.get("key") or "pii_dl_" + dataset["name"].replace("-", "_")


# ---------------------------------------------------------------------------- windows
class _Win(object):
    __slots__ = ("armed", "items", "last", "total")

    def __init__(self, distinct):
        # distinct: OrderedDict item -> time, oldest first; sums: deque of [time, n]
        self.items = collections.OrderedDict() if distinct else collections.deque()
        self.total = 0
        self.armed = True
        self.last = 0.0


class Windows(object):
    """Sliding windows for every (data set, user) key, with memory caps.

    ``datasets`` maps a data set name to a dict with ``threshold``, ``window`` and ``source``.
    Distinct (audit) windows keep only the ``threshold`` newest items: that is enough to decide
    ``count >= threshold`` exactly, and bounds memory per key. Sum windows merge their two
    oldest entries past ``max_entries_per_key`` (counts stay, expiry gets later: errs towards
    alerting). Past ``max_keys`` the least recently active key is dropped.
    """

    def __init__(self, datasets, max_keys=100000, max_entries_per_key=65536):
        self.datasets = datasets
        self.max_keys = max_keys
        self.max_entries = max_entries_per_key
        self.keys = collections.OrderedDict()
        self.evicted_keys = 0
        self.merged_entries = 0

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
            if len(keys) >= self.max_keys:
                keys.popitem(last=False)
                self.evicted_keys += 1
            w = keys[key] = _Win(distinct)
        else:
            keys.move_to_end(key)
        if t < w.last:  # slightly out-of-order events count at the latest time seen
            t = w.last
        w.last = t
        horizon = t - ds["window"]
        threshold = ds["threshold"]
        items = w.items
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
            if len(items) > self.max_entries:
                oldest = items.popleft()
                items[0][1] += oldest[1]
                self.merged_entries += 1
            count = w.total
            first_t = items[0][0]
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

    def load(self, dumped):
        """Restore keys from dump(); keys of data sets no longer configured are dropped."""
        for dataset, user, kind, armed, last, entries in dumped:
            ds = self.datasets.get(dataset)
            if ds is None or (kind == "distinct") != (ds.get("source") == "audit"):
                continue
            w = _Win(kind == "distinct")
            w.armed, w.last = bool(armed), float(last)
            if kind == "distinct":
                for k, v in entries:
                    w.items[k] = float(v)
            else:
                for tt, n in entries:
                    w.items.append([float(tt), int(n)])
                    w.total += int(n)
            self.keys[(dataset, user)] = w
            if len(self.keys) > self.max_keys:
                self.keys.popitem(last=False)


# ---------------------------------------------------------------------------- audit
_PATH_FIELDS_RE = re.compile(
    rb"type=PATH msg=audit\([0-9.]+:[0-9]+\): item=[0-9]+ name=(?:\"[^\"\n]*\"|[^ \n]+) "
    rb"(?:inode=([0-9]+) dev=([^ \n]+) mode=([0-9]+) )?[^\n]*?nametype=([A-Z]+)"
)
_SYSCALL_RE = re.compile(
    rb"type=SYSCALL msg=audit\(([0-9]+\.[0-9]+):([0-9]+)\): arch=[^ \n]+ syscall=[0-9]+ "
    rb"success=([a-z]+) exit=[^ \n]+ (?:a[0-3]=[^ \n]+ )*items=([0-9]+) ppid=[0-9]+ pid=[0-9]+ auid=([0-9]+) "
)
# Records of one event are written together; look this far ahead for the rest of a group.
_GROUP_SPAN = 1 << 16


class AuditParser(object):
    """Groups auditd records (SYSCALL, CWD, PATH, PROCTITLE, EOE) by their msg serial and
    yields one event per successfully read-opened file of a watched key.

    Works on raw bytes as auditd writes them, in RAW or ENRICHED format (the resolved names
    follow a 0x1d byte). ``feed_chunk`` takes whole lines (a chunk ending at a line end):
    it finds the watched keys with a substring search (memmem speed, so unrelated records
    cost almost nothing), parses those SYSCALL lines with an anchored regex, then looks
    ahead for the group's PATH records by their exact ``msg=audit(stamp:serial)`` prefix.
    ``feed`` takes one line. Both return events ``(key, auid, user_or_None, time,
    file_id)`` where file_id is ``"dev:inode"`` (distinct files, however the path was
    spelt); directories (tar, globs) and failed opens are not counted. A group is complete
    when its ``items`` PATH records (or its EOE) have been seen; groups may span chunks.
    """

    MAX_PENDING = 4096

    def __init__(self, keys, min_auid=1000):
        keys = sorted(k.decode() if isinstance(k, bytes) else k for k in keys)
        self.needles = [(k, b' key="' + k.encode() + b'"') for k in keys]
        # Field order of SYSCALL records is fixed by the kernel; the key closes the raw part.
        self._syscall_re = _SYSCALL_RE
        self.min_auid = min_auid
        # serial -> [key, auid, user, items, [file ids], paths seen, time, b"stamp:serial"]
        self.pending = collections.OrderedDict()
        self.malformed = 0
        self.records = 0

    def feed(self, line):
        return self.feed_chunk(line if line.endswith(b"\n") else line + b"\n")

    def feed_chunk(self, data):
        lines = data.count(b"\n")
        self.records += lines
        # every record line starts with "type="; anything else is counted and skipped
        typed = data.count(b"\ntype=") + (1 if data.startswith(b"type=") else 0)
        self.malformed += max(lines - typed, 0)
        out = []
        pending = self.pending
        # groups left open by the previous chunk: their records continue here
        for serial in list(pending):
            g = pending[serial]
            if self._collect(g, data, 0):
                out.extend(self._emit(serial))
            elif data.find(b"type=EOE msg=audit(" + g[7] + b")", 0, _GROUP_SPAN) >= 0:
                out.extend(self._emit(serial))
        hits = []
        for key, needle in self.needles:
            pos = data.find(needle)
            while pos >= 0:
                hits.append((pos, key, pos + len(needle)))
                pos = data.find(needle, pos + len(needle))
        if len(self.needles) > 1:
            hits.sort()
        match = self._syscall_re.match
        min_auid = self.min_auid
        for pos, key, after in hits:
            # the key closes the raw part of a SYSCALL record: end of line or the 0x1d separator
            if data[after : after + 1] not in (b"\x1d", b"\n"):
                continue
            start = data.rfind(b"\n", 0, pos) + 1
            m = match(data, start)
            if m is None:  # e.g. CONFIG_CHANGE records of rule loads carry the key too
                continue
            stamp, serial, success, items, auid = m.groups()
            auid = int(auid)
            items = int(items)
            if success != b"yes" or auid == AUID_UNSET or auid < min_auid or items <= 0:
                continue
            user = None
            if data[after : after + 1] == b"\x1d":
                q = data.find(b'AUID="', after, data.find(b"\n", after))
                if q > 0:
                    name = data[q + 6 : data.find(b'"', q + 6)]
                    if name != b"unset":
                        user = name.decode("utf-8", "replace")
            g = [key, auid, user, items, [], 0, float(stamp), stamp + b":" + serial]
            if self._collect(g, data, m.end()):
                out.extend((g[0], g[1], g[2], g[6], fid) for fid in g[4])
            else:
                pending[serial] = g
        while len(pending) > self.MAX_PENDING:  # groups whose records never came
            out.extend(self._emit(next(iter(pending))))
        return out

    @staticmethod
    def _collect(g, data, start):
        """Add the group's PATH records found in data[start:]; True once all have been seen."""
        needle = b"type=PATH msg=audit(" + g[7] + b"): "
        end = min(len(data), start + _GROUP_SPAN)
        while g[5] < g[3]:
            p = data.find(needle, start, end)
            if p < 0:
                return False
            m = _PATH_FIELDS_RE.match(data, p)
            if m is not None:
                inode, dev, mode, nametype = m.groups()
                if nametype == b"NORMAL" and inode is not None and not mode.startswith(b"040"):
                    g[4].append((dev + b":" + inode).decode("ascii", "replace"))
            g[5] += 1
            start = p + len(needle)
        return True

    def _emit(self, serial):
        g = self.pending.pop(serial, None)
        if g is None:
            return ()
        return [(g[0], g[1], g[2], g[6], fid) for fid in g[4]]

    def flush(self):
        """Emit the groups still waiting for records (call when the input is idle)."""
        out = []
        for serial in list(self.pending):
            out.extend(self._emit(serial))
        return out


# ---------------------------------------------------------------------------- pgaudit
# Debian's default log_line_prefix is '%m [%p] %q%u@%d '.
PG_LINE_RE = re.compile(
    r"^(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) (?P<tz>[A-Za-z0-9+:-]+) \[(?P<pid>\d+)\] "
    r"(?:(?P<user>[^@\s]*)@(?P<db>\S*) )?(?P<level>[A-Z]+):  AUDIT: (?P<rest>[^\n]*)\n?\Z"
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
            raise ValueError("not JSON")
        if not isinstance(doc, dict):
            raise ValueError("not a JSON object")
        if self.filter is not None and not self.filter.search(doc):
            return None
        user = self.user.search(doc)
        n = self.count_expr.search(doc)
        if user is None or user == "":
            raise ValueError("user expression selected nothing")
        if isinstance(n, bool) or not isinstance(n, (int, float)) or n < 0:
            raise ValueError("count expression did not select a non-negative number: %r" % (n,))
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
    known = set(DEFAULTS) | {"datasets", "reviewed_on", "review_interval_days", "utmp"}
    for k in sorted(set(cfg) - known):
        errors.append("unknown setting %r" % k)
    for k in ("checkpoint_interval", "max_keys", "max_entries_per_key", "malformed_warning_interval"):
        if k in cfg and not _positive_int(cfg[k]):
            errors.append("%s must be a positive integer, got %r" % (k, cfg[k]))
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
        if key is not None and not (isinstance(key, str) and re.match(r"^[A-Za-z0-9_-]{1,31}\Z", key)):
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


def alert_text(alert):
    """The one human sentence of an alert (journal MESSAGE, terminal warning)."""
    return "pii-download-alert: user %s read %d records of data set %s within %ds (threshold %d, %s..%s)" % (
        alert["user"],
        alert["count"],
        alert["dataset"],
        alert["window"],
        alert["threshold"],
        iso(alert["first_event"]),
        iso(alert["last_event"]),
    )


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
