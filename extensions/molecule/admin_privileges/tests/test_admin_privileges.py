"""Testinfra verify for the admin_privileges scenario (podman, operator root)."""

from __future__ import annotations

import pytest

MARKER = "# pii_guard disabled (6-6.sudoers_grants): "


def sudo_l(host, user: str) -> str:
    return host.run("sudo -l -U %s", user).stdout


@pytest.mark.control("6-6.admin_group_members")
def test_admin_group_holds_exactly_the_approved_users(host):
    assert sorted(host.group("sudo").members) == ["alice", "carol"]


@pytest.mark.control("6-6.sudoers_grants")
def test_unapproved_users_cannot_sudo(host):
    for user in ("intruder", "bob"):
        assert f"User {user} is not allowed to run sudo" in sudo_l(host, user)


@pytest.mark.control("6-6.sudo_nopasswd")
def test_approved_admin_can_sudo_but_needs_a_password(host):
    out = sudo_l(host, "alice")
    assert "(ALL : ALL) ALL" in out
    assert "NOPASSWD" not in out


@pytest.mark.control("6-6.sudo_nopasswd")
def test_nopasswd_kept_only_where_approved(host):
    assert "NOPASSWD: ALL" in sudo_l(host, "carol")


@pytest.mark.control("6-6.sudoers_grants")
def test_dropin_quarantined_with_its_content(host):
    assert not host.file("/etc/sudoers.d/intruder").exists
    out = host.run("cat /var/lib/pii_guard/sudoers-quarantine/intruder.*")
    assert out.rc == 0 and "intruder ALL=(ALL) NOPASSWD: ALL" in out.stdout


@pytest.mark.control("6-6.sudoers_grants")
def test_main_file_and_mixed_dropin_lines_commented_with_marker(host):
    assert MARKER + "bob ALL=(ALL:ALL) ALL" in host.file("/etc/sudoers").content_string
    mixed = host.file("/etc/sudoers.d/mixed").content_string.splitlines()
    assert MARKER + "bob ALL=(root) /usr/bin/id, \\" in mixed
    assert "alice ALL=(ALL:ALL) PASSWD: ALL" in mixed
    # Backups of every changed file exist.
    assert host.run("ls /var/backups/pii_guard/admin_privileges/etc/sudoers.*").rc == 0


@pytest.mark.control("6-6.sudoers_grants")
def test_sudoers_files_mode_0440_and_valid(host):
    for path in ("/etc/sudoers", "/etc/sudoers.d/mixed", "/etc/sudoers.d/pii_guard_logging"):
        f = host.file(path)
        assert f.user == "root" and f.mode == 0o440, path
    assert host.run("visudo -c").rc == 0


@pytest.mark.control("6-6.temporary_grants")
def test_temporary_grant_rendered_with_expiry_and_timer_enabled(host):
    f = host.file("/etc/sudoers.d/pii_guard_tmp_dave")
    assert f.mode == 0o440
    assert "dave ALL=(ALL:ALL) NOTAFTER=20991231000000Z ALL" in f.content_string
    assert "# pii_guard-expires: 2099-12-31T00:00:00Z" in f.content_string
    assert "(ALL : ALL) NOTAFTER=20991231000000Z ALL" in sudo_l(host, "dave")
    timer = host.service("pii-guard-sudo-expiry.timer")
    assert timer.is_enabled and timer.is_running


@pytest.mark.control("6-6.root_ssh_login")
def test_root_ssh_login_refused_by_sshd(host):
    assert host.run("sshd -T | grep -i '^permitrootlogin'").stdout.split() == ["permitrootlogin", "no"]
    assert host.file("/etc/ssh/sshd_config.d/00-pii-guard-admin.conf").contains("^PermitRootLogin no$")


@pytest.mark.control("6-6.privileged_use_logging")
def test_sudo_logs_commands_to_its_logfile(host):
    host.run("sudo -u alice true")  # root -> alice: a sudo run sudo must log
    log = host.file("/var/log/sudo.log")
    assert log.exists and "COMMAND=/usr/bin/true" in log.content_string


@pytest.mark.control("6-6.privileged_use_logging")
def test_audit_rule_file_installed(host):
    f = host.file("/etc/audit/rules.d/pii_guard_admin.rules")
    assert f.contains("-F euid=0 -F auid>=1000") and f.contains("-k pii_guard_root_cmd")


@pytest.mark.control("6-6.uid0_accounts")
def test_extra_uid0_reported_not_removed(host):
    assert host.user("toor").uid == 0


# ---- issue 13: checked by the real sudo after harden
PROBE = "/usr/local/sbin/pii-guard-sudo-probe"


def may_run(host, user: str, *cmd: str) -> bool:
    return host.run("sudo -l -U %s -u root " + " ".join(["%s"] * len(cmd)), user, *cmd).rc == 0


@pytest.mark.control("6-6.sudoers_grants", "6-6.sudo_nopasswd")
def test_every_user_may_run_exactly_what_the_approved_lists_allow(host):
    host.run("test -e %s || install -m 755 /bin/true %s", PROBE, PROBE)
    root_all = {"alice", "carol", "dave", "j.smith"}  # approved and temporary
    for user in ("alice", "bob", "carol", "dave", "intruder", "oper", "j.smith"):
        assert may_run(host, user, PROBE) is (user in root_all), user
    assert may_run(host, "oper", "/usr/bin/journalctl", "-u", "ssh")
    assert not may_run(host, "oper", "/usr/bin/journalctl")
    assert not may_run(host, "oper", "/usr/bin/journalctl", "-u", "cron")
    assert host.run("visudo -c").rc == 0


@pytest.mark.control("6-6.sudoers_grants")
def test_backdoor_named_like_a_managed_file_is_quarantined(host):
    assert not host.file("/etc/sudoers.d/pii_guard_backdoor").exists
    assert host.run("ls /var/lib/pii_guard/sudoers-quarantine/pii_guard_backdoor.*").rc == 0


@pytest.mark.control("6-6.sudoers_grants")
def test_fleet_grant_for_other_hosts_left_alone(host):
    fleet = "Host_Alias DBS = db1, db2.example.org\nbob DBS = (ALL) ALL\n"
    assert host.file("/etc/sudoers.d/fleet").content_string == fleet


@pytest.mark.control("6-6.sudo_nopasswd")
def test_defaults_not_authenticate_for_unapproved_user_commented(host):
    assert MARKER + "Defaults:bob !authenticate" in host.file("/etc/sudoers").content_string


@pytest.mark.control("6-6.sudoers_grants")
def test_wider_grant_than_the_approved_limited_one_removed(host):
    assert host.file("/etc/sudoers.d/oper").exists
    assert not host.file("/etc/sudoers.d/oper_wide").exists


@pytest.mark.control("6-6.temporary_grants")
def test_temporary_grant_with_dotted_name_has_notafter_and_works(host):
    f = host.file("/etc/sudoers.d/pii_guard_tmp_j%2Esmith")
    assert f.exists and "j.smith ALL=(ALL:ALL) NOTAFTER=20991231000000Z ALL" in f.content_string
    assert may_run(host, "j.smith", PROBE)
