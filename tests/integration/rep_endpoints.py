"""Lab endpoints for the audit tests and the audit benchmark (names `rep-*`).

Podman containers from the lab image, systemd as PID 1, `--network none`, reached with the
containers.podman.podman connection (podman exec), so no packet leaves the machine. Each gets
the lab's operator account `labop` (approved admin) and a personal-data directory /srv/pii.
The inventory carries registers and review dates relative to today, so nothing goes stale.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("PII_GUARD_LAB_IMAGE", "localhost/pii-guard-lab:latest")
ENV = {
    **os.environ,
    "CONTAINERS_CONF": str(ROOT / "tests" / "lab" / "containers.conf"),
    "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
    "PYTHONPATH": str(ROOT / ".cache" / "collections"),
    "ANSIBLE_FORCE_COLOR": "0",
    "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
}
DIGEST_DIRS = ("/etc", "/usr/local", "/var/lib", "/srv")
# The one exception: storage files a running PostgreSQL server rewrites on its own (checkpoints,
# autovacuum's ANALYZE of template1 on a freshly started cluster), seen changing with no client
# connected. The cluster's configuration (postgresql.auto.conf, ...) stays digested.
PG_STORAGE = re.compile(
    r"^/var/lib/postgresql/[^/]+/[^/]+/(base|global|pg_wal|pg_xact|pg_multixact|pg_subtrans|pg_stat|pg_stat_tmp|pg_logical)/"
)

# Runs inside the endpoint: type, mode, owner and content (or link target) of every path.
DIGEST_PY = r"""
import hashlib, json, os, stat, sys
out = {}
for top in sys.argv[1:]:
    for d, dirs, files in os.walk(top):
        for n in sorted(dirs + files):
            p = os.path.join(d, n)
            try:
                st = os.lstat(p)
            except FileNotFoundError:
                continue
            meta = "%o %d:%d" % (st.st_mode, st.st_uid, st.st_gid)
            if stat.S_ISREG(st.st_mode):
                h = hashlib.sha256()
                with open(p, "rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        h.update(chunk)
                out[p] = meta + " " + h.hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                out[p] = meta + " -> " + os.readlink(p)
            else:
                out[p] = meta
print(json.dumps(out))
"""


def podman(*args: str, check: bool = True, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], env=ENV, capture_output=True, text=True, check=check, timeout=timeout)


def image_present() -> bool:
    return podman("image", "exists", IMAGE, check=False).returncode == 0


def start(name: str) -> None:
    remove(name)
    podman(
        "run", "-d", "--name", name, "--hostname", name, "--network", "none", "--systemd", "always",
        "--label", "pii-guard-lab=rep", IMAGE, "/lib/systemd/systemd",
    )  # fmt: skip
    # systemd up (degraded is fine: usbguard has no USB bus in a container).
    podman("exec", name, "sh", "-c", "timeout 180 systemctl is-system-running --wait || true")
    # The approved operator account of the lab inventories (admin_privileges keeps its path).
    labop = "id labop >/dev/null 2>&1 || useradd -m -s /bin/bash labop; usermod -aG sudo labop"
    podman("exec", name, "sh", "-c", labop)
    # The personal data these endpoints hold (download_alert watches it on pii_data hosts).
    podman("exec", name, "sh", "-c", "mkdir -p /srv/pii && printf 'id,name\\n1,Yamada\\n' > /srv/pii/residents.csv")


def remove(*names: str) -> None:
    """Remove the containers, if present. A record left "running" by a machine restored from a
    snapshot fails the first `rm -f` ("could not be stopped") and goes the second time."""
    for attempt in range(3):
        if podman("rm", "-f", "-t", "0", "--ignore", *names, check=False).returncode == 0:
            return
        time.sleep(0.5 * (attempt + 1))
    podman("rm", "-f", "-t", "0", "--ignore", *names)  # raises, with podman's reason


# The running download-alert agent checkpoints its own counting state every few seconds.
AGENT_STATE = "/var/lib/pii-download-alert/state.json"


def digest(name: str) -> dict[str, str]:
    every = json.loads(podman("exec", name, "python3", "-c", DIGEST_PY, *DIGEST_DIRS).stdout)
    return {p: v for p, v in every.items() if not PG_STORAGE.match(p) and p != AGENT_STATE}


def diff(before: dict[str, str], after: dict[str, str]) -> list[str]:
    keys = sorted(set(before) | set(after))
    return [
        f"{k}: {before.get(k, '<absent>')} -> {after.get(k, '<absent>')}" for k in keys if before.get(k) != after.get(k)
    ]


def days_ago(n: int) -> str:
    return (datetime.date.today() - datetime.timedelta(days=n)).isoformat()


def write_inventory(d: Path, linux: list[str], system_room: list[str], pii_data: list[str]) -> Path:
    """Inventory dir: the lab's USB/admin settings plus registers dated relative to today."""
    gv = d / "group_vars"
    gv.mkdir(parents=True)
    lab = ROOT / "inventories" / "lab" / "group_vars"
    allv = yaml.safe_load((lab / "all.yml").read_text(encoding="utf-8"))
    allv["outsourcing_contractors"] = [
        {
            "name": "Example Systems KK",
            "contract_id": "CT-2026-014",
            "clauses": {"purpose_limitation": True, "subcontract_prior_approval": True, "damages_liability": True},
            "last_inspection": days_ago(100),
            "operates": ["pii_data"],
            "subcontractors": [
                {
                    "name": "Example Data LLC",
                    "approved_on": days_ago(300),
                    "started_on": days_ago(250),
                    "same_measures": True,
                }
            ],
        }
    ]
    (gv / "all.yml").write_text(yaml.safe_dump(allv, allow_unicode=True), encoding="utf-8")
    room = {
        "system_room_register": {
            "room": "Server room B1",
            "camera_coverage": True,
            "footage_reviewed_on": days_ago(3),
            "inspections": [
                {"date": days_ago(2), "kind": "carry_in", "inspector": "facilities"},
                {"date": days_ago(2), "kind": "carry_out", "inspector": "facilities"},
            ],
        }
    }
    (gv / "system_room.yml").write_text(yaml.safe_dump(room), encoding="utf-8")
    pii = {
        "download_alert_datasets": [
            {"name": "resident_records", "source": "audit", "paths": ["/srv/pii"], "threshold": 100, "window": 60}
        ],
        "download_alert_reviewed_on": days_ago(10),
        "download_alert_review_interval_days": 180,
    }
    (gv / "pii_data.yml").write_text(yaml.safe_dump(pii), encoding="utf-8")
    inv = {
        "all": {
            "children": {
                "linux": {
                    "hosts": dict.fromkeys(linux),
                    "vars": {
                        "ansible_connection": "containers.podman.podman",
                        "ansible_python_interpreter": "/usr/bin/python3",
                    },
                },
                "system_room": {"hosts": dict.fromkeys(system_room)},
                "pii_data": {"hosts": dict.fromkeys(pii_data)},
            }
        }
    }
    (d / "hosts.yml").write_text(yaml.safe_dump(inv), encoding="utf-8")
    return d


def ansible(tool: str, inv: Path, *args: str, timeout: int = 1800) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / tool), "-i", str(inv), *args],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
