#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the work is done on the controller by plugins/action/audit_report.py.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: audit_report
author: pii_guard.safeguards contributors (@pii-guard)
short_description: Write the auditors' report (JSON, JUnit XML, HTML, CSV) from every host's findings
version_added: "0.1.0"
description:
  - Runs on the controller. Reads the host fact C(pii_guard_findings) of every host in O(hosts), adds the
    organisation-level findings (contractor register), labels every finding from the control catalog and writes
    C(report.json), C(report.xml) (JUnit with one testsuite per clause and one testcase per host and control),
    C(report.html) (self-contained, Japanese and English side by side, inline SVG chart per clause, printable)
    and C(report.csv) into C(<report_dir>/<UTC timestamp>/), then points C(<report_dir>/latest) at it.
  - Seals the directory for auditors - C(manifest.json) (collection version and git commit, digests of the
    inventory sources and registers, controller host name, run start and end, signing keys), C(SHA256SUMS) over
    every file (C(sha256sum -c SHA256SUMS) checks it) and optional detached signatures over C(SHA256SUMS) with
    gpg and/or ssh-keygen. Verify a bundle with
    C(python -m ansible_collections.pii_guard.safeguards.plugins.plugin_utils.bundle verify DIR) (see docs/AUDIT.md).
  - Also writes C(oscal-assessment-results.json) and C(oscal-component-definition.json) (OSCAL 1.2) for GRC tools.
  - Files are created C(0600) in C(0700) directories unless O(file_mode) and O(dir_mode) say otherwise.
  - A host of O(hosts) whose audit did not complete (fact C(pii_guard_audit_state) is not C(complete), or the fact
    C(pii_guard_audit_errors) lists a role that failed on it) is listed as incomplete or unreachable, with those
    errors, and makes the report fail.
  - Fails when any finding is C(fail) or C(error) (or a host is incomplete) unless O(fail_on_findings=false);
    the files are written first in every case.
  - Writes only on the controller, also under C(--check) (the report is the product of a verify-only run).
options:
  hosts:
    description:
      - The audited hosts (their C(pii_guard_findings) facts are read from hostvars).
      - Required unless O(merge_dirs) is given.
    type: list
    elements: str
  merge_dirs:
    description:
      - Instead of reading hosts, merge the reports of the slices of one run (AWX job slicing) into one report.
      - Each directory's bundle must verify against its C(SHA256SUMS); the slices must share run id (when set),
        tags, skip tags, limit, collection version and the organisation-level findings, and no host may be in two
        slices. Otherwise nothing is written and the task fails naming the slices.
    type: list
    elements: path
  run_id:
    description:
      - Identifier of the run, shared by the slices of one sliced job (C(playbooks/audit.yml) passes
        C(pii_guard_audit_run_id), else AWX's C(awx_workflow_job_id)); recorded in the report and checked on merge.
    type: str
  organisation_findings:
    description: Findings that belong to the organisation rather than to a host (e.g. the contractor register).
    type: list
    elements: dict
    default: []
  organisation_unresolved:
    description:
      - For one slice of a sliced job (C(pii_guard_audit_sliced=true)), the C(operates) names of the contractor
        register that this slice's inventory does not hold (hosts of other slices, or mistakes). Written to
        the report as C(organisation.unresolved_operates); the merge (O(merge_dirs)) refuses the slices when
        a name is unresolved in every slice.
    type: list
    elements: str
    default: []
  report_dir:
    description: Directory that receives one sub-directory per run and the C(latest) symlink.
    type: path
    default: reports
  fail_on_findings:
    description: Fail the task (and so the play) when any control fails or a host's audit is incomplete.
    type: bool
    default: true
  started_at:
    description: ISO 8601 UTC start of the run; defaults to the earliest C(pii_guard_audit_started_at) host fact.
    type: str
  catalog_path:
    description: The control catalog; defaults to the collection's C(meta/controls.yml).
    type: path
  file_mode:
    description:
      - Permissions of every file of the report directory, an octal string. The reports list sudoers lines,
        device serials and owners, so by default only the owner reads them.
    type: str
    default: "0600"
  dir_mode:
    description: Permissions of the run directory (and of O(report_dir) when this module creates it).
    type: str
    default: "0700"
  sign_gpg_key:
    description:
      - OpenPGP secret key (fingerprint, key id or mail address) that signs C(SHA256SUMS) into C(SHA256SUMS.asc)
        (C(gpg --detach-sign --armor)). The key must sign without a prompt (no passphrase, or one cached in
        gpg-agent). Checked before anything is written.
      - Without O(sign_gpg_key) and O(sign_ssh_key) the bundle is unsigned, and the report says so.
    type: str
  sign_gnupghome:
    description: GnuPG home directory holding O(sign_gpg_key); default gpg's own (C(GNUPGHOME) or C(~/.gnupg)).
    type: path
  sign_ssh_key:
    description:
      - SSH key file that signs C(SHA256SUMS) into C(SHA256SUMS.sig) (C(ssh-keygen -Y sign), namespace
        C(pii-guard-audit-report)); either a private key without passphrase, or a public key whose private half is
        held by ssh-agent.
    type: path
  register_vars:
    description:
      - Inventory registers whose digest C(manifest.json) records (canonical JSON of the value each host saw).
    type: list
    elements: str
    default: [outsourcing_contractors, system_room_register, usb_storage_devices, admin_privileges_approved_users,
              admin_privileges_approved_groups, admin_privileges_temporary]
extends_documentation_fragment:
  - pii_guard.safeguards.attributes
  - pii_guard.safeguards.attributes.CONTROLLER
attributes:
  check_mode:
    support: partial
    details:
      - Never touches managed hosts, but writes the report on the controller in check mode as well
        (the auditor's run is a check-mode run and its report is the point).
  diff_mode:
    support: none
    details: Writes new report files; there is nothing on a host to diff.
  platform:
    details: Runs on the controller only (delegate it to localhost).
notes:
  - C(playbooks/audit.yml) calls it once (run_once, delegated to localhost) at the end of the run.
"""

EXAMPLES = r"""
- name: Write the audit report
  pii_guard.safeguards.audit_report:
    hosts: "{{ ansible_play_hosts_all }}"
    report_dir: /srv/audit/reports
    fail_on_findings: false
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
report_dir:
  description: The directory written by this run.
  returned: always
  type: str
  sample: reports/20261128T061500Z
files:
  description: Paths of the files written.
  returned: always
  type: dict
  sample: {json: reports/20261128T061500Z/report.json, sums: reports/20261128T061500Z/SHA256SUMS}
signing:
  description: How the bundle was signed (C(signed) false when no key was set).
  returned: always
  type: dict
  sample: {signed: true, gpg_fingerprint: 0123456789ABCDEF0123456789ABCDEF01234567, ssh_fingerprint: null,
           ssh_namespace: null}
result:
  description: The overall result of the audit.
  returned: always
  type: str
  sample: fail
summary_lines:
  description: The per-clause summary as a text table (printed by the audit_summary callback).
  returned: always
  type: list
  elements: str
"""
