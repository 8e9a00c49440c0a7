"""An agent that was down for two or more rotations of a log it follows (issue 15): logrotate
with ``compress`` + ``delaycompress`` leaves the file the agent stopped in as <file>.2.gz or
older (a new inode), auditd leaves <file>.2, .3 uncompressed. The agent finds that file by
the digest of its first bytes saved with the checkpoint, reads it from the saved offset (a .gz
decompressed as it is read) and every newer rotated file, then the current one: nothing lost,
nothing counted twice. When the file is gone (rotated beyond the files kept) it is never
silent: counted as ``rotated_away`` in the agent's stats, one warning in the journal, and it
reads on from the rotated files written to since the checkpoint.

Real files, rotated as logrotate does (rename, gzip, create), the agent in-process
(test_agent_exact: a kill is "drop the memory, keep the files")."""

from __future__ import annotations

import gzip
import json
import os
import pathlib
import subprocess
import time

import pytest
from test_agent_exact import agent_mod, drain, kill


class App:
    """A JSON-lines log: one line per user, each read counts 1 row for a new user, so that
    the agent's windows show both a lost line (a user missing) and a repeated one (count 2)."""

    def __init__(self, tmp: pathlib.Path) -> None:
        self.tmp = tmp
        self.log = tmp / "app.json"
        self.log.touch()
        self.n = 0
        self.users: list[str] = []

    def write(self, lines: int, pad: int = 40) -> list[str]:
        new = ["u%06d" % (self.n + i) for i in range(lines)]
        self.n += lines
        with open(self.log, "a") as fh:
            fh.write("".join(json.dumps({"actor": u, "rows": 1, "pad": "x" * pad}) + "\n" for u in new))
        self.users += new
        return new

    def rotate(self, keep: int, compress: bool = True) -> None:
        """logrotate: the oldest kept file removed, .N -> .N+1, .1 -> .2(.gz: delaycompress
        compresses it now, gzip keeping its mtime), the log -> .1, a new empty log."""
        p = str(self.log)

        def name(n: int) -> str:
            return "%s.%d%s" % (p, n, ".gz" if compress and n >= 2 else "")

        if os.path.exists(name(keep)):
            os.remove(name(keep))
        for n in range(keep - 1, 1, -1):
            if os.path.exists(name(n)):
                os.rename(name(n), name(n + 1))
        if os.path.exists(p + ".1"):
            os.rename(p + ".1", p + ".2")
            if compress:
                subprocess.run(["gzip", p + ".2"], check=True)
        os.rename(p, p + ".1")
        self.log.touch()

    def config(self) -> dict:
        return {
            "audit_log": str(self.tmp / "audit.log"),
            "state_file": str(self.tmp / "state.json"),
            "alert_log": str(self.tmp / "alerts.jsonl"),
            "checkpoint_interval": 1,
            "channels": {"journal": False, "session": False, "webhook": None},
            "datasets": [
                {
                    "name": "exports",
                    "source": "jsonlog",
                    "log": str(self.log),
                    "user": "actor",
                    "count": "rows",
                    "threshold": 10000000,
                    "window": 1000000,
                }
            ],
        }


def counted(agent) -> dict[str, int]:
    return {w[1]: sum(e[1] for e in w[5]) for w in agent.windows.dump()}


def stop(agent) -> None:
    """Checkpoint, then the kill: what a SIGKILL after a checkpoint leaves."""
    agent.save_state()
    kill(agent)
    for f, _parser, _ds in agent.logs.values():
        f.close()
    time.sleep(0.05)  # later writes get a later mtime than the checkpoint (coarse file clock)


@pytest.mark.parametrize("compress", [True, False], ids=["logrotate-gz", "auditd-plain"])
@pytest.mark.parametrize("rotations", [1, 2, 3, 5])
@pytest.mark.control("6-5.agent_running")
def test_down_for_several_rotations_resumes_exactly(tmp_path, capsys, rotations, compress):
    app = App(tmp_path)
    app.write(50)
    agent = agent_mod.Agent(app.config(), from_start=True)
    drain(agent)
    stop(agent)
    app.write(20)  # after the checkpoint, in the file the agent stopped in
    for _ in range(rotations):
        app.rotate(keep=7, compress=compress)
        app.write(30)
    if rotations >= 2 and compress:
        assert not os.path.exists(str(app.log) + ".2") and os.path.exists(str(app.log) + ".2.gz")
    again = agent_mod.Agent(app.config(), from_start=True)
    drain(again)
    assert counted(again) == dict.fromkeys(app.users, 1)  # every line once: none lost, none twice
    assert "rotated_away" not in again.unusable_counts()[str(app.log)]
    assert "rotated away" not in capsys.readouterr().err
    app.write(5)  # and it follows the current file on
    drain(again)
    assert counted(again) == dict.fromkeys(app.users, 1)


@pytest.mark.control("6-5.agent_running")
def test_a_restart_in_the_middle_of_a_gz_resumes_exactly(tmp_path):
    """Killed while reading the backlog: the checkpoint is inside <file>.3.gz (a position in
    the decompressed stream, the file named by its head); the next start resumes there."""
    app = App(tmp_path)
    app.write(10)
    agent = agent_mod.Agent(app.config(), from_start=True)
    drain(agent)
    stop(agent)
    app.write(6000, pad=80)  # > 2 reads of 256 KiB after the checkpoint
    app.rotate(keep=7)
    app.write(3000, pad=80)
    app.rotate(keep=7)
    app.write(10)
    app.rotate(keep=7)
    agent = agent_mod.Agent(app.config(), from_start=True)
    f = agent.logs[str(app.log)][0]
    assert f.compressed and [x[0] for x in f.backlog] == ["%s.2.gz" % app.log, "%s.1" % app.log, str(app.log)]
    saved = json.loads((tmp_path / "state.json").read_text())["files"][str(app.log)]
    agent.step()  # one read of the .3.gz
    state = f.state()
    assert f.compressed and saved["offset"] < state["offset"] < 6000 * 100 and state["head"] == saved["head"]
    stop(agent)
    agent = agent_mod.Agent(app.config(), from_start=True)
    drain(agent)
    assert counted(agent) == dict.fromkeys(app.users, 1)


@pytest.mark.control("6-5.agent_running")
def test_a_file_rotated_away_is_counted_warned_once_and_the_newer_files_are_read(tmp_path, capsys):
    """Down for five rotations with two rotated files kept: the file it stopped in is gone.
    The lines written to it after the checkpoint (and to the files deleted since) cannot be
    read: the loss is counted (rotated_away) and warned once, escaped; the kept files written
    since the checkpoint are read whole, exactly once; a later restart does not warn again."""
    app = App(tmp_path)
    app.write(40)
    agent = agent_mod.Agent(app.config(), from_start=True)
    drain(agent)
    stop(agent)
    lost = app.write(15)
    for _ in range(5):
        app.rotate(keep=2)
        lost += app.write(10)
    kept = app.users[:40] + lost[-30:]  # read before, then .2.gz, .1 and the current file
    agent = agent_mod.Agent(app.config(), from_start=True)
    drain(agent)
    assert counted(agent) == dict.fromkeys(kept, 1)
    assert agent.unusable_counts()[str(app.log)]["rotated_away"] == 1
    err = capsys.readouterr().err
    warnings = [x for x in err.splitlines() if "rotated away" in x]
    assert len(warnings) == 1 and warnings[0].startswith("<4>%s: the file read up to byte " % app.log)
    assert "reading on from %s.2.gz" % app.log in warnings[0]
    stop(agent)
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["unusable"][str(app.log)]["rotated_away"] == 1  # the audit's evidence has it
    agent = agent_mod.Agent(app.config(), from_start=True)
    drain(agent)
    assert "rotated away" not in capsys.readouterr().err
    assert agent.unusable_counts()[str(app.log)]["rotated_away"] == 1


@pytest.mark.control("6-5.agent_running")
def test_the_audit_log_rotated_away_is_counted_with_the_parser_reasons(tmp_path, capsys):
    """auditd's own rotation (audit.log.1, .2, ... uncompressed, num_logs kept)."""
    from test_agent_exact import config as exact_config
    from test_window import audit_event

    cfg = exact_config(tmp_path)
    log = tmp_path / "audit.log"

    def opens(start: int, n: int) -> None:
        with open(log, "a") as fh:
            for i in range(start, start + n):
                fh.write("\n".join(audit_event(1000 + i, "/x/f%d" % i, 5000 + i, auid=1001)) + "\n")

    opens(0, 3)
    agent = agent_mod.Agent(cfg, from_start=True)
    drain(agent)
    agent.save_state()
    kill(agent)
    time.sleep(0.05)
    opens(3, 2)
    for r in range(3):  # num_logs = 2: audit.log.1 and .2 kept
        if os.path.exists(str(log) + ".2"):
            os.remove(str(log) + ".2")
        if os.path.exists(str(log) + ".1"):
            os.rename(str(log) + ".1", str(log) + ".2")
        os.rename(log, str(log) + ".1")
        opens(10 + 10 * r, 1)
    agent = agent_mod.Agent(cfg, from_start=True)
    drain(agent)
    assert agent.unusable_counts()[str(log)]["rotated_away"] == 1
    assert sum(1 for x in capsys.readouterr().err.splitlines() if "rotated away" in x) == 1
    agent.save_state()
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["audit_parser"]["unusable"]["rotated_away"] == 1


def _checkpoint_then_two_rotations(tmp_path):
    """10 lines read and checkpointed, then 5 more rotated to .2.gz and 5 to .1 while the agent is down."""
    app = App(tmp_path)
    app.write(10)
    agent = agent_mod.Agent(app.config(), from_start=True)
    drain(agent)
    stop(agent)
    app.write(5)
    app.rotate(keep=7)
    app.write(5)
    app.rotate(keep=7)
    return app


@pytest.mark.parametrize("damage", ["truncated", "garbled"])
def test_a_broken_gz_is_not_taken_for_the_checkpoint(tmp_path, damage):
    app = _checkpoint_then_two_rotations(tmp_path)
    gz = pathlib.Path(str(app.log) + ".2.gz")
    data = gz.read_bytes()
    if damage == "truncated":
        gz.write_bytes(data[:20])
    else:  # the deflate stream overwritten past the 10-byte header
        gz.write_bytes(data[:10] + bytes(255 - b for b in data[10:-8]) + data[-8:])
    with pytest.raises(Exception):  # noqa: B017 - EOFError, BadGzipFile or zlib.error, as gzip finds it
        gzip.decompress(gz.read_bytes())
    agent = agent_mod.Agent(app.config(), from_start=True)
    drain(agent)
    assert agent.unusable_counts()[str(app.log)]["rotated_away"] == 1
    assert set(counted(agent)) == set(app.users[:10] + app.users[15:20])


def test_a_gz_with_a_bad_checksum_is_read_to_its_end_then_left_with_a_warning(tmp_path, capsys):
    """The checkpoint's file found (its head decompresses), its CRC trailer wrong: the lines are
    read, the error at its end is warned, and the newer files follow."""
    app = _checkpoint_then_two_rotations(tmp_path)
    app.write(5)
    gz = pathlib.Path(str(app.log) + ".2.gz")
    data = gz.read_bytes()
    gz.write_bytes(data[:-8] + bytes(255 - b for b in data[-8:-4]) + data[-4:])
    agent = agent_mod.Agent(app.config(), from_start=True)
    assert agent.logs[str(app.log)][0].compressed  # found by its head
    drain(agent)
    assert counted(agent) == dict.fromkeys(app.users, 1)
    assert "rotated_away" not in agent.unusable_counts()[str(app.log)]
    assert "rotated file unreadable" in capsys.readouterr().err
