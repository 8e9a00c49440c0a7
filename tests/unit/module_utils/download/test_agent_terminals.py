"""The agent's terminal warning finds the user's terminals in utmp (Debian 12) or, where the host
has no utmp (Debian 13: systemd 257 is built without it), in systemd-logind's session files."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import pathlib
import struct

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[4]
AGENT = ROOT / "roles" / "download_alert" / "files" / "pii-download-alert"


def load_agent():
    loader = importlib.machinery.SourceFileLoader("pii_download_alert_terminals", str(AGENT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


agent = load_agent()


def utmp_record(kind: int, line: str, user: str) -> bytes:
    return struct.pack(
        agent.UTMP_FORMAT, kind, 0, 100, line.encode(), b"", user.encode(), b"", 0, 0, 0, 0, 0, 0, 0, 0, 0, b""
    )


def session(directory: pathlib.Path, sid: str, user: str, tty: str = "") -> None:
    lines = ["# This is private data. Do not parse.", "UID=1001", "USER=%s" % user, "ACTIVE=1", "STATE=active"]
    if tty:
        lines.append("TTY=%s" % tty)
    (directory / sid).write_text("\n".join(lines) + "\n")


@pytest.mark.control("6-5.agent_running")
def test_terminals_come_from_utmp_where_the_host_has_it(tmp_path: pathlib.Path) -> None:
    utmp = tmp_path / "utmp"
    utmp.write_bytes(
        utmp_record(agent.USER_PROCESS, "pts/3", "clerk")
        + utmp_record(agent.USER_PROCESS, "tty1", "other")
        + utmp_record(8, "pts/4", "clerk")  # DEAD_PROCESS: logged out
    )
    logind = tmp_path / "sessions"
    logind.mkdir()
    session(logind, "7", "clerk", "pts/9")  # not consulted: utmp is there
    assert agent.sessions("clerk", str(utmp), str(logind)) == ["pts/3"]


@pytest.mark.control("6-5.agent_running")
def test_without_utmp_the_terminals_come_from_logind(tmp_path: pathlib.Path) -> None:
    logind = tmp_path / "sessions"
    logind.mkdir()
    session(logind, "3", "clerk", "pts/0")
    session(logind, "4", "clerk", "/dev/tty2")
    session(logind, "5", "clerk")  # no terminal (an sftp or cron session)
    session(logind, "6", "other", "pts/1")
    session(logind, "7", "clerk", "../../etc/shadow")  # never a path outside /dev
    assert agent.sessions("clerk", str(tmp_path / "no-utmp"), str(logind)) == ["pts/0", "tty2"]


@pytest.mark.control("6-5.agent_running")
def test_no_utmp_and_no_logind_means_no_terminal_warning_not_an_error(tmp_path: pathlib.Path) -> None:
    # the alert itself (journal, alert log) does not depend on it: the warning reaches 0 terminals
    assert agent.sessions("clerk", str(tmp_path / "no-utmp"), str(tmp_path / "no-logind")) == []
