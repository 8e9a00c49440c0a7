#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: download_alert_ack
short_description: Clause 6-5 alerts of the audit period against the acknowledgement register
version_added: 0.1.0
description:
  - Action plugin; runs on the Ansible controller. Checks the download alerts a host raised in the
    audit period (RV(pii_guard.safeguards.download_alert_info#module:observed.alerts)) against the
    acknowledgement register C(download_alert_acknowledgements) kept in inventory, and returns the
    finding C(6-5.alerts_acknowledged) - V(fail) when an alert O(max_days) days old or older has no
    acknowledgement, V(pass) otherwise, V(not_applicable) when the host raised no alert.
  - "The register is not an option: it is read from the play's variable C(download_alert_acknowledgements)
    as data, never templated. Each entry: C(alert) (the alert id, C(dl-) and 16 hex digits),
    C(reviewed_by), C(reviewed_on) (a date, not after today), C(outcome) (V(legitimate),
    V(investigating) or V(incident)), optional C(note). Every entry is checked in full; a bad one fails
    the task with a message naming C(download_alert_acknowledgements[i].<key>) and the value."
  - Without O(alerts), only validates the register and O(max_days) (the role's validation step).
author: pii_guard.safeguards contributors (@pii-guard)
options:
  alerts:
    description: The host's C(observed.alerts) from M(pii_guard.safeguards.download_alert_info).
    type: dict
  max_days:
    description: Days an alert may stay unacknowledged (C(download_alert_ack_max_days)); V(0) - every alert at once.
    type: raw
    default: 7
  today:
    description: Date the ages are counted to (YYYY-MM-DD); the controller's UTC date when empty.
    type: str
    default: ""
extends_documentation_fragment:
  - pii_guard.safeguards.attributes
  - pii_guard.safeguards.attributes.CONTROLLER
  - pii_guard.safeguards.attributes.INFO_MODULE
"""

EXAMPLES = r"""
- name: Alerts of the audit period against the register
  pii_guard.safeguards.download_alert_ack:
    alerts: "{{ download_alert_info.observed.alerts }}"
    max_days: "{{ download_alert_ack_max_days }}"
  register: ack
"""

RETURN = r"""
finding:
  description: The C(6-5.alerts_acknowledged) finding; its evidence lists every alert with its status.
  returned: when O(alerts) is given
  type: dict
"""
