"""Controller-side input checks of the validation phase (plugins/plugin_utils/inputs.py, filter input_errors)."""

from __future__ import annotations

import datetime

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.pii_guard.safeguards.plugins.filter.download_alert import download_alert_pg_version
from ansible_collections.pii_guard.safeguards.plugins.filter.input_errors import input_errors
from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin import policy as admin_policy
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import inputs as I
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.registers import system_room


@pytest.mark.parametrize(
    ("text", "value"), [("false", False), ("no", False), ("0", False), ("True", True), ("yes", True), ("on", True)]
)
def test_booleans_from_the_command_line_are_coerced_like_argument_specs(text: str, value: bool) -> None:
    assert I.as_bool("usb_storage_block_smartphones", text) is value


@pytest.mark.parametrize("bad", ["maybe", "", [], {"a": 1}, 2.5])
def test_non_booleans_are_refused_by_name(bad: object) -> None:
    with pytest.raises(I.InputError, match="usb_storage_block_smartphones must be true or false, got"):
        I.as_bool("usb_storage_block_smartphones", bad)


def test_integers_from_the_command_line() -> None:
    assert I.as_int("system_room_footage_review_max_age_days", "31", minimum=1) == 31
    for bad in ("abc", "3.5", True, None, "31\n5"):
        with pytest.raises(I.InputError, match="system_room_footage_review_max_age_days"):
            I.as_int("system_room_footage_review_max_age_days", bad)
    with pytest.raises(I.InputError, match="at least 1, got 0"):
        I.as_int("x", 0, minimum=1)


def test_register_ages_accept_command_line_strings() -> None:
    # -e system_room_footage_review_max_age_days=31 arrives as "31".
    reg = {"room": "B1", "camera_coverage": True, "footage_reviewed_on": "2026-11-20", "inspections": []}
    out = system_room.room_evaluate(reg, "2026-11-28", "31", "92")
    assert not out["errors"], out


def test_register_strings_name_index_and_key() -> None:
    errs = I.register_strings(
        "usb_storage_devices", [{"serial": "A"}, {"serial": 10, "label": "x\ny"}], ("serial", "label")
    )
    assert errs == [
        "usb_storage_devices[1].serial must be a string (quote it in YAML), got int 10",
        'usb_storage_devices[1].label has a control character (newline?): "x\\ny"',
    ]


@pytest.mark.parametrize(
    "path", ["/srv/pii/../../etc", "/srv//pii", "/srv/./pii", "srv/pii", "/srv/pii\n", "/srv/pii/.."]
)
def test_watched_paths_must_be_normalised(path: str) -> None:
    errs = I.download_alert_errors([{"paths": [path]}], {}, "", "pii-dlalert")
    assert errs and errs[0].startswith("download_alert_datasets[0].paths[0] must be"), errs


def test_download_alert_inputs() -> None:
    today = datetime.date(2026, 11, 30)
    assert (
        I.download_alert_errors(
            [{"paths": ["/srv/pii", "/srv/pii/"]}], {"webhook_timeout": 5}, "2026-11-01", "pii-dlalert", today
        )
        == []
    )
    assert "privileged" in I.download_alert_errors([], {}, "", "root")[0]
    assert "in the future" in I.download_alert_errors([], {}, "2062-11-01", "pii-dlalert", today)[0]
    assert I.download_alert_errors([], {}, "2027-06-01", "pii-dlalert", today) == []  # a planned review, within a year
    assert (
        "webhook_timeout must be at least 1, got 0" in I.download_alert_errors([], {"webhook_timeout": 0}, "", "x")[0]
    )
    assert "webhook_url" in I.download_alert_errors([], {"webhook_url": "http://h/x\nY: 1"}, "", "x")[0]


@pytest.mark.parametrize(
    ("path", "ok"),
    [
        ("/etc/audit/rules.d/60-pii-guard-console.rules", True),
        ("/etc/audit/audit.rules", False),
        ("/etc/audit/rules.d/60-console.conf", False),
        ("/etc/audit/rules.d/../audit.rules", False),
        ("/etc/audit/rules.d/60.rules\n", False),
    ],
)
def test_audit_rules_path(path: str, ok: bool) -> None:
    assert (I.audit_rules_path_errors("system_room_audit_rules_path", path) == []) is ok


def test_tags_refused_with_the_valid_list() -> None:
    assert input_errors({"tags": ["all"]}, "tags") == []
    assert input_errors({"tags": ["6-17", "7-1.console_login_audit", "always"]}, "tags") == []
    (err,) = input_errors({"tags": ["6-71"]}, "tags")
    assert err.startswith("--tags: 6-71 is not a clause") and "6-5, " in err and "7-1.strict_media_policy" in err


def test_report_dir_under_a_file(tmp_path) -> None:
    (err,) = input_errors({"pii_guard_audit_report_dir": "/dev/null/reports"}, "report")
    assert '"/dev/null/reports"' in err and '"/dev/null" is not a directory' in err
    assert input_errors({"pii_guard_audit_report_dir": str(tmp_path / "new" / "reports")}, "report") == []


def test_clause_defeating_daemon_settings() -> None:
    for key, value in (
        ("ImplicitPolicyTarget", "allow"),
        ("PresentDevicePolicy", "keep"),
        ("AuthorizedDefault", "all"),
    ):
        (err,) = input_errors({"usb_storage_daemon_settings": {key: value}}, "usb_storage")
        assert f"{key}={value} defeats clause 6-17" in err
    assert input_errors({"usb_storage_daemon_settings": {"ImplicitPolicyTarget": "reject"}}, "usb_storage") == []


def test_admin_until_9999_is_an_error_not_an_overflow() -> None:
    grant = {"user": "labop", "until": "9999-12-31", "reason": "r", "ticket": "t"}
    (err,) = admin_policy.validate(["labop"], [], ["sudo"], [grant], [])
    assert err.startswith("admin_privileges_temporary[0].until: '9999-12-31' is not a date")
    for until in ("9999-12-31T23:00:00-05:00", datetime.date(9999, 12, 31)):
        assert admin_policy.parse_until(until) is None


@pytest.mark.parametrize(
    ("version", "cluster", "bad"),
    [
        ("15", "main", []),
        ("9.6", "pii-data_2", []),
        ("15", "../../../etc/cron.d", ["download_alert_pg_cluster"]),
        ("15", ".hidden", ["download_alert_pg_cluster"]),
        ("15", "main\n", ["download_alert_pg_cluster"]),
        ("15/..", "main", ["download_alert_pg_version"]),
        ("15\n", "main", ["download_alert_pg_version"]),
        (17, "main", []),
        ("", "main", []),  # the default: the role takes the host's (pg_version_for_host)
        (True, "", ["download_alert_pg_version", "download_alert_pg_cluster"]),
    ],
)
def test_pg_version_and_cluster_are_path_components(version: object, cluster: object, bad: list[str]) -> None:
    """They name /etc/postgresql/<version>/<cluster>/conf.d/ on the host, where the drop-in is written."""
    errs = input_errors({"download_alert_pg_version": version, "download_alert_pg_cluster": cluster}, "download_alert")
    assert [e.split(" ")[0] for e in errs if e.startswith("download_alert_pg_")] == bad


ROTATE = "download_alert_pg_jsonlog_rotate_"


@pytest.mark.parametrize(
    ("settings", "bad"),
    [
        ({}, []),
        ({"period": "daily", "maxsize": "500k", "count": "30"}, []),
        ({"maxsize": "1G", "count": 1000}, []),
        ({"period": "hourly"}, [ROTATE + 'period must be one of daily, weekly, monthly, got "hourly"']),
        (
            {"maxsize": "100 MB"},
            [ROTATE + 'maxsize must be a logrotate size (digits, then k, M or G; e.g. "100M"), got "100 MB"'],
        ),
        (
            {"maxsize": "100M\nmissingok"},
            [ROTATE + 'maxsize must be a logrotate size (digits, then k, M or G; e.g. "100M"), got "100M\\nmissingok"'],
        ),
        (
            {"maxsize": 100},
            [ROTATE + 'maxsize must be a logrotate size (digits, then k, M or G; e.g. "100M"), got 100'],
        ),
        ({"count": 0}, [ROTATE + "count must be at least 1, got 0"]),
        ({"count": "8x"}, [ROTATE + 'count must be an integer, got "8x"']),
    ],
)
def test_jsonlog_rotation_settings_are_checked(settings: dict, bad: list[str]) -> None:
    """They are written into /etc/logrotate.d/pii-download-alert-postgresql: no newline gets in."""
    errs = input_errors({ROTATE + k: v for k, v in settings.items()}, "download_alert")
    assert [e for e in errs if e.startswith(ROTATE)] == bad


SYSLOG_HOST = "download_alert_channels.syslog.host must be a host name or an IP address (empty: off), "


@pytest.mark.parametrize(
    ("syslog", "bad"),
    [
        ({"host": ""}, []),  # off
        ({"host": "logs.example.org", "port": "6514", "tls": "yes", "ca_file": "/etc/ssl/ca.pem"}, []),
        ({"host": "192.0.2.10", "facility": "local4", "enterprise_number": 32473}, []),
        ({"host": "logs.example.org\n"}, [SYSLOG_HOST + 'got "logs.example.org\\n"']),
        ({"host": "logs example"}, [SYSLOG_HOST + 'got "logs example"']),
        ({"host": "h", "port": 0}, ["download_alert_channels.syslog.port must be at least 1, got 0"]),
        ({"host": "h", "port": 65536}, ["download_alert_channels.syslog.port must be at most 65535, got 65536"]),
        (
            {"host": "h", "max_message_bytes": 100},
            ["download_alert_channels.syslog.max_message_bytes must be at least 1024, got 100"],
        ),
        ({"host": "h", "max_message_bytes": "4096"}, []),
        ({"host": "h", "tls": "maybe"}, ['download_alert_channels.syslog.tls must be true or false, got "maybe"']),
        (
            {"host": "h", "ca_file": "certs/ca.pem"},
            ['download_alert_channels.syslog.ca_file must be an absolute path, got "certs/ca.pem"'],
        ),
        ({"host": "h", "facility": "mail"}, ["download_alert_channels.syslog.facility must be one of kern, user"]),
        (
            {"host": "h", "spool_max_bytes": 10},
            ["download_alert_channels.syslog.spool_max_bytes must be at least 4096, got 10"],
        ),
        ({"host": "h", "hots": "x"}, ["download_alert_channels.syslog.hots is not an option"]),
        (
            "logs.example.org",
            ['download_alert_channels.syslog must be a mapping (host, port, tls, ...), got "logs.example.org"'],
        ),
    ],
)
def test_syslog_channel_inputs(syslog: object, bad: list[str]) -> None:
    errors = I.download_alert_errors([], {"syslog": syslog}, "", "pii-dlalert")
    assert len(errors) == len(bad) and all(e.startswith(b) for e, b in zip(errors, bad, strict=True)), errors


@pytest.mark.parametrize(
    ("explicit", "dirs", "debian", "version"),
    [
        ("15", ["/etc/postgresql/17/main"], "13.2\n", "15"),  # an explicit value wins
        (16, [], "13.2\n", "16"),
        ("", ["/etc/postgresql/17/main"], "", "17"),  # the host's one cluster
        ("", ["/etc/postgresql/15/main/"], "13.2\n", "15"),  # ... over the release's default
        ("", ["/etc/postgresql/15/other", "/etc/postgresql/16/main"], "12.8\n", "16"),
        ("", [], "12.8\n", "15"),  # no cluster: what Debian 12 ships
        ("", [], "13.2\n", "17"),  # ... Debian 13
        (None, [], "13.0", "17"),
    ],
)
def test_pg_version_default_comes_from_the_host(explicit, dirs, debian, version) -> None:
    assert I.pg_version_for_host(explicit, dirs, debian) == (version, None)
    assert download_alert_pg_version(explicit, dirs, debian, "main") == version


@pytest.mark.parametrize(
    ("dirs", "debian", "message"),
    [
        (["/etc/postgresql/15/main", "/etc/postgresql/17/main"], "13.2", "PostgreSQL 15 and 17 each have a cluster"),
        ([], "trixie/sid\n", 'the Debian release "trixie/sid" has no known PostgreSQL major'),
        ([], "", 'the Debian release "" has no known PostgreSQL major'),
        (["/etc/postgresql/../main"], "14.1", 'no PostgreSQL cluster "main" is under /etc/postgresql'),
    ],
)
def test_pg_version_default_refuses_an_ambiguous_or_unknown_host(dirs, debian, message) -> None:
    version, error = I.pg_version_for_host("", dirs, debian)
    assert version is None and message in error and "set download_alert_pg_version" in error
    with pytest.raises(AnsibleFilterError, match="download_alert_pg_version is empty"):
        download_alert_pg_version("", dirs, debian, "main")


def test_pg_version_derived_is_a_valid_version() -> None:
    """What the host gives passes the same check as an explicit value (it names a directory)."""
    for version in I.DEBIAN_POSTGRESQL.values():
        assert I.pg_cluster_errors(version, "main") == []
