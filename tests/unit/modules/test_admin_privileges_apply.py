"""admin_privileges' sudoers step on temporary files: each file validated with visudo -cf before its
rename, the whole with visudo -c, and every sudoers change rolled back when anything fails.

Only apply_sudoers runs (no group, sshd or account changes): the controller is never touched.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin import admin_privileges as M


class Failed(Exception):
    pass


class FakeModule:
    check_mode = False

    def __init__(self, tmp: Path):
        self.params = {"backup_dir": str(tmp / "backup"), "quarantine_dir": str(tmp / "quarantine")}

    def run_command(self, args):
        proc = subprocess.run(args, capture_output=True, text=True, check=False)
        return proc.returncode, proc.stdout, proc.stderr

    def fail_json(self, **kw):
        raise Failed(kw["msg"])


@pytest.fixture
def etc(tmp_path: Path) -> Path:
    d = tmp_path / "etc"
    (d / "sudoers.d").mkdir(parents=True)
    (d / "sudoers").write_text("root ALL=(ALL:ALL) ALL\n@includedir %s/sudoers.d\n" % d)
    (d / "sudoers.d" / "legacy").write_text("bob ALL=(ALL) NOPASSWD: ALL\n")
    for f in d.rglob("*"):
        if f.is_file():
            f.chmod(0o440)
    return d


def visudo(tmp: Path, whole_ok: bool) -> str:
    """visudo stand-in: every single file (-cf) is accepted; the whole (-c -f) as told."""
    v = tmp / "visudo"
    v.write_text(
        '#!/bin/sh\n[ "$1" = -cf ] && exit 0\n%s\n' % ("exit 0" if whole_ok else "echo parse error >&2; exit 1")
    )
    v.chmod(0o755)
    return str(v)


def plan(etc: Path) -> dict:
    return {
        "files": {
            str(etc / "sudoers"): "root ALL=(ALL:ALL) ALL\n# alice ALL=(ALL) ALL\n",
            str(etc / "sudoers.d" / "legacy"): None,
            str(etc / "sudoers.d" / "pii_guard_logging"): "Defaults logfile=/var/log/sudo.log\n",
        },
        "main": str(etc / "sudoers"),
        "sudoers": {"quarantine": [str(etc / "sudoers.d" / "legacy")], "comment": [], "nopasswd": []},
        "group_changes": {},
        "sshd_change": False,
        "lock_root": False,
        "uid0_remove": [],
        "audit_change": False,
        "exempt": [],
    }


def snapshot(d: Path) -> dict[str, tuple[str, int]]:
    return {str(p): (p.read_text(), stat.S_IMODE(p.stat().st_mode)) for p in sorted(d.rglob("*")) if p.is_file()}


def test_sudoers_step_writes_validated_files_quarantines_and_backs_up(tmp_path: Path, etc: Path) -> None:
    module = FakeModule(tmp_path)
    files = M.hostfile.Changes(module.params["backup_dir"], run_command=module.run_command)
    applied = {"quarantined": []}
    M.apply_sudoers(module, plan(etc), visudo(tmp_path, True), files, applied)
    assert (etc / "sudoers").read_text().endswith("# alice ALL=(ALL) ALL\n")
    assert stat.S_IMODE((etc / "sudoers.d" / "pii_guard_logging").stat().st_mode) == 0o440
    assert not (etc / "sudoers.d" / "legacy").exists()
    [q] = applied["quarantined"]
    assert Path(q["to"]).parent == tmp_path / "quarantine" and Path(q["to"]).read_text().startswith("bob ")
    assert sorted(Path(b).name.split(".")[0] for b in files.backups) == ["legacy", "sudoers"]
    assert all(Path(b).is_relative_to(tmp_path / "backup") for b in files.backups)


def test_visudo_refusing_the_whole_rolls_every_sudoers_change_back(tmp_path: Path, etc: Path) -> None:
    module = FakeModule(tmp_path)
    before = snapshot(etc)
    files = M.hostfile.Changes(module.params["backup_dir"], run_command=module.run_command)
    with pytest.raises(Failed, match=r"sudoers change rolled back: visudo -c rejected .*parse error"):
        M.apply_sudoers(module, plan(etc), visudo(tmp_path, False), files, {"quarantined": []})
    assert snapshot(etc) == before
    assert not any((tmp_path / "quarantine").iterdir())
    assert not [p for p in etc.rglob("*") if p.name.startswith(".pii_guard.")]


@pytest.mark.skipif(not os.path.exists("/usr/sbin/visudo"), reason="visudo missing")
def test_a_file_visudo_refuses_is_never_renamed_into_place(tmp_path: Path, etc: Path) -> None:
    module = FakeModule(tmp_path)
    before = snapshot(etc)
    pl = plan(etc)
    pl["files"][str(etc / "sudoers.d" / "pii_guard_logging")] = "Defaults logfile=\n"  # a syntax error
    files = M.hostfile.Changes(module.params["backup_dir"], run_command=module.run_command)
    with pytest.raises(Failed, match=r"visudo rejected the new .*pii_guard_logging"):
        M.apply_sudoers(module, pl, "/usr/sbin/visudo", files, {"quarantined": []})
    assert snapshot(etc) == before
