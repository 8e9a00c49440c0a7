# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Documentation: plugins/modules/audit_report.py (ansible-doc reads module docs from there).

import datetime
import json
import os
import re
import socket
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.release import __version__ as ansible_version

from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import catalog as catalog_mod
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import report as report_mod
from ansible_collections.pii_guard.safeguards.plugins.module_utils.common.findings import FindingError
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import bundle, history, merge, oscal, report_html

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


# The registers in inventory an audit reads; the manifest records a digest of each as the run saw it.
REGISTER_VARS = (
    "outsourcing_contractors",
    "system_room_register",
    "usb_storage_devices",
    "admin_privileges_approved_users",
    "admin_privileges_approved_groups",
    "admin_privileges_temporary",
)
MODE = re.compile(r"0?[0-7]{3}")
RUN_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
VAR = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _write(path, text, mode):
    """Write atomically: a reader never sees half a report. mkstemp creates the file 0600."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _json(value):
    return report_mod.encodable(json.dumps(value, ensure_ascii=False, indent=2)) + "\n"


# The playbook variables behind the options, named in error messages (audit.yml, merge_reports.yml).
PLAYBOOK_VAR = {
    "file_mode": "pii_guard_audit_report_file_mode",
    "dir_mode": "pii_guard_audit_report_dir_mode",
    "run_id": "pii_guard_audit_run_id",
}


def _mode(args, name, default):
    """A permission mode given as an octal string ("0600"); ints are refused (YAML reads 0600 as 384)."""
    value = args.get(name, default)
    if not isinstance(value, str) or not MODE.fullmatch(value):
        raise AnsibleActionFail(
            "%s (%s) must be an octal mode string like %r, got %r" % (name, PLAYBOOK_VAR[name], default, value)
        )
    return int(value, 8)


def _opt_str(args, name):
    value = args.get(name)
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise AnsibleActionFail("%s must be a string, got %r" % (name, value))
    return value


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(
        (
            "hosts",
            "organisation_findings",
            "organisation_unresolved",
            "report_dir",
            "fail_on_findings",
            "started_at",
            "catalog_path",
            "file_mode",
            "dir_mode",
            "sign_gpg_key",
            "sign_gnupghome",
            "sign_ssh_key",
            "register_vars",
            "run_id",
            "merge_dirs",
        )
    )

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        opts = _read_options(self._task.args)
        # Signing keys are checked before anything is written: a run set up to sign never leaves
        # an unsigned bundle that looks finished.
        signing = _check_signing(opts)
        hostvars = task_vars.get("hostvars", {})
        hosts = opts["hosts"]
        findings, state, errors, starts, check_modes = _read_hosts(hostvars, hosts)
        registers = _register_digests(hostvars, hosts, opts["register_vars"])
        now = datetime.datetime.now(datetime.timezone.utc)
        run = _run_metadata(self._task.args, task_vars, now, starts, check_modes, signing, opts["run_id"])
        org, slices = opts["org"], []
        if opts["merge_dirs"] is not None:
            findings, org, state, errors, slices = _merge_slices(opts["merge_dirs"], run)
            hosts = sorted(findings)
            registers = {}
        cat, doc = _build(self._task.args, findings, org, state, errors, run)
        if opts["unresolved"]:  # one slice of a sliced job: names for the merge step to resolve
            doc["organisation"]["unresolved_operates"] = sorted(set(_plain(opts["unresolved"])))
        # Against the earlier runs of the same scope kept under report_root (none on a first run).
        doc["changes"], doc["trend"] = history.history(opts["report_root"], doc)
        out = _make_report_dir(opts["report_root"], now, opts["dir_mode"])
        doc["run"]["report_dir"] = out
        files = _write_reports(out, doc, cat, run, opts["file_mode"])
        files["manifest"] = os.path.join(out, bundle.MANIFEST)
        manifest = _manifest(run, doc, hosts, registers, slices, signing)
        _write(files["manifest"], _json(manifest), opts["file_mode"])
        _seal(out, files, opts)
        _point_latest(opts["report_root"], out)
        return _finish(result, doc, out, files, signing, opts["fail_on"])


def _read_options(args):
    """The task's options, validated in the order the errors were always reported."""
    merge_dirs = args.get("merge_dirs")
    if merge_dirs is not None:
        if not isinstance(merge_dirs, list) or not all(isinstance(d, str) and d for d in merge_dirs):
            raise AnsibleActionFail("merge_dirs must be a list of report directories, got %r" % (merge_dirs,))
        if args.get("hosts") or args.get("organisation_findings") or args.get("organisation_unresolved"):
            raise AnsibleActionFail("merge_dirs merges slice reports; do not give hosts or organisation_findings")
        hosts = []
    else:
        hosts = args.get("hosts")
    if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
        raise AnsibleActionFail("hosts must be a list of host names, got %r" % (hosts,))
    run_id = _run_id(args)
    org = args.get("organisation_findings") or []
    if not isinstance(org, list):
        raise AnsibleActionFail("organisation_findings must be a list of findings, got %r" % (org,))
    unresolved = args.get("organisation_unresolved") or []
    if not isinstance(unresolved, list) or not all(isinstance(n, str) for n in unresolved):
        raise AnsibleActionFail("organisation_unresolved must be a list of names, got %r" % (unresolved,))
    try:
        fail_on = boolean(args.get("fail_on_findings", True), strict=True)
    except TypeError:
        raise AnsibleActionFail("fail_on_findings must be a boolean, got %r" % (args.get("fail_on_findings"),))
    report_root = os.path.abspath(os.path.expanduser(str(args.get("report_dir") or "reports")))
    file_mode = _mode(args, "file_mode", "0600")
    dir_mode = _mode(args, "dir_mode", "0700")
    register_vars = args.get("register_vars", list(REGISTER_VARS))
    if not isinstance(register_vars, list) or not all(isinstance(v, str) and VAR.fullmatch(v) for v in register_vars):
        raise AnsibleActionFail("register_vars must be a list of variable names, got %r" % (register_vars,))
    gpg_key, gnupghome = _opt_str(args, "sign_gpg_key"), _opt_str(args, "sign_gnupghome")
    ssh_key = _opt_str(args, "sign_ssh_key")
    return dict(
        merge_dirs=merge_dirs,
        hosts=hosts,
        run_id=run_id,
        org=org,
        unresolved=unresolved,
        fail_on=fail_on,
        report_root=report_root,
        file_mode=file_mode,
        dir_mode=dir_mode,
        register_vars=register_vars,
        gpg_key=gpg_key,
        gnupghome=gnupghome,
        ssh_key=ssh_key,
    )


def _run_id(args):
    run_id = args.get("run_id")
    if run_id in ("", None):
        return None
    if not isinstance(run_id, (str, int)) or not RUN_ID.fullmatch(str(run_id)):
        raise AnsibleActionFail(
            "run_id (%s) must be letters, digits, '.', '_' or '-' (1-64), got %r" % (PLAYBOOK_VAR["run_id"], run_id)
        )
    return run_id


def _check_signing(opts):
    """Fingerprints of the signing keys (resolving their paths in opts); fails before any write."""
    signing = {"signed": False, "gpg_fingerprint": None, "ssh_fingerprint": None, "ssh_namespace": None}
    try:
        if opts["gnupghome"]:
            opts["gnupghome"] = os.path.abspath(os.path.expanduser(opts["gnupghome"]))
        if opts["gpg_key"]:
            signing["gpg_fingerprint"] = bundle.gpg_secret_fingerprint(opts["gpg_key"], opts["gnupghome"])
        if opts["ssh_key"]:
            ssh_key = opts["ssh_key"] = os.path.abspath(os.path.expanduser(opts["ssh_key"]))
            if not os.path.isfile(ssh_key):
                raise bundle.BundleError("sign_ssh_key (pii_guard_audit_sign_ssh_key) %s is not a file" % ssh_key)
            signing["ssh_fingerprint"] = bundle.ssh_fingerprint(ssh_key)
            signing["ssh_namespace"] = bundle.SSH_NAMESPACE
    except bundle.BundleError as e:
        raise AnsibleActionFail("cannot sign the report: %s" % e)
    signing["signed"] = bool(opts["gpg_key"] or opts["ssh_key"])
    return signing


def _read_hosts(hostvars, hosts):
    """Each host's findings, audit state and errors, and the start times and check modes seen."""
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
    return findings, state, errors, starts, check_modes


def _register_digests(hostvars, hosts, register_vars):
    registers = {}
    for name in register_vars:
        seen = dict((h, _plain(hostvars[h][name])) for h in hosts if h in hostvars and name in hostvars[h])
        registers[name] = bundle.digest_value(seen) if seen else None
    return registers


def _run_metadata(args, task_vars, now, starts, check_modes, signing, run_id):
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
        "signing": signing,
    }
    # An installed collection has no checkout (None); its version then names the build.
    run["git_commit"], run["git_dirty"] = bundle.git_commit(COLLECTION_ROOT)
    run["run_id"] = str(run_id) if run_id is not None else None
    return run


def _merge_slices(merge_dirs, run):
    """One report for the slices of one run: their hosts, findings and times, this controller's seal."""
    try:
        loaded = [(os.path.abspath(os.path.expanduser(d)), merge.load(os.path.abspath(os.path.expanduser(d))))
                  for d in merge_dirs]  # fmt: skip
        slices = [(d, m) for d, (_doc, m) in loaded]
        findings, org, state, errors, merged = merge.merge([(d, doc) for d, (doc, _m) in loaded])
    except merge.MergeError as e:
        raise AnsibleActionFail("cannot merge the slice reports: %s" % e)
    run.update(merged)
    run["run_id"] = merged.get("run_id")
    return findings, org, state, errors, slices


def _build(args, findings, org, state, errors, run):
    try:
        cat = catalog_mod.load(args.get("catalog_path"))
        doc = report_mod.build(findings, cat, run, organisation=_plain(org), host_state=state, host_errors=errors)
    except (FindingError, ValueError) as e:
        raise AnsibleActionFail("cannot build the report: %s" % e)
    return cat, doc


def _make_report_dir(report_root, now, dir_mode):
    if not os.path.isdir(report_root):
        os.makedirs(report_root, mode=dir_mode)
        os.chmod(report_root, dir_mode)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    out, n = os.path.join(report_root, stamp), 1
    while True:
        try:
            os.mkdir(out, dir_mode)
            os.chmod(out, dir_mode)  # mkdir's mode passes through the umask
            return out
        except FileExistsError:  # two runs in the same second keep separate reports
            n += 1
            out = os.path.join(report_root, "%s-%d" % (stamp, n))


def _write_reports(out, doc, cat, run, file_mode):
    files = {
        "json": os.path.join(out, "report.json"),
        "xml": os.path.join(out, "report.xml"),
        "html": os.path.join(out, "report.html"),
        "csv": os.path.join(out, "report.csv"),
    }
    _write(files["json"], report_mod.to_json(doc), file_mode)
    _write(files["xml"], report_mod.to_junit(doc), file_mode)
    _write(files["html"], report_html.render(doc), file_mode)
    _write(files["csv"], report_mod.to_csv(doc), file_mode)
    # OSCAL for GRC tools: this run's assessment-results and the catalog as a component-definition.
    files["oscal_assessment_results"] = os.path.join(out, "oscal-assessment-results.json")
    files["oscal_component_definition"] = os.path.join(out, "oscal-component-definition.json")
    _write(files["oscal_assessment_results"], _json(oscal.assessment_results(doc)), file_mode)
    cdef = oscal.component_definition(cat, run["collection_version"], run["finished_at"])
    _write(files["oscal_component_definition"], _json(cdef), file_mode)
    return files


def _manifest(run, doc, hosts, registers, slices, signing):
    return {
        "manifest_version": 1,
        "collection_version": run["collection_version"],
        "git_commit": run["git_commit"],
        "git_dirty": run["git_dirty"],
        "ansible_version": ansible_version,
        "controller": run["controller"],
        "started_at": run["started_at"],
        "finished_at": run["finished_at"],
        "inventory": [{"source": s, "sha256": bundle.digest_source(s)} for s in run["inventory_sources"]]
        if not slices
        else sorted(
            (i for _d, m in slices for i in (m or {}).get("inventory") or []), key=lambda i: str(i.get("source"))
        ),
        "registers_sha256": registers,
        # A merged report: each slice's manifest (its register digests) and the digest of its SHA256SUMS.
        "slices": [
            dict(
                report_dir=d,
                sha256sums=bundle.sha256_file(os.path.join(d, bundle.SUMS)),
                registers_sha256=(m or {}).get("registers_sha256"),
            )
            for d, m in slices
        ],
        "run_id": run["run_id"],
        "limit": run["limit"],
        "tags": run["tags"],
        "skip_tags": run["skip_tags"],
        "hosts": sorted(hosts),
        "result": doc["summary"]["result"],
        "signing": signing,
        "verify": "sha256sum -c SHA256SUMS; see docs/AUDIT.md for the signature checks",
    }


def _seal(out, files, opts):
    """SHA256SUMS and its signatures; the report stays, marked unsealed, when this fails."""
    file_mode, gpg_key, ssh_key = opts["file_mode"], opts["gpg_key"], opts["ssh_key"]
    try:
        files["sums"] = bundle.write_sums(out, file_mode)
        if gpg_key:
            bundle.sign_gpg(out, gpg_key, opts["gnupghome"])
            files["gpg_signature"] = os.path.join(out, bundle.SIG_GPG)
        if ssh_key:
            bundle.sign_ssh(out, ssh_key)
            files["ssh_signature"] = os.path.join(out, bundle.SIG_SSH)
        for k in ("gpg_signature", "ssh_signature"):
            if k in files:
                os.chmod(files[k], file_mode)
    except (bundle.BundleError, OSError) as e:
        raise AnsibleActionFail("the report in %s was written but could not be sealed: %s" % (out, e))


def _point_latest(report_root, out):
    link = os.path.join(report_root, "latest")
    tmp_link = os.path.join(report_root, ".latest-%d" % os.getpid())
    if os.path.lexists(tmp_link):
        os.unlink(tmp_link)
    os.symlink(os.path.basename(out), tmp_link)
    os.replace(tmp_link, link)


def _finish(result, doc, out, files, signing, fail_on):
    lines = report_mod.summary_lines(doc)
    if not signing["signed"]:
        lines.append("report NOT signed (set pii_guard_audit_sign_gpg_key or pii_guard_audit_sign_ssh_key)")
    result.update(
        changed=True,
        report_dir=out,
        files=files,
        result=doc["summary"]["result"],
        summary_lines=lines,
        signing=signing,
    )
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
