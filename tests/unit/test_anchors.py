"""Every regular expression in plugins/ and roles/ ends in a full match (issue 12, point 3).

`$` also matches before a trailing newline, so `"labop\n"` passed USER_RE and failed later in
visudo. The tests find the patterns themselves, so a new one is covered without editing this file:
- no regex literal passed to the re module may use an unescaped `$` anchor;
- every end-anchored pattern compiled at module level needs an example below that it matches,
  and it must refuse that example with a trailing newline (and `\r\n`).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RE_FUNCS = {"compile", "match", "search", "fullmatch", "sub", "subn", "split", "findall", "finditer"}

# A valid value for each end-anchored pattern compiled at module level, by its name.
EXAMPLES = {
    "USER_RE": "labop",
    "_DATE_RE": "2026-12-01",
    "_ALIAS_NAME": "ADMINS",
    "_NAME_RE": "labop",
    "_DEVICE_LINE_RE": "1: allow id 1d6b:0002",
    "_ID_RE": "6-17.usbguard_rules",
    "ID_RE": "46f4:0001",
    "HASH_RE": "A" * 43 + "=",
    "NAME_RE": "resident_records",
    "SID_RE": "S-1-5-32-544",
    "ACCOUNT_RE": "CORP\\alice",
    "AUDIT_RULES_PATH_RE": "/etc/audit/rules.d/50-pii.rules",
    "SERVICE_USER_RE": "pii-dlalert",
    "PG_VERSION_RE": "15",
    "PG_CLUSTER_RE": "main",
    "LOGROTATE_SIZE_RE": "100M",
    "_INCLUDE": "#includedir /etc/sudoers.d",
    "_GENTIME": "20261201093000Z",
}
# Log-line parsers (not validators): they take a line as read, with its newline, which no
# group captures. Checked below for exactly that.
LINE_PARSERS = {"PG_LINE_RE": "2026-11-30 06:00:00.123 UTC [42] app@pii LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,x"}


def python_files() -> list[Path]:
    files = sorted(p for d in ("plugins", "roles") for p in (ROOT / d).rglob("*.py"))
    # Scripts installed on hosts without a .py suffix.
    files += [
        p
        for p in sorted((ROOT / "roles").rglob("files/*"))
        if p.suffix == "" and p.read_text(errors="replace").startswith("#!/usr/bin/python")
    ]
    return files


def unescaped_dollar(pattern: str) -> bool:
    """Whether the pattern has a `$` anchor (not escaped, not inside a character class)."""
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
        elif c == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "]":
                i += 1
        elif c == "$":
            return True
        i += 1
    return False


def regex_literals() -> list[tuple[str, str]]:
    out = []
    for path in python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in RE_FUNCS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "re"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                out.append((f"{path.relative_to(ROOT)}:{node.lineno}", node.args[0].value))
    return out


def test_the_scan_finds_the_patterns() -> None:
    found = regex_literals()
    assert len(found) >= 20, found
    assert any("usb/register.py" in where for where, _ in found)


@pytest.mark.parametrize(("where", "pattern"), regex_literals(), ids=lambda v: v if ":" in str(v) else None)
def test_no_dollar_anchor(where: str, pattern: str) -> None:
    assert not unescaped_dollar(pattern), (
        f"{where}: {pattern!r} uses $ (matches before a trailing newline); use \\Z or re.fullmatch"
    )


def test_unescaped_dollar_detector() -> None:
    assert unescaped_dollar(r"^a$")
    assert not unescaped_dollar(r"^a\$?\Z")
    assert not unescaped_dollar(r"[$]\Z")


def module_patterns() -> list[tuple[str, re.Pattern]]:
    """Every regex compiled at module level in plugins/ and the roles' host scripts, once each."""
    mods = {}
    for path in sorted((ROOT / "plugins").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[1] not in ("module_utils", "plugin_utils", "filter", "modules", "action"):
            continue
        mods[".".join(parts)] = importlib.import_module("ansible_collections.pii_guard.safeguards." + ".".join(parts))
    for path in sorted((ROOT / "roles").rglob("files/*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        m = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(m)
        mods[str(path)] = m
    out: dict[int, tuple[str, re.Pattern]] = {}
    for m in mods.values():
        for attr, value in vars(m).items():
            if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
                out.setdefault(id(value), (attr, value))  # imported elsewhere too: counted once
    return sorted(out.values(), key=lambda kv: kv[0])


def anchored_patterns() -> list[tuple[str, re.Pattern]]:
    return [(k, p) for k, p in module_patterns() if p.pattern.endswith("\\Z")]


def prefix_uses() -> dict[str, list[str]]:
    """name -> places where a module-level pattern is used with .match or .search."""
    uses: dict[str, list[str]] = {}
    for path in python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("match", "search")
                and isinstance(node.func.value, ast.Name)
            ):
                uses.setdefault(node.func.value.id, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return uses


def test_every_anchored_validator_has_an_example() -> None:
    names = {k for k, _ in module_patterns()}
    assert {"ID_RE", "USER_RE", "NAME_RE"} <= names
    missing = sorted({k for k, _ in anchored_patterns()} - set(EXAMPLES) - set(LINE_PARSERS))
    assert not missing, f"add a valid example for {missing} to EXAMPLES"


@pytest.mark.parametrize(("key", "pattern"), anchored_patterns(), ids=lambda v: v if isinstance(v, str) else "")
@pytest.mark.parametrize("tail", ["\n", "\r\n", "\n\n"])
def test_trailing_newline_refused(key: str, pattern: re.Pattern, tail: str) -> None:
    if key in LINE_PARSERS:
        m = pattern.match(LINE_PARSERS[key] + "\n")
        assert m and not any("\n" in (g or "") for g in m.groups()), key
        assert not pattern.match(LINE_PARSERS[key] + "\n\n"), key
        return
    example = EXAMPLES[key]
    assert pattern.match(example), f"{key} should accept {example!r}"
    assert not pattern.match(example + tail), f"{key} accepts {example + tail!r}"


_UNANCHORED_VALIDATORS = [(k, p) for k, p in module_patterns() if k in EXAMPLES and not p.pattern.endswith("\\Z")]


@pytest.mark.parametrize(("key", "pattern"), _UNANCHORED_VALIDATORS, ids=lambda v: v if isinstance(v, str) else "")
def test_unanchored_validators_are_used_only_with_fullmatch(key: str, pattern: re.Pattern) -> None:
    """A validator without an end anchor is safe only through fullmatch: .match would take a prefix."""
    example = EXAMPLES[key]
    assert pattern.fullmatch(example), f"{key} should accept {example!r}"
    for tail in ("\n", "\r\n", "\n\n"):
        assert not pattern.fullmatch(example + tail), f"{key} accepts {example + tail!r}"
    assert not prefix_uses().get(key), f"{key} is used with .match/.search (a prefix match): {prefix_uses()[key]}"


def test_validators_refuse_a_trailing_newline_end_to_end() -> None:
    from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin import policy as admin_policy
    from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb import usbguard
    from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import inputs

    assert admin_policy.valid_name("labop") and not admin_policy.valid_name("labop\n")
    assert admin_policy.validate(["labop\n"], [], ["sudo"], [], [])
    with pytest.raises(usbguard.PolicyError):
        usbguard.validate_daemon_settings({"IPCAllowedGroups": "wheel\n"})
    assert inputs.audit_rules_path_errors("x", "/etc/audit/rules.d/a.rules\n")
