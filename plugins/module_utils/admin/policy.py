# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning for clause 6-6 (least administrator privilege): input validation and lock-out guards.

Pure Python, no Ansible imports: used by the Linux module on managed hosts and by the Windows
planning code on the controller.

The shared lock-out guard (Linux and Windows)::

    guard(operator, admins_after, approved, allow_self_removal=False, case_insensitive=False)
        -> list of problems (str); empty list = the plan is safe to apply

    operator      the account Ansible connects as and that must keep its admin path
                  (Linux: the SSH user that becomes root, or "root" over the podman connection;
                  Windows: the WinRM user). None or "" means "unknown" and is itself a problem
                  unless allow_self_removal is true.
    admins_after  the accounts that will hold admin rights once the planned change is applied
                  (the caller expands groups; Linux: who can become root through sudo or is root).
    approved      the approved administrator accounts (users; the caller expands groups).
    case_insensitive  compare names case-insensitively (Windows account names).

    Rules: the approved list is not empty; at least one approved account remains an admin
    (never leave a host with no admin); the operator remains an admin unless
    allow_self_removal is true.

``check_guard(...)`` takes the same arguments and raises ``LockoutError`` with all problems.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

from ansible_collections.pii_guard.safeguards.plugins.module_utils.common.dates import iso_date
from ansible_collections.pii_guard.safeguards.plugins.module_utils.admin import sudoers


class LockoutError(ValueError):
    """The planned change would lock the operator out or leave the host with no admin."""


def _norm(name, case_insensitive):
    name = (name or "").strip()
    return name.lower() if case_insensitive else name


def guard(operator, admins_after, approved, allow_self_removal=False, case_insensitive=False):
    """Return the list of lock-out problems of a plan (empty when safe). See the module docstring."""
    problems = []
    after = set(_norm(a, case_insensitive) for a in (admins_after or []) if _norm(a, case_insensitive))
    appr = [_norm(a, case_insensitive) for a in (approved or []) if _norm(a, case_insensitive)]
    op = _norm(operator, case_insensitive)
    if not appr:
        problems.append("the approved administrator list is empty: refusing to leave the host with no approved admin")
    elif not after.intersection(appr):
        problems.append(
            "no approved administrator would keep admin rights (approved: %s; admins after the change: %s)"
            % (", ".join(sorted(set(appr))), ", ".join(sorted(after)) or "none")
        )
    if not after:
        problems.append("the change would leave the host with no administrator at all")
    if not allow_self_removal:
        if not op:
            problems.append("the connecting account is unknown, so its admin path cannot be protected")
        elif op not in after:
            problems.append(
                "the connecting account %r would lose its path to admin rights "
                "(set admin_privileges_allow_self_removal: true to allow this)" % (operator,)
            )
    return problems


def check_guard(operator, admins_after, approved, allow_self_removal=False, case_insensitive=False):
    """Raise LockoutError listing every problem of :func:`guard`; return None when safe."""
    problems = guard(operator, admins_after, approved, allow_self_removal, case_insensitive)
    if problems:
        raise LockoutError("lock-out guard refused the change: " + "; ".join(problems))


# ------------------------------------------------------------------------- input validation

# POSIX-portable user/group names as useradd accepts them by default on Debian/RHEL.
# Every check is a full match: '$' would accept a trailing newline, which ends a sudoers line.
USER_RE = re.compile(r"[a-z_][a-z0-9_.-]{0,31}\$?")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
# An absolute path of plain characters: it is written inside a quoted sudoers Defaults value.
LOGFILE_RE = re.compile(r"/(?:[A-Za-z0-9_@+-][A-Za-z0-9._@+-]*/)*[A-Za-z0-9_@+-][A-Za-z0-9._@+-]*")
# systemd OnCalendar: the shorthands, or a normalized-looking spec of digits, names, '*', '-',
# ':', '/', ',', '.', '~' and single spaces. Never a newline or '=' (a new unit key).
CALENDAR_SHORTHANDS = frozenset(
    ("minutely", "hourly", "daily", "monthly", "weekly", "yearly", "annually", "quarterly", "semiannually")
)
CALENDAR_RE = re.compile(r"[A-Za-z0-9*,./:~+-]+(?: [A-Za-z0-9*,./:~+-]+){0,3}")
# A command in an approved limited grant: an absolute path and plain arguments (no sudoers
# specials that would change the rule: ',' ':' '=' '(' ')' '\\' '#' '!' or control characters).
COMMAND_RE = re.compile(r"(?:/[A-Za-z0-9._+@-]+)+(?: [A-Za-z0-9._+@/*?\[\]^%=-]+)*|sudoedit(?: /[A-Za-z0-9._+@/-]+)+")
ONE_LINE_RE = re.compile(r"[^\x00-\x1f\x7f]+")
# Groups the collection itself uses for other purposes: policing them as admin groups would
# make the roles fight over their members on every run.
RESERVED_GROUPS = {
    "adm": "download_alert's service user reads /var/log/audit and PostgreSQL logs through it",
    "tty": "download_alert writes terminal warnings through it",
    "root": "root's primary group, not an admin group",
    "systemd-journal": "journal readers, not administrators",
    "postgres": "PostgreSQL's service group (pgaudit logs)",
    "users": "every user's group",
    "nogroup": "the unprivileged group",
}
DEFAULT_ADMIN_GROUPS = ("sudo", "wheel", "admin")


def valid_name(name):
    return isinstance(name, str) and bool(USER_RE.fullmatch(name))


def operator_error(operator, source):
    """The refusal of an operator name that is no user name (the role's admin_privileges_operator)."""
    return "admin_privileges_operator (operator): %r (%s) is not a valid user name; set it explicitly" % (
        operator,
        source,
    )


def valid_logfile(path):
    return isinstance(path, str) and bool(LOGFILE_RE.fullmatch(path)) and "/../" not in path + "/"


def valid_calendar(spec):
    """A strict pattern; the role also asks ``systemd-analyze calendar`` on the host."""
    if not isinstance(spec, str):
        return False
    return spec in CALENDAR_SHORTHANDS or bool(CALENDAR_RE.fullmatch(spec))


UNSET_LOGINUID = 4294967295


def detect_operator(environ, loginuid, effective_user):
    """The account Ansible connected as, seen from the module's process (which may run as root).

    sudo and doas name the invoking user (SUDO_USER, DOAS_USER). Otherwise the kernel's login
    uid, which pam_loginuid sets at SSH login and su keeps, names the account that logged in.
    Otherwise there was no become: the process runs as the connecting account itself (the
    podman connection without become, or an SSH login as root). Returns (name or uid, source).
    ``loginuid`` is the text of /proc/self/loginuid or None; ``effective_user`` maps a uid to a
    name (None when unknown).
    """
    for var in ("SUDO_USER", "DOAS_USER"):
        if environ.get(var):
            return environ[var], var
    try:
        uid = int((loginuid or "").strip())
    except ValueError:
        uid = UNSET_LOGINUID
    if uid != UNSET_LOGINUID and uid >= 0:
        return effective_user(uid) or str(uid), "loginuid"
    return effective_user(None), "effective uid"


def parse_until(value):
    """Parse a grant's expiry into an aware UTC datetime; None when it is not a date.

    Accepts ``YYYY-MM-DD`` (expires at the end of that day, UTC) and ISO 8601 date-times with
    ``T`` or a space and an optional zone (``Z`` or ``+HH:MM``; no zone means UTC). YAML turns
    unquoted dates into date objects, which Ansible stringifies: both forms arrive here.
    """
    if isinstance(value, str) and _DATE_RE.fullmatch(value):
        # no strip: a value with surrounding whitespace or a newline is refused
        value = iso_date(value, strict=True)
    if isinstance(value, datetime.datetime):
        dt = value
    elif isinstance(value, datetime.date):
        if value.year >= 9999:  # the end of 9999-12-31 is past datetime's range (OverflowError)
            return None
        return datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.timezone.utc) + datetime.timedelta(
            days=1
        )
    elif isinstance(value, str):
        text = value
        if text.endswith("Z") or text.endswith("z"):
            text = text[:-1] + "+00:00"
        if not re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", text):
            return None
        try:
            dt = datetime.datetime.fromisoformat(text)
        except (ValueError, OverflowError):
            return None
    else:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    try:
        return dt.astimezone(datetime.timezone.utc)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is past the end of datetime
        return None


def validate(
    approved_users,
    approved_groups,
    admin_groups,
    temporary,
    nopasswd_approved,
    now=None,
    sudo_logfile=None,
    expiry_schedule=None,
    existing_groups=None,
    limited=None,
):
    """Return a list of input errors, each naming the variable and the bad value.

    ``existing_groups`` (the host's group names, or None when not known yet) makes a named
    admin group that does not exist an error (a typo would otherwise police nothing).
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    errors = []
    if not approved_users:
        errors.append("admin_privileges_approved_users is empty: at least one approved administrator is required")
    for var, names in (
        ("admin_privileges_approved_users", approved_users),
        ("admin_privileges_approved_groups", approved_groups),
        ("admin_privileges_admin_groups", admin_groups),
        ("admin_privileges_nopasswd_approved", nopasswd_approved),
    ):
        for i, n in enumerate(names or []):
            if not valid_name(n):
                errors.append(
                    "%s[%d]: %r is not a valid user or group name (expected e.g. 'alice': "
                    "lower-case letters, digits, '_', '.', '-')" % (var, i, n)
                )
    errors.extend(_admin_group_errors(admin_groups, existing_groups))
    if sudo_logfile is not None and not valid_logfile(sudo_logfile):
        errors.append(
            "admin_privileges_sudo_logfile: %r is not a plain absolute path "
            "(expected e.g. /var/log/sudo.log: letters, digits, '._@+-' and '/', no '..')" % (sudo_logfile,)
        )
    if expiry_schedule is not None and not valid_calendar(expiry_schedule):
        errors.append(
            "admin_privileges_expiry_schedule: %r is not a systemd calendar spec "
            "(expected e.g. minutely, hourly or '*-*-* *:00/5:00' on one line)" % (expiry_schedule,)
        )
    for i, g in enumerate(temporary or []):
        errors.extend(_temporary_errors("admin_privileges_temporary[%d]" % i, g, now))
    errors.extend(validate_limited(limited))
    return errors


def _admin_group_errors(admin_groups, existing_groups):
    """Admin groups the collection uses for something else, or (when the host's groups are known) missing."""
    errors = []
    for i, g in enumerate(admin_groups or []):
        if g in RESERVED_GROUPS:
            errors.append(
                "admin_privileges_admin_groups[%d]: %r is used by the collection for another purpose (%s); "
                "it cannot be an admin group" % (i, g, RESERVED_GROUPS[g])
            )
        elif existing_groups is not None and valid_name(g) and g not in existing_groups:
            errors.append(
                "admin_privileges_admin_groups[%d]: group %r does not exist on this host "
                "(a typo would leave the real admin group unpoliced; leave the list empty for the "
                "platform's admin groups that exist: %s)" % (i, g, ", ".join(DEFAULT_ADMIN_GROUPS))
            )
    return errors


def _temporary_errors(where, g, now):
    """Errors of one temporary grant ``{user, until, reason, ticket}``."""
    if not isinstance(g, dict):
        return ["%s: %r is not a mapping with user, until, reason, ticket" % (where, g)]
    errors = []
    if not valid_name(g.get("user")):
        errors.append("%s.user: %r is not a valid user name" % (where, g.get("user")))
    until = parse_until(g.get("until"))
    if until is None:
        errors.append(
            "%s.until: %r is not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, before 9999-12-31)"
            % (where, g.get("until"))
        )
    elif until <= now:
        stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        errors.append("%s.until: %r is in the past (now %s)" % (where, g.get("until"), stamp))
    for k in ("reason", "ticket"):
        v = g.get(k)
        if not isinstance(v, str) or not v.strip() or not ONE_LINE_RE.fullmatch(v):
            errors.append("%s.%s: %r must be a non-empty single line without control characters" % (where, k, v))
    return errors


def validate_limited(limited):
    """Errors of ``admin_privileges_limited_grants``: [{user or group, runas, commands}]."""
    errors = []
    for i, g in enumerate(limited or []):
        where = "admin_privileges_limited_grants[%d]" % i
        if not isinstance(g, dict):
            errors.append("%s: %r is not a mapping with user or group, runas, commands" % (where, g))
            continue
        who = [k for k in ("user", "group") if g.get(k)]
        if len(who) != 1:
            errors.append("%s: give exactly one of user or group (got %r)" % (where, g))
        for k in who:
            if not valid_name(g[k]):
                errors.append("%s.%s: %r is not a valid name" % (where, k, g[k]))
        runas = g.get("runas") or "root"
        if not valid_name(runas):
            errors.append("%s.runas: %r is not a valid user name" % (where, runas))
        cmds = g.get("commands")
        if not isinstance(cmds, list) or not cmds:
            errors.append("%s.commands: %r must be a non-empty list of exact commands" % (where, cmds))
            continue
        for j, c in enumerate(cmds):
            if not isinstance(c, str) or not COMMAND_RE.fullmatch(c):
                errors.append(
                    "%s.commands[%d]: %r is not an exact command (expected an absolute path and plain "
                    "arguments, e.g. '/usr/bin/journalctl -u nginx'; never ALL, a directory or sudoers syntax)"
                    % (where, j, c)
                )
            elif c == "ALL" or c.endswith("/"):
                errors.append("%s.commands[%d]: %r is not a single command" % (where, j, c))
    return errors


# ------------------------------------------------------------------------- sudoers planning

MARKER = "# pii_guard disabled (6-6.sudoers_grants): "
TEMP_PREFIX = "pii_guard_tmp_"
MANAGED_PREFIX = "pii_guard_"
ALWAYS_APPROVED = ("root", "#0")


def principal_approved(item, approved_users, approved_groups, uid_names=None, gid_names=None):
    """Whether one user item of a sudoers line (``alice``, ``%sudo``, ``#1000``, ...) is approved.

    ``approved_groups`` are the groups whose grants are allowed (the policed admin groups,
    whose membership is set to the approved users, plus the explicitly approved groups).
    ``ALL`` and netgroups are never approved: they cannot be limited to approved people.
    """
    uid_names = uid_names or {}
    gid_names = gid_names or {}
    if item in ALWAYS_APPROVED:
        return True
    if item == "ALL" or item.startswith("+"):
        return False
    if item.startswith("%#") or item.startswith("%:#"):
        num = item.lstrip("%:#")
        return num.isdigit() and gid_names.get(int(num)) in approved_groups
    if item.startswith("%:"):
        return item[2:] in approved_groups
    if item.startswith("%"):
        return item[1:] in approved_groups
    if item.startswith("#"):
        num = item[1:]
        return num.isdigit() and (int(num) == 0 or uid_names.get(int(num)) in approved_users)
    return item in approved_users


def is_managed(path):
    """Files named like this collection's own (by name only: never a reason to exempt them)."""
    return path.rsplit("/", 1)[-1].startswith(MANAGED_PREFIX)


_NOAUTH_RE = re.compile(r"(?:^|,)\s*!\s*authenticate\s*(?:,|\Z)")


def _limited_covers(entry, principal, aliases, host, limited, uid_names):
    """Whether every root command of ``entry`` is inside an approved limited grant of ``principal``."""
    mine = []
    for g in limited or []:
        if g.get("user"):
            names = (g["user"],)
            if principal.startswith("#") and principal[1:].isdigit():
                names = (g["user"],) if (uid_names or {}).get(int(principal[1:])) == g["user"] else ()
                if names:
                    mine.append(g)
                continue
            if principal in names:
                mine.append(g)
        elif g.get("group") and principal in ("%" + g["group"], "%:" + g["group"]):
            mine.append(g)
    if not mine:
        return False
    seen = False
    for part in entry["parts"]:
        if not sudoers.part_applies(part, aliases, host):
            continue
        for c in part["cmnds"]:
            if not sudoers.cmnd_active(c) or not sudoers._runas_reaches_root(c["runas"], aliases["runas"]):
                continue
            runas = "root" if c["runas"] is None else None
            if c["runas"] is not None and c["runas"]["users"] == [(False, c["runas"]["users"][0][1])]:
                runas = c["runas"]["users"][0][1]
            for neg, name in sudoers._expand_cmnd(c, aliases["cmnd"]):
                if neg or name == "list":
                    continue  # a denied command narrows the grant; 'list' runs nothing
                seen = True
                ok = any(
                    name in g["commands"]
                    and runas == (g.get("runas") or "root")
                    and (not c["nopasswd"] or g.get("nopasswd"))
                    for g in mine
                )
                if not ok:
                    return False
    return seen


def plan_sudoers(
    parsed,
    approved_users,
    approved_groups,
    nopasswd_approved,
    uid_names=None,
    gid_names=None,
    host=None,
    exempt=(),
    limited=(),
):
    """Decide what to disable in the parsed sudoers configuration.

    Returns ``{"comment": {path: [(line, end_line)]}, "quarantine": [path],
    "nopasswd": {path: [(line, end_line)]}, "unapproved": [evidence], "nopasswd_found": [evidence],
    "limited_kept": [evidence]}``.
    Unapproved root grants in the main file (or a file named by ``#include``) are commented
    out with MARKER; a drop-in (from an included directory) whose every root grant is
    unapproved is quarantined whole, a mixed drop-in gets its bad lines commented.
    ``NOPASSWD`` on ALL commands as root is turned into ``PASSWD`` unless every user item of
    the line is a user in ``nopasswd_approved`` (or root); ``Defaults ... !authenticate`` lines
    (passwordless sudo for everyone they bind) are commented out unless they bind only such
    users. Each of those controls is judged on its own: an unapproved line is also reported
    for NOPASSWD.

    ``host``: a :class:`sudoers.HostInfo`; grants for other hosts only are left alone.
    ``exempt``: paths this module rendered itself and whose content is exactly what it would
    render now (the caller compares); every other file is policed, whatever its name.
    ``limited``: approved limited grants ``[{user | group, runas, commands, nopasswd}]``; a
    line whose every root command lies inside one of them is kept, anything wider is not.
    """
    aliases = sudoers.aliases_of(parsed["entries"])
    exempt = set(exempt or ())
    nopw_ok = set(nopasswd_approved or []) | set(ALWAYS_APPROVED)
    out = {"comment": {}, "quarantine": [], "nopasswd": {}, "unapproved": [], "nopasswd_found": [], "limited_kept": []}
    policy = dict(
        aliases=aliases,
        nopw_ok=nopw_ok,
        approved_users=approved_users,
        approved_groups=approved_groups,
        uid_names=uid_names,
        gid_names=gid_names,
        host=host,
        limited=limited,
    )
    per_file = {}
    defaults_off = {}
    for e in parsed["entries"]:
        if e["file"] in exempt:
            continue
        where = {"file": e["file"], "line": e["line"], "text": e["text"]}
        if e["kind"] == "defaults":
            _police_defaults(e, where, nopw_ok, out, defaults_off)
        elif e["kind"] == "userspec":
            _police_userspec(e, where, policy, out, per_file.setdefault(e["file"], {"good": 0, "bad": []}))
    _dispose(per_file, defaults_off, set(parsed.get("dropins") or []), out)
    return out


def _police_defaults(e, where, nopw_ok, out, defaults_off):
    """A ``Defaults`` line that turns authentication off for someone not NOPASSWD-approved is switched off."""
    if not _NOAUTH_RE.search(_defaults_tail(e)):
        return
    if e["binding"] != "!":
        bound = _defaults_users(e)
        if bound is None or not all(p in nopw_ok for p in bound):
            out["nopasswd_found"].append(dict(where, principals=bound or ["ALL"], via="Defaults !authenticate"))
            defaults_off.setdefault(e["file"], []).append((e["line"], e["end_line"]))
        return
    out["nopasswd_found"].append(dict(where, principals=["ALL"], via="Defaults!command !authenticate"))
    defaults_off.setdefault(e["file"], []).append((e["line"], e["end_line"]))


def _police_userspec(e, where, policy, out, stats):
    """Judge one user specification: unapproved root principals, and NOPASSWD on ALL on its own."""
    aliases, host = policy["aliases"], policy["host"]
    if not sudoers.entry_reaches_root(e, aliases, host):
        # Not root here (another host's grant, or another runas): never quarantine it with the file.
        stats["good"] += 1
        return
    principals = sudoers.user_principals(e, aliases)
    bad = []
    for p in principals:
        if principal_approved(
            p, policy["approved_users"], policy["approved_groups"], policy["uid_names"], policy["gid_names"]
        ):
            continue
        if _limited_covers(e, p, aliases, host, policy["limited"], policy["uid_names"]):
            out["limited_kept"].append(dict(where, principal=p))
            continue
        bad.append(p)
    if bad:
        out["unapproved"].append(dict(where, principals=bad))
        stats["bad"].append((e["line"], e["end_line"]))
    else:
        stats["good"] += 1
    # Judged on its own, whether or not the line is also unapproved (issue 13, point 2).
    if sudoers.entry_nopasswd_all(e, aliases, host):
        not_ok = [p for p in principals if p not in policy["nopw_ok"]]
        if not_ok:
            out["nopasswd_found"].append(dict(where, principals=not_ok, via="NOPASSWD"))
            if not bad:
                out["nopasswd"].setdefault(e["file"], []).append((e["line"], e["end_line"]))


def _dispose(per_file, defaults_off, dropins, out):
    """Quarantine a drop-in whose every root grant is unapproved; comment out bad lines elsewhere."""
    for path, stats in sorted(per_file.items()):
        if not stats["bad"]:
            continue
        if path in dropins and stats["good"] == 0 and path not in defaults_off:
            out["quarantine"].append(path)
            out["nopasswd"].pop(path, None)
        else:
            out["comment"][path] = stats["bad"]
    for path, ranges in sorted(defaults_off.items()):
        if path not in out["quarantine"]:
            out["comment"].setdefault(path, []).extend(ranges)
            out["comment"][path].sort()


def _defaults_tail(e):
    """The parameters of a Defaults line without its binding list."""
    if not e["binding"]:
        return e["params"]
    m = re.fullmatch(r"((?:[^\s,]+\s*,\s*)*[^\s,]+)\s+(.*)", e["params"].strip(), re.S)
    return m.group(2) if m else e["params"]


def _defaults_users(e):
    """The plain user names a ``Defaults:`` line binds, or None when it reaches others too."""
    if e["binding"] != ":":
        return None
    m = re.fullmatch(r"((?:[^\s,]+\s*,\s*)*[^\s,]+)\s+(.*)", e["params"].strip(), re.S)
    if not m:
        return None
    names = [n.strip() for n in m.group(1).split(",")]
    if any(not valid_name(n) for n in names):
        return None  # groups, aliases, uids, negations: not limited to approved users
    return names


_NOPASSWD_RE = re.compile(r"\bNOPASSWD(\s*):")


def edit_text(text, comment=(), nopasswd=()):
    """Apply a plan to one file's text: comment line ranges, turn NOPASSWD into PASSWD."""
    lines = text.split("\n")
    for first, last in nopasswd:
        for i in range(first - 1, min(last, len(lines))):
            lines[i] = _NOPASSWD_RE.sub(r"PASSWD\1:", lines[i])
    for first, last in comment:
        for i in range(first - 1, min(last, len(lines))):
            if not lines[i].startswith(MARKER):
                lines[i] = MARKER + lines[i]
    return "\n".join(lines)


def temporary_file(grant, until):
    """The sudoers drop-in of one temporary grant (the expiry script reads the header).

    ``NOTAFTER`` makes sudo itself refuse the rule after the expiry, even when the timer is
    stopped or the host was off when it should have fired.
    """
    return (
        "# Managed by pii_guard.safeguards (6-6.temporary_grants); removed by pii-guard-sudo-expiry.timer\n"
        "# pii_guard-expires: %s\n"
        "# reason: %s\n"
        "# ticket: %s\n"
        "%s ALL=(ALL:ALL) NOTAFTER=%s ALL\n"
    ) % (
        until.strftime("%Y-%m-%dT%H:%M:%SZ"),
        grant["reason"].strip(),
        grant["ticket"].strip(),
        grant["user"],
        until.strftime("%Y%m%d%H%M%SZ"),
    )


def temporary_name(user):
    """The drop-in name of a user's temporary grant.

    sudo's includedir skips names containing '.' (and ending in '~'): 'j.smith' is written as
    'pii_guard_tmp_j%2Esmith' ('%' never occurs in a valid user name, so names cannot collide).
    """
    return TEMP_PREFIX + user.replace(".", "%2E").replace("~", "%7E")


_EXPIRES_RE = re.compile(r"^# pii_guard-expires: (\S+)[ \t]*(?=\n|\Z)", re.M)


def expiry_of(text):
    """The expiry recorded in a temporary grant file, or None."""
    m = _EXPIRES_RE.search(text or "")
    return parse_until(m.group(1)) if m else None
