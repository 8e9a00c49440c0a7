"""The auditors' run changes nothing, and its report tells a hardened endpoint from a fresh one.

Two lab endpoints (podman containers from the lab image, `--network none`, names `rep-*`):
`rep-never-<pid>` was never hardened, `rep-hard-<pid>` gets playbooks/harden.yml first. Every file
under /etc, /usr/local, /var/lib and /srv on both is digested (type, mode, owner, content or
link target) before and after playbooks/audit.yml: the digests must be identical (the one
exceptions, files that running services rewrite on their own, are in rep_endpoints.digest). The report
must fail the fresh endpoint and pass the hardened one, validate against the JSON Schema, parse
as JUnit and hold every finding in its HTML. A second run with `--tags 6-17 --limit` must audit
that clause only, name the limit and tags in its metadata, and report an endpoint that does not
exist (`rep-ghost-<pid>`) as not completed.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jsonschema
import pytest
from junitparser import Error, Failure, JUnitXml
from rep_endpoints import ROOT, ansible, diff, digest, image_present, remove, start, write_inventory

# Per-run names: two checkouts testing at once must not remove each other's endpoints.
NEVER, HARD, GHOST = (f"rep-{kind}-{os.getpid()}" for kind in ("never", "hard", "ghost"))
ENDPOINT_CLAUSES = ("6-5", "6-6", "6-17", "7-1")
OK = ("pass", "not_applicable")


def playbook(inv: Path, name: str, *args: str) -> object:
    return ansible("ansible-playbook", inv, f"playbooks/{name}", *args)


@pytest.fixture(scope="module")
def lab():
    assert image_present(), "the lab image is missing: run `make lab`"
    remove(GHOST)  # must not exist: it stands for a dead endpoint
    with ThreadPoolExecutor(2) as ex:
        list(ex.map(start, (NEVER, HARD)))
    # Own temp dir: pytest prunes old basetemps of concurrent sessions.
    d = Path(tempfile.mkdtemp(prefix="rep-zero-write-"))
    inv = write_inventory(d / "inventory", [NEVER, HARD, GHOST], [NEVER, HARD], [NEVER, HARD])
    try:
        hard = playbook(inv, "harden.yml", "--limit", HARD)
        assert hard.returncode == 0, hard.stdout[-6000:] + hard.stderr[-3000:]
        with ThreadPoolExecutor(2) as ex:
            before = dict(zip((NEVER, HARD), ex.map(digest, (NEVER, HARD)), strict=True))
        reports = d / "reports"
        audit = playbook(inv, "audit.yml", "-e", f"pii_guard_audit_report_dir={reports}")
        with ThreadPoolExecutor(2) as ex:
            after = dict(zip((NEVER, HARD), ex.map(digest, (NEVER, HARD)), strict=True))
        tagged = playbook(
            inv,
            "audit.yml",
            "--tags",
            "6-17",
            "--limit",
            f"{NEVER},{GHOST}",
            "-e",
            f"pii_guard_audit_report_dir={d / 'reports-617'}",
            "-e",
            "pii_guard_audit_fail_on_findings=false",
        )
        after_tagged = digest(NEVER)
        yield {
            "inv": inv,
            "before": before,
            "after": after,
            "audit": audit,
            "reports": reports,
            "tagged": tagged,
            "tagged_reports": d / "reports-617",
            "after_tagged": after_tagged,
        }
    finally:
        for n in (NEVER, HARD):
            remove(n)
        shutil.rmtree(d, ignore_errors=True)


def load(reports: Path) -> tuple[dict, Path]:
    latest = reports / "latest"
    assert latest.is_symlink(), f"no {latest}"
    run_dir = latest.resolve()
    return json.loads((run_dir / "report.json").read_text(encoding="utf-8")), run_dir


def host(doc: dict, name: str) -> dict:
    return next(h for h in doc["hosts"] if h["name"] == name)


def test_audit_writes_nothing_on_a_fresh_or_a_hardened_endpoint(lab) -> None:
    for name in (NEVER, HARD):
        assert len(lab["before"][name]) > 1000, f"{name}: digest covered only {len(lab['before'][name])} paths"
        changed = diff(lab["before"][name], lab["after"][name])
        assert not changed, f"audit.yml wrote on {name}:\n" + "\n".join(changed[:50])
    changed = diff(lab["after"][NEVER], lab["after_tagged"])
    assert not changed, "audit.yml --tags 6-17 wrote:\n" + "\n".join(changed[:50])


def test_fresh_endpoint_fails_and_the_run_exits_non_zero(lab) -> None:
    audit = lab["audit"]
    assert audit.returncode != 0 and "audit failed:" in audit.stdout, audit.stdout[-4000:]
    doc, _ = load(lab["reports"])
    never = host(doc, NEVER)
    assert never["state"] == "complete" and never["errors"] == [], never["errors"]
    assert never["result"] == "fail"
    for clause in ENDPOINT_CLAUSES:
        statuses = [f["status"] for f in never["findings"] if f["clause"] == clause]
        assert "fail" in statuses, (clause, statuses)
    # The closing terminal table (audit_summary callback) names every clause.
    tail = audit.stdout[audit.stdout.rfind("AUDIT SUMMARY") :]
    for clause in (*ENDPOINT_CLAUSES, "8-4", "8-5", "8-6"):
        assert f"\n{clause} " in tail, tail


def test_hardened_endpoint_passes_every_control(lab) -> None:
    doc, _ = load(lab["reports"])
    hard = host(doc, HARD)
    assert hard["state"] == "complete" and hard["errors"] == [], hard["errors"]
    bad = [(f["id"], f["status"], f["observed"]) for f in hard["findings"] if f["status"] not in OK]
    assert not bad, bad
    assert {f["clause"] for f in hard["findings"]} >= {*ENDPOINT_CLAUSES, "8-4", "8-5", "8-6"}
    assert hard["result"] == "pass"


def test_report_files_validate_parse_and_hold_every_finding(lab) -> None:
    doc, run_dir = load(lab["reports"])
    schema = json.loads((ROOT / "meta" / "report.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, schema, format_checker=jsonschema.FormatChecker())
    run = doc["run"]
    assert run["check_mode"] is True and run["tags"] == ["all"] and run["limit"] is None
    assert run["inventory_sources"] == [str(lab["inv"])]
    assert run["ansible_version"].startswith("2.19") and run["collection_version"].startswith("pii_guard.safeguards")
    rows = [(h["name"], f["id"], f["status"]) for h in doc["hosts"] for f in h["findings"]]
    rows += [("(organisation)", f["id"], f["status"]) for f in doc["organisation"]["findings"]]
    assert doc["organisation"]["findings"], "no organisation-level (contractor) findings"
    xml = JUnitXml.fromfile(str(run_dir / "report.xml"))
    cases = [(c.classname, c.name.split()[0]) for s in xml for c in s if not s.name.startswith("audit run")]
    assert sorted(cases) == sorted((h, i) for h, i, _ in rows)
    fails = sum(1 for s in xml for c in s if any(isinstance(r, Failure) for r in c.result))
    assert fails == sum(1 for *_, st in rows if st == "fail")
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    for h, i, st in rows:
        assert f'data-id="{i}" data-status="{st}"' in html, (h, i)
    with open(run_dir / "report.csv", encoding="utf-8", newline="") as fh:
        assert [(r["host"], r["id"], r["status"]) for r in csv.DictReader(fh)] == rows


def test_tags_audit_one_clause_and_a_dead_endpoint_is_named(lab) -> None:
    tagged = lab["tagged"]
    doc, run_dir = load(lab["tagged_reports"])
    assert doc["run"]["tags"] == ["6-17"] and doc["run"]["limit"] == f"{NEVER},{GHOST}"
    assert {h["name"] for h in doc["hosts"]} == {NEVER, GHOST}
    never = host(doc, NEVER)
    assert never["findings"] and {f["clause"] for f in never["findings"]} == {"6-17"}
    assert not doc["organisation"]["findings"]
    ghost = host(doc, GHOST)
    assert ghost["state"] == "unreachable" and ghost["errors"][0]["role"] == "connection", ghost
    xml = JUnitXml.fromfile(str(run_dir / "report.xml"))
    run_suite = [s for s in xml if s.name.startswith("audit run")]
    assert run_suite and any(isinstance(r, Error) for c in run_suite[0] for r in c.result)
    # The audit_summary callback closes the run naming the report it wrote.
    assert f"report: {run_dir} (fail)" in tagged.stdout, tagged.stdout[-3000:]
