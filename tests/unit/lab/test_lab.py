"""Argument parsing of tests/lab/lab.py: bad input is refused before anything starts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
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


# ---- one recipe, two Debian releases (tests/lab/image.py) ----


def _recipe_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, packages: str | None = None) -> Path:
    from tests.lab import image

    recipe = tmp_path / "recipe"
    recipe.mkdir()
    for f in ("packages.txt", "setup.sh", "vm-setup.sh"):
        (recipe / f).write_bytes((image.RECIPE / f).read_bytes())
    if packages is not None:
        (recipe / "packages.txt").write_text(packages)
    monkeypatch.setattr(image, "RECIPE", recipe)
    return recipe


def test_release_names_and_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.lab import image

    monkeypatch.delenv("PII_GUARD_LAB_RELEASE", raising=False)
    assert image.release() == image.DEFAULT_RELEASE == "12"
    assert [image.release(x) for x in ("12", "bookworm", "13", "trixie")] == ["12", "12", "13", "13"]
    monkeypatch.setenv("PII_GUARD_LAB_RELEASE", "trixie")
    assert image.release() == "13" and image.suite() == "trixie"
    monkeypatch.setenv("PII_GUARD_LAB_RELEASE", "")
    assert image.release() == "12"


@pytest.mark.parametrize("bad", ["11", "14", "sid", "13\n", " 13", "12 13", "bookworm;rm -rf /"])
def test_unknown_release_is_refused_with_the_variable_named(bad: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.lab import image

    monkeypatch.setenv("PII_GUARD_LAB_RELEASE", bad)
    with pytest.raises(image.RecipeError) as exc:
        image.release()
    msg = str(exc.value)
    assert msg.startswith(f"PII_GUARD_LAB_RELEASE: {bad!r} is not a lab release")
    assert "12 (bookworm), 13 (trixie)" in msg


def test_cli_release_option(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # setenv, not delenv: monkeypatch then restores the variable lab.main() sets below.
    monkeypatch.setenv("PII_GUARD_LAB_RELEASE", "")
    assert lab.parse_args(["--release", "trixie", "image"]).release == "13"
    assert lab.parse_args(["image"]).release is None
    err = refused(["--release", "14", "image"], capsys)
    assert "'14' is not a lab release; expected one of 12 (bookworm), 13 (trixie)" in err
    lab.main(["--release", "13", "env"])
    env = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert env == {
        "PII_GUARD_LAB_RELEASE": "13",
        "PII_GUARD_LAB_SUITE": "trixie",
        "PII_GUARD_LAB_IMAGE": "localhost/pii-guard-lab:13",
        "PII_GUARD_LAB_PG": "17",
    }


def test_shipped_recipe_selects_each_releases_postgresql() -> None:
    """The real packages.txt: PostgreSQL 15 + its pgaudit on 12, 17 + its pgaudit on 13, the rest shared."""
    from tests.lab import image

    p12, p13 = image.packages("12"), image.packages("13")
    assert {"postgresql-15", "postgresql-15-pgaudit"} <= set(p12)
    assert {"postgresql-17", "postgresql-17-pgaudit"} <= set(p13)
    assert not any(p.startswith("postgresql-17") for p in p12)
    assert not any(p.startswith("postgresql-15") for p in p13)
    shared = {"usbguard", "auditd", "sudo", "openssh-server", "linux-image-amd64", "python3-apt", "systemd"}
    assert shared <= set(p12) and shared <= set(p13)
    # 13 alone: its PostgreSQL and the login records of a real trixie install (wtmpdb, priority standard).
    assert set(p12) - {"postgresql-15", "postgresql-15-pgaudit"} == set(p13) - {
        "postgresql-17",
        "postgresql-17-pgaudit",
        "wtmpdb",
        "libpam-wtmpdb",
    }
    assert not {"wtmpdb", "libpam-wtmpdb"} & set(p12)  # not in bookworm
    assert (image.pg_major("12"), image.pg_major("13")) == ("15", "17")


def test_marked_lines_go_to_their_release_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.lab import image

    _recipe_copy(
        tmp_path, monkeypatch, "# comment\nsudo\n\npostgresql-15 [12]\npostgresql-17 [13]  # trailing\nfoo [12 13]\n"
    )
    assert image.packages("12") == ["sudo", "postgresql-15", "foo"]
    assert image.packages("13") == ["sudo", "postgresql-17", "foo"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("postgresql-15 [14]", "unknown release '14'"),
        ("postgresql-15 [bookworm]", "is not 'package' or 'package [12 13]'"),
        ("postgresql-15 [12", "is not 'package' or 'package [12 13]'"),
        ("sudo,curl", "is not 'package' or 'package [12 13]'"),
        ("--include=evil", "is not 'package' or 'package [12 13]'"),
        ("Sudo", "is not 'package' or 'package [12 13]'"),
    ],
)
def test_bad_recipe_lines_are_refused(
    line: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A line reaches debootstrap's --include: only a package name (and releases) get through."""
    from tests.lab import image

    _recipe_copy(tmp_path, monkeypatch, f"sudo\n{line}\n")
    with pytest.raises(image.RecipeError) as exc:
        image.packages("12")
    assert "recipe/packages.txt line 2:" in str(exc.value) and expected in str(exc.value)


def test_digests_differ_per_release_and_track_only_their_own_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.lab import image

    recipe = _recipe_copy(tmp_path, monkeypatch)
    d12, d13 = image.recipe_digest("12"), image.recipe_digest("13")
    assert d12 != d13 and image.bootstrap_digest("12") != image.bootstrap_digest("13")
    assert image.vm_digest("12") != image.vm_digest("13")
    assert image.cache_dir("12") != image.cache_dir("13")
    text = (recipe / "packages.txt").read_text()
    # A package for 13 only rebuilds 13; 12 keeps its cache (and the reverse).
    (recipe / "packages.txt").write_text(text + "htop [13]\n")
    assert image.recipe_digest("12") == d12 and image.recipe_digest("13") != d13
    (recipe / "packages.txt").write_text(text + "htop [12]\n")
    assert image.recipe_digest("12") != d12 and image.recipe_digest("13") == d13
    # setup.sh shapes both rootfs; vm-setup.sh only the VM disks.
    (recipe / "packages.txt").write_text(text)
    v12, v13 = image.vm_digest("12"), image.vm_digest("13")
    (recipe / "vm-setup.sh").write_text((recipe / "vm-setup.sh").read_text() + "\n# x\n")
    assert (image.recipe_digest("12"), image.recipe_digest("13")) == (d12, d13)
    assert image.vm_digest("12") != v12 and image.vm_digest("13") != v13
    (recipe / "setup.sh").write_text((recipe / "setup.sh").read_text() + "\n# x\n")
    assert image.recipe_digest("12") != d12 and image.recipe_digest("13") != d13


def test_podman_tags_per_release_and_latest_only_for_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.lab import image

    monkeypatch.setenv("PII_GUARD_LAB_RELEASE", "13")
    t13 = image.image_tags()
    assert t13 == [f"localhost/pii-guard-lab:{image.recipe_digest('13')}", "localhost/pii-guard-lab:13"]
    t12 = image.image_tags("12")
    assert t12 == [
        f"localhost/pii-guard-lab:{image.recipe_digest('12')}",
        "localhost/pii-guard-lab:12",
        "localhost/pii-guard-lab:latest",
    ]
    assert image.image_ref() == t13[0]


def test_vm_release_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.lab import image
    from tests.lab.vm import VM

    monkeypatch.setenv("PII_GUARD_LAB_RELEASE", "13")
    vm = VM()
    assert vm.release == "13" and vm.key_path == image.vm_files("13")["key"]
    assert VM(release="bookworm").key_path == image.vm_files("12")["key"]
    assert image.vm_files("12")["dir"].parent == image.cache_dir("12")
