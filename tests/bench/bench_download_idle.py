"""Idle cost of the download alert agent (clause 6-5, issue 15 point 8).

Starts the real agent (Debian's python3) on an audit log in which 10,000 users have each
read files within the window, lets it process and checkpoint, then measures it while
nothing is written to its logs: CPU time (utime + stime from /proc/PID/stat) as a share of
one core, and bytes written (write_bytes and wchar from /proc/PID/io) per hour.
Targets: < 0.5 % of a core and < 10 MB/h written when nothing is read.

Run: make bench   (or .venv/bin/python tests/bench/bench_download_idle.py [seconds])
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from bench_download_alert import AGENT, KEY, SYSCALL

USERS = 10_000
FILES = 5


def cpu_seconds(pid: int) -> float:
    fields = pathlib.Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def io(pid: int) -> dict[str, int]:
    out = {}
    for line in pathlib.Path("/proc/%d/io" % pid).read_text().splitlines():
        k, v = line.split(":")
        out[k] = int(v)
    return out


def main() -> int:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="dl-idle-"))
    try:
        log = tmp / "audit.log"
        now = time.time()
        serial = 1000
        with open(log, "w") as fh:
            for f in range(FILES):
                chunk = []
                for u in range(USERS):
                    serial += 1
                    auid = 10000 + u
                    vals = {"t": now - 30 + f, "s": serial, "pid": 2000 + u, "auid": auid, "ses": u, "key": KEY}
                    chunk.append(SYSCALL % dict(vals, f=f, ino=100000 + f))
                fh.write("".join(chunk))
        (tmp / "pii").mkdir()
        cfg = {
            "audit_log": str(log),
            "alert_log": str(tmp / "alerts.jsonl"),
            "state_file": str(tmp / "state.json"),
            "channels": {"journal": False, "session": False, "webhook": None},
            "datasets": [
                {"name": "citizens", "source": "audit", "paths": [str(tmp / "pii")], "key": KEY, "threshold": 20},
            ],
        }
        cfg["datasets"][0]["window"] = 3600  # every user's window stays full while we measure
        (tmp / "config.json").write_text(json.dumps(cfg))
        err = open(tmp / "agent.err", "wb")
        proc = subprocess.Popen(
            ["/usr/bin/python3", str(AGENT), "--config", str(tmp / "config.json"), "--from-start"], stderr=err
        )
        try:
            # processed and checkpointed: the state holds every user's window
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    state = json.loads((tmp / "state.json").read_text())
                    if len(state["windows"]) == USERS and state["audit_parser"]["pos"] == log.stat().st_size:
                        break
                except (OSError, ValueError, KeyError):
                    pass
                time.sleep(0.5)
            else:
                print("agent did not process the log in time")
                return 1
            time.sleep(7)  # past one more checkpoint interval
            size = (tmp / "state.json").stat().st_size
            c0, io0, t0 = cpu_seconds(proc.pid), io(proc.pid), time.monotonic()
            time.sleep(seconds)
            c1, io1, t1 = cpu_seconds(proc.pid), io(proc.pid), time.monotonic()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
            err.close()
        elapsed = t1 - t0
        cpu_pct = 100.0 * (c1 - c0) / elapsed
        per_hour = 3600.0 / elapsed
        wrote = (io1["write_bytes"] - io0["write_bytes"]) * per_hour
        wchar = (io1["wchar"] - io0["wchar"]) * per_hour
        print("idle agent with %d user windows (state file %.1f MB), measured %.0f s" % (USERS, size / 1e6, elapsed))
        print("BENCH idle CPU: %.3f %% of a core | target: 0.5 %% | ratio: %.2fx" % (cpu_pct, cpu_pct / 0.5))
        print(
            "BENCH idle bytes written: %.3f MB/h (write(2) %.3f MB/h) | target: 10 MB/h | ratio: %.4fx"
            % (wrote / 1e6, wchar / 1e6, max(wrote, wchar) / 10e6)
        )
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
