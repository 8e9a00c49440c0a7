"""Scale benchmark: per-host cost of audit.yml and an idempotent harden.yml at 10, 25, 50 endpoints.

For each fleet size it starts that many lab containers (systemd as PID 1, `--network none`,
podman connection), converges them once with harden.yml (not timed), then times on the same
hosts: `ansible -m ping` (the baseline: one module round trip per host), harden.yml again
(must change nothing) and audit.yml. It prints

    BENCH <name>: <value> <unit> | baseline <name>: <value> <unit> | ratio: <x>

for audit and harden against ping at each size, and for the per-host cost at each size against
the 10-host run (flat = ratio near 1). Wall time per host is what an operator waits for; the
controller CPU per host (user+sys of ansible and its podman children) is what grows when
something does per-host work on the controller, and is the steadier number on a busy machine.

Usage: python tests/bench/bench_scale.py [--sizes 10,25,50] [--forks 20] [--strategy linear]
"""

from __future__ import annotations

import argparse
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

from fleet_lab import PODMAN_ENV, Fleet, image_present  # noqa: E402

BIN = Path(sys.executable).parent
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def run(args: list[str], *, forks: int, strategy: str, check_rc: bool = True) -> tuple[float, float, str]:
    """Run an ansible command from the repo root; return (wall s, controller CPU s, stdout)."""
    env = {
        **PODMAN_ENV,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_FORKS": str(forks),
        "ANSIBLE_STRATEGY": strategy,
        # Timing output is not what is measured; keep the default callback only.
        "ANSIBLE_CALLBACKS_ENABLED": "",
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


def measure(n: int, forks: int, strategy: str, workdir: Path) -> dict[str, float]:
    fleet = Fleet(f"bench{n}", n)
    try:
        boot = fleet.up(timeout=300)
        print(f"# {n} endpoints up in {boot:.1f} s", flush=True)
        inv = fleet.inventory(workdir / f"inv{n}.yml", ["linux"])
        report_dir = workdir / f"reports{n}"
        common = ["-i", str(inv)]
        # Converge once; only the second, idempotent run is timed.
        wall, _, out = run([str(BIN / "ansible-playbook"), *common, "playbooks/harden.yml"], forks=forks,
                           strategy=strategy)  # fmt: skip
        print(f"# {n}: first harden run {wall:.1f} s", flush=True)
        ping_wall, ping_cpu, out = run([str(BIN / "ansible"), *common, "all", "-m", "ansible.builtin.ping"],
                                       forks=forks, strategy=strategy)  # fmt: skip
        assert out.count("SUCCESS") == n, out[-2000:]
        h_wall, h_cpu, out = run([str(BIN / "ansible-playbook"), *common, "playbooks/harden.yml"], forks=forks,
                                 strategy=strategy)  # fmt: skip
        rc = recap(out)
        assert len(rc) == n, f"recap lists {len(rc)} hosts, expected {n}"
        changed = {h: v[1] for h, v in rc.items() if v[1] or v[2] or v[3]}
        assert not changed, f"harden.yml is not idempotent: {changed}"
        a_wall, a_cpu, out = run(
            [str(BIN / "ansible-playbook"), *common, "playbooks/audit.yml",
             "-e", json.dumps({"pii_guard_audit_report_dir": str(report_dir)})],
            forks=forks, strategy=strategy, check_rc=False,
        )  # fmt: skip
        rc = recap(out)
        assert len([h for h in rc if h.startswith("fleet-")]) == n, out[-3000:]
        assert not [h for h, v in rc.items() if v[2]], "audit: unreachable hosts"
        return {
            "ping_wall": ping_wall / n, "ping_cpu": ping_cpu / n,
            "harden_wall": h_wall / n, "harden_cpu": h_cpu / n,
            "audit_wall": a_wall / n, "audit_cpu": a_cpu / n,
        }  # fmt: skip
    finally:
        fleet.down()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", "10,25,50"))
    ap.add_argument("--forks", type=int, default=int(os.environ.get("BENCH_FORKS", "20")))
    ap.add_argument("--strategy", default=os.environ.get("BENCH_STRATEGY", "linear"))
    args = ap.parse_args()
    if not image_present():
        print("lab image missing: run `make lab` (tests/lab/lab.py image) first", file=sys.stderr)
        return 2
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"# scale bench: sizes {sizes}, forks {args.forks}, strategy {args.strategy}, "
          f"{os.cpu_count()} CPUs, systemd containers from the lab image", flush=True)  # fmt: skip
    results: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        for n in sizes:
            results[n] = r = measure(n, args.forks, args.strategy, Path(tmp))
            for what in ("audit", "harden"):
                bench(f"{what}_per_host_{n}", r[f"{what}_wall"], "s", f"ping_per_host_{n}", r["ping_wall"])
            bench(f"audit_cpu_per_host_{n}", r["audit_cpu"], "s", f"ping_cpu_per_host_{n}", r["ping_cpu"])
    first = sizes[0]
    for n in sizes[1:]:
        for what in ("audit", "harden", "ping"):
            bench(f"{what}_per_host_{n}", results[n][f"{what}_wall"], "s", f"{what}_per_host_{first}",
                  results[first][f"{what}_wall"])  # fmt: skip
            bench(f"{what}_cpu_per_host_{n}", results[n][f"{what}_cpu"], "s", f"{what}_cpu_per_host_{first}",
                  results[first][f"{what}_cpu"])  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
