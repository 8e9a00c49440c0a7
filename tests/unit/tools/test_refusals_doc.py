"""docs/REFUSALS.md is generated from the bad-input cases; it must not diverge from them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from bad_inputs_cases import CASES  # noqa: E402


def test_refusals_page_matches_the_cases() -> None:
    r = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "refusals_doc.py"), "--check"], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr


def test_every_case_is_on_the_page() -> None:
    page = (ROOT / "docs" / "REFUSALS.md").read_text(encoding="utf-8")
    for c in CASES:
        assert f"| {c.id} |" in page, c.id
    assert f"{len(CASES)} cases." in page
