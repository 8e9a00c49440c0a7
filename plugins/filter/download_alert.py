# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of clause 6-5 (download alerts): build and validate the agent config on the
controller, render the audit rules, check alerts against the acknowledgement register. Thin
wrappers over plugins/module_utils/download/audit.py and plugins/plugin_utils/registers/download_ack.py.

The acknowledgement functions take the register as data: the action plugin download_alert_ack and
the audit engine hand them the raw inventory variable (never templated); they are deliberately not
Jinja filters, so no task can hand them a templated register."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json

from ansible.errors import AnsibleFilterError
from ansible_collections.pii_guard.safeguards.plugins.module_utils.download import audit as A
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import inputs
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.registers import download_ack


def _plain(value):
    # Templated inventory values may be tagged subclasses; hand plain JSON types to the logic.
    return json.loads(json.dumps(value, default=str))


def download_alert_config(datasets, channels=None, reviewed_on="", review_interval_days=180, settings=None):
    return A.agent_config(_plain(datasets), _plain(channels), reviewed_on, review_interval_days, _plain(settings))


def download_alert_config_errors(cfg, pg_preload=None):
    return A.config_errors(_plain(cfg), _plain(pg_preload) if pg_preload is not None else None)


def download_alert_audit_rules(cfg):
    cfg = _plain(cfg)
    return A.audit_rules(cfg.get("datasets", []), cfg.get("min_auid", 1000))


def _today(today):
    """``today`` (YYYY-MM-DD, download_alert_today) or the controller's UTC date."""
    if today in (None, ""):
        return datetime.datetime.now(datetime.timezone.utc).date()
    day = download_ack.as_date(today)
    if day is None:
        raise AnsibleFilterError("download_alert_today must be a date YYYY-MM-DD, got %s" % download_ack.show(today))
    return day


def download_alert_ack_errors(register, max_days=7, today=""):
    """Every problem of the acknowledgement register and of its age limit (a list of messages)."""
    return download_ack.max_days_errors(_plain(max_days)) + download_ack.register_errors(
        _plain(register), _today(today)
    )


def download_alert_ack_finding(alerts, register, max_days=7, today=""):
    """The 6-5.alerts_acknowledged finding from the host's alerts and the (validated) register."""
    errors = download_alert_ack_errors(register, max_days, today)
    if errors:
        raise AnsibleFilterError("; ".join(errors))
    return download_ack.evaluate(_plain(alerts), _plain(register), _today(today), int(str(_plain(max_days)).strip()))


def download_alert_pg_version(explicit, cluster_dirs=None, debian_version="", cluster="main"):
    version, error = inputs.pg_version_for_host(
        _plain(explicit), _plain(cluster_dirs or []), str(debian_version or ""), str(cluster)
    )
    if error:
        raise AnsibleFilterError(error)
    return version


class FilterModule(object):
    def filters(self):
        return {
            "download_alert_config": download_alert_config,
            "download_alert_config_errors": download_alert_config_errors,
            "download_alert_audit_rules": download_alert_audit_rules,
            "download_alert_pg_version": download_alert_pg_version,
        }
