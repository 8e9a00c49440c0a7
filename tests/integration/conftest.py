"""Counts that integration tests report (bad-input cases, sudo oracle agreement) end up in
`make test`'s output: pytest captures a test's own prints, so tests hand their lines to the
`summary` fixture and they are written in the terminal summary."""

from __future__ import annotations

import pytest

_LINES: list[str] = []


@pytest.fixture(scope="session")
def summary() -> list[str]:
    return _LINES


def pytest_terminal_summary(terminalreporter) -> None:
    for line in _LINES:
        terminalreporter.write_line(line)
