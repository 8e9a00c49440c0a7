"""Clause 7-1 with a real kernel: console and tty logins of a system-room host are audited.

Applies system_room's console part to the VM (auditd running, kernel audit available): the
login watch rules must be loaded in the kernel, a new login must leave audit records under the
role's keys, a second run and a check-mode run must change nothing and report pass. The module
removes its rules file and PAM line again, so the VM is as it found it.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest

from tests.lab.vm import run_playbook

PLAY = "tests/vm/system_room_console.yml"
RULES = "/etc/audit/rules.d/60-pii-guard-console.rules"


def apply(vm, check: bool = False) -> tuple[object, list[dict]]:
    with tempfile.TemporaryDirectory(prefix="rep-vm-") as d:
        out = Path(d) / "findings.json"
        proc = run_playbook(
            vm, PLAY, extra_vars={"findings_out": str(out)}, groups=["linux", "system_room"], check=check
        )
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        return proc, json.loads(out.read_text(encoding="utf-8"))


def console(items: list[dict]) -> dict:
    (f,) = [f for f in items if f["id"] == "7-1.console_login_audit"]
    return f


def release(vm) -> int:
    return int(vm.ssh("cut -d. -f1 /etc/debian_version").stdout.strip())


def changed(out: str) -> int:
    m = re.search(r"\bvm\s*:\s*ok=\d+\s+changed=(\d+)", out)
    assert m, out[-2000:]
    return int(m.group(1))


@pytest.fixture(scope="module")
def applied(vm):
    try:
        yield vm, apply(vm)
    finally:
        vm.ssh(
            f"sudo rm -f {RULES} && sudo sed -i '/pam_tty_audit.so enable=\\*/d' /etc/pam.d/login"
            " && sudo augenrules --load",
            check=False,
        )


@pytest.mark.control("7-1.console_login_audit")
def test_first_run_fixes_and_loads_the_rules_in_the_kernel(applied) -> None:
    vm, (_, items) = applied
    f = console(items)
    assert f["status"] == "fixed", f
    assert f["evidence"]["in_container"] is False and f["evidence"]["rules_loaded"] is True
    loaded = vm.ssh("sudo auditctl -l").stdout
    assert "-w /var/log/wtmp -p wa -k pii_guard_session" in loaded
    # The wtmpdb watch exactly where its directory exists: Debian 13 (wtmpdb installed), not 12.
    wtmpdb = "-w /var/lib/wtmpdb/wtmp.db -p wa -k pii_guard_session"
    assert (wtmpdb in loaded) == (release(vm) >= 13), loaded
    # The live wtmpdb of Debian 13 (the path above is a link to it there): watched on every release.
    assert "-w /var/log/wtmp.db -p wa -k pii_guard_session" in loaded
    assert "-w /var/log/lastlog -p wa -k pii_guard_logins" in loaded
    pam = vm.ssh("grep -c '^session    optional   pam_tty_audit.so enable=\\*' /etc/pam.d/login").stdout.strip()
    assert pam == "1"


@pytest.mark.control("7-1.console_login_audit")
def test_a_tty_login_leaves_audit_records_under_the_role_keys(applied) -> None:
    vm, _ = applied
    # Read audit.log itself: ausearch -k found no matches in these ENRICHED records here.
    count = "sudo grep -c 'key=\"pii_guard_session\"' /var/log/audit/audit.log || true"
    before = int(vm.ssh(count).stdout.strip() or 0)
    # A login on a terminal (script gives login a pty) writes utmp/wtmp/lastlog, as a console login does.
    # The shell of that login reads "exit" from the pty and ends the session.
    # "exit" is sent every 2 s: Debian 13's login discards what reached the pty before the shell
    # started (one early "exit" left the shell waiting for the 60 s timeout).
    vm.ssh(
        "while sleep 2; do printf 'exit\\n'; done | sudo timeout 60 script -qec 'login -f labop' /dev/null",
        check=False,
        timeout=90,
    )
    after = int(vm.ssh(count).stdout.strip() or 0)
    assert after > before, (before, after)
    last = vm.ssh("sudo grep 'key=\"pii_guard_session\"' /var/log/audit/audit.log | tail -n 1").stdout
    assert 'comm="login"' in last and 'exe="/usr/bin/login"' in last, last
    if release(vm) >= 13:
        # Debian 13 has no utmp; pam_wtmpdb (priority standard, in the lab image) records the
        # login in wtmp.db, and that write must be one of the new events under the session key.
        # The kernel names the file opened: /var/log/wtmp.db (/var/lib/wtmpdb/wtmp.db links to it).
        events = vm.ssh(f"sudo grep 'key=\"pii_guard_session\"' /var/log/audit/audit.log | tail -n +{before + 1}")
        serials = set(re.findall(r"msg=audit\(\d+\.\d+:(\d+)\)", events.stdout))
        assert serials, events.stdout
        # split("\n"), not splitlines(): that also splits at the 0x1d before ENRICHED fields.
        paths = vm.ssh("sudo grep '^type=PATH' /var/log/audit/audit.log").stdout.split("\n")
        written = [p for p in paths if (m := re.search(r"msg=audit\(\d+\.\d+:(\d+)\)", p)) and m.group(1) in serials]
        assert any('name="/var/log/wtmp.db"' in p for p in written), written[-10:]


@pytest.mark.control("7-1.console_login_audit")
def test_second_run_and_check_mode_change_nothing_and_pass(applied) -> None:
    vm, _ = applied
    again, items = apply(vm)
    assert console(items)["status"] == "pass" and changed(again.stdout) == 0
    check, items = apply(vm, check=True)
    assert console(items)["status"] == "pass" and changed(check.stdout) == 0


@pytest.mark.control("7-1.console_login_audit")
def test_rules_lost_from_the_kernel_are_reported_then_reloaded(applied) -> None:
    vm, _ = applied
    # The file is in place but the kernel no longer holds its rules (an admin ran auditctl -D).
    vm.ssh("sudo auditctl -D")
    assert "pii_guard_session" not in vm.ssh("sudo auditctl -l").stdout
    _, items = apply(vm, check=True)
    f = console(items)
    assert f["status"] == "fail" and f["evidence"]["rules_loaded"] is False, f
    assert "pii_guard_session" not in vm.ssh("sudo auditctl -l").stdout  # check mode loaded nothing
    _, items = apply(vm)
    assert console(items)["status"] == "fixed"
    assert "-w /var/log/wtmp -p wa -k pii_guard_session" in vm.ssh("sudo auditctl -l").stdout
