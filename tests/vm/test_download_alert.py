"""Clause 6-5 with real audit events in the VM (Debian kernel, auditd 3.0.9, ENRICHED log).

Login users read files over SSH (pam_loginuid sets their auid); the agent deployed by the
role counts distinct files per user from /var/log/audit/audit.log and alerts once per
threshold crossing: journal (alert priority, MESSAGE_ID), alert log and the user's terminal.
Each test asks for the state it needs (`fresh`: the role not deployed; `applied`: agent running,
deployed only when it is not), and each alert test reads as its own user, so the tests run one
by one and in any order. At the end the agent, its rules and the test users are removed.
"""

from __future__ import annotations

import base64
import calendar
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.lab.vm import REPO, run_playbook

PLAY = "tests/vm/download_alert.yml"
MESSAGE_ID = "6d8a0f3c2b5e4c1d9a7f0e6b3c2d1a05"
ALERTS = "/var/log/pii-download-alert/alerts.jsonl"
USERS = ("clerk", "intern", "temp", "auditee", "uringer", "linker")
TODAY = time.strftime("%Y-%m-%d", time.gmtime())
VARS = {
    "download_alert_datasets": [
        {"name": "citizens", "source": "audit", "paths": ["/srv/pii"], "threshold": 100, "window": 60},
        # the restart test spans several SSH round trips and a restart: a window that a slow
        # (TCG, loaded) guest cannot outrun keeps it about the restart, not about timing
        {"name": "archive", "source": "audit", "paths": ["/srv/pii-archive"], "threshold": 100, "window": 3600},
    ],
    "download_alert_reviewed_on": TODAY,
    "download_alert_review_interval_days": 180,
}
TOUCHED = "/etc/pii-download-alert /etc/audit/rules.d /etc/systemd/system /usr/lib/pii-download-alert"


def sh(vm, cmd, user="labop", check=True):
    return vm.ssh(cmd, user=user, check=check, timeout=300)


def digest(vm):
    return sh(
        vm, "sudo sh -c 'find %s -type f 2>/dev/null | sort | xargs -r sha256sum; sudo auditctl -l'" % TOUCHED
    ).stdout


def play(vm, tmp_path, check=False, **extra):
    """Run the role; returns (result, {control id: finding})."""
    out_file = tmp_path / ("findings-%d.json" % time.monotonic_ns())
    out = run_playbook(vm, PLAY, extra_vars=dict(VARS, dl_findings_file=str(out_file), **extra), check=check)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    return out, {f["id"]: f for f in json.loads(out_file.read_text())}


def alerts(vm, user):
    out = sh(vm, "sudo cat %s 2>/dev/null || true" % ALERTS).stdout
    return [a for a in (json.loads(x) for x in out.splitlines() if x.strip()) if a["user"] == user]


def journal(vm, user):
    out = sh(vm, "sudo journalctl -o json MESSAGE_ID=%s PII_USER=%s" % (MESSAGE_ID, user)).stdout
    return [json.loads(x) for x in out.splitlines() if x.strip()]


def read_files(vm, user, first, last, where="/srv/pii"):
    """`user` reads files first..last with cat, one open per file, in one SSH login session."""
    names = " ".join("%s/r%04d.csv" % (where, i) for i in range(first, last + 1))
    sh(vm, "cat %s > /dev/null" % names, user=user)


def audit_records(vm, user):
    """The oracle: what auditd wrote under the citizens key for ``user`` (raw records).
    --input-logs: without a tty on stdin ausearch reads stdin (empty) instead of the logs."""
    uid = sh(vm, "id -u %s" % user).stdout.strip()
    return sh(vm, "sudo ausearch --input-logs -k pii_dl_citizens -ui %s --raw 2>/dev/null || true" % uid).stdout


def io_uring_switch(vm):
    """Whether the kernel can refuse io_uring to users (kernel.io_uring_disabled: Linux 6.6+, as in
    Debian 13; Debian 12's 6.1 has none, and the audit fails 6-5.audit_rules_loaded there)."""
    return sh(vm, "test -e /proc/sys/kernel/io_uring_disabled", check=False).returncode == 0


def rules_status(vm, done):
    return done if io_uring_switch(vm) else "fail"


def wait_for(pred, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.5)
    return pred()


REMOVE_ROLE = (
    "systemctl disable --now pii-download-alert.service; "
    "rm -rf /etc/systemd/system/pii-download-alert.service /etc/pii-download-alert /usr/lib/pii-download-alert "
    "/var/lib/pii-download-alert /var/log/pii-download-alert /etc/audit/rules.d/50-pii-download-alert.rules* "
    "/etc/sysctl.d/50-pii-download-alert.conf; sysctl -qw kernel.io_uring_disabled=0; "
    "systemctl daemon-reload; augenrules --load"
)


@pytest.fixture(scope="module")
def lab(vm):
    users = " ".join(USERS)
    sh(
        vm,
        "sudo sh -c 'for u in %s; do id $u >/dev/null 2>&1 || useradd -m -s /bin/sh $u; "
        "install -d -m 700 -o $u -g $u /home/$u/.ssh; "
        "install -m 600 -o $u -g $u /home/labop/.ssh/authorized_keys /home/$u/.ssh/authorized_keys; done'" % users,
    )
    sh(
        vm,
        "sudo sh -c 'for d in /srv/pii /srv/pii-archive; do mkdir -p $d && cd $d && for i in $(seq -w 1 300); do "
        'echo "$i,name,address" > r0$i.csv; done; chmod 755 $d; chmod 644 $d/*; done\'',
    )
    yield vm
    # Leave the VM as we found it: no agent, no rules, no test users.
    sh(
        vm,
        "sudo sh -c '%s; rm -rf /srv/pii /srv/pii-archive; "
        "for u in %s; do pkill -KILL -u $u; userdel -r $u; done; true'" % (REMOVE_ROLE, " ".join(USERS)),
        check=False,
    )


@pytest.fixture
def fresh(lab):
    """The host before the role: no agent, no rules (removes them when an earlier test deployed them)."""
    sh(lab, "sudo sh -c '%s; true'" % REMOVE_ROLE, check=False)
    return lab


@pytest.fixture
def applied(lab, tmp_path):
    """The agent running with its rules in the kernel; deploys the role only when it is not."""
    running = sh(lab, "systemctl is-active pii-download-alert", check=False).stdout.strip() == "active"
    if not (running and "key=pii_dl_citizens" in sh(lab, "sudo auditctl -l").stdout):
        play(lab, tmp_path)
    return lab


@pytest.mark.control("6-5.agent_running", "6-5.audit_rules_loaded", "6-5.threshold_review")
@pytest.mark.usefixtures("fresh")
def test_audit_mode_on_a_fresh_host_changes_nothing_and_fails(lab, tmp_path):
    before = digest(lab)
    _out, f = play(lab, tmp_path, check=True, pii_guard_audit=True)
    assert f["6-5.agent_running"]["status"] == "fail"
    assert f["6-5.audit_rules_loaded"]["status"] == "fail"
    assert f["6-5.threshold_review"]["status"] == "pass"
    assert digest(lab) == before


@pytest.mark.control(
    "6-5.agent_running", "6-5.agent_config", "6-5.audit_rules_loaded", "6-5.pgaudit_active", "6-5.threshold_review"
)
@pytest.mark.usefixtures("fresh")
def test_apply_loads_rules_and_starts_the_agent(lab, tmp_path):
    _out, f = play(lab, tmp_path)
    assert {k: v["status"] for k, v in f.items()} == {
        "6-5.agent_running": "fixed",
        "6-5.agent_config": "fixed",
        "6-5.audit_rules_loaded": rules_status(lab, "fixed"),
        "6-5.pgaudit_active": "not_applicable",
        "6-5.threshold_review": "pass",
    }
    rules = sh(lab, "sudo auditctl -l").stdout
    assert "-F dir=/srv/pii -F perm=r" in rules and "key=pii_dl_citizens" in rules
    assert sh(lab, "systemctl show -p User --value pii-download-alert").stdout.strip() == "pii-dlalert"


@pytest.mark.control("6-5.agent_running")
@pytest.mark.usefixtures("applied")
def test_120_files_raise_exactly_one_alert_within_seconds_with_terminal_warning(lab):
    # clerk also has an interactive session (a pty, recorded in utmp) that should get the warning
    term = subprocess.Popen(
        [*lab.ssh_args("clerk")[:-1], "-tt", lab.ssh_args("clerk")[-1], "sleep 40"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        time.sleep(5)  # the login is recorded before the reads start
        start = float(sh(lab, "date +%s.%N").stdout)  # the guest's clock, as in the alert
        read_files(lab, "clerk", 1, 120)
        done = float(sh(lab, "date +%s.%N").stdout)
        got = wait_for(lambda: journal(lab, "clerk"))
        assert len(got) == 1, got
        j = got[0]
        assert (j["PRIORITY"], j["PII_COUNT"], j["PII_DATASET"], j["PII_THRESHOLD"]) == ("1", "100", "citizens", "100")
        time.sleep(3)  # a second alert would have come by now
        assert len(journal(lab, "clerk")) == 1
        a = alerts(lab, "clerk")
        assert [(x["count"], x["threshold"], x["window"]) for x in a] == [(100, 100, 60)]
        raised = calendar.timegm(time.strptime(a[0]["raised"][:19], "%Y-%m-%dT%H:%M:%S")) + 1
        print("\n[download_alert] alert raised %.1f s after the 120th read returned" % (raised - done))
        assert start <= raised <= done + 10
    finally:
        term.terminate()
        output = term.communicate(timeout=30)[0].decode(errors="replace")
    assert "WARNING: bulk download of personal data" in output
    assert "user clerk read 100 records of data set citizens" in output


@pytest.mark.control("6-5.agent_running")
@pytest.mark.usefixtures("applied")
def test_50_files_raise_no_alert(lab):
    read_files(lab, "intern", 1, 50)
    time.sleep(6)
    assert alerts(lab, "intern") == [] and journal(lab, "intern") == []
    # the checkpoint (every 5 s) shows all 50 were counted, just under the threshold
    state = sh(lab, "sudo cat /var/lib/pii-download-alert/state.json")
    windows = {(w[0], w[1]): w for w in json.loads(state.stdout)["windows"]}
    assert len(windows[("citizens", "intern")][5]) == 50


@pytest.mark.control("6-5.audit_rules_loaded")
@pytest.mark.usefixtures("applied")
def test_io_uring_that_would_hide_reads_is_refused_to_users(lab):
    """io_uring's IORING_OP_OPENAT opens a file with no open system call (tests/vm/uring_open.py).
    With io_uring open to users (the kernel's default) a login user reads watched files and the
    audit log holds no record of it; the role's kernel.io_uring_disabled=1 makes the kernel
    refuse that read."""
    helper = base64.b64encode((REPO / "tests" / "vm" / "uring_open.py").read_bytes()).decode()
    sh(lab, "echo %s | base64 -d > /tmp/uring_open.py" % helper)

    def records():
        return audit_records(lab, "uringer")

    switch = io_uring_switch(lab)
    if switch:
        assert sh(lab, "cat /proc/sys/kernel/io_uring_disabled").stdout.strip() == "1"
        assert "kernel.io_uring_disabled = 1" in sh(lab, "cat /etc/sysctl.d/50-pii-download-alert.conf").stdout
        refused = sh(lab, "python3 /tmp/uring_open.py /srv/pii/r0201.csv", user="uringer", check=False)
        assert refused.returncode != 0 and "Operation not permitted" in refused.stderr, refused
        # what the switch prevents: io_uring open again, two reads through it leave no record at all
        sh(lab, "sudo sysctl -qw kernel.io_uring_disabled=0")
    try:  # without a switch (Debian 12) this is how the host stays, and why its audit fails
        out = sh(lab, "python3 /tmp/uring_open.py /srv/pii/r0202.csv /srv/pii/r0203.csv", user="uringer")
        assert out.stdout.strip() == "2"
        time.sleep(2)
        assert records() == ""
    finally:
        if switch:
            sh(lab, "sudo sysctl -qw kernel.io_uring_disabled=1")
    # the same user's read with cat is recorded: the oracle's query finds this user's reads
    read_files(lab, "uringer", 204, 204)
    assert wait_for(lambda: "r0204.csv" in records(), timeout=10)


@pytest.mark.control("6-5.audit_rules_loaded")
@pytest.mark.usefixtures("applied")
def test_a_hard_link_outside_the_watched_path_is_named_by_the_audit(lab, tmp_path):
    """A second name for a watched file outside /srv/pii (same file system): the kernel matches a
    read by the directory of the name opened, so a read through it is not recorded; the audit
    names the file."""
    sh(lab, "sudo sh -c 'mkdir -p /srv/stash && ln /srv/pii/r0250.csv /srv/stash/r.csv'")
    try:
        sh(lab, "cat /srv/stash/r.csv /srv/pii/r0251.csv > /dev/null", user="linker")
        assert wait_for(lambda: "r0251.csv" in audit_records(lab, "linker"), timeout=10)  # the query works
        assert "r.csv" not in audit_records(lab, "linker") and "r0250" not in audit_records(lab, "linker")
        _out, f = play(lab, tmp_path, check=True, pii_guard_audit=True)
        rules = f["6-5.audit_rules_loaded"]
        assert rules["status"] == "fail", rules
        assert "hard link elsewhere" in rules["observed"]["outside_links"]
        assert rules["evidence"]["outside_links"] == {"count": 1, "files": ["/srv/pii/r0250.csv"]}
    finally:
        sh(lab, "sudo rm -rf /srv/stash")


@pytest.mark.control("6-5.agent_running")
@pytest.mark.usefixtures("applied")
def test_restart_midway_still_alerts_at_the_right_count(lab):
    read_files(lab, "temp", 1, 60, where="/srv/pii-archive")
    time.sleep(3)
    sh(lab, "sudo systemctl restart pii-download-alert")
    read_files(lab, "temp", 61, 99, where="/srv/pii-archive")
    time.sleep(4)
    assert alerts(lab, "temp") == []  # 99 distinct files
    read_files(lab, "temp", 1, 30, where="/srv/pii-archive")  # re-reading counted files does not add
    time.sleep(3)
    assert alerts(lab, "temp") == []
    read_files(lab, "temp", 100, 100, where="/srv/pii-archive")
    got = wait_for(lambda: alerts(lab, "temp"))
    assert [(x["count"], x["user"], x["dataset"]) for x in got] == [(100, "temp", "archive")]
    assert len(journal(lab, "temp")) == 1


@pytest.mark.control(
    "6-5.agent_running", "6-5.agent_config", "6-5.audit_rules_loaded", "6-5.pgaudit_active", "6-5.threshold_review"
)
@pytest.mark.usefixtures("applied")
def test_reapply_changes_nothing_and_audit_passes(lab, tmp_path):
    out, f = play(lab, tmp_path, check=True, pii_guard_audit=True)
    assert re.search(r"vm\s+: ok=\d+\s+changed=0 ", out.stdout), out.stdout[-2000:]
    assert {k: v["status"] for k, v in f.items()} == {
        "6-5.agent_running": "pass",
        "6-5.agent_config": "pass",
        "6-5.audit_rules_loaded": rules_status(lab, "pass"),
        "6-5.pgaudit_active": "not_applicable",
        "6-5.threshold_review": "pass",
    }


# A note that would run a command on the controller if the register were ever templated.
CANARY = Path("/tmp/pii-guard-i15-ack-canary")
NOTE = "{{ lookup('pipe', 'touch %s') }} monthly statistics" % CANARY


def audit_report(vm, tmp_path, engine, **hostvars):
    """playbooks/audit.yml against the VM (groups linux and pii_data, inventory host vars
    ``hostvars``), only control 6-5.alerts_acknowledged; returns (the VM's host doc, its finding)."""
    reports = tmp_path / ("reports-%s-%d" % (engine, time.monotonic_ns()))
    inv = vm.inventory(groups=["linux", "pii_data"], hostvars=dict(VARS, **hostvars))
    cmd = [
        str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", str(inv), "playbooks/audit.yml",
        "--tags", "6-5.alerts_acknowledged", "-e", "pii_guard_audit_engine=%s" % engine,
        "-e", "pii_guard_audit_report_dir=%s" % reports, "-e", "pii_guard_audit_fail_on_findings=false",
    ]  # fmt: skip
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), PYTHONPATH=str(REPO / ".cache" / "collections"))
    env["PATH"] = "%s:%s" % (REPO / ".venv" / "bin", env.get("PATH", ""))
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    (doc,) = [json.loads(p.read_text()) for p in reports.glob("*/report.json") if not p.parent.is_symlink()]
    (host,) = doc["hosts"]
    assert host["state"] == "complete" and host["errors"] == [], host
    (found,) = [f for f in host["findings"] if f["id"] == "6-5.alerts_acknowledged"]
    return host, found


@pytest.mark.control("6-5.alerts_acknowledged")
@pytest.mark.usefixtures("applied")
def test_audit_lists_a_real_alert_unacknowledged_then_acknowledged_from_inventory(lab, tmp_path):
    CANARY.unlink(missing_ok=True)
    read_files(lab, "auditee", 1, 120)
    (raised,) = wait_for(lambda: alerts(lab, "auditee"))
    assert re.fullmatch(r"dl-[0-9a-f]{16}", raised["id"])
    # Unacknowledged, and with max 0 days every unacknowledged alert is due: the finding fails.
    host, found = audit_report(lab, tmp_path, "host", download_alert_ack_max_days=0)
    assert found["status"] == "fail", found
    rows = {r["id"]: r for r in host["download_alerts"]}
    mine = rows[raised["id"]]
    assert (mine["dataset"], mine["user"], mine["count"], mine["threshold"], mine["window"]) == (
        "citizens", "auditee", 100, 100, 60,
    )  # fmt: skip
    assert mine["status"] == "overdue" and mine["raised"] == raised["raised"]
    assert raised["id"] in found["observed"]["overdue"]
    # Young enough under the default 7 days: listed, unacknowledged, not yet a failure.
    _host, found = audit_report(lab, tmp_path, "host")
    row = next(r for r in found["evidence"]["alerts"] if r["id"] == raised["id"])
    assert row["status"] == "unacknowledged" and found["status"] == "pass"
    # Every alert of the period acknowledged in inventory: the finding passes, on both engines alike.
    today = time.strftime("%Y-%m-%d", time.gmtime())
    reviewer = "佐藤 (records section)"
    register = [
        {"alert": i, "reviewed_by": reviewer, "reviewed_on": today, "outcome": "legitimate", "note": NOTE} for i in rows
    ]
    results = [
        audit_report(lab, tmp_path, engine, download_alert_ack_max_days=0, download_alert_acknowledgements=register)
        for engine in ("host", "roles")
    ]
    (one_host, one), (_roles_host, by_roles) = results
    assert one == by_roles
    assert one["status"] == "pass", one
    mine = {r["id"]: r for r in one_host["download_alerts"]}[raised["id"]]
    assert (mine["status"], mine["reviewed_by"], mine["reviewed_on"], mine["outcome"]) == (
        "acknowledged", reviewer, today, "legitimate",
    )  # fmt: skip
    assert mine["note"] == NOTE  # kept as written: data, never templated
    assert not CANARY.exists()
