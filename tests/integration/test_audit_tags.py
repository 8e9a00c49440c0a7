"""audit.yml with --tags: a clause tag and a control tag select the same controller-side checks.

The contractor register (8-4/8-5/8-6) is checked on the controller, so no endpoint is needed:
the lab inventory's pg-lab-1 is pointed at a container that does not exist (recorded as
unreachable in seconds) and the organisation-level findings of the report are compared.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from rep_endpoints import ROOT, ansible

CASES = [
    ("8-5", ["8-5.annual_inspection"]),
    # A control tag must reach the role's tasks too (it used to skip the whole include).
    ("8-5.annual_inspection", ["8-5.annual_inspection"]),
    ("8-4,8-6", ["8-4.contract_clauses", "8-6.subcontractor_measures"]),
    ("6-17", []),
]


@pytest.mark.parametrize(("tags", "expected"), CASES)
def test_tags_select_the_organisation_findings(tmp_path: Path, tags: str, expected: list[str]) -> None:
    out = ansible(
        "ansible-playbook",
        ROOT / "inventories" / "lab",
        "playbooks/audit.yml",
        "--limit", "pg-lab-1",
        "--tags", tags,
        "-e", f"ansible_host=pii-guard-absent-{os.getpid()}",
        "-e", "pii_guard_audit_fail_on_findings=false",
        "-e", f"pii_guard_audit_report_dir={tmp_path}",
        timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    (report,) = [p for p in tmp_path.glob("*/report.json") if not p.parent.is_symlink()]  # not latest/
    doc = json.loads(report.read_text(encoding="utf-8"))
    assert sorted(doc["run"]["tags"]) == sorted(tags.split(",")), doc["run"]  # a set in Ansible
    assert [h["state"] for h in doc["hosts"]] == ["unreachable"], doc["hosts"]
    assert sorted(f["id"] for f in doc["organisation"]["findings"]) == expected
