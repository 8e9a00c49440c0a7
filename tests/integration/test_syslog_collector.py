"""The download alert agent forwards its alerts to a real rsyslog (issue 15, point 10).

One lab container (`--network none`) runs rsyslogd (imtcp on 127.0.0.1, mmpstrucdata) and the
agent from this checkout (mounted read-only), so every packet stays on the container's
loopback. Alerts come from a JSON-lines export log with hostile user names. rsyslog is stopped
mid-run and the agent restarted while it is down: every alert arrives exactly once, in order.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rep_endpoints import ROOT, image_present, podman, remove
from rsyslog_lab import PREFIX, RSYSLOG_CONF, image

from ansible_collections.pii_guard.safeguards.plugins.module_utils.download import window as dw
from ansible_collections.pii_guard.safeguards.plugins.module_utils.download.sliding_window import forward as fw

pytestmark = pytest.mark.skipif(not image_present(), reason="lab image not built (make lab)")
NAME = PREFIX + "collector"
PORT = 10514
AGENT = "/repo/roles/download_alert/files/pii-download-alert"
HOSTILE = ['ev"il] x="1', "back\\slash", "new\nline <0>", "nul\x00byte", "山田]太郎"]


class Lab:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.export = tmp / "export.jsonl"
        self.received = tmp / "out" / "received.jsonl"
        self.spool = tmp / "state" / "syslog-spool"
        self.ts = time.time()

    def sh(self, script: str, check: bool = True) -> str:
        return podman("exec", NAME, "sh", "-c", script, check=check).stdout

    def start_rsyslog(self) -> None:
        self.sh("rsyslogd -i /lab/rsyslog.pid -f /lab/rsyslog.conf </dev/null >>/lab/rsyslog.err 2>&1")
        self.wait(lambda: self.sh("ss -Hltn 'sport = :%d'" % PORT).strip() != "")

    def stop_rsyslog(self) -> None:
        self.sh("kill -TERM $(cat /lab/rsyslog.pid)")
        self.wait(lambda: self.sh("test -e /lab/rsyslog.pid && echo up || true").strip() == "")

    def start_agent(self) -> None:
        run = f"python3 {AGENT} --config /lab/config.json </dev/null >/dev/null 2>>/lab/agent.err"
        self.sh(run + " & echo $! >/lab/agent.pid")
        self.wait(lambda: b"watching" in (self.tmp / "agent.err").read_bytes())

    def stop_agent(self) -> None:
        # PID 1 (sleep) reaps nothing: the stopped agent stays a zombie, state Z
        self.sh(
            "p=$(cat /lab/agent.pid); kill -TERM $p; until grep -q '^State:.*Z' /proc/$p/status; do sleep 0.1; done"
        )

    def export_rows(self, users: list[str]) -> None:
        """One export of 1000 rows per user: one alert each, in this order."""
        with self.export.open("a") as fh:
            for u in users:
                self.ts += 1
                fh.write(json.dumps({"kind": "export", "actor": u, "rows": 1000, "ts": self.ts}) + "\n")

    def alerts(self) -> list[dict]:
        path = self.tmp / "alerts.jsonl"
        return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []

    def got(self) -> list[dict]:
        return [json.loads(x) for x in self.received.read_text().splitlines()] if self.received.exists() else []

    @staticmethod
    def wait(cond: Callable[[], bool], timeout: float = 60.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if cond():
                return
            time.sleep(0.2)
        raise AssertionError("timed out")


@pytest.fixture
def lab() -> Iterator[Lab]:
    ref = image()
    tmp = Path(tempfile.mkdtemp(prefix=PREFIX + "syslog-"))
    for d in ("out", "state", "rsyslog-work"):
        (tmp / d).mkdir()
    (tmp / "rsyslog.conf").write_text(RSYSLOG_CONF.format(port=PORT))
    (tmp / "export.jsonl").touch()
    config = {
        "state_file": "/lab/state/state.json",
        "alert_log": "/lab/alerts.jsonl",
        "checkpoint_interval": 1,
        "channels": {
            "journal": False,
            "session": False,
            "webhook": None,
            "syslog": {"host": "127.0.0.1", "port": PORT, "facility": "local4"},
        },
        "datasets": [
            {
                "name": "exports",
                "source": "jsonlog",
                "log": "/lab/export.jsonl",
                "user": "actor",
                "count": "rows",
                "time": "ts",
                "filter": "kind == 'export'",
                "threshold": 1000,
                "window": 600,
            }
        ],
    }
    (tmp / "config.json").write_text(json.dumps(config))
    remove(NAME)
    podman(
        "run", "-d", "--name", NAME, "--hostname", "ws-lab01", "--network", "none",
        "-v", f"{ROOT}:/repo:ro", "-v", f"{tmp}:/lab", ref, "sleep", "infinity",
    )  # fmt: skip
    try:
        yield Lab(tmp)
    finally:
        remove(NAME)
        shutil.rmtree(tmp, ignore_errors=True)


def sd_of(message: bytes) -> str:
    """The STRUCTURED-DATA field of a message format_message wrote (it ends before SP BOM)."""
    head = message.split(b" \xef\xbb\xbf", 1)[0].decode()
    return head[head.index(" [") + 1 :]


@pytest.mark.control("6-5.agent_running")
def test_alerts_reach_rsyslog_exactly_and_survive_its_outage_and_an_agent_restart(lab: Lab) -> None:
    lab.start_rsyslog()
    lab.start_agent()
    first = [*HOSTILE, "u01"]
    lab.export_rows(first)
    lab.wait(lambda: len(lab.got()) == len(first))

    # every message as rsyslog parsed it: header fields, raw SD equal to what the agent's
    # formatter makes of the alert it logged, and the params as mmpstrucdata unescaped them
    alerts = lab.alerts()
    assert [a["user"] for a in alerts] == first
    for alert, got in zip(alerts, lab.got(), strict=True):
        assert (got["pri"], got["hostname"], got["app"], got["msgid"]) == (
            "164",
            "ws-lab01",
            "pii-download-alert",
            "download-alert",
        )
        sent = fw.format_message(alert, "local4", fw.DOCUMENTATION_PEN, got["procid"])
        assert got["raw"] == sent.decode()  # the whole message, byte for byte
        assert got["sd"] == sd_of(sent)
        [element] = got["rfc5424-sd"].values()
        assert list(got["rfc5424-sd"]) == ["pii-download-alert@32473"]
        assert element == {
            "dataset": "exports",
            "user": dw.escape(alert["user"]),
            "count": "1000",
            "window": "600",
            "threshold": "1000",
            "host": "ws-lab01",
            "first_event": alert["first_event"],
            "last_event": alert["last_event"],
        }
        assert got["msg"].lstrip("\ufeff") == alert["message"]

    # rsyslog down: the agent keeps reading and alerting; the alerts wait in the spool
    lab.stop_rsyslog()
    down = ["u%02d" % i for i in range(2, 12)]
    lab.export_rows(down)
    lab.wait(lambda: len(lab.alerts()) == len(first) + len(down))
    lab.wait(lambda: len(list(lab.spool.glob("*.msg"))) == len(down))
    # ... and across an agent restart while rsyslog is still down
    lab.stop_agent()
    lab.start_agent()
    after = ["u%02d" % i for i in range(12, 15)]
    lab.export_rows(after)
    lab.wait(lambda: len(list(lab.spool.glob("*.msg"))) == len(down) + len(after))
    assert len(lab.got()) == len(first)

    lab.start_rsyslog()
    expected = first + down + after
    lab.wait(lambda: len(lab.got()) >= len(expected))
    time.sleep(3)  # anything sent twice would show up by now
    users = [g["rfc5424-sd"]["pii-download-alert@32473"]["user"] for g in lab.got()]
    assert users == [dw.escape(u) for u in expected]
    assert list(lab.spool.glob("*.msg")) == []
    err = (lab.tmp / "agent.err").read_text()
    assert "syslog collector 127.0.0.1:10514 unavailable" in err and "reachable again" in err
