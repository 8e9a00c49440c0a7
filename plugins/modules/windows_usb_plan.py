#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: windows_usb_plan
short_description: Plan the Windows removable-media policy of clause 6-17 on the controller
version_added: 0.1.0
description:
  - Action plugin; runs on the Ansible controller and never connects to the Windows host.
  - Validates O(mode) and the device register (O(devices)) and computes every registry value
    the collection manages under C(HKLM\SOFTWARE\Policies\Microsoft\Windows\RemovableStorageDevices),
    C(HKLM\SOFTWARE\Policies\Microsoft\Windows\DeviceInstall\Restrictions) and the USBSTOR/UASPStor
    services, plus the audit subcategories (identified by GUID).
  - Called without O(reads) it returns the plan and the keys to read (RV(read_keys)).
    Called with the C(ansible.windows.win_reg_stat) results in O(reads) and the audit policy in
    O(audit_current) it also returns the C(ansible.windows.win_regedit) and
    C(ansible.windows.win_audit_policy_system) calls needed and findings in the common shape.
  - Bad input fails here, before anything is read or written on a host.
author: pii_guard.safeguards contributors (@pii-guard)
options:
  mode:
    description: C(prohibit), C(agency_issued_only) or C(audit_only) (report, block nothing).
    type: str
    required: true
  devices:
    description: The register of agency-issued devices (see the usb_storage role).
    type: list
    elements: raw
    default: []
  today:
    description: Date used to expire register entries (YYYY-MM-DD); defaults to the controller's date.
    type: str
  host_groups:
    description: Inventory groups of the host, for register entries limited to groups; defaults to C(group_names).
    type: list
    elements: str
  block_smartphones:
    description: Deny read/write for both WPD classes in C(agency_issued_only) (always in C(prohibit)).
    type: raw
    default: true
  block_optical:
    description: Deny read/write for CD/DVD in C(agency_issued_only) (always in C(prohibit)).
    type: raw
    default: true
  allow_model_wide:
    description: Accept register entries without a serial (allowed by hardware ID, model-wide).
    type: bool
    default: false
  windows_instance_ids:
    description:
      - Windows IDs per register label; each list item is a device instance ID (for example the
        C(USBSTOR\DISK&VEN_...\<serial>&0) disk node) or a mapping C(vendor), C(product), C(revision)
        (the stick's SCSI inquiry strings) from which the USBSTOR instance ID is derived with the register serial.
      - A registered stick needs its USBSTOR ID to be allowed (Microsoft's Device Installation Scenario 5).
        Rendered only while the entry is active.
    type: dict
    default: {}
  allow_audio:
    description: Keep USB audio devices installable (setup class MEDIA allowed).
    type: raw
    default: true
  allow_serial:
    description: Keep USB serial adapters installable (setup class Ports allowed).
    type: raw
    default: true
  approved_classes:
    description:
      - Further device setup class GUIDs that stay installable (peripherals the agency approves).
      - Classes that record or transfer files (DiskDrive, CDROM, WPD, SDHost, 1394) are refused.
    type: raw
    default: []
  reads:
    description:
      - The C(ansible.windows.win_reg_stat) results for RV(read_keys), each with C(item) or C(path) set to the key.
    type: list
    elements: dict
  audit_current:
    description: "Current audit policy by subcategory GUID: C({GUID: {name, success, failure}})."
    type: dict
extends_documentation_fragment:
  - pii_guard.safeguards.attributes
  - pii_guard.safeguards.attributes.CONTROLLER
attributes:
  check_mode:
    support: full
    details:
      - It only computes. Findings are C(fail) for drift in check mode and C(fixed) when the role goes on
        to apply the returned changes.
  diff_mode:
    support: none
    details: Returns the registry changes as data (for the role's apply tasks), not as a diff.
  platform:
    details: Runs on the controller and never connects to the Windows host it plans for.
"""

EXAMPLES = r"""
- name: Plan the policy (validates the register)
  pii_guard.safeguards.windows_usb_plan:
    mode: agency_issued_only
    devices: "{{ usb_storage_devices }}"
  register: plan

- name: Read the keys
  ansible.windows.win_reg_stat:
    path: "{{ item }}"
  loop: "{{ plan.read_keys }}"
  register: reads

- name: Compare
  pii_guard.safeguards.windows_usb_plan:
    mode: agency_issued_only
    devices: "{{ usb_storage_devices }}"
    reads: "{{ reads.results }}"
    audit_current: {}
"""

RETURN = r"""
pending_restart:
  description: Controls whose policy was written in this boot and takes effect after a restart.
  returned: when O(reads) is given
  type: list
  elements: str
matrix:
  description: The Windows rows of the device-class matrix with what this mode does to each class.
  returned: always
  type: list
  elements: dict
read_keys:
  description: Registry keys to read with win_reg_stat.
  returned: always
  type: list
  elements: str
values:
  description: Every managed registry value with its desired state (present with data, or absent).
  returned: always
  type: list
  elements: dict
lists:
  description:
    - Managed list keys (AllowInstanceIDs, AllowDeviceIDs, AllowDeviceClasses) with their items.
    - Items null means the key must be absent.
  returned: always
  type: list
  elements: dict
instance_ids:
  description: Device instance IDs allowed in agency_issued_only, derived from the active register entries.
  returned: always
  type: list
  elements: str
register:
  description: Active, inactive (expired/revoked) entries and warnings.
  returned: always
  type: dict
registry_changes:
  description: Arguments for ansible.windows.win_regedit, one call per differing value or key.
  returned: when O(reads) is given
  type: list
  elements: dict
audit_changes:
  description: Arguments for ansible.windows.win_audit_policy_system, with the host's localised subcategory name.
  returned: when O(reads) is given
  type: list
  elements: dict
findings:
  description: Findings in the common shape for the 6-17 Windows controls and the register.
  returned: when O(reads) is given
  type: list
  elements: dict
"""
