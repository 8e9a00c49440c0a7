#!/usr/bin/env python3
"""Benchmark: playbooks/audit.yml over 10 lab endpoints beside `ansible -m ping` over the same.

Starts N podman endpoints from the lab image (`rep-bench-01..N`, `--network none`), runs
`ansible -m ping` and then the auditors' run over all of them in the same session, and prints
both wall times, the ratio, the tasks executed per host (from the play recap) and the controller
CPU per host (user+sys of each command and its children: ansible's workers, ssh, podman).
Targets: issue 6, audit <= 4x ping; issue 17, audit <= 2x ping. Removes its endpoints at the end.
BENCH_RUNS=R repeats ping + audit R times on the same endpoints and prints the best and the
worst run; BENCH_AUDIT_OUTPUT=FILE keeps the (last) audit's play output (profile_tasks) in FILE.

Connection (both commands use the same): `ssh` (default) logs in as the lab operator with a
key through the endpoint's own sshd over a pipe (ProxyCommand podman exec -i ... sshd -i),
with pipelining and ControlPersist as a fleet is reached; `podman` uses podman exec (no
pipelining). Each command gets its own SSH control directory, so both pay their handshakes.

    .venv/bin/python tests/bench/bench_audit.py [N] [ssh|podman]
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from fleet_lab import Fleet, ssh_key, ssh_vars
from rep_endpoints import ENV, ROOT, image_present, remove, start, write_inventory

BIN = ROOT / ".venv" / "bin"
RECAP = re.compile(
    r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)\s+rescued=(\d+)"
)


def timed(cmd: list[str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall time, controller CPU (user+sys of the command and its children) and the result."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    res = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=3600)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), res


class Connection:
    """Rewrites the inventory's connection for each command: a fresh SSH control directory
    (cold connections) and, after the command, its masters closed."""

    def __init__(self, inv: Path, key: Path | None) -> None:
        self.hosts = inv / "hosts.yml"
        self.base = yaml.safe_load(self.hosts.read_text(encoding="utf-8"))
        self.key, self.count, self.control_dir = key, 0, None

    def __enter__(self) -> None:
        self.count += 1
        if self.key is None:
            return
        self.control_dir = self.hosts.parent / f"cp{self.count}"
        self.control_dir.mkdir()
        data = yaml.safe_load(yaml.safe_dump(self.base))
        data["all"]["children"]["linux"]["vars"].update(ssh_vars(str(self.key), str(self.control_dir), "labop"))
        self.hosts.write_text(yaml.safe_dump(data), encoding="utf-8")

    def __exit__(self, *exc: object) -> None:
        if self.control_dir:
            subprocess.run(["pkill", "-f", f"ControlPath={self.control_dir}/"], check=False)


class Run(NamedTuple):
    ping_s: float
    ping_cpu: float
    audit_s: float
    audit_cpu: float
    executed: list[int]  # per host: ok (includes changed) + failed + rescued; skipped tasks never ran
    skipped: list[int]

    @property
    def ratio(self) -> float:
        return self.audit_s / self.ping_s


def one_run(conn: Connection, inv: Path, reports: Path, n: int) -> Run | None:
    """`ansible -m ping`, then the audit, each over fresh connections."""
    with conn:
        ping_s, ping_cpu, ping = timed([str(BIN / "ansible"), "-i", str(inv), "linux", "-m", "ansible.builtin.ping"])
    if ping.returncode != 0:
        print(ping.stdout[-3000:], ping.stderr[-2000:], file=sys.stderr)
        return None
    with conn:
        audit_s, audit_cpu, audit = timed(
            [str(BIN / "ansible-playbook"), "-i", str(inv), "playbooks/audit.yml",
             "-e", f"pii_guard_audit_report_dir={reports}", "-e", "pii_guard_audit_fail_on_findings=false"]
        )  # fmt: skip
    if os.environ.get("BENCH_AUDIT_OUTPUT"):
        # The play output (profile_tasks' timings) for a closer look.
        Path(os.environ["BENCH_AUDIT_OUTPUT"]).write_text(audit.stdout, encoding="utf-8")
    recap = {m.group(1): m.groups()[1:] for m in map(RECAP.match, audit.stdout.splitlines()) if m}
    if audit.returncode != 0 or len(recap) != n:
        print(audit.stdout[-5000:], audit.stderr[-2000:], file=sys.stderr)
        return None
    executed = [int(v[0]) + int(v[3]) + int(v[5]) for v in recap.values()]
    return Run(ping_s, ping_cpu, audit_s, audit_cpu, executed, [int(v[4]) for v in recap.values()])


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    connection = sys.argv[2] if len(sys.argv) > 2 else "ssh"
    # Several ping + audit pairs on one fleet: a shared machine's load moves the wall ratio.
    runs_wanted = int(os.environ.get("BENCH_RUNS", "1"))
    names = [f"rep-bench-{i:02d}" for i in range(1, n + 1)]
    if not image_present():
        print("the lab image is missing: run `make lab` first", file=sys.stderr)
        return 1
    runs: list[Run] = []
    try:
        with ThreadPoolExecutor(4) as ex:
            list(ex.map(start, names))
        with tempfile.TemporaryDirectory(prefix="rep-bench-") as tmp:
            # A realistic mix: most are terminals, two hold personal data, two stand in a system room.
            inv = write_inventory(Path(tmp) / "inventory", names, names[2:4], names[:2])
            key = None
            if connection == "ssh":
                key, public = ssh_key(Path(tmp))
                fleet = Fleet.__new__(Fleet)
                fleet.names = names
                fleet.enable_ssh(public, user="labop")
            conn = Connection(inv, key)
            for i in range(runs_wanted):
                run = one_run(conn, inv, Path(tmp) / f"reports{i}", n)
                if run is None:
                    return 1
                runs.append(run)
                print(f"# run {i + 1}: audit {run.audit_s:.1f} s, ping {run.ping_s:.1f} s, ratio {run.ratio:.2f}x, "
                      f"load average {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
    finally:
        for name in names:
            remove(name)
    best, worst = min(runs, key=lambda r: r.ratio), max(runs, key=lambda r: r.ratio)
    executed, skipped = best.executed, best.skipped
    print(f"# connection {connection}, {n} hosts, {len(runs)} run(s); best run below")
    print(f"BENCH audit_{n}_hosts: {best.audit_s:.1f} s | baseline ping_{n}_hosts: {best.ping_s:.1f} s "
          f"| ratio: {best.ratio:.1f}x")  # fmt: skip
    if len(runs) > 1:
        print(f"BENCH audit_{n}_hosts_worst: {worst.audit_s:.1f} s | baseline ping_{n}_hosts: {worst.ping_s:.1f} s "
              f"| ratio: {worst.ratio:.1f}x")  # fmt: skip
    print(
        f"BENCH audit_tasks_per_host: {sum(executed) / n:.1f} tasks (min {min(executed)}, max {max(executed)}; "
        f"skipped {sum(skipped) / n:.1f}) | baseline ping_tasks_per_host: 1 tasks | ratio: {sum(executed) / n:.1f}x"
    )
    for label, run in (("", best), ("_worst", worst)) if len(runs) > 1 else (("", best),):
        print(
            f"BENCH audit_cpu_per_host{label}: {run.audit_cpu / n:.2f} s | baseline ping_cpu_per_host: "
            f"{run.ping_cpu / n:.2f} s | ratio: {run.audit_cpu / run.ping_cpu:.1f}x"
        )
    print(f"target (issue 6): audit <= 4x ping -> {'met' if best.ratio <= 4 else 'NOT met'}")
    print(f"target (issue 17): audit <= 2x ping -> {'met' if best.ratio <= 2 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
