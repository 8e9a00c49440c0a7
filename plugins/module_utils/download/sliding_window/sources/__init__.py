# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsers of the logs the agent follows (audit, pgaudit, jsonlog)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type
