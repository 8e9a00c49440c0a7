"""The download alert agent as a real process on real files: following, restart, rotation,
malformed lines, alert channels (alert log, terminal warning, loopback webhook), --check-config.

The agent runs on /usr/bin/python3 (Debian's, standard library + python3-jmespath), as on
endpoints."""

from __future__ import annotations

import http.server
import json
import os
import pathlib
import pty
import re
import signal
import struct
import subprocess
import threading
import time

import pytest
from test_window import audit_event

from ansible_collections.pii_guard.safeguards.plugins.module_utils.download.sliding_window import config as swc

ROOT = pathlib.Path(__file__).resolve().parents[4]
AGENT = ROOT / "roles" / "download_alert" / "files" / "pii-download-alert"
PY = "/usr/bin/python3"


def read_terminal(master: int, needle: bytes, timeout: float = 5.0) -> bytes:
    """What the agent wrote to the pty (master side) until `needle` shows or `timeout` passes."""
    os.set_blocking(master, False)
    seen = b""
    end = time.monotonic() + timeout
    while needle not in seen and time.monotonic() < end:
        try:
            seen += os.read(master, 4096)
        except BlockingIOError:
            time.sleep(0.05)
    return seen


class Lab:
    def __init__(self, tmp: pathlib.Path, **extra):
        self.tmp = tmp
        self.audit_log = tmp / "audit.log"
        self.alerts = tmp / "alerts.jsonl"
        self.app_log = tmp / "app" / "export.jsonl"
        self.app_log.parent.mkdir()
        (tmp / "pii").mkdir()
        self.cfg = {
            "audit_log": str(self.audit_log),
            "state_file": str(tmp / "state.json"),
            "alert_log": str(self.alerts),
            "checkpoint_interval": 1,
            "malformed_warning_interval": 1,
            "channels": {"journal": False, "session": False, "webhook": None},
            "datasets": [
                {"name": "citizens", "source": "audit", "paths": [str(tmp / "pii")], "threshold": 100, "window": 60},
                {
                    "name": "exports",
                    "source": "jsonlog",
                    "log": str(self.app_log),
                    "user": "actor",
                    "count": "rows",
                    "time": "ts",
                    "filter": "kind == 'export'",
                    "threshold": 1000,
                    "window": 60,
                },
            ],
        }
        self.cfg.update(extra)
        self.config = tmp / "config.json"
        self.config.write_text(json.dumps(self.cfg))
        self.audit_log.touch()
        self.app_log.touch()
        self.proc = None
        self.serial = 1000

    def start(self):
        self.stderr = open(self.tmp / "agent.err", "ab")  # closed in stop()
        self.proc = subprocess.Popen([PY, str(AGENT), "--config", str(self.config)], stderr=self.stderr)
        self.wait_for(lambda: b"watching" in (self.tmp / "agent.err").read_bytes(), what="agent start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            assert self.proc.wait(10) == 0
        self.stderr.close()

    def read_files(self, n, user="clerk", auid=1001, start=0, path=None):
        lines = []
        for i in range(start, start + n):
            self.serial += 1
            lines += audit_event(self.serial, "/x/f%d" % i, 5000 + i, auid=auid, user=user)
        with open(path or self.audit_log, "a") as fh:
            fh.write("\n".join(lines) + "\n")

    def alert_lines(self):
        if not self.alerts.exists():
            return []
        return [json.loads(x) for x in self.alerts.read_text().splitlines()]

    @staticmethod
    def wait_for(cond, timeout=10.0, what="condition"):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if cond():
                return
            time.sleep(0.05)
        raise AssertionError("timed out waiting for %s" % what)

    def quiet(self, seconds=1.5):
        """Give the agent time to process (it polls every 0.2 s)."""
        time.sleep(seconds)


@pytest.fixture
def lab(tmp_path):
    lab = Lab(tmp_path)
    yield lab
    if lab.proc and lab.proc.poll() is None:
        lab.proc.kill()
        lab.proc.wait()


@pytest.mark.control("6-5.agent_running")
def test_120_files_raise_exactly_one_alert_and_50_none(lab):
    lab.start()
    lab.read_files(50, user="temp", auid=1002)
    lab.read_files(120)
    lab.wait_for(lambda: lab.alert_lines(), what="alert line")
    lab.quiet()
    alerts = lab.alert_lines()
    assert len(alerts) == 1
    a = alerts[0]
    assert (a["user"], a["dataset"], a["count"], a["threshold"], a["window"]) == ("clerk", "citizens", 100, 100, 60)
    assert a["message_id"] == "6d8a0f3c2b5e4c1d9a7f0e6b3c2d1a05" and a["first_event"] <= a["last_event"]
    lab.stop()


@pytest.mark.control("6-5.agent_running")
def test_restart_midway_still_alerts_at_the_right_count(lab):
    lab.start()
    lab.read_files(60)
    lab.quiet()
    lab.stop()
    state = json.loads((lab.tmp / "state.json").read_text())
    assert [w[:2] for w in state["windows"]] == [["citizens", "clerk"]] and len(state["windows"][0][5]) == 60
    lab.read_files(39, start=60)  # written while the agent is down
    lab.start()
    lab.quiet()
    assert lab.alert_lines() == []  # 99 distinct files: under the threshold
    lab.read_files(1, start=99)
    lab.wait_for(lambda: lab.alert_lines(), what="alert after restart")
    assert [a["count"] for a in lab.alert_lines()] == [100]
    lab.stop()


@pytest.mark.control("6-5.agent_running")
def test_rotation_is_followed_while_running_and_while_down(lab):
    lab.start()
    lab.read_files(40)
    lab.quiet()
    os.rename(lab.audit_log, str(lab.audit_log) + ".1")  # what auditd's rotation does
    lab.read_files(10, start=40, path=str(lab.audit_log) + ".1")  # late writes to the old file
    lab.read_files(30, start=50)  # the new audit.log
    lab.quiet()
    lab.stop()
    # rotated again while the agent is down: the rest of the old file is read first
    lab.read_files(10, start=80)
    os.rename(lab.audit_log, str(lab.audit_log) + ".1")
    lab.read_files(10, start=90)
    lab.start()
    lab.wait_for(lambda: lab.alert_lines(), what="alert across rotations")
    assert [a["count"] for a in lab.alert_lines()] == [100]
    lab.stop()


@pytest.mark.control("6-5.agent_running")
def test_rename_then_create_keeps_reading_the_old_file_until_the_writer_moves(lab):
    # logrotate's rename + create, then the writer reopens the name (PostgreSQL's pg_ctl logrotate)
    lab.start()
    lab.read_files(40)
    lab.quiet()
    old = str(lab.audit_log) + ".1"
    os.rename(lab.audit_log, old)
    open(lab.audit_log, "w").close()  # the new, still empty file
    lab.quiet()  # polled meanwhile: the agent must not leave the old file yet
    lab.read_files(20, start=40, path=old)  # the writer has not reopened: still the old file
    lab.quiet()
    lab.read_files(40, start=60)  # reopened: the new file
    lab.wait_for(lambda: lab.alert_lines(), what="alert across rename + create")
    lab.quiet()
    assert [a["count"] for a in lab.alert_lines()] == [100]
    lab.stop()


@pytest.mark.control("6-5.agent_running")
def test_malformed_lines_are_counted_skipped_and_warned_rate_limited(lab):
    lab.start()
    with open(lab.audit_log, "a") as fh:
        fh.write("\n".join("garbage %d" % i for i in range(500)) + "\n")
    with open(lab.app_log, "a") as fh:
        fh.write("{not json\n" * 5)
    lab.read_files(100)
    lab.wait_for(lambda: lab.alert_lines(), what="alert despite garbage")
    lab.quiet(2.5)
    lab.stop()
    err = (lab.tmp / "agent.err").read_text()
    warnings = [x for x in err.splitlines() if "malformed" in x]
    assert warnings and warnings[0].startswith("<4>")
    assert "505 in total" in warnings[-1]
    assert len(warnings) <= 3  # one summary per interval, not one per line


@pytest.mark.control("6-5.agent_running")
def test_jsonlog_jmespath_alerts_with_count(lab):
    lab.start()
    rows = [
        {"ts": "2026-11-28T05:00:00Z", "kind": "export", "actor": "clerk", "rows": 600},
        {"ts": "2026-11-28T05:00:10Z", "kind": "view", "actor": "clerk", "rows": 9000},
        {"ts": "2026-11-28T05:00:20Z", "kind": "export", "actor": "intern", "rows": 999},
        {"ts": "2026-11-28T05:00:30Z", "kind": "export", "actor": "clerk", "rows": 600},
    ]
    with open(lab.app_log, "a") as fh:
        fh.write("".join(json.dumps(r) + "\n" for r in rows))
    lab.wait_for(lambda: lab.alert_lines(), what="jsonlog alert")
    lab.quiet()
    alerts = lab.alert_lines()
    assert [(a["user"], a["dataset"], a["count"]) for a in alerts] == [("clerk", "exports", 1200)]
    assert alerts[0]["first_event"] == "2026-11-28T05:00:00.000Z"
    assert alerts[0]["last_event"] == "2026-11-28T05:00:30.000Z"
    lab.stop()


class _Hook(http.server.BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def utmp_record(user, line):
    fmt = "<hhi32s4s32s256shhiii4i20s"
    zeros = (0,) * 9
    return struct.pack(fmt, 7, 0, os.getpid(), line.encode(), b"ts/0", user.encode(), b"", *zeros, b"")


@pytest.mark.control("6-5.agent_running")
def test_webhook_on_loopback_and_warning_on_the_users_terminal(tmp_path):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    master, slave = pty.openpty()
    tty = os.ttyname(slave)
    utmp = tmp_path / "utmp"
    utmp.write_bytes(utmp_record("someone", "pts/999") + utmp_record("clerk", tty[len("/dev/") :]))
    lab = Lab(
        tmp_path,
        utmp=str(utmp),
        channels={
            "journal": False,
            "session": True,
            "webhook": {"url": "http://127.0.0.1:%d/alerts" % server.server_port},
        },
    )
    try:
        lab.start()
        lab.read_files(100)
        lab.wait_for(lambda: _Hook.received, what="webhook POST")
        hook = _Hook.received[0]
        assert (hook["user"], hook["count"], hook["dataset"]) == ("clerk", 100, "citizens")
        seen = read_terminal(master, b"citizens")
        assert "WARNING: bulk download of personal data" in seen.decode()
        assert "user clerk read 100 records of data set citizens" in seen.decode()
        lab.stop()
        assert "warned user clerk on 1 terminal(s)" in (tmp_path / "agent.err").read_text()
    finally:
        server.shutdown()
        os.close(master)
        os.close(slave)
        if lab.proc and lab.proc.poll() is None:
            lab.proc.kill()


def check_config(lab):
    cmd = [PY, str(AGENT), "--config", str(lab.config), "--check-config"]
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"threshold": -1}, "threshold must be a positive integer, got -1"),
        ({"source": "smb"}, "unknown source 'smb'"),
        ({"paths": ["/nonexistent/pii"]}, "path /nonexistent/pii does not exist"),
    ],
)
@pytest.mark.control("6-5.agent_config")
def test_check_config_refuses_bad_audit_dataset(lab, change, message):
    ok = check_config(lab)
    assert ok.returncode == 0 and "OK (2 data sets)" in ok.stdout
    cfg = dict(lab.cfg, datasets=[dict(lab.cfg["datasets"][0], **change)])
    lab.config.write_text(json.dumps(cfg))
    bad = check_config(lab)
    assert bad.returncode == 2 and message in bad.stderr


@pytest.mark.control("6-5.agent_config")
def test_check_config_refuses_bad_jmespath_and_broken_json(lab):
    cfg = dict(lab.cfg, datasets=[dict(lab.cfg["datasets"][1], user="actor[?")])
    lab.config.write_text(json.dumps(cfg))
    bad = check_config(lab)
    assert bad.returncode == 2 and "'actor[?' is not a valid JMESPath expression" in bad.stderr
    lab.config.write_text("{")
    bad = check_config(lab)
    assert bad.returncode == 2 and "cannot read config" in bad.stderr


@pytest.mark.control("6-5.alerts_acknowledged")
def test_alerts_carry_a_stable_id_and_the_alert_log_rotates_bounded(tmp_path):
    lab = Lab(tmp_path, alert_log_max_bytes=200)
    try:
        lab.start()
        lab.read_files(100, user="one", auid=1003)
        lab.wait_for(lambda: len(lab.alert_lines()) == 1, what="first alert")
        lab.read_files(100, user="two", auid=1004, start=100)
        lab.wait_for(lambda: (tmp_path / "alerts.jsonl.1").exists() and lab.alert_lines(), what="rotation")
        lab.stop()
    finally:
        if lab.proc and lab.proc.poll() is None:
            lab.proc.kill()
    first = json.loads((tmp_path / "alerts.jsonl.1").read_text())
    second = lab.alert_lines()
    assert [first["user"]] + [a["user"] for a in second] == ["one", "two"]
    for a in [first, *second]:
        assert re.fullmatch(r"dl-[0-9a-f]{16}", a["id"])
        assert a["id"] == swc.alert_id(a["host"], a["dataset"], a["user"], a["last_event"])
