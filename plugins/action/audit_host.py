# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Documentation: plugins/modules/audit_host.py (ansible-doc reads module docs there).
# The logic: plugins/plugin_utils/audit_engine.py. This file only wires it to Ansible: variables
# (role defaults below everything else, as when the role is included), argument specs, the host.

import datetime
import os
import shlex

import yaml

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible.utils.vars import load_extra_vars

from ansible_collections.pii_guard.safeguards.plugins.filter.audit_registers import (
    findings_for_tags,
    strict_media_finding,
    system_room_findings,
)
from ansible_collections.pii_guard.safeguards.plugins.filter.download_alert import (
    download_alert_ack_errors,
    download_alert_ack_finding,
    download_alert_config,
    download_alert_config_errors,
)
from ansible_collections.pii_guard.safeguards.plugins.filter.input_errors import input_errors
from ansible_collections.pii_guard.safeguards.plugins.filter.usb_register import usb_register_validate
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import audit_engine

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 templates every string
    trust_as_template = None

ROLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles")
FILTERS = {
    "input_errors": input_errors,
    "usb_register_validate": usb_register_validate,
    "system_room_findings": system_room_findings,
    "strict_media_finding": strict_media_finding,
    "findings_for_tags": findings_for_tags,
    "download_alert_config": download_alert_config,
    "download_alert_config_errors": download_alert_config_errors,
    "download_alert_ack_errors": download_alert_ack_errors,
    "download_alert_ack_finding": download_alert_ack_finding,
}
# The module that runs several clause modules in one round trip (check mode, read only).
STATE_MODULE = "pii_guard.safeguards.audit_host_state"


class ActionModule(ActionBase):
    _VALID_ARGS = frozenset(("roles", "engine"))

    def run(self, tmp=None, task_vars=None):
        """Reach the host, then (engine ``host``) audit it; the result is the host's whole record.

        ``state``: ``complete`` (audited here), ``started`` (reached; engine ``roles`` audits it
        next, or this audit broke part way), ``unreachable``. Nothing escapes as a task failure or an
        unreachable result: the play records the host either way and the report names it.
        """
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        record = dict(changed=False, findings=[], errors=[], roles=[], state="started", started_at=started)
        engine = self._task.args.get("engine", "host")
        roles = [r for r in self._task.args.get("roles") or [] if _applies(r, task_vars.get("group_names") or [])]
        unknown = [r.get("name") for r in roles if r.get("name") not in audit_engine.ROLES]
        if engine not in ("host", "roles"):
            return dict(result, failed=True, msg="audit_host: engine must be host or roles, got %r" % (engine,))
        if unknown:
            return dict(result, failed=True, msg="audit_host: no audit for role(s) %s" % ", ".join(map(str, unknown)))
        try:
            unreachable = self._reach()
            if unreachable:
                error = {"role": "connection", "task": "Reach the host", "msg": unreachable}
                record.update(state="unreachable", errors=[error])
            elif engine == "host":
                record.update(self._audit([r["name"] for r in roles], task_vars))
        except AnsibleError as e:  # e.g. the connection lost after the reach: this audit is incomplete
            role = "connection" if isinstance(e, AnsibleConnectionFailure) else "audit_host"
            record["errors"] = record["errors"] + [{"role": role, "task": "Audit each clause", "msg": str(e)}]
        result.update(record)
        return result

    def _reach(self):
        """The connection alone, as the raw task ``true`` without become: None, or why not."""
        try:
            res = self._low_level_execute_command("true", sudoable=False)
        except AnsibleError as e:  # e.g. podman exec into a container that is gone
            return str(e) or "unreachable"
        if res.get("rc", 1) != 0:
            return (res.get("stderr") or res.get("msg") or "").strip() or "unreachable (rc=%s)" % res.get("rc")
        return None

    def _audit(self, names, task_vars):
        self._audit_vars = self._variables(names, task_vars)
        ctx = audit_engine.Context(
            self._var, task_vars.get("ansible_run_tags") or [], task_vars.get("ansible_skip_tags") or [],
            FILTERS, self._validate_spec, self._host_command, load_extra_vars(self._loader), self._raw_var,
        )  # fmt: skip
        audit = audit_engine.HostAudit(ctx, self._host(), names)
        self._execute(audit.runs(), task_vars)
        audit.finish()
        # Returned, not set as facts: module facts rank below set_fact, and a fact cache would keep them.
        return dict(findings=audit.findings, errors=audit.errors, roles=names, state="complete")

    def _variables(self, roles, task_vars):
        """Role defaults, then the host's variables over them (the defaults' precedence)."""
        merged = {}
        for name in set(roles) | ({"usb_storage"} if "system_room" in roles else set()):
            defaults = _yaml(os.path.join(ROLES_DIR, name, "defaults", "main.yml")) or {}
            # Role files are trusted templates, as Ansible loads them (ansible-core 2.19+ asks).
            merged.update((k, _trusted(v)) for k, v in defaults.items())
        merged.update(task_vars)
        self._audit_templar = self._templar.copy_with_new_env(available_variables=merged)
        self._audit_templated = {}
        return merged

    def _var(self, name):
        """A variable, templated once per task (the roles' steps ask for the same names again)."""
        if name not in self._audit_vars:
            return None
        if name not in self._audit_templated:
            self._audit_templated[name] = self._audit_templar.template(self._audit_vars[name])
        return self._audit_templated[name]

    def _raw_var(self, name):
        """A variable as data, never templated (as the download_alert_ack action reads it)."""
        return self._audit_vars.get(name)

    def _host(self):
        with open(os.path.join(ROLES_DIR, "system_room", "files", "console.rules"), encoding="utf-8") as f:
            rules = f.read().rstrip()  # as lookup('file') reads it
        return {
            "group_names": list(self._var("group_names") or []),
            "ansible_user": self._var("ansible_user") or "",
            "ansible_connection": self._var("ansible_connection") or "ssh",
            "today": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
            "console_rules": rules,
        }

    def _validate_spec(self, role, overrides):
        """The role's argument spec, as Ansible checks it when the role is included."""
        entry = _yaml(os.path.join(ROLES_DIR, role, "meta", "argument_specs.yml"))["argument_specs"]["main"]
        options = entry.get("options") or {}
        provided = {k: self._var(k) for k in options if k in self._audit_vars}
        provided.update(overrides)
        res = ArgumentSpecValidator(options).validate(provided, validate_role_argument_spec=True)
        if res.error_messages:
            task = "Validating arguments against arg spec 'main'"
            if entry.get("short_description"):
                task += " - " + entry["short_description"]
            raise audit_engine.StepFailed(task, "Validation of arguments failed:\n%s" % "\n".join(res.error_messages))

    def _host_command(self, argv):
        res = self._low_level_execute_command(shlex.join(argv))
        return res.get("rc", 1), (res.get("stderr") or "") + (res.get("stdout") or "" if res.get("rc") else "")

    def _execute(self, runs, task_vars):
        """All module runs in one round trip; each run's result lands on its Run."""
        if not runs:
            return
        res = self._execute_module(
            module_name=STATE_MODULE,
            module_args={"runs": [{"name": r.module, "args": r.args} for r in runs]},
            task_vars=task_vars,
        )
        results = res.get("results")
        if res.get("failed") or not isinstance(results, list) or len(results) != len(runs):
            for run in runs:
                run.result = {"failed": True, "msg": res.get("msg") or "%s returned no results" % STATE_MODULE}
            return
        for run, one in zip(runs, results, strict=True):
            run.result = one


def _yaml(path):
    """A role file; the C loader: these are read for every host, in each host's worker."""
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _trusted(value):
    if trust_as_template is not None and isinstance(value, str) and ("{{" in value or "{%" in value):
        return trust_as_template(value)
    return value


def _applies(role, groups):
    only_in, not_in = role.get("only_in"), role.get("not_in")
    return (only_in is None or only_in in groups) and (not_in is None or not_in not in groups)
