"""Argument parsing of tests/lab/lab.py: bad input is refused before anything starts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.lab import lab  # noqa: E402


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exc:
        lab.parse_args(argv)
    assert exc.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("n", ["0", "-1", "21", "500"])
def test_up_out_of_range_is_refused(n: str, capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(["up", n], capsys)
    assert f"N must be between 1 and {lab.MAX_ENDPOINTS}, got {int(n)}" in err


@pytest.mark.parametrize("n", ["three", "2.5", ""])
def test_up_not_a_number_is_refused(n: str, capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(["up", n], capsys)
    assert "N must be a whole number" in err and repr(n) in err


def test_up_without_n_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert "required: N" in refused(["up"], capsys)


def test_unknown_command_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(["destroy-everything"], capsys)
    assert "invalid choice: 'destroy-everything'" in err
    for cmd in lab.COMMANDS:
        assert repr(cmd) in err


def test_no_command_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert "required: COMMAND" in refused([], capsys)


@pytest.mark.parametrize("n", [1, 3, lab.MAX_ENDPOINTS])
def test_up_in_range_is_accepted(n: int) -> None:
    args = lab.parse_args(["up", str(n)])
    assert (args.command, args.n) == ("up", n)


@pytest.mark.parametrize("cmd", ["image", "vm-image", "down", "status", "vm", "prune"])
def test_plain_commands_parse(cmd: str) -> None:
    assert lab.parse_args([cmd]).command == cmd


def test_recipe_digest_is_stable_and_tracks_the_recipe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.lab import image

    first = image.recipe_digest()
    assert first == image.recipe_digest() and len(first) == 16
    recipe = tmp_path / "recipe"
    recipe.mkdir()
    for f in ("packages.txt", "setup.sh", "vm-setup.sh"):
        (recipe / f).write_bytes((image.RECIPE / f).read_bytes())
    monkeypatch.setattr(image, "RECIPE", recipe)
    assert image.recipe_digest() == first
    (recipe / "packages.txt").write_text((recipe / "packages.txt").read_text() + "htop\n")
    assert image.recipe_digest() != first
    assert "htop" in image.packages()
