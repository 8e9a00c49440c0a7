"""The download alert agent is exact (clause 6-5, issue 15 points 1-5): audit records parsed by
the kernel's field grammar, every unusable record counted by reason, an exact checkpoint
(kill -9 at random byte offsets against an independent oracle), a line cap, one global
entry budget, escaped log fields and a corrupt state file set aside.

The agent runs in-process here (loaded from roles/download_alert/files, as shipped) where a
kill is "drop the process's memory, keep its files"; test_agent.py runs it as a
real process."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import pathlib
import random
import re
import signal
import socket
import subprocess
import time

import pytest
from test_window import GS, oracle

from ansible_collections.pii_guard.safeguards.plugins.module_utils.download import window as dw

ROOT = pathlib.Path(__file__).resolve().parents[4]
AGENT = ROOT / "roles" / "download_alert" / "files" / "pii-download-alert"
PY = "/usr/bin/python3"


def load_agent():
    loader = importlib.machinery.SourceFileLoader("pii_download_alert_agent", str(AGENT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


agent_mod = load_agent()


# ----------------------------------------------------------------------------- log generator
def syscall(stamp, key, auid, items, user, success="yes", per=False, shuffle=None):
    fields = [
        "arch=c000003e",
        "syscall=257",
        *(["per=400000"] if per else []),
        "success=%s" % success,
        "exit=3",
        "a0=ffffff9c",
        "a1=7ffd2c3b4e10",
        "a2=0",
        "a3=0",
        "items=%d" % items,
        "ppid=1234",
        "pid=1240",
        "auid=%d" % auid,
        "uid=%d" % auid,
        "gid=%d" % auid,
        "euid=%d" % auid,
        "suid=%d" % auid,
        "fsuid=%d" % auid,
        "egid=%d" % auid,
        "sgid=%d" % auid,
        "fsgid=%d" % auid,
        "tty=pts0",
        "ses=3",
        'comm="cat"',
        'exe="/usr/bin/cat"',
        "subj=unconfined",
    ]
    if shuffle is not None:
        shuffle.shuffle(fields)
    return 'type=SYSCALL msg=audit(%s): %s key="%s"%sARCH=x86_64 SYSCALL=openat AUID="%s" UID="%s"' % (
        stamp,
        " ".join(fields),
        key,
        GS,
        user,
        user,
    )


def path_rec(stamp, item, name, inode, mode="0100644", nametype="NORMAL"):
    return (
        'type=PATH msg=audit(%s): item=%d name="%s" inode=%d dev=fe:00 mode=%s ouid=0 ogid=0 rdev=00:00 '
        'nametype=%s cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0%sOUID="root" OGID="root"'
        % (stamp, item, name, inode, mode, nametype, GS)
    )


KEYS = {"pii_dl_citizens": "citizens", "pii_dl_tax": "tax"}
USERS = {1001: "alice", 1002: "bob", 1003: "carol", 1004: "dave", 0: "root", 4294967295: "unset"}


def generate(seed, events=700):
    """An interleaved audit log: several users, two watched keys and one other, optional
    per= fields, shuffled field order, directory opens, failed opens, daemons, two-PATH
    events, events whose last PATH never comes (with and without EOE), garbage lines."""
    rnd = random.Random(seed)
    out = []
    open_groups = []  # records still to write, per group
    serial = 5000
    t = 1764306000.0
    for _ in range(events):
        t += rnd.choice((0.05, 0.1, 0.3, 0.6))
        serial += 1
        stamp = "%.3f:%d" % (t, serial)
        auid = rnd.choice((1001, 1001, 1002, 1003, 1004, 0, 4294967295))
        key = rnd.choice(("pii_dl_citizens", "pii_dl_citizens", "pii_dl_tax", "other_key"))
        items = rnd.choice((1, 1, 1, 2))
        recs = [
            syscall(
                stamp,
                key,
                auid,
                items,
                USERS[auid],
                success=rnd.choice(("yes",) * 9 + ("no",)),
                per=rnd.random() < 0.3,
                shuffle=rnd if rnd.random() < 0.2 else None,
            ),
            'type=CWD msg=audit(%s): cwd="/home/x"' % stamp,
        ]
        paths = []
        for i in range(items):
            ino = rnd.randrange(1, 60)
            mode = "040755" if rnd.random() < 0.05 else "0100644"
            paths.append(path_rec(stamp, i, "/srv/pii/f%d" % ino, ino, mode=mode))
        missing = rnd.random() < 0.04
        if missing:
            paths = paths[:-1]
        recs += paths
        recs.append("type=PROCTITLE msg=audit(%s): proctitle=636174" % stamp)
        if not missing or rnd.random() < 0.5:
            recs.append("type=EOE msg=audit(%s): " % stamp)
        open_groups.append(recs)
        # write some records of the open groups (interleaving up to three events)
        while open_groups and (len(open_groups) > 3 or rnd.random() < 0.6):
            g = rnd.choice(open_groups) if rnd.random() < 0.3 else open_groups[0]
            out.append(g.pop(0))
            if not g:
                open_groups.remove(g)
        r = rnd.random()
        if r < 0.05:
            out.append("garbage line %d" % serial)
        elif r < 0.15:
            out.append(
                "type=USER_START msg=audit(%.3f:%d): pid=1 uid=0 auid=1001 ses=3 msg='op=PAM:session_open res=success'"
                % (t, serial + 100000)
            )
    for g in open_groups:
        out.extend(g)
    return ("\n".join(out) + "\n").encode()


# ----------------------------------------------------------------------------- oracle
TOKEN = re.compile(r'([A-Za-z0-9_]+)=("[^"]*"|\S+)')


def oracle_alerts(log, datasets, min_auid=1000):
    """Independent of the agent's parser: every line split into its key=value tokens, grouped
    by serial, the events of each watched successful SYSCALL (in file order) counted by the
    brute-force window oracle of test_window."""
    groups, order = {}, []
    for line in log.decode().split("\n"):
        m = re.match(r"type=([A-Z_]+) msg=audit\(([0-9.]+):([0-9]+)\): (.*)$", line)
        if not m:
            continue
        typ, stamp, serial, rest = m.groups()
        raw = rest.split(GS)[0]
        fields = {k: v.strip('"') for k, v in TOKEN.findall(raw)}
        names = dict(TOKEN.findall(rest.split(GS)[1])) if GS in rest else {}
        g = groups.get(serial)
        if typ == "SYSCALL":
            groups[serial] = g = {"t": float(stamp), "sys": fields, "names": names, "paths": []}
            order.append(serial)
        elif typ == "PATH" and g is not None:
            g["paths"].append(fields)
    events = []
    for serial in order:
        g = groups[serial]
        f = g["sys"]
        ds = KEYS.get(f.get("key"))
        auid = int(f["auid"])
        if ds is None or f["success"] != "yes" or auid == 4294967295 or auid < min_auid:
            continue
        user = g["names"].get("AUID", "").strip('"')
        for p in g["paths"][: int(f["items"])]:
            if p["nametype"] == "NORMAL" and not p["mode"].startswith("040"):
                events.append((ds, user, g["t"], 1, "%s:%s" % (p["dev"], p["inode"])))
    return [(ds, user, c) for _i, ds, user, c in oracle(datasets, events)], len(events)


DATASETS = [
    {"name": "citizens", "source": "audit", "paths": ["/srv/pii"], "threshold": 12, "window": 20},
    {"name": "tax", "source": "audit", "paths": ["/srv/tax"], "key": "pii_dl_tax", "threshold": 8, "window": 15},
]


def config(tmp, **extra):
    cfg = {
        "audit_log": str(tmp / "audit.log"),
        "state_file": str(tmp / "state.json"),
        "alert_log": str(tmp / "alerts.jsonl"),
        "checkpoint_interval": 1,
        "channels": {"journal": False, "session": False, "webhook": None},
        "datasets": [dict(d, paths=[str(tmp)]) for d in DATASETS],  # --check-config wants them to exist
    }
    cfg.update(extra)
    return cfg


def alerts_of(tmp):
    p = tmp / "alerts.jsonl"
    if not p.exists():
        return []
    return [json.loads(x) for x in p.read_text().splitlines()]


def kill(agent):
    """What SIGKILL leaves: the files; nothing in memory is saved."""
    if agent.audit is not None and agent.audit_follower.fh is not None:
        agent.audit_follower.fh.close()


def drain(agent):
    while agent.step():
        pass


# in-process the idle release (group_wait) would depend on how fast this machine runs the test
NO_IDLE = {"group_wait": 3600}


def run_with_kills(tmp, log, seed, kills):
    """Append the log in pieces cut at random bytes; save and kill -9 at random points."""
    rnd = random.Random(seed)
    cuts = sorted(rnd.sample(range(1, len(log)), kills * 3))
    kill_at = set(rnd.sample(cuts, kills))
    agent = agent_mod.Agent(config(tmp, **NO_IDLE), from_start=True)
    done = 0
    with open(tmp / "audit.log", "ab") as fh:
        for cut in [*cuts, len(log)]:
            fh.write(log[done:cut])
            fh.flush()
            done = cut
            drain(agent)
            if rnd.random() < 0.5:
                agent.save_state()
            if cut in kill_at:
                if rnd.random() < 0.3:  # killed while writing the next checkpoint
                    (tmp / "state.json.tmp").write_bytes(b'{"version": 2, "fi')
                kill(agent)
                agent = agent_mod.Agent(config(tmp, **NO_IDLE), from_start=True)
    drain(agent)
    agent.save_state()
    return agent


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.control("6-5.agent_running")
def test_kill_9_at_random_bytes_matches_the_oracle_and_an_uninterrupted_run(tmp_path, seed):
    log = generate(seed)
    datasets = {d["name"]: d for d in DATASETS}
    expected, n_events = oracle_alerts(log, datasets)
    assert len(expected) >= 5 and n_events > 300  # the log exercises the windows

    whole = tmp_path / "whole"
    whole.mkdir()
    (whole / "audit.log").write_bytes(log)
    a = agent_mod.Agent(config(whole, **NO_IDLE), from_start=True)
    drain(a)
    a.save_state()
    got = [(x["dataset"], x["user"], x["count"]) for x in alerts_of(whole)]
    assert got == expected

    for run in range(4):  # 4 x 60 kills at random bytes
        d = tmp_path / ("killed%d" % run)
        d.mkdir()
        (d / "audit.log").touch()
        b = run_with_kills(d, log, seed * 100 + run, kills=60)
        killed = [(x["dataset"], x["user"], x["count"]) for x in alerts_of(d)]
        assert killed == expected, "run %d: over %s, under %s" % (
            run,
            [x for x in killed if x not in expected],
            [x for x in expected if x not in killed],
        )
        assert b.windows.dump() == a.windows.dump()  # nothing re-counted, nothing lost
        assert b.audit.unusable == a.audit.unusable  # not even the garbage counted twice
        assert b.audit.records == a.audit.records == log.count(b"\n")


@pytest.mark.control("6-5.agent_running")
def test_per_field_and_any_field_order_are_parsed():
    p = dw.AuditParser(["pii_dl_citizens"])
    lines = []
    for i, (per, shuffle) in enumerate([(True, None), (False, random.Random(4)), (True, random.Random(5))]):
        stamp = "1764306000.%03d:%d" % (i, 100 + i)
        lines += [
            syscall(stamp, "pii_dl_citizens", 1001, 1, "alice", per=per, shuffle=shuffle),
            path_rec(stamp, 0, "/srv/pii/a%d" % i, 10 + i),
        ]
    ev = p.feed_chunk(("\n".join(lines) + "\n").encode())
    assert [e[4] for e in ev] == ["fe:00:10", "fe:00:11", "fe:00:12"]
    assert p.malformed == 0


@pytest.mark.control("6-5.agent_running")
def test_unusable_records_are_counted_by_reason():
    p = dw.AuditParser(["pii_dl_citizens"])
    s1, s2, s3 = "1764306000.001:1", "1764306000.002:2", "1764306000.003:3"
    lines = [
        syscall(s1, "pii_dl_citizens", 1001, 1, "alice").replace(" auid=1001", ""),  # no auid
        syscall(s2, "pii_dl_citizens", 1001, 1, "alice").replace("items=1", "items=x"),
        syscall(s3, "pii_dl_citizens", 1001, 2, "alice"),
        path_rec(s3, 0, "/srv/pii/a", 5).replace(" nametype=NORMAL", ""),  # PATH without nametype
        path_rec(s3, 1, "/srv/pii/b", 6).replace(" mode=0100644", " mode=zz"),
        "not a record",
    ]
    assert p.feed_chunk(("\n".join(lines) + "\n").encode()) == []
    assert p.unusable["syscall_fields"] == 2 and p.unusable["path_fields"] == 2
    assert p.unusable["not_a_record"] == 1
    # a watched event whose PATH never comes is given up after its span, and counted
    stamp = "1764306001.000:9"
    p.feed_chunk((syscall(stamp, "pii_dl_citizens", 1001, 1, "alice") + "\n").encode())
    assert p.pending
    p.feed_chunk(b"type=USER_START msg=audit(1764306001.000:10): pid=1\n" * 2000)
    assert not p.pending and p.unusable["incomplete_group"] == 1


@pytest.mark.control("6-5.agent_running")
def test_a_path_arriving_after_idle_is_not_lost():
    p = dw.AuditParser(["pii_dl_citizens"])
    stamp = "1764306000.001:1"
    assert p.feed_chunk((syscall(stamp, "pii_dl_citizens", 1001, 1, "alice") + "\n").encode()) == []
    q = dw.AuditParser(["pii_dl_citizens"])
    q.load(json.loads(json.dumps(p.dump())))  # a restart (or any idle time) in between
    ev = q.feed_chunk((path_rec(stamp, 0, "/srv/pii/a", 7) + "\n").encode())
    assert [e[4] for e in ev] == ["fe:00:7"] and q.malformed == 0


@pytest.mark.control("6-5.agent_running")
def test_released_on_idle_then_late_paths_count_once():
    p = dw.AuditParser(["pii_dl_citizens"])
    stamp = "1764306000.001:1"
    head = syscall(stamp, "pii_dl_citizens", 1001, 2, "alice") + "\n" + path_rec(stamp, 0, "/srv/pii/a", 7) + "\n"
    assert p.feed_chunk(head.encode()) == []
    assert [e[4] for e in p.release()] == ["fe:00:7"]  # the input went idle: counted now
    q = dw.AuditParser(["pii_dl_citizens"])
    q.load(json.loads(json.dumps(p.dump())))  # and a restart in between
    late = path_rec(stamp, 1, "/srv/pii/b", 8) + "\n" + path_rec(stamp, 0, "/srv/pii/a", 7) + "\n"
    assert [e[4] for e in q.feed_chunk(late.encode())] == ["fe:00:8"]  # the late one, once
    assert not q.late and q.malformed == 0


# ----------------------------------------------------------------------------- line cap, budget
@pytest.mark.control("6-5.agent_running")
def test_line_cap_counts_and_skips_and_never_buffers_more(tmp_path):
    p = tmp_path / "log"
    p.write_bytes(b"")
    f = agent_mod.Follower(str(p), from_start=True, max_line=1000)
    with open(p, "ab") as fh:
        fh.write(b"x" * 700)
        fh.flush()
        assert f.read_chunk() == b"" and len(f.buf) == 700
        for _ in range(50):  # an unterminated line growing far past the cap
            fh.write(b"y" * 900)
            fh.flush()
            assert f.read_chunk() == b""
            assert len(f.buf) <= 1000
        fh.write(b"end of the long line\nok 1\n" + b"z" * 1500 + b"\nok 2\n")
        fh.flush()
        got = b""
        for _ in range(10):
            got += f.read_chunk()
    assert got == b"ok 1\nok 2\n"
    assert f.too_long == 2


@pytest.mark.control("6-5.agent_running")
def test_a_96_mib_line_does_not_grow_the_agent_and_it_still_alerts(tmp_path):
    """As a real process on Debian's python3: the line is skipped, memory stays small."""
    from test_agent import Lab

    lab = Lab(tmp_path)
    lab.start()
    with open(lab.audit_log, "ab") as fh:
        block = b"A" * (1 << 20)
        for _ in range(96):
            fh.write(block)
    lab.quiet(3)
    with open(lab.audit_log, "ab") as fh:
        fh.write(b"\n")
    lab.read_files(100)
    lab.wait_for(lambda: lab.alert_lines(), timeout=30, what="alert after the long line")
    status = pathlib.Path("/proc/%d/status" % lab.proc.pid).read_text()
    hwm_kb = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))
    assert hwm_kb < 64 * 1024, "peak RSS %d kB" % hwm_kb
    lab.proc.send_signal(signal.SIGTERM)
    assert lab.proc.wait(10) == 0
    lab.stderr.close()
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["unusable"][str(lab.audit_log)]["line_too_long"] == 1
    assert [a["count"] for a in lab.alert_lines()] == [100]


@pytest.mark.control("6-5.agent_running")
def test_global_entry_budget_evicts_least_recent_and_says_so(tmp_path):
    w = dw.SlidingWindows({"f": {"source": "audit", "threshold": 40, "window": 600}}, max_entries=100)
    for u in range(10):
        for i in range(30):
            w.add("f", "u%d" % u, 1000.0 + u, 1, "8:%d" % i)
            assert w.entries <= 100
    assert w.entries == sum(len(x.items) for x in w.keys.values()) == 90
    assert w.evicted_keys == 7 and list(w.keys) == [("f", "u7"), ("f", "u8"), ("f", "u9")]
    # the agent says so in the journal (stderr with a priority prefix)
    from test_agent import Lab

    lab = Lab(tmp_path, max_entries=150)
    lab.start()
    for u in range(4):
        lab.read_files(60, user="user%d" % u, auid=2000 + u)
    lab.quiet(2.5)
    lab.stop()
    err = (tmp_path / "agent.err").read_text()
    assert re.search(r"^<4>memory budget reached \(max_keys=100000, max_entries=150\): dropped \d+ ", err, re.M), err


@pytest.mark.control("6-5.agent_config")
def test_threshold_above_the_budget_is_refused():
    cfg = {"max_entries": 50, "datasets": [dict(DATASETS[0], threshold=51)]}
    errs = dw.validate_config(cfg, check_paths=False)
    assert errs == [
        "datasets[0] (citizens): threshold 51 exceeds max_entries 50 (one user's window must fit the budget)"
    ]


@pytest.mark.control("6-5.agent_running")
def test_emptied_windows_are_dropped_on_save():
    w = dw.SlidingWindows({"f": {"source": "audit", "threshold": 5, "window": 10}})
    w.add("f", "old", 100.0, 1, "1:1")
    w.add("f", "new", 200.0, 1, "1:2")
    assert w.sweep() == 1 and list(w.keys) == [("f", "new")] and w.entries == 1


# ----------------------------------------------------------------------------- escaping
@pytest.mark.control("6-5.agent_running")
def test_escape_covers_every_control_character():
    for c in [*range(0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029]:
        out = dw.escape("a%sb" % chr(c))
        assert re.fullmatch(r"a\\(x[0-9a-f]{2}|u[0-9a-f]{4})b", out), (c, out)
    assert dw.escape("a\\x0a") == "a\\x5cx0a"  # an escape cannot be forged either
    assert dw.escape("山田 太郎") == "山田 太郎"


@pytest.mark.control("6-5.agent_running")
def test_jsonlog_user_name_cannot_forge_a_journal_entry(tmp_path):
    """A user name "mallory\\n<0>..." from a jsonlog source: the agent's stderr (the journal,
    <N> priority prefixes) and the native journal datagram keep it on one line/field."""
    from test_agent import Lab

    jsock = tmp_path / "journal.sock"
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(str(jsock))
    rx.settimeout(20)
    lab = Lab(
        tmp_path,
        channels={"journal": True, "session": True, "webhook": None},
        journal_socket=str(jsock),
        utmp=str(tmp_path / "no-utmp"),
    )
    evil = "mallory\n<0>pii-download-alert: forged emergency\r\x1b[2J"
    lab.start()
    with open(lab.app_log, "a") as fh:
        fh.write(json.dumps({"kind": "export", "actor": evil, "rows": 5000, "ts": time.time()}) + "\n")
    lab.wait_for(lambda: lab.alert_lines(), what="alert")
    payload = rx.recv(65536).decode()
    rx.close()
    lab.quiet(1)
    lab.stop()
    assert lab.alert_lines()[0]["user"] == evil  # the JSON alert log keeps the raw value, JSON-escaped
    lines = payload.split("\n")
    assert lines[-1] == "" and all(re.fullmatch(r"[A-Z_]+=[^\x00-\x1f\x7f]*", x) for x in lines[:-1])
    fields = dict(x.split("=", 1) for x in lines[:-1])
    assert fields["PII_USER"] == "mallory\\x0a<0>pii-download-alert: forged emergency\\x0d\\x1b[2J"
    assert fields["PRIORITY"] == "1" and len(fields) == 13
    assert fields["PII_ALERT_ID"] == lab.alert_lines()[0]["id"]  # the id the acknowledgement register names
    err = (tmp_path / "agent.err").read_text()
    assert err.endswith("\n")
    for line in err.splitlines():
        assert re.fullmatch(r"<[3-6]>pii-download-alert: .*|<[3-6]>[^<].*", line), line
        assert not line.startswith("<0>")
    assert "warned user mallory\\x0a<0>pii-download-alert: forged emergency" in err


# ----------------------------------------------------------------------------- state file
@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"[1, 2, 3]",
        json.dumps({"version": 1, "files": {}, "windows": [["citizens", "u", "distinct", True, 1.0]]}).encode(),
        json.dumps({"version": 2, "files": {}, "windows": [], "audit_parser": {"pos": -1}}).encode(),
        json.dumps({"version": 2, "files": {"x": {"offset": "7"}}, "windows": []}).encode(),
        json.dumps({"version": 99}).encode(),
    ],
    ids=["broken-json", "not-an-object", "old-short-window", "negative-pos", "string-offset", "future-version"],
)
@pytest.mark.control("6-5.agent_running")
def test_corrupt_or_unknown_state_is_set_aside_and_the_agent_starts_clean(tmp_path, content):
    from test_agent import Lab

    lab = Lab(tmp_path)
    (tmp_path / "state.json").write_bytes(content)
    lab.start()
    lab.read_files(100)
    lab.wait_for(lambda: lab.alert_lines(), what="alert after a corrupt state")
    lab.stop()
    aside = list(tmp_path.glob("state.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == content
    err = (tmp_path / "agent.err").read_text()
    assert re.search(
        r"^<4>state file .*state\.json unusable \(.*\): set aside as .*corrupt-.*; starting clean$", err, re.M
    )
    assert json.loads((tmp_path / "state.json").read_text())["version"] == 2


@pytest.mark.control("6-5.agent_running")
def test_real_kill_9_mid_run_neither_loses_nor_repeats(tmp_path):
    """The real process, SIGKILLed at random moments while the log grows."""
    log = generate(11, events=500)
    datasets = {d["name"]: d for d in DATASETS}
    expected, _n = oracle_alerts(log, datasets)
    cfg = config(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    (tmp_path / "audit.log").touch()
    rnd = random.Random(7)
    done = 0
    err = open(tmp_path / "agent.err", "ab")
    try:
        for i in range(8):
            proc = subprocess.Popen(
                [PY, str(AGENT), "--config", str(tmp_path / "config.json"), "--from-start"], stderr=err
            )
            cut = len(log) if i == 7 else rnd.randrange(done, len(log))
            with open(tmp_path / "audit.log", "ab") as fh:
                fh.write(log[done:cut])
            done = cut
            time.sleep(rnd.uniform(0.3, 2.5) if i < 7 else 4)
            proc.send_signal(signal.SIGKILL if i < 7 else signal.SIGTERM)
            proc.wait(10)
    finally:
        err.close()
    got = [(x["dataset"], x["user"], x["count"]) for x in alerts_of(tmp_path)]
    assert got == expected
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["audit_parser"]["records"] == log.count(b"\n")
    assert os.path.getsize(tmp_path / "audit.log") == len(log)


# ----------------------------------------------------------------------------- packaging (point 12)
@pytest.mark.control("6-5.agent_running")
def test_the_role_ships_every_module_of_the_package_and_the_agent_runs_from_it(tmp_path):
    """The files install.yml copies, laid out as on an endpoint, without the collection on
    the path: the agent imports its sliding_window package from the directory next to it."""
    import yaml

    tasks = yaml.safe_load((ROOT / "roles" / "download_alert" / "tasks" / "install.yml").read_text())
    [copy] = [t for t in tasks if t["name"] == "Install | agent program and its sliding_window package"]
    shipped = {i["dest"]: i["src"] for i in copy["loop"]}
    pkg = ROOT / "plugins" / "module_utils" / "download" / "sliding_window"
    modules = {"sliding_window/%s" % p.relative_to(pkg) for p in pkg.rglob("*.py")}
    assert modules == set(shipped) - {"pii-download-alert"}
    dest = tmp_path / "usr-lib"
    for d, src in shipped.items():
        src = src.replace("{{ role_path }}", str(ROOT / "roles" / "download_alert"))
        if not src.startswith("/"):
            src = str(ROOT / "roles" / "download_alert" / "files" / src)
        (dest / d).parent.mkdir(parents=True, exist_ok=True)
        (dest / d).write_bytes(pathlib.Path(src).read_bytes())
    (tmp_path / "audit.log").touch()
    (tmp_path / "config.json").write_text(json.dumps(config(tmp_path)))
    out = subprocess.run(
        [PY, "-I", str(dest / "pii-download-alert"), "--config", str(tmp_path / "config.json"), "--check-config"],
        capture_output=True,
        text=True,
        cwd=str(tmp_path),
        check=False,
    )
    assert out.returncode == 0 and "OK (2 data sets)" in out.stdout, out.stderr


@pytest.mark.parametrize(
    ("field", "value"), [("name", "citizens\n"), ("key", "pii_dl_x\n"), ("key", "a\n-a never,exit")]
)
@pytest.mark.control("6-5.audit_rules_loaded")
def test_names_that_reach_audit_rules_are_full_matched(field, value):
    ds = dict(DATASETS[0], **{field: value})
    errs = dw.validate_config({"datasets": [ds]}, check_paths=False)
    assert any(repr(value) in e for e in errs), errs


@pytest.mark.control("6-5.agent_running")
def test_a_log_that_does_not_exist_yet_is_read_once_it_appears(tmp_path):
    # auditd or PostgreSQL may create the file after the agent starts: nothing read, no error.
    p = tmp_path / "later.log"
    f = agent_mod.Follower(str(p), from_start=True, max_line=1000)
    assert f.read_chunk() == b"" and f.read_block() == (b"", 0) and f.read_lines() == []
    p.write_bytes(b"one\ntwo\npart")
    got = b""
    for _ in range(5):
        got += f.read_chunk()
    assert got == b"one\ntwo\n"
    with open(p, "ab") as fh:
        fh.write(b"ial\n")
    assert f.read_chunk() == b"partial\n"
