#!/usr/bin/env python3
"""Benchmark: playbooks/audit.yml over 10 lab endpoints beside `ansible -m ping` over the same.

Starts 10 podman endpoints from the lab image (`rep-bench-01..10`, `--network none`, reached
with podman exec), runs `ansible -m ping` and then the auditors' run over all of them in the
same session, and prints both wall times, the ratio and the tasks executed per host (from the
play recap). Target in issue 6: audit <= 4x ping. Removes its endpoints at the end.

    .venv/bin/python tests/bench/bench_audit.py [N]
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from rep_endpoints import ENV, ROOT, image_present, remove, start, write_inventory

BIN = ROOT / ".venv" / "bin"
RECAP = re.compile(
    r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)\s+rescued=(\d+)"
)


def timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.monotonic()
    res = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=3600)
    return time.monotonic() - t0, res


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    names = [f"rep-bench-{i:02d}" for i in range(1, n + 1)]
    if not image_present():
        print("the lab image is missing: run `make lab` first", file=sys.stderr)
        return 1
    try:
        with ThreadPoolExecutor(4) as ex:
            list(ex.map(start, names))
        with tempfile.TemporaryDirectory(prefix="rep-bench-") as tmp:
            # A realistic mix: most are terminals, two hold personal data, two stand in a system room.
            inv = write_inventory(Path(tmp) / "inventory", names, names[2:4], names[:2])
            ping_s, ping = timed([str(BIN / "ansible"), "-i", str(inv), "linux", "-m", "ansible.builtin.ping"])
            if ping.returncode != 0:
                print(ping.stdout[-3000:], ping.stderr[-2000:], file=sys.stderr)
                return 1
            audit_s, audit = timed(
                [
                    str(BIN / "ansible-playbook"),
                    "-i",
                    str(inv),
                    "playbooks/audit.yml",
                    "-e",
                    f"pii_guard_audit_report_dir={tmp}/reports",
                    "-e",
                    "pii_guard_audit_fail_on_findings=false",
                ]
            )
            recap = {m.group(1): m.groups()[1:] for m in map(RECAP.match, audit.stdout.splitlines()) if m}
            if audit.returncode != 0 or len(recap) != n:
                print(audit.stdout[-5000:], audit.stderr[-2000:], file=sys.stderr)
                return 1
            # Executed = ok (includes changed) + failed + rescued; skipped tasks never ran.
            executed = [int(v[0]) + int(v[3]) + int(v[5]) for v in recap.values()]
            skipped = [int(v[4]) for v in recap.values()]
    finally:
        for name in names:
            remove(name)
    ratio = audit_s / ping_s
    print(f"BENCH audit_{n}_hosts: {audit_s:.1f} s | baseline ping_{n}_hosts: {ping_s:.1f} s | ratio: {ratio:.1f}x")
    print(
        f"BENCH audit_tasks_per_host: {sum(executed) / n:.1f} tasks (min {min(executed)}, max {max(executed)}; "
        f"skipped {sum(skipped) / n:.1f}) | baseline ping_tasks_per_host: 1 tasks | ratio: {sum(executed) / n:.1f}x"
    )
    print(f"target (issue 6): audit <= 4x ping -> {'met' if ratio <= 4 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
