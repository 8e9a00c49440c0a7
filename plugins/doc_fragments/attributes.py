# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Every module: what check and diff mode mean here. The module states its own support level
    # (and details) under attributes; ansible-doc merges the two, the module's keys winning.
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Can run with C(--check) and report what would change (and the findings) without changing the target.
  diff_mode:
    description: Returns the content before and after for what changed (or would change in check mode) with C(--diff).
"""

    # A module that runs on the managed Linux host.
    POSIX = r"""
attributes:
  platform:
    description: Target operating systems this module can run on.
    support: full
    platforms: posix
    details: Runs on the managed host (Debian; docs/PLATFORMS.md lists the tested releases).
"""

    # A module that only reads: nothing to predict in check mode, nothing to diff.
    INFO_MODULE = r"""
attributes:
  check_mode:
    support: full
    details: It only reads, so check mode changes nothing about what it does or returns.
  diff_mode:
    support: N/A
    details: It changes nothing, so there is nothing to diff.
"""

    # A module implemented by an action plugin that runs on the controller only.
    CONTROLLER = r"""
attributes:
  platform:
    description: Target operating systems this module can run on.
    support: full
    platforms: all
    details: Runs on the controller (an action plugin); it does not run code on the managed host.
  action:
    description: Has a corresponding action plugin, so it runs on the controller.
    support: full
  async:
    description: Supports being used with the C(async) keyword.
    support: none
    details: Action plugins here do not implement C(async).
"""
