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
from rsyslog_lab import PREFIX, image, make_cert, rsyslog_conf

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
        self.starts = 0  # agent starts so far (each logs "watching")

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
        err = self.tmp / "agent.err"  # created by the backgrounded shell, maybe after exec returns
        self.wait(lambda: err.exists() and err.read_bytes().count(b"watching") > self.starts)
        self.starts += 1

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
def lab(request: pytest.FixtureRequest) -> Iterator[Lab]:
    """The container; with the parameter "tls", rsyslog listens with TLS (ossl) and the agent
    verifies its certificate against /lab/tls/cert.pem."""
    tls = getattr(request, "param", "") == "tls"
    ref = image()
    tmp = Path(tempfile.mkdtemp(prefix=PREFIX + "syslog-"))
    for d in ("out", "state", "rsyslog-work"):
        (tmp / d).mkdir()
    (tmp / "rsyslog.conf").write_text(rsyslog_conf(PORT, tls))
    syslog = {"host": "127.0.0.1", "port": PORT, "facility": "local4"}
    if tls:
        make_cert(tmp / "tls")
        syslog.update(tls=True, ca_file="/lab/tls/cert.pem")
    (tmp / "export.jsonl").touch()
    config = {
        "state_file": "/lab/state/state.json",
        "alert_log": "/lab/alerts.jsonl",
        "checkpoint_interval": 1,
        "channels": {
            "journal": False,
            "session": False,
            "webhook": None,
            "syslog": syslog,
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

    assert [a["user"] for a in lab.alerts()] == first
    assert_exact(lab.alerts(), lab.got())

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
    assert_all_once_in_order(lab, first + down + after)
    err = (lab.tmp / "agent.err").read_text()
    assert "syslog collector 127.0.0.1:10514 unavailable" in err and "reachable again" in err


@pytest.mark.control("6-5.agent_running")
@pytest.mark.parametrize("lab", ["tls"], indirect=True)
def test_alerts_reach_rsyslog_over_tls_exactly_and_after_an_outage(lab: Lab) -> None:
    lab.start_rsyslog()
    lab.start_agent()
    first = [*HOSTILE[:2], "t01"]
    lab.export_rows(first)
    lab.wait(lambda: len(lab.got()) == len(first))
    assert_exact(lab.alerts(), lab.got())
    lab.stop_rsyslog()
    down = ["t02", "t03"]
    lab.export_rows(down)
    lab.wait(lambda: len(list(lab.spool.glob("*.msg"))) == len(down))
    lab.start_rsyslog()
    assert_all_once_in_order(lab, first + down)
    assert "127.0.0.1:10514 (TLS) unavailable" in (lab.tmp / "agent.err").read_text()


@pytest.mark.control("6-5.agent_running")
def test_a_very_long_hostile_user_name_arrives_cut_parseable_and_marked(lab: Lab) -> None:
    # ~100 KB of SD escapes, multibyte characters and a forged line: the message is cut to the
    # default cap (2048 octets, RFC 5424 section 6.1), rsyslog's mmpstrucdata still parses it
    lab.start_rsyslog()
    lab.start_agent()
    long_user = '"\\]山' * 25000 + "\n<0>end"
    lab.export_rows([long_user, "after"])
    lab.wait(lambda: len(lab.got()) == 2)
    [cut, after] = lab.got()
    [alert, alert_after] = lab.alerts()
    assert alert["user"] == long_user  # the host's alert log keeps the whole name
    sent = fw.format_message(alert, "local4", fw.DOCUMENTATION_PEN, cut["procid"])
    assert len(sent) <= 2048 and b' truncated="1"] ' in sent
    assert cut["raw"] == sent.decode() and cut["sd"] == sd_of(sent)
    assert list(cut["rfc5424-sd"]) == ["pii-download-alert@32473"]
    element = cut["rfc5424-sd"]["pii-download-alert@32473"]
    assert element["truncated"] == "1"
    assert dw.escape(long_user).startswith(element["user"]) and len(element["user"]) > 300
    assert (element["dataset"], element["count"], element["host"]) == ("exports", "1000", "ws-lab01")
    msg = cut["msg"].lstrip("\ufeff")
    assert msg and alert["message"].startswith(msg)
    assert_exact([alert_after], [after])  # the next alert is whole again


def assert_all_once_in_order(lab: Lab, users: list[str]) -> None:
    lab.wait(lambda: len(lab.got()) >= len(users))
    time.sleep(3)  # anything sent twice would show up by now
    got = [g["rfc5424-sd"]["pii-download-alert@32473"]["user"] for g in lab.got()]
    assert got == [dw.escape(u) for u in users], (lab.tmp / "agent.err").read_text()[-3000:]
    assert list(lab.spool.glob("*.msg")) == []


def assert_exact(alerts: list[dict], received: list[dict]) -> None:
    """Every message as rsyslog parsed it: header fields, the raw message and SD equal to what
    the agent's formatter makes of the alert it logged, the params as mmpstrucdata read them."""
    for alert, got in zip(alerts, received, strict=True):
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
