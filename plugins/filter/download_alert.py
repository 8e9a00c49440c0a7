# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of clause 6-5 (download alerts): build and validate the agent config on the
controller, render the audit rules. Thin wrappers over plugins/module_utils/download/audit.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.errors import AnsibleFilterError
from ansible_collections.pii_guard.safeguards.plugins.module_utils.download import audit as A
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils import inputs


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
