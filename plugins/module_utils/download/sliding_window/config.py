# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Agent settings: defaults, validation (full-match), escaping of logged values, alert text."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import re


def jmespath_module():
    """python3-jmespath, imported on first use (None when missing): only jsonlog data sets
    need it, and importing it is a large part of the agent's start-up; --check-config says so."""
    try:
        import jmespath
    except ImportError:
        return None
    return jmespath


SOURCES = ("audit", "pgaudit", "jsonlog")
# Stable journal MESSAGE_ID of an alert (32 lowercase hex digits, as journald wants).
MESSAGE_ID = "6d8a0f3c2b5e4c1d9a7f0e6b3c2d1a05"
AUID_UNSET = 4294967295
NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")  # fullmatch: a trailing newline is refused
MAX_THRESHOLD = 10000000
DEFAULTS = {
    "audit_log": "/var/log/audit/audit.log",
    "state_file": "/var/lib/pii-download-alert/state.json",
    "alert_log": "/var/log/pii-download-alert/alerts.jsonl",
    # The alert log is rotated (one previous file, <alert_log>.1) past this size: bounded on disk.
    "alert_log_max_bytes": 8 << 20,
    "checkpoint_interval": 5,
    "max_keys": 100000,
    "max_entries_per_key": 65536,
    # One budget for the entries of all windows (~200 bytes each): keeps the agent well under
    # its unit's MemoryMax=512M whatever max_keys x threshold allows.
    "max_entries": 1000000,
    # Longest log line read; longer lines are counted (line_too_long) and skipped.
    "max_line": 1 << 20,
    # Seconds an audit event may wait, with the input idle, for records that have not come.
    "group_wait": 1,
    "malformed_warning_interval": 60,
    "min_auid": 1000,
    "channels": {"journal": True, "session": True, "webhook": None, "syslog": None},
}


def audit_key(dataset):
    """The audit rule key (-k) of an audit data set: configured, or derived from its name."""
    return dataset.get("key") or "pii_dl_" + dataset["name"].replace("-", "_")


def _nonneg_int(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _positive_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def validate_config(cfg, exists=os.path.exists, check_paths=True):
    """Problems with an agent config (a list of strings; empty when valid).

    ``check_paths`` checks on the filesystem that watched paths exist and that log files'
    directories exist (the agent's --check-config does; controller-side validation cannot).
    """
    errors = []
    if not isinstance(cfg, dict):
        return ["config must be a JSON object, got %s" % type(cfg).__name__]
    known = set(DEFAULTS) | {"datasets", "reviewed_on", "review_interval_days", "utmp", "journal_socket"}
    for k in sorted(set(cfg) - known):
        errors.append("unknown setting %r" % k)
    for k in (
        "checkpoint_interval",
        "group_wait",
        "max_keys",
        "max_entries_per_key",
        "max_entries",
        "max_line",
        "malformed_warning_interval",
        "alert_log_max_bytes",
    ):
        if k in cfg and not _positive_int(cfg[k]):
            errors.append("%s must be a positive integer, got %r" % (k, cfg[k]))
    if "min_auid" in cfg:
        v = cfg["min_auid"]
        # it becomes "-F auid>=N" in the audit rules: a plain number in the uid range only
        if not (isinstance(v, int) and not isinstance(v, bool) and 0 <= v < AUID_UNSET):
            errors.append("min_auid must be an integer 0..%d, got %r" % (AUID_UNSET - 1, v))
    for k in ("audit_log", "state_file", "alert_log"):
        if k in cfg and not (isinstance(cfg[k], str) and cfg[k].startswith("/")):
            errors.append("%s must be an absolute path, got %r" % (k, cfg[k]))
    errors.extend(_channel_errors(cfg.get("channels", {}), exists if check_paths else None))
    if "reviewed_on" in cfg:
        try:
            datetime.date.fromisoformat(str(cfg["reviewed_on"]))
        except ValueError:
            errors.append("reviewed_on must be a date YYYY-MM-DD, got %r" % (cfg["reviewed_on"],))
    if "review_interval_days" in cfg and not _positive_int(cfg["review_interval_days"]):
        errors.append("review_interval_days must be a positive integer, got %r" % (cfg["review_interval_days"],))
    datasets = cfg.get("datasets")
    if not isinstance(datasets, list) or not datasets:
        errors.append("datasets must be a non-empty list")
        return errors
    names = set()
    for i, ds in enumerate(datasets):
        errors.extend(_validate_dataset(i, ds, names, exists, check_paths))
    errors.extend(_budget_errors(datasets, cfg.get("max_entries", DEFAULTS["max_entries"])))
    return errors


def _channel_errors(channels, exists=None):
    if not isinstance(channels, dict):
        return ["channels must be an object, got %r" % (channels,)]
    errors = []
    for k in sorted(set(channels) - {"journal", "session", "webhook", "syslog"}):
        errors.append("unknown alert channel %r (known: journal, session, webhook, syslog)" % k)
    hook = channels.get("webhook")
    if hook is not None:
        url = hook.get("url") if isinstance(hook, dict) else None
        if not (isinstance(url, str) and re.match(r"^https?://[^/\s]+", url)):
            errors.append("channels.webhook.url must be an http(s) URL, got %r" % (url,))
    if channels.get("syslog") is not None:
        from .forward import settings_errors  # forward imports this module

        errors.extend(settings_errors(channels["syslog"]))
        ca = channels["syslog"].get("ca_file") if isinstance(channels["syslog"], dict) else None
        if exists is not None and isinstance(ca, str) and ca.startswith("/") and not exists(ca):
            errors.append("channels.syslog.ca_file %s does not exist" % ca)
    return errors


def _budget_errors(datasets, budget):
    """Audit data sets whose threshold cannot fit in max_entries (one user's window must fit)."""
    errors = []
    if _positive_int(budget):
        for i, ds in enumerate(datasets):
            if isinstance(ds, dict) and ds.get("source") == "audit" and _positive_int(ds.get("threshold")):
                if ds["threshold"] > budget:
                    errors.append(
                        "datasets[%d] (%s): threshold %d exceeds max_entries %d (one user's window must fit the budget)"
                        % (i, ds.get("name"), ds["threshold"], budget)
                    )
    return errors


def _validate_dataset(i, ds, names, exists, check_paths):
    errors = []
    if not isinstance(ds, dict):
        return ["datasets[%d] must be an object, got %r" % (i, ds)]
    name = ds.get("name")
    where = "datasets[%d] (%s)" % (i, name)
    if not (isinstance(name, str) and NAME_RE.fullmatch(name)):
        errors.append("%s: name must match ^%s$, got %r" % (where, NAME_RE.pattern, name))
    elif name in names:
        errors.append("%s: duplicate name %r" % (where, name))
    names.add(name)
    for k in ("threshold", "window"):
        v = ds.get(k)
        if not _positive_int(v):
            errors.append("%s: %s must be a positive integer, got %r" % (where, k, v))
        elif k == "threshold" and v > MAX_THRESHOLD:
            errors.append("%s: threshold %d is above the maximum %d" % (where, v, MAX_THRESHOLD))
    source = ds.get("source")
    if source not in SOURCES:
        errors.append("%s: unknown source %r (known: %s)" % (where, source, ", ".join(SOURCES)))
        return errors
    required = {
        "audit": ("paths",),
        "pgaudit": ("log", "database", "tables"),
        "jsonlog": ("log", "user", "count"),
    }[source]
    allowed = set(required) | {"name", "source", "threshold", "window", "key", "time", "filter"}
    for k in sorted(set(ds) - allowed):
        errors.append("%s: unknown setting %r for source %s" % (where, k, source))
    for k in required:
        if ds.get(k) in (None, "", []):
            errors.append("%s: %s is required for source %s" % (where, k, source))
    if source == "audit":
        errors.extend(_audit_source_errors(where, ds, exists, check_paths))
    else:
        log = ds.get("log")
        if log and not (isinstance(log, str) and log.startswith("/")):
            errors.append("%s: log must be an absolute path, got %r" % (where, log))
        elif log and check_paths and not exists(os.path.dirname(log)):
            errors.append("%s: directory of log %s does not exist" % (where, log))
    if source == "pgaudit":
        tables = ds.get("tables")
        if tables and not (isinstance(tables, list) and all(isinstance(t, str) and t for t in tables)):
            errors.append("%s: tables must be a list of table names, got %r" % (where, tables))
    if source == "jsonlog":
        errors.extend(_jsonlog_errors(where, ds))
    return errors


def _audit_source_errors(where, ds, exists, check_paths):
    """An audit data set's watched paths and rule key."""
    errors = []
    paths = ds.get("paths") or []
    if not isinstance(paths, list):
        errors.append("%s: paths must be a list, got %r" % (where, paths))
        paths = []
    for p in paths:
        # printable (no control, bidi or line separator: Python's splitlines() splits U+2028 and
        # U+0085 too, and `auditctl -l` is read that way), no blank of any kind, no quote
        if not (isinstance(p, str) and p.startswith("/") and p.isprintable()) or re.search(r"[\s\"']", p):
            errors.append("%s: path %r must be absolute, without spaces or quotes" % (where, p))
        elif check_paths and not exists(p):
            errors.append("%s: path %s does not exist" % (where, p))
    key = ds.get("key")
    # not starting with '-': "-k -x" on a rule line or an ausearch command line reads like an option
    # to anyone checking it (getopt itself takes the next word); no key needs a leading dash
    if key is not None and not (isinstance(key, str) and re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,30}", key)):
        errors.append("%s: key must be 1-31 characters [A-Za-z0-9_-], not starting with '-', got %r" % (where, key))
    return errors


def _jsonlog_errors(where, ds):
    """A jsonlog data set's JMESPath expressions, compiled."""
    errors = []
    for k in ("user", "count", "time", "filter"):
        expr = ds.get(k)
        if expr in (None, ""):
            continue
        if not isinstance(expr, str):
            errors.append("%s: %s must be a JMESPath string, got %r" % (where, k, expr))
        elif jmespath_module() is None:
            errors.append("%s: python3-jmespath is needed to compile %s" % (where, k))
        else:
            try:
                jmespath_module().compile(expr)
            except Exception as e:  # jmespath raises several ParseError subclasses
                errors.append("%s: %s %r is not a valid JMESPath expression: %s" % (where, k, expr, e))
    return errors


def effective_config(cfg):
    """cfg with DEFAULTS filled in (channels merged key by key)."""
    out = dict(DEFAULTS)
    out["channels"] = dict(DEFAULTS["channels"])
    for k, v in cfg.items():
        if k == "channels":
            out["channels"].update(v or {})
        else:
            out[k] = v
    return out


# ---------------------------------------------------------------------------- review date
def review_status(reviewed_on, interval_days, today=None):
    """``(ok, age_days, due_on)`` of the threshold review; ok False when older than the interval."""
    today = today or datetime.date.today()
    reviewed = datetime.date.fromisoformat(str(reviewed_on))
    age = (today - reviewed).days
    due = reviewed + datetime.timedelta(days=int(interval_days))
    return age <= int(interval_days) and age >= 0, age, due.isoformat()


# C0 and C1 controls, DEL, the Unicode line/paragraph separators, the bidirectional controls
# (U+202E in a user name reorders how the rest of the alert line displays on a terminal and in the
# journal), lone surrogates (U+D800..U+DFFF: a JSON "\\ud800" in a log line, or an undecodable
# byte of a name from the passwd database, which Python decodes with surrogateescape) and the
# backslash itself
_UNSAFE_RE = re.compile(
    "[\\x00-\\x1f\\x7f-\\x9f\\u061c\\u200e\\u200f\\u2028-\\u202e\\u2066-\\u2069\\ud800-\\udfff\\\\]"
)


_SURROGATE_RE = re.compile("[\\ud800-\\udfff]")


def escape(value):
    """One printable line of valid UTF-8 for a value read from a log or a device (user names,
    data set names, file names): control characters and lone surrogates become ``\\xNN`` /
    ``\\uNNNN``, so that nothing can end a journal field, start a forged ``<0>`` priority line,
    drive a terminal, or fail to encode (a lone surrogate raised UnicodeEncodeError in every
    channel that encodes its text: the agent crashed on the alert and was blind)."""
    return _UNSAFE_RE.sub(_escape_char, str(value))


def is_text(value):
    """True when ``value`` (a str) is valid Unicode text: encodable as UTF-8 (no lone surrogate)."""
    return _SURROGATE_RE.search(value) is None


def json_value(value):
    """A string for a JSON sink (alert log, webhook): the raw value when it is valid Unicode
    (JSON escapes its control characters), else the escaped form (``escape``), as the journal
    has it: RFC 8259 leaves lone surrogates to each reader, and the alert log must be UTF-8."""
    return value if not isinstance(value, str) or is_text(value) else escape(value)


def _escape_char(m):
    c = ord(m.group(0))
    return "\\x%02x" % c if c < 0x100 else "\\u%04x" % c


def alert_text(alert):
    """The one human sentence of an alert (journal MESSAGE, terminal warning), escaped."""
    return "pii-download-alert: user %s read %d records of data set %s within %ds (threshold %d, %s..%s)" % (
        escape(alert["user"]),
        alert["count"],
        escape(alert["dataset"]),
        alert["window"],
        alert["threshold"],
        iso(alert["first_event"]),
        iso(alert["last_event"]),
    )


ALERT_ID_RE = re.compile(r"dl-[0-9a-f]{16}")


def alert_id(host, dataset, user, last_event):
    """The alert's id, stable across runs and restarts: host, data set, user and the time of the
    event that crossed the threshold (ISO UTC), hashed. Acknowledgement registers name it."""
    import hashlib  # here: the OpenSSL binding costs start-up time, and only alerts need it

    text = "\0".join(str(x) for x in (host, dataset, user, last_event))
    return "dl-" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
