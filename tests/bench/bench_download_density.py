"""Honest throughput of the download alert agent against `ausearch -k` (issue 15 point 9).

Nine logs of the same size, in auditd's ENRICHED format: records spread over 12 hours,
10 minutes or 1 minute (ausearch is slow when events sit within seconds, fast when they are
spread out), with 1 %, 10 % or 100 % of the records belonging to a watched key (a real
endpoint's log is mostly other records: other rules' SYSCALL/PATH groups, logins, cron).
For each, the agent (`--replay`, Debian's python3) and `ausearch -k KEY -if LOG` on the same
file, page cache warm for both; prints the nine ratios (agent records/s / ausearch records/s).
Targets (issue 15): >= 5x at 1 %, >= 1x at 10 %, >= 0.5x at 100 %, at every density.

Run: make bench   (or .venv/bin/python tests/bench/bench_download_density.py [records])
"""

from __future__ import annotations

import json
import pathlib
import random
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from bench_download_alert import AGENT, KEY, SYSCALL

SPANS = (("12 h", 43200.0), ("10 min", 600.0), ("1 min", 60.0))
SHARES = (0.01, 0.10, 1.0)
USERS = 2000
LOGIN = (
    "type=USER_START msg=audit(%(t).3f:%(s)d): pid=%(pid)d uid=0 auid=%(auid)d ses=%(ses)d "
    'subj=unconfined msg=\'op=PAM:session_open grantors=pam_unix acct="u%(auid)d" exe="/usr/sbin/cron" '
    'hostname=? addr=? terminal=cron res=success\'\x1dUID="root" AUID="u%(auid)d"\n'
)


def generate(path: pathlib.Path, records: int, span: float, share: float) -> int:
    """Write about ``records`` records; returns the watched opens (SYSCALL records of KEY)."""
    rnd = random.Random(42)
    groups = records // 4
    t0, serial, watched = 1764306000.0, 1000, 0
    with open(path, "w") as fh:
        chunk = []
        for i in range(groups):
            serial += 1
            u = rnd.randrange(USERS)
            vals = {"t": t0 + span * i / groups, "s": serial, "pid": 2000 + u, "auid": 10000 + u, "ses": u}
            if rnd.random() < share:
                f = rnd.randrange(50000)
                chunk.append(SYSCALL % dict(vals, key=KEY, f=f, ino=100000 + f))
                watched += 1
            elif rnd.random() < 0.5:  # another rule's group, same shape
                f = rnd.randrange(50000)
                chunk.append(SYSCALL % dict(vals, key="etc_read", f=f, ino=900000 + f))
            else:  # four login/cron records
                chunk.append(LOGIN % vals * 4)
            if len(chunk) >= 5000:
                fh.write("".join(chunk))
                chunk = []
        fh.write("".join(chunk))
    return watched


def main() -> int:
    records = int(sys.argv[1]) if len(sys.argv) > 1 else 400_000
    if not shutil.which("ausearch"):
        print("ausearch not installed (apt-get install auditd): no baseline")
        return 1
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="dl-density-"))
    try:
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
                    "threshold": 200,
                    "window": 60,
                }
            ],
        }
        (tmp / "config.json").write_text(json.dumps(cfg))
        table = []
        for span_name, span in SPANS:
            for share in SHARES:
                log = tmp / "audit.log"
                watched = generate(log, records, span, share)
                n = sum(1 for _ in open(log, "rb"))
                subprocess.run(["cat", str(log)], stdout=subprocess.DEVNULL, check=True)
                for p in (tmp / "state.json", tmp / "alerts.jsonl"):
                    p.unlink(missing_ok=True)
                out = subprocess.run(
                    ["/usr/bin/python3", str(AGENT), "--config", str(tmp / "config.json"), "--replay", str(log)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                stats = json.loads(out.stdout)
                assert stats["records"] == n and stats["events"] == watched, (stats, n, watched)
                with open(tmp / "ausearch.out", "wb") as fh:
                    start = time.perf_counter()
                    subprocess.run(["ausearch", "-k", KEY, "-if", str(log)], stdout=fh, check=False)
                    au_s = time.perf_counter() - start
                with open(tmp / "ausearch.out", "rb") as fh:
                    found = sum(1 for x in fh if x.startswith(b"type=SYSCALL"))
                assert found == watched, (found, watched)
                agent_rate, au_rate = n / stats["seconds"], n / au_s
                ratio = agent_rate / au_rate
                table.append((span_name, share, ratio))
                print(
                    "BENCH agent records/s, %s, %d%% watched: %.0f | baseline ausearch -k: %.0f | ratio: %.2fx"
                    % (span_name, share * 100, agent_rate, au_rate, ratio),
                    flush=True,
                )
        print("ratios (agent / ausearch -k):      1%     10%    100%")
        for span_name, _span in SPANS:
            row = [r for s, _sh, r in table if s == span_name]
            print("  %-8s                      %s" % (span_name, "  ".join("%5.2fx" % r for r in row)))
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
