"""Benchmark of the download alert agent (clause 6-5) on a generated audit log.

Generates >= 1M audit records in auditd 3.0.9's ENRICHED format (SYSCALL, CWD, PATH,
PROCTITLE per open, 0x1d before the resolved names) from 10,000 distinct users plus noise
from another rule key, then times, on the same file in the same run:
  * the agent (`pii-download-alert --replay`, Debian's python3, one core),
  * `wc -l` (a floor: reading the lines and nothing else),
  * `ausearch -k KEY -if FILE` (auditd's own search for the watched key),
and reports the agent's peak memory with 10k users. Each user reads 25 distinct files within
the window with threshold 20, so exactly 10,000 alerts are expected (checked).

Run: make bench   (or .venv/bin/python tests/bench/bench_download_alert.py [records])
"""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
AGENT = ROOT / "roles" / "download_alert" / "files" / "pii-download-alert"
KEY = "pii_dl_citizens"
USERS = 10_000
FILES_PER_USER = 25
THRESHOLD = 20

SYSCALL = (
    "type=SYSCALL msg=audit(%(t).3f:%(s)d): arch=c000003e syscall=257 success=yes exit=3 a0=ffffff9c "
    "a1=7ffd2c3b4e10 a2=0 a3=0 items=1 ppid=1234 pid=%(pid)d auid=%(auid)d uid=%(auid)d gid=%(auid)d "
    "euid=%(auid)d suid=%(auid)d fsuid=%(auid)d egid=%(auid)d sgid=%(auid)d fsgid=%(auid)d tty=pts0 ses=%(ses)d "
    'comm="cat" exe="/usr/bin/cat" subj=unconfined key="%(key)s"\x1dARCH=x86_64 SYSCALL=openat '
    'AUID="u%(auid)d" UID="u%(auid)d" GID="u%(auid)d" EUID="u%(auid)d" SUID="u%(auid)d" FSUID="u%(auid)d" '
    'EGID="u%(auid)d" SGID="u%(auid)d" FSGID="u%(auid)d"\n'
    'type=CWD msg=audit(%(t).3f:%(s)d): cwd="/home/u%(auid)d"\n'
    'type=PATH msg=audit(%(t).3f:%(s)d): item=0 name="/srv/pii/r%(f)06d.csv" inode=%(ino)d dev=fe:00 '
    "mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 "
    'cap_frootid=0\x1dOUID="root" OGID="root"\n'
    "type=PROCTITLE msg=audit(%(t).3f:%(s)d): proctitle=636174002F7372762F7069692F72303030312E637376\n"
)


def generate(path: pathlib.Path, min_records: int) -> tuple[int, int]:
    """Write the log; returns (records, opens of the watched key)."""
    rounds = max(FILES_PER_USER, -(-min_records // (USERS * 4 * 5 // 4)))
    serial, records, watched = 1000, 0, 0
    t0 = 1764306000.0
    with open(path, "w") as fh:
        for r in range(rounds):
            chunk = []
            for u in range(USERS):
                serial += 1
                # rounds of 10k opens 2 s apart: a user's 25 files fall within one 60 s window
                t = t0 + r * 2.0 + u * 0.0002
                auid = 10000 + u
                f = r % FILES_PER_USER if r < FILES_PER_USER else FILES_PER_USER + r
                chunk.append(
                    SYSCALL
                    % {
                        "t": t,
                        "s": serial,
                        "pid": 2000 + u,
                        "auid": auid,
                        "ses": u,
                        "key": KEY,
                        "f": f,
                        "ino": 100000 + f,
                    }
                )
                watched += 1
                if u % 4 == 0:  # noise: another rule's events, same shape
                    serial += 1
                    chunk.append(
                        SYSCALL
                        % {
                            "t": t,
                            "s": serial,
                            "pid": 2000 + u,
                            "auid": auid,
                            "ses": u,
                            "key": "etc_read",
                            "f": f,
                            "ino": 900000 + f,
                        }
                    )
                    records += 4
                records += 4
            fh.write("".join(chunk))
            if records >= min_records and r + 1 >= FILES_PER_USER:
                break
    return records, watched


def timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, out


def line(name: str, value: float, unit: str, base_name: str, base: float) -> str:
    return "BENCH %s: %.0f %s | baseline %s: %.0f %s | ratio: %.2fx" % (
        name,
        value,
        unit,
        base_name,
        base,
        unit,
        value / base,
    )


def main() -> int:
    min_records = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="dl-bench-"))
    try:
        log = tmp / "audit.log"
        t = time.perf_counter()
        records, watched = generate(log, min_records)
        size = log.stat().st_size
        print(
            "generated %d records (%d watched opens, %d users, %.0f MB) in %.1f s"
            % (records, watched, USERS, size / 1e6, time.perf_counter() - t)
        )
        (tmp / "pii").mkdir()
        cfg = {
            "alert_log": str(tmp / "alerts.jsonl"),
            "state_file": str(tmp / "state.json"),
            "datasets": [
                {
                    "name": "citizens",
                    "source": "audit",
                    "paths": [str(tmp / "pii")],
                    "key": KEY,
                    "threshold": THRESHOLD,
                    "window": 60,
                }
            ],
        }
        (tmp / "config.json").write_text(json.dumps(cfg))
        subprocess.run(["cat", str(log)], stdout=subprocess.DEVNULL, check=True)  # same page cache for all

        wall, out = timed(["/usr/bin/python3", str(AGENT), "--config", str(tmp / "config.json"), "--replay", str(log)])
        if out.returncode != 0:
            print(out.stderr)
            return 1
        stats = json.loads(out.stdout)
        alerts = sum(1 for _ in open(tmp / "alerts.jsonl"))
        assert stats["records"] == records, stats
        assert alerts == USERS and stats["alerts"] == USERS, (alerts, stats)
        agent_rate = records / stats["seconds"]
        print(
            "agent: %.2f s processing (%.2f s with interpreter start), %d events, %d alerts, %d user windows"
            % (stats["seconds"], wall, stats["events"], stats["alerts"], stats["keys"])
        )

        wc_s, wc = timed(["wc", "-l", str(log)])
        assert int(wc.stdout.split()[0]) == records
        print(line("agent throughput", agent_rate, "records/s", "wc -l", records / wc_s))

        if shutil.which("ausearch"):
            with open(tmp / "ausearch.out", "w") as out_fh:
                start = time.perf_counter()
                rc = subprocess.run(["ausearch", "-k", KEY, "-if", str(log)], stdout=out_fh, check=False).returncode
                au_s = time.perf_counter() - start
            with open(tmp / "ausearch.out", "rb") as fh:
                found = sum(1 for x in fh if x.startswith(b"type=SYSCALL"))
            assert found == watched, (found, watched)
            print("ausearch: %.2f s, %d events of key %s (rc %d)" % (au_s, found, KEY, rc))
            print(line("agent throughput", agent_rate, "records/s", "ausearch -k", records / au_s))
        else:
            print("ausearch not installed (apt-get install auditd): baseline skipped")

        idle = subprocess.run(
            ["/usr/bin/python3", "-c", "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"],
            capture_output=True,
            text=True,
            check=True,
        )
        base_kb = int(idle.stdout)
        print(line("agent peak memory (10k users)", stats["peak_rss_kb"] / 1024, "MiB", "python3 idle", base_kb / 1024))
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
