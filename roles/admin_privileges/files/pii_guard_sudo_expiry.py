#!/usr/bin/python3
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Remove expired pii_guard temporary sudo grants (run by pii-guard-sudo-expiry.timer).

Each grant is /etc/sudoers.d/pii_guard_tmp_<user> with a header line
``# pii_guard-expires: YYYY-MM-DDTHH:MM:SSZ``. Expired grants, and grant files whose expiry
cannot be read (they cannot be proven time-limited), are moved out of sudoers.d into an
archive directory and logged to syslog (authpriv) and the journal. Python 3 stdlib only: it
runs on the endpoint without Ansible.
"""

import argparse
import datetime
import os
import re
import shutil
import sys
import syslog

PREFIX = "pii_guard_tmp_"
EXPIRES_RE = re.compile(r"^# pii_guard-expires: (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})Z[ \t]*(?=\n|\Z)", re.M)


def expiry(text):
    m = EXPIRES_RE.search(text)
    if not m:
        return None
    try:
        return datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)  # noqa: UP017 (endpoint python3 may predate 3.11)
    except ValueError:
        return None


def sweep(directory, archive, now):
    """Move expired grants to ``archive``; return [(name, expiry or None)] of the removed ones."""
    removed = []
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return removed
    for name in names:
        if not name.startswith(PREFIX) or "." in name:
            continue
        path = os.path.join(directory, name)
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                until = expiry(fh.read())
        except OSError:
            continue
        if until is not None and until > now:
            continue
        os.makedirs(archive, mode=0o700, exist_ok=True)
        shutil.move(path, os.path.join(archive, "%s.%s" % (name, now.strftime("%Y%m%dT%H%M%SZ"))))
        removed.append((name, until))
    return removed


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default="/etc/sudoers.d")
    ap.add_argument("--archive", default="/var/lib/pii_guard/expired-grants")
    args = ap.parse_args(argv)
    now = datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017
    removed = sweep(args.dir, args.archive, now)
    syslog.openlog("pii-guard-sudo-expiry", 0, syslog.LOG_AUTHPRIV)
    for name, until in removed:
        msg = "removed temporary sudo grant %s (expired %s)" % (
            name,
            until.strftime("%Y-%m-%dT%H:%M:%SZ") if until else "unreadable expiry",
        )
        syslog.syslog(syslog.LOG_NOTICE, msg)
        print(msg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
