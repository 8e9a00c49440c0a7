"""Clause 6-5 config building and audit findings (pure logic behind download_alert_info)."""

from __future__ import annotations

import pytest

from ansible_collections.pii_guard.safeguards.plugins.module_utils.common.findings import validate
from ansible_collections.pii_guard.safeguards.plugins.module_utils.download import audit as A

DATASETS = [
    {"name": "citizens", "source": "audit", "paths": ["/srv/pii"], "threshold": 100, "window": 60, "log": None},
    {
        "name": "db",
        "source": "pgaudit",
        "log": "/var/log/postgresql/p.log",
        "database": "pii",
        "tables": ["citizens"],
        "threshold": 1000,
        "window": 60,
        "user": "ignored",
    },
]
CFG = A.agent_config(
    DATASETS,
    {"journal": True, "session": False, "webhook_url": ""},
    "2026-10-01",
    180,
    {"max_keys": 5000, "audit_log": ""},
)
# `auditctl -l` as auditd 3.0.9 prints the rules the role writes
AUDITCTL = [
    "-a always,exit -F arch=b64 -S open,openat,openat2 -F dir=/srv/pii -F perm=r -F auid>=1000 -F auid!=-1 "
    "-F key=pii_dl_citizens",
    "-a always,exit -F arch=b32 -S open,openat,openat2 -F dir=/srv/pii -F perm=r -F auid>=1000 -F auid!=-1 "
    "-F key=pii_dl_citizens",
]
PG_OK = {
    "shared_preload_libraries": "pgaudit",
    "pgaudit.log": "read, ddl",
    "pgaudit.log_rows": "on",
    "pgaudit.log_relation": "on",
    "log_min_messages": "warning",
    "log_destination": "stderr",
    "logging_collector": "on",
}


def observed(**kw):
    base = {
        "enabled": "enabled",
        "active": "active",
        "config": CFG,
        "auditctl": AUDITCTL,
        "in_container": False,
        "io_uring": {"disabled": 1, "group": -1, "present": True},
        "outside_links": {"count": 0, "files": []},
        "pg_settings": PG_OK,
        "unusable_records": {"/var/log/audit/audit.log": {"not_a_record": 3, "syscall_fields": 1}},
    }
    base.update(kw)
    return base


def by_id(findings):
    for f in findings:
        validate(f)
    return {f["id"]: f for f in findings}


@pytest.mark.control("6-5.agent_config")
def test_agent_config_drops_empty_and_foreign_options():
    assert CFG["datasets"][0] == {
        "name": "citizens",
        "source": "audit",
        "paths": ["/srv/pii"],
        "threshold": 100,
        "window": 60,
        "key": "pii_dl_citizens",
    }
    assert "user" not in CFG["datasets"][1]
    assert CFG["channels"] == {"journal": True, "session": False, "webhook": None}
    assert CFG["max_keys"] == 5000 and "audit_log" not in CFG
    assert A.config_errors(CFG) == []


@pytest.mark.control("6-5.agent_config")
def test_config_errors_name_the_problem():
    bad = A.agent_config([dict(DATASETS[0], threshold=-1)], {}, "someday", 180)
    errors = A.config_errors(bad)
    assert "datasets[0] (citizens): threshold must be a positive integer, got -1" in errors
    assert "download_alert_reviewed_on must be a date YYYY-MM-DD, got 'someday'" in errors


@pytest.mark.control("6-5.audit_rules_loaded")
def test_audit_rules_and_loaded_check():
    rules = A.audit_rules(CFG["datasets"])
    assert rules == [
        "-a always,exit -F arch=%s -S open,openat,openat2 -F dir=/srv/pii -F perm=r -F auid>=1000 -F auid!=unset "
        "-k pii_dl_citizens" % arch
        for arch in ("b64", "b32")
    ]
    assert A.rules_loaded(CFG["datasets"], AUDITCTL) == []
    assert A.rules_loaded(CFG["datasets"], AUDITCTL[:1]) == ["pii_dl_citizens b32 /srv/pii"]
    # a watch on /srv/pii-old is not a watch on /srv/pii
    assert len(A.rules_loaded(CFG["datasets"], [x.replace("/srv/pii", "/srv/pii-old") for x in AUDITCTL])) == 2


@pytest.mark.control("6-5.audit_rules_loaded")
def test_audit_rules_use_the_configured_min_auid():
    cfg = dict(CFG, min_auid=500)
    rules = A.audit_rules(cfg["datasets"], cfg["min_auid"])
    assert all(" -F auid>=500 -F auid!=unset " in r for r in rules) and len(rules) == 2
    # rules loaded with the old floor are reported missing
    obs = observed(config=cfg)
    f = by_id(A.evaluate(obs, {"config": cfg, "service": "s"}, "2026-11-28"))
    assert f["6-5.audit_rules_loaded"]["status"] == "fail"
    loaded = [x.replace("auid>=1000", "auid>=500") for x in AUDITCTL]
    f = by_id(A.evaluate(observed(config=cfg, auditctl=loaded), {"config": cfg, "service": "s"}, "2026-11-28"))
    assert f["6-5.audit_rules_loaded"]["status"] == "pass"


@pytest.mark.parametrize("value", ["1000\n-a never,exit", -1, 4294967295, "1000", True, 1.5])
@pytest.mark.control("6-5.audit_rules_loaded")
def test_min_auid_must_be_a_uid(value):
    errs = A.config_errors(dict(CFG, min_auid=value))
    assert "min_auid must be an integer 0..4294967294, got %r" % (value,) in errs


@pytest.mark.parametrize(
    "item",
    ["pgaudit'\nlog_min_messages = 'panic", "pgaudit,auto_explain", "../../tmp/evil", "", "pg audit", "pgaudit\n", 5],
)
@pytest.mark.control("6-5.pgaudit_active")
def test_pg_preload_names_are_full_match_validated(item):
    errs = A.config_errors(CFG, ["pgaudit", item])
    assert errs == [
        "download_alert_pg_preload[1]: %r is not a library name (letters, digits, _ . -, optionally after $libdir/)"
        % (item,)
    ]
    assert A.config_errors(CFG, ["pgaudit", "auto_explain", "$libdir/pg_stat_statements"]) == []
    assert A.config_errors(CFG, "pgaudit") == [
        "download_alert_pg_preload must be a list of library names, got 'pgaudit'"
    ]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"log_min_messages": "panic"}, "log_min_messages is 'panic': pgaudit's LOG entries are not written"),
        ({"log_min_messages": "fatal"}, "log_min_messages is 'fatal': pgaudit's LOG entries are not written"),
        ({"pgaudit.log": "ddl"}, "pgaudit.log does not cover read"),
        ({"log_destination": "syslog"}, "log_destination is 'syslog', the agent reads stderr"),
    ],
)
@pytest.mark.control("6-5.pgaudit_active")
def test_pgaudit_depends_on_settings_as_postgresql_reports_them(change, problem):
    f = by_id(A.evaluate(observed(pg_settings=dict(PG_OK, **change)), {"config": CFG, "service": "s"}, "2026-11-28"))
    assert f["6-5.pgaudit_active"]["status"] == "fail"
    assert f["6-5.pgaudit_active"]["observed"]["problems"] == [problem]


@pytest.mark.control(
    "6-5.agent_running", "6-5.agent_config", "6-5.audit_rules_loaded", "6-5.pgaudit_active", "6-5.threshold_review"
)
def test_all_pass_when_compliant():
    f = by_id(A.evaluate(observed(), {"config": CFG, "service": "pii-download-alert.service"}, "2026-11-28"))
    assert {k: v["status"] for k, v in f.items()} == {
        "6-5.agent_running": "pass",
        "6-5.agent_config": "pass",
        "6-5.audit_rules_loaded": "pass",
        "6-5.pgaudit_active": "pass",
        "6-5.threshold_review": "pass",
    }
    assert f["6-5.agent_config"]["evidence"]["thresholds"][1] == {"dataset": "db", "threshold": 1000, "window": 60}
    assert f["6-5.agent_running"]["evidence"]["unusable_records"] == {
        "/var/log/audit/audit.log": {"not_a_record": 3, "syscall_fields": 1}
    }


@pytest.mark.control(
    "6-5.agent_running", "6-5.agent_config", "6-5.audit_rules_loaded", "6-5.pgaudit_active", "6-5.threshold_review"
)
def test_failures_carry_evidence():
    drifted = dict(CFG, datasets=[dict(CFG["datasets"][0], threshold=5000), CFG["datasets"][1]])
    obs = observed(
        active="inactive", config=drifted, auditctl=[], pg_settings=dict(PG_OK, **{"pgaudit.log_rows": "off"})
    )
    f = by_id(A.evaluate(obs, {"config": CFG, "service": "x.service"}, "2027-06-01"))
    assert f["6-5.agent_running"]["status"] == "fail"
    assert f["6-5.agent_config"]["status"] == "fail"
    assert f["6-5.agent_config"]["observed"]["digest"] != f["6-5.agent_config"]["expected"]["digest"]
    assert f["6-5.audit_rules_loaded"]["observed"]["missing"] == [
        "pii_dl_citizens b64 /srv/pii",
        "pii_dl_citizens b32 /srv/pii",
    ]
    assert f["6-5.pgaudit_active"]["observed"]["problems"] == ["pgaudit.log_rows is 'off', expected 'on'"]
    review = f["6-5.threshold_review"]
    assert review["status"] == "fail"
    assert review["evidence"] == {
        "reviewed_on": "2026-10-01",
        "review_interval_days": 180,
        "age_days": 243,
        "due_on": "2027-03-30",
        "today": "2027-06-01",
    }
    assert "2026-10-01" in review["observed"]


@pytest.mark.control("6-5.agent_config", "6-5.audit_rules_loaded", "6-5.pgaudit_active")
def test_fixed_container_and_not_applicable():
    pg_less = dict(CFG, datasets=CFG["datasets"][:1])
    obs = observed(config=pg_less, in_container=True, auditctl=None)
    f = by_id(A.evaluate(obs, {"config": pg_less, "service": "s"}, "2026-11-28", changed=["6-5.agent_config"]))
    assert f["6-5.agent_config"]["status"] == "fixed"
    assert f["6-5.audit_rules_loaded"]["status"] == "not_applicable"
    assert f["6-5.pgaudit_active"]["status"] == "not_applicable"
    missing = by_id(A.evaluate(observed(config=None, pg_settings=None), {"config": CFG, "service": "s"}, "2026-11-28"))
    assert missing["6-5.agent_config"]["observed"]["problems"] == ["config missing or unreadable"]
    assert missing["6-5.pgaudit_active"]["observed"]["problems"] == ["PostgreSQL settings could not be read"]


def test_required_paths_are_the_watched_paths_and_log_directories_once_each():
    cfg = A.agent_config(
        [
            *DATASETS,
            {"name": "again", "source": "audit", "paths": ["/srv/pii", "/srv/more"], "threshold": 5, "window": 60},
            {"name": "exports", "source": "jsonlog", "log": "/var/log/app/exports.jsonl", "user": "u", "count": "n"},
        ],
        {},
        "2026-10-01",
        180,
    )
    # /srv/pii is watched by two data sets but checked once; logs need their directory only
    assert A.required_paths(cfg) == ["/srv/pii", "/var/log/postgresql", "/srv/more", "/var/log/app"]


def test_required_paths_of_an_empty_config():
    assert A.required_paths({"datasets": []}) == []


# io_uring's IORING_OP_OPENAT opens files with no open system call: the VM test
# (tests/vm/test_download_alert.py) shows the rules do not record it; only refusing io_uring
# to users closes that path, so every state that leaves it open fails the control.
@pytest.mark.parametrize(
    ("state", "bypass"),
    [
        ({"disabled": 1, "group": -1, "present": True}, None),
        ({"disabled": 2, "group": -1, "present": True}, None),
        ({"disabled": 2, "group": 1234, "present": True}, None),  # 2 refuses the group too
        ({"disabled": None, "group": None, "present": False}, None),  # a kernel without io_uring
        ({"disabled": 0, "group": -1, "present": True}, "kernel.io_uring_disabled is 0"),
        ({"disabled": 1, "group": 1234, "present": True}, "kernel.io_uring_group 1234"),
        ({"disabled": None, "group": None, "present": True}, "no kernel.io_uring_disabled switch"),
        (None, "io_uring state not read"),
    ],
)
@pytest.mark.control("6-5.audit_rules_loaded")
def test_reads_through_io_uring_fail_the_rules_control(state, bypass):
    f = by_id(A.evaluate(observed(io_uring=state), {"config": CFG, "service": "s"}, "2026-11-28"))
    rules = f["6-5.audit_rules_loaded"]
    got = rules["observed"]["io_uring_bypass"]
    if bypass is None:
        assert (rules["status"], got) == ("pass", None)
    else:
        assert rules["status"] == "fail" and bypass in got, rules
    assert rules["evidence"]["io_uring"] == state
    # fixed only when nothing is left open
    changed = A.evaluate(
        observed(io_uring=state), {"config": CFG, "service": "s"}, "2026-11-28", ["6-5.audit_rules_loaded"]
    )
    assert by_id(changed)["6-5.audit_rules_loaded"]["status"] == ("fixed" if bypass is None else "fail")


@pytest.mark.parametrize(
    ("links", "problem"),
    [
        ({"count": 0, "files": []}, None),
        ({"count": 1, "files": ["/srv/pii/a.csv"]}, "1 file(s) under the watched paths have a hard link elsewhere"),
        ({"count": 30, "files": ["/srv/pii/f%02d.csv" % i for i in range(20)]}, "/srv/pii/f19.csv ..."),
        (None, "hard links not checked"),
    ],
)
@pytest.mark.control("6-5.audit_rules_loaded")
def test_files_with_hard_links_outside_the_watched_paths_fail_the_rules_control(links, problem):
    f = by_id(A.evaluate(observed(outside_links=links), {"config": CFG, "service": "s"}, "2026-11-28"))
    rules = f["6-5.audit_rules_loaded"]
    assert rules["evidence"]["outside_links"] == links
    if problem is None:
        assert (rules["status"], rules["observed"]["outside_links"]) == ("pass", None)
    else:
        assert rules["status"] == "fail" and problem in rules["observed"]["outside_links"], rules
