# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""auditd records (SYSCALL, PATH, EOE ...) -> reads of watched files, exact across restarts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import re

from ..config import AUID_UNSET, _nonneg_int

_SYSCALL_HEAD_RE = re.compile(rb"type=SYSCALL msg=audit\(([0-9]+\.[0-9]+):([0-9]+)\): ")
# Fast path: the layout the kernel writes today (audit_log_exit), the optional per= included.
# A record it does not match is read field by field (_field), whatever the order.
_SYSCALL_FAST_RE = re.compile(
    rb"type=SYSCALL msg=audit\((([0-9]+\.[0-9]+):[0-9]+)\): arch=[0-9a-f]+ syscall=[0-9]+ (?:per=[0-9a-f]+ )?"
    rb"success=([a-z]+) exit=-?[0-9]+ (?:a[0-3]=[0-9a-f]+ )*items=([0-9]+) ppid=[0-9]+ pid=[0-9]+ auid=([0-9]+) "
)
_PATH_FAST_RE = re.compile(
    rb" inode=([0-9]+) dev=([0-9a-f]+:[0-9a-f]+) mode=([0-7]+) [^\n\x1d]*? nametype=([A-Z]+)[ \n\x1d]"
)
# Faster still, for the layout the kernel writes (item= and name= first; a name holds no
# space, see _field): the fields up to mode= in one match, then the first nametype= after them.
# Whatever these do not read is read by the two ways above, so the result is the same.
_PATH_HEAD_RE = re.compile(rb" item=[0-9]+ name=[^ \n\x1d]* inode=([0-9]+) dev=([0-9a-f]+:[0-9a-f]+) mode=([0-7]+) ")
_NAMETYPE_RE = re.compile(rb" nametype=([A-Z]+)[ \n\x1d]")
# Fastest: the kernel's whole layout (audit_log_name), nametype= included, in one match.
_PATH_KERNEL_RE = re.compile(
    _PATH_HEAD_RE.pattern
    + rb"ouid=[0-9]+ ogid=[0-9]+ rdev=[0-9a-f]+:[0-9a-f]+ (?:obj=[^ \n\x1d]+ )?nametype=([A-Z]+)[ \n\x1d]"
)
# Fastest for a whole group: the SYSCALL record in the layout above, its line, an optional CWD
# record and the PATH record in the kernel's layout, all of the same event (\1 is its stamp:serial),
# in one match (issue 15 point 9: one regex call per event instead of two and a search). Used for
# the one-file events (items=1) only, and only where it reads what the steps below would read:
# the SYSCALL fields before the key, the first PATH record of the event after the key.
_GROUP_FAST_RE = re.compile(
    _SYSCALL_FAST_RE.pattern
    + rb"[^\n]*\n(?:type=CWD msg=audit\(\1\): [^\n]*\n)?(type=PATH msg=audit\(\1\):)"
    + _PATH_KERNEL_RE.pattern
)
# bytes.count of b"\ntype=" over slices shorter than this uses CPython's skipping search
# (stringlib fastsearch: two-way from 30000 bytes on for needles of 6 bytes or more)
_COUNT_SLICE = 29000
# Records of one event are written together; a group is given up once this many bytes of the
# stream have passed its SYSCALL record (a stream position, so chunking cannot change it).
_GROUP_SPAN = 1 << 16
# Decoded user names kept (ENRICHED records name the user in every event); emptied when full.
_NAMES = 65536
# A group's PATH record is first looked for this close to its SYSCALL record (where the kernel
# writes it), then in the rest of the span: the same first match, without CPython switching to
# its two-way search (and its set-up) for a long needle in a long haystack.
_NEAR = 2048
# Reasons a record the agent needed could not be used (stats, the audit's evidence).
UNUSABLE_REASONS = (
    "not_a_record",  # a line that does not start with type= (truncated write, garbage)
    "syscall_fields",  # a SYSCALL record of a watched key without usable success/items/auid
    "path_fields",  # a PATH record of a watched event without usable inode/dev/mode/nametype
    "incomplete_group",  # an event whose PATH records did not all arrive within the span
    "line_too_long",  # a line over the line cap, skipped (counted by the follower)
    "rotated_away",  # the file the agent stopped in was rotated away while it was down
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


def _enriched_user(data, after):
    """The resolved ``AUID="name"`` after the 0x1d separator of an ENRICHED record (None when unset).

    Bytes that are not UTF-8 become lone surrogates (surrogateescape, as Python's pwd module
    decodes the same names): distinct names stay distinct; every sink escapes them."""
    eol = data.find(b"\n", after)
    q = data.find(b'AUID="', after, eol)
    if q > 0:
        name = data[q + 6 : data.find(b'"', q + 6, eol)]
        if name != b"unset":
            return name.decode("utf-8", "surrogateescape")
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
    fast_groups = True  # _fast_group first (tests turn it off to compare with the steps alone)

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
        self._names = {}  # ENRICHED AUID="name" bytes -> str

    @property
    def malformed(self):
        return sum(self.unusable.values())

    def feed(self, line):
        return self.feed_chunk(line if line.endswith(b"\n") else line + b"\n")

    def feed_chunk(self, data, end=None):
        """Events of the whole lines in ``data[:end]`` (``end`` defaults to all of it: a reader
        passes its buffer as read, without copying the complete lines out of it)."""
        if end is None:
            end = len(data)
        base = self.pos
        self.pos += end
        self._count_records(data, end)
        pending = self.pending
        out = self._continue_late(data, base, end)
        # groups left open by earlier chunks: their records continue here
        for g in pending.values():
            if not g[9]:
                stop = min(g[8] - base, end)
                if self._collect(g, data, 0, stop) or self._eoe(g, data, 0, stop):
                    g[9] = True
        if pending:  # those now complete go first: the new ones need not queue behind them
            out.extend(self._drain())
        append = out.append
        for pos, key, after in self._hits(data, end):
            g = self._open_group(data, base, pos, key, after, end)
            if g is None:
                continue
            if g[9] and not pending:
                for fid in g[4]:
                    append((key, g[1], g[2], g[6], fid))
            else:
                pending[g[7]] = g
        if pending:
            self._give_up_overdue()
            out.extend(self._drain())
        return out

    def _count_records(self, data, end=None):
        # Every record line starts with "type="; anything else is counted and skipped. Two
        # C-speed passes, no regex and no Python loop per line (issue 15 point 9):
        #  * line ends: the length bytes.replace removes (it finds b"\n" with memchr, several
        #    times faster than bytes.count, which tests every byte for a single-byte needle);
        #  * line ends followed by "type=": bytes.count over slices under _COUNT_SLICE bytes,
        #    where CPython uses its skipping search (for a 6-byte needle in a longer haystack it
        #    switches to two-way, three times slower here). A slice is extended by the needle's
        #    length less one, so each occurrence is counted in the one slice where it starts.
        if end is None:
            end = len(data)
        block = data
        if end < len(data) and data.find(b"\n", end) >= 0:
            block = data[:end]  # line ends past end are not counted (a reader's buffer has none)
        lines = len(block) - len(block.replace(b"\n", b""))
        typed = 1 if data.startswith(b"type=", 0, end) else 0
        count = data.count
        for s in range(0, end, _COUNT_SLICE):
            typed += count(b"\ntype=", s, min(s + _COUNT_SLICE + 5, end))
        self.records += lines
        self.unusable["not_a_record"] += max(lines - typed, 0)

    def _continue_late(self, data, base, end):
        """Late PATH records of groups released early: their events, each file once."""
        out = []
        for ident in list(self.late):
            g = self.late[ident]
            stop = min(g[8] - base, end)
            complete = self._collect(g, data, 0, stop) or self._eoe(g, data, 0, stop)
            out.extend((g[0], g[1], g[2], g[6], fid) for fid in g[4])
            del g[4][:]
            if complete or g[8] <= self.pos:
                if not complete:
                    self.unusable["incomplete_group"] += 1
                del self.late[ident]
        return out

    def _hits(self, data, end):
        """``(position, key, end of the needle)`` of every watched key in data[:end], in stream order."""
        hits = []
        find = data.find
        for key, needle in self.needles:
            n = len(needle)
            # In slices: CPython's skipping search, not two-way (see _COUNT_SLICE; 12 % less CPU
            # for the whole replay at 1 % watched). A slice is extended by the needle's length
            # less one, so a needle is found in the slice where it starts. The skipping search is
            # slow only on near-misses, and a user cannot write those: the needle begins with a
            # space and holds quotes, which the kernel hex-encodes in every untrusted value.
            s = 0
            while s < end:
                stop = s + _COUNT_SLICE
                pos = find(needle, s, stop + n - 1 if stop + n - 1 < end else end)
                if pos < 0:
                    s = stop
                    continue
                hits.append((pos, key, pos + n))
                s = pos + n
        if len(self.needles) > 1:
            hits.sort()
        return hits

    def _open_group(self, data, base, pos, key, after, end):
        """The group of the SYSCALL record a key hit closes (None when it is not one to count),
        with the PATH records that follow in this chunk already collected."""
        # the key closes the raw part of a SYSCALL record: end of line or the 0x1d separator
        sep = data[after] if after < end else 0
        if sep != 0x1D and sep != 0x0A:
            return None
        start = data.rfind(b"\n", 0, pos) + 1
        if self.fast_groups:
            g = self._fast_group(data, base, pos, key, after, end, start)
            if g is not False:
                return g
        m = _SYSCALL_FAST_RE.match(data, start, pos + 1)
        if m is not None:
            ident, stamp, success, items, auid = m.groups()
            items, auid = int(items), int(auid)
        else:
            if not data.startswith(b"type=SYSCALL ", start):
                return None  # e.g. CONFIG_CHANGE records of rule loads carry the key too
            m = _SYSCALL_HEAD_RE.match(data, start, pos + 1)
            raw = data[start:pos]
            success = _field(raw, b" success=")
            items = _int(_field(raw, b" items="))
            auid = _int(_field(raw, b" auid="))
            if m is None or success is None or items is None or auid is None:
                self.unusable["syscall_fields"] += 1
                return None
            stamp = m.group(1)
            ident = stamp + b":" + m.group(2)
        if success != b"yes" or auid == AUID_UNSET or auid < self.min_auid or items <= 0:
            return None
        user = None
        if sep == 0x1D:  # ENRICHED: the resolved AUID="name" after the separator
            user = self._enriched_name(data, after, end)
        stop = start + _GROUP_SPAN
        g = [key, auid, user, items, [], 0, float(stamp), ident, base + stop, False]
        stop = min(stop, end)
        g[9] = self._collect(g, data, after, stop) or self._eoe(g, data, after, stop)
        return g

    def _fast_group(self, data, base, pos, key, after, end, start):
        """_open_group's result for a one-file event written in the kernel's layout, in one
        match; False where this cannot tell (the steps of _open_group then read the record).

        The same as those steps: the SYSCALL fields are those _SYSCALL_FAST_RE reads (the
        match ends before the key, and its fields have one way to match), and the PATH record
        is the event's first after the key (no "type=PATH" between the key and it) read by
        _PATH_KERNEL_RE at the same place, within the same span."""
        stop = start + _GROUP_SPAN
        m = _GROUP_FAST_RE.match(data, start, stop if stop < end else end)  # no min() call per event
        if m is None or m.end(5) > pos or m.group(4) != b"1":
            return False
        if data.find(b"type=PATH", after, m.start(6)) >= 0:
            return False
        ident, stamp, success, _items, auid, _path, inode, dev, mode, nametype = m.groups()
        auid = int(auid)
        if success != b"yes" or auid == AUID_UNSET or auid < self.min_auid:
            return None
        # ENRICHED: the resolved AUID="name" after the separator
        user = self._enriched_name(data, after, end) if data[after] == 0x1D else None
        fids = [(dev + b":" + inode).decode("ascii")] if nametype == b"NORMAL" and not mode.startswith(b"040") else []
        return [key, auid, user, 1, fids, 1, float(stamp), ident, base + stop, True]

    def _enriched_name(self, data, after, end):
        """The resolved ``AUID="name"`` after the 0x1d separator at ``after`` (None when unset).
        A name without its closing quote ends at the line's end: never in the next record, so it
        does not depend on where a read ended."""
        eol = data.find(b"\n", after, end)
        if eol < 0:
            eol = end
        q = data.find(b'AUID="', after, eol)
        if q > 0:
            close = data.find(b'"', q + 6, eol)
            name = data[q + 6 : close if close >= 0 else eol]
            if name != b"unset":
                user = self._names.get(name)
                if user is None:  # decoded once per name (the cache is bounded, see _NAMES)
                    user = name.decode("utf-8", "surrogateescape")
                    if len(self._names) >= _NAMES:
                        self._names.clear()
                    self._names[name] = user
                return user
        return None

    def _give_up_overdue(self):
        """Close groups whose whole span has been read, then the oldest open ones over MAX_PENDING."""
        pending = self.pending
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
            near = start + _NEAR
            if near < end:  # the first match: near the start, else in the rest of [start, end)
                p = data.find(needle, start, near)
                if p < 0:
                    p = data.find(needle, near - len(needle) + 1, end)
            else:
                p = data.find(needle, start, end)
            if p < 0:
                return False
            g[5] += 1
            start = p + len(needle)
            k = _PATH_KERNEL_RE.match(data, start - 1, end)
            if k is not None:
                inode, dev, mode, nametype = k.groups()
                if nametype == b"NORMAL" and not mode.startswith(b"040"):
                    g[4].append((dev + b":" + inode).decode("ascii"))
                continue
            h = _PATH_HEAD_RE.match(data, start - 1, end)
            if h is not None:
                eol = data.find(b"\n", h.end(), end)
                q = data.find(b" nametype=", h.end() - 1, eol)
                f = _NAMETYPE_RE.match(data, q, end) if q >= 0 and data.find(b"\x1d", h.end(), q) < 0 else None
                if f is not None:
                    inode, dev, mode = h.groups()
                    if f.group(1) == b"NORMAL" and not mode.startswith(b"040"):
                        g[4].append((dev + b":" + inode).decode("ascii"))
                    continue
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
