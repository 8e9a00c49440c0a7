# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The download_alert_info module's logic (clause 6-5): ARGUMENT_SPEC and run(module)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ctypes
import datetime
import errno
import json
import os
import socket
import stat

from ansible_collections.pii_guard.safeguards.plugins.module_utils.download import alerts as alert_log
from ansible_collections.pii_guard.safeguards.plugins.module_utils.download import audit as A
from ansible_collections.pii_guard.safeguards.plugins.module_utils.common import host

PG_QUERY = (
    # current_setting() is what SHOW reports: the value PostgreSQL runs with, not the file's
    "select name || '=' || current_setting(name) from pg_settings where name in "
    "('shared_preload_libraries', 'pgaudit.log', 'pgaudit.log_rows', 'pgaudit.log_relation', "
    "'log_min_messages', 'log_destination', 'logging_collector')"
)


def _systemctl(module, verb, unit):
    rc, out, _err = module.run_command(["systemctl", verb, unit])
    return out.strip() or ("unknown" if rc else "")


ARGUMENT_SPEC = dict(
    config=dict(type="dict", required=True),
    config_path=dict(type="path", default="/etc/pii-download-alert/config.json"),
    service=dict(type="str", default="pii-download-alert.service"),
    postgres_user=dict(type="str", default="postgres"),
    today=dict(type="str", default=""),
    changed=dict(type="list", elements="str", default=[]),
    # The audit period: alerts raised on or after today minus this many days are reported.
    alert_period_days=dict(type="int", default=90),
)


def run(module):
    p = module.params
    cfg = json.loads(json.dumps(p["config"]))
    missing = [path for path in A.required_paths(cfg) if not os.path.exists(path)]
    if missing:
        module.fail_json(
            msg="download_alert_datasets (or download_alert_channels.syslog.ca_file) names paths that do not exist "
            "on this host: %s" % ", ".join(missing),
            missing_paths=missing,
        )
    today = p["today"] or datetime.date.today().isoformat()
    obs = observe(module, cfg)
    obs["alerts"] = _alerts(cfg, today, p["alert_period_days"])
    findings = A.evaluate(obs, {"config": cfg, "service": p["service"]}, today, changed=p["changed"])
    module.exit_json(changed=False, findings=findings, observed=obs)


def observe(module, cfg):
    """What the host shows: the unit, the deployed config, the agent's counts, audit rules, pgaudit."""
    p = module.params
    obs = {
        "enabled": _systemctl(module, "is-enabled", p["service"]),
        "active": _systemctl(module, "is-active", p["service"]),
        "config": None,
        "config_error": None,
    }
    try:
        with open(p["config_path"]) as fh:
            obs["config"] = json.load(fh)
    except (OSError, ValueError) as e:
        obs["config_error"] = str(e)
    obs["unusable_records"] = _unusable(cfg.get("state_file", "/var/lib/pii-download-alert/state.json"))
    obs["in_container"] = host.in_container(module)
    obs["auditctl"] = None
    if not obs["in_container"] and module.get_bin_path("auditctl"):
        rc, out, _err = module.run_command([module.get_bin_path("auditctl"), "-l"])
        if rc == 0:
            obs["auditctl"] = out.splitlines()
    obs["io_uring"] = None if obs["in_container"] else io_uring_state()
    watched = [p for ds in cfg.get("datasets") or [] if ds.get("source") == "audit" for p in ds.get("paths") or []]
    obs["outside_links"] = None if obs["in_container"] else outside_links(watched)
    obs["pg_settings"] = _pg_settings(module, cfg)
    return obs


OUTSIDE_LINKS_SHOWN = 20


def outside_links(paths, shown=OUTSIDE_LINKS_SHOWN):
    """Regular files under the watched ``paths`` that have more names than the paths hold: a hard
    link elsewhere, through which a read is outside every dir= rule (the kernel matches a read
    by the directory of the name opened). Returns {"count": n, "files": the first ``shown``}.

    Each inode's names under the paths are collected as a set, so overlapping data set paths do
    not count a name twice; symbolic links are not names of the file (an open through one is
    recorded under the file's own directory)."""
    names = {}  # (st_dev, st_ino) -> [st_nlink, set of names under the paths]
    for top in paths:
        for root, _dirs, files in os.walk(top):
            for name in files:
                path = os.path.join(root, name)
                try:
                    st = os.lstat(path)
                except OSError:
                    continue  # removed meanwhile
                if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
                    names.setdefault((st.st_dev, st.st_ino), [st.st_nlink, set()])[1].add(os.path.normpath(path))
    linked = sorted(min(found) for nlink, found in names.values() if len(found) < nlink)
    return {"count": len(linked), "files": linked[:shown]}


IO_URING_SYSCTL = "/proc/sys/kernel/io_uring_disabled"
IO_URING_GROUP = "/proc/sys/kernel/io_uring_group"
SYS_IO_URING_SETUP = 425  # the same number on every architecture (system calls added since Linux 5.1)


def io_uring_state(sysctl=IO_URING_SYSCTL, group=IO_URING_GROUP):
    """Whether a login user can open files through io_uring, which no audit rule records.

    ``disabled``: kernel.io_uring_disabled (None where the kernel has no such switch: Linux
    < 6.6); ``group``: kernel.io_uring_group, whose members may still use it when disabled is 1;
    ``present``: the kernel has io_uring at all."""
    state = {"disabled": _read_int(sysctl), "group": _read_int(group), "present": True}
    if state["disabled"] is None:
        state["present"] = _io_uring_present()
    return state


def _read_int(path):
    try:
        with open(path) as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None


def _io_uring_present():
    # io_uring_setup(0, NULL) sets nothing up: EINVAL or EFAULT where the kernel has io_uring,
    # ENOSYS where it has not (or where seccomp refuses it, which is as good as not having it)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    if libc.syscall(ctypes.c_long(SYS_IO_URING_SETUP), ctypes.c_long(0), ctypes.c_void_p(None)) >= 0:
        return True  # cannot happen with 0 entries; an fd would mean io_uring is there
    return ctypes.get_errno() not in (errno.ENOSYS, errno.EPERM)


def _alerts(cfg, today, period_days):
    """The alerts raised in the audit period (from the agent's alert log), with their ids."""
    since = datetime.date.fromisoformat(today) - datetime.timedelta(days=max(0, int(period_days)))
    path = cfg.get("alert_log") or A.dw.DEFAULTS["alert_log"]
    return alert_log.read(path, since, socket.gethostname())


def _unusable(state_file):
    try:
        with open(state_file) as fh:
            counts = json.load(fh).get("unusable")
        if isinstance(counts, dict):
            return counts
    except (OSError, ValueError, AttributeError):
        pass  # not written yet (fresh install) or set aside by the agent: no counts to show
    return None


def _pg_settings(module, cfg):
    if not (any(d.get("source") == "pgaudit" for d in cfg.get("datasets", [])) and module.get_bin_path("psql")):
        return None
    cmd = ["psql", "-XAtc", PG_QUERY]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", module.params["postgres_user"], "--", *cmd]
    rc, out, _err = module.run_command(cmd, cwd="/")
    if rc != 0:
        return None
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
