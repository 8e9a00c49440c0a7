# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side input checks shared by the roles' validation entry points (issue 12).

Every check returns a list of errors, each naming the variable path, the value and what is
expected, so a playbook's validation phase can refuse a run before any host is touched.
Values given with ``-e var=value`` arrive as strings: ``as_bool``/``as_int`` coerce them the
way argument specs do (Ansible's own conversion rules) or name the variable when they cannot.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import posixpath
import re

from ansible.module_utils.parsing.convert_bool import BOOLEANS_FALSE, BOOLEANS_TRUE
from ansible_collections.pii_guard.safeguards.plugins.module_utils.common.findings import clause_sort_key
from ansible_collections.pii_guard.safeguards.plugins.module_utils.console import login_audit
from ansible_collections.pii_guard.safeguards.plugins.module_utils.download.sliding_window import forward

# Data sets' review dates further ahead than this are typos (2062 for 2026), not plans.
MAX_FUTURE_REVIEW_DAYS = 366
# augenrules(8) concatenates only /etc/audit/rules.d/*.rules; audit.rules is what it writes.
AUDIT_RULES_PATH_RE = re.compile(r"/etc/audit/rules\.d/[A-Za-z0-9_][A-Za-z0-9_.-]*\.rules\Z")
# A system account name the agent may run as: never root or another existing privileged name.
SERVICE_USER_RE = re.compile(r"[a-z_][a-z0-9_-]{0,31}\Z")
# The PostgreSQL cluster the pgaudit drop-in goes to: /etc/postgresql/<version>/<cluster>/conf.d/.
# Both are path components on the host: no "/" and no leading "." (no traversal, no hidden dir).
PG_VERSION_RE = re.compile(r"[0-9]{1,2}(?:\.[0-9])?\Z")
PG_CLUSTER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}\Z")
# download_alert_pg_version "" (the default): the host's cluster, else the PostgreSQL major its
# Debian release ships (the one `apt install postgresql` installs there).
DEBIAN_POSTGRESQL = {"11": "13", "12": "15", "13": "17"}
PRIVILEGED_USERS = ("root", "daemon", "bin", "sys", "sync", "adm", "sudo", "wheel", "nobody")
MAX_WEBHOOK_TIMEOUT = 60
# logrotate(8) of PostgreSQL's jsonlog file: maxsize as logrotate reads it (bytes, k, M, G).
LOGROTATE_SIZE_RE = re.compile(r"[1-9][0-9]{0,5}[kMG]?\Z")
LOGROTATE_PERIODS = ("daily", "weekly", "monthly")


def show(value):
    """The value as the operator wrote it (JSON, so strings are quoted and newlines visible)."""
    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


class InputError(ValueError):
    """A refused input; the message names the variable and the value."""


def as_bool(name, value):
    """A bool from a bool or a string/int Ansible's argument specs accept as one."""
    if isinstance(value, bool):
        return value
    key = value.strip().lower() if isinstance(value, str) else value
    try:
        if key in BOOLEANS_TRUE:
            return True
        if key in BOOLEANS_FALSE:
            return False
    except TypeError:  # unhashable (a list or a dict)
        pass
    raise InputError("%s must be true or false, got %s" % (name, show(value)))


def as_int(name, value, minimum=None, maximum=None):
    """An int from an int or a string of digits (``-e x=31``); bools and floats are refused."""
    out = None
    if isinstance(value, int) and not isinstance(value, bool):
        out = value
    elif isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]+", value.strip()):
        out = int(value.strip())
    if out is None:
        raise InputError("%s must be an integer, got %s" % (name, show(value)))
    if minimum is not None and out < minimum:
        raise InputError("%s must be at least %d, got %s" % (name, minimum, show(value)))
    if maximum is not None and out > maximum:
        raise InputError("%s must be at most %d, got %s" % (name, maximum, show(value)))
    return out


def iso_day(name, value):
    """A datetime.date from a date or ``YYYY-MM-DD``; the error names the variable."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            pass
    raise InputError("%s must be a date YYYY-MM-DD, got %s" % (name, show(value)))


def collect(*checks):
    """Run callables that raise InputError; return every message (one run names all problems)."""
    errors = []
    for check in checks:
        try:
            check()
        except InputError as e:
            errors.append(str(e))
    return errors


def normalised_abs_path(name, value):
    """An absolute, already normalised path without '..', '.', '//' or control characters."""
    if not isinstance(value, str) or not value.startswith("/"):
        raise InputError("%s must be an absolute path, got %s" % (name, show(value)))
    if (
        re.search(r"[\x00-\x1f\x7f]", value)
        or posixpath.normpath(value) != (value.rstrip("/") or "/")
        or "/../" in value + "/"
    ):
        raise InputError(
            "%s must be a normalised absolute path (no '..', '.', '//' or control characters), got %s; "
            "did you mean %s?" % (name, show(value), show(posixpath.normpath(value)))
        )
    return value


def download_alert_errors(datasets, channels, reviewed_on, service_user, today=None):
    """Inputs of the download_alert role the agent's own config rules do not cover."""
    errors = []
    for i, ds in enumerate(datasets if isinstance(datasets, list) else []):
        if not isinstance(ds, dict):
            continue
        paths = ds.get("paths")
        for j, p in enumerate(paths if isinstance(paths, list) else []):
            name = "download_alert_datasets[%d].paths[%d]" % (i, j)
            errors += collect(lambda p=p, name=name: normalised_abs_path(name, p))
        for k in ("name", "key", "log", "database", "user", "count", "time", "filter"):
            v = ds.get(k)
            if v is not None and not isinstance(v, str):
                errors.append("download_alert_datasets[%d].%s must be a string, got %s" % (i, k, show(v)))
    chan = channels if isinstance(channels, dict) else {}
    if "webhook_timeout" in chan:
        errors += collect(
            lambda: as_int(
                "download_alert_channels.webhook_timeout",
                chan["webhook_timeout"],
                minimum=1,
                maximum=MAX_WEBHOOK_TIMEOUT,
            )
        )
    for k in ("journal", "session"):
        if k in chan:
            errors += collect(lambda k=k: as_bool("download_alert_channels.%s" % k, chan[k]))
    if "syslog" in chan:
        errors += syslog_errors(chan["syslog"])
    url = chan.get("webhook_url")
    if url not in (None, "") and not (isinstance(url, str) and re.fullmatch(r"https?://[^/\s]+(?:/[^\s]*)?", url)):
        errors.append("download_alert_channels.webhook_url must be an http(s) URL without spaces, got %s" % show(url))
    if not (isinstance(service_user, str) and SERVICE_USER_RE.match(service_user)):
        errors.append(
            "download_alert_service_user must be a system user name ([a-z_][a-z0-9_-]*), got %s" % show(service_user)
        )
    elif service_user in PRIVILEGED_USERS:
        errors.append(
            "download_alert_service_user %s is a privileged or shared account: the role runs usermod on it; "
            "use a dedicated account (default pii-dlalert)" % show(service_user)
        )
    if reviewed_on not in (None, ""):
        try:
            day = iso_day("download_alert_reviewed_on", reviewed_on)
            now = today or datetime.date.today()
            if (day - now).days > MAX_FUTURE_REVIEW_DAYS:
                errors.append(
                    "download_alert_reviewed_on %s is more than %d days in the future (a typo?): "
                    "it would hide a stale review" % (show(str(reviewed_on)), MAX_FUTURE_REVIEW_DAYS)
                )
        except InputError as e:
            errors.append(str(e))
    return errors


def pg_jsonlog_rotate_errors(v):
    """The logrotate drop-in of the jsonlog file (the variables ``v`` sets): period, size cap, files kept."""
    errors = []
    name = "download_alert_pg_jsonlog_rotate_"
    period = v.get(name + "period", "weekly")
    if period not in LOGROTATE_PERIODS:
        errors.append("%speriod must be one of %s, got %s" % (name, ", ".join(LOGROTATE_PERIODS), show(period)))
    size = v.get(name + "maxsize", "100M")
    if not (isinstance(size, str) and LOGROTATE_SIZE_RE.match(size)):
        errors.append(
            '%smaxsize must be a logrotate size (digits, then k, M or G; e.g. "100M"), got %s' % (name, show(size))
        )
    if name + "count" in v:
        errors += collect(lambda: as_int(name + "count", v[name + "count"], 1, 1000))
    return errors


def syslog_errors(value, name="download_alert_channels.syslog"):
    """The syslog channel: host (empty: off) as a host name or IP address, port, TLS and its CA
    file, facility, enterprise number and the spool's bounds."""
    if not isinstance(value, dict):
        return ["%s must be a mapping (host, port, tls, ...), got %s" % (name, show(value))]
    errors = ["%s.%s is not an option (known: host, %s)" % (name, k, ", ".join(forward.DEFAULTS))
              for k in sorted(set(value) - set(forward.DEFAULTS) - {"host"})]  # fmt: skip
    host = value.get("host", "")
    if host not in (None, "") and not (isinstance(host, str) and forward.valid_host(host)):
        errors.append("%s.host must be a host name or an IP address (empty: off), got %s" % (name, show(host)))
    bounds = {"port": (1, 65535), "enterprise_number": (1, 4294967295), "spool_max_messages": (1, 1000000),
              "spool_max_bytes": (4096, 1 << 30), "connect_timeout": (1, 60),
              "max_message_bytes": (forward.MIN_MESSAGE_BYTES, forward.MAX_MESSAGE_BYTES)}  # fmt: skip
    for k, (low, high) in bounds.items():
        if value.get(k) not in (None, ""):
            errors += collect(lambda k=k, low=low, high=high: as_int("%s.%s" % (name, k), value[k], low, high))
    if value.get("tls") not in (None, ""):
        errors += collect(lambda: as_bool(name + ".tls", value["tls"]))
    if value.get("ca_file") not in (None, ""):
        errors += collect(lambda: normalised_abs_path(name + ".ca_file", value["ca_file"]))
    facility = value.get("facility")
    if facility not in (None, "") and facility not in forward.FACILITIES:
        errors.append("%s.facility must be one of %s, got %s" % (name, ", ".join(forward.FACILITIES), show(facility)))
    return errors


def audit_rules_path_errors(name, value):
    """A rules file augenrules reads: /etc/audit/rules.d/<name>.rules."""
    if isinstance(value, str) and AUDIT_RULES_PATH_RE.match(value):
        return []
    return [
        "%s must be a file augenrules reads, /etc/audit/rules.d/<name>.rules (not audit.rules, "
        "not another suffix), got %s" % (name, show(value))
    ]


def pam_service_file_errors(name, value):
    """A PAM service file of /etc/pam.d (the console_audit module appends pam_tty_audit to it)."""
    if isinstance(value, str) and login_audit.PAM_SERVICE_FILE_RE.fullmatch(value):
        return []
    return [
        "%s must be a PAM service file /etc/pam.d/<name> (the pam_tty_audit line is appended to it), got %s"
        % (name, show(value))
    ]


def register_strings(var, entries, keys):
    """Register entries whose string fields hold another YAML type (``serial: 0012`` is 10)."""
    errors = []
    for i, e in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(e, dict):
            continue
        for k in keys:
            v = e.get(k)
            if v is not None and not isinstance(v, str) and not isinstance(v, datetime.date):
                errors.append(
                    "%s[%d].%s must be a string (quote it in YAML), got %s %s" % (var, i, k, type(v).__name__, show(v))
                )
            elif isinstance(v, str) and re.search(r"[\x00-\x1f\x7f]", v):
                errors.append("%s[%d].%s has a control character (newline?): %s" % (var, i, k, show(v)))
    return errors


def _tag_key(tag):
    """Clauses and control ids in the catalog's clause order ("6-6", "6-6.x", "6-17", ...)."""
    clause, _dot, name = tag.partition(".")
    return (clause_sort_key(clause), name)


def tag_errors(tags, valid):
    """--tags that name neither a clause, a control id nor an Ansible special tag."""
    special = {"all", "always", "never", "tagged", "untagged"}
    bad = [t for t in tags or [] if t not in valid and t not in special]
    if not bad:
        return []
    return [
        "--tags: %s %s not a clause, a control id of meta/controls.yml or an Ansible special tag; valid: %s"
        % (
            ",".join(bad),
            "is" if len(bad) == 1 else "are",
            ", ".join(sorted(valid, key=_tag_key)),
        )
    ]


def pg_cluster_errors(version, cluster):
    """download_alert_pg_version / _pg_cluster name a directory under /etc/postgresql.

    An empty version is the default: the role derives it from the host (``pg_version_for_host``).
    """
    errors = []
    if isinstance(version, int) and not isinstance(version, bool):
        version = str(version)  # `download_alert_pg_version: 17` in YAML: the argument spec's str takes it
    for name, value, pattern, example in (
        ("download_alert_pg_version", version, PG_VERSION_RE, '"15" (or "" for the host\'s)'),
        ("download_alert_pg_cluster", cluster, PG_CLUSTER_RE, '"main"'),
    ):
        if name == "download_alert_pg_version" and value == "":
            continue
        if not (isinstance(value, str) and pattern.match(value)):
            errors.append(
                "%s must be a PostgreSQL %s such as %s, got %s"
                % (name, "major version" if name.endswith("version") else "cluster name", example, show(value))
            )
    return errors


def pg_version_for_host(explicit, cluster_dirs, debian_version, cluster="main"):
    """The PostgreSQL major of the pgaudit drop-in: ``(version, None)`` or ``(None, error)``.

    ``explicit`` (download_alert_pg_version) wins when set. Else the host decides: the one
    installed major that has the cluster (``cluster_dirs``: the /etc/postgresql/<major>/<cluster>
    directories found there), else the major the host's Debian release ships
    (``debian_version``: the text of /etc/debian_version, "" when unreadable). Several majors
    with that cluster (an upgrade in progress) are refused: the operator picks one.
    """
    if isinstance(explicit, int) and not isinstance(explicit, bool):
        explicit = str(explicit)
    if explicit not in ("", None):
        return explicit, None
    found = set()
    for path in cluster_dirs or []:
        parts = str(path).rstrip("/").split("/")
        if len(parts) >= 2 and parts[-1] == cluster and PG_VERSION_RE.match(parts[-2]):
            found.add(parts[-2])
    if len(found) == 1:
        return found.pop(), None
    if found:
        majors = " and ".join(sorted(found, key=lambda v: [int(x) for x in v.split(".")]))
        return None, (
            "download_alert_pg_version is empty and PostgreSQL %s each have a cluster %s on this host; "
            "set download_alert_pg_version to the one pgaudit is for" % (majors, show(cluster))
        )
    release = str(debian_version or "").strip().split(".", maxsplit=1)[0]
    if release in DEBIAN_POSTGRESQL:
        return DEBIAN_POSTGRESQL[release], None
    return None, (
        "download_alert_pg_version is empty, no PostgreSQL cluster %s is under /etc/postgresql and "
        "the Debian release %s has no known PostgreSQL major (known: %s); set download_alert_pg_version"
        % (show(cluster), show(str(debian_version or "").strip()), ", ".join(sorted(DEBIAN_POSTGRESQL, key=int)))
    )
