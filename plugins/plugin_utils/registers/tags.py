# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Selection of register findings by ``--tags`` (controller only)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def for_tags(items, tags):
    """Keep the findings selected by ``--tags`` (their clause or id); all when no tag narrows it.

    A role that computes several controls in one step (a register) uses it so that
    ``--tags 8-5`` reports 8-5 only.
    """
    tags = set(tags or [])
    if not tags or "all" in tags:
        return list(items or [])
    return [f for f in items or [] if f["clause"] in tags or f["id"] in tags]
