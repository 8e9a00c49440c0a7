# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Clause 6-5: build the agent config from role variables and evaluate the observed state of a
host into findings (agent running, config, audit rules, pgaudit, threshold review).

Pure: the download_alert_info module reads the host and hands the observations in.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import json
import posixpath
import re

from ansible.module_utils.parsing.convert_bool import BOOLEANS, boolean
from ansible_collections.pii_guard.safeguards.plugins.module_utils.download import window as dw
from ansible_collections.pii_guard.safeguards.plugins.module_utils.common.findings import finding

DATASET_KEYS = ("name", "source", "threshold", "window", "paths", "key", "database", "tables", "log")
JSONLOG_KEYS = ("user", "count", "time", "filter")
PG_WANTED = {"pgaudit.log_rows": "on", "pgaudit.log_relation": "on"}
# log_min_messages levels at which pgaudit's LOG-level entries are still written
PG_LOG_LEVELS_WRITING_LOG = (
    "debug5",
    "debug4",
    "debug3",
    "debug2",
    "debug1",
    "info",
    "notice",
    "warning",
    "error",
    "log",
)
# A library name in shared_preload_libraries: a file name, optionally under $libdir.
PG_LIBRARY_RE = re.compile(r"(?:\$libdir/)?[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}")
SYSLOG_INTS = (
    "port",
    "enterprise_number",
    "spool_max_messages",
    "spool_max_bytes",
    "connect_timeout",
    "max_message_bytes",
)


def agent_config(datasets, channels, reviewed_on, review_interval_days, settings=None):
    """The agent's JSON config from the role variables (empty/None options left out)."""
    out_ds = []
    for ds in datasets or []:
        item = {}
        for k in DATASET_KEYS + JSONLOG_KEYS:
            v = ds.get(k)
            if v in (None, "", []):
                continue
            if k in JSONLOG_KEYS and ds.get("source") != "jsonlog":
                continue
            item[k] = v
        # No name (empty or missing): no key to derive; config_errors names the missing name.
        if item.get("source") == "audit" and (item.get("key") or isinstance(item.get("name"), str)):
            item["key"] = dw.audit_key(item)
        out_ds.append(item)
    channels = channels or {}
    hook = None
    if channels.get("webhook_url"):
        hook = {"url": channels["webhook_url"], "timeout": int(channels.get("webhook_timeout", 5))}
    cfg = {
        "datasets": out_ds,
        "channels": {
            "journal": bool(channels.get("journal", True)),
            "session": bool(channels.get("session", True)),
            "webhook": hook,
        },
        "reviewed_on": str(reviewed_on),
        "review_interval_days": int(review_interval_days),
    }
    syslog = syslog_channel(channels.get("syslog"))
    if syslog is not None:  # absent when off: configs of hosts without it stay as they were
        cfg["channels"]["syslog"] = syslog
    for k, v in (settings or {}).items():
        if v not in (None, ""):
            cfg[k] = v
    return cfg


def syslog_channel(settings):
    """The agent's syslog channel from download_alert_channels.syslog (None when no host):
    empty options left out, ``-e`` strings of digits and booleans converted; anything else
    is left as given for validation to name."""
    if not isinstance(settings, dict) or settings.get("host") in (None, ""):
        return None
    out = {}
    for k, v in settings.items():
        if v is None or v == "":
            continue
        if k in SYSLOG_INTS and isinstance(v, str) and re.fullmatch(r"[0-9]+", v.strip()):
            v = int(v)
        elif k == "tls" and isinstance(v, str) and v.strip().lower() in BOOLEANS:
            v = boolean(v)
        out[k] = v
    return out


def pg_preload_errors(preload):
    """Problems with download_alert_pg_preload (written into a PostgreSQL conf.d file)."""
    if not isinstance(preload, list):
        return ["download_alert_pg_preload must be a list of library names, got %r" % (preload,)]
    errors = []
    for i, name in enumerate(preload):
        if not (isinstance(name, str) and PG_LIBRARY_RE.fullmatch(name)):
            errors.append(
                "download_alert_pg_preload[%d]: %r is not a library name (letters, digits, _ . -, "
                "optionally after $libdir/)" % (i, name)
            )
    return errors


def config_errors(cfg, pg_preload=None):
    """Controller-side validation (no filesystem checks; --check-config on the host does those)."""
    errors = dw.validate_config(cfg, check_paths=False)
    if pg_preload is not None:
        errors.extend(pg_preload_errors(pg_preload))
    try:
        datetime.date.fromisoformat(str(cfg.get("reviewed_on")))
    except ValueError:
        errors.append("download_alert_reviewed_on must be a date YYYY-MM-DD, got %r" % (cfg.get("reviewed_on"),))
    return sorted(set(errors))


def required_paths(cfg):
    """Paths that must exist on the host before the agent is deployed: every watched path of the
    audit data sets and the directory of every followed log, each once, in config order, then
    the syslog channel's CA file."""
    out = []
    for ds in cfg.get("datasets") or []:
        wanted = list(ds.get("paths") or []) if ds.get("source") == "audit" else []
        if ds.get("log"):
            wanted.append(posixpath.dirname(ds["log"]))
        out.extend(p for p in wanted if p not in out)
    ca = ((cfg.get("channels") or {}).get("syslog") or {}).get("ca_file")
    if ca and ca not in out:  # the syslog channel's CA bundle
        out.append(ca)
    return out


def digest(cfg):
    return hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()


def _watches(datasets):
    """(key, path, arch) of every watch the audit data sets need (b64 and b32 syscalls)."""
    for ds in datasets:
        if ds.get("source") != "audit":
            continue
        key = dw.audit_key(ds)
        for path in ds.get("paths") or []:
            for arch in ("b64", "b32"):
                yield key, path, arch


def audit_rules(datasets, min_auid=1000):
    """auditctl rule lines for the audit data sets (read opens by login users, auid >= min_auid)."""
    min_auid = int(min_auid)
    return [
        "-a always,exit -F arch=%s -S open,openat,openat2 -F dir=%s -F perm=r "
        "-F auid>=%d -F auid!=unset -k %s" % (arch, path, min_auid, key)
        for key, path, arch in _watches(datasets)
    ]


def rules_loaded(datasets, auditctl_lines, min_auid=1000):
    """Which (key, path, arch) watches are missing from ``auditctl -l`` output."""
    missing = []
    for key, path, arch in _watches(datasets):
        want = ("arch=%s" % arch, "dir=%s " % path.rstrip("/"), "auid>=%d " % int(min_auid), "key=%s" % key)
        if not any(all(w in line + " " for w in want) for line in auditctl_lines):
            missing.append("%s %s %s" % (key, arch, path))
    return missing


def pg_log_destination(pg_datasets):
    """The log destination the agent reads for pgaudit data sets: by the log file's suffix
    (.json -> jsonlog, .csv -> csvlog, else the free-text stderr log)."""
    logs = [d.get("log") or "" for d in pg_datasets]
    if logs and all(x.endswith(".json") for x in logs):
        return "jsonlog"
    if logs and all(x.endswith(".csv") for x in logs):
        return "csvlog"
    return "stderr"


def evaluate(observed, expected, today, changed=()):
    """Findings for clause 6-5 from what the module observed.

    observed: {enabled, active, config (dict or None), config_error, auditctl (list or None),
    in_container, pg_settings (dict or None)}; expected: {config, service}; ``changed`` lists
    control ids this run changed (compliant now + changed + not check mode -> fixed).
    """
    cfg = expected["config"]
    datasets = cfg.get("datasets", [])
    return [
        _agent_running(observed, expected["service"], changed),
        _agent_config(observed, cfg, changed),
        _audit_rules_finding(observed, cfg, [d for d in datasets if d.get("source") == "audit"], changed),
        _pgaudit_finding(observed, [d for d in datasets if d.get("source") == "pgaudit"], changed),
        _threshold_review(cfg, today),
    ]


def _status(cid, ok, changed):
    if not ok:
        return "fail"
    return "fixed" if cid in changed else "pass"


def _agent_running(observed, service, changed):
    svc = {"service": service, "enabled": observed.get("enabled"), "active": observed.get("active")}
    running = observed.get("enabled") == "enabled" and observed.get("active") == "active"
    # records the agent read but could not use, per log and reason (from its state file)
    evidence = dict(svc, unusable_records=observed.get("unusable_records"))
    return finding(
        "6-5.agent_running",
        _status("6-5.agent_running", running, changed),
        observed=svc,
        expected={"enabled": "enabled", "active": "active"},
        evidence=evidence,
    )


def _agent_config(observed, cfg, changed):
    seen = observed.get("config")
    want_digest = digest(cfg)
    seen_digest = digest(seen) if seen is not None else None
    no_threshold = [
        d.get("name") for d in (seen or {}).get("datasets", []) if not (d.get("threshold") and d.get("window"))
    ]
    problems = dw.validate_config(seen, check_paths=False) if seen is not None else ["config missing or unreadable"]
    ok = seen_digest == want_digest and not problems and not no_threshold
    return finding(
        "6-5.agent_config",
        _status("6-5.agent_config", ok, changed),
        observed={"digest": seen_digest, "problems": problems, "error": observed.get("config_error")},
        expected={"digest": want_digest},
        evidence={
            "thresholds": [
                {"dataset": d.get("name"), "threshold": d.get("threshold"), "window": d.get("window")}
                for d in (seen or cfg).get("datasets", [])
            ],
            "datasets_without_threshold": no_threshold,
        },
    )


def _audit_rules_finding(observed, cfg, audit_ds, changed):
    min_auid = cfg.get("min_auid", dw.DEFAULTS["min_auid"])
    if not audit_ds:
        return finding("6-5.audit_rules_loaded", "not_applicable", observed="no audit data sets")
    if observed.get("in_container"):
        return finding(
            "6-5.audit_rules_loaded",
            "not_applicable",
            observed="container: the kernel audit subsystem is the host's",
            expected=audit_rules(audit_ds, min_auid),
        )
    lines = observed.get("auditctl")
    missing = rules_loaded(audit_ds, lines or [], min_auid) if lines is not None else ["auditctl -l failed"]
    uring = observed.get("io_uring")
    bypass = io_uring_bypass(uring)
    links = observed.get("outside_links")
    linked = _outside_links_problem(links)
    return finding(
        "6-5.audit_rules_loaded",
        _status("6-5.audit_rules_loaded", not missing and not bypass and not linked, changed),
        observed={"missing": missing, "io_uring_bypass": bypass, "outside_links": linked},
        expected=audit_rules(audit_ds, min_auid),
        evidence={
            "auditctl": [x for x in (lines or []) if "pii" in x or "dir=" in x][:50],
            "io_uring": uring,
            "outside_links": links,
        },
    )


def _outside_links_problem(links):
    """Why reads of some watched files are not recorded: they have hard links outside the
    watched paths (None when they have none). The names elsewhere cannot be found cheaply; the
    files are named, and removing the links is the owner's decision, not the role's."""
    if links is None:
        return "hard links not checked"
    if not links.get("count"):
        return None
    return (
        "%d file(s) under the watched paths have a hard link elsewhere, and reads through it are not recorded "
        "(remove the links, or add the directories that hold them, a backup tree say, to the data set's paths): %s"
        % (
            links["count"],
            ", ".join(links.get("files") or []) + (" ..." if links["count"] > len(links.get("files") or []) else ""),
        )
    )


def io_uring_bypass(state):
    """Why a login user can read the data sets unrecorded through io_uring (None when not).

    io_uring's IORING_OP_OPENAT opens a file without any open system call: the rules above
    never see it, and no io_uring audit rule can name a path (auditd refuses dir=/path= there;
    the kernel records no PATH for an asynchronous open). Only refusing io_uring closes it."""
    if state is None:
        return "io_uring state not read"
    disabled, group = state.get("disabled"), state.get("group")
    if disabled is None:
        if not state.get("present"):
            return None  # a kernel without io_uring
        return (
            "this kernel lets every user open files through io_uring, which no audit rule records, and has "
            "no kernel.io_uring_disabled switch to refuse it (Linux 6.6 and later have it; Debian 12: the "
            "bookworm-backports kernel)"
        )
    if disabled == 0:
        return "kernel.io_uring_disabled is 0: every user can open files through io_uring, which no audit rule records"
    if disabled == 1 and group not in (None, -1):
        return (
            "kernel.io_uring_disabled is 1 with kernel.io_uring_group %d: that group's members can open files "
            "through io_uring, which no audit rule records" % group
        )
    return None


def _pgaudit_finding(observed, pg_ds, changed):
    if not pg_ds:
        return finding("6-5.pgaudit_active", "not_applicable", observed="no pgaudit data sets")
    settings = observed.get("pg_settings")
    bad = ["PostgreSQL settings could not be read"] if settings is None else _pg_problems(settings, pg_ds)
    return finding(
        "6-5.pgaudit_active",
        _status("6-5.pgaudit_active", not bad, changed),
        observed={"problems": bad},
        expected=dict(
            PG_WANTED,
            shared_preload_libraries="includes pgaudit",
            log_min_messages="log or lower",
            log_destination="includes %s" % pg_log_destination(pg_ds),
            **{"pgaudit.log": "read"},
        ),
        evidence={"settings": settings},
    )


def _pg_problems(settings, pg_ds):
    """What in PostgreSQL's settings keeps pgaudit from logging the reads the agent counts."""
    bad = []
    if "pgaudit" not in [x.strip() for x in settings.get("shared_preload_libraries", "").split(",")]:
        bad.append("shared_preload_libraries lacks pgaudit")
    classes = [x.strip().lower() for x in settings.get("pgaudit.log", "").split(",")]
    if not ({"read", "all"} & set(classes)):
        bad.append("pgaudit.log does not cover read")
    for k, v in PG_WANTED.items():
        if settings.get(k) != v:
            bad.append("%s is %r, expected %r" % (k, settings.get(k), v))
    # what pgaudit's entries depend on, as PostgreSQL reports it (pg_settings = SHOW)
    level = settings.get("log_min_messages")
    if level not in PG_LOG_LEVELS_WRITING_LOG:
        bad.append("log_min_messages is %r: pgaudit's LOG entries are not written" % (level,))
    dests = [x.strip() for x in (settings.get("log_destination") or "").split(",")]
    wanted = pg_log_destination(pg_ds)
    if wanted not in dests:
        bad.append("log_destination is %r, the agent reads %s" % (settings.get("log_destination"), wanted))
    if wanted in ("csvlog", "jsonlog") and settings.get("logging_collector") != "on":
        bad.append("logging_collector is %r: %s needs it on" % (settings.get("logging_collector"), wanted))
    return bad


def _threshold_review(cfg, today):
    reviewed_on, interval = cfg.get("reviewed_on"), cfg.get("review_interval_days", 180)
    try:
        ok, age, due = dw.review_status(reviewed_on, interval, datetime.date.fromisoformat(str(today)))
        ev = {"reviewed_on": reviewed_on, "review_interval_days": interval, "age_days": age, "due_on": due}
        ev["today"] = str(today)
        return finding(
            "6-5.threshold_review",
            "pass" if ok else "fail",
            observed="reviewed on %s, %d days ago" % (reviewed_on, age),
            expected="reviewed within the last %d days (due %s)" % (interval, due),
            evidence=ev,
        )
    except (TypeError, ValueError):
        return finding(
            "6-5.threshold_review",
            "fail",
            observed="reviewed_on %r is not a date" % (reviewed_on,),
            expected="a review date YYYY-MM-DD",
        )
