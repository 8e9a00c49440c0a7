"""Clause -> code -> tests traceability for meta/controls.yml.

A test names the control it exercises with ``@pytest.mark.control("<id>", ...)``. This module
finds those markers by reading the test files (AST, no pytest run), rewrites every control's
``tests:`` list in meta/controls.yml from them (comments and layout kept), and lists every way
the catalog, the code on disk and the markers disagree.
"""

from __future__ import annotations

import ast
import pathlib
import re
from collections.abc import Iterable, Iterator

ROOT = pathlib.Path(__file__).resolve().parent.parent
CATALOG = ROOT / "meta" / "controls.yml"
# Every place a test may live: unit, integration, VM and the molecule scenarios' testinfra files.
TEST_GLOBS = ("tests/**/test_*.py", "extensions/molecule/*/tests/test_*.py")
# module_utils is shipped code being reorganised into sub-packages; the catalog names what a
# reader opens first (module, role, task file, action/filter plugin), not helpers behind them.
IMPLEMENTED_BY_PREFIXES = ("plugins/modules/", "plugins/action/", "plugins/filter/", "roles/", "playbooks/")

Markers = dict[str, list[str]]  # control id -> sorted test ids


def test_files(root: pathlib.Path = ROOT) -> list[pathlib.Path]:
    files = {p for pattern in TEST_GLOBS for p in root.glob(pattern)}
    return sorted(p for p in files if ".cache" not in p.parts and ".venv" not in p.parts)


def _is_control_marker(node: ast.expr) -> bool:
    """True for the decorator ``pytest.mark.control(...)``."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    mark = node.func.value
    return node.func.attr == "control" and isinstance(mark, ast.Attribute) and mark.attr == "mark"


def _marker_ids(func: ast.FunctionDef | ast.AsyncFunctionDef, where: str) -> list[str]:
    ids: list[str] = []
    for deco in func.decorator_list:
        if not _is_control_marker(deco):
            continue
        assert isinstance(deco, ast.Call)
        for arg in deco.args:
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                raise ValueError(f"{where}: pytest.mark.control takes control ids as string literals")
            ids.append(arg.value)
    return ids


def _test_functions(tree: ast.Module) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """(qualified name, node) of every test function, methods of Test* classes included."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            yield node.name, node
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for sub in node.body:
                if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef) and sub.name.startswith("test"):
                    yield f"{node.name}::{sub.name}", sub


def file_tests(path: pathlib.Path, root: pathlib.Path = ROOT) -> dict[str, list[str]]:
    """Test id -> control ids its markers name, for every test function in the file."""
    rel = path.relative_to(root).as_posix()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
    return {f"{rel}::{name}": _marker_ids(node, f"{rel}::{name}") for name, node in _test_functions(tree)}


def all_tests(root: pathlib.Path = ROOT) -> dict[str, list[str]]:
    tests: dict[str, list[str]] = {}
    for path in test_files(root):
        tests.update(file_tests(path, root))
    return tests


def markers(tests: dict[str, list[str]]) -> Markers:
    """Control id -> the test ids that name it."""
    out: dict[str, set[str]] = {}
    for test_id, ids in tests.items():
        for cid in ids:
            out.setdefault(cid, set()).add(test_id)
    return {cid: sorted(found) for cid, found in out.items()}


_ID = re.compile(r"^  - id: (\S+)\s*$")
_TESTS = re.compile(r"^    tests:")
_ITEM = re.compile(r"^      - ")


def _tests_block(test_ids: list[str]) -> list[str]:
    if not test_ids:
        return ["    tests: []"]
    return ["    tests:"] + [f"      - {t}" for t in test_ids]


def sync_text(text: str, found: Markers) -> str:
    """The catalog text with every control's ``tests:`` list replaced by what the markers say."""
    out: list[str] = []
    current = None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if m := _ID.match(lines[i]):
            current = m.group(1)
        if current and _TESTS.match(lines[i]):
            out.extend(_tests_block(found.get(current, [])))
            i += 1
            while i < len(lines) and _ITEM.match(lines[i]):
                i += 1  # the old list items
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out) + "\n"


def _implemented_problems(c: dict, root: pathlib.Path) -> Iterator[str]:
    paths = c.get("implemented_by") or []
    if not paths:
        yield f"{c['id']}: implemented_by is empty"
    for p in paths:
        if not str(p).startswith(IMPLEMENTED_BY_PREFIXES):
            yield f"{c['id']}: implemented_by {p!r} is not a module, role, task file, playbook or action/filter plugin"
        elif not (root / p).exists():
            yield f"{c['id']}: implemented_by {p!r} does not exist"


def _test_list_problems(c: dict, tests: dict[str, list[str]], found: Markers) -> Iterator[str]:
    listed = list(c.get("tests") or [])
    reason = (c.get("tests_missing_reason") or "").strip()
    if not listed and not reason:
        yield f"{c['id']}: no test names this control (and no tests_missing_reason)"
    if listed and reason:
        yield f"{c['id']}: has tests, so tests_missing_reason must go"
    for t in listed:
        if t not in tests:
            yield f"{c['id']}: test {t!r} does not exist (file and function)"
    if sorted(listed) != found.get(c["id"], []):
        yield f"{c['id']}: tests list differs from the pytest.mark.control markers (run `make docs`)"


def problems(doc: dict, tests: dict[str, list[str]], root: pathlib.Path = ROOT) -> list[str]:
    """Every disagreement between catalog, code on disk and test markers (empty when traceable)."""
    known = {c["id"] for c in doc["controls"]}
    found = markers(tests)
    errors: list[str] = []
    for c in doc["controls"]:
        errors.extend(_implemented_problems(c, root))
        errors.extend(_test_list_problems(c, tests, found))
    errors.extend(_unknown_marker_problems(found, known))
    return errors


def _unknown_marker_problems(found: Markers, known: Iterable[str]) -> Iterator[str]:
    known = set(known)
    for cid, test_ids in sorted(found.items()):
        if cid not in known:
            yield f"marker names unknown control {cid!r} in {', '.join(test_ids)}"
