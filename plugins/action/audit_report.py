# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Documentation: plugins/modules/audit_report.py (ansible-doc reads module docs from there).

import datetime
import json
import os
import socket
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.release import __version__ as ansible_version

from ansible_collections.pii_guard.safeguards.plugins.module_utils import catalog as catalog_mod
from ansible_collections.pii_guard.safeguards.plugins.module_utils import report as report_mod
from ansible_collections.pii_guard.safeguards.plugins.module_utils.findings import FindingError

COLLECTION_ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
ISO = "%Y-%m-%dT%H:%M:%SZ"


def _plain(value):
    """Deep copy into plain JSON types (templated values may be tagged subclasses)."""
    return json.loads(json.dumps(value, default=str))


def _collection_version():
    import yaml

    for name in ("MANIFEST.json", "galaxy.yml"):
        path = os.path.join(COLLECTION_ROOT, name)
        if os.path.exists(path):
            with open(path, "rb") as fh:
                doc = json.load(fh) if name.endswith(".json") else yaml.safe_load(fh)
            info = doc.get("collection_info", doc)
            return "%s.%s %s" % (info.get("namespace"), info.get("name"), info.get("version"))
    return "unknown"


def _write(path, text):
    """Write atomically: a reader never sees half a report."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(
        ("hosts", "organisation_findings", "report_dir", "fail_on_findings", "started_at", "catalog_path")
    )

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self._task.args
        hosts = args.get("hosts")
        if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
            raise AnsibleActionFail("hosts must be a list of host names, got %r" % (hosts,))
        org = args.get("organisation_findings") or []
        if not isinstance(org, list):
            raise AnsibleActionFail("organisation_findings must be a list of findings, got %r" % (org,))
        try:
            fail_on = boolean(args.get("fail_on_findings", True), strict=True)
        except TypeError:
            raise AnsibleActionFail("fail_on_findings must be a boolean, got %r" % (args.get("fail_on_findings"),))
        report_root = os.path.abspath(os.path.expanduser(str(args.get("report_dir") or "reports")))

        hostvars = task_vars.get("hostvars", {})
        findings, state, errors, starts, check_modes = {}, {}, {}, [], []
        for h in hosts:
            hv = hostvars[h] if h in hostvars else {}
            findings[h] = _plain(hv.get("pii_guard_findings") or [])
            errors[h] = _plain(hv.get("pii_guard_audit_errors") or [])
            st = hv.get("pii_guard_audit_state")
            # started but never closed: the host failed or dropped out part way.
            state[h] = {"complete": "complete", "started": "incomplete", "unreachable": "unreachable"}.get(
                st, "not_audited"
            )
            if hv.get("pii_guard_audit_started_at"):
                starts.append(str(hv.get("pii_guard_audit_started_at")))
            if "pii_guard_audit_check_mode" in hv:
                check_modes.append(boolean(hv.get("pii_guard_audit_check_mode"), strict=False))

        now = datetime.datetime.now(datetime.timezone.utc)
        started = str(args.get("started_at") or (min(starts) if starts else now.strftime(ISO)))
        try:
            start_dt = datetime.datetime.strptime(started, ISO).replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            raise AnsibleActionFail("started_at must be UTC ISO 8601 like 2026-11-28T06:00:00Z, got %r" % started)
        limit = task_vars.get("ansible_limit")
        run = {
            "started_at": started,
            "finished_at": now.strftime(ISO),
            "duration_seconds": round(max(0.0, (now - start_dt).total_seconds()), 1),
            "inventory_sources": [str(s) for s in task_vars.get("ansible_inventory_sources") or []],
            "limit": str(limit) if limit else None,
            "tags": [str(t) for t in task_vars.get("ansible_run_tags") or []],
            "skip_tags": [str(t) for t in task_vars.get("ansible_skip_tags") or []],
            "ansible_version": ansible_version,
            "collection_version": _collection_version(),
            # True only when every audited host ran its checks in check mode.
            "check_mode": bool(check_modes) and all(check_modes),
            "controller": socket.gethostname(),
        }
        try:
            cat = catalog_mod.load(args.get("catalog_path"))
            doc = report_mod.build(findings, cat, run, organisation=_plain(org), host_state=state, host_errors=errors)
        except (FindingError, ValueError) as e:
            raise AnsibleActionFail("cannot build the report: %s" % e)

        os.makedirs(report_root, exist_ok=True)
        stamp = now.strftime("%Y%m%dT%H%M%SZ")
        out, n = os.path.join(report_root, stamp), 1
        while True:
            try:
                os.mkdir(out)
                break
            except FileExistsError:  # two runs in the same second keep separate reports
                n += 1
                out = os.path.join(report_root, "%s-%d" % (stamp, n))
        doc["run"]["report_dir"] = out
        files = {
            "json": os.path.join(out, "report.json"),
            "xml": os.path.join(out, "report.xml"),
            "html": os.path.join(out, "report.html"),
            "csv": os.path.join(out, "report.csv"),
        }
        _write(files["json"], report_mod.to_json(doc))
        _write(files["xml"], report_mod.to_junit(doc))
        _write(files["html"], report_mod.to_html(doc))
        _write(files["csv"], report_mod.to_csv(doc))
        link = os.path.join(report_root, "latest")
        tmp_link = os.path.join(report_root, ".latest-%d" % os.getpid())
        if os.path.lexists(tmp_link):
            os.unlink(tmp_link)
        os.symlink(os.path.basename(out), tmp_link)
        os.replace(tmp_link, link)

        lines = report_mod.summary_lines(doc)
        result.update(changed=True, report_dir=out, files=files, result=doc["summary"]["result"], summary_lines=lines)
        if fail_on and report_mod.failed(doc):
            c = doc["summary"]["counts"]
            result["failed"] = True
            result["msg"] = "audit failed: %d fail, %d error, %d incomplete host(s); report in %s" % (
                c["fail"],
                c["error"],
                len(doc["summary"]["incomplete_hosts"]),
                out,
            )
        else:
            result["msg"] = "report written to %s (result: %s)" % (out, doc["summary"]["result"])
        return result
