#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: usb_devices_info
short_description: List connected USB devices with id, serial, hash, interfaces and authorization
version_added: "1.0.0"
description:
  - Lists the USB devices connected to a Linux host, as USBGuard sees them when its daemon is
    running (id, serial, name, hash, interfaces, allow/block target), otherwise from sysfs
    (id, serial, name, interfaces, the kernel's C(authorized) flag; no hash).
  - Used to enrol a device (read its id, serial and hash on the enrolment host) and as
    evidence for clause 6-17.
  - Read-only; supports check mode.
author: pii_guard.safeguards contributors (@pii-guard)
options:
  source:
    description: Where to read from; C(auto) prefers usbguard and falls back to sysfs.
    type: str
    default: auto
    choices: [auto, usbguard, sysfs]
  sysfs_root:
    description: The sysfs USB device directory (tests point this elsewhere).
    type: path
    default: /sys/bus/usb/devices
extends_documentation_fragment:
  - pii_guard.safeguards.attributes
  - pii_guard.safeguards.attributes.POSIX
  - pii_guard.safeguards.attributes.INFO_MODULE
notes:
  - Root hubs of the host controllers are listed too (interface 09:00:xx).
"""

EXAMPLES = r"""
- name: Read the stick plugged into the enrolment host
  pii_guard.safeguards.usb_devices_info:
  register: usb

- name: Show mass-storage devices
  ansible.builtin.debug:
    msg: "{{ usb.ansible_facts.usb_devices | selectattr('storage') | list }}"
"""

RETURN = r"""
ansible_facts:
  description: Facts added to the host.
  returned: always
  type: complex
  contains:
    usb_devices:
      description: One entry per connected USB device.
      type: list
      elements: dict
      sample:
        - id: "46f4:0001"
          serial: AGENCY0001
          name: QEMU USB HARDDRIVE
          hash: "Xb4k...="
          interfaces: ["08:06:50"]
          authorized: true
          target: allow
          storage: true
          smartphone: false
          classes: [mass_storage]
          port: "1-1"
source:
  description: Which source was used (usbguard or sysfs).
  returned: always
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pii_guard.safeguards.plugins.module_utils.common import hostfile
from ansible_collections.pii_guard.safeguards.plugins.module_utils.usb.usbguard import (
    device_row,
    listed_device_row,
    parse_list_devices,
)


def _read(path):
    """A sysfs attribute, stripped; None when missing or not UTF-8 (a serial is never guessed)."""
    try:
        text = hostfile.read_text(path, errors="strict")
    except UnicodeDecodeError:
        return None
    return None if text is None else text.strip()


def from_sysfs(root):
    devices = []
    if not os.path.isdir(root):
        return devices
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if ":" in name or _read(os.path.join(path, "idVendor")) is None:
            continue  # interfaces are "1-1:1.0"; devices have idVendor
        interfaces = []
        for sub in sorted(os.listdir(path)):
            ipath = os.path.join(path, sub)
            cls = _read(os.path.join(ipath, "bInterfaceClass"))
            if sub.startswith(name + ":") and cls is not None:
                interfaces.append(
                    "%s:%s:%s"
                    % (
                        cls,
                        _read(os.path.join(ipath, "bInterfaceSubClass")),
                        _read(os.path.join(ipath, "bInterfaceProtocol")),
                    )
                )
        devices.append(
            device_row(
                "%s:%s" % (_read(os.path.join(path, "idVendor")), _read(os.path.join(path, "idProduct"))),
                _read(os.path.join(path, "serial")),
                _read(os.path.join(path, "product")),
                None,
                interfaces,
                _read(os.path.join(path, "authorized")) == "1",
                None,
                name,
            )
        )
    return devices


def from_usbguard(module):
    usbguard = module.get_bin_path("usbguard")
    if not usbguard:
        return None
    rc, out, _err = module.run_command([usbguard, "list-devices"])
    if rc != 0:
        return None
    return [listed_device_row(d) for d in parse_list_devices(out)]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            source=dict(type="str", default="auto", choices=["auto", "usbguard", "sysfs"]),
            sysfs_root=dict(type="path", default="/sys/bus/usb/devices"),
        ),
        supports_check_mode=True,
    )
    source = module.params["source"]
    devices = None
    used = "sysfs"
    if source in ("auto", "usbguard"):
        devices = from_usbguard(module)
        if devices is None and source == "usbguard":
            module.fail_json(msg="usbguard list-devices failed: is the usbguard daemon running?")
        if devices is not None:
            used = "usbguard"
    if devices is None:
        devices = from_sysfs(module.params["sysfs_root"])
    module.exit_json(changed=False, source=used, ansible_facts={"usb_devices": devices})


if __name__ == "__main__":
    main()
