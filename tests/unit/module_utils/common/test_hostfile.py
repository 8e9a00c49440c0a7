"""module_utils/common/hostfile: the one way modules read and write host files, on real temp dirs."""

from __future__ import annotations

import os
import re
import shutil
import stat
from pathlib import Path

import pytest

from ansible_collections.pii_guard.safeguards.plugins.module_utils.common import hostfile as H

ROOT = Path(__file__).resolve().parents[4]
VISUDO = shutil.which("visudo") or ("/usr/sbin/visudo" if os.path.exists("/usr/sbin/visudo") else None)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def tree(path: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(path)): (p.read_bytes(), mode(p)) for p in sorted(path.rglob("*")) if p.is_file()}


def temps(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.name.startswith(H.TMP_PREFIX)]


def refuse(tmp: str) -> None:
    raise ValueError("refused %s" % tmp)


# ------------------------------------------------------------------ read


def test_read_text_is_none_for_a_missing_file_and_decodes_utf8(tmp_path: Path) -> None:
    assert H.read_text(str(tmp_path / "missing")) is None
    assert H.read_text(str(tmp_path)) is None  # a directory cannot be read
    f = tmp_path / "f"
    f.write_bytes("ログイン\n".encode() + b"\xff")
    assert H.read_text(str(f)) == "ログイン\n\ufffd"
    with pytest.raises(UnicodeDecodeError):
        H.read_text(str(f), errors="strict")


# ------------------------------------------------------------------ atomic write


def test_atomic_write_replaces_content_sets_mode_and_leaves_no_temp_file(tmp_path: Path) -> None:
    f = tmp_path / "sudoers.d" / "pii_guard"
    H.atomic_write(str(f), "Defaults logfile=/var/log/sudo.log\n", 0o440)
    assert f.read_text() == "Defaults logfile=/var/log/sudo.log\n" and mode(f) == 0o440
    H.atomic_write(str(f), b"bytes too\n", 0o440)
    assert f.read_bytes() == b"bytes too\n"
    assert temps(tmp_path) == []


def test_mode_none_keeps_the_existing_mode_and_a_new_file_is_private(tmp_path: Path) -> None:
    f = tmp_path / "login"
    f.write_text("old\n")
    f.chmod(0o644)
    H.atomic_write(str(f), "new\n")
    assert f.read_text() == "new\n" and mode(f) == 0o644
    g = tmp_path / "new"
    H.atomic_write(str(g), "x\n")
    assert mode(g) == 0o600


def test_missing_directory_is_created_with_dir_mode(tmp_path: Path) -> None:
    f = tmp_path / "rules.d" / "60.rules"
    H.atomic_write(str(f), "-w /run/utmp\n", 0o640, dir_mode=0o750)
    assert mode(f.parent) == 0o750 & ~_umask()


def _umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old


def test_validation_sees_the_final_file_in_the_target_directory(tmp_path: Path) -> None:
    seen = {}

    def check(tmp: str) -> None:
        p = Path(tmp)
        seen.update(dir=p.parent, name=p.name, text=p.read_text(), mode=mode(p))

    f = tmp_path / "sudoers.d" / "x"
    H.atomic_write(str(f), "root ALL=(ALL) ALL\n", 0o440, validate=check)
    assert seen["dir"] == f.parent and seen["text"] == "root ALL=(ALL) ALL\n" and seen["mode"] == 0o440
    # sudo's includedir skips names with a dot; augenrules and usbguard skip other suffixes.
    assert seen["name"].startswith(".") and seen["name"].endswith(".tmp")


@pytest.mark.parametrize("validate", [["false"], "sh -c 'echo bad syntax >&2; exit 1' %s", refuse])
def test_a_refused_file_leaves_the_old_one_untouched_and_no_temp_file(tmp_path: Path, validate) -> None:
    f = tmp_path / "conf"
    f.write_text("old\n")
    f.chmod(0o600)
    before = (f.stat().st_ino, f.read_text(), mode(f))
    with pytest.raises((H.HostFileError, ValueError)) as e:
        H.atomic_write(str(f), "new\n", 0o644, validate=validate)
    assert (f.stat().st_ino, f.read_text(), mode(f)) == before
    assert temps(tmp_path) == []
    if e.type is H.HostFileError:
        assert str(f) in str(e.value)
    if isinstance(validate, str):
        assert "bad syntax" in str(e.value)


def test_validate_command_gets_the_temp_path_appended_or_in_place_of_percent_s(tmp_path: Path) -> None:
    calls = []

    def run(cmd):
        calls.append(cmd)
        return 0, "", ""

    H.atomic_write(str(tmp_path / "a"), "x", validate=["visudo", "-cf"], run_command=run)
    H.atomic_write(str(tmp_path / "b"), "x", validate="sshd -t -f %s", run_command=run)
    assert calls[0][:2] == ["visudo", "-cf"] and Path(calls[0][2]).parent == tmp_path
    assert calls[1][:3] == ["sshd", "-t", "-f"] and Path(calls[1][3]).name.startswith(H.TMP_PREFIX)


@pytest.mark.skipif(VISUDO is None, reason="visudo missing")
def test_visudo_refuses_a_broken_sudoers_and_the_old_file_stays(tmp_path: Path) -> None:
    f = tmp_path / "sudoers.d" / "pii_guard"
    H.atomic_write(str(f), "root ALL=(ALL:ALL) ALL\n", 0o440, validate=[VISUDO, "-cf", "%s"])
    with pytest.raises(H.HostFileError, match="rejected the new %s" % re.escape(str(f))):
        H.atomic_write(str(f), "root ALL=(ALL:ALL\n", 0o440, validate=[VISUDO, "-cf", "%s"])
    assert f.read_text() == "root ALL=(ALL:ALL) ALL\n" and temps(tmp_path) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_the_existing_owner_is_kept(tmp_path: Path) -> None:
    f = tmp_path / "owned"
    f.write_text("old\n")
    os.chown(f, 1, 1)
    H.atomic_write(str(f), "new\n", 0o640)
    assert (f.stat().st_uid, f.stat().st_gid) == (1, 1)


# ------------------------------------------------------------------ a group: backup and rollback


@pytest.fixture
def host(tmp_path: Path) -> Path:
    etc = tmp_path / "etc"
    (etc / "sudoers.d").mkdir(parents=True)
    (etc / "sudoers").write_text("root ALL=(ALL:ALL) ALL\n")
    (etc / "sudoers").chmod(0o440)
    (etc / "sudoers.d" / "extra").write_text("bob ALL=(ALL) ALL\n")
    (etc / "sudoers.d" / "legacy").write_text("carol ALL=(ALL) ALL\n")
    return tmp_path


def test_backup_lands_once_per_file_in_the_one_backup_directory(host: Path) -> None:
    sudoers = host / "etc" / "sudoers"
    backup = host / "backup"
    changes = H.Changes(str(backup), when="20261128T000000000000Z")
    assert changes.write(str(sudoers), "first\n", 0o440) and changes.write(str(sudoers), "second\n", 0o440)
    changes.write(str(host / "etc" / "new"), "new\n", 0o644)  # nothing to back up
    copy = backup / str(sudoers).lstrip("/")
    copy = copy.with_name(copy.name + ".20261128T000000000000Z")
    assert changes.backups == [str(copy)]
    assert copy.read_text() == "root ALL=(ALL:ALL) ALL\n" and mode(copy) == 0o600  # the original, private
    assert mode(copy.parent) == 0o700
    assert sudoers.read_text() == "second\n"


def test_a_refused_write_takes_no_backup(host: Path) -> None:
    changes = H.Changes(str(host / "backup"))
    with pytest.raises(ValueError):
        changes.write(str(host / "etc" / "sudoers"), "x\n", 0o440, validate=refuse)
    assert changes.backups == [] and not (host / "backup").exists()


def test_rollback_restores_every_earlier_change_when_a_later_one_fails(host: Path) -> None:
    etc = host / "etc"
    before = tree(etc)
    quarantine = host / "quarantine" / "legacy.x"
    with pytest.raises(ValueError), H.Changes(str(host / "backup")) as changes:
        changes.write(str(etc / "sudoers"), "changed\n", 0o600)
        changes.write(str(etc / "sudoers.d" / "pii_guard_tmp_bob"), "bob ALL=(ALL) ALL\n", 0o440)
        changes.remove(str(etc / "sudoers.d" / "extra"))
        changes.move(str(etc / "sudoers.d" / "legacy"), str(quarantine))
        changes.write(str(etc / "sudoers.d" / "later"), "refused\n", 0o440, validate=refuse)
    assert tree(etc) == before  # content and mode (0440 again), created file gone, removed file back
    assert not quarantine.exists()
    assert temps(host) == []
    assert len(changes.backups) == 3  # sudoers, extra, legacy: kept after the rollback


def test_explicit_rollback_after_a_later_step_refuses_the_result(host: Path) -> None:
    # admin_privileges: the files were all valid, then `visudo -c` / `sshd -t` refuse the whole.
    etc = host / "etc"
    before = tree(etc)
    changes = H.Changes(str(host / "backup"))
    changes.write(str(etc / "sudoers"), "changed\n", 0o440)
    changes.write(str(etc / "ssh" / "sshd_config.d" / "00.conf"), "PermitRootLogin no\n", 0o644)
    assert changes.rollback() == []
    assert tree(etc) == before
    assert changes.rollback() == []  # nothing left to undo


def test_rollback_reports_what_it_could_not_restore_and_restores_the_rest(host: Path) -> None:
    etc = host / "etc"
    changes = H.Changes(str(host / "backup"))
    changes.write(str(etc / "sudoers"), "changed\n", 0o440)
    changes.write(str(etc / "sudoers.d" / "extra"), "changed\n", 0o440)
    shutil.rmtree(etc / "sudoers.d")
    (etc / "sudoers.d").write_text("a file where the directory was\n")  # extra cannot come back
    errors = changes.rollback()
    assert len(errors) == 1 and errors[0].startswith(str(etc / "sudoers.d" / "extra") + ": ")
    assert (etc / "sudoers").read_text() == "root ALL=(ALL:ALL) ALL\n" and mode(etc / "sudoers") == 0o440


def test_check_mode_writes_nothing(host: Path) -> None:
    before = tree(host)
    changes = H.Changes(str(host / "backup"), check_mode=True)
    etc = host / "etc"
    assert changes.write(str(etc / "sudoers"), "changed\n", 0o440) is False
    assert changes.write(str(etc / "new.d" / "f"), "new\n", 0o644) is False
    assert changes.remove(str(etc / "sudoers.d" / "extra")) is False
    assert changes.move(str(etc / "sudoers.d" / "legacy"), str(host / "q" / "legacy")) is False
    assert tree(host) == before and not (etc / "new.d").exists() and not (host / "backup").exists()
    assert changes.backups == []


def test_remove_and_move_of_a_missing_file_change_nothing(host: Path) -> None:
    changes = H.Changes(str(host / "backup"))
    assert changes.remove(str(host / "etc" / "nope")) is False
    assert changes.move(str(host / "etc" / "nope"), str(host / "q" / "nope")) is False
    assert changes.backups == [] and not (host / "q").exists()


# ------------------------------------------------------------------ one way, one directory


def test_the_one_backup_directory() -> None:
    assert H.backup_dir("usbguard") == "/var/backups/pii_guard/usbguard"
    spelled = []
    for base in ("plugins", "roles", "docs", "playbooks", "extensions", "README.md"):
        for p in [ROOT / base] if (ROOT / base).is_file() else (ROOT / base).rglob("*"):
            if p.is_file() and p.suffix in (".py", ".yml", ".yaml", ".md", ".j2", ".cfg", ".rst"):
                for m in re.finditer(r"/var/backups/[\w.-]+", p.read_text(encoding="utf-8", errors="replace")):
                    if m.group(0) != H.BACKUP_ROOT:
                        spelled.append("%s: %s" % (p.relative_to(ROOT), m.group(0)))
    assert spelled == []


def test_no_module_hand_rolls_a_host_file_write() -> None:
    # Every host-file write goes through hostfile (atomic, validated, backed up, rolled back).
    pattern = re.compile(
        r"mkstemp|atomic_move|backup_local|os\.rename|os\.replace|shutil\.(move|copy)|open\([^)]*['\"][wa]"
    )
    found = [
        "%s:%d" % (p.name, n)
        for p in sorted((ROOT / "plugins" / "modules").glob("*.py"))
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == []
