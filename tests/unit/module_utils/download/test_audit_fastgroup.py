"""The audit parser's one-match path for a whole one-file event (_fast_group, issue 15 point 9)
gives what its step-by-step reading gives: the same events in the same order, the same record
and unusable counts, on generated interleaved logs with unusual records (per=, shuffled fields,
two-PATH events, missing PATH records, directories, failed opens, garbage), on records built to
sit at the edge of the fast path (a "type=PATH" text before the event's PATH record, a PATH of
another event in between, RAW format, no CWD, obj= in PATH, items=01, a key that is not the
last field), and whatever the chunking."""

from __future__ import annotations

import json
import os
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_agent_exact import NO_IDLE, agent_mod, config, drain, generate, kill, path_rec, syscall
from test_window import GS

from ansible_collections.pii_guard.safeguards.plugins.module_utils.download import window as dw
from ansible_collections.pii_guard.safeguards.plugins.module_utils.download.sliding_window.sources import (
    audit as dw_audit,
)

KEYS = ["pii_dl_citizens", "pii_dl_tax"]


def parse(data, fast, cuts=()):
    """Events, records and unusable counts of ``data`` fed in pieces ending at line ends
    after each offset of ``cuts``; ``fast`` switches the one-match path."""
    p = dw.AuditParser(KEYS)
    p.fast_groups = fast
    taken = []
    if fast:
        real = p._fast_group

        def spy(*a):
            g = real(*a)
            taken.append(g is not False)
            return g

        p._fast_group = spy
    out, i = [], 0
    for c in [*sorted(cuts), len(data)]:
        j = data.find(b"\n", max(c, i))
        j = len(data) if j < 0 else j + 1
        if j > i:
            out.extend(p.feed_chunk(data[i:j]))
            i = j
    out.extend(p.flush())
    return out, p.records, dict(p.unusable), taken


def same(data, cuts=()):
    fast = parse(data, True, cuts)
    slow = parse(data, False, cuts)
    assert fast[:3] == slow[:3]
    return fast[3]


def same_whole_and_chunked(data, rnd, max_cuts):
    """same() on the whole log, where both ways must be taken, then on three random chunkings."""
    taken = same(data)
    assert any(taken) and not all(taken)  # both ways were exercised
    for _ in range(3):
        same(data, [rnd.randrange(len(data)) for _ in range(rnd.randrange(1, max_cuts))])


def edge_events(rnd, n=120):
    """One-file events, each altered in one way that the fast path must either read exactly
    as the steps do or leave to them."""
    lines = []
    t = 1764306000.0
    for i in range(n):
        t += 0.1
        stamp = "%.3f:%d" % (t, 7000 + i)
        other = "%.3f:%d" % (t, 9000 + i)
        user = rnd.choice(("alice", "bob", "unset", "名前"))
        sc = syscall(stamp, rnd.choice([*KEYS, "other_key"]), rnd.choice((1001, 1002, 999)), 1, user)
        cwd = 'type=CWD msg=audit(%s): cwd="/home/x"' % stamp
        pth = path_rec(stamp, 0, "/srv/pii/f%d" % (i % 40), i % 40, mode=rnd.choice(("0100644", "040755")))
        kind = rnd.randrange(17)
        if kind == 0:  # "type=PATH" text after the key, before the record (ENRICHED part)
            sc = sc.replace('UID="%s"' % user, 'UID="type=PATH msg=audit(%s): x"' % stamp, 1)
        elif kind == 1:  # another event's PATH record between the SYSCALL and this one's
            cwd = cwd + "\n" + path_rec(other, 0, "/srv/pii/o", 77)
        elif kind == 2:  # RAW format: nothing after the key
            sc = sc.split(GS, 1)[0]
            pth = pth.split(GS, 1)[0]
        elif kind == 3:  # no CWD record
            cwd = None
        elif kind == 4:  # an SELinux label in the PATH record
            pth = pth.replace(" nametype=", " obj=system_u:object_r:etc_t:s0 nametype=")
        elif kind == 5:  # items written with a leading zero
            sc = sc.replace(" items=1 ", " items=01 ")
        elif kind == 6:  # the key is not the last field of the raw part
            sc = sc.replace(' key="', ' subj2=x key="', 1).replace('"%sARCH' % GS, '" tail=1%sARCH' % GS, 1)
        elif kind == 7:  # a PATH record in another layout (nametype before inode)
            pth = (
                'type=PATH msg=audit(%s): item=0 name="/srv/pii/g" nametype=NORMAL inode=%d dev=fe:00 '
                "mode=0100644 ouid=0 ogid=0 rdev=00:00" % (stamp, 200 + i)
            )
        elif kind == 8:  # the CWD record of another event
            cwd = 'type=CWD msg=audit(%s): cwd="/"' % other
        elif kind == 9:  # a truncated PATH record
            pth = pth[: rnd.randrange(30, len(pth))]
        elif kind == 10:  # the PATH record first, then the SYSCALL record
            sc, pth = pth, sc
        elif kind == 12:  # the resolved AUID="name" cut before its closing quote
            sc = sc[: sc.index('AUID="') + 6] + user
        elif kind == 13:  # a 0x1d byte in the raw part, before the key
            sc = sc.replace(" ses=", " x=1%sy ses=" % GS, 1)
        elif kind == 14:  # a per= field and an empty resolved name
            sc = sc.replace(" success=", " per=400000 success=", 1).replace('AUID="%s"' % user, 'AUID=""', 1)
        elif kind == 15:  # AUID="..." in the raw part (a command named so), the real one after the key
            sc = sc.replace('comm="cat"', 'comm="AUID=x"', 1)
        elif kind == 16:  # no PATH record, its EOE comes
            pth = None
        lines += [x for x in (sc, cwd, pth) if x is not None]
        lines.append("type=EOE msg=audit(%s): " % stamp)
        if rnd.random() < 0.1:
            lines.append(rnd.choice(("garbage", "type", "", "type=PATH msg=audit(%s): item=0" % stamp)))
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("seed", range(8))
def test_generated_interleaved_logs_read_the_same_with_and_without_the_fast_path(seed):
    data = generate(seed)
    rnd = random.Random(seed)
    same_whole_and_chunked(data, rnd, 40)


@pytest.mark.parametrize("seed", range(8))
def test_events_at_the_edge_of_the_fast_path_read_the_same(seed):
    rnd = random.Random(100 + seed)
    data = edge_events(rnd)
    same_whole_and_chunked(data, rnd, 60)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=10**6), st.lists(st.integers(min_value=0, max_value=40000), max_size=30))
def test_any_mix_and_any_chunking_read_the_same(seed, cuts):
    rnd = random.Random(seed)
    data = generate(seed, events=120) + edge_events(rnd, 40)
    same(data, cuts)


def read_split(path, data, cut, fast):
    """The log written in two pieces cut at byte ``cut`` and read by the agent's Follower after
    each: what it gives (events, records, unusable counts) and what a checkpoint after the first
    read would save (the follower's offset, the parser's state)."""
    path.write_bytes(data[:cut])
    f = agent_mod.Follower(str(path), from_start=True)
    p = dw.AuditParser(KEYS)
    p.fast_groups = fast
    out = []

    def read():
        while True:
            chunk, end = f.read_block()
            if not end:
                return
            out.extend(p.feed_chunk(chunk, end))

    read()
    checkpoint = (f.offset, p.dump())
    with open(path, "ab") as fh:
        fh.write(data[cut:])
    read()
    f.close()
    out.extend(p.flush())
    return out, p.records, dict(p.unusable), checkpoint


def test_a_log_cut_at_every_byte_reads_the_same_through_the_follower(tmp_path):
    """Records split across two reads at every byte of a small log of edge events, garbage, a
    line without its end: the same events, counts and checkpoints with and without the fast path."""
    rnd = random.Random(5)
    data = edge_events(rnd, 6) + b"garbage\ntype=EOE msg=audit(1.0:1): \n" + edge_events(rnd, 4) + b"type=PATH cut"
    log = tmp_path / "audit.log"
    whole = read_split(log, data, len(data), True)
    assert whole[0] and whole[1] == data.count(b"\n")
    for cut in range(len(data) + 1):
        assert read_split(log, data, cut, True) == read_split(log, data, cut, False)


def long_line_events(rnd):
    """Events with lines far longer than a read or than the group span (_GROUP_SPAN)."""
    big = 3 * dw_audit._GROUP_SPAN // 2
    lines = []
    for i in range(12):
        stamp = "1764306000.%03d:%d" % (i, 500 + i)
        sc = syscall(stamp, KEYS[i % 2], 1001, 1, "alice")
        cwd = 'type=CWD msg=audit(%s): cwd="/home/x"' % stamp
        pth = path_rec(stamp, 0, "/srv/pii/f%d" % i, 30 + i)
        kind = i % 6
        if kind == 1:  # a long resolved tail on the SYSCALL line
            sc += ' X="%s"' % ("y" * big)
        elif kind == 2:  # a long CWD record: the PATH record starts beyond the span
            cwd = "type=CWD msg=audit(%s): cwd=%s" % (stamp, "2F" * big)
        elif kind == 3:  # a long garbage line between the SYSCALL and its PATH record
            cwd += "\n" + "z" * big
        elif kind == 4:  # a long hex-encoded name in the PATH record
            pth = pth.replace('name="/srv/pii/f%d"' % i, "name=" + "41" * (big // 4))
        elif kind == 5:  # a long raw field before the key
            sc = sc.replace(' comm="cat"', " proctitle=" + "61" * (big // 4), 1)
        lines += [sc, cwd, pth, "type=EOE msg=audit(%s): " % stamp]
        if rnd.random() < 0.3:
            lines.append("garbage " * rnd.randrange(1, 2000))
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("seed", range(3))
def test_very_long_lines_read_the_same(seed):
    rnd = random.Random(300 + seed)
    data = long_line_events(rnd)
    same_whole_and_chunked(data, rnd, 30)


def run_rotated(tmp, data, cut, fast, restart):
    """An agent reads data[:cut] (cut at a line end) from audit.log, the log is rotated (renamed
    to audit.log.1, a new audit.log gets the rest), and the agent reads on, or is killed after
    a checkpoint and a new one resumes: its counts, windows and saved checkpoint."""
    tmp.mkdir()
    log = tmp / "audit.log"
    log.write_bytes(data[:cut])
    cfg = config(tmp, **NO_IDLE)

    def start():
        a = agent_mod.Agent(cfg, from_start=True)
        a.audit.fast_groups = fast
        return a

    a = start()
    drain(a)
    a.save_state()
    os.rename(log, str(log) + ".1")
    log.write_bytes(data[cut:])
    if restart:
        kill(a)
        a = start()
    drain(a)
    a.save_state()
    saved = json.loads((tmp / "state.json").read_text())
    del saved["saved"]  # the time of the save, and the file names and inodes of this directory
    saved["files"] = sorted(
        (name.rsplit("/", 1)[1], {k: v for k, v in f.items() if k != "inode"}) for name, f in saved["files"].items()
    )
    saved["unusable"] = sorted((name.rsplit("/", 1)[1], c) for name, c in saved.get("unusable", {}).items())
    return a.audit.records, a.audit.unusable, a.audit.dump(), a.windows.dump(), a.events, saved


@pytest.mark.parametrize("restart", [False, True])
def test_rotation_at_every_line_end_reads_the_same(tmp_path, restart):
    rnd = random.Random(9)
    data = edge_events(rnd, 8) + b"garbage\n" + edge_events(rnd, 8)
    ends = [i + 1 for i, c in enumerate(data) if c == 0x0A]
    assert run_rotated(tmp_path / "ref", data, len(data), True, False)[4] > 0
    for n, cut in enumerate([0, *ends]):
        got = [run_rotated(tmp_path / ("%s%d" % (fast, n)), data, cut, fast, restart) for fast in (True, False)]
        assert got[0] == got[1]
        assert got[0][0] == data.count(b"\n")


@pytest.mark.parametrize("fast", [True, False])
def test_a_resolved_name_without_its_closing_quote_ends_at_its_line_whatever_the_chunking(fast):
    # Found by the cut-at-every-byte comparison: the name ran on into the next records, up to the
    # byte before the end of whatever had been read, so one user's reads split over several names.
    cut = syscall("1700000000.100:7", "pii_dl_citizens", 1001, 1, "alice")
    cut = cut[: cut.index('AUID="') + 6] + "alice"
    log = "\n".join(
        [
            cut,
            'type=CWD msg=audit(1700000000.100:7): cwd="/srv"',
            path_rec("1700000000.100:7", 0, "/srv/pii/r1.csv", 11),
            "type=PROCTITLE msg=audit(1700000000.100:7): proctitle=636174",
            syscall("1700000001.100:8", "pii_dl_citizens", 1002, 1, "bob"),
            path_rec("1700000001.100:8", 0, "/srv/pii/r2.csv", 12),
            "",
        ]
    ).encode()
    lines = [i for i in range(len(log)) if log[i : i + 1] == b"\n"]
    for cuts in ((), lines, lines[:1], lines[2:3]):
        events, _records, unusable, _taken = parse(log, fast, cuts)
        assert [e[2] for e in events] == ["alice", "bob"], (cuts, events)
        assert not any(unusable.values()), unusable
