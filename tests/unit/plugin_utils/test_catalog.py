"""The control catalog: complete entries, clauses from the guideline, clause -> code -> tests both
ways (implemented_by, @pytest.mark.control markers), README and role READMEs in sync."""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess
import sys

import yaml

from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import catalog

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tools"))
import catalog_trace  # noqa: E402
import role_docs  # noqa: E402

DOCS = ROOT / "tools" / "catalog_docs.py"
# The clauses of the 2014 revision (../shared/GUIDELINE.md) that the collection implements.
GUIDELINE_CLAUSES = {"6-5", "6-6", "6-17", "7-1", "8-4", "8-5", "8-6"}


def test_catalog_is_valid_and_every_entry_has_both_titles() -> None:
    doc = catalog.load()
    assert doc["controls"], "catalog is empty"
    for c in doc["controls"]:
        assert c["title_ja"].strip() and c["title_en"].strip(), c["id"]
        # Japanese title really is Japanese (auditors read it first).
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", c["title_ja"]), c["id"]
        assert c["clause"] in GUIDELINE_CLAUSES, c["id"]
    assert {c["clause"] for c in doc["controls"]} == GUIDELINE_CLAUSES


def test_check_reports_each_kind_of_problem() -> None:
    doc = yaml.safe_load((ROOT / "meta" / "controls.yml").read_text(encoding="utf-8"))
    bad = doc["controls"][0].copy()
    bad.update(clause="6-6", severity="urgent", platforms=["mac"])
    del bad["title_ja"]
    doc["controls"].append(bad)
    errors = "\n".join(catalog.check(doc))
    for needle in ("lacks title_ja", "duplicate id", "does not match clause", "urgent", "'mac'"):
        assert needle in errors


def test_readme_table_matches_catalog() -> None:
    res = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "catalog_docs.py"), "--check"], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for c in catalog.load()["controls"]:
        assert f"`{c['id']}`" in readme


def test_task_tags_come_from_the_catalog() -> None:
    """Every clause/id-looking tag used in roles and playbooks exists in the catalog."""
    doc = catalog.load()
    known = {c["id"] for c in doc["controls"]} | set(doc["clauses"])
    tag_like = re.compile(r"^[0-9]+-[0-9]+(\.[a-z0-9_]+)?$")
    unknown = []
    for path in list((ROOT / "roles").rglob("*.yml")) + list((ROOT / "playbooks").glob("*.yml")):
        for tag in _tags(yaml.safe_load(path.read_text(encoding="utf-8"))):
            if tag_like.match(tag) and tag not in known:
                unknown.append(f"{path.relative_to(ROOT)}: {tag}")
    assert not unknown, unknown


def _tags(node: object):
    if isinstance(node, dict):
        tags = node.get("tags")
        if isinstance(tags, list):
            yield from (str(t) for t in tags)
        elif isinstance(tags, str):
            yield tags
        for v in node.values():
            yield from _tags(v)
    elif isinstance(node, list):
        for v in node:
            yield from _tags(v)


def test_every_control_has_code_and_a_test_and_every_marker_is_in_the_catalog() -> None:
    """Both directions: catalog -> code on disk and tests that exist; marker -> catalog entry."""
    doc = yaml.safe_load((ROOT / "meta" / "controls.yml").read_text(encoding="utf-8"))
    assert catalog_trace.problems(doc, catalog_trace.all_tests()) == []


def test_every_control_has_at_least_one_test_today() -> None:
    """tests_missing_reason is for a control no test exercises yet; none needs it now."""
    doc = catalog.load()
    assert [c["id"] for c in doc["controls"] if not c.get("tests")] == []


def test_trace_check_reports_each_kind_of_problem() -> None:
    doc = {
        "controls": [
            {"id": "6-6.a", "implemented_by": [], "tests": []},
            {"id": "6-6.b", "implemented_by": ["plugins/module_utils/sudoers.py", "roles/nope"], "tests": ["t.py::x"]},
            {
                "id": "6-6.c",
                "implemented_by": ["roles/admin_privileges"],
                "tests": ["t.py::y"],
                "tests_missing_reason": "r",
            },
            {"id": "6-6.d", "implemented_by": ["roles/admin_privileges"], "tests": [], "tests_missing_reason": "why"},
        ]
    }
    doc["controls"][2]["tests_missing_reason"] = "stale"
    tests = {"t.py::y": ["6-6.c", "6-6.zzz"], "t.py::z": ["6-6.b"]}
    errors = "\n".join(catalog_trace.problems(doc, tests))
    for needle in (
        "6-6.a: implemented_by is empty",
        "6-6.a: no test names this control",
        "'plugins/module_utils/sudoers.py' is not a module",
        "'roles/nope' does not exist",
        "6-6.b: test 't.py::x' does not exist",
        "6-6.b: tests list differs",
        "6-6.c: has tests, so tests_missing_reason must go",
        "unknown control '6-6.zzz' in t.py::y",
    ):
        assert needle in errors, needle
    assert "6-6.d" not in errors  # an explained gap is accepted


def test_markers_are_read_from_the_source_without_running_pytest(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "tests" / "test_x.py"
    path.parent.mkdir()
    path.write_text(
        "import pytest\n\n"
        "@pytest.mark.parametrize('n', [1])\n@pytest.mark.control('6-6.a', '6-6.b')\n"
        "@pytest.mark.control('7-1.c')\ndef test_one(n): pass\n\n"
        "def test_unmarked(): pass\n\n"
        "class TestGroup:\n    @pytest.mark.control('8-4.d')\n    def test_two(self): pass\n",
        encoding="utf-8",
    )
    tests = catalog_trace.all_tests(tmp_path)
    assert tests == {
        "tests/test_x.py::test_one": ["6-6.a", "6-6.b", "7-1.c"],
        "tests/test_x.py::test_unmarked": [],
        "tests/test_x.py::TestGroup::test_two": ["8-4.d"],
    }
    assert catalog_trace.markers(tests)["6-6.b"] == ["tests/test_x.py::test_one"]


def test_sync_rewrites_only_the_tests_lists() -> None:
    text = (
        "controls:\n  # a comment that stays\n  - id: 6-6.a\n    tests: []\n    x: 1\n"
        "  - id: 6-6.b\n    tests:\n      - old.py::gone\n"
    )
    found = {"6-6.a": ["t.py::one", "t.py::two"]}
    assert catalog_trace.sync_text(text, found) == (
        "controls:\n  # a comment that stays\n  - id: 6-6.a\n    tests:\n      - t.py::one\n      - t.py::two\n"
        "    x: 1\n  - id: 6-6.b\n    tests: []\n"
    )


def _checkout_copy(tmp_path: pathlib.Path) -> pathlib.Path:
    """The generated files and their sources, copied; the tests themselves linked (read only)."""
    root = tmp_path / "checkout"
    root.mkdir()
    for name in ("meta", "roles", "docs"):
        shutil.copytree(ROOT / name, root / name)
    shutil.copy(ROOT / "README.md", root / "README.md")
    for name in ("tests", "extensions"):
        (root / name).symlink_to(ROOT / name)
    return root


def _docs(root: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(DOCS), "--root", str(root), *args], capture_output=True, text=True)


def test_docs_check_fails_on_a_stale_role_readme_and_write_keeps_the_hand_written_text(tmp_path) -> None:
    root = _checkout_copy(tmp_path)
    assert _docs(root, "--check").returncode == 0
    specs = root / "roles" / "outsourcing" / "meta" / "argument_specs.yml"
    specs.write_text(
        specs.read_text(encoding="utf-8").replace("Maximum age in days", "Largest age in days"), encoding="utf-8"
    )
    readme = root / "roles" / "outsourcing" / "README.md"
    readme.write_text(
        readme.read_text(encoding="utf-8").replace(
            role_docs.HAND_START + "\n", role_docs.HAND_START + "\nKept by hand.\n"
        ),
        encoding="utf-8",
    )
    res = _docs(root, "--check")
    assert res.returncode == 1 and "roles/outsourcing/README.md differs" in res.stderr, res.stderr
    assert _docs(root, "--write").returncode == 0
    text = readme.read_text(encoding="utf-8")
    assert "Largest age in days" in text and "Kept by hand." in text
    assert _docs(root, "--check").returncode == 0


def test_docs_check_fails_when_a_catalog_tests_list_is_stale(tmp_path) -> None:
    root = _checkout_copy(tmp_path)
    controls = root / "meta" / "controls.yml"
    lines = controls.read_text(encoding="utf-8").splitlines(keepends=True)
    first_test = next(i for i, line in enumerate(lines) if line.startswith("      - tests/"))
    controls.write_text("".join(lines[:first_test] + lines[first_test + 1 :]), encoding="utf-8")
    res = _docs(root, "--check")
    assert res.returncode == 1 and "meta/controls.yml differs" in res.stderr, res.stderr


def test_every_role_readme_has_the_common_headings() -> None:
    for role_dir in role_docs.role_dirs():
        text = (role_dir / "README.md").read_text(encoding="utf-8")
        prose = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)  # a shell comment is no heading
        headings = [line for line in prose.splitlines() if re.match(r"#{1,2} ", line)]
        assert headings[1:] == ["## Overview", "## Variables", "## Controls and tests"], role_dir.name
        assert headings[0].startswith(f"# Role `pii_guard.safeguards.{role_dir.name}`")


def test_argument_spec_markup_becomes_markdown() -> None:
    text = "C(a)  O(b)\n I(c) B(d) L(text, https://x.example) default <name>, V(<kept>)"
    assert role_docs.markdown_text(text) == "`a` `b` *c* **d** [text](https://x.example) default \\<name>, `<kept>`"
