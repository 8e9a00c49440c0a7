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
USER_RE = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}\$?$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def valid_name(name):
    return isinstance(name, str) and bool(USER_RE.match(name))


def parse_until(value):
    """Parse a grant's expiry into an aware UTC datetime; None when it is not a date.

    Accepts ``YYYY-MM-DD`` (expires at the end of that day, UTC) and ISO 8601 date-times with
    ``T`` or a space and an optional zone (``Z`` or ``+HH:MM``; no zone means UTC). YAML turns
    unquoted dates into date objects, which Ansible stringifies: both forms arrive here.
    """
    if isinstance(value, datetime.datetime):
        dt = value
    elif isinstance(value, datetime.date):
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
            return d.replace(tzinfo=datetime.timezone.utc) + datetime.timedelta(days=1)
        if text.endswith("Z") or text.endswith("z"):
            text = text[:-1] + "+00:00"
        if not re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", text):
            return None
        try:
            dt = datetime.datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return dt.astimezone(datetime.timezone.utc)


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
                "%s.until: %r is not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)" % (where, g.get("until"))
            )
        elif until <= now:
            stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
            errors.append("%s.until: %r is in the past (now %s)" % (where, g.get("until"), stamp))
        for k in ("reason", "ticket"):
            v = g.get(k)
            if not isinstance(v, str) or not v.strip() or "\n" in v:
                errors.append("%s.%s: %r must be a non-empty single line" % (where, k, v))
    return errors
