"""Testinfra verify for the system_room scenario (clause 7-1 on a systemd container)."""

from __future__ import annotations

import os

import pytest

RULES = "/etc/audit/rules.d/60-pii-guard-console.rules"
RELEASE = os.environ.get("PII_GUARD_LAB_RELEASE", "12")


@pytest.mark.control("7-1.console_login_audit")
def test_login_records_are_watched(host) -> None:
    f = host.file(RULES)
    assert f.exists and f.user == "root" and f.mode == 0o640
    lines = {ln for ln in f.content_string.splitlines() if ln.startswith("-w ")}
    assert "-w /var/log/lastlog -p wa -k pii_guard_logins" in lines
    assert "-w /var/log/wtmp -p wa -k pii_guard_session" in lines
    assert "-w /var/log/btmp -p wa -k pii_guard_session" in lines
    # Debian 13 records logins in wtmpdb (no utmp in its systemd): watched where its directory
    # exists, left out where it does not (auditctl would refuse the whole file on 12).
    wtmpdb = "-w /var/lib/wtmpdb/wtmp.db -p wa -k pii_guard_session"
    assert (wtmpdb in lines) == host.file("/var/lib/wtmpdb").is_directory == (RELEASE != "12")
    # Debian 13's live wtmpdb is /var/log/wtmp.db (the path above is a link to it, and a watch on
    # a link never fires): watched on every release (/var/log exists everywhere).
    assert "-w /var/log/wtmp.db -p wa -k pii_guard_session" in lines
    if RELEASE != "12":
        assert host.file("/var/lib/wtmpdb/wtmp.db").linked_to == "/var/log/wtmp.db"
    # augenrules loads rules.d only where auditd is installed.
    assert host.package("auditd").is_installed


@pytest.mark.control("7-1.console_login_audit")
def test_console_logins_get_tty_audit_once(host) -> None:
    pam = host.file("/etc/pam.d/login").content_string.splitlines()
    tty = [ln for ln in pam if "pam_tty_audit.so" in ln and not ln.lstrip().startswith("#")]
    # optional, never required: a missing module must not lock the console out.
    assert tty == ["session    optional   pam_tty_audit.so enable=*"]


@pytest.mark.control("7-1.strict_media_policy")
def test_storage_media_prohibited(host) -> None:
    modprobe = host.file("/etc/modprobe.d/pii-guard-usb-storage.conf").content_string
    assert "install usb-storage /bin/false" in modprobe and "install uas /bin/false" in modprobe
    rules = host.file("/etc/usbguard/rules.d/50-pii-guard.conf")
    assert rules.exists and rules.mode == 0o600
    # prohibit: even the registered agency stick is not allowed on a system-room host.
    assert "AGENCY0001" not in rules.content_string
