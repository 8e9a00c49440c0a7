# ruff: noqa: E501  (a table: one case per entry reads better than wrapped lines)
"""The operator mistakes the collection refuses (issue 12): one table, read by
tests/integration/test_bad_inputs.py (which runs each against lab endpoints) and by
tools/refusals_doc.py (which writes docs/REFUSALS.md from it; a test keeps the two equal).

Each case: the playbook and the bad input (``extra``: -e as JSON, types kept; ``cli``: raw
arguments such as ``-e var=false`` or ``--tags``; ``yaml``: raw YAML written as both hosts'
host_vars, so YAML 1.1 typing applies; in ``cli``, INV is the case's inventory, REGISTER a
register file, MIXED a register file holding other settings too), the strings the refusal must contain (the variable
path and the value), and why it is refused. ``owner`` names the helper whose part of issue 12
fixes the case when it is not i12; ``xfail`` gives the reason while that part is not merged
(such a case runs with --check, after the others, so that while it is still accepted it cannot
change the shared endpoints; drop the xfail and the case runs for real).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    id: str
    area: str
    why: str
    names: tuple[str, ...]
    extra: dict = field(default_factory=dict)
    cli: tuple[str, ...] = ()
    yaml: str = ""
    playbook: str = "harden.yml"
    owner: str = "i12"
    xfail: str = ""


def _ds(**kw) -> dict:
    """The lab's audit data set with some fields changed."""
    d = {"name": "resident_records", "source": "audit", "paths": ["/srv/pii"], "threshold": 100, "window": 60}
    d.update(kw)
    return {"download_alert_datasets": [d]}


def _ack(**kw) -> dict:
    """An acknowledgement of a (made-up) alert with some fields changed."""
    d = {"alert": "dl-0123456789abcdef", "reviewed_by": "Sato", "reviewed_on": "2026-11-01", "outcome": "legitimate"}
    d.update(kw)
    return {"download_alert_acknowledgements": [d]}


def _stick(**kw) -> dict:
    d = {
        "id": "46f4:0001",
        "serial": "AGENCY0001",
        "label": "LAB-USB-0001",
        "owner": "records-section",
        "issued_on": "2026-04-01",
        "expires_on": "2099-03-31",
        "state": "active",
    }
    d.update(kw)
    return {"usb_storage_devices": [d]}


def _grant(**kw) -> dict:
    d = {"user": "labop", "until": "2099-01-01", "reason": "migration", "ticket": "CHG-1"}
    d.update(kw)
    return {"admin_privileges_temporary": [d]}


I13 = "i13 (admin_privileges value checks: admin groups, sudoers/unit injection) not merged yet"
I14 = "i14 (usb_devices.yml register file, RuleFolder) not merged yet"
I15 = "i15 (download-alert agent, download_alert_pg_preload) not merged yet"

CASES: tuple[Case, ...] = (
    # ------------------------------------------------------------------ usb_storage (6-17)
    Case("usb-mode-unknown", "usb_storage", "a mode outside prohibit/agency_issued_only/audit_only has no policy",
         ("usb_storage_mode", "open"), {"usb_storage_mode": "open"}),
    Case("usb-id-newline", "usb_storage", "a VID:PID with a trailing newline would reach the usbguard rules file",
         ("usb_storage_devices[0]", "46f4:0001\\n"), _stick(id="46f4:0001\n")),
    Case("usb-id-short", "usb_storage", "a VID:PID that is not 4:4 hex digits matches no device",
         ("usb_storage_devices[0]", "46f4:001"), _stick(id="46f4:001")),
    Case("usb-serial-octal", "usb_storage", "YAML 1.1 reads serial: 0012 as the integer 10: a different stick would be allowed",
         ("usb_storage_devices[0].serial", "10"),
         yaml="usb_storage_devices:\n  - {id: '46f4:0001', serial: 0012, label: LAB-USB-0001, owner: records,"
              " issued_on: '2026-04-01', expires_on: '2099-03-31', state: active}\n"),
    Case("usb-serial-int", "usb_storage", "a serial YAML reads as a number is not the string the device reports",
         ("usb_storage_devices[0].serial", "12345"),
         yaml="usb_storage_devices:\n  - {id: '46f4:0001', serial: 12345, label: LAB-USB-0001, owner: records,"
              " issued_on: '2026-04-01', expires_on: '2099-03-31', state: active}\n"),
    Case("usb-owner-int", "usb_storage", "register strings must be strings (owner: 42)",
         ("usb_storage_devices[0].owner", "42"),
         yaml="usb_storage_devices:\n  - {id: '46f4:0001', serial: AGENCY0001, label: LAB-USB-0001, owner: 42,"
              " issued_on: '2026-04-01', expires_on: '2099-03-31', state: active}\n"),
    Case("usb-expires-invalid", "usb_storage", "a date that does not exist cannot decide expiry",
         ("usb_storage_devices[0]", "2026-02-30"), _stick(expires_on="2026-02-30")),
    Case("usb-state-unknown", "usb_storage", "a state other than active/revoked is ambiguous",
         ("usb_storage_devices[0]", "lost"), _stick(state="lost")),
    Case("usb-serial-duplicate", "usb_storage", "two entries with one serial make revoking one of them ambiguous",
         ("usb_storage_devices", "AGENCY0001"),
         {"usb_storage_devices": [_stick()["usb_storage_devices"][0], _stick(label="LAB-USB-0002")["usb_storage_devices"][0]]}),
    Case("usb-label-newline", "usb_storage", "a control character in a label would reach the rules file",
         ("usb_storage_devices[0].label", "LAB\\nUSB"), _stick(label="LAB\nUSB")),
    Case("usb-kind-unknown", "usb_storage", "a kind outside storage/smartphone/optical has no rule",
         ("usb_storage_devices[0]", "camera"), _stick(kind="camera")),
    Case("usb-hash-bad", "usb_storage", "a device hash that is not usbguard's base64 SHA-256 matches nothing",
         ("usb_storage_devices[0]", "nothash"), _stick(hash="nothash")),
    Case("usb-register-not-list", "usb_storage", "the register must be a list of entries",
         ("usb_storage_devices", "is of type str"), {"usb_storage_devices": "46f4:0001"}),
    Case("usb-today-invalid", "usb_storage", "usb_storage_today decides expiry; it must be a date",
         ("usb_storage_today", "2026-13-01"), {"usb_storage_today": "2026-13-01"}),
    Case("usb-implicit-allow", "usb_storage", "ImplicitPolicyTarget=allow lets every unregistered device through (defeats 6-17)",
         ("ImplicitPolicyTarget", "allow"), {"usb_storage_daemon_settings": {"ImplicitPolicyTarget": "allow"}}),
    Case("usb-present-allow", "usb_storage", "PresentDevicePolicy=allow authorises every device present at start",
         ("PresentDevicePolicy", "allow"), {"usb_storage_daemon_settings": {"PresentDevicePolicy": "allow"}}),
    Case("usb-authorized-all", "usb_storage", "AuthorizedDefault=all authorises devices before the policy applies",
         ("AuthorizedDefault", "all"), {"usb_storage_daemon_settings": {"AuthorizedDefault": "all"}}),
    Case("usb-setting-injection", "usb_storage", "a newline in a daemon setting would inject another key into usbguard-daemon.conf",
         ("IPCAllowedGroups", "wheel\\nImplicitPolicyTarget=allow"),
         {"usb_storage_daemon_settings": {"IPCAllowedGroups": "wheel\nImplicitPolicyTarget=allow"}}),
    Case("usb-setting-unknown", "usb_storage", "a key usbguard-daemon.conf does not know is a typo",
         ("usb_storage_daemon_settings", "ImplicitPolicy"), {"usb_storage_daemon_settings": {"ImplicitPolicy": "block"}}),
    Case("usb-switch-not-bool", "usb_storage", "-e usb_storage_block_smartphones=maybe is neither true nor false",
         ("usb_storage_block_smartphones", "maybe"), cli=("-e", "usb_storage_block_smartphones=maybe")),
    Case("usb-model-wide-not-bool", "usb_storage", "-e usb_storage_allow_model_wide=perhaps is neither true nor false",
         ("usb_storage_allow_model_wide", "perhaps"), cli=("-e", "usb_storage_allow_model_wide=perhaps")),
    Case("usb-rulefolder-etc", "usb_storage", "RuleFolder=/etc/usbguard (without rules.d): exclusive mode would delete the daemon's own files",
         ("RuleFolder", "/etc/usbguard"), {"usb_storage_daemon_settings": {"RuleFolder": "/etc/usbguard"}},
         owner="i14"),
    Case("usb-ipc-groups-injection", "usb_storage", "a newline in usb_storage_ipc_groups would inject another key into usbguard-daemon.conf (was refused only on the host, after the package install, as IPCAllowedGroups)",
         ("usb_storage_ipc_groups", "wheel\\nImplicitPolicyTarget=allow"), {"usb_storage_ipc_groups": "wheel\nImplicitPolicyTarget=allow"}),
    Case("usb-rules-file-name-dotdot", "usb_storage", "a rules file name that is no plain file name in RuleFolder ('..' is the usbguard directory itself; was accepted on the controller)",
         ("usb_storage_rules_file_name", "'..'"), {"usb_storage_rules_file_name": ".."}),
    # ------------------------------------------------------------------ admin_privileges (6-6)
    Case("admin-approved-empty", "admin_privileges", "no approved administrator would empty every admin group",
         ("admin_privileges_approved_users", "[]"), {"admin_privileges_approved_users": []}),
    Case("admin-user-newline", "admin_privileges", "a user name with a trailing newline fails in visudo after other changes",
         ("admin_privileges_approved_users", "labop\\n"), {"admin_privileges_approved_users": ["labop\n"]}),
    Case("admin-user-space", "admin_privileges", "a name with a space is not a Linux user name",
         ("admin_privileges_approved_users", "Lab Op"), {"admin_privileges_approved_users": ["Lab Op"]}),
    Case("admin-user-sudoers-injection", "admin_privileges", "a name carrying a sudoers grant would inject it",
         ("admin_privileges_approved_users", "labop ALL=(ALL) NOPASSWD: ALL"),
         {"admin_privileges_approved_users": ["labop ALL=(ALL) NOPASSWD: ALL"]}, owner="i13"),
    Case("admin-group-int", "admin_privileges", "a group YAML reads as a number is not a group name",
         ("admin_privileges_approved_groups[0]", "123"), yaml="admin_privileges_approved_groups: [123]\n"),
    Case("admin-nopasswd-bad", "admin_privileges", "a NOPASSWD approval for a name that cannot exist",
         ("admin_privileges_nopasswd_approved", "x y"), {"admin_privileges_nopasswd_approved": ["x y"]}),
    Case("admin-temp-past", "admin_privileges", "a temporary grant that has already ended",
         ("admin_privileges_temporary[0].until", "2020-01-01"), _grant(until="2020-01-01")),
    Case("admin-temp-9999", "admin_privileges", "9999-12-31 is past the calendar's end (was an OverflowError traceback)",
         ("admin_privileges_temporary[0].until", "9999-12-31"), _grant(until="9999-12-31")),
    Case("admin-temp-not-date", "admin_privileges", "a grant's end must be a date",
         ("admin_privileges_temporary[0].until", "tomorrow"), _grant(until="tomorrow")),
    Case("admin-temp-feb30", "admin_privileges", "a date that does not exist",
         ("admin_privileges_temporary[0].until", "2099-02-30"), _grant(until="2099-02-30")),
    Case("admin-temp-reason-empty", "admin_privileges", "a grant needs its reason on record",
         ("admin_privileges_temporary[0].reason", "''"), _grant(reason="")),
    Case("admin-temp-ticket-newline", "admin_privileges", "a newline in the ticket would reach the sudoers comment",
         ("admin_privileges_temporary[0].ticket", "CHG-1\\nALL ALL=(ALL) ALL"), _grant(ticket="CHG-1\nALL ALL=(ALL) ALL")),
    Case("admin-temp-user-bad", "admin_privileges", "a grant for a name that is no user",
         ("admin_privileges_temporary[0].user", "root;ALL"), _grant(user="root;ALL")),
    Case("admin-temp-user-int", "admin_privileges", "register strings must be strings (user: 1000)",
         ("admin_privileges_temporary[0].user", "1000"),
         yaml="admin_privileges_temporary:\n  - {user: 1000, until: '2099-01-01', reason: x, ticket: CHG-1}\n"),
    Case("admin-self-removal-not-bool", "admin_privileges", "-e admin_privileges_allow_self_removal=maybe is no boolean",
         ("admin_privileges_allow_self_removal", "maybe"), cli=("-e", "admin_privileges_allow_self_removal=maybe")),
    Case("admin-groups-adm", "admin_privileges", "adm is the log-reading group other roles use: the roles would fight over it",
         ("admin_privileges_admin_groups", "adm"), {"admin_privileges_admin_groups": ["sudo", "adm"]},
         owner="i13"),
    Case("admin-expiry-unit-injection", "admin_privileges", "a newline in OnCalendar would inject a line into the timer unit",
         ("admin_privileges_expiry_schedule", "minutely\\nExecStart"),
         {"admin_privileges_expiry_schedule": "minutely\nExecStart=/bin/sh -c id"}, owner="i13"),
    # ------------------------------------------------------------------ download_alert (6-5)
    Case("dl-threshold-zero", "download_alert", "threshold 0 alerts on every read (the last role: nothing may change before it)",
         ("download_alert_datasets", "threshold", "0"), _ds(threshold=0)),
    Case("dl-window-negative", "download_alert", "a negative window counts nothing",
         ("download_alert_datasets", "window", "-5"), _ds(window=-5)),
    Case("dl-source-unknown", "download_alert", "a source the agent cannot read",
         ("download_alert_datasets", "ftp"), _ds(source="ftp")),
    Case("dl-path-dotdot", "download_alert", "/srv/pii/../../etc watches /etc, not the personal data",
         ("download_alert_datasets[0].paths[0]", "/srv/pii/../../etc"), _ds(paths=["/srv/pii/../../etc"])),
    Case("dl-path-relative", "download_alert", "a relative path is no audit watch",
         ("download_alert_datasets", "srv/pii"), _ds(paths=["srv/pii"])),
    Case("dl-path-newline", "download_alert", "a newline in a path would inject an audit rule",
         ("download_alert_datasets", "/srv/pii\\n"), _ds(paths=["/srv/pii\n-w /etc -p wa"])),
    Case("dl-path-double-slash", "download_alert", "a path that is not normalised (//)",
         ("download_alert_datasets[0].paths[0]", "/srv//pii"), _ds(paths=["/srv//pii"])),
    Case("dl-name-bad", "download_alert", "a data set name outside [a-z0-9_-]",
         ("download_alert_datasets", "Resident Records"), _ds(name="Resident Records")),
    Case("dl-key-bad", "download_alert", "an audit key with spaces breaks the audit rule",
         ("download_alert_datasets", "bad key"), _ds(key="bad key")),
    Case("dl-pg-cluster-traversal", "download_alert", "the cluster names a directory: ../ would write the drop-in elsewhere",
         ("download_alert_pg_cluster", "../../../etc/cron.d"), {"download_alert_pg_cluster": "../../../etc/cron.d"}),
    Case("dl-pg-version-newline", "download_alert", "the version is a path component too",
         ("download_alert_pg_version", "15\\n"), {"download_alert_pg_version": "15\n"}),
    Case("dl-pg-jsonlog-rotate-maxsize", "download_alert", "logrotate reads no size \"100 MB\": the jsonlog file would never rotate by size",
         ("download_alert_pg_jsonlog_rotate_maxsize", "100 MB"), {"download_alert_pg_jsonlog_rotate_maxsize": "100 MB"}),
    Case("dl-service-user-root", "download_alert", "the role runs usermod on its service user: never root",
         ("download_alert_service_user", "root"), {"download_alert_service_user": "root"}),
    Case("dl-service-user-bad", "download_alert", "a service user name that cannot exist",
         ("download_alert_service_user", "pii dl"), {"download_alert_service_user": "pii dl"}),
    Case("dl-ack-id-bad", "download_alert", "an acknowledgement must name an alert id (dl- and 16 hex digits) the audit can match",
         ("download_alert_acknowledgements[0].alert", "dl-xyz"), _ack(alert="dl-xyz")),
    Case("dl-ack-reviewed-future", "download_alert", "a review recorded after today has not happened yet",
         ("download_alert_acknowledgements[0].reviewed_on", "2099-01-01"), _ack(reviewed_on="2099-01-01")),
    Case("dl-ack-reviewed-unreal", "download_alert", "February 30th is no date",
         ("download_alert_acknowledgements[0].reviewed_on", "2026-02-30"), _ack(reviewed_on="2026-02-30")),
    Case("dl-ack-outcome", "download_alert", "the outcome is one of legitimate, investigating, incident",
         ("download_alert_acknowledgements[0].outcome", "fine"), _ack(outcome="fine")),
    Case("dl-ack-note-template", "download_alert", "register strings are data, never templated; a newline in them is refused",
         ("download_alert_acknowledgements[0].note", "{{ lookup('pipe', 'id') }}\\n"),
         _ack(note="{{ lookup('pipe', 'id') }}\n")),
    Case("dl-ack-max-days-negative", "download_alert", "a negative number of days has no meaning",
         ("download_alert_ack_max_days", "-1"), cli=("-e", "download_alert_ack_max_days=-1")),
    Case("dl-reviewed-2062", "download_alert", "a review date decades ahead (2062 for 2026) hides a stale review",
         ("download_alert_reviewed_on", "2062-11-01"), {"download_alert_reviewed_on": "2062-11-01"}),
    Case("dl-reviewed-9999", "download_alert", "9999-12-31 is a typo, and past the calendar with the interval added",
         ("download_alert_reviewed_on", "9999-12-31"), {"download_alert_reviewed_on": "9999-12-31"}),
    Case("dl-reviewed-words", "download_alert", "the review date must be a date",
         ("reviewed_on", "next spring"), {"download_alert_reviewed_on": "next spring"}),
    Case("dl-webhook-timeout-zero", "download_alert", "webhook_timeout 0 makes every webhook fail",
         ("download_alert_channels.webhook_timeout", "0"),
         {"download_alert_channels": {"journal": True, "session": True, "webhook_url": "", "webhook_timeout": 0}}),
    Case("dl-webhook-url-scheme", "download_alert", "only http(s) webhooks",
         ("webhook", "ftp://alerts.example/x"),
         {"download_alert_channels": {"journal": True, "session": True, "webhook_url": "ftp://alerts.example/x", "webhook_timeout": 5}}),
    Case("dl-webhook-url-newline", "download_alert", "a newline in the webhook URL",
         ("download_alert_channels.webhook_url", "http://127.0.0.1/x\\nX: 1"),
         {"download_alert_channels": {"journal": True, "session": True, "webhook_url": "http://127.0.0.1/x\nX: 1", "webhook_timeout": 5}}),
    Case("dl-syslog-host-bad", "download_alert", "a syslog collector that is no host name or IP address (full match)",
         ("syslog.host", "logs example.org"),
         {"download_alert_channels": {"journal": True, "session": True, "webhook_url": "", "webhook_timeout": 5, "syslog": {"host": "logs example.org"}}}),
    Case("dl-syslog-max-message-small", "download_alert", "a cap below 1024 octets leaves no room for the user and data set after the header",
         ("syslog.max_message_bytes", "got 100"),
         {"download_alert_channels": {"journal": True, "session": True, "webhook_url": "", "webhook_timeout": 5, "syslog": {"host": "127.0.0.1", "max_message_bytes": 100}}}),
    Case("dl-syslog-port-zero", "download_alert", "port 0 is no TCP collector: every alert would stay in the spool",
         ("syslog.port", "got 0"),
         {"download_alert_channels": {"journal": True, "session": True, "webhook_url": "", "webhook_timeout": 5, "syslog": {"host": "127.0.0.1", "port": 0}}}),
    Case("dl-interval-zero", "download_alert", "a review interval of 0 days is always stale",
         ("download_alert_", "review_interval_days", "got 0"), {"download_alert_review_interval_days": 0}),
    Case("dl-interval-huge", "download_alert", "an interval past the calendar's end (OverflowError)",
         ("download_alert_review_interval_days", "99999999"), {"download_alert_review_interval_days": 99999999}),
    Case("dl-interval-cli-words", "download_alert", "-e download_alert_review_interval_days=abc is no number",
         ("download_alert_review_interval_days", "abc"), cli=("-e", "download_alert_review_interval_days=abc")),
    Case("dl-duplicate-names", "download_alert", "two data sets with one name share their counters",
         ("download_alert_datasets", "duplicate name"),
         {"download_alert_datasets": [_ds()["download_alert_datasets"][0], _ds()["download_alert_datasets"][0]]}),
    Case("dl-jsonlog-jmespath", "download_alert", "a JMESPath expression that does not compile",
         ("download_alert_datasets", "user"),
         {"download_alert_datasets": [{"name": "api", "source": "jsonlog", "log": "/var/log/api.json", "user": "a[",
                                       "count": "n", "threshold": 10, "window": 60}]}),
    Case("dl-pg-preload-injection", "download_alert", "a newline in shared_preload_libraries would inject a PostgreSQL setting",
         ("download_alert_pg_preload[1]", "log_statement='none"),
         {"download_alert_pg_preload": ["pgaudit", "x'\nlog_statement='none"],
          "download_alert_datasets": [{"name": "citizens", "source": "pgaudit", "log": "/var/log/postgresql/postgresql-15-main.log",
                                       "database": "pii", "tables": ["citizens"], "threshold": 10, "window": 60}]},
         owner="i15"),
    # ------------------------------------------------------------------ system_room (7-1)
    Case("room-footage-age-zero", "system_room", "a maximum age of 0 days fails every review",
         ("system_room_footage_review_max_age_days", "0"), {"system_room_footage_review_max_age_days": 0}),
    Case("room-age-cli-words", "system_room", "-e system_room_inspection_max_age_days=abc is no number",
         ("system_room_inspection_max_age_days", "abc"), cli=("-e", "system_room_inspection_max_age_days=abc")),
    Case("room-rules-audit-rules", "system_room", "augenrules regenerates /etc/audit/audit.rules: the rules would vanish",
         ("system_room_audit_rules_path", "/etc/audit/audit.rules"), {"system_room_audit_rules_path": "/etc/audit/audit.rules"}),
    Case("room-rules-conf", "system_room", "augenrules reads only rules.d/*.rules: a .conf file is never loaded",
         ("system_room_audit_rules_path", "/etc/audit/rules.d/60-console.conf"),
         {"system_room_audit_rules_path": "/etc/audit/rules.d/60-console.conf"}),
    Case("room-pam-file-sudoers", "system_room", "the pam_tty_audit line would be appended to /etc/sudoers (any file was accepted): sudo would stop parsing it",
         ("system_room_pam_service_file", '"/etc/sudoers"'), {"system_room_pam_service_file": "/etc/sudoers"}),
    Case("room-footage-date", "system_room", "a footage review date that does not exist",
         ("system_room_register", "2026-02-30"),
         {"system_room_register": {"room": "B1", "camera_coverage": True, "footage_reviewed_on": "2026-02-30", "inspections": []}}),
    Case("room-inspection-kind", "system_room", "an inspection kind other than carry_in/carry_out",
         ("system_room_register", "carry_sideways"),
         {"system_room_register": {"room": "B1", "camera_coverage": True, "footage_reviewed_on": "2026-11-01",
                                   "inspections": [{"date": "2026-11-01", "kind": "carry_sideways", "inspector": "x"}]}}),
    Case("room-optical-not-bool", "system_room", "-e system_room_block_optical=perhaps is no boolean",
         ("system_room_block_optical", "perhaps"), cli=("-e", "system_room_block_optical=perhaps")),
    # ------------------------------------------------------------------ audit.yml
    Case("audit-tag-typo", "audit.yml", "--tags 6-71 (for 7-1) would audit nothing and pass",
         ("--tags", "6-71", "7-1"), cli=("--tags", "6-71"), playbook="audit.yml"),
    Case("audit-tag-control-typo", "audit.yml", "a control id that is not in meta/controls.yml",
         ("--tags", "6-17.usbguard_rule"), cli=("--tags", "6-17.usbguard_rule"), playbook="audit.yml"),
    Case("harden-tag-typo", "harden.yml", "--tags with a typo would enforce nothing and succeed",
         ("--tags", "6-6.sudoer"), cli=("--tags", "6-6.sudoer")),
    Case("audit-report-dir-file", "audit.yml", "the report directory under a file: no report could be written",
         ("pii_guard_audit_report_dir", "/dev/null/reports"), cli=("-e", "pii_guard_audit_report_dir=/dev/null/reports"),
         playbook="audit.yml"),
    Case("audit-fail-on-findings-words", "audit.yml", "-e pii_guard_audit_fail_on_findings=maybe is no boolean",
         ("pii_guard_audit_fail_on_findings", "maybe"), cli=("-e", "pii_guard_audit_fail_on_findings=maybe"),
         playbook="audit.yml"),
    # ------------------------------------------------------------------ usb_devices.yml
    Case("usbdev-action-unknown", "usb_devices.yml", "an action other than enrol/replace/revoke",
         ("usb_action", "delete"), cli=("-e", "usb_action=delete", "-e", "usb_register_file=REGISTER"),
         playbook="usb_devices.yml", owner="i14"),
    Case("usbdev-register-missing", "usb_devices.yml", "a typo in usb_register_file must not read as an empty register",
         ("usb_register_file", "usb_device.yml"),
         cli=("-e", "usb_action=revoke", "-e", "usb_serial=AGENCY0001", "-e", "usb_register_file=INV/usb_device.yml",
              "-e", "usb_push=false"),
         playbook="usb_devices.yml", owner="i14"),
    Case("usbdev-register-other-keys", "usb_devices.yml", "a register file holding other settings would lose them",
         ("usb_register_file", "settings.yml"),
         cli=("-e", "usb_action=revoke", "-e", "usb_serial=AGENCY0001", "-e", "usb_register_file=MIXED",
              "-e", "usb_push=false"),
         playbook="usb_devices.yml", owner="i14"),
)  # fmt: skip
