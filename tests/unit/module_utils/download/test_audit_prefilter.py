"""The audit parser skips unrelated records before parsing them (issue 15 point 9), and the
skipping changes nothing: a watched key inside another field's value, a record type name
inside a message, ENRICHED and RAW formats, CRLF and garbage lines are read exactly as a
record-by-record reading would read them, and the records and malformed lines are counted
the same way (against a plain reference count of line ends and of lines starting "type=")."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_agent_exact import path_rec, syscall
from test_window import GS

from ansible_collections.pii_guard.safeguards.plugins.module_utils.download import window as dw
from ansible_collections.pii_guard.safeguards.plugins.module_utils.download.sliding_window.sources import (
    audit as audit_src,
)

KEY = "pii_dl_citizens"


def reference_counts(data):
    """Records and lines that are not records, counted the plain way: every line end, and
    every line that does not start with "type="."""
    lines = data.count(b"\n")
    typed = data.count(b"\ntype=") + (1 if data.startswith(b"type=") else 0)
    return lines, max(lines - typed, 0)


def counts(data, pieces=1):
    p = dw.AuditParser([KEY])
    step = max(1, -(-len(data) // pieces))
    for i in range(0, len(data), step):
        p._count_records(data[i : i + step])
    return p.records, p.unusable["not_a_record"]


ATOMS = [
    b"\n",
    b"\r\n",
    b"type=",
    b"type",
    b"typ",
    b"\ntype",
    b"\ntype=",
    b"typo=",
    b" type=",
    b"x",
    b"=",
    b"\x00",
    b"\x1d",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(ATOMS), max_size=40))
def test_record_and_garbage_counts_equal_the_plain_count(atoms):
    data = b"".join(atoms)
    assert counts(data) == reference_counts(data)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\n",
        b"type=X\n",
        b"type\n",  # "type" without "=" is not a record
        b"type=A msg=audit(1.0:1): a=1\ntype\ntypo=1\ntype=\n\n",
        b"type=A x\r\ntype=B y\r\n\r\ngarbage\r\n",  # CRLF lines are records, the empty one is not
        b"x\ntype",  # ends inside a line, no "=" yet
        b"x\ntype=",
        b"\ntype\ntype\ntype=",
    ],
)
def test_counting_edge_cases(data):
    assert counts(data) == reference_counts(data)


def event(i, key=KEY, user="alice", auid=1001, **kw):
    stamp = "1764306000.%03d:%d" % (i, 100 + i)
    return [syscall(stamp, key, auid, 1, user, **kw), path_rec(stamp, 0, "/srv/pii/f%d" % i, 10 + i)]


def feed(lines, chunked=False):
    p = dw.AuditParser([KEY])
    data = ("\n".join(lines) + "\n").encode()
    if chunked:  # line by line: what a record-by-record reader sees
        out = []
        for line in data.splitlines(keepends=True):
            out.extend(p.feed_chunk(line))
    else:
        out = p.feed_chunk(data)
    out.extend(p.flush())
    return out, p


@pytest.mark.control("6-5.agent_running")
@pytest.mark.parametrize("chunked", [False, True])
def test_watched_key_inside_another_fields_value_is_not_an_event(chunked):
    lines = [
        # the key's text as a command name, in an event of another rule
        *[x.replace('comm="cat"', 'comm="%s"' % KEY) for x in event(1, key="other_key")],
        # as an executable path, hex-encoded as the kernel writes strings with a space or quote
        *[
            x.replace('exe="/usr/bin/cat"', "exe=" + ('/tmp/a key="%s"' % KEY).encode().hex().upper())
            for x in event(2, key="other_key")
        ],
        # inside the quoted message of a user-space record, ending the line
        "type=USER_CMD msg=audit(1764306000.003:103): pid=1 uid=0 auid=1001 ses=3 "
        'msg=\'cwd="/root" cmd=636174 res=success key="%s"\'' % KEY,
        # and, as the last field, in a record that is not a SYSCALL (rule loads log the key)
        'type=CONFIG_CHANGE msg=audit(1764306000.004:104): auid=1000 ses=1 op=add_rule key="%s"' % KEY,
        *event(5),
    ]
    ev, p = feed(lines, chunked)
    assert [(e[0], e[1], e[2], e[4]) for e in ev] == [(KEY, 1001, "alice", "fe:00:15")]
    assert p.malformed == 0 and p.records == len(lines)


@pytest.mark.control("6-5.agent_running")
@pytest.mark.parametrize("chunked", [False, True])
def test_record_type_names_inside_messages_are_not_records(chunked):
    s1 = "1764306000.001:101"
    lines = [
        # a user-space message that names record types and the event's own stamp
        "type=USER_END msg=audit(1764306000.000:100): pid=1 uid=0 auid=1001 ses=3 "
        "msg='op=x type=SYSCALL msg=audit(%s): type=PATH msg=audit(%s): inode=99 res=success'" % (s1, s1),
        *event(1),
        # a line that is not a record although a SYSCALL record of the key follows a space
        " " + event(2)[0],
        'garbage type=SYSCALL msg=audit(1764306000.003:103): items=1 auid=1001 key="%s"' % KEY,
    ]
    ev, p = feed(lines, chunked)
    assert [e[4] for e in ev] == ["fe:00:11"]
    assert p.unusable["not_a_record"] == 2 and p.malformed == 2
    assert p.records == len(lines)


@pytest.mark.control("6-5.agent_running")
@pytest.mark.parametrize("chunked", [False, True])
def test_enriched_and_raw_formats_give_the_same_events(chunked):
    enriched = event(1) + event(2, user="bob", auid=1002) + event(3, key="other_key")
    raw = [x.split(GS)[0] for x in enriched]
    ev_e, p_e = feed(enriched, chunked)
    ev_r, p_r = feed(raw, chunked)
    assert [(e[1], e[2], e[4]) for e in ev_e] == [(1001, "alice", "fe:00:11"), (1002, "bob", "fe:00:12")]
    assert [(e[1], e[2], e[4]) for e in ev_r] == [(1001, None, "fe:00:11"), (1002, None, "fe:00:12")]
    assert p_e.malformed == p_r.malformed == 0


@pytest.mark.control("6-5.agent_running")
@pytest.mark.parametrize("chunked", [False, True])
def test_crlf_and_garbage_lines_are_counted_as_before(chunked):
    lines = [
        *event(1),
        "",  # an empty line
        "typo=SYSCALL not a record",
        "type",  # a record cut before its "="
        "\x00\x00\x00",  # what a crash can leave in a log
        *[x + "\r" for x in event(2)],  # CRLF: still records (the CR ends the resolved names)
        *event(3),
    ]
    ev, p = feed(lines, chunked)
    data = ("\n".join(lines) + "\n").encode()
    assert (p.records, p.unusable["not_a_record"]) == reference_counts(data) == (len(lines), 4)
    assert [e[4] for e in ev] == ["fe:00:11", "fe:00:12", "fe:00:13"]


@pytest.mark.control("6-5.agent_running")
def test_events_and_counts_do_not_depend_on_the_chunking():
    rnd = random.Random(7)
    lines = []
    for i in range(60):
        lines += event(i, key=rnd.choice((KEY, "other_key")), per=rnd.random() < 0.3)
        if rnd.random() < 0.2:
            lines.append(rnd.choice(("garbage", "type", "", "typo=1", "type=USER_START msg=audit(1.0:1): x")))
    data = ("\n".join(lines) + "\n").encode()
    whole = dw.AuditParser([KEY])
    expected = whole.feed_chunk(data) + whole.flush()
    for _ in range(5):
        p, out, i = dw.AuditParser([KEY]), [], 0
        while i < len(data):  # whole lines, as the follower hands them over
            j = data.find(b"\n", i + rnd.randrange(1, 400))
            j = len(data) if j < 0 else j + 1
            out.extend(p.feed_chunk(data[i:j]))
            i = j
        out.extend(p.flush())
        assert out == expected
        assert (p.records, p.unusable) == (whole.records, whole.unusable)


# The record count reads b"\ntype=" in slices of _COUNT_SLICE bytes (each extended by five bytes
# so a needle across a slice boundary is counted in the slice where it starts): with tiny slices
# every boundary falls inside or next to a needle, and the counts must not change.
@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(ATOMS), max_size=60), st.integers(min_value=1, max_value=13))
def test_counts_do_not_depend_on_the_count_slices(atoms, size):
    data = b"".join(atoms)
    saved = audit_src._COUNT_SLICE
    audit_src._COUNT_SLICE = size
    try:
        got = counts(data)
    finally:
        audit_src._COUNT_SLICE = saved
    assert got == reference_counts(data)


def test_counts_of_a_large_mixed_log_with_garbage_at_every_slice_boundary():
    """A log of several slices, with lines that are not records and "type" without "=" placed
    across and next to each slice boundary: the counts are the plain ones."""
    rnd = random.Random(11)
    lines = []
    for i in range(3000):
        lines += event(i % 1000, key=rnd.choice((KEY, "other_key")), per=rnd.random() < 0.3)
        if rnd.random() < 0.1:
            lines.append(rnd.choice(("garbage", "type", "", "typo=1", "\r", "typ")))
    data = ("\n".join(lines) + "\n").encode()
    slice_ = audit_src._COUNT_SLICE
    for b in range(slice_, len(data), slice_):
        nl = data.find(b"\n", b - 8)
        data = data[: nl + 1] + b"type\n" + data[nl + 1 :]
    assert len(data) > 4 * slice_
    for pieces in (1, 3, 17):
        assert counts(data, pieces) == reference_counts(data)


# The watched keys are searched for in the same slices (each extended by the needle's length
# less one): with tiny slices every boundary cuts through a needle somewhere, and what is found
# must be every occurrence, in stream order, as a plain search over the whole data finds them.
KEY_ATOMS = [b' key="pii_a"', b' key="pii_ab"', b' key="pii_a', b' key="', b'"', b" ", b"pii_a", b"x", b"\n", b"\x1d"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(KEY_ATOMS), max_size=40), st.integers(min_value=1, max_value=30))
def test_key_hits_do_not_depend_on_the_slices(atoms, size):
    data = b"".join(atoms)
    p = dw.AuditParser(["pii_a", "pii_ab"])
    expected = sorted((m.start(), k, m.end()) for k, needle in p.needles for m in re.finditer(re.escape(needle), data))
    saved = audit_src._COUNT_SLICE
    audit_src._COUNT_SLICE = size
    try:
        for end in {len(data), len(data) // 2}:
            assert p._hits(data, end) == [h for h in expected if h[2] <= end]
    finally:
        audit_src._COUNT_SLICE = saved


@pytest.mark.control("6-5.agent_running")
@pytest.mark.parametrize("size", [7, 50, 333])
def test_events_do_not_depend_on_the_slices(size):
    """A log of real-shaped events and garbage read with small slices gives the events and
    counts of the default slices (the key needle is 22 bytes: 7 cuts through every one)."""
    rnd = random.Random(size)
    lines = []
    for i in range(300):
        lines += event(i, key=rnd.choice((KEY, "other_key")), per=rnd.random() < 0.3)
        if rnd.random() < 0.1:
            lines.append(rnd.choice(("garbage", "type", "", 'x key="%s"' % KEY)))
    data = ("\n".join(lines) + "\n").encode()
    whole = dw.AuditParser([KEY])
    expected = whole.feed_chunk(data) + whole.flush()
    assert len(expected) > 100
    saved = audit_src._COUNT_SLICE
    audit_src._COUNT_SLICE = size
    try:
        p = dw.AuditParser([KEY])
        assert p.feed_chunk(data) + p.flush() == expected
        assert (p.records, p.unusable) == (whole.records, whole.unusable)
    finally:
        audit_src._COUNT_SLICE = saved


def test_line_ends_after_the_end_given_are_not_counted():
    """feed_chunk(data, end) counts the lines of data[:end] only, whatever follows end."""
    data = b"type=A msg=audit(1.0:1): x\ngarbage\ntype=B msg=audit(1.0:2): y\nmore\ntype=C z\n"
    for end in [i + 1 for i, c in enumerate(data) if c == 0x0A]:
        p = dw.AuditParser([KEY])
        p.feed_chunk(data, end)
        assert (p.records, p.unusable["not_a_record"]) == reference_counts(data[:end])
