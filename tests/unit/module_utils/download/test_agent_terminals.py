"""The agent's terminal warning finds the user's terminals in utmp (Debian 12) or, where the host
has no utmp (Debian 13: systemd 257 is built without it), in systemd-logind's session files and
the terminal devices the user owns (an SSH login's logind session has no TTY=)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import pathlib
import pwd
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
    no_dev = str(tmp_path / "no-dev")
    assert agent.sessions("clerk", str(tmp_path / "no-utmp"), str(logind), no_dev) == ["pts/0", "tty2"]


@pytest.mark.control("6-5.agent_running")
def test_no_utmp_and_no_logind_means_no_terminal_warning_not_an_error(tmp_path: pathlib.Path) -> None:
    # the alert itself (journal, alert log) does not depend on it: the warning reaches 0 terminals
    none = [str(tmp_path / x) for x in ("no-utmp", "no-logind", "no-dev")]
    assert agent.sessions("clerk", *none) == []


@pytest.mark.control("6-5.agent_running")
def test_without_utmp_an_ssh_terminal_is_found_by_its_owner(tmp_path: pathlib.Path) -> None:
    """sshd hands the pty to the user but opens the PAM session before it allocates it, so logind
    records that session without TTY= (Debian 13 VM): the pty's owner names the terminal."""
    me = pwd.getpwuid(os.getuid()).pw_name
    logind = tmp_path / "sessions"
    logind.mkdir()
    session(logind, "3", me)  # the SSH login, as logind records it: no TTY=
    primary, secondary = os.openpty()  # a real /dev/pts/N, owned by this process's user
    try:
        line = os.ttyname(secondary)[len("/dev/") :]
        assert line.startswith("pts/")
        assert line in agent.sessions(me, str(tmp_path / "no-utmp"), str(logind))
        assert line in agent.owned_terminals(me)
        if os.getuid() != 0:
            assert line not in agent.owned_terminals("root")
        assert line not in agent.owned_terminals("nobody")
    finally:
        os.close(primary)
        os.close(secondary)
    assert agent.owned_terminals("no-such-user-pii") == []


@pytest.mark.control("6-5.agent_running")
def test_owned_terminals_are_character_devices_with_a_terminal_name(tmp_path: pathlib.Path) -> None:
    # Regular files or other names under a /dev owned by the user are never a terminal.
    me = pwd.getpwuid(os.getuid()).pw_name
    (tmp_path / "pts").mkdir()
    for name in ("pts/5", "tty3", "ttyS0", "pts/ptmx", "tty"):
        (tmp_path / name).write_text("")
    assert agent.owned_terminals(me, str(tmp_path)) == []
