"""The temporary-grant expiry script (runs on endpoints from the systemd timer)."""

from __future__ import annotations

import datetime
import importlib.util
import pathlib
import subprocess
import sys

import pytest

from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin import policy as P

SCRIPT = pathlib.Path(__file__).resolve().parents[4] / "roles/admin_privileges/files/pii_guard_sudo_expiry.py"
spec = importlib.util.spec_from_file_location("pii_guard_sudo_expiry", SCRIPT)
expiry = importlib.util.module_from_spec(spec)
spec.loader.exec_module(expiry)

NOW = datetime.datetime(2026, 11, 28, 6, 0, tzinfo=datetime.UTC)


def grant(d, user, until):
    text = P.temporary_file({"user": user, "reason": "r", "ticket": "t"}, until)
    (d / (P.TEMP_PREFIX + user)).write_text(text)


@pytest.mark.control("6-6.temporary_grants")
def test_sweep_moves_expired_and_unreadable_grants_keeps_live_and_foreign_files(tmp_path):
    d, archive = tmp_path / "sudoers.d", tmp_path / "archive"
    d.mkdir()
    grant(d, "old", NOW - datetime.timedelta(seconds=1))
    grant(d, "edge", NOW)  # expiring exactly now is expired
    grant(d, "live", NOW + datetime.timedelta(minutes=1))
    (d / "pii_guard_tmp_noexpiry").write_text("eve ALL=(ALL) ALL\n")
    (d / "labop").write_text("labop ALL=(ALL) NOPASSWD: ALL\n")
    removed = expiry.sweep(str(d), str(archive), NOW)
    assert sorted(n for n, _ in removed) == ["pii_guard_tmp_edge", "pii_guard_tmp_noexpiry", "pii_guard_tmp_old"]
    assert sorted(p.name for p in d.iterdir()) == ["labop", "pii_guard_tmp_live"]
    assert len(list(archive.iterdir())) == 3


@pytest.mark.control("6-6.temporary_grants")
def test_script_and_planner_agree_on_the_expiry_header():
    until = datetime.datetime(2027, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    text = P.temporary_file({"user": "bob", "reason": "r", "ticket": "t"}, until)
    assert expiry.expiry(text) == P.expiry_of(text) == until


@pytest.mark.control("6-6.temporary_grants")
def test_script_runs_standalone_with_stdlib_only(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    grant(d, "gone", datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
    # -I: isolated mode, no site-packages and no PYTHONPATH, as on an endpoint without Ansible.
    out = subprocess.run(
        [sys.executable, "-I", str(SCRIPT), "--dir", str(d), "--archive", str(tmp_path / "a")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "removed temporary sudo grant pii_guard_tmp_gone (expired 2020-01-01T00:00:00Z)" in out.stdout
    assert list(d.iterdir()) == []
