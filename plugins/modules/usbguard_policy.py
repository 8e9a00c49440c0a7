#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: usbguard_policy
short_description: Enforce the clause 6-17 USB policy with USBGuard and the kernel
version_added: "1.0.0"
description:
  - Builds USBGuard rules from the policy mode and the register of agency-issued devices,
    validates them with usbguard's own parser (C(usbguard-rule-parser)), and writes them
    atomically with mode 0600 to a file in the daemon's C(RuleFolder), keeping a backup.
  - Sets the daemon configuration keys the clause needs (C(ImplicitPolicyTarget=block),
    C(PresentDevicePolicy=apply-policy), IPC restricted, C(AuditBackend=LinuxAudit)).
  - Keyboards, mice, hubs and smartcard readers (interface classes 03, 09 and 0b) are always allowed; a device is
    judged by all its interfaces (C(with-interface match-all)). The device-class matrix is docs/device_classes.md.
  - Rules and configuration are in place before the daemon is (re)started.
  - In C(prohibit) mode also writes a modprobe.d drop-in (C(install usb-storage /bin/false),
    C(install uas /bin/false)) so storage stays impossible even if the daemon is stopped.
  - Outside C(audit_only) also blocks the buses usbguard does not see, each unless its switch allows it,
    SD/MMC cards (C(mmc_block)), Thunderbolt/USB4 (C(thunderbolt)) and FireWire (C(firewire_sbp2),
    C(firewire_ohci)) by a second modprobe.d drop-in, Bluetooth file transfer by masking C(obex.service).
  - Revoked and expired register entries are never rendered; they are reported.
  - Returns findings in the collection's common shape with evidence (rules digest, daemon
    state, connected devices and whether each is authorized as the policy says).
author: pii_guard.safeguards contributors (@pii-guard)
options:
  mode:
    description:
      - C(prohibit) allows only keyboards, mice and hubs.
      - C(agency_issued_only) additionally allows the active register entries.
      - C(audit_only) renders the same rules plus a final catch-all C(allow) (nothing is blocked,
        the daemon still audits) and reports which connected devices would be blocked.
    type: str
    required: true
    choices: [prohibit, agency_issued_only, audit_only]
  devices:
    description: The register of agency-issued devices (see the usb_storage role's C(usb_storage_devices)).
    type: list
    elements: dict
    default: []
  host_groups:
    description: Inventory groups of this host; register entries with C(groups) apply only to hosts in them.
    type: list
    elements: str
    default: []
  allow_model_wide:
    description: Accept register entries without serial or hash (they allow every device of that VID:PID).
    type: bool
    default: false
  block_smartphones:
    description:
      - Block smartphones (MTP C(ff:ff:00), PTP/MTP C(06:01:01)) unless they are in the register.
      - When false, devices whose interfaces are all MTP/PTP are allowed in C(agency_issued_only) mode.
    type: bool
    default: true
  block_optical:
    description: Block optical drives even when registered (register entries of C(kind=optical) are not rendered).
    type: bool
    default: true
  allow_audio:
    description:
      - Allow USB audio devices (interface class 01) in every mode, like keyboards.
      - Every interface of the device must be of an allowed class (a headset with storage stays blocked).
    type: bool
    default: false
  allow_serial:
    description:
      - Allow CDC-ACM serial adapters (interfaces 02:02 and 0a) in every mode.
      - Vendor-specific serial chips (interface ff) stay blocked.
    type: bool
    default: false
  allow_sd_mmc:
    description:
      - Let SD/MMC cards in internal readers be used. When false, in C(prohibit) and C(agency_issued_only)
        the drop-in O(bus_modprobe_path) keeps C(mmc_block) from loading (no C(/dev/mmcblk*)).
      - A host that runs from an SD/MMC device (mount, swap, device-mapper member) is refused before any change.
    type: bool
    default: false
  allow_thunderbolt:
    description:
      - Let Thunderbolt/USB4 devices be authorized. When false the C(thunderbolt) driver cannot load, so
        nothing in the OS can authorize a device's PCIe tunnel (a firmware security level C(none) is reported).
    type: bool
    default: false
  allow_firewire:
    description: Let FireWire be used. When false C(firewire_sbp2) and C(firewire_ohci) cannot load.
    type: bool
    default: false
  allow_bluetooth_transfer:
    description:
      - Let Bluetooth file transfer (OBEX) run. When false the user unit C(obex.service) and its D-Bus alias
        are masked for every user (empty files in O(user_unit_dir)); an obexd already running is reported.
    type: bool
    default: false
  sysfs_path:
    description:
      - Root of sysfs, read for the non-USB rows of the device-class matrix (SD/MMC, Thunderbolt, FireWire, Bluetooth)
        and the loaded kernel modules.
    type: path
    default: /sys
  proc_path:
    description: Root of procfs (mounts, swaps, running obexd).
    type: path
    default: /proc
  bus_modprobe_path:
    description:
      - The modprobe.d drop-in blocking SD/MMC, Thunderbolt and FireWire drivers (removed when nothing is blocked).
    type: path
    default: /etc/modprobe.d/pii-guard-buses.conf
  user_unit_dir:
    description: The systemd user unit directory for every user, where the OBEX masks are written.
    type: path
    default: /etc/systemd/user
  today:
    description: Date (YYYY-MM-DD) used to decide expiry; defaults to the host's current date.
    type: str
  daemon_settings:
    description:
      - usbguard-daemon.conf keys to set, merged over the clause defaults.
      - Values that let in devices no rule allows (C(ImplicitPolicyTarget=allow), C(PresentDevicePolicy=allow)
        or C(keep)) are refused.
    type: dict
    default: {}
  daemon_config_path:
    description:
      - Path of usbguard-daemon.conf.
      - The daemon's C(RuleFolder) (and C(RuleFile) with O(exclusive)) must lie strictly inside this file's
        directory (symlinks resolved), else the module fails before any change; a folder such as C(/etc) or
        the usbguard directory itself would lose its other files. Their content never appears in a diff.
    type: path
    default: /etc/usbguard/usbguard-daemon.conf
  rules_file_name:
    description: Name of the managed rules file inside the daemon's C(RuleFolder).
    type: str
    default: 50-pii-guard.conf
  exclusive:
    description:
      - Make the managed file the only rule source, emptying C(RuleFile) and removing other files in
        C(RuleFolder) (each backed up first). Without this, foreign allow rules could override the policy.
    type: bool
    default: true
  modprobe_path:
    description: The modprobe.d drop-in written in C(prohibit) mode (removed in the other modes).
    type: path
    default: /etc/modprobe.d/pii-guard-usb-storage.conf
  backup_dir:
    description:
      - Where previous versions of changed files are kept.
      - Outside C(RuleFolder), because the daemon loads every file in that folder.
    type: path
    default: /var/backups/pii_guard/usbguard
  manage_service:
    description:
      - Enable and start usbguard, and restart it when rules or configuration changed.
      - On a host without a USB bus (no O(usb_bus_path), e.g. a container) the daemon cannot run
        (it exits when it cannot read the bus); the service is left alone and reported C(not_applicable).
    type: bool
    default: true
  usb_bus_path:
    description: The sysfs directory of USB devices whose presence tells that the host has a USB bus.
    type: path
    default: /sys/bus/usb/devices
extends_documentation_fragment:
  - pii_guard.safeguards.attributes
  - pii_guard.safeguards.attributes.POSIX
attributes:
  check_mode:
    support: full
    details: Nothing is written; the parser is fed the rules on its command line.
  diff_mode:
    support: full
    details: >-
      The daemon configuration, rules, modprobe files, OBEX masks and moved foreign files (by size and digest only).
requirements:
  - usbguard (with C(usbguard-rule-parser)) and systemd on the target.
"""

EXAMPLES = r"""
- name: Allow only agency-issued USB devices
  pii_guard.safeguards.usbguard_policy:
    mode: agency_issued_only
    devices:
      - id: "46f4:0001"
        serial: AGENCY0001
        label: PC-USB-0001
        owner: tanaka
        issued_on: "2026-04-01"
        expires_on: "2027-03-31"
    host_groups: "{{ group_names }}"
    daemon_settings:
      IPCAllowedGroups: root sudo
  register: usb_policy

- name: Refuse every recording device
  pii_guard.safeguards.usbguard_policy:
    mode: prohibit
"""

RETURN = r"""
rules_path:
  description: The managed rules file.
  returned: always
  type: str
  sample: /etc/usbguard/rules.d/50-pii-guard.conf
rules_digest:
  description: SHA-256 of the rendered rules.
  returned: always
  type: str
rules:
  description: The rendered rules text.
  returned: always
  type: str
rendered:
  description: Labels of the register entries rendered as allow rules on this host.
  returned: always
  type: list
  elements: str
inactive:
  description: Register entries never rendered, each with C(reason) expired, revoked, or why it does not apply here.
  returned: always
  type: list
  elements: dict
warnings_register:
  description: Register warnings (model-wide entries).
  returned: always
  type: list
  elements: str
daemon:
  description: usbguard service state after the run (C(enabled), C(active)) and the config keys set.
  returned: always
  type: dict
devices:
  description:
    - Connected USB devices as usbguard lists them.
    - Each has C(expected) (allow/block per the policy) and C(register_label).
  returned: always
  type: list
  elements: dict
backups:
  description: Backup copies written this run.
  returned: always
  type: list
  elements: str
findings:
  description: Findings in the common shape C({id, clause, status, observed, expected, evidence}).
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb.usbguard_policy import ARGUMENT_SPEC, run


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    run(module)


if __name__ == "__main__":
    main()
