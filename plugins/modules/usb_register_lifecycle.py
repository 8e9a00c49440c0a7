#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: usb_register_lifecycle
short_description: Enrol, replace or revoke a device in the clause 6-17 register file on the controller
version_added: 0.1.0
description:
  - Action plugin; runs on the Ansible controller and edits the register file of
    P(pii_guard.safeguards.usbguard_policy#module) (C(usb_storage_devices)) kept in inventory group_vars.
    Used by C(playbooks/usb_devices.yml); option names are that playbook's variables, so an error
    names the variable the operator set.
  - Every input and the current register are validated before anything is written. Serials, labels,
    owners and reasons must be printable, without surrounding blanks, quotes, backslash or the Jinja
    delimiters C({{), C({%) and C({#) (serials printable ASCII).
  - The file is written with every string tagged C(!unsafe), so Ansible reads it as data and never
    templates it; the previous version is kept beside it as C(<file>.<timestamp>~), a name Ansible's
    group_vars loader skips.
  - The file must hold only C(usb_storage_devices); a file with other keys is refused (it is rewritten
    whole). A missing file is refused unless O(usb_register_first=true).
  - With O(usb_enrolment_host) set and no O(enrolment_devices), only validates (the playbook's first step).
  - "The free-text inputs are not options: they are read from the play's variables of these names as data,
    never templated, so that a serial copied from a crafted device's listing cannot run a lookup on the
    controller: C(usb_label) (asset tag of the new device), C(usb_owner), C(usb_new_serial) (picks the device
    on the enrolment host, or with C(usb_new_id) (VID:PID) gives it directly), C(usb_old_serial) (the device
    being replaced), C(usb_serial) (the device to revoke), C(usb_reason) (why it is revoked, default C(lost))."
author: pii_guard.safeguards contributors (@pii-guard)
options:
  usb_action:
    description: C(enrol), C(replace) (revoke C(usb_old_serial) and enrol the new device in one step) or C(revoke).
    type: str
    required: true
    choices: [enrol, replace, revoke]
  usb_register_file:
    description: The register file (YAML with the one key C(usb_storage_devices)).
    type: path
    required: true
  usb_register_first:
    description: The file does not exist yet and this run creates the first register (refused when it exists).
    type: bool
    default: false
  usb_kind:
    description: C(storage), C(smartphone) or C(optical) when the device is given directly.
    type: str
  usb_groups:
    description: Inventory groups allowed to use the new device (default all hosts).
    type: list
    elements: str
  usb_expires_on:
    description: Expiry date (YYYY-MM-DD) of the new device.
    type: str
  usb_today:
    description: Date (YYYY-MM-DD) recorded as issued_on / revoked_on; default today.
    type: str
  usb_enrolment_host:
    description: Inventory host the new device is plugged into (its devices come in O(enrolment_devices)).
    type: str
  usb_storage_allow_model_wide:
    description: Accept register entries without serial or hash.
    type: bool
    default: false
  enrolment_devices:
    description: C(usb_devices) facts of P(pii_guard.safeguards.usb_devices_info#module) on the enrolment host.
    type: list
    elements: dict
  write:
    description: Write the file (false only validates and returns the new register).
    type: bool
    default: false
extends_documentation_fragment:
  - pii_guard.safeguards.attributes
  - pii_guard.safeguards.attributes.CONTROLLER
attributes:
  check_mode:
    support: full
    details: Nothing is written.
  diff_mode:
    support: full
    details: The register file before and after.
  platform:
    details: Runs on the controller, where the register file lives.
"""

EXAMPLES = r"""
- name: Revoke a lost stick (usb_serial and usb_reason are play variables, e.g. -e usb_serial=AGENCY0001)
  pii_guard.safeguards.usb_register_lifecycle:
    usb_action: revoke
    usb_register_file: inventories/prod/group_vars/all/usb_devices.yml
    write: true
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
path:
  description: The register file.
  returned: always
  type: str
register:
  description: The register after the step (or the current one when only validating), dates as ISO strings.
  returned: success
  type: list
  elements: dict
planned:
  description: Whether the step was computed (false in the validation step before the enrolment host is read).
  returned: success
  type: bool
backup_file:
  description: The previous version of the file.
  returned: when written over an existing file
  type: str
"""
