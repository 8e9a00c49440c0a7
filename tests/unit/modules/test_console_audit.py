"""The console_audit module (7-1.console_login_audit) run as Ansible runs it, on temporary files.

Rules loading is switched off (load_rules: false) so the controller's own kernel audit is
never touched; reading `auditctl -l` where auditd exists is harmless.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.pii_guard.safeguards.plugins.module_utils.console.login_audit import host_rules

ROOT = Path(__file__).resolve().parents[3]
MODULE = ROOT / "plugins" / "modules" / "console_audit.py"
RULES = (ROOT / "roles" / "system_room" / "files" / "console.rules").read_text(encoding="utf-8")
# What the module writes on this machine: the watches whose directory exists here.
WRITTEN = host_rules(RULES)[0]
PAM = "auth       requisite  pam_nologin.so\nsession    required   pam_env.so\n"


def run(tmp: Path, check: bool = False, **args) -> dict:
    params = {
        "rules": RULES,
        "rules_path": str(tmp / "rules.d" / "60-pii-guard-console.rules"),
        "pam_service_file": str(tmp / "pam.d" / "login"),
        "load_rules": False,
        "backup_dir": str(tmp / "backup"),
        "_ansible_check_mode": check,
        "_ansible_diff": True,
        "_ansible_tmpdir": str(tmp),
        "_ansible_remote_tmp": str(tmp),
        "_ansible_keep_remote_files": False,
    }
    params.update(args)
    env = {**os.environ, "PYTHONPATH": str(ROOT / ".cache" / "collections")}
    proc = subprocess.run(
        [sys.executable, str(MODULE)],
        input=json.dumps({"ANSIBLE_MODULE_ARGS": params}),
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    out = json.loads(proc.stdout)
    assert not out.get("failed"), out
    return out


def files(out: dict) -> dict:
    return out["findings"][0]["evidence"]["files"]


@pytest.mark.control("7-1.console_login_audit")
def test_check_mode_writes_nothing_and_reports_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "pam.d").mkdir()
    (tmp_path / "pam.d" / "login").write_text(PAM)
    out = run(tmp_path, check=True)
    assert out["changed"] and len(out["changed_files"]) == 2
    assert not (tmp_path / "rules.d").exists()
    assert (tmp_path / "pam.d" / "login").read_text() == PAM
    f = out["findings"][0]
    assert f["id"] == "7-1.console_login_audit" and f["status"] == "fail"
    assert files(out)["audit rules file"] is False and files(out)["pam_tty_audit"] is False


@pytest.mark.control("7-1.console_login_audit")
def test_apply_writes_rules_and_one_pam_line_then_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "pam.d").mkdir()
    (tmp_path / "pam.d" / "login").write_text(PAM)
    out = run(tmp_path)
    assert out["changed"]
    rules = tmp_path / "rules.d" / "60-pii-guard-console.rules"
    assert rules.read_text() == WRITTEN and stat.S_IMODE(rules.stat().st_mode) == 0o640
    pam = (tmp_path / "pam.d" / "login").read_text()
    assert pam.startswith(PAM) and pam.count("pam_tty_audit.so") == 1
    assert files(out)["audit rules file"] and files(out)["pam_tty_audit"]
    again = run(tmp_path)
    assert not again["changed"] and again["changed_files"] == []
    assert (tmp_path / "pam.d" / "login").read_text() == pam
    # The auditor's check mode on the applied host sees the files in place.
    audit = run(tmp_path, check=True)
    assert not audit["changed"] and files(audit)["audit rules file"] and files(audit)["pam_tty_audit"]


@pytest.mark.control("7-1.console_login_audit")
def test_a_locally_tuned_pam_tty_audit_line_is_kept_and_a_drifted_rules_file_restored(tmp_path: Path) -> None:
    (tmp_path / "pam.d").mkdir()
    tuned = PAM + "session required pam_tty_audit.so enable=root,labop\n"
    (tmp_path / "pam.d" / "login").write_text(tuned)
    (tmp_path / "rules.d").mkdir()
    rules = tmp_path / "rules.d" / "60-pii-guard-console.rules"
    rules.write_text("-w /run/utmp -p wa -k pii_guard_session\n")
    out = run(tmp_path)
    assert out["changed_files"] == [str(rules)]
    assert (tmp_path / "pam.d" / "login").read_text() == tuned
    assert rules.read_text() == WRITTEN
    # The drifted file is kept in the one backup directory, not beside the file (augenrules dir).
    assert [p.name for p in (tmp_path / "rules.d").iterdir()] == [rules.name]
    backups = list((tmp_path / "backup").rglob("60-pii-guard-console.rules.*"))
    assert len(backups) == 1, "no backup of the drifted file"
    assert backups[0].read_text() == "-w /run/utmp -p wa -k pii_guard_session\n"
    assert stat.S_IMODE(backups[0].stat().st_mode) == 0o600


@pytest.mark.control("7-1.console_login_audit")
def test_missing_pam_service_is_reported_not_created(tmp_path: Path) -> None:
    out = run(tmp_path)
    assert not (tmp_path / "pam.d" / "login").exists()
    assert files(out)["pam_tty_audit"] is False and out["findings"][0]["status"] == "fail"


DEBIAN_12 = {"/var/log", "/run"}  # directories of the login records each release has
DEBIAN_13 = {"/var/log", "/run", "/var/lib/wtmpdb", "/var/lib/lastlog"}


def watches(text: str) -> list[str]:
    return [ln.split()[1] for ln in text.splitlines() if ln.startswith("-w ")]


@pytest.mark.control("7-1.console_login_audit")
def test_login_records_of_each_debian_release_are_watched_and_only_loadable_watches_written() -> None:
    """auditctl -w refuses a path whose directory is missing: 12 has no wtmpdb/lastlog2 directory."""
    text12, out12 = host_rules(RULES, DEBIAN_12.__contains__)
    assert watches(text12) == [
        "/var/log/lastlog",
        "/var/log/faillog",
        "/run/utmp",
        "/var/log/wtmp",
        "/var/log/wtmp.db",
        "/var/log/btmp",
    ]
    assert out12 == ["/var/lib/lastlog/lastlog2.db", "/var/lib/wtmpdb/wtmp.db"]
    text13, out13 = host_rules(RULES, DEBIAN_13.__contains__)
    assert "/var/lib/wtmpdb/wtmp.db" in watches(text13) and "/var/lib/lastlog/lastlog2.db" in watches(text13)
    # Debian 13's live wtmpdb: /var/lib/wtmpdb/wtmp.db is only a link to it (libwtmpdb0's
    # postinst and tmpfiles.d), and a watch on a link never fires.
    assert "/var/log/wtmp.db" in watches(text13)
    assert out13 == []
    # every key keeps a watch on both releases; comments are kept
    for text in (text12, text13):
        assert {ln.split("-k ")[1] for ln in text.splitlines() if ln.startswith("-w ")} == {
            "pii_guard_logins",
            "pii_guard_session",
        }
        assert text.startswith("## pii_guard.safeguards 7-1.console_login_audit") and text.endswith("\n")


@pytest.mark.control("7-1.console_login_audit")
def test_a_watch_whose_directory_is_missing_is_left_out_and_named(tmp_path: Path) -> None:
    (tmp_path / "pam.d").mkdir()
    (tmp_path / "pam.d" / "login").write_text(PAM)
    there = tmp_path / "wtmpdb"
    there.mkdir()
    rules = "-w %s/wtmp.db -p wa -k pii_guard_session\n" % there
    rules += "-w %s/missing/x.db -p wa -k pii_guard_logins\n" % tmp_path
    out = run(tmp_path, rules=rules)
    written = (tmp_path / "rules.d" / "60-pii-guard-console.rules").read_text()
    assert written == "-w %s/wtmp.db -p wa -k pii_guard_session\n" % there
    assert out["findings"][0]["evidence"]["watches_left_out"] == ["%s/missing/x.db" % tmp_path]
    assert not run(tmp_path, rules=rules)["changed"]
