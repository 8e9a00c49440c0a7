"""Testinfra verify for the download_alert scenario: the agent deployed by the role raises
real alerts from a real PostgreSQL (pgaudit) and a JSON-lines application log."""

from __future__ import annotations

import json
import os
import time

import pytest
import testinfra

MESSAGE_ID = "6d8a0f3c2b5e4c1d9a7f0e6b3c2d1a05"
# One scenario, two Debian releases (tools/molecule-all.sh): 12 has PostgreSQL 15, 13 has 17.
RELEASE = os.environ.get("PII_GUARD_LAB_RELEASE", "12")
PG = os.environ.get("PII_GUARD_LAB_PG", "15")
ALERTS = "/var/log/pii-download-alert/alerts.jsonl"


@pytest.fixture(scope="module")
def host():
    # podman exec directly: an ansible round trip per command made this verify take minutes
    # the container name as molecule.yml builds it (checkouts sharing a machine set a prefix)
    prefix = os.environ.get("PII_GUARD_MOLECULE_PREFIX", "")
    return testinfra.get_host("podman://%sdl-molecule-%s" % (prefix, RELEASE))


def alert_lines(host, dataset):
    out = host.run("cat %s", ALERTS).stdout
    return [a for a in (json.loads(x) for x in out.splitlines() if x.strip()) if a["dataset"] == dataset]


def wait_alerts(host, dataset, before=0, timeout=20):
    """Alerts of ``dataset`` after the first ``before`` ones (verify may run more than once)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if len(alert_lines(host, dataset)) > before:
            time.sleep(1.5)  # anything more would come within the agent's poll interval
            return alert_lines(host, dataset)[before:]
        time.sleep(0.3)
    raise AssertionError("no alert for %s within %ss" % (dataset, timeout))


def test_runs_on_the_release_under_test(host):
    # The matrix must really reach the other release: Debian and PostgreSQL majors as expected.
    assert host.file("/etc/debian_version").content_string.split(".")[0] == RELEASE
    assert psql(host, "SHOW server_version").split(".")[0] == PG


@pytest.mark.control("6-5.agent_running")
def test_agent_runs_unprivileged(host):
    svc = host.service("pii-download-alert")
    assert svc.is_enabled and svc.is_running
    pid = host.check_output("systemctl show -p MainPID --value pii-download-alert")
    status = host.file("/proc/%s/status" % pid).content_string
    uid = host.check_output("id -u pii-dlalert")
    assert "\nUid:\t%s\t%s\t%s\t%s" % ((uid,) * 4) in status
    assert "\nCapEff:\t0000000000000000" in status and "\nCapBnd:\t0000000000000000" in status
    groups = host.check_output("id -nG pii-dlalert").split()
    assert set(groups) == {"pii-dlalert", "adm", "tty"}


@pytest.mark.control("6-5.agent_config", "6-5.audit_rules_loaded", "6-5.pgaudit_active")
def test_config_rules_and_unit_files(host):
    cfg = host.file("/etc/pii-download-alert/config.json")
    assert cfg.user == "root" and cfg.group == "pii-dlalert" and cfg.mode == 0o640
    doc = json.loads(cfg.content_string)
    assert [(d["name"], d["source"], d["threshold"], d["window"]) for d in doc["datasets"]] == [
        ("citizens", "audit", 100, 60),
        ("citizens-db", "pgaudit", 1000, 60),
        ("exports", "jsonlog", 10, 60),
    ]
    assert doc["reviewed_on"] == "2026-10-01"
    check = host.run("/usr/bin/python3 /usr/lib/pii-download-alert/pii-download-alert --check-config")
    assert check.rc == 0 and "OK (3 data sets)" in check.stdout
    rules = host.file("/etc/audit/rules.d/50-pii-download-alert.rules").content_string.splitlines()
    assert rules[2:] == [
        "-a always,exit -F arch=%s -S open,openat,openat2 -F dir=/srv/pii -F perm=r "
        "-F auid>=1000 -F auid!=unset -k pii_dl_citizens" % arch
        for arch in ("b64", "b32")
    ]
    unit = host.file("/etc/systemd/system/pii-download-alert.service").content_string
    assert "User=pii-dlalert" in unit and "CapabilityBoundingSet=\n" in unit and "ProtectSystem=strict" in unit
    pg = host.file("/etc/postgresql/%s/main/conf.d/50-pii-download-alert.conf" % PG).content_string
    assert "pgaudit.log_rows = on" in pg and "shared_preload_libraries = 'pgaudit'" in pg
    assert "log_destination = 'jsonlog'" in pg and "log_filename = 'postgresql-%s-main-audit.log'" % PG in pg
    jsonlog = host.file("/var/log/postgresql/postgresql-%s-main-audit.json" % PG)
    assert jsonlog.user == "postgres" and jsonlog.group == "adm" and jsonlog.mode == 0o640


def psql(host, sql, user="postgres"):
    # peer authentication over the local socket: the OS user is the database user
    return host.check_output("runuser -u %s -- psql -XAtq -d postgres -c %s" % (user, _q(sql)))


def _q(s):
    return "'" + s.replace("'", "'\"'\"'") + "'"


@pytest.mark.control("6-5.agent_running", "6-5.pgaudit_active")
def test_pgaudit_select_of_5000_rows_alerts_once_with_count(host):
    assert psql(host, "SHOW pgaudit.log_rows") == "on"
    assert psql(host, "SHOW log_destination") == "jsonlog"
    psql(
        host,
        "DROP TABLE IF EXISTS citizens; CREATE TABLE citizens (id int, name text);"
        "INSERT INTO citizens SELECT g, 'n' || g FROM generate_series(1, 5000) g;"
        "DROP ROLE IF EXISTS clerk; DROP ROLE IF EXISTS intern; CREATE ROLE clerk LOGIN; CREATE ROLE intern LOGIN;"
        "GRANT SELECT ON citizens TO clerk, intern",
    )
    before = len(alert_lines(host, "citizens-db"))
    for user in ("clerk", "intern"):
        host.run("id %s || useradd -M -s /usr/sbin/nologin %s", user, user)
    assert len(psql(host, "SELECT * FROM citizens WHERE id <= 500", user="intern").splitlines()) == 500
    assert len(psql(host, "SELECT * FROM citizens", user="clerk").splitlines()) == 5000
    alerts = wait_alerts(host, "citizens-db", before)
    assert [(a["user"], a["count"], a["threshold"]) for a in alerts] == [("clerk", 5000, 1000)]
    journal = host.check_output("journalctl -o json MESSAGE_ID=%s PII_DATASET=citizens-db" % MESSAGE_ID)
    entries = [json.loads(x) for x in journal.splitlines()]
    assert len(entries) == before + 1
    assert entries[-1]["PRIORITY"] == "1" and entries[-1]["PII_COUNT"] == "5000" and entries[-1]["PII_USER"] == "clerk"


def audit_entries(host, path, user):
    """pgaudit's entries of ``user`` in a jsonlog file (one JSON object a line)."""
    out = host.check_output("cat %s", path)
    rows = [json.loads(x) for x in out.splitlines() if x.strip()]
    return [r for r in rows if r.get("user") == user and r.get("message", "").startswith("AUDIT: SESSION,")
            and ",public.citizens," in r["message"]]  # fmt: skip


@pytest.mark.control("6-5.agent_running", "6-5.pgaudit_active")
def test_jsonlog_rotation_neither_loses_nor_repeats_rows(host):
    # N reads, logrotate -f on the role's drop-in (rename, create, pg_ctl logrotate), M reads:
    # one alert at exactly N+M rows (a lost read never reaches 1000, a repeated one alerts early)
    path = "/var/log/postgresql/postgresql-%s-main-audit.json" % PG
    drop_in = host.file("/etc/logrotate.d/pii-download-alert-postgresql").content_string
    directives = [x.strip() for x in drop_in.splitlines() if x.strip() and not x.strip().startswith("#")]
    assert directives[0] == path + " {" and "create 0640 postgres adm" in directives
    assert "copytruncate" not in directives
    host.run("id rotor || useradd -M -s /usr/sbin/nologin rotor")
    if psql(host, "SELECT count(*) FROM pg_roles WHERE rolname = 'rotor'") == "0":
        psql(host, "CREATE ROLE rotor LOGIN")
    psql(host, "GRANT SELECT ON citizens TO rotor")
    before = len(alert_lines(host, "citizens-db"))
    old_inode = host.check_output("stat -c %%i %s", path)
    for _ in range(3):
        assert len(psql(host, "SELECT * FROM citizens WHERE id <= 300", user="rotor").splitlines()) == 300
    rotate = host.run("logrotate -f /etc/logrotate.d/pii-download-alert-postgresql")
    assert rotate.rc == 0, rotate.stderr
    for _ in range(2):
        assert len(psql(host, "SELECT * FROM citizens WHERE id <= 50", user="rotor").splitlines()) == 50
    alerts = wait_alerts(host, "citizens-db", before)
    assert [(a["user"], a["count"]) for a in alerts] == [("rotor", 1000)]
    # the old file is path.1 and holds the first reads; PostgreSQL writes the later ones to a new file
    assert host.check_output("stat -c %%i %s.1", path) == old_inode
    assert len(audit_entries(host, path + ".1", "rotor")) == 3
    new = host.file(path)
    assert host.check_output("stat -c %%i %s", path) != old_inode
    assert new.user == "postgres" and new.group == "adm" and new.mode == 0o640
    assert len(audit_entries(host, path, "rotor")) == 2


@pytest.mark.control("6-5.agent_running")
def test_jsonlog_export_alerts_with_jmespath(host):
    lines = [
        {"kind": "export", "actor": {"name": "clerk"}, "records": list(range(6))},
        {"kind": "view", "actor": {"name": "clerk"}, "records": list(range(50))},
        {"kind": "export", "actor": {"name": "clerk"}, "records": list(range(6))},
    ]
    payload = "".join(json.dumps(x) + "\n" for x in lines)
    before = len(alert_lines(host, "exports"))
    host.run("printf %%s %s >> /var/log/pii-app/export.jsonl", payload)
    alerts = wait_alerts(host, "exports", before)
    assert [(a["user"], a["count"], a["threshold"]) for a in alerts] == [("clerk", 12, 10)]


@pytest.mark.control("6-5.agent_running")
def test_state_checkpoint_is_private(host):
    time.sleep(6)  # one checkpoint interval after the alerts
    st = host.file("/var/lib/pii-download-alert/state.json")
    assert st.user == "pii-dlalert" and st.mode & 0o007 == 0
    windows = json.loads(st.content_string)["windows"]
    assert {(w[0], w[1]) for w in windows} >= {
        ("exports", "clerk"),
        ("citizens-db", "clerk"),
        ("citizens-db", "intern"),
    }
