"""plugin_utils/audit_engine.py: the one-task audit mirrors the roles' audit steps.

The end-to-end comparison with the roles on real hosts is tests/integration/test_audit_one_task_vs_roles.py;
here: Ansible's tag rule, the arguments each module gets (the same keys the role tasks pass),
a failing step stops its role only, and include vars lose to -e as in Ansible.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.playbook.block import Block
from ansible.playbook.play import Play
from ansible.playbook.task import Task

# The filters the action plugin hands the engine: the test runs the same wiring.
from ansible_collections.pii_guard.safeguards.plugins.action.audit_host import FILTERS
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import audit_engine as eng

ROOT = Path(__file__).resolve().parents[3]
HOST = {"group_names": ["linux", "pii_data"], "ansible_user": "labop", "ansible_connection": "ssh",
        "today": "2026-11-30", "console_rules": "-w /var/log/wtmp -p wa -k logins"}  # fmt: skip


def defaults(*roles: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for r in roles:
        out.update(yaml.safe_load((ROOT / "roles" / r / "defaults" / "main.yml").read_text(encoding="utf-8")))
    return out


def context(values: dict[str, Any], tags=("all",), skip=(), extra=(), commands=None) -> eng.Context:
    spec_calls: list[tuple[str, dict]] = []

    def host_command(argv):
        (commands if commands is not None else []).append(argv)
        return 1, "Failed to parse calendar specification"

    ctx = eng.Context(
        values.get, list(tags), list(skip), FILTERS, lambda r, o: spec_calls.append((r, o)), host_command, extra
    )
    ctx.spec_calls = spec_calls  # type: ignore[attr-defined]
    return ctx


def lab_values(**over: Any) -> dict[str, Any]:
    v = defaults("usb_storage", "admin_privileges", "download_alert", "system_room")
    dataset = {"name": "r", "source": "audit", "paths": ["/srv/pii"], "threshold": 5, "window": 60}
    v.update(admin_privileges_approved_users=["labop"], system_room_register={"room": "B1"},
             download_alert_datasets=[dataset], download_alert_reviewed_on="2026-10-01")  # fmt: skip
    v.update(over)
    return v


def planned(ctx: eng.Context, roles: list[str]) -> tuple[eng.HostAudit, list[eng.Run]]:
    audit = eng.HostAudit(ctx, HOST, roles)
    return audit, audit.runs()


# Every combination of task tags and --tags/--skip-tags over Ansible's special tags and two of ours.
TAGS = ["always", "never", "6-17", "6-6"]
ONLY = [["all"], ["6-17"], ["tagged"], ["untagged"], ["never"], ["6-6", "never"], ["all", "never"]]
SKIP = [[], ["6-17"], ["always"], ["all"], ["tagged"], ["untagged"], ["all", "always"]]


@pytest.mark.parametrize(("only", "skip"), list(itertools.product(ONLY, SKIP)))
def test_tags_select_as_ansible_does(only: list[str], skip: list[str]) -> None:
    for n in range(len(TAGS) + 1):
        for task_tags in itertools.combinations(TAGS, n):
            task = Task(block=Block(play=Play()))
            task.tags = list(task_tags)
            assert eng.tags_select(task_tags, only, skip) == task.evaluate_tags(only, skip, {}), (task_tags, only, skip)


def role_task_args(path: str, module: str) -> set[str]:
    """The argument names a role task passes to a clause module."""
    module = "pii_guard.safeguards." + module
    for task in yaml.safe_load((ROOT / "roles" / path).read_text(encoding="utf-8")):
        if module in task:
            return set(task[module])
    raise AssertionError(f"{module} not in {path}")


def test_modules_get_the_arguments_the_role_tasks_pass() -> None:
    ctx = context(lab_values(system_room_console_audit=True))
    audit = eng.HostAudit(ctx, dict(HOST, group_names=["linux", "system_room"]), ["system_room"])
    _, runs = planned(context(lab_values()), ["usb_storage", "admin_privileges", "download_alert"])
    got = {r.module: set(r.args) for r in runs + audit.runs()}
    got["usbguard_policy"].add("today")  # passed by the role only when set (default(omit, true))
    assert got == {
        "usbguard_policy": role_task_args("usb_storage/tasks/linux.yml", "usbguard_policy"),
        "admin_privileges": role_task_args("admin_privileges/tasks/linux.yml", "admin_privileges"),
        "download_alert_info": role_task_args("download_alert/tasks/main.yml", "download_alert_info"),
        "console_audit": role_task_args("system_room/tasks/console.yml", "console_audit"),
    }  # fmt: skip


def test_a_failing_step_stops_its_role_and_the_next_role_runs() -> None:
    audit, runs = planned(context(lab_values(usb_storage_mode="bogus")), ["usb_storage", "admin_privileges"])
    assert [r.module for r in runs] == ["admin_privileges"]
    runs[0].result = {"changed": False, "findings": [{"id": "6-6.sudoers_grants", "status": "pass"}]}
    audit.finish()
    assert [e["role"] for e in audit.errors] == ["usb_storage"]
    assert "usb_storage_mode" in audit.errors[0]["msg"] and '"bogus"' in audit.errors[0]["msg"]
    assert [f["id"] for f in audit.findings] == ["6-6.sudoers_grants"]


def test_a_module_failing_on_the_host_is_the_role_error_with_its_task() -> None:
    audit, runs = planned(context(lab_values()), ["download_alert"])
    runs[0].result = {"failed": True, "msg": "watched path /srv/pii does not exist"}
    audit.finish()
    task = "Validate | watched paths exist on the host, then read the 6-5 state"
    assert audit.errors == [{"role": "download_alert", "task": task, "msg": "watched path /srv/pii does not exist"}]
    assert audit.findings == []


def test_findings_before_a_failure_stay_as_the_roles_set_fact_keeps_them() -> None:
    ctx = context(lab_values())
    audit, runs = planned(ctx, ["system_room"])
    media, console = runs
    media.result = {"findings": [{"id": "6-17.usbguard_rules", "clause": "6-17", "status": "pass"}]}
    console.result = {"failed": True, "msg": "auditctl missing"}
    audit.finish()
    assert [f["id"] for f in audit.findings] == ["6-17.usbguard_rules", "7-1.strict_media_policy"]
    assert audit.errors[0]["task"].startswith("Login audit rules")


def test_system_room_forces_prohibit_unless_extra_vars_say_otherwise() -> None:
    _, runs = planned(context(lab_values(usb_storage_mode="audit_only")), ["system_room"])
    assert runs[0].args["mode"] == "prohibit"
    _, runs = planned(context(lab_values(usb_storage_mode="audit_only"), extra={"usb_storage_mode"}), ["system_room"])
    assert runs[0].args["mode"] == "audit_only"


def test_tags_select_the_runs() -> None:
    roles = ["usb_storage", "admin_privileges", "download_alert"]
    assert [r.module for r in planned(context(lab_values(), tags=["6-6"]), roles)[1]] == ["admin_privileges"]
    assert [r.module for r in planned(context(lab_values(), skip=["6-6"]), roles)[1]] == [
        "usbguard_policy",
        "download_alert_info",
    ]
    assert planned(context(lab_values(), tags=["8-5"]), roles)[1] == []


def test_the_calendar_spec_is_checked_on_the_host_only_with_temporary_grants() -> None:
    calls: list[list[str]] = []
    temporary = [{"user": "labop", "until": "2099-01-01T00:00:00+00:00", "reason": "r", "ticket": "T-1"}]
    planned(context(lab_values(), commands=calls), ["admin_privileges"])
    assert calls == []
    audit, runs = planned(
        context(lab_values(admin_privileges_temporary=temporary), commands=calls), ["admin_privileges"]
    )
    assert calls == [["systemd-analyze", "calendar", "minutely"]]
    assert runs == [] and audit.errors[0]["task"] == "Validate | Refuse a calendar spec systemd rejects"


T0 = "2026-11-01T00:00:00.000Z"
ALERT = {"dataset": "r", "user": "clerk", "count": 5, "threshold": 5, "window": 60, "raised": T0,
         "first_event": T0, "last_event": T0, "host": "ep1", "id": "dl-0123456789abcdef"}  # fmt: skip
ALERTS = {"alerts": [ALERT], "since": "2026-09-01", "unreadable_lines": 0, "left_out": 0, "errors": []}


@pytest.mark.control("6-5.alerts_acknowledged")
def test_download_alert_checks_the_alerts_against_the_raw_register() -> None:
    ack = [{"alert": "dl-0123456789abcdef", "reviewed_by": "{{ lookup('pipe', 'id') }}", "reviewed_on": "2026-11-02",
            "outcome": "investigating"}]  # fmt: skip
    values = lab_values(download_alert_today="2026-11-30")
    raw = {"download_alert_acknowledgements": ack}
    ctx = context(values)
    ctx.raw_var = lambda name: raw.get(name, values.get(name))
    audit, runs = planned(ctx, ["download_alert"])
    assert runs[0].args["alert_period_days"] == 90
    runs[0].result = {"findings": [], "observed": {"alerts": ALERTS}}
    audit.finish()
    (f,) = audit.findings
    assert (f["id"], f["status"]) == ("6-5.alerts_acknowledged", "pass")
    assert f["evidence"]["alerts"][0]["reviewed_by"] == "{{ lookup('pipe', 'id') }}"  # data, never run
    audit, runs = planned(context(values), ["download_alert"])
    runs[0].result = {"findings": [], "observed": {"alerts": ALERTS}}
    audit.finish()
    assert audit.findings[0]["status"] == "fail"
    assert planned(context(values, tags=["6-5.threshold_review"]), ["download_alert"])[0].runs()[0].result is None


@pytest.mark.control("6-5.alerts_acknowledged")
def test_a_bad_register_stops_the_role_at_its_validation_step() -> None:
    bad = [{"alert": "dl-0123456789abcdef", "reviewed_by": "x", "reviewed_on": "2026-13-01", "outcome": "ok"}]
    audit, runs = planned(context(lab_values(download_alert_acknowledgements=bad)), ["download_alert"])
    assert runs == []
    (err,) = audit.errors
    assert err["task"] == "Validate | the acknowledgement register and its age limit (read as data, never templated)"
    assert "download_alert_acknowledgements[0].reviewed_on" in err["msg"] and '"2026-13-01"' in err["msg"]
    assert "download_alert_acknowledgements[0].outcome" in err["msg"]
