# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The auditors' run of one Linux host as one task: validate on the controller, read the host once,
turn the readings into findings (issue 17, point 8).

The roles' audit path (playbooks/tasks/audit_role.yml) runs about 25 tasks per host; every task
costs each host a worker on the controller, and the four clause modules cost four round trips.
Here each role is a generator that mirrors its own task files in audit mode, step by step, with
the same filters and the same module arguments:

    validate (argument specs, the roles' controller checks)  ->  yield [module runs]  ->  findings

``HostAudit.plan()`` advances every role to its one ``yield``: the runs of all roles go to the host
in one round trip (module ``audit_host_state``), ``HostAudit.finish()`` hands each role its
results. A role stops at its first failing step and is recorded as the audit error of the host,
as the rescue in audit_role.yml records it; the other roles go on. Task names in the errors are
the roles' task names, so a report reads the same whichever path wrote it.
tests/integration/test_audit_one_task_vs_roles.py compares the two paths on the same hosts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

# The tags of the role tasks this module mirrors (roles/*/tasks/*.yml).
USB_TAGS = (
    "6-17", "6-17.usbguard_service", "6-17.usbguard_daemon_config", "6-17.usbguard_rules",
    "6-17.storage_driver_disabled", "6-17.smartphone_blocked", "6-17.device_register",
    "6-17.connected_devices", "6-17.device_classes", "6-17.bus_media_blocked",
)  # fmt: skip
USB_REGISTER_TAGS = (
    "6-17", "6-17.usbguard_rules", "6-17.device_register", "6-17.smartphone_blocked",
    "6-17.win_removable_storage_policy", "6-17.win_device_install_restrictions",
)  # fmt: skip
ADMIN_TAGS = (
    "6-6", "6-6.admin_group_members", "6-6.sudoers_grants", "6-6.sudo_nopasswd", "6-6.root_ssh_login",
    "6-6.root_password_locked", "6-6.uid0_accounts", "6-6.temporary_grants", "6-6.privileged_use_logging",
)  # fmt: skip
DOWNLOAD_TAGS = (
    "6-5", "6-5.agent_config", "6-5.audit_rules_loaded", "6-5.pgaudit_active", "6-5.threshold_review",
    "6-5.agent_running", "6-5.alerts_acknowledged",
)  # fmt: skip
ACK_TAGS = ("6-5", "6-5.alerts_acknowledged")
ACK_REGISTER = "download_alert_acknowledgements"
MEDIA_TAGS = ("7-1", "7-1.strict_media_policy")
CONSOLE_TAGS = ("7-1", "7-1.console_login_audit")
ROOM_REGISTER_TAGS = ("7-1", "7-1.room_monitoring", "7-1.carry_inspection")
ALWAYS = ("always",)
SSH_CONNECTIONS = ("ssh", "ansible.builtin.ssh", "paramiko", "paramiko_ssh", "smart")


def tags_select(task_tags, only_tags, skip_tags):
    """Whether a task with ``task_tags`` runs under --tags/--skip-tags: Ansible's rule
    (ansible.playbook.taggable.Taggable.evaluate_tags), which tests/unit compares with it."""
    tags = set(task_tags) or {"untagged"}
    only, skip = set(only_tags or ()), set(skip_tags or ())
    run = True
    if only:
        run = (
            "always" in tags
            or ("all" in only and "never" not in tags)
            or not tags.isdisjoint(only)
            or ("tagged" in only and tags != {"untagged"} and "never" not in tags)
        )
    if run and skip:
        if "all" in skip:
            run = "always" in tags and "always" not in skip
        elif not tags.isdisjoint(skip) or ("tagged" in skip and tags != {"untagged"}):
            run = False
    return run


class StepFailed(Exception):
    """A role step failed: the task it mirrors and the message Ansible would have shown."""

    def __init__(self, task, msg):
        super(StepFailed, self).__init__(msg)
        self.task, self.msg = task, msg


class Run:
    """One module run on the host: the module's short name, its arguments, the task it mirrors."""

    def __init__(self, module, args, task):
        self.module, self.args, self.task = module, args, task
        self.result = None

    def findings(self):
        """The run's findings, or the role's failure at this task."""
        res = self.result or {}
        if res.get("failed") or res.get("unreachable"):
            raise StepFailed(self.task, str(res.get("msg") or "failed"))
        return list(res.get("findings") or [])


class Context:
    """What a role step may ask: variables (templated, role defaults below everything else),
    whether tags select a task, the filters, the role argument specs, a command on the host."""

    def __init__(self, var, only_tags, skip_tags, filters, validate_spec, host_command, extra_vars=(), raw_var=None):
        self.var, self.only_tags, self.skip_tags = var, only_tags, skip_tags
        self.filters, self.validate_spec, self.host_command = filters, validate_spec, host_command
        self.extra_vars = frozenset(extra_vars)
        # A variable as data, never templated (registers whose strings may hold "{{").
        self.raw_var = raw_var or var

    def include_vars(self, values):
        """Vars an include_role passes: -e still wins over them, as in Ansible's precedence."""
        return {k: v for k, v in values.items() if k not in self.extra_vars}

    def selected(self, tags):
        return tags_select(tags, self.only_tags, self.skip_tags)

    def check(self, task, fn, *args, **kwargs):
        """Run a filter as the task does; its exception is the task's failure."""
        try:
            return fn(*args, **kwargs)
        except StepFailed:
            raise
        except Exception as e:  # any filter error fails the task it mirrors
            raise StepFailed(task, str(e))


def _assert_no_errors(task, errors, prefix=""):
    if errors:
        raise StepFailed(task, prefix + "; ".join(str(e) for e in errors))


def _input_errors(ctx, task, names, area):
    """The roles' ``input_errors`` assert: every bad value of ``names`` in one message."""
    _assert_no_errors(task, ctx.check(task, ctx.filters["input_errors"], {k: ctx.var(k) for k in names}, area))


def _bool(value):
    """Jinja's ``| bool``, as the roles' ``when:`` conditions apply it."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("yes", "on", "1", "true", "y", "t")


def usb_storage(ctx, host, overrides=None, extra_tags=()):
    """roles/usb_storage (validate.yml, linux.yml) in audit mode; ``overrides`` are include vars."""
    overrides = ctx.include_vars(overrides or {})

    def v(name):
        return overrides[name] if name in overrides else ctx.var(name)

    ctx.validate_spec("usb_storage", overrides)
    inputs = {
        k: v(k)
        for k in ("usb_storage_devices", "usb_storage_daemon_settings", "usb_storage_block_smartphones",
                  "usb_storage_block_optical", "usb_storage_allow_model_wide", "usb_storage_ipc_groups",
                  "usb_storage_rules_file_name")
    }  # fmt: skip
    task = "Validate | types of the register fields, daemon settings that would defeat the clause"
    _assert_no_errors(task, ctx.check(task, ctx.filters["input_errors"], inputs, "usb_storage"))
    tags = USB_TAGS + tuple(extra_tags)
    if ctx.selected(USB_REGISTER_TAGS + tuple(extra_tags)):
        switches = {
            k: v(k)
            for k in ("usb_storage_allow_model_wide", "usb_storage_block_smartphones", "usb_storage_block_optical",
                      "usb_storage_allow_audio", "usb_storage_allow_serial", "usb_storage_allow_sd_mmc",
                      "usb_storage_allow_thunderbolt", "usb_storage_allow_firewire",
                      "usb_storage_allow_bluetooth_transfer")
        }  # fmt: skip
        ctx.check(
            "Validate | mode, switches and the device register (VID:PID, serials, dates, duplicates)",
            ctx.filters["usb_register_validate"], v("usb_storage_devices"), v("usb_storage_today"),
            v("usb_storage_allow_model_wide"), mode=v("usb_storage_mode"), switches=switches, warn=True,
            daemon_settings=v("usb_storage_daemon_settings"),
        )  # fmt: skip
    if not ctx.selected(tags):
        return []
    settings = {"IPCAllowedGroups": v("usb_storage_ipc_groups")}
    settings.update(v("usb_storage_daemon_settings") or {})
    args = {
        "mode": v("usb_storage_mode"), "devices": v("usb_storage_devices"), "host_groups": host["group_names"],
        "allow_model_wide": v("usb_storage_allow_model_wide"), "block_smartphones": v("usb_storage_block_smartphones"),
        "block_optical": v("usb_storage_block_optical"), "allow_audio": v("usb_storage_allow_audio"),
        "allow_serial": v("usb_storage_allow_serial"), "rules_file_name": v("usb_storage_rules_file_name"),
        "allow_sd_mmc": v("usb_storage_allow_sd_mmc"), "allow_thunderbolt": v("usb_storage_allow_thunderbolt"),
        "allow_firewire": v("usb_storage_allow_firewire"),
        "allow_bluetooth_transfer": v("usb_storage_allow_bluetooth_transfer"),
        "daemon_settings": settings,
    }  # fmt: skip
    if v("usb_storage_today"):
        args["today"] = v("usb_storage_today")
    return [Run("usbguard_policy", args, "Linux | Enforce the USB policy with USBGuard")]


def role_usb_storage(ctx, host):
    runs = usb_storage(ctx, host)
    yield runs
    for run in runs:
        host["findings"].extend(run.findings())


def role_system_room(ctx, host):
    """roles/system_room (validate.yml, media.yml, console.yml, register.yml) in audit mode."""
    ctx.validate_spec("system_room", {})
    names = ("system_room_footage_review_max_age_days", "system_room_inspection_max_age_days",
             "system_room_block_optical", "system_room_console_audit", "system_room_audit_rules_path",
             "system_room_pam_service_file")  # fmt: skip
    task = "Validate | ages, switches, the console audit rules file and the PAM service file"
    _input_errors(ctx, task, names, "system_room")
    day = ctx.var("system_room_today") or host["today"]
    register = ctx.check(
        "Evaluate the room register on the controller", ctx.filters["system_room_findings"],
        ctx.var("system_room_register"), day, ctx.var("system_room_footage_review_max_age_days"),
        ctx.var("system_room_inspection_max_age_days"),
    )  # fmt: skip
    block_optical = ctx.var("system_room_block_optical")
    include = {"usb_storage_mode": "prohibit", "usb_storage_block_optical": block_optical}
    media = usb_storage(ctx, host, include, MEDIA_TAGS)
    console = []
    if _bool(ctx.var("system_room_console_audit")) and ctx.selected(CONSOLE_TAGS):
        args = {
            "rules": host["console_rules"], "rules_path": ctx.var("system_room_audit_rules_path"),
            "pam_service_file": ctx.var("system_room_pam_service_file"),
        }  # fmt: skip
        console = [Run("console_audit", args, "Login audit rules, pam_tty_audit and the rules loaded in the kernel")]
    yield media + console
    found = host["findings"]
    for run in media:
        found.extend(run.findings())
    if ctx.selected(MEDIA_TAGS):
        usb = [f for f in found if f.get("clause") == "6-17"]
        found.append(ctx.check("Record the strict media policy finding", ctx.filters["strict_media_finding"],
                               usb, "prohibit", block_optical))  # fmt: skip
    for run in console:
        found.extend(run.findings())
    if ctx.selected(ROOM_REGISTER_TAGS):
        found.extend(ctx.filters["findings_for_tags"](register["findings"], ctx.only_tags))


def role_admin_privileges(ctx, host):
    """roles/admin_privileges (validate.yml, linux.yml) in audit mode."""
    ctx.validate_spec("admin_privileges", {})
    if not ctx.selected(ADMIN_TAGS):
        yield []
        return
    users = ctx.var("admin_privileges_approved_users")
    if not users:
        raise StepFailed(
            "Validate | Approved administrators are given",
            "admin_privileges_approved_users is empty (%s): at least one approved administrator is required" % (users,),
        )
    names = ("admin_privileges_approved_users", "admin_privileges_approved_groups", "admin_privileges_admin_groups",
             "admin_privileges_nopasswd_approved", "admin_privileges_temporary")  # fmt: skip
    task = "Validate | names and temporary grants (the module's own rules, on the controller)"
    _input_errors(ctx, task, names, "admin_privileges")
    schedule = ctx.var("admin_privileges_expiry_schedule")
    if ctx.var("admin_privileges_temporary"):
        _calendar_check(ctx, schedule)
    args = {
        k: ctx.var("admin_privileges_" + k)
        for k in ("approved_users", "approved_groups", "admin_groups", "nopasswd_approved", "limited_grants",
                  "temporary", "expiry_schedule", "allow_self_removal", "manage_root_ssh", "lock_root_password",
                  "remove_extra_uid0", "sudo_logfile", "audit_rules")
    }  # fmt: skip
    args["operator"] = ctx.var("admin_privileges_operator") or host["ansible_user"]
    args["operator_via_ssh"] = host["ansible_connection"] in SSH_CONNECTIONS
    run = Run("admin_privileges", args, "Sudoers, admin groups, root login, UID 0, logging (guarded, one round trip)")
    yield [run]
    host["findings"].extend(run.findings())


def _calendar_check(ctx, schedule):
    """validate.yml's systemd-analyze step: the expiry timer's calendar spec as systemd reads it."""
    rc, err = ctx.host_command(["systemd-analyze", "calendar", str(schedule)])
    if rc not in (0, 127):  # 127: no systemd-analyze on the host (the role skips the check then)
        raise StepFailed(
            "Validate | Refuse a calendar spec systemd rejects",
            "admin_privileges_expiry_schedule: %s is not a systemd calendar spec (systemd-analyze calendar: %s)"
            % (json.dumps(schedule), err.strip()),
        )


def role_download_alert(ctx, host):
    """roles/download_alert (validate.yml, main.yml, report.yml) in audit mode."""
    ctx.validate_spec("download_alert", {})
    selected = ctx.selected(DOWNLOAD_TAGS)
    if selected:
        config = _download_alert_config(ctx)
    names = ("download_alert_datasets", "download_alert_channels", "download_alert_reviewed_on",
             "download_alert_service_user", "download_alert_review_interval_days", "download_alert_pg_version",
             "download_alert_pg_cluster")  # fmt: skip
    task = "Validate | service user, watched paths, channels and review date (what the agent config does not cover)"
    _input_errors(ctx, task, names, "download_alert")
    _ack_errors(ctx)
    if not selected:
        yield []
        return
    args = {"config": config, "today": ctx.var("download_alert_today"),
            "alert_period_days": ctx.var("download_alert_alert_period_days")}  # fmt: skip
    run = Run("download_alert_info", args, "Validate | watched paths exist on the host, then read the 6-5 state")
    yield [run]
    host["findings"].extend(run.findings())
    if ctx.selected(ACK_TAGS):
        observed = (run.result or {}).get("observed") or {}
        host["findings"].append(
            ctx.check(
                "Report | alerts of the audit period against the acknowledgement register",
                ctx.filters["download_alert_ack_finding"], observed.get("alerts"), ctx.raw_var(ACK_REGISTER),
                ctx.var("download_alert_ack_max_days"), ctx.var("download_alert_today"),
            )
        )  # fmt: skip


def _ack_errors(ctx):
    """validate.yml's last step: the acknowledgement register, read as data, and its age limit."""
    task = "Validate | the acknowledgement register and its age limit (read as data, never templated)"
    errors = ctx.check(
        task, ctx.filters["download_alert_ack_errors"], ctx.raw_var(ACK_REGISTER),
        ctx.var("download_alert_ack_max_days"), ctx.var("download_alert_today"),
    )  # fmt: skip
    _assert_no_errors(task, errors)


def _download_alert_config(ctx):
    """validate.yml's first three steps: the agent config, its errors, pgaudit preloaded."""
    settings = {
        "audit_log": ctx.var("download_alert_audit_log"), "max_keys": ctx.var("download_alert_max_keys"),
        "checkpoint_interval": ctx.var("download_alert_checkpoint_interval"),
        "min_auid": ctx.var("download_alert_min_auid"),
    }  # fmt: skip
    config = ctx.check(
        "Validate | build the agent config from the role variables", ctx.filters["download_alert_config"],
        ctx.var("download_alert_datasets"), ctx.var("download_alert_channels"), ctx.var("download_alert_reviewed_on"),
        ctx.var("download_alert_review_interval_days"), settings,
    )  # fmt: skip
    preload = ctx.var("download_alert_pg_preload")
    task = "Validate | data sets, channels and review date are valid"
    errors = ctx.check(task, ctx.filters["download_alert_config_errors"], config, preload)
    _assert_no_errors(task, errors, "download_alert_datasets / download_alert_* are invalid: ")
    pgaudit = any(d.get("source") == "pgaudit" for d in config.get("datasets") or [])
    if pgaudit and ctx.selected(("6-5", "6-5.pgaudit_active")) and "pgaudit" not in (preload or []):
        raise StepFailed(
            "Validate | download_alert_pg_preload includes pgaudit",
            "download_alert_pg_preload must include pgaudit, got %s" % json.dumps(preload),
        )
    return config


ROLES = {
    "system_room": role_system_room,
    "usb_storage": role_usb_storage,
    "admin_privileges": role_admin_privileges,
    "download_alert": role_download_alert,
}


class HostAudit:
    """The audit of one host: ``plan()`` the module runs of every role, ``finish()`` with their results.

    ``host``: group_names, ansible_user, ansible_connection, today (UTC date), console_rules (the
    system_room role's files/console.rules) and findings (filled as roles finish).
    """

    def __init__(self, ctx, host, roles):
        self.ctx, self.host = ctx, dict(host, findings=[])
        self.errors = []
        self._pending = []  # (role name, generator, runs)
        for name in roles:
            gen = ROLES[name](ctx, self.host)
            try:
                self._pending.append((name, gen, next(gen)))
            except StepFailed as e:
                self._error(name, e)

    @property
    def findings(self):
        return self.host["findings"]

    def runs(self):
        """Every module run of every role, in role order."""
        return [run for pending in self._pending for run in pending[2]]

    def finish(self):
        """Hand each role the results of its runs (set on the Run objects); collect findings."""
        for name, gen, _runs in self._pending:
            try:
                next(gen)
            except StopIteration:
                pass
            except StepFailed as e:
                self._error(name, e)
        self._pending = []

    def _error(self, role, e):
        self.errors.append({"role": role, "task": e.task, "msg": e.msg})
