# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Facts about the managed host that several modules need, read without extra round trips."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

# Files container engines create inside their containers (podman, docker).
CONTAINER_MARKERS = ("/run/.containerenv", "/.dockerenv")


def in_container(module, exists=os.path.exists):
    """True when the module runs in a container, whose kernel (audit, USB) belongs to the host.

    systemd-detect-virt answers when it is installed; a host without it (no systemd) must not
    fail the module, so the engines' marker files decide then, and also when it says "none"
    but an engine left its marker."""
    detect = module.get_bin_path("systemd-detect-virt")
    if detect:
        rc, out, _err = module.run_command([detect, "--container"])
        if rc == 0 and out.strip() not in ("", "none"):
            return True
    return any(exists(path) for path in CONTAINER_MARKERS)
