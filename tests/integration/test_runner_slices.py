"""One report from a sliced AWX job (issue 16, point 4), on real lab endpoints.

AWX job slicing splits a job template's inventory into N slices (slice k gets hosts k, k+N, ...)
and runs one job per slice, all in one workflow job (`awx_workflow_job_id`, which audit.yml takes
as the run id). Each slice job here is an `ansible-runner run` of the real playbooks/audit.yml
(with `pii_guard_audit_sliced: true`) against its part of a podman fleet (`fleet-sl-*`,
`--network none`); the merge is an `ansible-runner run` of playbooks/merge_reports.yml.
The contractor register names the fleet's last host in `operates`: a slice that does not hold
it leaves it to the merge, which finds it in the other slice. The merged report must say what one
unsliced audit of the same fleet says: the same hosts, the same findings per host, the same
counts, in every format, and a bundle that verifies.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fleet_lab import Fleet, image_present
from test_runner_audit import build_pdd, runner

from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import bundle

SLICES = 2
WORKFLOW_JOB = 9001
pytestmark = pytest.mark.skipif(not image_present(), reason="lab image missing: make lab")


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    f = Fleet("sl", 3)
    f.up()
    f.prepare()
    yield f
    f.down()


def report_dir(pdd: Path) -> Path:
    (out,) = [p for p in (pdd / "reports").iterdir() if p.is_dir() and not p.is_symlink()]
    return out


def audit(pdd: Path, ident: str) -> Path:
    proc, art = runner(pdd, "audit.yml", ident)
    # A fresh fleet fails controls: the job fails, but it must have run to its report.
    assert (art / "status").read_text().strip() == "failed", proc.stdout[-3000:]
    return report_dir(pdd)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, fleet: Fleet) -> dict:
    base = tmp_path_factory.mktemp("slices")
    job = {"awx_workflow_job_id": WORKFLOW_JOB}
    whole = audit(build_pdd(base / "whole", fleet, extravars=job), "whole")
    job["pii_guard_audit_sliced"] = True
    parts = []
    for k in range(SLICES):
        hosts = fleet.names[k::SLICES]
        parts.append(audit(build_pdd(base / f"slice{k + 1}", fleet, hosts=hosts, extravars=job), f"slice{k + 1}"))
    return {"base": base, "fleet": fleet, "whole": whole, "slices": parts}


def merge(base: Path, fleet: Fleet, name: str, dirs: list[Path]) -> tuple[str, str, Path]:
    """ansible-runner run of merge_reports.yml; returns (status, stdout, merged report root)."""
    out = base / name / "merged"
    pdd = build_pdd(
        base / name, fleet, hosts=[],
        extravars={"pii_guard_merge_dirs": [str(d) for d in dirs], "pii_guard_audit_report_dir": str(out),
                   "pii_guard_audit_fail_on_findings": False},
    )  # fmt: skip
    proc, art = runner(pdd, "merge_reports.yml", name)
    return (art / "status").read_text().strip(), proc.stdout, out


def csv_rows(path: Path) -> list[tuple[str, ...]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return sorted((r["host"], r["id"], r["status"]) for r in csv.DictReader(fh))


def per_host(doc: dict) -> dict[str, list[tuple[str, str]]]:
    return {h["name"]: sorted((f["id"], f["status"]) for f in h["findings"]) for h in doc["hosts"]}


def test_merged_slices_say_what_one_unsliced_audit_says(runs: dict) -> None:
    status, stdout, root = merge(runs["base"], runs["fleet"], "merge", runs["slices"])
    assert status == "successful", stdout[-3000:]
    (out,) = [p for p in root.iterdir() if p.is_dir() and not p.is_symlink()]
    doc = json.loads((out / "report.json").read_text())
    whole = json.loads((runs["whole"] / "report.json").read_text())
    parts = [json.loads((d / "report.json").read_text()) for d in runs["slices"]]
    # Every slice really audited only its own hosts, and together they cover the fleet once.
    assert [sorted(h["name"] for h in p["hosts"]) for p in parts] == [
        sorted(runs["fleet"].names[k::SLICES]) for k in range(SLICES)
    ]
    # The slice without the contractor's host named it for the merge; the merged report resolved it.
    assert [p["organisation"].get("unresolved_operates", []) for p in parts] == [[], [runs["fleet"].names[-1]]]
    assert "unresolved_operates" not in doc["organisation"]
    assert per_host(doc) == per_host(whole)
    assert all(h["state"] == "complete" for h in doc["hosts"])
    org = sorted((f["id"], f["status"]) for f in doc["organisation"]["findings"])
    assert org == sorted((f["id"], f["status"]) for f in whole["organisation"]["findings"])
    assert doc["summary"]["counts"] == whole["summary"]["counts"]
    assert doc["summary"]["findings"] == whole["summary"]["findings"] > 0
    assert doc["summary"]["result"] == "fail"
    assert doc["run"]["run_id"] == str(WORKFLOW_JOB)
    assert [s["report_dir"] for s in doc["run"]["slices"]] == [str(d) for d in runs["slices"]]
    # The other formats carry the same rows as the unsliced report.
    rows, want = (csv_rows(p / "report.csv") for p in (out, runs["whole"]))
    assert rows == want and rows
    junit, junit_whole = (ET.parse(p / "report.xml").getroot() for p in (out, runs["whole"]))
    assert len(junit.findall(".//testcase")) == len(junit_whole.findall(".//testcase")) > 0
    assert len(junit.findall(".//failure")) == len(junit_whole.findall(".//failure"))
    html = (out / "report.html").read_text(encoding="utf-8")
    assert all(f'data-host="{h}"' in html for h in runs["fleet"].names)
    assert bundle.verify(str(out)) == []


def test_a_host_in_two_slices_is_refused_and_nothing_is_written(runs: dict) -> None:
    # The unsliced report and a slice share hosts: a slicing mistake, not a report.
    status, stdout, root = merge(runs["base"], runs["fleet"], "overlap", [runs["whole"], runs["slices"][0]])
    assert status == "failed"
    host = runs["fleet"].names[0]
    assert f"host {host} is in two slices" in stdout, stdout[-3000:]
    assert not root.exists() or not any(root.iterdir())


def test_a_slice_edited_after_the_run_is_refused(runs: dict) -> None:
    tampered = runs["base"] / "tampered"
    shutil.copytree(runs["slices"][1], tampered)
    doc = json.loads((tampered / "report.json").read_text())
    doc["hosts"][0]["findings"][0]["status"] = "pass"
    (tampered / "report.json").write_text(json.dumps(doc))
    status, stdout, root = merge(runs["base"], runs["fleet"], "tampered-merge", [runs["slices"][0], tampered])
    assert status == "failed" and f"slice {tampered} does not verify" in stdout, stdout[-3000:]
    assert not root.exists() or not any(root.iterdir())
