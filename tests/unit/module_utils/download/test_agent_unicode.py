"""Values that are not valid Unicode (issue 15, point 4 continued): a user name holding a lone
surrogate (a JSON ``"\\ud800"`` in a jsonlog line) or bytes that are not UTF-8 (a raw jsonlog
line, an auditd record's quoted field, the passwd database) reach every alert channel as an
escaped, valid UTF-8 value: the journal, the alert log, the user's terminal, the webhook, the
syslog collector and the agent's own stderr. Before, ``format_message`` (and the journal,
terminal and alert log writers) raised UnicodeEncodeError on the alert: the agent was blind.

One rule, shared by every channel: ``config.escape`` writes control characters and lone
surrogates as ``\\xNN`` / ``\\uNNNN`` (the backslash itself as ``\\x5c``, so nothing is ambiguous);
the JSON sinks keep a valid value raw and write an invalid one as ``escape`` does."""

from __future__ import annotations

import http.server
import json
import os
import pty
import re
import socket
import struct
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_agent import Lab, read_terminal
from test_agent_exact import agent_mod
from test_forward import ALERT, Collector, parse_sd
from test_window import GS, audit_event

from ansible_collections.pii_guard.safeguards.plugins.module_utils.download import window as dw
from ansible_collections.pii_guard.safeguards.plugins.module_utils.download.sliding_window import config as swc
from ansible_collections.pii_guard.safeguards.plugins.module_utils.download.sliding_window import forward as fw

SURROGATES = range(0xD800, 0xE000)
lone = st.integers(0xD800, 0xDFFF).map(chr)
# any text, lone surrogates included (hypothesis leaves them out of st.text by default)
any_text = st.lists(st.one_of(st.characters(), lone), max_size=40).map("".join)


def strict(data: bytes) -> str:
    return data.decode("utf-8")  # raises on anything that is not valid UTF-8


# ----------------------------------------------------------------------------- the shared rule
@pytest.mark.control("6-5.agent_running")
def test_every_lone_surrogate_is_escaped_into_valid_utf8():
    for c in SURROGATES:
        for value in (chr(c), "a" + chr(c), chr(c) + "b", "山" + chr(c) + "田"):
            out = dw.escape(value)
            strict(out.encode("utf-8"))
            assert "\\u%04x" % c in out and not re.search("[\ud800-\udfff]", out)
            assert dw.json_value(value) == out and not dw.is_text(value)
    # a valid pair (one character) is text, not two escapes; a JSON pair decodes to it
    assert dw.escape("\U0001f600") == "\U0001f600" and json.loads('"\\ud83d\\ude00"') == "\U0001f600"
    assert dw.json_value("a\nb") == "a\nb"  # valid text stays raw in the JSON sinks


@settings(max_examples=300, deadline=None)
@given(prefix=any_text, c=lone, suffix=any_text)
@pytest.mark.control("6-5.agent_running")
def test_escape_of_any_text_with_a_lone_surrogate_anywhere_is_utf8_and_unambiguous(prefix, c, suffix):
    value = prefix + c + suffix
    out = dw.escape(value)
    strict(out.encode("utf-8"))
    # unambiguous: reading the escapes back gives the value (surrogates included)
    back = re.sub(r"\\x([0-9a-f]{2})|\\u([0-9a-f]{4})", lambda m: chr(int(m.group(1) or m.group(2), 16)), out)
    assert back == value


@settings(max_examples=200, deadline=None)
@given(user=any_text, dataset=any_text, cap=st.sampled_from([1024, 2048, 65536]))
@pytest.mark.control("6-5.agent_running")
def test_syslog_message_of_any_user_is_utf8_whole_or_cut(user, dataset, cap):
    long_user = user * 200  # past the smallest cap: the cut path too
    for u in (user, long_user):
        alert = dict(ALERT, user=u, dataset=dataset, message="pii-download-alert: user %s" % dw.escape(u))
        out = fw.format_message(alert, max_bytes=cap)
        assert len(out) <= cap
        strict(out)
        _sd_id, params = parse_sd(out)
        assert dw.escape(u).startswith(params["user"]) and dw.escape(dataset).startswith(params["dataset"])


# ----------------------------------------------------------------------------- every channel
class _RawHook(http.server.BaseHTTPRequestHandler):
    bodies: list = []

    def do_POST(self):
        _RawHook.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def utmp_record(name: bytes, line: str) -> bytes:
    return struct.pack(
        "<hhi32s4s32s256shhiii4i20s", 7, 0, os.getpid(), line.encode(), b"ts/0", name, b"", *(0,) * 9, b""
    )


def export(actor_json: str, rows: int = 1000) -> bytes:
    """A jsonlog line whose "actor" is ``actor_json`` (JSON text, escapes kept as written)."""
    return b'{"kind": "export", "rows": %d, "ts": %f, "actor": %s}\n' % (
        rows,
        time.time(),
        actor_json.encode("latin-1"),
    )


@pytest.mark.control("6-5.agent_running")
def test_lone_surrogates_and_raw_bytes_reach_every_channel_escaped_and_survive_a_restart(tmp_path):
    """The agent as a real process: three jsonlog users that are not valid Unicode (a high
    surrogate escape, a low one, a raw 0xff byte); each alert reaches the journal, the alert
    log, the webhook, the syslog collector and (the raw-byte user, who has a terminal) the
    terminal, all in valid UTF-8 and escaped; the agent keeps running, saves them in its state
    and does not raise them again after a restart."""
    jsock = tmp_path / "journal.sock"
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(str(jsock))
    rx.settimeout(20)
    server = http.server.HTTPServer(("127.0.0.1", 0), _RawHook)
    _RawHook.bodies = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    collector = Collector()
    collector.start()
    master, slave = pty.openpty()
    utmp = tmp_path / "utmp"
    utmp.write_bytes(utmp_record(b"cl\xffrk", os.ttyname(slave)[len("/dev/") :]))
    users = {
        '"\\ud800mallory"': "\ud800mallory",  # high surrogate first
        '"mal\\udfff"': "mal\udfff",  # low surrogate last
        '"cl\xffrk"': "cl\udcffrk",  # a raw byte that is not UTF-8 (kept, as surrogateescape)
    }
    lab = Lab(
        tmp_path,
        journal_socket=str(jsock),
        utmp=str(utmp),
        channels={
            "journal": True,
            "session": True,
            "webhook": {"url": "http://127.0.0.1:%d/alerts" % server.server_port},
            "syslog": {"host": "127.0.0.1", "port": collector.port},
        },
    )
    try:
        lab.start()
        with open(lab.app_log, "ab") as fh:
            for actor in users:
                fh.write(export(actor))
        lab.wait_for(lambda: len(collector.received) == 3, timeout=20, what="three alerts at the collector")
        lab.wait_for(lambda: len(_RawHook.bodies) == 3, what="three webhook POSTs")
        journal = [strict(rx.recv(65536)) for _ in users]
        seen = read_terminal(master, b"exports")
        lab.quiet(1.5)
        assert lab.proc.poll() is None  # still running: not blind
        lab.stop()
        raw_log = (tmp_path / "alerts.jsonl").read_bytes()
        logged = [json.loads(x) for x in strict(raw_log).splitlines()]
        want = [dw.escape(u) for u in users.values()]
        assert sorted(a["user"] for a in logged) == sorted(want)
        assert all(a["count"] == 1000 and a["dataset"] == "exports" for a in logged)
        # the id hashes the value as read (two invalid names that escape alike stay apart)
        raw = {dw.escape(u): u for u in users.values()}
        for a in logged:
            assert a["id"] == swc.alert_id(a["host"], "exports", raw[a["user"]], a["last_event"])
        assert len({a["id"] for a in logged}) == 3
        fields = [dict(x.split("=", 1) for x in j.split("\n")[:-1]) for j in journal]
        assert sorted(f["PII_USER"] for f in fields) == sorted(want)
        assert all(f["MESSAGE"].startswith("pii-download-alert: user " + f["PII_USER"] + " read ") for f in fields)
        hooks = [json.loads(strict(b)) for b in _RawHook.bodies]
        assert sorted(h["user"] for h in hooks) == sorted(want)
        assert sorted(parse_sd(m)[1]["user"] for m in collector.received) == sorted(want)
        for m in collector.received:
            strict(m)
        text = strict(seen)
        assert "user cl\\udcffrk read 1000 records of data set exports" in text
        err = strict((tmp_path / "agent.err").read_bytes())
        assert "warned user cl\\udcffrk on 1 terminal(s)" in err and "Traceback" not in err
        # the state keeps the windows of all three (JSON escapes, UTF-8 file) and a restart
        # reads them back: one more line of each user is counted on top, not raised again
        state = json.loads(strict((tmp_path / "state.json").read_bytes()))
        kept = {(w[0], w[1]) for w in state["windows"]}
        assert {("exports", u) for u in users.values()} <= kept
        lab.start()
        lab.quiet(1.5)
        assert len(lab.alert_lines()) == 3
        with open(lab.app_log, "ab") as fh:
            fh.write(export('"\\ud800mallory"', rows=5))
        lab.quiet(1.5)
        lab.stop()
        state = json.loads((tmp_path / "state.json").read_text(encoding="utf-8"))
        window = [w for w in state["windows"] if w[:2] == ["exports", "\ud800mallory"]]
        assert len(window) == 1 and window[0][2] == "sum"
        assert sum(e[1] for e in window[0][5]) == 1005
        assert len(lab.alert_lines()) == 3
    finally:
        if lab.proc and lab.proc.poll() is None:
            lab.proc.kill()
        server.shutdown()
        collector.stop()
        rx.close()
        os.close(master)
        os.close(slave)


# ----------------------------------------------------------------------------- auditd records
def audit_bytes(serial: int, inode: int, auid: int, name: bytes, enriched: bool = True) -> bytes:
    """One open as auditd writes it, the AUID="..." name given as bytes (b"" for a RAW record
    without the resolved names); the PATH name hex-encoded with bytes that are not UTF-8, as
    auditd writes an untrusted string."""
    lines = audit_event(serial, "/x/f%d" % serial, inode, auid=auid, user="NAME")
    data = ("\n".join(lines) + "\n").encode()
    data = data.replace(b'name="/x/f%d"' % serial, b"name=2F782FFFFE%02X" % (serial % 256))
    if not enriched:  # RAW: nothing after the 0x1d separator of the SYSCALL record
        head, _, rest = data.partition(GS.encode())
        data = head + b"\n" + rest.split(b"\n", 1)[1]
    return data.replace(b'"NAME"', b'"' + name + b'"')


@pytest.mark.parametrize(
    "name, enriched",
    [(b"cl\xffrk", True), (b"\xc3", True), (b"\xed\xa0\x80x", True), (b"op\x80", False)],
    ids=["invalid-byte-inside", "truncated-sequence-at-end", "encoded-surrogate-first", "passwd-name"],
)
@pytest.mark.control("6-5.agent_running")
def test_audit_names_that_are_not_utf8_alert_escaped_on_every_channel(tmp_path, monkeypatch, name, enriched):
    """An auditd record whose AUID="..." field holds bytes that are not UTF-8, or (RAW format)
    a user whose passwd name does (Python decodes it with surrogateescape): the alert reaches the
    journal, the alert log and the syslog spool as valid UTF-8, the bytes escaped; two such
    names stay two users; the state file keeps the window (save, load)."""
    jsock = tmp_path / "journal.sock"
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(str(jsock))
    rx.settimeout(10)
    user = name.decode("utf-8", "surrogateescape")
    monkeypatch.setattr(agent_mod.pwd, "getpwuid", lambda uid: type("pw", (), {"pw_name": user})())
    cfg = {
        "audit_log": str(tmp_path / "audit.log"),
        "state_file": str(tmp_path / "state.json"),
        "alert_log": str(tmp_path / "alerts.jsonl"),
        "journal_socket": str(jsock),
        "group_wait": 3600,
        "channels": {
            "journal": True,
            "session": False,
            "webhook": None,
            "syslog": {"host": "127.0.0.1", "port": 9},  # not started: the alert stays spooled
        },
        "datasets": [{"name": "citizens", "source": "audit", "paths": ["/srv/pii"], "threshold": 3, "window": 60}],
    }
    log = tmp_path / "audit.log"
    # three opens by the user, two by a user whose name differs in the invalid byte only
    other = name.replace(name[-1:], b"\xfe") if name[-1:] != b"\xfe" else name + b"\xfe"
    log.write_bytes(
        b"".join(audit_bytes(100 + i, 500 + i, 1001, name, enriched) for i in range(3))
        + b"".join(audit_bytes(200 + i, 600 + i, 1001, other, enriched) for i in range(2))
    )
    agent = agent_mod.Agent(cfg, from_start=True)
    while agent.step():
        pass
    agent.audit_events(agent.audit.flush())
    agent.save_state()
    want = dw.escape(user)
    logged = [json.loads(strict(x)) for x in (tmp_path / "alerts.jsonl").read_bytes().splitlines()]
    assert [(a["user"], a["count"]) for a in logged] == [(want, 3)]
    assert re.search(r"\\(udc[89a-f][0-9a-f])", want)
    journal = dict(x.split("=", 1) for x in strict(rx.recv(65536)).split("\n")[:-1])
    rx.close()
    assert journal["PII_USER"] == want and ("user %s read 3 records" % want) in journal["MESSAGE"]
    spooled = sorted((tmp_path / "syslog-spool").glob("*.msg"))
    assert len(spooled) == 1 and parse_sd(spooled[0].read_bytes())[1]["user"] == want
    state = json.loads(strict((tmp_path / "state.json").read_bytes()))
    users = sorted(w[1] for w in state["windows"])
    if enriched:  # the record's own names: two users, 3 and 2 files
        assert users == sorted([user, other.decode("utf-8", "surrogateescape")])
    else:  # RAW: the name comes from passwd by auid, one user
        assert users == [user]
    again = agent_mod.Agent(cfg, from_start=True)  # loads the state it saved
    assert sorted(k[1] for k in again.windows.keys) == users
