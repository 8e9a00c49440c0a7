#!/usr/bin/env python3
"""Capture real auditd records from a lab VM as parser fixtures (run by hand, rarely).

    python tests/lab/capture_audit.py --release 13     # writes tests/fixtures/auditd/debian13-*

Boots the release's VM, loads the download-alert rule for /srv/pii (as the role writes it),
and has the operator `labop` (a login user: pam_loginuid gives it auid 1000) read files over
SSH: `cat` of single files, a file read twice, a `tar` of a directory (opens the directory
too; to a pipe, as with /dev/null as the archive GNU tar reads no file), a failed open and a
read under an unwatched path. It does so once with auditd's
log_format ENRICHED (Debian's default) and once with RAW, and writes for each format:

    debian<R>-auditd<version>-<format>.log    the audit.log lines of that run, as written
    debian<R>-auditd<version>.json            what was read: inodes, device, auid, user, versions

Only the lab's synthetic data (/srv/pii/residents) appears in the records.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.lab import image  # noqa: E402
from tests.lab.vm import VM  # noqa: E402

OUT = HERE.parents[1] / "tests" / "fixtures" / "auditd"
KEY = "pii_dl_citizens"
RULES = [
    f"-a always,exit -F arch={arch} -S open,openat,openat2 -F dir=/srv/pii -F perm=r "
    f"-F auid>=1000 -F auid!=unset -k {KEY}"
    for arch in ("b64", "b32")
]
SINGLE = [f"/srv/pii/residents/resident-{i:04d}.csv" for i in (1, 2, 3)]
TAR_DIR = "/srv/pii/batch"
TAR_FILES = [f"{TAR_DIR}/resident-{i:04d}.csv" for i in range(10, 15)]


def capture(vm: VM, fmt: str) -> tuple[str, dict]:
    sudo = lambda cmd: vm.ssh("sudo sh -c " + shlex.quote(cmd), timeout=300).stdout  # noqa: E731
    sudo(
        f"sed -i -E 's/^log_format *=.*/log_format = {fmt}/' /etc/audit/auditd.conf && "
        "systemctl restart auditd && sleep 2 && auditctl -D >/dev/null && "
        # quoted: "auid>=1000" is a redirection to a shell
        + " && ".join("auditctl " + shlex.join(r.split()) for r in RULES)
    )
    mark = sudo("wc -l < /var/log/audit/audit.log").strip()
    # A fresh login each time: auid comes from pam_loginuid at login.
    vm.ssh(f"cat {SINGLE[0]} {SINGLE[1]} > /dev/null", fresh=True)
    vm.ssh(f"cat {SINGLE[2]} {SINGLE[0]} > /dev/null")  # SINGLE[0] a second time: one file
    # To a pipe: GNU tar does not read the files at all when the archive is /dev/null.
    vm.ssh(f"tar -C / -cf - {TAR_DIR.lstrip('/')} | cat > /dev/null")
    vm.ssh("cat /srv/pii/residents/no-such-file.csv > /dev/null 2>&1 || true")  # failed open
    vm.ssh("cat /etc/hostname > /dev/null")  # not watched
    time.sleep(3)
    lines = sudo(f"tail -n +{int(mark) + 1} /var/log/audit/audit.log")
    stat = sudo(f"stat -c '%n %i %D' {' '.join(SINGLE + TAR_FILES)} {TAR_DIR}")
    inodes = {}
    dev = ""
    for row in stat.splitlines():
        name, ino, dev_hex = row.split()
        inodes[name] = int(ino)
        dev = dev_hex
    return lines, {"inodes": inodes, "st_dev_hex": dev}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--release", default="13", type=image.release)
    args = ap.parse_args()
    os.environ["PII_GUARD_LAB_RELEASE"] = args.release
    vm = VM(release=args.release)
    vm.start(timeout=900)
    try:
        sudo = lambda cmd: vm.ssh("sudo sh -c " + shlex.quote(cmd), timeout=300).stdout  # noqa: E731
        sudo(f"mkdir -p {TAR_DIR} && for f in {' '.join(TAR_FILES)}; do cp /srv/pii/residents/$(basename $f) $f; done")
        versions = {
            "kernel": sudo("uname -r").strip(),
            "auditd": sudo("dpkg-query -W -f '${Version}' auditd").strip(),
            "debian": sudo("cat /etc/debian_version").strip(),
        }
        auid = int(sudo("cat /proc/self/loginuid").strip())
        meta = {
            "release": args.release,
            "versions": versions,
            "key": KEY,
            "rules": RULES,
            "auid": auid,
            "user": "labop",
            "single_files": SINGLE,
            "tar_dir": TAR_DIR,
            "tar_files": TAR_FILES,
            # every regular file opened for reading, each once or more (SINGLE[0] twice)
            "files_read": SINGLE + TAR_FILES,
            "captured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "formats": {},
        }
        short = versions["auditd"].split("-")[0].split(":")[-1]
        OUT.mkdir(parents=True, exist_ok=True)
        for fmt in ("ENRICHED", "RAW"):
            lines, info = capture(vm, fmt)
            name = f"debian{args.release}-auditd{short}-{fmt.lower()}.log"
            (OUT / name).write_text(lines)
            meta["formats"][fmt] = {"file": name, **info}
            print(f"{name}: {len(lines.splitlines())} records")
        sudo("sed -i -E 's/^log_format *=.*/log_format = ENRICHED/' /etc/audit/auditd.conf")
        (OUT / f"debian{args.release}-auditd{short}.json").write_text(json.dumps(meta, indent=2) + "\n")
    finally:
        vm.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
