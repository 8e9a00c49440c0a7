# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pgaudit entries from PostgreSQL logs (jsonlog, or the free-text stderr log) -> rows read."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import csv
import datetime
import json
import re
import time

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


def audit_entry(user, db, t, pid, fields):
    """One pgaudit entry, the same shape from the stderr and the jsonlog reader.

    ``fields`` is pgaudit's CSV message: AUDIT_TYPE, STATEMENT_ID, SUBSTATEMENT_ID, CLASS,
    COMMAND, OBJECT_TYPE, OBJECT_NAME, STATEMENT, PARAMETER, ROWS (log_rows).
    """
    return {
        "user": user,
        "db": db,
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
        return audit_entry(m.group("user") or "", m.group("db") or "", t, int(m.group("pid")), fields)


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
        return audit_entry(user, db if isinstance(db, str) else "", t, pid, fields)


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
