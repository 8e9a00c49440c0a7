"""Scale benchmark: per-host cost of audit.yml and an idempotent harden.yml at 10, 25, 50 endpoints.

It starts one fleet of lab containers of the largest size (systemd as PID 1, `--network none`,
podman connection); each size runs on the first n of them: it times `ansible -m ping` (the
baseline: one module round trip per host), converges with harden.yml (not timed) and times
harden.yml again (must change nothing), then audit.yml (its report must cover every host).
It prints

    BENCH <name>: <value> <unit> | baseline <name>: <value> <unit> | ratio: <x>

for audit and harden against ping at each size, and for the per-host cost at each size against
the 10-host run (flat = ratio near 1). Wall time per host is what an operator waits for; the
controller CPU per host (user+sys of ansible and its podman children) is what grows when
something does per-host work on the controller, and is the steadier number on a busy machine.

Every command connects afresh (its own SSH control directory, masters closed afterwards), so
ping and the playbooks each pay their SSH handshakes. The default connection is SSH with
pipelining through the endpoint's own sshd (see tests/integration/fleet_lab.py), as a fleet is
reached; `--connection podman` uses podman exec instead (no pipelining).

Usage: python tests/bench/bench_scale.py [--sizes 10,25,50] [--forks 20] [--strategy linear]
       [--connection ssh|podman] [--skip-harden]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from fleet_lab import PODMAN_ENV, Fleet, image_present, ssh_key  # noqa: E402

BIN = Path(sys.executable).parent
# The agency settings the endpoints are hardened and audited against (operator `ansible-op`
# is created by Fleet.prepare()).
AGENCY_VARS = {
    "usb_storage_mode": "agency_issued_only",
    "usb_storage_devices": [
        {"id": "46f4:0001", "serial": "AGENCY0001", "label": "HQ-USB-0001", "owner": "records-section",
         "issued_on": "2026-04-01", "expires_on": "2027-03-31", "state": "active"},
    ],
    "admin_privileges_approved_users": ["ansible-op"],
    # Its NOPASSWD sudo is how Ansible becomes root over SSH (the lock-out guard keeps it).
    "admin_privileges_nopasswd_approved": ["ansible-op"],
}  # fmt: skip
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def run(args: list[str], *, forks: int, strategy: str, check_rc: bool = True) -> tuple[float, float, str]:
    """Run an ansible command from the repo root; return (wall s, controller CPU s, stdout)."""
    env = {
        **PODMAN_ENV,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_FORKS": str(forks),
        "ANSIBLE_STRATEGY": strategy,
        "ANSIBLE_NOCOLOR": "1",
        "PYTHONPATH": str(ROOT / ".cache" / "collections"),
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if check_rc and proc.returncode != 0:
        sys.stderr.write(proc.stdout[-6000:] + proc.stderr[-3000:])
        raise SystemExit(f"{' '.join(args[:4])} failed with rc {proc.returncode}")
    return wall, cpu, proc.stdout


def recap(stdout: str) -> dict[str, tuple[int, int, int, int]]:
    return {m[0]: (int(m[1]), int(m[2]), int(m[3]), int(m[4])) for m in RECAP.findall(stdout)}


def bench(name: str, value: float, unit: str, base_name: str, base: float) -> None:
    ratio = value / base if base else float("inf")
    line = f"BENCH {name}: {value:.3f} {unit} | baseline {base_name}: {base:.3f} {unit} | ratio: {ratio:.2f}"
    print(line, flush=True)


class Connections:
    """A fresh inventory (and, over SSH, a fresh control directory) per command; close() ends
    the SSH masters so the next command connects cold too."""

    def __init__(self, fleet: Fleet, n: int, workdir: Path, key: Path | None) -> None:
        self.sub = Fleet.__new__(Fleet)
        self.sub.names, self.sub.image = fleet.names[:n], fleet.image
        self.n, self.workdir, self.key, self.count = n, workdir, key, 0
        self.control_dir: Path | None = None

    def args(self) -> list[str]:
        self.count += 1
        ssh = None
        if self.key:
            self.control_dir = self.workdir / f"cp{self.n}-{self.count}"
            self.control_dir.mkdir()
            ssh = {"key": str(self.key), "control_dir": str(self.control_dir)}
        inv = self.sub.inventory(self.workdir / f"inv{self.n}-{self.count}.yml", ["linux"], AGENCY_VARS, ssh=ssh)
        return ["-i", str(inv)]

    def close(self) -> None:
        if self.control_dir:
            subprocess.run(["pkill", "-f", f"ControlPath={self.control_dir}/"], check=False)


def measure(
    fleet: Fleet, n: int, forks: int, strategy: str, workdir: Path, harden: bool, key: Path | None
) -> dict[str, float]:
    """Time ping, harden (idempotent re-run) and audit on the first n endpoints of the fleet."""
    conn = Connections(fleet, n, workdir, key)
    out: dict[str, float] = {}
    ping_wall, ping_cpu, text = run([str(BIN / "ansible"), *conn.args(), "all", "-m", "ansible.builtin.ping"],
                                    forks=forks, strategy=strategy)  # fmt: skip
    conn.close()
    assert text.count("SUCCESS") == n, text[-2000:]
    out.update(ping_wall=ping_wall / n, ping_cpu=ping_cpu / n)
    if harden:
        # Converge once; only the second, idempotent run is timed.
        wall, _, text = run([str(BIN / "ansible-playbook"), *conn.args(), "playbooks/harden.yml"], forks=forks,
                            strategy=strategy)  # fmt: skip
        conn.close()
        print(f"# {n}: converging harden run {wall:.1f} s", flush=True)
        h_wall, h_cpu, text = run([str(BIN / "ansible-playbook"), *conn.args(), "playbooks/harden.yml"], forks=forks,
                                  strategy=strategy)  # fmt: skip
        conn.close()
        rc = recap(text)
        assert len(rc) == n, f"recap lists {len(rc)} hosts, expected {n}"
        changed = {h: v[1] for h, v in rc.items() if v[1] or v[2] or v[3]}
        assert not changed, f"harden.yml is not idempotent: {changed}"
        out.update(harden_wall=h_wall / n, harden_cpu=h_cpu / n)
    a_wall, a_cpu, text = run(
        [str(BIN / "ansible-playbook"), *conn.args(), "playbooks/audit.yml",
         "-e", json.dumps({"pii_guard_audit_report_dir": str(workdir / f"reports{n}")})],
        forks=forks, strategy=strategy, check_rc=False,
    )  # fmt: skip
    conn.close()
    rc = recap(text)
    assert len(rc) == n, text[-3000:]
    assert not [h for h, v in rc.items() if v[2]], "audit: unreachable hosts"
    # The report must cover every host: the audit ran to the end, whatever it found.
    report = json.loads((workdir / f"reports{n}" / "latest" / "report.json").read_text())
    assert report["summary"]["hosts"] == n, report["summary"]
    out.update(audit_wall=a_wall / n, audit_cpu=a_cpu / n)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", "10,25,50"))
    ap.add_argument("--forks", type=int, default=int(os.environ.get("BENCH_FORKS", "20")))
    ap.add_argument("--strategy", default=os.environ.get("BENCH_STRATEGY", "linear"))
    ap.add_argument("--connection", choices=("ssh", "podman"), default=os.environ.get("BENCH_CONNECTION", "ssh"))
    ap.add_argument("--skip-harden", action="store_true", help="time ping and audit only")
    args = ap.parse_args()
    if not image_present():
        print("lab image missing: run `make lab` (tests/lab/lab.py image) first", file=sys.stderr)
        return 2
    sizes = sorted(int(s) for s in args.sizes.split(","))
    harden = not args.skip_harden
    print(f"# scale bench: sizes {sizes}, forks {args.forks}, strategy {args.strategy}, connection {args.connection}, "
          f"{os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}; systemd containers from the lab image", flush=True)  # fmt: skip
    results: dict[int, dict[str, float]] = {}
    # One fleet of the largest size; each size runs on its first n endpoints.
    fleet = Fleet("bench", sizes[-1])
    try:
        boot = fleet.up(timeout=600)
        fleet.prepare()
        print(f"# {sizes[-1]} endpoints up in {boot:.1f} s", flush=True)
        with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
            key = None
            if args.connection == "ssh":
                key, public = ssh_key(Path(tmp))
                fleet.enable_ssh(public)
            for n in sizes:
                results[n] = r = measure(fleet, n, args.forks, args.strategy, Path(tmp), harden, key)
                print(f"# {n} hosts done (load average {os.getloadavg()[0]:.1f})", flush=True)
                for what in ("audit", "harden"):
                    if f"{what}_wall" in r:
                        bench(f"{what}_per_host_{n}", r[f"{what}_wall"], "s", f"ping_per_host_{n}", r["ping_wall"])
                        bench(f"{what}_cpu_per_host_{n}", r[f"{what}_cpu"], "s", f"ping_cpu_per_host_{n}",
                              r["ping_cpu"])  # fmt: skip
    finally:
        fleet.down()
    first = sizes[0]
    # Per-host wall time includes fixed costs (Ansible's start, the report) that a bigger
    # fleet spreads thinner; the marginal cost of each added host shows what really grows.
    for a, b in itertools.pairwise(sizes):
        for what in ("audit", "harden"):
            if f"{what}_wall" not in results[b]:
                continue
            marginal = (results[b][f"{what}_wall"] * b - results[a][f"{what}_wall"] * a) / (b - a)
            bench(f"{what}_marginal_per_host_{a}_to_{b}", marginal, "s", f"{what}_per_host_{first}",
                  results[first][f"{what}_wall"])  # fmt: skip
    for n in sizes[1:]:
        for what in ("ping", "audit", "harden"):
            if f"{what}_wall" not in results[n]:
                continue
            bench(f"{what}_per_host_{n}", results[n][f"{what}_wall"], "s", f"{what}_per_host_{first}",
                  results[first][f"{what}_wall"])  # fmt: skip
            bench(f"{what}_cpu_per_host_{n}", results[n][f"{what}_cpu"], "s", f"{what}_cpu_per_host_{first}",
                  results[first][f"{what}_cpu"])  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
