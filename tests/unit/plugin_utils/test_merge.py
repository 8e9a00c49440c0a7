"""One report from sliced runs (issue 16, point 4), run through ansible-runner as AWX does.

Each slice is an ansible-runner run of an audit-shaped play over its own slice inventory (AWX job
slicing gives each slice job part of the inventory); the merge is an ansible-runner run of
playbooks/merge_reports.yml.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sys
from pathlib import Path

import ansible_runner
import pytest
from junitparser import JUnitXml

from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import bundle as B

ROOT = Path(__file__).resolve().parents[3]

SLICE_PLAY = """
- name: Audited hosts of one slice
  hosts: all
  gather_facts: false
  tasks:
    - name: Findings as the roles leave them
      ansible.builtin.set_fact:
        pii_guard_findings:
          - {id: 6-6.uid0_accounts, clause: 6-6, status: "{{ uid0 | default('pass') }}", observed: [root],
             expected: [root], evidence: {}}
          - {id: 6-17.usbguard_rules, clause: 6-17, status: fail, observed: "digest 1f", expected: "digest 9a",
             evidence: {rules: ["allow id *:*"]}}
        pii_guard_audit_state: complete
        pii_guard_audit_started_at: "{{ started }}"

- name: Write the slice report
  hosts: all
  gather_facts: false
  tasks:
    - name: Report
      pii_guard.safeguards.audit_report:
        hosts: "{{ ansible_play_hosts_all }}"
        organisation_findings:
          - {id: 8-5.annual_inspection, clause: 8-5, status: fail, observed: "last inspection 2024-01-10",
             expected: "", evidence: {contractor: Example KK}}
        report_dir: "{{ report_dir }}"
        fail_on_findings: false
        run_id: "{{ run_id }}"
      run_once: true
      delegate_to: localhost
"""


def envvars() -> dict:
    return {
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "PYTHONPATH": str(ROOT / ".cache" / "collections"),
        "PATH": str(ROOT / ".venv" / "bin") + os.pathsep + os.environ.get("PATH", ""),
        "ANSIBLE_FORCE_COLOR": "0",
    }


def runner(tmp: Path, name: str, playbook: str, inventory: str | None, **extravars) -> ansible_runner.Runner:
    pdd = tmp / ("runner-" + name)
    pdd.mkdir()
    extravars.setdefault("ansible_python_interpreter", sys.executable)
    return ansible_runner.run(
        private_data_dir=str(pdd),
        playbook=playbook,
        inventory=inventory,
        extravars=extravars,
        envvars=envvars(),
        quiet=True,
        timeout=300,
    )


def run_slice(tmp: Path, name: str, hosts: list[str], run_id: str = "4711", **extra) -> Path:
    (tmp / "slice.yml").write_text(SLICE_PLAY)
    inv = tmp / ("inv-" + name + ".ini")
    inv.write_text("[linux]\n" + "".join("%s ansible_connection=local\n" % h for h in hosts))
    extra.setdefault("started", "2026-11-28T05:00:00Z")
    r = runner(tmp, name, str(tmp / "slice.yml"), str(inv), report_dir=str(tmp / name), run_id=run_id, **extra)
    assert r.rc == 0, r.stdout.read()
    (out,) = [p for p in (tmp / name).iterdir() if p.is_dir() and not p.is_symlink()]
    return out


def run_merge(tmp: Path, dirs: list[Path], name: str = "merge") -> tuple[ansible_runner.Runner, Path]:
    merged_root = tmp / "merged"
    r = runner(
        tmp,
        name,
        str(ROOT / "playbooks" / "merge_reports.yml"),
        None,
        pii_guard_merge_dirs=[str(d) for d in dirs],
        pii_guard_audit_report_dir=str(merged_root),
        pii_guard_audit_fail_on_findings=False,
    )
    return r, merged_root


@pytest.fixture(scope="module")
def slices(tmp_path_factory) -> list[Path]:
    tmp = tmp_path_factory.mktemp("slices")
    a = run_slice(tmp, "s1", ["web-01", "web-02"], started="2026-11-28T05:00:00Z")
    b = run_slice(tmp, "s2", ["db-01"], uid0="fail", started="2026-11-28T05:00:07Z")
    return [a, b]


def test_merged_report_adds_up_in_every_format(slices, tmp_path) -> None:
    dirs = slices
    r, root = run_merge(tmp_path, dirs)
    assert r.rc == 0, r.stdout.read()
    (out,) = [p for p in root.iterdir() if p.is_dir() and not p.is_symlink()]
    parts = [json.loads((d / "report.json").read_text()) for d in dirs]
    doc = json.loads((out / "report.json").read_text())
    assert [h["name"] for h in doc["hosts"]] == ["db-01", "web-01", "web-02"]
    # Host counts add up; the organisation-level findings (same in every slice) appear once.
    for status, n in doc["summary"]["counts"].items():
        per_slice_hosts = sum(h["counts"][status] for p in parts for h in p["hosts"])
        org = sum(1 for f in parts[0]["organisation"]["findings"] if f["status"] == status)
        assert n == per_slice_hosts + org, status
    assert doc["summary"]["findings"] == 3 * 2 + 1 and doc["summary"]["counts"]["fail"] == 3 + 1 + 1
    assert doc["run"]["run_id"] == "4711" and [s["report_dir"] for s in doc["run"]["slices"]] == [str(d) for d in dirs]
    assert doc["run"]["started_at"] == "2026-11-28T05:00:00Z"
    assert sorted(doc["run"]["inventory_sources"]) == sorted(p["run"]["inventory_sources"][0] for p in parts)
    # CSV: one row per finding; JUnit: one testcase per host x control (+ organisation).
    rows = list(csv.DictReader(io.StringIO((out / "report.csv").read_text(), newline="")))
    assert len(rows) == 7 and sum(1 for r_ in rows if r_["host"] == "(organisation)") == 1
    xml = JUnitXml.fromfile(str(out / "report.xml"))
    assert xml.tests == 7 and xml.failures == 5
    html = (out / "report.html").read_text()
    assert all('data-host="%s"' % h in html for h in ("web-01", "web-02", "db-01"))
    ar = json.loads((out / "oscal-assessment-results.json").read_text())["assessment-results"]
    assert len(ar["results"][0]["findings"]) == 7
    assert B.verify(str(out)) == []
    manifest = json.loads((out / "manifest.json").read_text())
    assert [s["sha256sums"] for s in manifest["slices"]] == [B.sha256_file(str(d / "SHA256SUMS")) for d in dirs]


def test_a_host_in_two_slices_is_an_error_and_nothing_is_written(slices, tmp_path) -> None:
    dirs = slices
    again = run_slice(tmp_path, "s3", ["web-02", "app-01"])
    r, root = run_merge(tmp_path, [*dirs, again])
    out = r.stdout.read()
    assert r.rc != 0 and "host web-02 is in two slices: %s and %s" % (dirs[0], again) in out, out
    assert not root.exists()


def test_slices_of_different_runs_or_tampered_slices_are_refused(slices, tmp_path) -> None:
    dirs = slices
    other = run_slice(tmp_path, "s4", ["app-01"], run_id="4712")
    r, root = run_merge(tmp_path, [dirs[0], other], name="m1")
    out = r.stdout.read()
    assert r.rc != 0 and "slices differ in run id: %s has '4711', %s has '4712'" % (dirs[0], other) in out, out
    copy = tmp_path / "copy"
    shutil.copytree(dirs[1], copy)
    (copy / "report.json").write_text((copy / "report.json").read_text().replace('"fail"', '"pass"'))
    r, root = run_merge(tmp_path, [dirs[0], copy], name="m2")
    out = r.stdout.read()
    assert r.rc != 0 and "slice %s does not verify: report.json: content changed after the run" % copy in out, out
    assert not root.exists()


def _slice_doc(tmp: Path, name: str, hosts: list[str], unresolved: list[str] | None) -> tuple[str, dict]:
    d = tmp / name
    d.mkdir()
    (d / "SHA256SUMS").write_text("")
    org: dict = {"findings": []}
    if unresolved is not None:
        org["unresolved_operates"] = unresolved
    run = {
        "run_id": "9001",
        "tags": ["all"],
        "started_at": "2026-11-28T05:00:00Z",
        "finished_at": "2026-11-28T05:01:00Z",
    }
    doc = {"run": run, "organisation": org, "hosts": [{"name": h, "state": "complete", "findings": []} for h in hosts]}
    return str(d), doc


def test_operates_names_are_resolved_across_the_slices(tmp_path) -> None:
    from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import merge as M

    # Slice 1 holds ws1 and db1, slice 2 holds ws2; the register names db1 and ws2.
    a = _slice_doc(tmp_path, "s1", ["ws1", "db1"], ["ws2"])
    b = _slice_doc(tmp_path, "s2", ["ws2"], ["db1"])
    hosts, _org, _state, _errors, _run = M.merge([a, b])
    assert sorted(hosts) == ["db1", "ws1", "ws2"]
    # A name that no slice holds is a register mistake: refused, naming it and the variable.
    c = _slice_doc(tmp_path, "s3", ["ws1"], ["ws9", "ws2"])
    d = _slice_doc(tmp_path, "s4", ["ws2"], ["ws9"])
    with pytest.raises(M.MergeError, match=r"outsourcing_contractors\) names 'ws9' in operates, which is neither"):
        M.merge([c, d])
