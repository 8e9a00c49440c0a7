#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: download_alert_info
short_description: Clause 6-5 findings for the bulk-download alert agent
version_added: "1.0.0"
description:
  - Reads the state of the pii-download-alert agent on a Linux host and returns clause 6-5
    findings - agent enabled and running, deployed config equal to the expected one (digest)
    with a threshold for every data set, audit watch rules loaded (C(auditctl -l)), pgaudit
    settings active in PostgreSQL, and the threshold review date within its interval.
  - Fails before reading anything else, naming them, when a watched path of an audit data
    set or the directory of a followed log does not exist on the host. The role calls it before
    any change, so this check is the role's last input validation.
  - Read-only; supports check mode (the auditor's path).
author: pii_guard.safeguards contributors (@pii-guard)
options:
  config:
    description: The expected agent config (as built by the C(download_alert_config) filter).
    type: dict
    required: true
  config_path:
    description: Where the agent's config is deployed.
    type: path
    default: /etc/pii-download-alert/config.json
  service:
    description: The agent's systemd unit.
    type: str
    default: pii-download-alert.service
  postgres_user:
    description: OS user that may query PostgreSQL settings over the local socket.
    type: str
    default: postgres
  today:
    description: Date to evaluate the review against (YYYY-MM-DD); the host's date when empty.
    type: str
    default: ""
  changed:
    description: Control ids whose remediation changed something in this run (reported as C(fixed)).
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - pii_guard.safeguards.attributes
  - pii_guard.safeguards.attributes.POSIX
  - pii_guard.safeguards.attributes.INFO_MODULE
notes:
  - In a container the kernel audit subsystem belongs to the host, so the audit rules finding
    is C(not_applicable) there.
"""

EXAMPLES = r"""
- name: Check the download alert agent
  pii_guard.safeguards.download_alert_info:
    config: "{{ download_alert_datasets | pii_guard.safeguards.download_alert_config(download_alert_channels,
              download_alert_reviewed_on, download_alert_review_interval_days) }}"
  register: dl

- name: Hand the findings on
  ansible.builtin.set_fact:
    pii_guard_findings: "{{ pii_guard_findings | default([]) + dl.findings }}"
"""

RETURN = r"""
findings:
  description: Clause 6-5 findings in the common shape.
  returned: always
  type: list
  elements: dict
  sample:
    - id: 6-5.threshold_review
      clause: "6-5"
      status: fail
      observed: reviewed on 2025-01-10, 687 days ago
      expected: reviewed within the last 180 days (due 2025-07-09)
      evidence: {reviewed_on: "2025-01-10", review_interval_days: 180, age_days: 687, due_on: "2025-07-09"}
observed:
  description: What was read from the host.
  returned: always
  type: dict
"""

import datetime
import json
import os

from ansible.module_utils.basic import AnsibleModule
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


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config=dict(type="dict", required=True),
            config_path=dict(type="path", default="/etc/pii-download-alert/config.json"),
            service=dict(type="str", default="pii-download-alert.service"),
            postgres_user=dict(type="str", default="postgres"),
            today=dict(type="str", default=""),
            changed=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    cfg = json.loads(json.dumps(p["config"]))
    missing = [path for path in A.required_paths(cfg) if not os.path.exists(path)]
    if missing:
        module.fail_json(
            msg="download_alert_datasets names paths that do not exist on this host: %s" % ", ".join(missing),
            missing_paths=missing,
        )
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
    obs["unusable_records"] = None
    state_file = cfg.get("state_file", "/var/lib/pii-download-alert/state.json")
    try:
        with open(state_file) as fh:
            counts = json.load(fh).get("unusable")
        if isinstance(counts, dict):
            obs["unusable_records"] = counts
    except (OSError, ValueError, AttributeError):
        pass  # not written yet (fresh install) or set aside by the agent: no counts to show
    obs["in_container"] = host.in_container(module)
    obs["auditctl"] = None
    if not obs["in_container"] and module.get_bin_path("auditctl"):
        rc, out, _err = module.run_command([module.get_bin_path("auditctl"), "-l"])
        if rc == 0:
            obs["auditctl"] = out.splitlines()
    obs["pg_settings"] = None
    if any(d.get("source") == "pgaudit" for d in cfg.get("datasets", [])) and module.get_bin_path("psql"):
        cmd = ["psql", "-XAtc", PG_QUERY]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", p["postgres_user"], "--", *cmd]
        rc, out, _err = module.run_command(cmd, cwd="/")
        if rc == 0:
            obs["pg_settings"] = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    today = p["today"] or datetime.date.today().isoformat()
    findings = A.evaluate(obs, {"config": cfg, "service": p["service"]}, today, changed=p["changed"])
    module.exit_json(changed=False, findings=findings, observed=obs)


if __name__ == "__main__":
    main()
