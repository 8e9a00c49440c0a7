"""playbooks/audit.yml through `ansible-runner run`, the way AWX / AAP runs a job template.

AWX lays out a private data directory per job: the project checkout in `project/` (here a
playbook that imports `pii_guard.safeguards.audit`), the collections the project's
`collections/requirements.yml` names installed by the project update into
`requirements_collections/` (here: the built tarball, offline), the inventory in `inventory/`,
extra vars and environment in `env/`. It then runs `ansible-runner run <dir> -p <playbook>` and
reads `artifacts/<ident>/` (status, rc, job_events/*.json). This test does the same against its
own podman endpoints (`fleet-rn-*`, `--network none`, podman connection) and asserts:

- a fresh (unhardened) fleet: status `failed`, rc != 0, the report files written and failing
  controls in them, and the job events carry every host's findings;
- the same fleet after harden.yml (also run through ansible-runner): status `successful`, rc 0,
  no failing finding in the events or the report, and no task that would change anything;
- the audit leaves the endpoints as they were (digest of /etc, /usr/local, /srv, enabled units).
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fleet_lab import PODMAN_ENV, Fleet, image_present, podman

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
VERSION = yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
TARBALL = f"pii_guard-safeguards-{VERSION}.tar.gz"
HOSTS = 2


def AGENCY_VARS(fleet: Fleet) -> dict:
    """The agency settings this fleet is audited against (as AWX would get them from inventory)."""
    return {
        "usb_storage_mode": "agency_issued_only",
        "usb_storage_devices": [
            {"id": "46f4:0001", "serial": "AGENCY0001", "label": "HQ-USB-0001", "owner": "records-section",
             "issued_on": "2026-04-01", "expires_on": "2027-03-31", "state": "active"},
        ],
        "admin_privileges_approved_users": ["ansible-op"],
        "outsourcing_contractors": [
            {"name": "Example Systems KK", "contract_id": "CT-2026-014",
             "clauses": {"purpose_limitation": True, "subcontract_prior_approval": True, "damages_liability": True},
             "last_inspection": "2026-06-15", "operates": [fleet.names[-1]],
             "subcontractors": [{"name": "Example Data Services LLC", "approved_on": "2026-03-01",
                                 "started_on": "2026-04-01", "same_measures": True}]},
        ],
        "outsourcing_today": "2026-11-28",
    }  # fmt: skip


pytestmark = pytest.mark.skipif(not image_present(), reason="lab image missing: make lab")


def _env() -> dict[str, str]:
    env = {k: v for k, v in PODMAN_ENV.items() if not k.startswith("ANSIBLE_") and k != "PYTHONPATH"}
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    f = Fleet("rn", HOSTS)
    f.up()
    f.prepare()
    yield f
    f.down()


@pytest.fixture(scope="module")
def pdd(tmp_path_factory: pytest.TempPathFactory, fleet: Fleet) -> Path:
    return build_pdd(tmp_path_factory.mktemp("runner"), fleet)


def build_pdd(base: Path, fleet: Fleet, hosts: list[str] | None = None, extravars: dict | None = None) -> Path:
    """An AWX-style private data dir with the collection installed from its built tarball,
    its inventory the whole fleet or only `hosts` (one slice of a sliced job)."""
    base.mkdir(parents=True, exist_ok=True)
    dist = base / "dist"
    subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(dist), str(ROOT)],
        check=True, capture_output=True, env=_env(), cwd=base,
    )  # fmt: skip
    d = base / "pdd"
    project = d / "project"
    (project / "collections").mkdir(parents=True)
    # What an agency's AWX project holds: thin playbooks importing the collection's playbooks.
    for name in ("audit", "harden", "merge_reports"):
        (project / f"{name}.yml").write_text(
            f"---\n- name: Run pii_guard.safeguards.{name}\n  ansible.builtin.import_playbook: "
            f"pii_guard.safeguards.{name}\n"
        )
    reqs = {"collections": [{"name": str(dist / TARBALL), "type": "file"}]}
    (project / "collections" / "requirements.yml").write_text(yaml.safe_dump(reqs))
    # AWX's project update step installs the requirements into the job's own path. Run outside
    # the checkout: its ansible.cfg would make galaxy see the linked copy as "already installed".
    subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "-r",
         str(project / "collections" / "requirements.yml"), "-p", str(d / "requirements_collections")],
        check=True, capture_output=True, env=_env(), cwd=base,
    )  # fmt: skip
    installed = d / "requirements_collections" / "ansible_collections" / "pii_guard" / "safeguards"
    assert (installed / "playbooks" / "audit.yml").is_file()
    inv = d / "inventory"
    inv.mkdir()
    fleet.inventory(inv / "hosts.yml", ["linux"], names=hosts)
    (inv / "group_vars").mkdir()
    (inv / "group_vars" / "all.yml").write_text(yaml.safe_dump(AGENCY_VARS(fleet), sort_keys=False))
    env = d / "env"
    env.mkdir()
    (env / "envvars").write_text(
        yaml.safe_dump(
            {
                "ANSIBLE_COLLECTIONS_PATH": str(d / "requirements_collections"),
                "CONTAINERS_CONF": PODMAN_ENV["CONTAINERS_CONF"],
                "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_GATHERING": "explicit",
            }
        )
    )
    (env / "extravars").write_text(
        yaml.safe_dump({"pii_guard_audit_report_dir": str(d / "reports"), **(extravars or {})})
    )
    (env / "settings").write_text(yaml.safe_dump({"job_timeout": 900, "idle_timeout": 600}))
    return d


def runner(pdd: Path, playbook: str, ident: str) -> tuple[subprocess.CompletedProcess, Path]:
    proc = subprocess.run(
        [str(BIN / "ansible-runner"), "run", str(pdd), "-p", playbook, "--ident", ident],
        capture_output=True, text=True, env=_env(), timeout=1200,
    )  # fmt: skip
    return proc, pdd / "artifacts" / ident


def events(artifacts: Path) -> list[dict]:
    files = sorted((artifacts / "job_events").glob("*.json"), key=lambda p: int(p.name.split("-", 1)[0]))
    return [json.loads(p.read_text()) for p in files]


def findings_from_events(evs: list[dict]) -> dict[str, list[dict]]:
    """The last pii_guard_findings fact each host published in the job events."""
    out: dict[str, list[dict]] = {}
    for ev in evs:
        if ev.get("event") not in ("runner_on_ok", "runner_item_on_ok"):
            continue
        data = ev["event_data"]
        res = data.get("res") or {}
        facts = res.get("ansible_facts") or {}
        if "pii_guard_findings" in facts:
            # A delegated set_fact (delegate_facts) publishes the facts of the delegated host;
            # the fleet's inventory names are its ansible_host values.
            host = (res.get("_ansible_delegated_vars") or {}).get("ansible_host") or data["host"]
            out[host] = facts["pii_guard_findings"]
    return out


def report_event(evs: list[dict]) -> tuple[str, dict]:
    hits = [
        (ev["event"], ev["event_data"])
        for ev in evs
        if ev.get("event") in ("runner_on_ok", "runner_on_failed")
        and ev["event_data"].get("resolved_action") == "pii_guard.safeguards.audit_report"
    ]
    assert len(hits) == 1, f"expected one audit_report event, got {len(hits)}"
    return hits[0]


def check_report(files: dict[str, str], found: dict[str, list[dict]]) -> dict:
    """All four report files exist and parse; the JSON holds exactly the findings the events carried."""
    doc = json.loads(Path(files["json"]).read_text())
    hosts = sorted(found)
    assert sorted(h["name"] for h in doc["hosts"]) == hosts
    for h in doc["hosts"]:
        assert h["state"] == "complete", h
        in_report = sorted((f["id"], f["status"]) for f in h["findings"])
        assert in_report == sorted((f["id"], f["status"]) for f in found[h["name"]]), h["name"]
    junit = ET.parse(files["xml"]).getroot()
    assert junit.tag in ("testsuites", "testsuite")
    with open(files["csv"], newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows, "CSV report has no rows"
    html = Path(files["html"]).read_text(encoding="utf-8")
    assert all(h in html for h in hosts)
    return doc


def endpoint_digest(fleet: Fleet) -> dict[str, str]:
    """What audit mode must not change: files under /etc, /usr/local, /srv and the enabled units.

    The observation itself must not fail silently: under load `systemctl list-unit-files` can
    time out on the bus and print nothing, which once digested as "no enabled units" and read
    as a change. A failed observation is retried, and raises after three tries.
    """
    script = (
        "set -eu;"
        " find /etc /usr/local /srv -xdev -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum | sha256sum;"
        ' units=$(systemctl list-unit-files --state=enabled --no-legend); [ -n "$units" ];'
        " printf '%s\\n' \"$units\" | sha256sum"
    )
    out: dict[str, str] = {}
    for n in fleet.names:
        for attempt in range(3):
            r = podman("exec", n, "sh", "-c", script, check=False)
            if r.returncode == 0:
                out[n] = r.stdout
                break
            if attempt == 2:
                raise AssertionError(f"{n}: could not read the endpoint state: {r.stderr.strip()}")
            time.sleep(5)
    return out


def changed_tasks(evs: list[dict]) -> list[tuple[str, str]]:
    """(host, task) of endpoint tasks reporting a change; the report writer itself is excluded."""
    return [
        (ev["event_data"]["host"], ev["event_data"]["task"])
        for ev in evs
        if ev.get("event") == "runner_on_ok"
        and (ev["event_data"].get("res") or {}).get("changed")
        and ev["event_data"].get("resolved_action") != "pii_guard.safeguards.audit_report"
    ]


def test_failing_fleet(pdd: Path, fleet: Fleet) -> None:
    before = endpoint_digest(fleet)
    proc, art = runner(pdd, "audit.yml", "audit-fresh")
    assert endpoint_digest(fleet) == before, "the audit changed an endpoint"
    assert (art / "status").read_text().strip() == "failed", proc.stdout[-3000:]
    rc = int((art / "rc").read_text())
    assert rc != 0 and proc.returncode == rc
    evs = events(art)
    assert [e["event"] for e in evs].count("playbook_on_start") == 1 and evs[-1]["event"] == "playbook_on_stats"
    # Per-host findings travel in the job events (what AWX stores and shows per host).
    found = findings_from_events(evs)
    assert sorted(found) == sorted(fleet.names)
    for host, fs in found.items():
        assert fs, f"{host}: no findings"
        assert {"id", "clause", "status", "observed", "expected", "evidence"} <= set(fs[0]), fs[0]
        assert any(f["status"] == "fail" for f in fs), f"{host}: a fresh host should fail some control"
    kind, rep = report_event(evs)
    assert kind == "runner_on_failed" and "audit failed" in rep["res"]["msg"]
    doc = check_report(rep["res"]["files"], found)
    assert doc["summary"]["result"] == "fail" and doc["summary"]["counts"]["fail"] > 0
    assert doc["run"]["check_mode"] is True
    stats = evs[-1]["event_data"]
    assert not stats.get("dark"), "a host was unreachable"


def test_passing_fleet_after_harden(pdd: Path, fleet: Fleet) -> None:
    proc, art = runner(pdd, "harden.yml", "harden")
    assert (art / "status").read_text().strip() == "successful", proc.stdout[-4000:]
    proc, art = runner(pdd, "audit.yml", "audit-hardened")
    status = (art / "status").read_text().strip()
    evs = events(art)
    found = findings_from_events(evs)
    failing = {h: [f["id"] for f in fs if f["status"] in ("fail", "error")] for h, fs in found.items()}
    assert status == "successful", f"{failing}\n{proc.stdout[-3000:]}"
    assert int((art / "rc").read_text()) == 0 and proc.returncode == 0
    assert sorted(found) == sorted(fleet.names)
    assert all(not ids for ids in failing.values()), failing
    assert all(any(f["status"] == "pass" for f in fs) for fs in found.values())
    kind, rep = report_event(evs)
    assert kind == "runner_on_ok", rep["res"].get("msg")
    doc = check_report(rep["res"]["files"], found)
    assert doc["summary"]["result"] == "pass" and doc["summary"]["counts"]["fail"] == 0
    # On a hardened fleet even check mode finds nothing it would change.
    assert changed_tasks(evs) == []
