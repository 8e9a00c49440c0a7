"""Window logic, parsers and config validation of the download alert agent (clause 6-5)."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.pii_guard.safeguards.plugins.module_utils.download import window as dw

# ----------------------------------------------------------------------------- oracle


def oracle(datasets, events):
    """Brute force: recount every window from the full event history at each event."""
    alerts = []
    history = {}  # key -> list of (t, n, item)
    armed = {}
    last = {}
    for i, (ds_name, user, t, n, item) in enumerate(events):
        ds = datasets[ds_name]
        if item is None and n <= 0:
            continue
        key = (ds_name, user)
        t = max(t, last.get(key, 0.0))
        last[key] = t
        past = history.setdefault(key, [])
        horizon = t - ds["window"]

        def count(evs, horizon=horizon, ds=ds):
            if ds["source"] == "audit":
                latest = {}
                for tt, _n, it in evs:
                    latest[it] = tt
                return sum(1 for tt in latest.values() if tt > horizon)
            return sum(nn for tt, nn, _it in evs if tt > horizon)

        if count(past) < ds["threshold"]:
            armed[key] = True
        past.append((t, n, item))
        c = count(past)
        if armed.get(key, True) and c >= ds["threshold"]:
            armed[key] = False
            alerts.append((i, ds_name, user, c))
    return alerts


def run_windows(datasets, events, **kw):
    w = dw.SlidingWindows(datasets, **kw)
    out = []
    for i, (ds_name, user, t, n, item) in enumerate(events):
        a = w.add(ds_name, user, t, n, item)
        if a is not None:
            out.append((i, a["dataset"], a["user"], a["count"]))
    return out


event = st.tuples(
    st.sampled_from(["files", "rows"]),
    st.sampled_from(["alice", "bob"]),
    st.integers(min_value=0, max_value=12),  # time step (ties and exact horizons happen)
    st.integers(min_value=0, max_value=9),  # rows, or the file id for the audit data set
    st.integers(min_value=-2, max_value=0),  # small backwards jitter: out-of-order events
)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(event, max_size=120),
    st.integers(min_value=1, max_value=8),
    st.integers(min_value=1, max_value=15),
    st.integers(min_value=1, max_value=25),
    st.integers(min_value=1, max_value=15),
)
@pytest.mark.control("6-5.agent_running")
def test_windows_match_brute_force_oracle(raw, f_threshold, f_window, r_threshold, r_window):
    datasets = {
        "files": {"source": "audit", "threshold": f_threshold, "window": f_window},
        "rows": {"source": "pgaudit", "threshold": r_threshold, "window": r_window},
    }
    events, t = [], 1000.0
    for ds_name, user, step, value, jitter in raw:
        t += step
        item = "8:%d" % value if ds_name == "files" else None
        events.append((ds_name, user, t + jitter, value, item))
    assert run_windows(datasets, events) == oracle(datasets, events)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 30)), max_size=150), st.integers(1, 6))
@pytest.mark.control("6-5.agent_running")
def test_window_state_survives_dump_and_load(raw, threshold):
    """A restart in the middle (dump -> JSON -> load) gives the same alerts as no restart."""
    import json

    datasets = {"files": {"source": "audit", "threshold": threshold, "window": 10}}
    events = []
    t = 0.0
    for step, fid in raw:
        t += step
        events.append(("files", "u", t, 1, str(fid)))
    whole = run_windows(datasets, events)
    half = len(events) // 2
    w1 = dw.SlidingWindows(datasets)
    got = []
    for i, e in enumerate(events[:half]):
        a = w1.add(*e)
        if a:
            got.append((i, a["dataset"], a["user"], a["count"]))
    w2 = dw.SlidingWindows(datasets)
    w2.load(json.loads(json.dumps(w1.dump())))
    for i, e in enumerate(events[half:], start=half):
        a = w2.add(*e)
        if a:
            got.append((i, a["dataset"], a["user"], a["count"]))
    assert got == whole


@pytest.mark.control("6-5.agent_running")
def test_bulk_export_raises_one_alert_and_rearms_after_drain():
    datasets = {"files": {"source": "audit", "threshold": 100, "window": 60}}
    w = dw.SlidingWindows(datasets)
    alerts = [w.add("files", "clerk", 1000 + i * 0.01, 1, "f%d" % i) for i in range(5000)]
    hits = [a for a in alerts if a]
    assert len(hits) == 1
    assert hits[0]["count"] == 100 and hits[0]["threshold"] == 100
    assert hits[0]["first_event"] == 1000.0 and hits[0]["last_event"] == pytest.approx(1000.99)
    # 50 files well after the window drained: under the threshold, no alert, but re-armed ...
    assert not any(w.add("files", "clerk", 2000 + i, 1, "g%d" % i) for i in range(50))
    # ... so the next bulk read alerts again
    again = [w.add("files", "clerk", 2050 + i * 0.01, 1, "h%d" % i) for i in range(60)]
    assert sum(1 for a in again if a) == 1


@pytest.mark.control("6-5.agent_running")
def test_rereading_the_same_file_counts_once():
    w = dw.SlidingWindows({"files": {"source": "audit", "threshold": 3, "window": 60}})
    assert not any(w.add("files", "u", 1.0 + i, 1, "8:1") for i in range(50))
    assert w.add("files", "u", 60.0, 1, "8:2") is None
    assert w.add("files", "u", 61.0, 1, "8:3")["count"] == 3


@pytest.mark.control("6-5.agent_running")
def test_max_keys_evicts_least_recently_active():
    w = dw.SlidingWindows({"rows": {"source": "jsonlog", "threshold": 10, "window": 60}}, max_keys=100)
    for i in range(250):
        w.add("rows", "user%d" % i, 1.0, 1)
    assert len(w.keys) == 100 and w.evicted_keys == 150
    assert ("rows", "user249") in w.keys and ("rows", "user0") not in w.keys


@pytest.mark.control("6-5.agent_running")
def test_sum_window_entry_cap_merges_but_keeps_the_count():
    w = dw.SlidingWindows({"rows": {"source": "jsonlog", "threshold": 1000, "window": 60}}, max_entries_per_key=10)
    hits = [w.add("rows", "u", float(i) / 10, 1) for i in range(999)]
    assert not any(hits) and len(w.keys[("rows", "u")].items) == 10 and w.merged_entries == 989
    assert w.add("rows", "u", 100.0 / 10, 1)["count"] == 1000


# ----------------------------------------------------------------------------- audit
GS = "\x1d"


def audit_event(serial, path, inode, auid=1001, user="clerk", key="pii_dl_citizens", success="yes", mode="0100644"):
    """One open as auditd 3.0.9 writes it in ENRICHED format (see LAB.md)."""
    stamp = "1764306000.%03d:%d" % (serial % 1000, serial)
    uname = user if auid != dw.AUID_UNSET else "unset"
    return [
        (
            "type=SYSCALL msg=audit(%s): arch=c000003e syscall=257 success=%s exit=3 a0=ffffff9c "
            "a1=7ffd2c3b4e10 a2=0 a3=0 items=1 ppid=1234 pid=1240 auid=%d uid=%d gid=%d euid=%d suid=%d "
            'fsuid=%d egid=%d sgid=%d fsgid=%d tty=pts0 ses=3 comm="cat" exe="/usr/bin/cat" '
            'subj=unconfined key="%s"%sARCH=x86_64 SYSCALL=openat AUID="%s" UID="%s" GID="%s" '
            'EUID="%s" SUID="%s" FSUID="%s" EGID="%s" SGID="%s" FSGID="%s"'
        )
        % ((stamp, success) + (auid,) * 9 + (key, GS) + (uname,) * 9),
        'type=CWD msg=audit(%s): cwd="/home/clerk"' % stamp,
        (
            'type=PATH msg=audit(%s): item=0 name="%s" inode=%d dev=fe:00 mode=%s ouid=0 ogid=0 '
            'rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0%sOUID="root" OGID="root"'
        )
        % (stamp, path, inode, mode, GS),
        "type=PROCTITLE msg=audit(%s): proctitle=636174002F7372762F7069692F663030312E637376" % stamp,
    ]


def feed_all(parser, lines):
    out = []
    for line in lines:
        out.extend(parser.feed(line.encode() if isinstance(line, str) else line))
    return out


@pytest.mark.control("6-5.agent_running")
def test_audit_parser_real_format_enriched():
    p = dw.AuditParser(["pii_dl_citizens"])
    ev = feed_all(p, audit_event(4521, "/srv/pii/f001.csv", 1311))
    assert ev == [("pii_dl_citizens", 1001, "clerk", 1764306000.521, "fe:00:1311")]
    assert not p.pending and p.malformed == 0


@pytest.mark.control("6-5.agent_running")
def test_audit_parser_raw_format_has_no_names():
    lines = [line.split(GS)[0] for line in audit_event(7, "/srv/pii/a", 99)]
    ev = feed_all(dw.AuditParser(["pii_dl_citizens"]), lines)
    assert ev == [("pii_dl_citizens", 1001, None, 1764306000.007, "fe:00:99")]


@pytest.mark.control("6-5.agent_running")
def test_audit_parser_skips_what_is_not_a_file_read_by_a_user():
    p = dw.AuditParser(["pii_dl_citizens"])
    lines = (
        audit_event(1, "/srv/pii", 50, mode="040755")  # tar / globs open the directory itself
        + audit_event(2, "/srv/pii/x", 51, success="no")  # EACCES: nothing was read
        + audit_event(3, "/srv/pii/y", 52, auid=dw.AUID_UNSET)  # daemons without a login
        + audit_event(4, "/srv/pii/z", 53, key="other_key")
        + audit_event(5, "/srv/pii/w", 54, auid=0, user="root")  # below min_auid
    )
    assert feed_all(p, lines) == []
    assert not p.pending


@pytest.mark.control("6-5.agent_running")
def test_audit_parser_interleaved_noise_and_malformed_lines():
    p = dw.AuditParser(["pii_dl_citizens"])
    a, b = audit_event(10, "/srv/pii/a", 1), audit_event(11, "/srv/pii/b", 2)
    noise = [
        "type=USER_START msg=audit(1764306000.100:9): pid=1 uid=0 auid=1001 ses=3 "
        'msg=\'op=PAM:session_open acct="clerk" exe="/usr/sbin/sshd" res=success\'',
        # loading the rules logs the key too, in a record that is not a file read
        "type=CONFIG_CHANGE msg=audit(1764306000.050:8): auid=1000 ses=1 subj=unconfined op=add_rule "
        'key="pii_dl_citizens" list=4 res=1' + GS + 'AUID="labop"',
        "garbage that is not an audit record",
        "type=SYSCALL msg=audit(broken",
    ]
    ev = feed_all(p, a[:2] + noise + b[:1] + a[2:] + b[1:])
    assert sorted(e[4] for e in ev) == ["fe:00:1", "fe:00:2"]
    assert p.malformed == 1  # the line that is not a record; the truncated SYSCALL never matches


@pytest.mark.control("6-5.agent_running")
def test_audit_parser_eoe_and_flush_complete_groups_without_path_count():
    p = dw.AuditParser(["pii_dl_citizens"])
    lines = audit_event(20, "/srv/pii/a", 5)
    syscall = lines[0].replace(" items=1 ", " items=2 ")
    assert feed_all(p, [syscall, lines[2]]) == []  # still waiting for a second PATH
    ev = feed_all(p, ["type=EOE msg=audit(1764306000.020:20): "])
    assert [e[4] for e in ev] == ["fe:00:5"]
    feed_all(p, [syscall, lines[2]])
    assert [e[4] for e in p.flush()] == ["fe:00:5"]


@pytest.mark.control("6-5.audit_rules_loaded")
def test_audit_key_derived_from_name():
    assert dw.audit_key({"name": "tax-records"}) == "pii_dl_tax_records"
    assert dw.audit_key({"name": "x", "key": "custom"}) == "custom"


# ----------------------------------------------------------------------------- pgaudit
PG = (
    "2026-11-28 05:00:00.123 UTC [4242] clerk@pii LOG:  AUDIT: SESSION,3,1,READ,SELECT,TABLE,public.citizens,"
    '"SELECT * FROM citizens WHERE note = ""a, b""",<not logged>,5000'
)


@pytest.mark.control("6-5.agent_running")
def test_pgaudit_parser_real_format_with_rows():
    e = dw.PgauditParser().feed(PG)
    assert e["user"] == "clerk" and e["db"] == "pii" and e["rows"] == 5000
    assert e["class"] == "READ" and e["object"] == "public.citizens" and e["pid"] == 4242
    assert e["time"] == datetime.datetime(2026, 11, 28, 5, 0, 0, 123000, datetime.UTC).timestamp()


@pytest.mark.control("6-5.agent_running")
def test_pgaudit_parser_line_as_postgresql_15_wrote_it():
    # copied from the log of the real server in test_agent_pgaudit.py
    line = (
        "2026-11-28 05:17:33.101 UTC [4071] clerk@pii LOG:  AUDIT: SESSION,1,1,READ,SELECT,TABLE,"
        "public.citizens,SELECT * FROM citizens,<not logged>,5000"
    )
    e = dw.PgauditParser().feed(line)
    assert (e["user"], e["db"], e["object"], e["rows"], e["statement_id"]) == (
        "clerk",
        "pii",
        "public.citizens",
        5000,
        "1",
    )


@pytest.mark.control("6-5.agent_running")
def test_pgaudit_parser_multiline_statement_and_no_rows():
    p = dw.PgauditParser()
    first = (
        "2026-11-28 05:00:01.000 UTC [4243] clerk@pii LOG:  AUDIT: SESSION,4,1,READ,SELECT,TABLE,public.citizens,"
        '"SELECT *'
    )
    assert p.feed(first) is None and p.partial_lines == [first]
    assert p.feed("  FROM citizens") is None
    e = p.feed('  LIMIT 10",<not logged>,10')
    assert e["rows"] == 10 and not p.partial_lines
    assert p.feed(PG.rsplit(",", 1)[0]) is None and p.without_rows == 1
    assert p.feed("2026-11-28 05:00:02.000 UTC [1] LOG:  checkpoint starting: time") is None
    assert p.malformed == 0


@pytest.mark.control("6-5.agent_running")
def test_pgaudit_dataset_counts_reads_of_its_tables_once_per_statement():
    ds = dw.PgauditDataset({"name": "c", "database": "pii", "tables": ["citizens"]})
    e = dw.PgauditParser().feed(PG)
    assert ds.count(e) == ("clerk", 5000, e["time"])
    assert ds.count(e) is None  # same statement logged again for another relation
    other = dict(e, object="public.audit_trail", statement_id="9")
    assert ds.count(other) is None
    assert ds.count(dict(e, db="other", statement_id="10")) is None
    assert ds.count(dict(e, **{"class": "WRITE", "statement_id": "11"})) is None
    assert dw.table_matches("hr.citizens", ["hr.citizens"]) and not dw.table_matches("hr.citizens", ["x.citizens"])


# ----------------------------------------------------------------------------- jsonlog
@pytest.mark.control("6-5.agent_running")
def test_jsonlog_dataset_jmespath():
    ds = dw.JsonlogDataset(
        {
            "name": "exports",
            "user": "actor.name",
            "count": "length(records)",
            "time": "ts",
            "filter": "dataset == 'citizens'",
        }
    )
    line = '{"ts": "2026-11-28T05:00:00Z", "dataset": "citizens", "actor": {"name": "clerk"}, "records": [1,2,3]}'
    assert ds.feed(line) == ("clerk", 3, datetime.datetime(2026, 11, 28, 5, tzinfo=datetime.UTC).timestamp())
    assert ds.feed('{"dataset": "other", "actor": {"name": "x"}, "records": []}') is None
    for bad in ("not json", "[1]", '{"dataset": "citizens", "records": [1]}', '{"dataset": "citizens"}'):
        with pytest.raises(ValueError):
            ds.feed(bad)


# ----------------------------------------------------------------------------- config
GOOD = {
    "reviewed_on": "2026-10-01",
    "review_interval_days": 180,
    "channels": {"journal": True, "session": True, "webhook": {"url": "http://127.0.0.1:9/hook"}},
    "datasets": [
        {"name": "citizens", "source": "audit", "paths": ["/srv/pii"], "threshold": 100, "window": 60},
        {
            "name": "db",
            "source": "pgaudit",
            "log": "/var/log/postgresql/x.log",
            "database": "pii",
            "tables": ["citizens"],
            "threshold": 1000,
            "window": 60,
        },
        {
            "name": "exports",
            "source": "jsonlog",
            "log": "/var/log/app/e.jsonl",
            "user": "user",
            "count": "n",
            "threshold": 10,
            "window": 60,
        },
    ],
}


@pytest.mark.control("6-5.agent_config")
def test_validate_config_accepts_good_config():
    assert dw.validate_config(GOOD, exists=lambda p: True) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"threshold": -5}, "threshold must be a positive integer, got -5"),
        ({"window": 0}, "window must be a positive integer, got 0"),
        ({"threshold": True}, "threshold must be a positive integer, got True"),
        ({"source": "ftp"}, "unknown source 'ftp'"),
        ({"user": "user[?"}, "is not a valid JMESPath expression"),
        ({"count": ""}, "count is required for source jsonlog"),
        ({"log": "relative.log"}, "log must be an absolute path"),
        ({"bogus": 1}, "unknown setting 'bogus'"),
        ({"name": "Bad Name"}, "name must match"),
    ],
)
@pytest.mark.control("6-5.agent_config")
def test_validate_config_refuses_bad_jsonlog_dataset(change, message):
    cfg = dict(GOOD, datasets=[dict(GOOD["datasets"][2], **change)])
    errors = dw.validate_config(cfg, exists=lambda p: True)
    assert any(message in e for e in errors), errors


@pytest.mark.control("6-5.agent_config")
def test_validate_config_refuses_missing_paths_and_bad_globals():
    errors = dw.validate_config(GOOD, exists=lambda p: p != "/srv/pii")
    assert errors == ["datasets[0] (citizens): path /srv/pii does not exist"]
    cfg = dict(GOOD, reviewed_on="last week", channels={"pager": True}, max_keys=0)
    errors = dw.validate_config(cfg, exists=lambda p: True)
    assert any("reviewed_on must be a date" in e for e in errors)
    assert any("unknown alert channel 'pager'" in e for e in errors)
    assert any("max_keys must be a positive integer" in e for e in errors)
    dup = dict(GOOD, datasets=[GOOD["datasets"][0], GOOD["datasets"][0]])
    assert any("duplicate name" in e for e in dw.validate_config(dup, exists=lambda p: True))
    assert dw.validate_config(dict(GOOD, datasets=[])) == ["datasets must be a non-empty list"]


@pytest.mark.control("6-5.threshold_review")
def test_review_status_staleness():
    today = datetime.date(2026, 11, 28)
    assert dw.review_status("2026-06-01", 180, today) == (True, 180, "2026-11-28")
    assert dw.review_status("2026-05-31", 180, today) == (False, 181, "2026-11-27")
    assert dw.review_status("2027-01-01", 180, today)[0] is False  # a date in the future is not a review


@pytest.mark.control("6-5.agent_running")
def test_alert_text_names_everything():
    text = dw.alert_text(
        {
            "user": "clerk",
            "count": 100,
            "dataset": "citizens",
            "window": 60,
            "threshold": 100,
            "first_event": 0.0,
            "last_event": 1.5,
        }
    )
    assert text == (
        "pii-download-alert: user clerk read 100 records of data set citizens within 60s "
        "(threshold 100, 1970-01-01T00:00:00.000Z..1970-01-01T00:00:01.500Z)"
    )
