# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over the inventory registers (7-1 system room, 8-4/8-5/8-6 contractors).

Thin wrappers: the logic lives in plugins/plugin_utils/registers/ (system_room.py, outsourcing.py,
tags.py), its tests in tests/unit/plugin_utils/registers/.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.errors import AnsibleFilterError
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.registers import outsourcing as outsourcing_register
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.registers import system_room as room_register
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.registers.tags import for_tags
from ansible_collections.pii_guard.safeguards.plugins.plugin_utils.inputs import InputError, as_bool


def _plain(value):
    """Templated inventory values may be tagged subclasses; hand plain JSON types to the logic."""
    return json.loads(json.dumps(value, default=str))


def system_room_findings(register, today, footage_max_age_days=31, inspection_max_age_days=92):
    return room_register.room_evaluate(_plain(register), str(today), footage_max_age_days, inspection_max_age_days)


def strict_media_finding(usb_findings, mode, block_optical):
    try:  # -e system_room_block_optical=true is a string: coerced as argument specs do
        block_optical = as_bool("system_room_block_optical", block_optical)
    except InputError as e:
        raise AnsibleFilterError(str(e))
    return room_register.strict_media_finding(_plain(usb_findings), mode, block_optical)


def outsourcing_findings(contractors, host_refs, groups, hosts, today, max_age_days=365, sliced=False):
    try:  # -e pii_guard_audit_sliced=true is a string: coerced as argument specs do
        sliced = as_bool("pii_guard_audit_sliced", sliced)
    except InputError as e:
        raise AnsibleFilterError(str(e))
    return outsourcing_register.outsourcing_findings(
        _plain(contractors), _plain(host_refs), _plain(groups), list(hosts), str(today), max_age_days, sliced=sliced
    )


def findings_for_tags(items, tags):
    return for_tags(_plain(items), [str(t) for t in tags or []])


class FilterModule(object):
    def filters(self):
        return {
            "system_room_findings": system_room_findings,
            "strict_media_finding": strict_media_finding,
            "outsourcing_findings": outsourcing_findings,
            "findings_for_tags": findings_for_tags,
        }
