# -*- coding: utf-8 -*-
# Copyright: pii_guard.safeguards contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The names of the download alert agent's logic (clause 6-5) in one place, for callers in
the collection and its tests. The logic lives in the ``sliding_window`` package next to this
file (config, window, sources.audit, sources.pgaudit, sources.jsonlog), which is what the
role ships to endpoints."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pii_guard.safeguards.plugins.module_utils.download.sliding_window.config import (
    AUID_UNSET,
    DEFAULTS,
    jmespath_module,
    MAX_THRESHOLD,
    MESSAGE_ID,
    NAME_RE,
    SOURCES,
    _nonneg_int,
    alert_text,
    audit_key,
    effective_config,
    escape,
    is_text,
    iso,
    json_value,
    review_status,
    validate_config,
)
from ansible_collections.pii_guard.safeguards.plugins.module_utils.download.sliding_window.sources.audit import (
    UNUSABLE_REASONS,
    AuditParser,
)
from ansible_collections.pii_guard.safeguards.plugins.module_utils.download.sliding_window.sources.jsonlog import (
    JsonlogDataset,
    UnusableRecord,
    parse_time,
)
from ansible_collections.pii_guard.safeguards.plugins.module_utils.download.sliding_window.sources.pgaudit import (
    PG_LINE_RE,
    PgauditDataset,
    PgauditJsonParser,
    PgauditParser,
    pg_time,
    pgaudit_parser,
    table_matches,
)
from ansible_collections.pii_guard.safeguards.plugins.module_utils.download.sliding_window.window import (
    SlidingWindows,
)

# Re-exported names (pylint and ruff read them as used).
__all__ = [
    "AUID_UNSET",
    "DEFAULTS",
    "MAX_THRESHOLD",
    "MESSAGE_ID",
    "NAME_RE",
    "PG_LINE_RE",
    "SOURCES",
    "UNUSABLE_REASONS",
    "AuditParser",
    "JsonlogDataset",
    "PgauditDataset",
    "PgauditJsonParser",
    "PgauditParser",
    "SlidingWindows",
    "UnusableRecord",
    "_nonneg_int",
    "alert_text",
    "audit_key",
    "effective_config",
    "escape",
    "is_text",
    "iso",
    "jmespath_module",
    "json_value",
    "parse_time",
    "pg_time",
    "pgaudit_parser",
    "review_status",
    "table_matches",
    "validate_config",
]
