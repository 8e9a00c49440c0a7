#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: windows_admin_plan
short_description: Plan Windows administrator privileges of clause 6-6 on the controller
version_added: 0.1.0
description:
  - Action plugin; runs on the Ansible controller and never connects to the Windows host.
  - Called with O(approved_members) only, it validates the input and returns the registry keys to read.
  - Called with the host's state (O(state), from the role's read-only PowerShell script), the connecting
    account (O(operator), from C(ansible.windows.win_whoami)) and the UAC/LAPS registry reads (O(reads)),
    it plans the members of the group with SID C(S-1-5-32-544) (approved members plus the connecting
    account, all by SID), the rename and disabling of the built-in Administrator (RID 500) and the UAC
    values, and reports whether a LAPS policy is present.
  - The shared lock-out guard refuses a plan that would take the connecting account's admin rights
    (for example when connecting as the RID-500 account that the plan disables) unless
    O(allow_self_removal) is true; it fails before any change.
author: pii_guard.safeguards contributors (@pii-guard)
options:
  approved_members:
    description: Approved members of Administrators (C(DOMAIN\name), C(.\name), C(name@domain), a bare name or a SID).
    type: raw
    required: true
  builtin_admin_name:
    description: New name of the built-in Administrator (RID 500).
    type: str
    default: pg-localadmin
  disable_builtin_admin:
    description: Disable the built-in Administrator.
    type: bool
    default: true
  allow_self_removal:
    description: Allow the plan to remove the connecting account's admin rights.
    type: bool
    default: false
  state:
    description:
      - The host's state as read by the role's script (group, members, approved resolved to SIDs, builtin_admin).
    type: dict
  operator:
    description: The C(account) returned by C(ansible.windows.win_whoami).
    type: dict
  operator_groups:
    description:
      - The C(groups) returned by C(ansible.windows.win_whoami) (the connecting account's token groups).
      - A member of Administrators found here is the operator's nested path to admin rights; it is kept as it was.
    type: list
    elements: dict
  reads:
    description: C(ansible.windows.win_reg_stat) results for RV(read_keys) (UAC and LAPS keys).
    type: list
    elements: dict
extends_documentation_fragment:
  - pii_guard.safeguards.attributes
  - pii_guard.safeguards.attributes.CONTROLLER
attributes:
  check_mode:
    support: full
    details: It only computes; nothing is changed on any host.
  diff_mode:
    support: none
    details: Returns the planned changes as data (for the role's apply tasks), not as a diff.
  platform:
    details: Runs on the controller and never connects to the Windows host it plans for.
"""

EXAMPLES = r"""
- name: Validate the approved list
  pii_guard.safeguards.windows_admin_plan:
    approved_members: ['AGENCY\pc-admins', '.\opadmin']
  register: keys
"""

RETURN = r"""
pending_restart:
  description: True when an EnableLUA change waits for a restart (written now or earlier in this boot).
  returned: when O(state) is given
  type: bool
laps:
  description: The active LAPS policy root, its backup directory, the account LAPS manages, and the problems found.
  returned: when O(state) is given
  type: dict
read_keys:
  description: Registry keys to read (UAC and LAPS).
  returned: always
  type: list
  elements: str
membership:
  description:
    - Arguments for ansible.windows.win_group_membership (localised group name, member SIDs, state pure).
    - Null when the members already match.
  returned: when O(state) is given
  type: dict
secpol:
  description: Arguments for community.windows.win_security_policy calls (NewAdministratorName, EnableAdminAccount).
  returned: when O(state) is given
  type: list
  elements: dict
uac_changes:
  description: Arguments for ansible.windows.win_regedit calls setting UAC values.
  returned: when O(state) is given
  type: list
  elements: dict
to_add:
  description: Members to add (sid, name).
  returned: when O(state) is given
  type: list
  elements: dict
to_remove:
  description: Members to remove (sid, name).
  returned: when O(state) is given
  type: list
  elements: dict
findings:
  description: Findings in the common shape for the 6-6 Windows controls.
  returned: when O(state) is given
  type: list
  elements: dict
"""
