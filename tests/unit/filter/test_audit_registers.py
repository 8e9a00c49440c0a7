"""The register filters (plugins/filter/audit_registers.py) reach the controller-side logic."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.pii_guard.safeguards.plugins.filter.audit_registers import FilterModule
from ansible_collections.pii_guard.safeguards.plugins.module_utils.common import findings as F

FILTERS = FilterModule().filters()
TODAY = "2026-11-28"


def test_every_filter_runs() -> None:
    room = FILTERS["system_room_findings"](None, TODAY)
    assert [f["id"] for f in room["findings"]] == ["7-1.room_monitoring", "7-1.carry_inspection"]
    usb = [F.finding("6-17.usbguard_rules", "pass")]
    assert FILTERS["strict_media_finding"](usb, "prohibit", "true")["status"] == "pass"
    with pytest.raises(AnsibleFilterError, match="system_room_block_optical"):
        FILTERS["strict_media_finding"](usb, "prohibit", "maybe")
    out = FILTERS["outsourcing_findings"]([], {}, {"all": ["ws1"]}, ["ws1"], TODAY)
    assert out == {"errors": [], "organisation": [], "hosts": {}, "unresolved": []}
    items = room["findings"]
    assert FILTERS["findings_for_tags"](items, ["7-1.carry_inspection"]) == [items[1]]
    assert FILTERS["findings_for_tags"](items, []) == items
