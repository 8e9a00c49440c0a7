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

from ansible_collections.pii_guard.safeguards.plugins.module_utils import sudoers


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
USER_RE = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}\$?\Z")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")


def valid_name(name):
    return isinstance(name, str) and bool(USER_RE.match(name))


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
    if isinstance(value, datetime.datetime):
        dt = value
    elif isinstance(value, datetime.date):
        if value.year >= 9999:  # the end of 9999-12-31 is past datetime's range (OverflowError)
            return None
        return datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.timezone.utc) + datetime.timedelta(
            days=1
        )
    elif isinstance(value, str):
        text = value.strip()
        if _DATE_RE.match(text):
            try:
                d = datetime.datetime.strptime(text, "%Y-%m-%d")
            except ValueError:
                return None
            if d.year >= 9999:
                return None
            return d.replace(tzinfo=datetime.timezone.utc) + datetime.timedelta(days=1)
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


def validate(approved_users, approved_groups, admin_groups, temporary, nopasswd_approved, now=None):
    """Return a list of input errors, each naming the variable and the bad value."""
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
        for n in names or []:
            if not valid_name(n):
                errors.append("%s: %r is not a valid user or group name (expected e.g. 'alice')" % (var, n))
    for i, g in enumerate(temporary or []):
        where = "admin_privileges_temporary[%d]" % i
        if not isinstance(g, dict):
            errors.append("%s: %r is not a mapping with user, until, reason, ticket" % (where, g))
            continue
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
            if not isinstance(v, str) or not v.strip() or re.search(r"[\x00-\x1f\x7f]", v):
                errors.append("%s.%s: %r must be a non-empty single line" % (where, k, v))
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
    """Files this collection writes itself (temporary grants, logging defaults) are not policed."""
    return path.rsplit("/", 1)[-1].startswith(MANAGED_PREFIX)


def plan_sudoers(parsed, approved_users, approved_groups, nopasswd_approved, uid_names=None, gid_names=None):
    """Decide what to disable in the parsed sudoers configuration.

    Returns ``{"comment": {path: [(line, end_line)]}, "quarantine": [path],
    "nopasswd": {path: [(line, end_line)]}, "unapproved": [evidence], "nopasswd_found": [evidence]}``.
    Unapproved root grants in the main file (or a file named by ``#include``) are commented
    out with MARKER; a drop-in (from an included directory) whose every root grant is
    unapproved is quarantined whole, a mixed drop-in gets its bad lines commented.
    ``NOPASSWD`` on ALL commands as root is turned into ``PASSWD`` unless every user item of
    the line is a user in ``nopasswd_approved`` (or root).
    """
    aliases = sudoers.aliases_of(parsed["entries"])
    out = {"comment": {}, "quarantine": [], "nopasswd": {}, "unapproved": [], "nopasswd_found": []}
    per_file = {}
    for e in parsed["entries"]:
        if e["kind"] != "userspec" or is_managed(e["file"]):
            continue
        if not sudoers.entry_reaches_root(e, aliases):
            continue
        principals = sudoers.user_principals(e, aliases)
        bad = [
            p for p in principals if not principal_approved(p, approved_users, approved_groups, uid_names, gid_names)
        ]
        where = {"file": e["file"], "line": e["line"], "text": e["text"]}
        stats = per_file.setdefault(e["file"], {"good": 0, "bad": []})
        if bad:
            out["unapproved"].append(dict(where, principals=bad))
            stats["bad"].append((e["line"], e["end_line"]))
            continue
        stats["good"] += 1
        if sudoers.entry_nopasswd_all(e, aliases):
            ok = [p for p in principals if p in ALWAYS_APPROVED or p in (nopasswd_approved or [])]
            if len(ok) != len(principals):
                out["nopasswd_found"].append(dict(where, principals=[p for p in principals if p not in ok]))
                out["nopasswd"].setdefault(e["file"], []).append((e["line"], e["end_line"]))
    dropins = set(parsed.get("dropins") or [])
    for path, stats in sorted(per_file.items()):
        if not stats["bad"]:
            continue
        if path in dropins and stats["good"] == 0:
            out["quarantine"].append(path)
            out["nopasswd"].pop(path, None)
        else:
            out["comment"][path] = stats["bad"]
    return out


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
    """The sudoers drop-in of one temporary grant (the expiry script reads the header)."""
    return (
        "# Managed by pii_guard.safeguards (6-6.temporary_grants); removed by pii-guard-sudo-expiry.timer\n"
        "# pii_guard-expires: %s\n"
        "# reason: %s\n"
        "# ticket: %s\n"
        "%s ALL=(ALL:ALL) ALL\n"
    ) % (until.strftime("%Y-%m-%dT%H:%M:%SZ"), grant["reason"].strip(), grant["ticket"].strip(), grant["user"])


_EXPIRES_RE = re.compile(r"^# pii_guard-expires: (\S+)[ \t]*(?=\n|\Z)", re.M)


def expiry_of(text):
    """The expiry recorded in a temporary grant file, or None."""
    m = _EXPIRES_RE.search(text or "")
    return parse_until(m.group(1)) if m else None
