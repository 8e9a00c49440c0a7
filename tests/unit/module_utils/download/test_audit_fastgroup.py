"""The audit parser's one-match path for a whole one-file event (_fast_group, issue 15 point 9)
gives what its step-by-step reading gives: the same events in the same order, the same record
and unusable counts, on generated interleaved logs with unusual records (per=, shuffled fields,
two-PATH events, missing PATH records, directories, failed opens, garbage), on records built to
sit at the edge of the fast path (a "type=PATH" text before the event's PATH record, a PATH of
another event in between, RAW format, no CWD, obj= in PATH, items=01, a key that is not the
last field), and whatever the chunking."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_agent_exact import generate, path_rec, syscall
from test_window import GS

from ansible_collections.pii_guard.safeguards.plugins.module_utils.download import window as dw

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
        kind = rnd.randrange(12)
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
        lines += [x for x in (sc, cwd, pth) if x is not None]
        lines.append("type=EOE msg=audit(%s): " % stamp)
        if rnd.random() < 0.1:
            lines.append(rnd.choice(("garbage", "type", "", "type=PATH msg=audit(%s): item=0" % stamp)))
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("seed", range(8))
def test_generated_interleaved_logs_read_the_same_with_and_without_the_fast_path(seed):
    data = generate(seed)
    rnd = random.Random(seed)
    taken = same(data)
    assert any(taken) and not all(taken)  # both ways were exercised
    for _ in range(3):
        same(data, [rnd.randrange(len(data)) for _ in range(rnd.randrange(1, 40))])


@pytest.mark.parametrize("seed", range(8))
def test_events_at_the_edge_of_the_fast_path_read_the_same(seed):
    rnd = random.Random(100 + seed)
    data = edge_events(rnd)
    taken = same(data)
    assert any(taken) and not all(taken)
    for _ in range(3):
        same(data, [rnd.randrange(len(data)) for _ in range(rnd.randrange(1, 60))])


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=10**6), st.lists(st.integers(min_value=0, max_value=40000), max_size=30))
def test_any_mix_and_any_chunking_read_the_same(seed, cuts):
    rnd = random.Random(seed)
    data = generate(seed, events=120) + edge_events(rnd, 40)
    same(data, cuts)
