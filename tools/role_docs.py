"""Markdown for the catalog: the README control table and each role's README.

A role README is generated from the role's ``meta/argument_specs.yml`` (entry point ``main``) and
from meta/controls.yml; only the text between the ``handwritten`` markers is written by hand and
kept as it is. Every role README has the same headings: Overview, Variables, Controls and tests.
"""

from __future__ import annotations

import json
import pathlib
import re
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
HAND_START = "<!-- handwritten:start (kept by tools/catalog_docs.py; edit freely between these markers) -->"
HAND_END = "<!-- handwritten:end -->"
_MACROS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"[COV]\(([^()]*)\)"), lambda m: f"`{m.group(1)}`"),
    (re.compile(r"I\(([^()]*)\)"), lambda m: f"*{m.group(1)}*"),
    (re.compile(r"B\(([^()]*)\)"), lambda m: f"**{m.group(1)}**"),
    (re.compile(r"U\(([^()]*)\)"), lambda m: m.group(1)),
    (re.compile(r"L\(([^(),]*),\s*([^()]*)\)"), lambda m: f"[{m.group(1)}]({m.group(2)})"),
]


def markdown_text(text: str) -> str:
    """Ansible doc markup (C(), O(), I(), B(), U(), L()) as Markdown, on one line."""
    text = " ".join(str(text).split())
    for pattern, repl in _MACROS:
        text = pattern.sub(repl, text)
    # Outside code spans a "<name>" would be read as an HTML tag and vanish.
    parts = text.split("`")
    return "`".join(p.replace("<", "\\<") if i % 2 == 0 else p for i, p in enumerate(parts))


def paragraphs(desc: str | list[str] | None) -> list[str]:
    if desc is None:
        return []
    return [markdown_text(d) for d in ([desc] if isinstance(desc, str) else desc)]


def cell(text: str) -> str:
    return markdown_text(text).replace("|", "\\|")


def role_dirs(root: pathlib.Path = ROOT) -> list[pathlib.Path]:
    return sorted(p.parent.parent for p in root.glob("roles/*/meta/argument_specs.yml"))


def load_spec(role_dir: pathlib.Path) -> dict[str, Any]:
    doc = yaml.safe_load((role_dir / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))
    return doc["argument_specs"]["main"]


# ---------------------------------------------------------------- variables


def type_of(spec: dict[str, Any]) -> str:
    kind = spec.get("type", "str")
    return f"`{kind}` of `{spec['elements']}`" if spec.get("elements") else f"`{kind}`"


def default_of(spec: dict[str, Any]) -> str:
    if "default" not in spec:
        return "—"
    return f"`{json.dumps(spec['default'], ensure_ascii=False)}`"


def choices_of(spec: dict[str, Any]) -> str:
    return ", ".join(f"`{c}`" for c in spec.get("choices") or []) or "—"


def variable_section(name: str, spec: dict[str, Any]) -> list[str]:
    lines = [
        f"### `{name}`",
        "",
        f"- type: {type_of(spec)}",
        f"- default: {default_of(spec)}",
        f"- required: {'yes' if spec.get('required') else 'no'}",
        f"- choices: {choices_of(spec)}",
        "",
    ]
    lines += [p + "\n" for p in paragraphs(spec.get("description"))]
    if spec.get("options"):
        lines += suboptions_table(spec["options"])
    return lines


def suboptions_table(options: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "Suboptions:",
        "",
        "| suboption | type | default | required | choices | description |",
        "|---|---|---|---|---|---|",
    ]
    return [*lines, *suboption_rows(options), ""]


def suboption_rows(options: dict[str, dict[str, Any]], prefix: str = "") -> list[str]:
    """One row per suboption; nested ones follow their parent as ``parent.name``."""
    rows = []
    for name, spec in options.items():
        desc = " ".join(paragraphs(spec.get("description"))).replace("|", "\\|")
        req = "yes" if spec.get("required") else "no"
        cells = (f"`{prefix}{name}`", type_of(spec), default_of(spec), req, choices_of(spec), desc)
        rows.append("| " + " | ".join(cells) + " |")
        rows += suboption_rows(spec.get("options") or {}, f"{prefix}{name}.")
    return rows


# ---------------------------------------------------------------- controls


def link(path: str, prefix: str, label: str | None = None) -> str:
    return f"[{label or path}]({prefix}{path})"


def code_links(control: dict[str, Any], prefix: str) -> str:
    """The control's code besides its role directory (task files, modules, plugins, playbooks)."""
    paths = [p for p in control["implemented_by"] if not re.fullmatch(r"roles/[a-z_]+", p)]
    return "<br>".join(link(p, prefix, f"`{p.removeprefix('plugins/')}`") for p in paths)


def test_links(control: dict[str, Any], prefix: str) -> str:
    tests = control.get("tests") or []
    if not tests:
        return f"none: {cell(control.get('tests_missing_reason', ''))}"
    return "<br>".join(link(t.split("::")[0], prefix, f"`{t}`") for t in tests)


def test_file_links(control: dict[str, Any], prefix: str) -> str:
    """Compact form for the repository README: each test file once, with how many tests name the control."""
    tests = control.get("tests") or []
    if not tests:
        return f"none: {cell(control.get('tests_missing_reason', ''))}"
    files = Counter(t.split("::")[0] for t in tests)
    return "<br>".join(f"{link(f, prefix, f'`{f}`')} ({n})" for f, n in files.items())


def role_of(doc: dict[str, Any], control: dict[str, Any]) -> str:
    return doc["clauses"][control["clause"]]["role"]


def controls_table(doc: dict[str, Any], controls: list[dict[str, Any]], prefix: str) -> list[str]:
    lines = ["| control | 対策 | code | tests |", "|---|---|---|---|"]
    for c in controls:
        lines.append(f"| `{c['id']}` | {cell(c['title_ja'])} | {code_links(c, prefix)} | {test_links(c, prefix)} |")
    return lines


def readme_table(doc: dict[str, Any], order: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> str:
    """The repository README's table: clause -> control -> role -> code -> test files (ids: role READMEs)."""
    lines = [
        "| clause | id | 対策 | control | platforms | severity | role | code | tests |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in order(doc["controls"]):
        role = role_of(doc, c)
        lines.append(
            f"| {c['clause']} | `{c['id']}` | {cell(c['title_ja'])} | {cell(c['title_en'])} "
            f"| {', '.join(c['platforms'])} | {c['severity']} | {link(f'roles/{role}/README.md', '', f'`{role}`')} "
            f"| {code_links(c, '')} | {test_file_links(c, '')} |"
        )
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- role README


def hand_written(readme: str) -> str:
    """The hand-written block of an existing README (empty when it has none)."""
    _, sep, rest = readme.partition(HAND_START)
    if not sep:
        return ""
    text, sep2, _ = rest.partition(HAND_END)
    if not sep2:
        raise SystemExit(f"a role README has {HAND_START!r} without {HAND_END!r}")
    return text.strip("\n")


def _overview(spec: dict[str, Any], hand: str) -> Iterator[str]:
    yield "## Overview"
    yield ""
    yield from (p + "\n" for p in paragraphs(spec.get("description")))
    yield HAND_START
    if hand:
        yield hand
    yield HAND_END
    yield ""


def render_role(role_dir: pathlib.Path, doc: dict[str, Any], hand: str) -> str:
    role = role_dir.name
    spec = load_spec(role_dir)
    controls = [c for c in doc["controls"] if role_of(doc, c) == role]
    lines = [
        f"# Role `pii_guard.safeguards.{role}` — {markdown_text(spec['short_description'])}",
        "",
        "Generated by `tools/catalog_docs.py` (`make docs`) from `meta/argument_specs.yml` and "
        "`meta/controls.yml`; only the block between the `handwritten` markers is edited by hand. "
        "`make docs-check` fails when this file is stale.",
        "",
        *_overview(spec, hand),
        "## Variables",
        "",
    ]
    for name, opt in (spec.get("options") or {}).items():
        lines += variable_section(name, opt)
    lines += ["## Controls and tests", "", *controls_table(doc, controls, "../../")]
    return "\n".join(lines) + "\n"
