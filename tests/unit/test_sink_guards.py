"""Every operator-typed string is refused by name or escaped at every sink it reaches.

Driven from the specs: every ``str`` option (and list of str, and sub-option) of every
roles/*/meta/argument_specs.yml, plus the fields of every register schema the validators know,
gets each value of one hostile class list. Each value goes through the role's real controller
validation (the filters and checks tasks/validate.yml runs); a refusal must name the variable
(path) and the value; an accepted value goes through the real renderer of each sink the role
writes, and the sink's own parser must read back the same structure:

- sudoers (temporary grant drop-in): ``cvtsudoers -f json`` (sudo's parser) sees one rule, for
  the grant's user, with its NOTAFTER; the comments stay comments;
- usbguard rules: ``usbguard-rule-parser`` accepts every line;
- audit rules, systemd units, logrotate, the pgaudit conf.d file: one line per rule/key, the
  same lines as with the default value (nothing added, nothing split);
- usbguard-daemon.conf: read back with the daemon's key=value reading, the same settings;
- the register file Ansible loads as group_vars: loaded and templated as Ansible does
  (trusted_as_template), every string comes back unchanged (``{{ 7*7 }}`` never becomes 49);
- HTML/CSV/JSON/OSCAL/JUnit reports: no live tag, no formula cell, parse back to the value.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import datetime
import functools
import html.parser
import io
import itertools
import json
import os
import pathlib
import posixpath
import re
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

from ansible_collections.pii_guard.safeguards.plugins.action import audit_report as audit_report_action
from ansible_collections.pii_guard.safeguards.plugins.filter import audit_registers
from ansible_collections.pii_guard.safeguards.plugins.filter import download_alert as dl_filter
from ansible_collections.pii_guard.safeguards.plugins.filter import input_errors as input_errors_filter
from ansible_collections.pii_guard.safeguards.plugins.filter import usb_register as usb_filter
from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin import plan as admin_plan
from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin import policy as admin_policy
from ansible_collections.pii_guard.safeguards.plugins.module_utils.common import findings as F
from ansible_collections.pii_guard.safeguards.plugins.module_utils.download.sliding_window import config as swc
from ansible_collections.pii_guard.safeguards.plugins.module_utils.download.sliding_window import forward
from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb import register as usb_register
from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb import usbguard
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import catalog, oscal, report_html, usb_register_file
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import report as R
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.registers import download_ack
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.windows import admin as win_admin
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.windows import usb as win_usb

ROOT = pathlib.Path(__file__).resolve().parents[2]
HOSTTOOLS = ROOT / ".cache" / "hosttools" / "usr" / "bin"


@contextlib.contextmanager
def collection_finder() -> Iterator[None]:
    """Ansible's collection finder, for the templates' pii_guard.safeguards.* filters, only while a
    template renders: left installed, it takes over every later import of ansible_collections.* in
    this process, and another test module's first import of a module_utils package then fails."""
    _AnsibleCollectionFinder(paths=[str(ROOT / ".cache" / "collections")])._install()
    try:
        yield
    finally:
        _AnsibleCollectionFinder._remove()


# ------------------------------------------------------------------ the hostile class list

HOSTILE: dict[str, Any] = {
    "newline": "a\nb",
    "trailing-newline": "abc\n",
    "cr": "a\rb",
    "nul": "a\x00b",
    "tab": "a\tb",
    "nel": "a\x85b",
    "u2028": "a\u2028b",
    "u2029": "a\u2029b",
    "bidi-rlo": "a\u202eb",
    "lone-surrogate": "a\udcffb",
    "quote-single": "a'b",
    "quote-double": 'a"b',
    "backtick": "a`b",
    "backslash": "a\\b",
    "trailing-backslash": "ab\\",
    "jinja-expr": "{{ 7*7 }}",
    "jinja-stmt": "{% raw %}x",
    "jinja-comment": "{# x",
    "unsafe-tag": "!unsafe x",
    "shell-subst": "$(id)",
    "semicolon": "a;b",
    "hash": "a#b",
    "comma": "a,b",
    "equals": "a=b",
    "colon": "a:b",
    "space": "a b",
    "leading-dash": "-ab",
    "globs": "a*?[b",
    "html": "<script>alert(1)</script>&amp;",
    "csv-eq": "=1+1",
    "csv-plus": "+1",
    "csv-minus": "-1",
    "csv-at": "@SUM(1)",
    "long": "a" * 65536,
    "empty": "",
    "yaml-no": "no",
    "yaml-octal": "0o17",
    "yaml-float": "1e3",
    "yaml-date": "2026-01-01",
}
# Characters after which a line-based parser (sudo, usbguard, auditctl, systemd, logrotate,
# PostgreSQL, YAML) would be reading something else than the value.
LINE_BREAKS = re.compile("[\n\r\x0b\x0c\x85\u2028\u2029]")
JINJA = re.compile(r"\{\{|\{%|\{#")


def _ids(d: dict) -> list:
    return list(d)


# ------------------------------------------------------------------ the specs


def _spec_strings(options: dict, path: tuple) -> Iterator[tuple[tuple, dict]]:
    for name, spec in (options or {}).items():
        p = (*path, name)
        kind = spec.get("type", "str")
        if kind in ("str", "path") and "choices" not in spec:
            yield p, spec
        elif kind == "list" and spec.get("elements", "str") in ("str", "path") and "choices" not in spec:
            yield (*p, 0), spec
        if spec.get("options"):
            inner = (*p, 0) if kind == "list" else p
            yield from _spec_strings(spec["options"], inner)


def _spec_type(role: str, path: tuple) -> str:
    spec = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    opts = spec["argument_specs"]["main"]["options"]
    node: dict = {}
    for k in path:
        if isinstance(k, int):
            continue
        node = opts[k]
        opts = node.get("options") or {}
    return node.get("type", "str")


def role_strings() -> list[tuple[str, tuple]]:
    out = []
    for spec_file in sorted(ROOT.glob("roles/*/meta/argument_specs.yml")):
        role = spec_file.parts[-3]
        spec = yaml.safe_load(spec_file.read_text())["argument_specs"]["main"]
        out += [(role, p) for p, _s in _spec_strings(spec.get("options"), ())]
    return out


# Register fields the validators know (dict elements the specs leave open), so a new register
# key the validator learns is swept too.
def register_strings() -> list[tuple[str, tuple]]:
    out = [("usb_storage", ("usb_storage_devices", 0, k)) for k in usb_register.KNOWN if k not in ("groups",)]
    out += [("usb_storage", ("usb_storage_devices", 0, "groups", 0))]
    # dict options whose values are strings (the spec says only "dict")
    out += [("usb_storage", ("usb_storage_daemon_settings", k)) for k in ("IPCAllowedUsers", "RuleFolder")]
    out += [("usb_storage", ("usb_storage_windows_instance_ids", "PC-USB-0001", 0))]
    out += [("usb_storage", ("usb_storage_windows_instance_ids", "PC-USB-0001", 0, k)) for k in ("vendor", "product")]
    out += [("admin_privileges", ("admin_privileges_temporary", 0, k)) for k in ("user", "until", "reason", "ticket")]
    out += [("admin_privileges", ("admin_privileges_limited_grants", 0, k)) for k in ("user", "runas")]
    out += [("admin_privileges", ("admin_privileges_limited_grants", 0, "commands", 0))]
    out += [("download_alert", ("download_alert_acknowledgements", 0, k)) for k in download_ack.KEYS]
    out += [("system_room", ("system_room_register", k)) for k in ("room", "footage_reviewed_on")]
    out += [("system_room", ("system_room_register", "inspections", 0, k)) for k in ("date", "kind", "inspector")]
    out += [("outsourcing", ("outsourcing_contractors", 0, k)) for k in ("name", "contract_id", "last_inspection")]
    out += [("outsourcing", ("outsourcing_contractors", 0, "subcontractors", 0, "name"))]
    return out


# ------------------------------------------------------------------ a valid base per role

TODAY = datetime.date(2026, 6, 1)
AUDIT_DS = {"name": "citizens", "source": "audit", "paths": ["/"], "threshold": 100, "window": 60}
PG_DS = {"name": "db", "source": "pgaudit", "log": "/tmp/pg.log", "database": "pii", "tables": ["citizens"],
         "threshold": 1000, "window": 60}  # fmt: skip
JSON_DS = {"name": "exports", "source": "jsonlog", "log": "/tmp/app.jsonl", "user": "u", "count": "n",
           "threshold": 10, "window": 60}  # fmt: skip


ACK = {
    "alert": "dl-0123456789abcdef",
    "reviewed_by": "alice",
    "reviewed_on": "2025-12-30",
    "outcome": "legitimate",
    "note": "ok",
}
ROOM = {
    "room": "Server room 1",
    "camera_coverage": True,
    "footage_reviewed_on": "2026-05-20",
    "inspections": [{"date": "2026-05-01", "kind": "carry_in", "inspector": "Sato"}],
}
CONTRACTOR = {
    "name": "Acme",
    "contract_id": "C-1",
    "last_inspection": "2026-01-10",
    "clauses": {"purpose_limitation": True, "subcontract_prior_approval": True, "damages_liability": True},
    "operates": ["web1"],
    "subcontractors": [{"name": "Sub", "approved_on": "2026-01-01", "started_on": "2026-01-02", "same_measures": True}],
}


@functools.cache
def _defaults(role: str) -> dict:
    return yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text()) or {}


def defaults(role: str) -> dict:
    return copy.deepcopy(_defaults(role))


def base(role: str, path: tuple) -> dict:
    v = copy.deepcopy(defaults(role))
    if role == "usb_storage":
        v["usb_storage_devices"] = [{"id": "46f4:0001", "serial": "AGENCY0001", "label": "PC-USB-0001",
                                     "owner": "Lab Op", "issued_on": "2026-04-01", "state": "active"}]  # fmt: skip
        v["usb_storage_today"] = TODAY.isoformat()
    elif role == "admin_privileges":
        v["admin_privileges_approved_users"] = ["alice"]
        v["admin_privileges_temporary"] = [{"user": "bob", "until": "2099-12-01", "reason": "migration",
                                            "ticket": "CHG-1"}]  # fmt: skip
        v["admin_privileges_limited_grants"] = [{"user": "carol", "commands": ["/usr/bin/journalctl -u nginx"]}]
        v["admin_privileges_windows_approved_members"] = ["AGENCY\\pc-admins"]
        v["admin_privileges_operator"] = "alice"
    elif role == "download_alert":
        sub = path[2] if len(path) > 2 and path[0] == "download_alert_datasets" else None
        ds = (
            PG_DS
            if sub in ("database", "tables", "log")
            else JSON_DS
            if sub in ("user", "count", "time", "filter")
            else AUDIT_DS
        )
        v["download_alert_datasets"] = [copy.deepcopy(ds)]
        v["download_alert_reviewed_on"] = TODAY.isoformat()
        v["download_alert_today"] = TODAY.isoformat()
        v["download_alert_pg_version"] = "15"
        v["download_alert_acknowledgements"] = [dict(ACK)]
    elif role == "system_room":
        v["system_room_register"] = copy.deepcopy(ROOM)
        v["system_room_today"] = TODAY.isoformat()
    elif role == "outsourcing":
        v["outsourcing_contractors"] = [copy.deepcopy(CONTRACTOR)]
        v["outsourcing_hosts"] = ["web1"]
        v["outsourcing_today"] = TODAY.isoformat()
    return v


def put(v: dict, path: tuple, value: Any) -> None:
    cur: Any = v
    for k in path[:-1]:
        if isinstance(k, int):
            while len(cur) <= k:
                cur.append({})
        elif k not in cur or cur[k] is None:
            cur[k] = {}
        cur = cur[k]
    last = path[-1]
    if isinstance(last, int):
        if not isinstance(cur, list):
            raise AssertionError("not a list at %r" % (path,))
        if cur:
            cur[last] = value
        else:
            cur.append(value)
    else:
        cur[last] = value


def _fix_containers(v: dict, path: tuple) -> None:
    """Make every container on ``path`` exist with the right type (lists where an index follows)."""
    cur: Any = v
    for k, nxt in itertools.pairwise(path):
        want: Any = [] if isinstance(nxt, int) else {}
        if isinstance(k, int):
            if not cur:
                cur.append(want)
            cur = cur[k]
        else:
            if not isinstance(cur.get(k), type(want)):
                cur[k] = want
            cur = cur[k]


# ------------------------------------------------------------------ controller validation, per role


def _flt(fn: Callable, *a: Any, **kw: Any) -> list[str]:
    try:
        out = fn(*a, **kw)
    except Exception as e:  # a filter refuses by raising (AnsibleFilterError)
        return [str(e)]
    return out if isinstance(out, list) else []


def errors_usb_storage(v: dict) -> list[str]:
    errs = input_errors_filter.input_errors(v, "usb_storage")
    switches = {k: v[k] for k in v if k.startswith("usb_storage_allow_") or k.startswith("usb_storage_block_")}
    errs += _flt(usb_filter.usb_register_validate, v["usb_storage_devices"], v["usb_storage_today"],
                 v["usb_storage_allow_model_wide"], mode=v["usb_storage_mode"], switches=switches,
                 daemon_settings=v["usb_storage_daemon_settings"])  # fmt: skip
    if not errs:  # Windows hosts: the planner (windows_usb_plan, on the controller) checks its own inputs
        try:
            win_usb.plan(v["usb_storage_mode"], v["usb_storage_devices"], TODAY,
                         extra_instance_ids=v["usb_storage_windows_instance_ids"],
                         approved_classes=v["usb_storage_windows_approved_classes"])  # fmt: skip
        except (win_admin.PlanError, usb_register.RegisterError) as e:
            errs.append(str(e))
    return errs


def errors_admin(v: dict) -> list[str]:
    errs = input_errors_filter.input_errors(v, "admin_privileges")
    # the module's validate-only run (tasks/validate.yml), its own rules on the same values
    errs += admin_policy.validate(
        v["admin_privileges_approved_users"], v["admin_privileges_approved_groups"],
        v["admin_privileges_admin_groups"], v["admin_privileges_temporary"],
        v["admin_privileges_nopasswd_approved"], sudo_logfile=v["admin_privileges_sudo_logfile"],
        expiry_schedule=v["admin_privileges_expiry_schedule"], limited=v["admin_privileges_limited_grants"],
    )  # fmt: skip
    op = v.get("admin_privileges_operator")
    if op and not admin_policy.valid_name(op):
        errs.append(admin_policy.operator_error(op, "operator option"))
    errs += win_admin.validate_inputs(
        v["admin_privileges_windows_approved_members"], v.get("admin_privileges_windows_builtin_admin_name")
    )
    return errs


def errors_download_alert(v: dict) -> list[str]:
    settings = {k: v["download_alert_" + k] for k in ("audit_log", "max_keys", "checkpoint_interval", "min_auid")}
    try:
        cfg = dl_filter.download_alert_config(v["download_alert_datasets"], v["download_alert_channels"],
                                              v["download_alert_reviewed_on"],
                                              v["download_alert_review_interval_days"], settings)  # fmt: skip
    except Exception as e:
        return [str(e)]
    errs = _flt(dl_filter.download_alert_config_errors, cfg, v["download_alert_pg_preload"])
    errs += input_errors_filter.input_errors(v, "download_alert")
    errs += _flt(dl_filter.download_alert_ack_errors, v["download_alert_acknowledgements"],
                 v["download_alert_ack_max_days"], v["download_alert_today"])  # fmt: skip
    v["download_alert__config"] = cfg
    return errs


def errors_system_room(v: dict) -> list[str]:
    errs = input_errors_filter.input_errors(v, "system_room")
    res = audit_registers.system_room_findings(v["system_room_register"], v["system_room_today"] or TODAY.isoformat(),
                                               31, 92)  # fmt: skip
    return errs + list(res.get("errors") or [])


def errors_outsourcing(v: dict) -> list[str]:
    today = v["outsourcing_today"] or TODAY.isoformat()
    contractors = v["outsourcing_contractors"]
    res = audit_registers.outsourcing_findings(contractors, {}, {"all": ["web1"]}, v["outsourcing_hosts"], today)
    return list(res.get("errors") or [])


VALIDATE = {
    "usb_storage": errors_usb_storage,
    "admin_privileges": errors_admin,
    "download_alert": errors_download_alert,
    "system_room": errors_system_room,
    "outsourcing": errors_outsourcing,
}


# ------------------------------------------------------------------ the sinks, rendered for real


class Hole(AssertionError):
    """An accepted value that broke a sink's grammar (or came back changed)."""


def _templar(v: dict) -> Templar:
    return Templar(loader=DataLoader(), variables=dict(v, ansible_managed="Ansible managed"))


def render_template(role: str, name: str, v: dict) -> str:
    text = (ROOT / "roles" / role / "templates" / name).read_text()
    with collection_finder():
        return _templar(v).template(trust_as_template(text))


@functools.cache
def task_content(role: str, tasks_file: str, task_name: str) -> tuple[str, ...]:
    """The ``content`` strings of a copy task (or of each loop item) as the role has them."""
    for t in yaml.safe_load((ROOT / "roles" / role / "tasks" / tasks_file).read_text()):
        if t.get("name") == task_name:
            copy_args = t["ansible.builtin.copy"]
            if "loop" in t:
                return tuple(i["content"] for i in t["loop"])
            return (copy_args["content"],)
    raise AssertionError("no task %r in %s" % (task_name, tasks_file))


def _lines_shape(text: str) -> list[str]:
    """Each line's grammar skeleton: a comment, a section, a key (``Key=``), or its first word."""
    out = []
    for line in text.split("\n"):
        s = line.strip()
        if not s or s.startswith("#"):
            out.append("#" if s else "")
        elif s.startswith("["):
            out.append(s)
        elif "=" in s.split(" ", 1)[0]:
            out.append(s.split("=", 1)[0] + "=")
        else:
            out.append(s.split(None, 1)[0] if s.split(None, 1)[0] in ("su", "maxsize", "rotate", "create", "if",
                                                                       "/usr/sbin/runuser", "fi", "postrotate",
                                                                       "endscript", "}") else "~")  # fmt: skip
    return out


def same_shape(sink: str, text: str, reference: str) -> None:
    if LINE_BREAKS.sub("", text) != text.replace("\n", "") or "\x00" in text:
        raise Hole("%s: a line break other than LF or a NUL in the file" % sink)
    if _lines_shape(text) != _lines_shape(reference):
        raise Hole("%s: lines differ from the default rendering:\n%s" % (sink, text[:2000]))


def cvtsudoers(text: str, tmp: pathlib.Path) -> dict:
    return json.loads(_cvtsudoers(text))


@functools.cache
def _cvtsudoers(text: str) -> str:
    """sudo's own parser on ``text`` (cached: most values leave a file unchanged)."""
    with tempfile.TemporaryDirectory() as d:
        f = pathlib.Path(d) / "sudoers"
        f.write_bytes(text.encode("utf-8", "surrogateescape"))
        out = subprocess.run(["cvtsudoers", "-f", "json", str(f)], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise Hole("sudoers: sudo's parser refused the file: %s\n%s" % (out.stderr.strip(), text[:500]))
    return out.stdout or "{}"


@functools.cache
def usbguard_rule_parser(text: str) -> str:
    """usbguard's own rule parser on a rules file: its complaint, or "" when every line parses."""
    with tempfile.TemporaryDirectory() as d:
        f = pathlib.Path(d) / "rules.conf"
        f.write_text(text)
        out = subprocess.run([str(HOSTTOOLS / "usbguard-rule-parser"), "-f", str(f)], capture_output=True,
                             text=True, check=False)  # fmt: skip
    return "" if out.returncode == 0 else (out.stdout + out.stderr)[-500:] or "rc %d" % out.returncode


@functools.cache
def reference_render(name: str) -> str:
    """A download_alert file rendered with the role's defaults (the shape every value must keep)."""
    ref = base("download_alert", ())
    errors_download_alert(ref)
    ref.update({"download_alert__pg_version": "15", "download_alert__pg_jsonlog": "/var/log/postgresql/x.json"})
    if name.endswith(".j2"):
        return render_template("download_alert", name, ref)
    (pg,) = task_content("download_alert", "install.yml", name)
    return _templar(ref).template(trust_as_template(pg))


def sinks_admin(v: dict, tmp: pathlib.Path) -> None:
    until = datetime.datetime(2099, 12, 1, tzinfo=datetime.UTC)
    for g in v["admin_privileges_temporary"]:
        text = admin_policy.temporary_file(g, until)
        doc = cvtsudoers(text, tmp)
        specs = doc.get("User_Specs", [])
        users = [u.get("username") for s in specs for u in s["User_List"]]
        if users != [g["user"]] or text.count("\n") != 5:
            raise Hole("sudoers: temporary grant file reads as users %r:\n%s" % (users, text))
        if admin_policy.expiry_of(text) != until:
            raise Hole("sudoers: the expiry header reads as %r" % (admin_policy.expiry_of(text),))
    doc = cvtsudoers(admin_plan.logging_text(v["admin_privileges_sudo_logfile"]), tmp)
    logs = [d.get("logfile") for e in doc.get("Defaults", []) for d in e.get("Options", []) if "logfile" in d]
    if logs != [v["admin_privileges_sudo_logfile"]]:
        raise Hole("sudoers: Defaults logfile reads as %r" % (logs,))
    units = task_content("admin_privileges", "temporary.yml", "Temporary grants | Install the expiry service and timer")
    ref = dict(v, admin_privileges_expiry_schedule="minutely")
    for unit in units:
        same_shape("expiry timer unit", _templar(v).template(trust_as_template(unit)),
                   _templar(ref).template(trust_as_template(unit)))  # fmt: skip


def sinks_download_alert(v: dict, tmp: pathlib.Path) -> None:
    cfg = v["download_alert__config"]
    for rule in dl_filter.download_alert_audit_rules(cfg):
        tokens = rule.split(" ")
        if LINE_BREAKS.search(rule) or len(tokens) % 2 or any(not t.startswith("-") for t in tokens[0::2]):
            raise Hole("audit rules: %r is not option/value pairs on one line" % (rule,))
        if any(t.startswith("-") or t == "" for t in tokens[1::2]):
            raise Hole("audit rules: %r has an empty or option-like value" % (rule,))
    derived = {"download_alert__pg_version": v["download_alert_pg_version"] or "15"}
    derived["download_alert__pg_jsonlog"] = "/var/log/postgresql/postgresql-%s-%s-audit.json" % (
        derived["download_alert__pg_version"],
        v["download_alert_pg_cluster"],
    )
    for name in ("pii-download-alert.service.j2", "pii-download-alert-postgresql.logrotate.j2"):
        same_shape(name, render_template("download_alert", name, dict(v, **derived)), reference_render(name))
    pg_task = "Install | pgaudit settings drop-in"
    (pg,) = task_content("download_alert", "install.yml", pg_task)
    conf = _templar(dict(v, **derived)).template(trust_as_template(pg))
    same_shape("pgaudit conf.d", conf, reference_render(pg_task))
    for line in conf.splitlines():
        # PostgreSQL's conf: key = 'value' with '' for a quote inside; a lone quote ends the value
        m = re.fullmatch(r"\s*(?:#.*)?|\s*[a-z_.]+ = (?:'(?:[^'\\\n]|'')*'|[A-Za-z0-9_]+)\s*(?:#.*)?", line)
        if not m:
            raise Hole("pgaudit conf.d: %r is not one setting" % (line,))


def sinks_usb_storage(v: dict, tmp: pathlib.Path) -> None:
    res = usb_filter.usb_register_validate(v["usb_storage_devices"], v["usb_storage_today"], True)
    text = usbguard.render_rules(v["usb_storage_mode"], res["active"])
    complaint = usbguard_rule_parser(text)
    if complaint:
        raise Hole("usbguard rules: usbguard-rule-parser refused the file: %s" % complaint)
    for e in res["active"]:
        rule = usbguard.parse_rule(usbguard.entry_rule(e))
        if rule.get("serial") not in (None, e.get("serial")) or rule.get("label") != "pii-guard:%s" % e["label"]:
            raise Hole("usbguard rules: %r reads back as %r" % (e, rule))
    # The daemon settings the role hands the module (linux.yml): the module refuses or writes them.
    settings = dict({"IPCAllowedGroups": v["usb_storage_ipc_groups"]}, **(v["usb_storage_daemon_settings"] or {}))
    try:
        settings = usbguard.validate_daemon_settings(settings)
    except usbguard.PolicyError as e:
        raise Hole("usbguard-daemon.conf: refused only on the host, after the package install: %s" % e) from e
    if usbguard.parse_conf(usbguard.render_conf("", settings)) != settings:
        raise Hole("usbguard-daemon.conf: settings read back differ")
    name = v["usb_storage_rules_file_name"]
    # os.path.join(RuleFolder, name) as the module does: the file must sit in the folder itself
    folder = "/etc/usbguard/rules.d"
    path = os.path.normpath(os.path.join(folder, name or ""))
    if (
        os.path.dirname(path) != folder
        or os.path.basename(path).startswith(".")
        or not name.isprintable()
        or " " in name
    ):
        raise Hole("usbguard RuleFolder: %r writes %r, not a plain file in %s" % (name, path, folder))
    # The register file the lifecycle playbook writes into group_vars, loaded as Ansible loads it.
    check_register_file(v["usb_storage_devices"], tmp)


def check_register_file(entries: list, tmp: pathlib.Path) -> None:
    text = usb_register_file.render(entries)
    f = tmp / "usb_devices.yml"
    f.write_text(text)
    loaded = DataLoader().load_from_file(str(f), cache="none", unsafe=True, trusted_as_template=True)
    templated = Templar(loader=DataLoader(), variables=loaded).template(loaded)
    got = json.loads(json.dumps(templated, default=str))
    want = json.loads(json.dumps({"usb_storage_devices": entries}, default=str))
    if got != want:
        raise Hole("register file: Ansible reads back %r, written %r" % (got, want))


def sinks_system_room(v: dict, tmp: pathlib.Path) -> None:
    """console_audit writes the rules file and appends the pam_tty_audit line to the PAM file."""
    for var, folder in (("system_room_audit_rules_path", "/etc/audit/rules.d"),
                        ("system_room_pam_service_file", "/etc/pam.d")):  # fmt: skip
        path = v[var]
        if posixpath.normpath(path) != path or posixpath.dirname(path) != folder or not path.isprintable():
            raise Hole("%s %r: the module writes a file outside %s/" % (var, path, folder))


def sinks_none(v: dict, tmp: pathlib.Path) -> None:
    """Roles whose strings reach only the reports (tested below with every hostile value)."""


SINKS = {
    "usb_storage": sinks_usb_storage,
    "admin_privileges": sinks_admin,
    "download_alert": sinks_download_alert,
    "system_room": sinks_system_room,
    "outsourcing": sinks_none,
}


def _names_it(msg: str, path: tuple, value: str) -> bool:
    leaf = [k for k in path if isinstance(k, str)][-1]
    shown = {json.dumps(value, ensure_ascii=False), repr(value), value, json.dumps(value)}
    # the role's own prefix may be left out where the task's message adds it (download_alert's
    # agent config says "datasets[0] (name): key ...", validate.yml prefixes download_alert_datasets)
    top = path[0] if path[0] in msg else path[0].split("_", 2)[-1]
    leaf = leaf if leaf in msg else leaf.split("_", 2)[-1].rstrip("s")  # paths[0] -> "path ..."
    return top in msg and leaf in msg and (any(s[:30] in msg for s in shown) or value == "")


PATH_SPECS = {(r, p) for r, p in role_strings() if _spec_type(r, p) == "path"}
PATHISH = ("paths", "log", "ca_file", "logfile", "rules_path", "pam_service_file", "audit_log", "RuleFolder")


def _pathish(path: tuple) -> bool:
    leaf = [k for k in path if isinstance(k, str)][-1]
    return leaf.endswith(PATHISH) or any(path == p for _r, p in PATH_SPECS)


CASES = role_strings() + register_strings()


@pytest.mark.parametrize(("role", "path"), CASES, ids=["%s:%s" % (r, ".".join(map(str, p))) for r, p in CASES])
def test_hostile_value_refused_by_name_or_sink_intact(role, path, tmp_path):
    holes = []
    values = dict(HOSTILE)
    if _pathish(path):
        # a path option: the class inside an otherwise absolute path too ("/tmp/pii-a b")
        values.update({"path+" + k: "/tmp/pii-" + v for k, v in HOSTILE.items() if k != "long"})
    for label, value in values.items():
        v = base(role, path)
        _fix_containers(v, path)
        put(v, path, value)
        errs = VALIDATE[role](v)
        if errs:
            if not any(_names_it(e, path, value) for e in errs):
                holes.append("%s %s: refused without naming the path and value: %s" % (label, path, errs[:2]))
            continue
        try:
            SINKS[role](v, tmp_path)
        except Hole as e:
            holes.append("%s: accepted, then %s" % (label, e))
    assert not holes, "\n".join(h[:600] for h in holes)


# ------------------------------------------------------------------ reports: every value, every writer

RUN = {"started_at": "2026-06-01T05:00:00Z", "finished_at": "2026-06-01T05:01:00Z", "duration_seconds": 60.0,
       "inventory_sources": ["/inv"], "limit": None, "tags": ["all"], "skip_tags": [],
       "ansible_version": "2.19", "collection_version": "pii_guard.safeguards 0.1.0", "check_mode": True}  # fmt: skip


class _Tags(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [k for k, _v in attrs if k.startswith("on")]


def _register_findings(value: str) -> tuple[dict, list]:
    """The findings the registers give with ``value`` in their free-text fields (real evaluators)."""
    room = base("system_room", ())["system_room_register"]
    room["room"] = room["inspections"][0]["inspector"] = value
    res = audit_registers.system_room_findings(room, TODAY.isoformat(), 31, 92)
    hosts = {value or "h": list(res.get("findings") or res.get("hosts") or [])} if isinstance(res, dict) else {}
    o = base("outsourcing", ())
    o["outsourcing_contractors"][0]["name"] = o["outsourcing_contractors"][0]["contract_id"] = value
    org = audit_registers.outsourcing_findings(o["outsourcing_contractors"], {}, {"all": ["web1"]}, ["web1"],
                                               TODAY.isoformat())["organisation"]  # fmt: skip
    return hosts, org


@pytest.mark.parametrize("label", _ids(HOSTILE))
def test_register_strings_reach_every_report_writer_as_text(label):
    value = HOSTILE[label]
    hosts, org = _register_findings(value)
    # the device and log strings reach the reports as evidence of host findings
    hosts.setdefault(value or "h", []).append(
        F.finding("6-17.usbguard_rules", "fail", observed=value, expected=value, evidence={"serial": value})
    )
    doc = R.build(hosts, catalog.load(), RUN, organisation=org)
    # JSON: the value comes back (lone surrogates as the writer escapes them)
    back = [f for h in json.loads(R.to_json(doc))["hosts"] for f in h["findings"] if f["id"] == "6-17.usbguard_rules"]
    assert [f["observed"] for f in back] == [json.loads(json.dumps(value))]
    # every file as the action plugin writes it (UTF-8, strict): a value that cannot be encoded lost the report
    outputs = {"json": R.to_json(doc), "csv": R.to_csv(doc), "junit": R.to_junit(doc), "html": report_html.render(doc),
               "oscal": audit_report_action._json(oscal.assessment_results(doc))}  # fmt: skip
    for text in outputs.values():
        text.encode("utf-8")  # strict, as _write opens the files
    # CSV: one row per finding, no cell a spreadsheet would run
    csv.field_size_limit(1 << 24)
    rows = list(csv.reader(io.StringIO(outputs["csv"], newline="")))
    assert len(rows) == 1 + sum(len(h["findings"]) for h in doc["hosts"]) + len(doc["organisation"]["findings"])
    for row in rows[1:]:
        for cell in row:
            assert not re.match("[ \u3000]*[=+\\-@\uff1d\uff0b\uff0d\uff20]|[\t\r]", cell), row
    # HTML: the same tags as with a harmless value; no event handler attribute
    p, ref = _Tags(), _Tags()
    p.feed(report_html.render(doc))
    rh, ro = _register_findings("x")
    rh.setdefault("x", []).append(F.finding("6-17.usbguard_rules", "fail", observed="x", expected="x",
                                            evidence={"serial": "x"}))  # fmt: skip
    ref.feed(report_html.render(R.build(rh, catalog.load(), RUN, organisation=ro)))
    # (an empty value turns a finding into an error: other layout, but never a tag of the value's own)
    live = ("script", "iframe", "object", "embed", "img", "svg", "link", "meta", "style", "form", "input", "base")
    assert [t for t in p.tags if t in live] == [t for t in ref.tags if t in live] and not p.attrs
    # JUnit and OSCAL parse
    ET.fromstring(outputs["junit"].encode("utf-8"))
    json.loads(outputs["oscal"])


# ------------------------------------------------------------------ log and device strings: journal, syslog, terminal


@pytest.mark.parametrize("label", _ids(HOSTILE))
def test_log_user_names_are_one_inert_line_in_journal_syslog_and_terminal(label):
    user = HOSTILE[label]
    alert = {"user": user, "dataset": "citizens", "count": 5000, "window": 60, "threshold": 100,
             "first_event": 1780290000.0, "last_event": 1780290060.0}  # fmt: skip
    text = swc.alert_text(alert)
    # one line of text: no line break, control, bidirectional control or lone surrogate
    unsafe = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
    assert not unsafe.search(text) and text.encode("utf-8"), repr(text)
    value = forward.sd_value(user)
    assert not unsafe.search(value) and not re.search(r'(?<!\\)["\]]', value), repr(value)


# ------------------------------------------------------------------ USB strings from a device, into the register file


@pytest.mark.parametrize("label", _ids(HOSTILE))
def test_device_strings_are_refused_by_name_or_kept_literal_in_the_register_file(label, tmp_path):
    serial = HOSTILE[label]
    device = {"id": "0781:5581", "serial": serial, "name": serial, "storage": True, "hash": None}
    args = {"usb_action": "enrol", "usb_label": "PC-USB-0002", "usb_enrolment_host": "ws1"}
    try:
        picked = usb_register_file.pick_device([device], register=[], serial=None)
        entries = usb_register_file.update([], args, picked, TODAY)
    except (usb_register.RegisterError, usb_register_file.RegisterFileError) as e:
        assert "serial" in str(e) and (serial == "" or repr(serial)[:30] in str(e) or not serial.strip()), str(e)
        return
    if serial:
        assert entries[0]["serial"] == serial
    check_register_file(entries, tmp_path)
